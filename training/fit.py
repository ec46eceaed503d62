"""``inkling-train fit``: train the sketch CNN on a class set, on CPU or CUDA, optionally distributed.

A run folder holds ``config.json``, ``last.pt`` (every epoch; ``--resume`` continues from it), ``best.pt``
(best validation accuracy), ``metrics.json`` and PNG plots. Launch with ``torchrun --nproc_per_node N``
for distributed data-parallel training (gloo on CPU, NCCL on GPUs).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from inkling.model.strokes import atomic_write_text

from . import checkpoint
from .augment import augment
from .data import DataError, Dataset, SplitIndex, iterate_batches
from .metrics import classification_report
from .net import MirrorAveraged, NetConfig, SketchNet, count_parameters
from .split_eval import split_report  # val and test in chunks: the full dataset's splits do not fit in memory

SAMPLES_PER_CLASS = 32  # held-out drawings kept with the model: export checks and few-shot memory


@dataclass
class FitConfig:
    data: list[str]
    out: str
    classes: list[str] | None = None
    min_count: int = 0
    epochs: int = 12
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    seed: int = 0
    val_frac: float = 0.1
    test_frac: float = 0.1
    max_per_class: int | None = None
    widths: list[int] = field(default_factory=lambda: [32, 64, 128])
    convs_per_block: list[int] = field(default_factory=lambda: [1, 2, 1])
    embedding_dim: int = 256
    dropout: float = 0.3
    global_pool: bool = False
    augment: bool = True
    augment_strength: float = 1.0
    train_seed: int | None = None  # initialization and batch order; None: the split seed. Ensembles vary it.
    device: str = "auto"
    init_from: str | None = None
    in_memory_gb: float = 4.0  # datasets up to this size are held in (GPU) memory, larger ones stream
    render_workers: int | None = None
    plots: bool = True
    export: str | None = None
    mirror_average: str = "auto"  # test-time mirror averaging: "on", "off", or "auto" (if validation gains)


# --- distributed plumbing ---------------------------------------------------------------------------


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_kind: str) -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as tdist

    backend = "nccl" if device_kind == "cuda" else "gloo"
    tdist.init_process_group(backend=backend)
    return Dist(tdist.get_rank(), tdist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise DataError("--device cuda was asked for, but CUDA is not available")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device(name)


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} threads"


# --- the loop ----------------------------------------------------------------------------------------


def _to_batch(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    x = images.to(device, non_blocking=True).float().div_(255.0).unsqueeze(1)
    return x.contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def predict(net: SketchNet, images: np.ndarray | torch.Tensor, device: torch.device, batch: int = 1024):
    """Logits and embeddings of uint8 images (N, 28, 28), in eval mode."""
    was_training = net.training
    net.eval()
    logits, embs = [], []
    images = torch.as_tensor(images)
    for i in range(0, len(images), batch):
        with _autocast(device):
            lo, em = net(_to_batch(images[i : i + batch], device))
        logits.append(lo.float().cpu())
        embs.append(em.float().cpu())
    net.train(was_training)
    if not logits:
        return np.zeros((0, net.cfg.num_classes), np.float32), np.zeros(
            (0, net.cfg.embedding_dim), np.float32
        )
    return torch.cat(logits).numpy(), torch.cat(embs).numpy()


def _autocast(device: torch.device):
    # bf16 mixed precision on CUDA; on CPU it is slower than float32 on most machines, so it stays off.
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def _sample_index(index: SplitIndex, num_classes: int, per_class: int) -> SplitIndex:
    keep = np.concatenate([np.nonzero(index.label == c)[0][:per_class] for c in range(num_classes)])
    return SplitIndex(index.label[keep], index.row[keep])


def _init_weights(net: SketchNet, path: str, log) -> None:
    """Start from another model's weights (fine-tuning); layers whose shapes differ keep their init."""
    if str(path).endswith(".onnx"):
        src = _weights_from_onnx(net, path)
    else:
        src = checkpoint.load(path)["model"]
    own = net.state_dict()
    taken = {k: v for k, v in src.items() if k in own and own[k].shape == v.shape}
    own.update(taken)
    net.load_state_dict(own)
    log(f"initialised {len(taken)}/{len(own)} tensors from {path}")


