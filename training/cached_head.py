"""Train the layers after the frozen conv blocks over cached features: the CPU path of ``fit-mixed``.

The frozen blocks' output for a drawing (with every block frozen, the last block's pooled maps that the
embedding layer reads) never changes, so each round of augmented variants goes through the frozen blocks
once and is cached; then the layers after them (any unfrozen conv blocks, the embedding and the
classifier) take many passes over all the cached rounds, which on a CPU costs a fraction of the whole
network's passes. The rounds are the "new variants every epoch" of the stroke drawings (one
fresh stroke-space variant per sampled drawing per round) and fresh image augmentations of the bitmaps.
Rounds are cached to ``RUN/cache/`` so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import time
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from inkling.model.strokes import atomic_write_text

from .augment import augment
from .metrics import classification_report
from .net import block_layers


def _cached_shape(cfg, blocks: int) -> tuple[int, ...]:
    """The shape of one drawing's cached maps after the first ``blocks`` conv blocks; () for the whole
    trunk, whose output is already flat."""
    if blocks >= len(cfg.widths):
        return ()
    return (cfg.widths[blocks - 1], 28 >> blocks, 28 >> blocks)


@torch.inference_mode()
def trunk_features(
    net, images: np.ndarray, *, batch: int = 512, augment_strength: float = 0.0, blocks: int | None = None
) -> np.ndarray:
    """The output (N, D) of the first ``blocks`` conv blocks (default: the whole trunk) as float16,
    optionally of augmented copies of the images."""
    net.eval()
    blocks = len(net.cfg.widths) if blocks is None else blocks
    layers = block_layers(net.cfg, blocks)
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch])).float().div_(255.0).unsqueeze(1)
        if augment_strength > 0:
            x = augment(x, strength=augment_strength)
        x = x.contiguous(memory_format=torch.channels_last)
        out.append(net.features[:layers](x).flatten(1).to(torch.float16).numpy())
    shape = _cached_shape(net.cfg, blocks)
    dim = int(np.prod(shape)) if shape else net.embed[2].in_features
    return np.concatenate(out) if out else np.zeros((0, dim), np.float16)


def _embedding(net, feats: torch.Tensor, blocks: int) -> torch.Tensor:
    """The embedding of the first ``blocks`` conv blocks' cached maps: through the later conv blocks (if
    any), then the embedding layer."""
    shape = _cached_shape(net.cfg, blocks)
    if shape:
        x = feats.view(len(feats), *shape).contiguous(memory_format=torch.channels_last)
        feats = net.features[block_layers(net.cfg, blocks) :](x)
    return net.embed(feats)


def _head_logits(net, feats: np.ndarray, blocks: int, batch: int = 2048) -> np.ndarray:
    net.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(feats), batch):
            emb = _embedding(net, torch.from_numpy(feats[i : i + batch]).float(), blocks)
            out.append(net.classifier(emb).numpy())
    return np.concatenate(out) if out else np.zeros((0, net.cfg.num_classes), np.float32)


def _round(
    cfg, r: int, net, renderer, x_bm, y_bm, cache: Path, log
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Round ``r``: (features, labels, the seconds it took to make, whether it came from the cache)."""
    path = cache / f"round_{r:03d}.npz"
    if path.exists():
        return (*_load_round(path), True)
    t0 = time.perf_counter()
    x_pool, y_pool = renderer.get(r)
    if r + 1 < cfg.epochs and not (cache / f"round_{r + 1:03d}.npz").exists():
        renderer.request(r + 1)
    waited = time.perf_counter() - t0
    rng = np.random.default_rng([cfg.train_seed, r, 17])
    n_bm = min(cfg.bitmaps_per_epoch, len(x_bm))
    pick = np.sort(rng.choice(len(x_bm), n_bm, replace=False))
    torch.manual_seed(cfg.train_seed * 1000 + r)
    strength = cfg.bitmap_augment_strength if r > 0 else 0.0  # round 0: the bitmaps as they are
    feats = np.concatenate(
        [
            trunk_features(net, x_bm[pick], augment_strength=strength, blocks=cfg.freeze_blocks),
            trunk_features(net, x_pool, blocks=cfg.freeze_blocks),
        ]
    )
    labels = np.concatenate([y_bm[pick], y_pool])
    seconds = time.perf_counter() - t0
    tmp = cache / f".round_{r:03d}.tmp.npz"
    np.savez(tmp, features=feats, labels=labels, seconds=seconds)
    tmp.replace(path)
    log(
        f"round {r + 1}/{cfg.epochs}: {len(labels)} drawings through the trunk ({n_bm} bitmaps, {len(y_pool)} "
        f"stroke variants) in {seconds:.0f} s, {len(labels) / max(seconds - waited, 1e-9):.0f} images/s "
        f"(waited {waited:.0f} s for renders)"
    )
    return feats, labels, seconds, False


