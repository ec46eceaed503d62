"""Train on every category at once: official bitmaps where there are bitmaps, stroke drawings everywhere.

``inkling-train fit-mixed`` (and :mod:`training.retrain`, which builds the shipped model with it) mixes three
streams in every batch:

- *bitmaps* of the bitmap tier (the categories with official bitmaps), drawn at random from the train rows
  each epoch and augmented as images (:func:`training.augment.augment`);
- *stroke drawings* of the stroke tier (the categories without bitmaps, ~24 drawings each), class-balanced:
  every stroke-tier class gets the same number of samples per epoch, each a fresh stroke-space variant
  (:mod:`training.stroke_augment`), some of them partial drawings;
- *stroke drawings of the bitmap tier*, half of them partial (the first k strokes): the bitmaps cannot teach
  the network to guess from an unfinished drawing, these can.

The stroke variants of an epoch are rendered by a background process while the previous epoch trains, and
every epoch gets new ones (seeded by the training seed and the epoch, so a resumed run renders the same).

Imbalance: the sampling gives each bitmap-tier class several times the samples of a stroke-tier class (the
stroke tier has ~20 training drawings a class; more samples of them would only be memorized). The class
prior this implies is recorded in the model's metadata (``class_prior``), and one logit adjustment, a bias
added to every stroke-tier class, is chosen on the pooled validation drawings (the mean of the two tiers'
top-1) and baked into the classifier, so the shipped ONNX model and the app need nothing extra.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from inkling.model.raster import rasterize_batch
from inkling.model.strokes import atomic_write_text

from . import checkpoint
from .augment import augment
from .data import DataError, SplitIndex, make_splits, open_bitmaps
from .fit import _autocast, _to_batch, _weights_from_onnx, hardware_description, predict
from .metrics import classification_report
from .net import NetConfig, SketchNet, block_layers, count_parameters, inference_flops
from .stroke_augment import augment_strokes, first_half
from .stroke_data import SPLITS, StrokeDrawing, load_drawings, load_overlap, split_drawings, stroke_files

TIERS = ("bitmap", "stroke")


@dataclass
class MixedConfig:
    data: list[str]
    out: str
    classes: list[str] | None = None  # default: every official category with data, in Google's order
    epochs: int = 14
    bitmaps_per_epoch: int = 24_000
    strokes_per_epoch: int = 16_000  # stroke-tier samples, split evenly over its classes
    early_per_epoch: int = 6_000  # bitmap-tier stroke samples, split evenly over its classes
    # Background classes for the embedding (the cached-feature path): ndjson files whose drawings, one
    # class per "word", train the embedding beside the categories through a classifier of their own that
    # is thrown away, so that the embedding learns to tell apart shapes that are not doodles (handwritten
    # characters: what people teach). One fresh variant of each drawing per round; never suggestions.
    background: list[str] = field(default_factory=list)
    background_copies: int = 1  # variants of each background drawing per round
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    seed: int = 0  # the split
    train_seed: int = 0  # initialization, sampling, augmentation
    val_frac: float = 0.1
    test_frac: float = 0.1
    widths: list[int] = field(default_factory=lambda: [48, 96, 192])
    convs_per_block: list[int] = field(default_factory=lambda: [2, 2, 2])
    embedding_dim: int = 256
    dropout: float = 0.3
    global_pool: bool = False
    bitmap_augment_strength: float = 0.6
    stroke_augment_strength: float = 1.0
    stroke_partial_p: float = 0.15
    early_partial_p: float = 0.5
    freeze_blocks: int = 2  # the first conv blocks keep the initial weights (and cost no backward pass)
    init_from: str | None = None
    head_epochs: int = 8  # the cached-feature path: passes of the unfrozen layers over the cached rounds
    # Cache the frozen blocks' output of every round and train the unfrozen layers over many passes of
    # the cache (the CPU path); implied when every conv block is frozen.
    cache_frozen: bool = False
    conv_lr_scale: float = 1.0  # the cached-feature path: the unfrozen conv blocks' learning rate, times lr
    render_workers: int = 1  # background processes rendering the next epoch's stroke variants; 0: inline
    threads: int | None = None
    val_bitmaps_per_class: int = 40  # per-epoch monitoring; the final choices use the whole val split
    samples_per_class: int = 8  # held-out drawings kept with the model (export check, few-shot memory)
    logit_adjust: str = "auto"  # "auto": chosen on validation; or a number added to stroke-tier logits
    plots: bool = True
    export: str | None = None


# --- data ------------------------------------------------------------------------------------------------


@dataclass
class MixedData:
    """Every class's bitmaps (bitmap tier) and distinct stroke drawings, split leak-free by drawing."""

    classes: list[str]
    tier: list[str]  # "bitmap" or "stroke", per class
    bitmaps: dict[int, np.ndarray]  # class index -> memory-mapped uint8 (N, 784)
    bitmap_splits: dict[str, SplitIndex]  # labels are class indices into ``classes``
    strokes: dict[str, list[StrokeDrawing]]  # split -> drawings of every class

    @classmethod
    def load(
        cls,
        data_dirs,
        classes=None,
        *,
        seed: int = 0,
        val_frac: float = 0.1,
        test_frac: float = 0.1,
        log=print,
    ) -> MixedData:
        from .categories import CATEGORIES

        roots = [Path(d) for d in data_dirs]
        for r in roots:
            if not r.is_dir():
                raise DataError(f"data folder not found: {r}")
        bitmap_path: dict[str, Path] = {}
        files: dict[str, list[tuple[str, Path]]] = {}
        overlap: dict[str, dict[str, int]] = {}
        names = list(classes) if classes is not None else list(CATEGORIES)
        for r in roots:
            for k, v in load_overlap(r).items():
                overlap.setdefault(k, {}).update(v)
            for name in names:
                for p in (r / "bitmaps" / f"{name}.npy", r / f"{name}.npy"):
                    if p.exists() and name not in bitmap_path:
                        bitmap_path[name] = p
                files.setdefault(name, []).extend(stroke_files(r, name).items())
        missing = [n for n in names if n not in bitmap_path and not files.get(n)]
        if classes is not None and missing:
            raise DataError(
                f"no data for class(es) {', '.join(map(repr, missing))} in {', '.join(data_dirs)}"
            )
        names = [n for n in names if n not in missing]
        if len(names) < 2:
            raise DataError("training needs at least two classes with data")
        tier = ["bitmap" if n in bitmap_path else "stroke" for n in names]
        bitmaps = {c: open_bitmaps(bitmap_path[n]) for c, n in enumerate(names) if tier[c] == "bitmap"}
        bm_classes = sorted(bitmaps)
        # The bitmap rows split exactly as the single-source trainer splits them (same seed, same names).
        raw_splits = make_splits(
            [names[c] for c in bm_classes], [len(bitmaps[c]) for c in bm_classes], seed, val_frac, test_frac
        )
        remap = np.asarray(bm_classes, dtype=np.int64)
        bitmap_splits = {
            k: SplitIndex(remap[v.label] if len(v) else v.label, v.row) for k, v in raw_splits.items()
        }
        strokes: dict[str, list[StrokeDrawing]] = {k: [] for k in SPLITS}
        for c, name in enumerate(names):
            drawings = load_drawings(files.get(name, []), c, log=log)
            row_side = None
            if c in bitmaps:
                row_side = {}
                for k, v in bitmap_splits.items():
                    for row in v.row[v.label == c].tolist():
                        row_side[row] = k
            parts = split_drawings(
                drawings,
                name,
                seed=seed,
                val_frac=val_frac,
                test_frac=test_frac,
                row_side=row_side,
                overlap=overlap.get(name),
            )
            for k in SPLITS:
                strokes[k].extend(parts[k])
        return cls(names, tier, bitmaps, bitmap_splits, strokes)

    def tier_classes(self, tier: str) -> list[int]:
        return [c for c, t in enumerate(self.tier) if t == tier]

    def bitmap_images(self, split: str, per_class: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        index = self.bitmap_splits[split]
        if per_class is not None:
            keep = np.concatenate(
                [np.nonzero(index.label == c)[0][:per_class] for c in self.tier_classes("bitmap")]
            )
            index = SplitIndex(index.label[keep], index.row[keep])
        out = np.empty((len(index), 784), dtype=np.uint8)
        for c in np.unique(index.label):
            where = np.nonzero(index.label == c)[0]
            rows = index.row[where]
            order = np.argsort(rows)
            out[where[order]] = self.bitmaps[int(c)][rows[order]]
        return out.reshape(-1, 28, 28), index.label.copy()

    def stroke_set(self, split: str, tier: str) -> list[StrokeDrawing]:
        return [d for d in self.strokes[split] if self.tier[d.label] == tier]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per class and split: bitmap rows (bitmap tier) or distinct stroke drawings (stroke tier)."""
        out = {}
        for c, name in enumerate(self.classes):
            if self.tier[c] == "bitmap":
                out[name] = {k: int((v.label == c).sum()) for k, v in self.bitmap_splits.items()}
            else:
                out[name] = {k: sum(d.label == c for d in self.strokes[k]) for k in SPLITS}
            out[name]["strokes"] = sum(d.label == c for k in SPLITS for d in self.strokes[k])
        return out


def render_app_view(drawings: list[StrokeDrawing], *, partial: bool = False) -> np.ndarray:
    """What the app would show the network: the raw strokes (or the first half of them), rendered."""
    views = [first_half(d.app_version) if partial else d.app_version for d in drawings]
    return rasterize_batch(views) if views else np.zeros((0, 28, 28), np.uint8)


# --- stroke variants, rendered in the background ---------------------------------------------------------

_WORKER_DRAWINGS: list[list] | None = None


def _init_worker(drawings: list[list]) -> None:
    global _WORKER_DRAWINGS
    _WORKER_DRAWINGS = drawings
    torch.set_num_threads(1)


def _render_plan(plan: tuple, drawings: list[list] | None = None) -> np.ndarray:
    """Render one epoch's stroke variants: plan = (drawing indices, partial probabilities, strength, seed)."""
    idx, partial_p, strength, seed = plan
    drawings = drawings if drawings is not None else _WORKER_DRAWINGS
    rng = np.random.default_rng(seed)
    out = np.zeros((len(idx), 28, 28), dtype=np.uint8)
    from inkling.model.raster import rasterize

    for i, (j, p) in enumerate(zip(idx.tolist(), partial_p.tolist(), strict=True)):
        versions = drawings[j]
        strokes = versions[int(rng.integers(len(versions)))]
        out[i] = rasterize(augment_strokes(strokes, rng, strength=strength, partial_p=p))
    return out


class VariantRenderer:
    """Plans each epoch's stroke samples (class-balanced per tier) and renders them, one epoch ahead."""

    def __init__(self, cfg: MixedConfig, data: MixedData):
        self.cfg = cfg
        train = data.strokes["train"]
        self.versions = [d.versions for d in train]
        self.labels = np.asarray([d.label for d in train], dtype=np.int64)
        by_class: dict[int, list[int]] = {}
        for i, d in enumerate(train):
            by_class.setdefault(d.label, []).append(i)
        self.groups = []  # (class, drawing indices, samples per epoch, partial probability)
        for tier, total, p in (
            ("stroke", cfg.strokes_per_epoch, cfg.stroke_partial_p),
            ("bitmap", cfg.early_per_epoch, cfg.early_partial_p),
        ):
            present = [c for c in data.tier_classes(tier) if c in by_class]
            if not present or total <= 0:
                continue
            per = max(1, total // len(present))
            self.groups += [(c, np.asarray(by_class[c]), per, p) for c in present]
        self.per_epoch = sum(g[2] for g in self.groups)
        self.pool = None
        self.pending: dict[int, object] = {}
        if cfg.render_workers > 0 and self.per_epoch:
            ctx = multiprocessing.get_context("spawn")
            self.pool = ctx.Pool(cfg.render_workers, initializer=_init_worker, initargs=(self.versions,))

    def plan(self, epoch: int) -> tuple[tuple, np.ndarray]:
        rng = np.random.default_rng([self.cfg.train_seed, epoch, 11])
        idx, probs = [], []
        for _, members, per, p in self.groups:
            idx.append(members[rng.integers(len(members), size=per)])
            probs.append(np.full(per, p))
        idx_a = np.concatenate(idx) if idx else np.zeros(0, np.int64)
        plan = (
            idx_a,
            np.concatenate(probs) if probs else np.zeros(0),
            self.cfg.stroke_augment_strength,
            [self.cfg.train_seed, epoch, 13],
        )
        return plan, self.labels[idx_a]

    def _chunks(self, plan: tuple) -> list[tuple]:
        idx, probs, strength, seed = plan
        n = max(1, self.cfg.render_workers)
        cuts = np.linspace(0, len(idx), n + 1).astype(int)
        return [
            (idx[a:b], probs[a:b], strength, [*seed, i])
            for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True))
        ]

    def request(self, epoch: int) -> None:
        if self.pool is not None and epoch not in self.pending:
            plan, labels = self.plan(epoch)
            self.pending[epoch] = (
                [self.pool.apply_async(_render_plan, (c,)) for c in self._chunks(plan)],
                labels,
            )

    def get(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        if self.pool is None:
            plan, labels = self.plan(epoch)
            images = [_render_plan(c, self.versions) for c in self._chunks(plan)]
            return (np.concatenate(images) if images else np.zeros((0, 28, 28), np.uint8)), labels
        self.request(epoch)
        jobs, labels = self.pending.pop(epoch)
        return np.concatenate([j.get() for j in jobs]), labels

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool = None


# --- the network -----------------------------------------------------------------------------------------


def _init_from(net: SketchNet, path: str, classes: list[str], log) -> list[int]:
    """Load another model's weights; classifier rows are matched by class name. Returns the new classes."""
    if str(path).endswith(".onnx"):
        from inkling.model.classifier import load_model

        src = _weights_from_onnx(net, path)
        src_classes = load_model(path).base_classes
    else:
        state = checkpoint.load(path)
        src, src_classes = state["model"], state["classes"]
    own = net.state_dict()
    taken = 0
    for k, v in src.items():
        if k in own and own[k].shape == v.shape:
            own[k] = v
            taken += 1
    w, b = src.get("classifier.weight"), src.get("classifier.bias")
    new = list(range(len(classes)))
    if w is not None and b is not None and w.shape[1] == own["classifier.weight"].shape[1]:
        where = {n: i for i, n in enumerate(src_classes)}
        new = [c for c, n in enumerate(classes) if n not in where]
        for c, n in enumerate(classes):
            if n in where:
                own["classifier.weight"][c] = w[where[n]]
                own["classifier.bias"][c] = b[where[n]]
    net.load_state_dict(own)
    log(
        f"initialised {taken}/{len(own)} tensors from {path}; {len(classes) - len(new)} classifier rows by name"
    )
    return new


@torch.no_grad()
def _quiet_new_rows(net: SketchNet, new: list[int], known: list[int]) -> None:
    """New classes start silent (zero weights, the lowest known bias): the known classes keep their accuracy
    at the start, and the new rows are learned from there."""
    if not new or not known:
        return
    net.classifier.weight[new] = 0.0
    net.classifier.bias[new] = float(net.classifier.bias[known].min())


@torch.no_grad()
def recalibrate_batch_norms(net: SketchNet, images: np.ndarray) -> None:
    """Turn the folded batch norms of a network read from ONNX back into working ones.

    An exported model has each batch norm folded into its convolution, so it comes back as an identity
    batch norm with the shift b'. In training mode a batch norm normalizes by the batch's statistics, which
    would wreck that function. So measure each convolution's output mean and variance on real drawings and
    set the batch norm to undo exactly that normalization (gamma = sqrt(var + eps), beta = mean + b'): the
    network computes the same function in eval mode, nearly the same in training mode, and trains as a
    batch-normalized network again.
    """
    bns = [m for m in net.features if isinstance(m, torch.nn.BatchNorm2d)]
    stats: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(module, inputs, _output):
        z = inputs[0].float()
        stats[id(module)] = (z.mean(dim=(0, 2, 3)), z.var(dim=(0, 2, 3)))

    handles = [bn.register_forward_hook(hook) for bn in bns]
    was_training = net.training
    net.eval()
    try:
        net(torch.from_numpy(images[:2048].astype(np.float32) / 255.0).unsqueeze(1))
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    for bn in bns:
        mean, var = stats[id(bn)]
        shift = bn.bias.clone() - bn.running_mean * bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.copy_(torch.sqrt(var + bn.eps))
        bn.bias.copy_(mean + shift)


def _cached_path(cfg: MixedConfig) -> bool:
    """Whether the frozen blocks' output is cached per round (:mod:`training.cached_head`)."""
    frozen = cfg.freeze_blocks if cfg.init_from else 0
    return frozen > 0 and (frozen >= len(cfg.widths) or cfg.cache_frozen)


def _freeze(net: SketchNet, blocks: int) -> int:
    """Freeze the first ``blocks`` conv blocks; returns how many feature layers that covers."""
    n = block_layers(net.cfg, blocks)
    for p in net.features[:n].parameters():
        p.requires_grad_(False)
    return n


# --- evaluation helpers ----------------------------------------------------------------------------------


def tier_reports(logits: dict[str, np.ndarray], labels: dict[str, np.ndarray], classes: list[str]) -> dict:
    return {k: classification_report(logits[k], labels[k], classes) for k in logits}


def _short(r: dict) -> dict:
    return {k: r[k] for k in ("top1", "top3", "top5", "n")}


def choose_stroke_bias(bitmap_logits, bitmap_labels, stroke_logits, stroke_labels, stroke_classes):
    """The bias for stroke-tier logits that maximizes the mean of the two tiers' validation top-1."""
    mask = np.zeros(bitmap_logits.shape[1], dtype=bool)
    mask[stroke_classes] = True
    rows = []
    for tau in np.round(np.arange(-2.0, 4.01, 0.1), 2):
        bm = (np.argmax(bitmap_logits + tau * mask, 1) == bitmap_labels).mean() if len(bitmap_labels) else 0
        st = (np.argmax(stroke_logits + tau * mask, 1) == stroke_labels).mean() if len(stroke_labels) else 0
        rows.append((float(tau), float(bm), float(st)))
    # Ties: the bias closest to zero (the least change to what training learned).
    best = max(rows, key=lambda r: ((r[1] + r[2]) / 2, -abs(r[0])))
    return best[0], rows


# --- the loop --------------------------------------------------------------------------------------------


def fit_mixed(cfg: MixedConfig, *, resume: bool = False, log=print) -> dict:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device("cpu") if not torch.cuda.is_available() else torch.device("cuda")
    run = Path(cfg.out)
    torch.manual_seed(cfg.train_seed)
    t_load = time.perf_counter()
    data = MixedData.load(
        cfg.data, cfg.classes, seed=cfg.seed, val_frac=cfg.val_frac, test_frac=cfg.test_frac, log=log
    )
    k = len(data.classes)
    bm_cls, st_cls = data.tier_classes("bitmap"), data.tier_classes("stroke")
    n_str = {s: len(v) for s, v in data.strokes.items()}
    log(
        f"{k} classes ({len(bm_cls)} bitmap tier, {len(st_cls)} stroke tier); bitmap rows "
        f"{ {s: len(v) for s, v in data.bitmap_splits.items()} }; stroke drawings {n_str} "
        f"(loaded in {time.perf_counter() - t_load:.0f} s)"
    )
    net_cfg = NetConfig(
        k, tuple(cfg.widths), tuple(cfg.convs_per_block), cfg.embedding_dim, cfg.dropout, cfg.global_pool
    )
    net = SketchNet(net_cfg)
    new_classes = list(range(k))
    if cfg.init_from and not resume:
        new_classes = _init_from(net, cfg.init_from, data.classes, log)
    frozen = _freeze(net, cfg.freeze_blocks if cfg.init_from else 0)
    net.to(device, memory_format=torch.channels_last)

    renderer = VariantRenderer(cfg, data)
    x_bm, y_bm = data.bitmap_images("train")
    n_bm = min(cfg.bitmaps_per_epoch, len(x_bm))
    steps_per_epoch = max(1, math.ceil((n_bm + renderer.per_epoch) / cfg.batch_size))
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.15
    )

    # Monitoring sets: what the app would see (raw strokes), pooled per tier.
    xv_bm, yv_bm = data.bitmap_images("val", cfg.val_bitmaps_per_class)
    val_st = data.stroke_set("val", "stroke")
    xv_st, yv_st = render_app_view(val_st), np.asarray([d.label for d in val_st], np.int64)
    val_early = data.stroke_set("val", "bitmap")
    xv_early = render_app_view(val_early, partial=True)
    yv_early = np.asarray([d.label for d in val_early], np.int64)

    history: list[dict] = []
    start_epoch, best = 0, -1.0
    # Every conv block frozen (or --cache-frozen): the frozen blocks' output of each round of variants is
    # computed once and cached, and the rest trains over many passes of the cache (cheap on a CPU).
    cached = _cached_path(cfg)
    if cfg.background and not cached:
        raise DataError(
            "background classes need the cached-feature path: --init-from with every conv block frozen, "
            "or --cache-frozen"
        )
    if resume and not cached:
        state = checkpoint.load(run / "last.pt")
        if state["classes"] != data.classes:
            raise DataError(f"--resume: {run / 'last.pt'} was trained on other classes")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch, history, best = state["epoch"], state["history"], state.get("best", -1.0)
        log(f"resumed from {run / 'last.pt'} after epoch {start_epoch}")
    else:
        run.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            run / "config.json",
            json.dumps(asdict(cfg) | {"classes": data.classes, "net": net_cfg.to_dict()}, indent=2),
        )
        if cfg.init_from:
            # Batch norms that train need working statistics; a trunk that is wholly frozen keeps them folded.
            if str(cfg.init_from).endswith(".onnx") and frozen < len(net.features):
                pick = np.random.default_rng(0).choice(len(x_bm), min(2048, len(x_bm)), replace=False)
                recalibrate_batch_norms(net, x_bm[np.sort(pick)])
            _quiet_new_rows(net, new_classes, [c for c in range(k) if c not in new_classes])
    if cached:
        from .cached_head import fit_head_on_cached_features

        try:
            history = fit_head_on_cached_features(
                cfg,
                net,
                data,
                renderer,
                x_bm,
                y_bm,
                (xv_bm, yv_bm, xv_st, yv_st, xv_early, yv_early),
                run,
                log,
            )
        finally:
            renderer.close()
        return _finish(cfg, net, net_cfg, data, history, device, run, log)
    renderer.request(start_epoch)

    try:
        for epoch in range(start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            x_pool, y_pool = renderer.get(epoch)
            if epoch + 1 < cfg.epochs:
                renderer.request(epoch + 1)
            t_wait = time.perf_counter() - t0
            rng = np.random.default_rng([cfg.train_seed, epoch, 17])
            pick = rng.choice(len(x_bm), n_bm, replace=False)
            order = rng.permutation(n_bm + len(x_pool))
            net.train()
            net.features[:frozen].eval()  # frozen batch norms keep their statistics
            seen, loss_sum, correct = 0, 0.0, 0
            for i in range(0, len(order), cfg.batch_size):
                sel = order[i : i + cfg.batch_size]
                is_bm = sel < n_bm
                xb = np.empty((len(sel), 28, 28), np.uint8)
                yb = np.empty(len(sel), np.int64)
                xb[is_bm], yb[is_bm] = x_bm[pick[sel[is_bm]]], y_bm[pick[sel[is_bm]]]
                xb[~is_bm], yb[~is_bm] = x_pool[sel[~is_bm] - n_bm], y_pool[sel[~is_bm] - n_bm]
                x = _to_batch(torch.from_numpy(xb), device)
                m = torch.from_numpy(is_bm).to(device)
                if m.any():
                    x[m] = augment(x[m], strength=cfg.bitmap_augment_strength)
                y = torch.from_numpy(yb).to(device)
                with _autocast(device):
                    logits, _ = net(x)
                    loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                seen += len(y)
                loss_sum += float(loss.detach()) * len(y)
                correct += int((logits.argmax(1) == y).sum())
            seconds = time.perf_counter() - t0
            lv_bm = predict(net, xv_bm, device)[0]
            rep = {
                "bitmap": classification_report(lv_bm, yv_bm, data.classes),
                "stroke": classification_report(predict(net, xv_st, device)[0], yv_st, data.classes),
                "early": classification_report(predict(net, xv_early, device)[0], yv_early, data.classes),
            }
            row = {
                "epoch": epoch + 1,
                "train_loss": loss_sum / max(seen, 1),
                "train_top1": correct / max(seen, 1),
                "val_loss": float(F.cross_entropy(torch.from_numpy(lv_bm), torch.from_numpy(yv_bm))),
                "val_top1": (rep["bitmap"]["top1"] + rep["stroke"]["top1"]) / 2,
                "val_top3": rep["bitmap"]["top3"],
                "val_bitmap_top1": rep["bitmap"]["top1"],
                "val_bitmap_top3": rep["bitmap"]["top3"],
                "val_stroke_top1": rep["stroke"]["top1"],
                "val_stroke_top5": rep["stroke"]["top5"],
                "val_early_top1": rep["early"]["top1"],
                "lr": sched.get_last_lr()[0],
                "seconds": seconds,
                "render_wait_seconds": t_wait,
                "images_per_sec": seen / max(seconds - t_wait, 1e-9),
            }
            history.append(row)
            log(
                f"epoch {epoch + 1}/{cfg.epochs}: loss {row['train_loss']:.3f}, val bitmap tier top-1 "
                f"{row['val_bitmap_top1']:.4f}, stroke tier top-1 {row['val_stroke_top1']:.4f} top-5 "
                f"{row['val_stroke_top5']:.4f}, early {row['val_early_top1']:.4f}; {row['images_per_sec']:.0f} "
                f"images/s, {seconds:.0f} s (waited {t_wait:.0f} s for renders)",
            )
            best = max(best, row["val_top1"])
            state = {
                "model": net.state_dict(),
                "net_config": net_cfg.to_dict(),
                "classes": data.classes,
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "epoch": epoch + 1,
                "history": history,
                "best": best,
                "fit_config": asdict(cfg),
            }
            checkpoint.save(state, run / "last.pt")
            atomic_write_text(run / "metrics.json", json.dumps({"history": history}, indent=2))
            if cfg.plots:
                from .plots import plot_history

                plot_history(history, run)
    finally:
        renderer.close()
    return _finish(cfg, net, net_cfg, data, history, device, run, log)


def _finish(cfg, net, net_cfg, data: MixedData, history, device, run: Path, log) -> dict:
    """Choose the logit adjustment on validation, bake it in, report every tier on the test split, save."""
    bm_cls, st_cls = data.tier_classes("bitmap"), data.tier_classes("stroke")

    def logits_of(split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each evaluation set's logits (before the adjustment) and labels; every network pass made once."""
        x_bm, y_bm = data.bitmap_images(split)
        out = {"bitmap": (predict(net, x_bm, device)[0], y_bm)}
        for tier in TIERS:
            ds = data.stroke_set(split, tier)
            y = np.asarray([d.label for d in ds], np.int64)
            if tier == "stroke":
                out["stroke"] = (predict(net, render_app_view(ds), device)[0], y)
            out[f"early_{tier}"] = (predict(net, render_app_view(ds, partial=True), device)[0], y)
        return out

    val_logits, test_logits = logits_of("val"), logits_of("test")
    if cfg.logit_adjust == "auto":
        tau, curve = choose_stroke_bias(*val_logits["bitmap"], *val_logits["stroke"], st_cls)
    else:
        tau, curve = float(cfg.logit_adjust), []
    with torch.no_grad():
        net.classifier.bias[st_cls] += tau
    log(f"logit adjustment: {tau:+.1f} on the {len(st_cls)} stroke-tier classes (chosen on validation)")
    shift = np.zeros(len(data.classes), np.float32)
    shift[st_cls] = tau

    def reports(sets: dict) -> dict:
        return {k: classification_report(lo + shift, y, data.classes) for k, (lo, y) in sets.items()}

    val, test = reports(val_logits), reports(test_logits)
    for name, r in (("validation", val), ("test", test)):
        log(
            f"{name}: bitmap tier top-1 {r['bitmap']['top1']:.4f} top-3 {r['bitmap']['top3']:.4f}; stroke tier "
            f"top-1 {r['stroke']['top1']:.4f} top-5 {r['stroke']['top5']:.4f}; early guess (bitmap tier) "
            f"{r['early_bitmap']['top1']:.4f}, (stroke tier) {r['early_stroke']['top1']:.4f}"
        )
    # The class prior training assumed: each class's share of an epoch's samples.
    share = np.zeros(len(data.classes))
    n_bm_epoch = min(cfg.bitmaps_per_epoch, len(data.bitmap_splits["train"]))
    train_labels = data.bitmap_splits["train"].label
    for c in bm_cls:
        share[c] += n_bm_epoch * (train_labels == c).mean() if len(train_labels) else 0
    renderer = VariantRenderer(_no_workers(cfg), data)
    for c, _, per, _ in renderer.groups:
        share[c] += per
    prior = share / share.sum()
    samples_x, samples_y = _samples(data, cfg.samples_per_class)
    summary = {
        "classes": data.classes,
        "tiers": {t: [data.classes[c] for c in data.tier_classes(t)] for t in TIERS},
        "sources": {
            n: ("bitmap" if t == "bitmap" else "strokes")
            for n, t in zip(data.classes, data.tier, strict=True)
        },
        "counts": data.counts(),
        "split": {
            "unit": "drawing",
            "seed": cfg.seed,
            "val_frac": cfg.val_frac,
            "test_frac": cfg.test_frac,
            "max_per_class": None,
        },
        "epochs": len(history),
        "train_seconds": round(sum(h["seconds"] for h in history), 1),
        "images_per_sec": round(float(np.median([h["images_per_sec"] for h in history])), 1)
        if history
        else None,
        "rounds": cfg.epochs,
        "head_epochs": cfg.head_epochs if _cached_path(cfg) else None,
        # Of train_seconds, the rounds read from the cache of an earlier, interrupted run.
        "cached_round_seconds": round(history[-1].get("cached_round_seconds", 0.0), 1) if history else 0.0,
        "trunk_images_per_sec": (
            round(history[-1]["feature_images"] / history[-1]["feature_seconds"], 1)
            if history and "feature_seconds" in history[-1]
            else None
        ),
        "hardware": hardware_description(device),
        "torch": str(torch.__version__),
        "parameters": count_parameters(net),
        "net": net_cfg.to_dict(),
        "inference_flops": inference_flops(net_cfg),
        "mirror_average": False,
        "init_from": Path(cfg.init_from).name if cfg.init_from else None,
        "frozen_blocks": cfg.freeze_blocks if cfg.init_from else 0,
        # Extra classes that trained the embedding only (their classifier is not part of the model).
        "background": (
            {"files": [Path(f).name for f in cfg.background], "copies": cfg.background_copies}
            if cfg.background
            else None
        ),
        "class_prior": {n: round(float(p), 6) for n, p in zip(data.classes, prior, strict=True)},
        "logit_adjustment": {
            "stroke_tier_bias": tau,
            "chosen_on": "validation: mean of the bitmap-tier and stroke-tier top-1",
            "curve": [{"bias": t, "val_bitmap_top1": b, "val_stroke_top1": s} for t, b, s in curve],
        },
        "val": {k: _short(v) for k, v in val.items()},
        "test": {k: _short(v) for k, v in test.items()},
        "val_top1": (val["bitmap"]["top1"] + val["stroke"]["top1"]) / 2,
    }
    metrics = {"history": history, "summary": summary, "test_reports": test}
    atomic_write_text(run / "metrics.json", json.dumps(metrics, indent=2))
    final = {
        "model": net.state_dict(),
        "net_config": net_cfg.to_dict(),
        "classes": data.classes,
        "epoch": len(history),
        "summary": summary,
        "samples": torch.from_numpy(samples_x),
        "sample_labels": torch.from_numpy(samples_y),
    }
    checkpoint.save(final, run / "final.pt")
    if cfg.export:
        from .export import export_checkpoint

        export_checkpoint(run / "final.pt", cfg.export, log=log)
    return metrics


def _no_workers(cfg: MixedConfig) -> MixedConfig:
    from dataclasses import replace

    return replace(cfg, render_workers=0)


def _samples(data: MixedData, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out drawings kept in the model: bitmap val rows, stroke-tier val drawings (app view)."""
    x_bm, y_bm = data.bitmap_images("val", per_class)
    st = data.stroke_set("val", "stroke")
    taken: dict[int, int] = {}
    keep = []
    for d in st:
        if taken.get(d.label, 0) < per_class:
            taken[d.label] = taken.get(d.label, 0) + 1
            keep.append(d)
    x_st = render_app_view(keep)
    y_st = np.asarray([d.label for d in keep], np.int64)
    return np.concatenate([x_bm, x_st]), np.concatenate([y_bm, y_st])


# --- CLI -------------------------------------------------------------------------------------------------


def add_arguments(p) -> None:
    d = MixedConfig(data=[], out="")
    p.add_argument("--data", action="append", required=True, metavar="DIR", help="data folder (repeatable)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--classes", help="comma-separated class names or a file (default: all 345 with data)")
    for name in (
        "epochs",
        "bitmaps_per_epoch",
        "strokes_per_epoch",
        "early_per_epoch",
        "batch_size",
        "seed",
        "train_seed",
        "freeze_blocks",
        "head_epochs",
        "render_workers",
        "threads",
        "embedding_dim",
        "samples_per_class",
        "background_copies",
    ):
        default = getattr(d, name)
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    for name in (
        "lr",
        "weight_decay",
        "label_smoothing",
        "val_frac",
        "test_frac",
        "dropout",
        "bitmap_augment_strength",
        "stroke_augment_strength",
        "stroke_partial_p",
        "early_partial_p",
        "conv_lr_scale",
    ):
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(d, name))
    p.add_argument("--widths", default=",".join(map(str, d.widths)))
    p.add_argument("--convs-per-block", default=",".join(map(str, d.convs_per_block)))
    p.add_argument("--global-pool", action="store_true")
    p.add_argument(
        "--cache-frozen",
        action="store_true",
        help="cache the frozen blocks' output of every round and train the rest over --head-epochs passes "
        "of the cache (the CPU path; implied when every conv block is frozen)",
    )
    p.add_argument("--init-from", metavar="MODEL", help="start from a model (.onnx) or checkpoint (.pt)")
    p.add_argument("--logit-adjust", default="auto", help="'auto' (chosen on validation) or a number")
    p.add_argument(
        "--background",
        action="append",
        default=[],
        metavar="NDJSON",
        help="drawings (one class per word) that train the embedding as extra classes, never suggested "
        "(the cached-feature path: every conv block frozen, or --cache-frozen); repeatable",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--export", metavar="MODEL.onnx")


def config_from_args(args) -> MixedConfig:
    classes = None
    if args.classes:
        from .categories import read_class_list

        classes = read_class_list(args.classes, resolve=False)
    kw = {f: getattr(args, f) for f in MixedConfig.__dataclass_fields__ if hasattr(args, f)}
    kw.update(
        classes=classes,
        widths=[int(v) for v in args.widths.split(",")],
        convs_per_block=[int(v) for v in args.convs_per_block.split(",")],
        plots=not args.no_plots,
    )
    return MixedConfig(**kw)


def run_fit_mixed(args) -> int:
    try:
        fit_mixed(config_from_args(args), resume=args.resume)
    except (DataError, ValueError) as exc:
        print(f"inkling-train fit-mixed: error: {exc}", file=sys.stderr)
        return 2
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fit-mixed", help="train on bitmaps and stroke drawings of every category", description=__doc__
    )
    add_arguments(p)
    p.set_defaults(func=run_fit_mixed)


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m inkling.training.mixed", description=__doc__)
    add_arguments(p)
    return run_fit_mixed(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