def _weights_from_onnx(net: SketchNet, path: str) -> dict[str, torch.Tensor]:
    """A state dict from an exported Inkling model (all tensors float32).

    The exporter folds each batch norm into the convolution before it (W' = W * g / s, b' = beta - mu * g / s),
    so the convolutions take the folded weights and each batch norm becomes the identity plus b'. Weights
    stored as float16 reach the graph through a ``Cast`` to float32 that carries the original name.
    """
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(path)
    inits = {}
    for i in proto.graph.initializer:
        array = numpy_helper.to_array(i)
        if np.issubdtype(array.dtype, np.floating):
            inits[i.name] = torch.from_numpy(array.astype(np.float32))
    stored = set()
    for node in proto.graph.node:
        if node.op_type == "Cast" and node.input and node.input[0] in inits:
            inits[node.output[0]] = inits[node.input[0]]
            stored.add(node.input[0])
    # A single network is exported as ``net.*`` (mirror-averaged) or as member 0 of an ensemble.
    out = {
        re.sub(r"^(net\.|members\.0\.(net\.)?)", "", k): v
        for k, v in inits.items()
        if not k.startswith("onnx::") and k not in stored
    }
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    names = [name for name, m in net.features.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if len(convs) != len(names):
        return out
    for node, name in zip(convs, names, strict=True):
        bn = f"features.{int(name) + 1}"
        weight = inits[node.input[1]]
        bias = inits[node.input[2]] if len(node.input) > 2 else torch.zeros(weight.shape[0])
        out[f"features.{name}.weight"] = weight
        out[f"{bn}.weight"] = torch.ones_like(bias)
        out[f"{bn}.bias"] = bias
        out[f"{bn}.running_mean"] = torch.zeros_like(bias)
        out[f"{bn}.running_var"] = torch.full_like(bias, 1.0 - 1e-5)  # so that sqrt(var + eps) == 1
    return out


def fit(cfg: FitConfig, *, resume: bool = False, log=print) -> dict:
    """Train; returns the final metrics. Only rank 0 writes files."""
    device_kind = (
        "cuda" if (cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())) else "cpu"
    )
    dist = setup_distributed(device_kind)
    device = pick_device(cfg.device, dist.local_rank)
    say = log if dist.main else (lambda *a, **k: None)
    run = Path(cfg.out)
    train_seed = cfg.seed if cfg.train_seed is None else cfg.train_seed
    torch.manual_seed(train_seed)

    ds = Dataset.load(cfg.data, cfg.classes, cfg.min_count, workers=cfg.render_workers, log=say)
    splits = ds.split(cfg.seed, cfg.val_frac, cfg.test_frac, cfg.max_per_class)
    k = len(ds.classes)
    if k < 2:
        raise DataError("training needs at least two classes")
    sizes = {name: len(s) for name, s in splits.items()}
    say(
        f"{k} classes, {sizes['train']} train / {sizes['val']} val / {sizes['test']} test drawings, on {device}"
    )

    net_cfg = NetConfig(
        k, tuple(cfg.widths), tuple(cfg.convs_per_block), cfg.embedding_dim, cfg.dropout, cfg.global_pool
    )
    net = SketchNet(net_cfg)
    if cfg.init_from and not resume:
        _init_weights(net, cfg.init_from, say)
    net.to(device, memory_format=torch.channels_last)
    model = net
    if dist.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None
        )

    per_rank = (sizes["train"] // dist.world) if dist.world > 1 else sizes["train"]
    steps_per_epoch = max(1, math.ceil(per_rank / cfg.batch_size))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.15
    )

    history: list[dict] = []
    start_epoch, best = 0, -1.0
    if resume:
        last = run / "last.pt"
        if not last.exists():
            raise DataError(f"--resume: no checkpoint at {last}")
        state = checkpoint.load(last, map_location=device)
        if state["classes"] != ds.classes:
            raise DataError(f"--resume: {last} was trained on other classes")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch, history, best = state["epoch"], state["history"], state.get("best", -1.0)
        say(f"resumed from {last} after epoch {start_epoch}")
    elif dist.main:
        run.mkdir(parents=True, exist_ok=True)
        manifest = asdict(cfg) | {
            "classes": ds.classes,
            "sources": {s.name: {"kind": s.kind, "file": s.path.name} for s in ds.sources},
            "split_sizes": sizes,
            "net": net_cfg.to_dict(),
            "parameters": count_parameters(net),
            "command": " ".join(sys.argv),
        }
        atomic_write_text(run / "config.json", json.dumps(manifest, indent=2))

    # Small datasets live on the device and are augmented there; large ones stream from memory maps.
    train_bytes = sizes["train"] * 784
    in_memory = train_bytes <= cfg.in_memory_gb * 2**30
    if in_memory:
        x_train = torch.from_numpy(ds.gather(splits["train"])).to(device)
        y_train = torch.from_numpy(splits["train"].label).long().to(device)
    val_index = splits["val"]
    if len(val_index) > 50_000:
        val_index = SplitIndex(
            val_index.label[:: len(val_index) // 50_000 + 1], val_index.row[:: len(val_index) // 50_000 + 1]
        )
    x_val = ds.gather(val_index)
    y_val = val_index.label.astype(np.int64)

    def batches(epoch: int):
        if in_memory:
            g = torch.Generator(device="cpu").manual_seed(train_seed * 1000 + epoch)
            perm = torch.randperm(sizes["train"], generator=g)
            if dist.world > 1:
                perm = perm[: per_rank * dist.world][dist.rank :: dist.world]
            perm = perm.to(device)
            for i in range(0, len(perm), cfg.batch_size):
                idx = perm[i : i + cfg.batch_size]
                yield x_train[idx], y_train[idx]
        else:
            for xb, yb in iterate_batches(
                ds,
                splits["train"],
                cfg.batch_size,
                shuffle=True,
                seed=train_seed * 1000 + epoch,
                rank=dist.rank,
                world=dist.world,
            ):
                yield torch.from_numpy(xb), torch.from_numpy(yb).to(device)

    from tqdm import tqdm

    t_start = time.perf_counter()
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        t0 = time.perf_counter()
        # Running sums stay on the device: reading them every step would stall the GPU.
        seen, loss_sum, correct = 0, torch.zeros((), device=device), torch.zeros((), device=device)
        bar = tqdm(
            total=steps_per_epoch,
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            disable=not dist.main,
            unit="batch",
            dynamic_ncols=True,
            file=sys.stderr,
        )
        for xb, yb in batches(epoch):
            x = _to_batch(xb, device)
            if cfg.augment:
                x = augment(x, strength=cfg.augment_strength).contiguous(memory_format=torch.channels_last)
            with _autocast(device):
                logits, _ = model(x)
                loss = F.cross_entropy(logits.float(), yb, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            n = len(yb)
            seen += n
            loss_sum += loss.detach() * n
            correct += (logits.argmax(1) == yb).sum()
            bar.update(1)
            if bar.n % 25 == 0 or bar.n == steps_per_epoch:
                bar.set_postfix(
                    loss=f"{float(loss_sum) / seen:.3f}",
                    img_s=f"{seen * dist.world / (time.perf_counter() - t0):.0f}",
                )
        bar.close()
        loss_sum, correct = float(loss_sum), int(correct)
        seconds = time.perf_counter() - t0
        if dist.main:
            val_logits, _ = predict(net, x_val, device)
            val = classification_report(val_logits, y_val, ds.classes)
            val_loss = float(F.cross_entropy(torch.from_numpy(val_logits), torch.from_numpy(y_val)))
            row = {
                "epoch": epoch + 1,
                "train_loss": loss_sum / max(seen, 1),
                "train_top1": correct / max(seen, 1),
                "val_loss": val_loss,
                "val_top1": val["top1"],
                "val_top3": val["top3"],
                "lr": sched.get_last_lr()[0],
                "seconds": seconds,
                "images_per_sec": seen * dist.world / seconds,
            }
            history.append(row)
            say(
                f"epoch {epoch + 1}: loss {row['train_loss']:.3f}, val top-1 {val['top1']:.4f} "
                f"top-3 {val['top3']:.4f}, {row['images_per_sec']:.0f} images/s"
            )
            state = {
                "model": net.state_dict(),
                "net_config": net_cfg.to_dict(),
                "classes": ds.classes,
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "epoch": epoch + 1,
                "history": history,
                "best": max(best, val["top1"]),
                "fit_config": asdict(cfg),
            }
            checkpoint.save(state, run / "last.pt")
            if val["top1"] > best:
                best = val["top1"]
                checkpoint.save(
                    {k_: state[k_] for k_ in ("model", "net_config", "classes", "epoch")}, run / "best.pt"
                )
            atomic_write_text(run / "metrics.json", json.dumps({"history": history}, indent=2))
            if cfg.plots:
                from .plots import plot_history

                plot_history(history, run)
        if dist.world > 1:
            torch.distributed.barrier()

    result: dict = {}
    if dist.main:
        result = _finish(
            cfg, net, net_cfg, ds, splits, history, device, run, time.perf_counter() - t_start, say
        )
    if dist.world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return result


def _choose_mirror(cfg, net, ds, splits, device, say) -> tuple[bool, dict]:
    """Decide on test-time mirror averaging by validation accuracy (never by the test split)."""
    if cfg.mirror_average in ("on", "off"):
        return cfg.mirror_average == "on", {}
    plain = split_report(lambda x: predict(net, x, device)[0], ds, splits["val"], ds.classes)["top1"]
    mirrored = split_report(
        lambda x: predict(MirrorAveraged(net), x, device)[0], ds, splits["val"], ds.classes
    )["top1"]
    say(f"validation top-1: {plain:.4f} plain, {mirrored:.4f} averaged with the mirror image")
    return mirrored > plain, {"val_top1_plain": plain, "val_top1_mirror_averaged": mirrored}


def _finish(cfg, net, net_cfg, ds, splits, history, device, run, seconds, say) -> dict:
    """Test-split report, plots, the final checkpoint with held-out samples, and the ONNX export."""
    mirror, mirror_evidence = _choose_mirror(cfg, net, ds, splits, device, say)
    scored = MirrorAveraged(net) if mirror else net
    test = split_report(lambda x: predict(scored, x, device)[0], ds, splits["test"], ds.classes)
    say(f"test: top-1 {test['top1']:.4f}, top-3 {test['top3']:.4f}, top-5 {test['top5']:.4f}")
    train_seconds = sum(h["seconds"] for h in history)
    per_split = {split: np.bincount(idx.label, minlength=len(ds.classes)) for split, idx in splits.items()}
    summary = {
        "classes": ds.classes,
        "sources": {s.name: s.kind for s in ds.sources},
        "counts": {
            name: {split: int(per_split[split][c]) for split in splits} for c, name in enumerate(ds.classes)
        },
        "split": {
            "seed": cfg.seed,
            "val_frac": cfg.val_frac,
            "test_frac": cfg.test_frac,
            "max_per_class": cfg.max_per_class,
        },
        "epochs": len(history),
        "train_seconds": round(train_seconds, 1),
        "hardware": hardware_description(device),
        "torch": str(torch.__version__),
        "test": {k: test[k] for k in ("top1", "top3", "top5", "n")},
        "val_top1": history[-1]["val_top1"] if history else None,
        "parameters": count_parameters(net),
        "mirror_average": mirror,
        **mirror_evidence,
    }
    metrics = {"history": history, "test": test, "summary": summary}
    atomic_write_text(run / "metrics.json", json.dumps(metrics, indent=2))
    if cfg.plots:
        from .plots import plot_confusion

        plot_confusion(np.asarray(test["confusion"]), ds.classes, run / "confusion.png")
    samples = _sample_index(splits["val"], len(ds.classes), SAMPLES_PER_CLASS)
    final = {
        "model": net.state_dict(),
        "net_config": net_cfg.to_dict(),
        "classes": ds.classes,
        "epoch": len(history),
        "summary": summary,
        "samples": torch.from_numpy(ds.gather(samples)),
        "sample_labels": torch.from_numpy(samples.label),
    }
    checkpoint.save(final, run / "final.pt")
    if cfg.export:
        from .export import export_checkpoint

        export_checkpoint(run / "final.pt", cfg.export, log=say)
    return metrics


# --- CLI ---------------------------------------------------------------------------------------------


def add_fit_arguments(p) -> None:
    d = FitConfig(data=[], out="")
    p.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="DIR",
        help="folder of <category>.npy bitmaps and/or <category>.ndjson strokes (repeatable)",
    )
    p.add_argument(
        "--classes", help="comma-separated class names, or a file with one per line (default: all)"
    )
    p.add_argument(
        "--min-count", type=int, default=d.min_count, help="without --classes: skip smaller categories"
    )
    p.add_argument("--out", required=True, help="run folder (config, checkpoints, metrics, plots)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--seed", type=int, default=d.seed, help="fixes the splits and the training order")
    p.add_argument("--val-frac", type=float, default=d.val_frac)
    p.add_argument("--test-frac", type=float, default=d.test_frac)
    p.add_argument("--max-per-class", type=int, help="use at most this many drawings of each class")
    p.add_argument("--widths", default=",".join(map(str, d.widths)), help="channels per conv block")
    p.add_argument("--convs-per-block", default=",".join(map(str, d.convs_per_block)))
    p.add_argument("--embedding-dim", type=int, default=d.embedding_dim)
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument(
        "--global-pool",
        action="store_true",
        help="average the last block over space instead of flattening it (fewer parameters per channel)",
    )
    p.add_argument("--no-augment", action="store_true")
    p.add_argument(
        "--augment-strength",
        type=float,
        default=d.augment_strength,
        help="scale the augmentation's rotation, shear, scale and shift ranges",
    )
    p.add_argument(
        "--train-seed",
        type=int,
        help="seed for initialization and batch order (default: --seed); the split always follows --seed",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--in-memory-gb",
        type=float,
        default=d.in_memory_gb,
        help="train splits up to this size are held in (GPU) memory; larger ones stream from the memory-mapped"
        " .npy files (default: %(default)s)",
    )
    p.add_argument(
        "--init-from", metavar="MODEL", help="fine-tune from a checkpoint (.pt) or Inkling model (.onnx)"
    )
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT/last.pt")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument(
        "--mirror-average",
        default="auto",
        choices=["auto", "on", "off"],
        help="average predictions over the drawing and its mirror image (auto: if validation accuracy gains)",
    )
    p.add_argument("--export", metavar="MODEL.onnx", help="export the trained model to this ONNX file")