def _load_round(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """A cached round, with the seconds it took to make (so that a resumed run reports the whole cost)."""
    with np.load(path) as z:
        seconds = float(z["seconds"]) if "seconds" in z.files else float("nan")
        return z["features"], z["labels"], seconds


def load_background(paths, copies: int = 1) -> tuple[list, np.ndarray, list[str]]:
    """The drawings of the background ndjson files (each ``copies`` times: one variant each a round),
    their class indices, and the class names (file stem / word)."""
    from inkling.model.strokes import read_ndjson

    drawings, words = [], []
    for path in paths:
        for rec in read_ndjson(path).records:
            if rec.strokes:
                drawings.append(rec.strokes)
                words.append(f"{Path(path).stem}/{rec.word}")
    if not drawings:
        raise ValueError(f"no background drawings in {', '.join(map(str, paths))}")
    names = sorted(set(words))
    index = {w: i for i, w in enumerate(names)}
    labels = np.asarray([index[w] for w in words], np.int64)
    copies = max(1, int(copies))
    return drawings * copies, np.tile(labels, copies), names


def _background_tag(cfg) -> str:
    """Which background files, and how many copies: part of a background round's file name."""
    files = "|".join(sorted(Path(f).name for f in cfg.background))
    return f"{cfg.background_copies}_{zlib.crc32(files.encode()):08x}"


def _background_round(
    cfg, r: int, net, background, cache: Path, log
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Round ``r`` of the background drawings (one variant each; round 0 as drawn), through the frozen
    blocks; as
    :func:`_round` returns it."""
    from inkling.model.raster import rasterize

    from .stroke_augment import augment_strokes

    drawings, labels, names = background
    tag = f"{len(names)}x{len(drawings)}_{_background_tag(cfg)}"
    path = cache / f"background_{r:03d}_{tag}.npz"
    if path.exists():
        return (*_load_round(path), True)
    t0 = time.perf_counter()
    rng = np.random.default_rng([cfg.train_seed, r, 31])
    # Round 0 has each drawing once as drawn; every other copy, and every later round, a fresh variant.
    first = len(drawings) // max(1, cfg.background_copies) if r == 0 else 0
    images = np.stack(
        [
            rasterize(d if i < first else augment_strokes(d, rng, strength=cfg.stroke_augment_strength))
            for i, d in enumerate(drawings)
        ]
    )
    feats = trunk_features(net, images, blocks=cfg.freeze_blocks)
    seconds = time.perf_counter() - t0
    tmp = cache / f".background_{r:03d}.tmp.npz"
    np.savez(tmp, features=feats, labels=labels, seconds=seconds)
    tmp.replace(path)
    log(f"round {r + 1}/{cfg.epochs}: {len(labels)} background drawings in {seconds:.0f} s")
    return feats, labels, seconds, False


# The settings that decide what a round holds: a cache made with other values is not reused.
_ROUND_SETTINGS = (
    "data",
    "classes",
    "seed",
    "val_frac",
    "test_frac",
    "epochs",
    "bitmaps_per_epoch",
    "strokes_per_epoch",
    "early_per_epoch",
    "train_seed",
    "bitmap_augment_strength",
    "stroke_augment_strength",
    "stroke_partial_p",
    "early_partial_p",
    "init_from",
    "widths",
    "convs_per_block",
    "freeze_blocks",  # what a round caches: the frozen blocks' output
)


def _check_cache(cfg, cache: Path, log) -> None:
    """Empty ``cache`` if its rounds were made with other settings (``key.json``), then record ours."""
    key = {name: getattr(cfg, name) for name in _ROUND_SETTINGS}
    key["init_from"] = Path(cfg.init_from).name if cfg.init_from else None
    key["data"] = [str(Path(d).resolve()) for d in cfg.data]
    path = cache / "key.json"
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = None
    made = sorted(cache.glob("*.npz"))
    if old is not None and old != key and made:
        changed = sorted(k for k in key if old.get(k) != key[k])
        log(
            f"{cache}: made with other settings ({', '.join(changed)}); its {len(made)} rounds are made again"
        )
        for f in made:
            f.unlink()
    atomic_write_text(path, json.dumps(key, indent=1, sort_keys=True))


def fit_head_on_cached_features(cfg, net, data, renderer, x_bm, y_bm, val_sets, run: Path, log) -> list[dict]:
    """Cache every round's output of the ``cfg.freeze_blocks`` frozen conv blocks, then train the rest of
    the network (the later conv blocks, ``net.embed`` and ``net.classifier``) on them."""
    from .mixed import choose_stroke_bias

    cache = run / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    _check_cache(cfg, cache, log)
    blocks = cfg.freeze_blocks
    layers = block_layers(net.cfg, blocks)
    for p in net.features[:layers].parameters():
        p.requires_grad_(False)
    xv_bm, yv_bm, xv_st, yv_st, xv_early, yv_early = val_sets
    first_missing = next((r for r in range(cfg.epochs) if not (cache / f"round_{r:03d}.npz").exists()), None)
    if first_missing is not None:
        renderer.request(first_missing)  # rendered in the background while the cached rounds load
    rounds = [_round(cfg, r, net, renderer, x_bm, y_bm, cache, log) for r in range(cfg.epochs)]
    renderer.close()
    k = net.cfg.num_classes
    if cfg.background:
        background = load_background(cfg.background, cfg.background_copies)
        bg = [_background_round(cfg, r, net, background, cache, log) for r in range(cfg.epochs)]
        rounds += [(f, y + k, sec, was) for f, y, sec, was in bg]  # labels past the categories: its head's
        log(f"background: {len(background[2])} classes, {len(background[0])} drawings a round")
    # What the rounds cost to make, whether made now or read from the cache of an earlier (interrupted)
    # run: the card reports what training from nothing takes.
    feature_seconds = float(np.nansum([sec for _, _, sec, _ in rounds]))
    # Of those, the rounds an earlier run made: their time is not this run's.
    cached_seconds = float(np.nansum([sec for _, _, sec, cached in rounds if cached]))
    rounds = [(f, y) for f, y, _, _ in rounds]
    # The same random state for the head whether the rounds were made now (which draws from torch's
    # generator) or read from the cache: a resumed run trains the same model.
    torch.manual_seed(cfg.train_seed)
    background_head = torch.nn.Linear(net.cfg.embedding_dim, len(background[2])) if cfg.background else None
    feats = np.concatenate([f for f, _ in rounds])
    labels = torch.from_numpy(np.concatenate([y for _, y in rounds]))
    del rounds
    fv = {
        "bitmap": (trunk_features(net, xv_bm, blocks=blocks), yv_bm),
        "stroke": (trunk_features(net, xv_st, blocks=blocks), yv_st),
        "early": (trunk_features(net, xv_early, blocks=blocks), yv_early),
    }
    st_cls = data.tier_classes("stroke")
    heads = (net.embed, net.classifier) + ((background_head,) if background_head is not None else ())
    groups = [{"params": [p for m in heads for p in m.parameters()], "lr": cfg.lr}]
    convs = list(net.features[layers:].parameters())
    if convs:
        groups.append({"params": convs, "lr": cfg.lr * cfg.conv_lr_scale})
    batch = max(cfg.batch_size, 512)
    steps = cfg.head_epochs * math.ceil(len(labels) / batch)
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in groups], total_steps=steps, pct_start=0.1
    )
    history = []
    best, best_state = -1.0, None
    g = torch.Generator().manual_seed(cfg.train_seed)
    for epoch in range(cfg.head_epochs):
        t1 = time.perf_counter()
        net.train()
        net.features[:layers].eval()  # frozen batch norms keep their statistics
        perm = torch.randperm(len(labels), generator=g)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(perm), batch):
            idx = perm[i : i + batch]
            x = torch.from_numpy(feats[idx.numpy()]).float()
            y = labels[idx]
            emb = net.dropout(_embedding(net, x, blocks))
            logits = net.classifier(emb)
            if background_head is not None:
                logits = torch.cat([logits, background_head(emb)], 1)
            loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
        lv = {k: _head_logits(net, f, blocks) for k, (f, _) in fv.items()}
        rep = {k: classification_report(lv[k], fv[k][1], data.classes) for k in fv}
        tau, _ = choose_stroke_bias(lv["bitmap"], yv_bm, lv["stroke"], yv_st, st_cls)
        mask = np.zeros(len(data.classes), np.float32)
        mask[st_cls] = tau
        adj_bm = float((np.argmax(lv["bitmap"] + mask, 1) == yv_bm).mean())
        adj_st = float((np.argmax(lv["stroke"] + mask, 1) == yv_st).mean()) if len(yv_st) else 0.0
        seconds = time.perf_counter() - t1
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / len(labels),
            "train_top1": correct / len(labels),
            "val_loss": float(F.cross_entropy(torch.from_numpy(lv["bitmap"]), torch.from_numpy(yv_bm))),
            "val_top1": (adj_bm + adj_st) / 2,
            "val_top3": rep["bitmap"]["top3"],
            "val_bitmap_top1": rep["bitmap"]["top1"],
            "val_stroke_top1": rep["stroke"]["top1"],
            "val_stroke_top5": rep["stroke"]["top5"],
            "val_early_top1": rep["early"]["top1"],
            "val_adjusted": {"bias": tau, "bitmap_top1": adj_bm, "stroke_top1": adj_st},
            "lr": sched.get_last_lr()[0],
            "seconds": seconds + (feature_seconds if epoch == 0 else 0.0),
            "images_per_sec": len(labels) / seconds,
        }
        history.append(row)
        log(
            f"head epoch {epoch + 1}/{cfg.head_epochs}: loss {row['train_loss']:.3f}, val bitmap tier top-1 "
            f"{row['val_bitmap_top1']:.4f}, stroke tier top-1 {row['val_stroke_top1']:.4f} top-5 "
            f"{row['val_stroke_top5']:.4f}, early {row['val_early_top1']:.4f}; with bias {tau:+.1f}: "
            f"{adj_bm:.4f} / {adj_st:.4f}; {seconds:.0f} s"
        )
        if row["val_top1"] > best:
            best = row["val_top1"]
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        atomic_write_text(run / "metrics.json", json.dumps({"history": history}, indent=2))
    if best_state is not None:
        net.load_state_dict(best_state)  # the head epoch that scored best on validation
    history[-1]["feature_seconds"] = feature_seconds
    history[-1]["cached_round_seconds"] = cached_seconds
    history[-1]["feature_images"] = int(len(labels))
    if cfg.plots:
        from .plots import plot_history

        plot_history(history, run)
    return history
