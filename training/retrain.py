"""Rebuild the default model that ships in resources/models/, end to end, with the exact settings used.

    python -m training.retrain --data ../shared/data/quickdraw

trains on every category in the data folder with at least 400 drawings (bitmaps where there are bitmaps,
rendered strokes otherwise), exports ``resources/models/default.onnx`` and writes its model card.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from model.strokes import atomic_write_text

from .fit import FitConfig, fit

ROOT = Path(__file__).resolve().parent.parent
MIN_COUNT = 400

# The settings of the shipped model. Change them here, retrain, and commit model + card together.
DEFAULT_SETTINGS = dict(
    min_count=MIN_COUNT,
    epochs=12,
    batch_size=256,
    lr=3e-3,
    weight_decay=5e-4,
    seed=0,
    val_frac=0.1,
    test_frac=0.1,
    widths=[32, 64, 128],
    convs_per_block=[1, 2, 1],
    embedding_dim=256,
    dropout=0.3,
)

ATTRIBUTION = (
    'Contains drawings from "The Quick, Draw! Dataset" by Google '
    "(https://github.com/googlecreativelab/quickdraw-dataset), licensed under CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/)."
)


def _mirror_line(s: dict) -> str:
    used = "yes" if s.get("mirror_average") else "no"
    if "val_top1_plain" not in s:
        return used
    return (
        f"{used} (chosen on validation: {s['val_top1_plain']:.2%} plain, "
        f"{s['val_top1_mirror_averaged']:.2%} averaged with the mirror image)"
    )


def model_card(metrics: dict, command: str, model_path: Path) -> str:
    s = metrics["summary"]
    test = metrics["test"]
    size_mb = model_path.stat().st_size / 1e6 if model_path.exists() else float("nan")
    lines = [
        "# Inkling default model",
        "",
        f"A small CNN (conv → ReLU → pool blocks, a {s.get('parameters', 0):,}-parameter network with a "
        "256-dimensional embedding) that recognizes doodles rendered by `model.raster` as 28×28 images.",
        "",
        "| | |",
        "|---|---|",
        f"| file | `{model_path.name}` ({size_mb:.2f} MB, ONNX) |",
        f"| classes | {len(s['classes'])} |",
        f"| held-out test top-1 | **{test['top1']:.2%}** |",
        f"| held-out test top-3 | **{test['top3']:.2%}** |",
        f"| held-out test top-5 | {test['top5']:.2%} |",
        f"| test drawings | {test['n']} |",
        f"| split | per class, seed {s['split']['seed']}: {1 - s['split']['val_frac'] - s['split']['test_frac']:.0%} "
        f"train / {s['split']['val_frac']:.0%} validation / {s['split']['test_frac']:.0%} test |",
        f"| epochs | {s['epochs']} |",
        f"| test-time mirror averaging | {_mirror_line(s)} |",
        f"| training time | {s['train_seconds'] / 60:.1f} min |",
        f"| hardware | {s['hardware']} |",
        f"| torch | {s['torch']} |",
        "",
        "Reproduce it (see `training/retrain.py` for every setting):",
        "",
        "```",
        command,
        "```",
        "",
        "## Data",
        "",
        ATTRIBUTION,
        "",
        "Bitmaps are Google's official `numpy_bitmap` renderings; classes without bitmaps are rendered from "
        "Google's stroke files with `model.raster`, the renderer the app uses on live drawings.",
        "",
        f"Training curves: [{model_path.stem}.curves.png]({model_path.stem}.curves.png); "
        f"confusion matrix: [{model_path.stem}.confusion.png]({model_path.stem}.confusion.png).",
        "",
        "## Per-class accuracy (test split)",
        "",
        "| class | source | train | val | test | test top-1 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name in s["classes"]:
        c = s["counts"][name]
        acc = test["per_class"][name]["top1"]
        lines.append(
            f"| {name} | {s['sources'][name]} | {c['train']} | {c['val']} | {c['test']} | "
            f"{'-' if acc is None else f'{acc:.1%}'} |"
        )
    lines += [
        "",
        "## Most confused pairs (test split)",
        "",
        "| true | predicted | count | share of true |",
        "|---|---|---:|---:|",
    ]
    for p in test["confused_pairs"][:15]:
        lines.append(f"| {p['true']} | {p['predicted']} | {p['count']} | {p['share']:.1%} |")
    lines += [
        "",
        "## What limits it",
        "",
        "Few drawings per class (450 to 7,000 here, against 100,000+ in Google's full files) and classes that "
        "people draw alike (the confused pairs above). Training on the full bitmap files "
        "(`inkling-train download`) is the way up.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.retrain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--data", required=True, help="the Quick, Draw! data folder (e.g. ../shared/data/quickdraw)"
    )
    p.add_argument("--run", default="runs/default", help="run folder for checkpoints, metrics and plots")
    p.add_argument("--out", default=str(ROOT / "resources" / "models" / "default.onnx"))
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--resume", action="store_true", help="continue an interrupted retraining")
    args = p.parse_args(argv)

    cfg = FitConfig(data=[args.data], out=args.run, device=args.device, export=args.out, **DEFAULT_SETTINGS)
    metrics = fit(cfg, resume=args.resume)
    if not metrics:
        return 0  # not rank 0
    out = Path(args.out)
    command = f"python -m training.retrain --data {args.data}"
    # The plots travel with the model card.
    for plot in ("curves.png", "confusion.png"):
        if (Path(args.run) / plot).exists():
            shutil.copyfile(Path(args.run) / plot, out.with_name(f"{out.stem}.{plot}"))
    atomic_write_text(out.with_name("MODEL_CARD.md"), model_card(metrics, command, out))
    atomic_write_text(
        out.with_name("default.metrics.json"),
        json.dumps({k: metrics[k] for k in ("summary", "test")}, indent=1),
    )
    print(f"wrote {out} and {out.with_name('MODEL_CARD.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