def config_from_args(args) -> FitConfig:
    classes = None
    if args.classes:
        from .categories import read_class_list

        classes = read_class_list(args.classes, resolve=False)  # custom classes are allowed too
    return FitConfig(
        data=args.data,
        out=args.out,
        classes=classes,
        min_count=args.min_count,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        seed=args.seed,
        val_frac=args.val_frac,
        test_frac=args.test_frac,
        max_per_class=args.max_per_class,
        widths=[int(v) for v in args.widths.split(",")],
        convs_per_block=[int(v) for v in args.convs_per_block.split(",")],
        embedding_dim=args.embedding_dim,
        dropout=args.dropout,
        global_pool=args.global_pool,
        augment=not args.no_augment,
        augment_strength=args.augment_strength,
        train_seed=args.train_seed,
        device=args.device,
        in_memory_gb=args.in_memory_gb,
        init_from=args.init_from,
        mirror_average=args.mirror_average,
        plots=not args.no_plots,
        export=args.export,
    )


def run_fit(args) -> int:
    try:
        fit(config_from_args(args), resume=args.resume)
    except (DataError, ValueError) as exc:
        print(f"inkling-train fit: error: {exc}", file=sys.stderr)
        return 2
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("fit", help="train a model on a class set", description=__doc__)
    add_fit_arguments(p)
    p.set_defaults(func=run_fit)
