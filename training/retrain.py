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

import numpy as np

from model.strokes import atomic_write_text

from .ensemble import combine, export_ensemble
from .fit import FitConfig, fit
from .plots import plot_confusion

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

# The shipped model averages two members trained on the same data and split: the one above, and one with
# lighter dropout that always averages over the mirror image. (Run folder, settings) for each:
MEMBERS = [
    ("default", DEFAULT_SETTINGS),
    ("default-b", dict(DEFAULT_SETTINGS, dropout=0.15, mirror_average="on")),
]

ATTRIBUTION = (
    'Contains drawings from "The Quick, Draw! Dataset" by Google '
    "(https://github.com/googlecreativelab/quickdraw-dataset), licensed under CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/)."
)


def _mirror_line(s: dict) -> str:
    if "ensemble" in s:
        return (
            ", ".join("yes" if m else "no" for m in s["ensemble"]["member_mirror_average"]) + " (per member)"
        )
    used = "yes" if s.get("mirror_average") else "no"
    if "val_top1_plain" not in s:
        return used
    return (
        f"{used} (chosen on validation: {s['val_top1_plain']:.2%} plain, "
        f"{s['val_top1_mirror_averaged']:.2%} averaged with the mirror image)"
    )


def _description(s: dict) -> str:
    what = "recognizes doodles rendered by `model.raster` as 28×28 images"
    if "ensemble" in s:
        n = len(s["ensemble"]["members"])
        return (
            f"{n} small CNNs (conv → ReLU → pool blocks, then a 256-dimensional embedding; {s['parameters']:,} "
            f"parameters together) whose averaged logits {what.replace('recognizes', 'recognize')}. The model's embedding is the members' "
            f"embeddings side by side ({256 * n} dimensions)."
        )
    return f"A small CNN (conv → ReLU → pool blocks, {s['parameters']:,} parameters, a 256-dimensional embedding) that {what}."


def _ensemble_line(s: dict) -> str:
    if "ensemble" not in s:
        return "no"
    vals = ", ".join(f"{v:.2%}" for v in s["ensemble"]["member_val_top1"])
    return (
        f"{len(s['ensemble']['members'])} members, logits averaged (members' validation top-1: {vals}; "
        f"ensemble: {s['val_top1']:.2%})"
    )


def model_card(metrics: dict, command: str, model_path: Path) -> str:
    s = metrics["summary"]
    test = metrics["test"]
    size_mb = model_path.stat().st_size / 1e6 if model_path.exists() else float("nan")
    lines = [
        "# Inkling default model",
        "",
        _description(s),
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
        f"| ensemble | {_ensemble_line(s)} |",
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
        "Few drawings per class (450 to 7,000 here, against 100,000+ in Google's full files), classes that "
        "people draw alike (the confused pairs above), and compute: this model was trained on "
        f"{s['hardware']} in {s['train_seconds'] / 60:.0f} minutes, so the networks are small and the schedule "
        "short (validation accuracy had flattened by the last epochs). The ways up: more data per class "
        "(`inkling-train download` fetches Google's full files), and a wider, deeper network trained for "
        "longer on a GPU (`inkling-train fit` uses CUDA with mixed precision when it is there).",
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
    p.add_argument("--runs", default="runs", help="folder for the members' run folders")
    p.add_argument("--out", default=str(ROOT / "resources" / "models" / "default.onnx"))
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--resume", action="store_true", help="continue an interrupted retraining")
    args = p.parse_args(argv)

    runs = Path(args.runs)
    finals = []
    for name, settings in MEMBERS:
        cfg = FitConfig(data=[args.data], out=str(runs / name), device=args.device, **settings)
        if not fit(cfg, resume=args.resume and (runs / name / "last.pt").exists()):
            return 0  # not rank 0 of a distributed run
        finals.append(runs / name / "final.pt")
    metrics = combine(finals, [args.data], runs / "default-ensemble")
    out = Path(args.out)
    export_ensemble(runs / "default-ensemble" / "final.pt", out)
    command = f"python -m training.retrain --data {args.data}"
    # The plots travel with the model card: the first member's training curves, the ensemble's confusion.
    if (runs / MEMBERS[0][0] / "curves.png").exists():
        shutil.copyfile(runs / MEMBERS[0][0] / "curves.png", out.with_name(f"{out.stem}.curves.png"))
    plot_confusion(
        np.asarray(metrics["test"]["confusion"]),
        metrics["summary"]["classes"],
        out.with_name(f"{out.stem}.confusion.png"),
    )
    atomic_write_text(out.with_name("MODEL_CARD.md"), model_card(metrics, command, out))
    atomic_write_text(
        out.with_name("default.metrics.json"),
        json.dumps({k: metrics[k] for k in ("summary", "test")}, indent=1),
    )
    print(f"wrote {out} and {out.with_name('MODEL_CARD.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
