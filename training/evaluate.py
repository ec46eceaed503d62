"""``inkling-train eval``: top-1/3/5, per-class accuracy and the most confused pairs of an Inkling model.

By default it evaluates on the model's own held-out test split, rebuilt from the split settings stored in
the model's metadata; ``--split all`` takes every drawing of the model's classes in the data folders. Models
trained on every category (``fit-mixed``) are reported per tier: the bitmap tier (categories with official
bitmaps), the stroke tier (the rest, from raw strokes as the app renders them) and the early guess (top-1 from
the first half of each stroke drawing's strokes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from inkling.model.classifier import load_model
from inkling.model.contract import ModelError
from inkling.model.strokes import atomic_write_text

from .data import DataError, Dataset, recorded_split
from .metrics import classification_report, format_report
from .split_eval import split_report


def _logits(clf, images: np.ndarray, batch: int = 2048) -> np.ndarray:
    if not len(images):
        return np.zeros((0, len(clf.classes)), np.float32)
    return np.concatenate([clf.run(images[i : i + batch])[0] for i in range(0, len(images), batch)])


def is_tiered(clf) -> bool:
    """Models trained by ``fit-mixed`` split by drawing and report per tier."""
    return (clf.meta.training.get("split") or {}).get("unit") == "drawing"


def _tier_only(report: dict) -> dict:
    # The per-class table of one tier lists that tier's classes only.
    report["per_class"] = {k: v for k, v in report["per_class"].items() if v["n"]}
    return report


def evaluate_tiers(model_path, data_dirs, *, split: str = "test", log=print) -> dict:
    """Per-tier reports of a mixed model on its own split, through ONNX Runtime.

    ``bitmap``: the bitmap tier's official bitmap rows; ``stroke``: the stroke tier's drawings as the app sees
    them (raw strokes rendered by model.raster); ``early_bitmap`` / ``early_stroke``: the first half of the
    strokes of each tier's stroke drawings (the early guess). Every argmax is over all the model's classes.
    """
    from .mixed import MixedData, render_app_view

    clf = load_model(model_path)
    s = clf.meta.training["split"]
    data = MixedData.load(
        data_dirs, clf.base_classes, seed=s["seed"], val_frac=s["val_frac"], test_frac=s["test_frac"], log=log
    )
    x, y = data.bitmap_images(split)
    out = {"bitmap": _tier_only(classification_report(_logits(clf, x), y, clf.base_classes))}
    for tier in ("stroke", "bitmap"):
        drawings = data.stroke_set(split, tier)
        y = np.asarray([d.label for d in drawings], np.int64)
        if tier == "stroke":
            r = classification_report(_logits(clf, render_app_view(drawings)), y, clf.base_classes)
            out["stroke"] = _tier_only(r)
        r = classification_report(_logits(clf, render_app_view(drawings, partial=True)), y, clf.base_classes)
        out[f"early_{tier}"] = _tier_only(r)
    return out


TIER_TITLES = {
    "bitmap": "bitmap tier (official bitmaps)",
    "stroke": "stroke tier (raw strokes, rendered as the app does)",
    "early_bitmap": "early guess, bitmap tier (first half of the strokes)",
    "early_stroke": "early guess, stroke tier (first half of the strokes)",
}


def format_tiers(reports: dict) -> str:
    head = [
        f"{TIER_TITLES[k]}: top-1 {r['top1']:.2%}  top-3 {r['top3']:.2%}  top-5 {r['top5']:.2%}  (n={r['n']})"
        for k, r in reports.items()
    ]
    body = [f"\n== {TIER_TITLES[k]} ==\n{format_report(r)}" for k, r in reports.items()]
    return "\n".join(head + body)


def evaluate_model(model_path, data_dirs, *, split: str = "test", batch: int = 2048, log=print) -> dict:
    clf = load_model(model_path)
    ds = Dataset.load(data_dirs, clf.classes, log=log)
    if split == "all":
        from .data import SplitIndex, compact_index_dtypes

        label_dtype, row_dtype = compact_index_dtypes(len(ds.classes), max(ds.counts(), default=0))
        label = np.concatenate([np.full(n, c, label_dtype) for c, n in enumerate(ds.counts())])
        row = np.concatenate([np.arange(n, dtype=row_dtype) for n in ds.counts()])
        index = SplitIndex(label, row)
    else:
        try:
            index = recorded_split(ds, clf.meta.training, split, model_path)
        except ModelError as exc:
            raise ModelError(f"{exc}; use --split all") from None
    # Read and scored in chunks: the test split of a full-size download does not fit in memory at once.
    return split_report(lambda images: _logits(clf, images, batch), ds, index, clf.classes)


def run_eval(args) -> int:
    try:
        tiered = args.split != "all" and is_tiered(load_model(args.model))
        if tiered:
            report = evaluate_tiers(args.model, args.data, split=args.split)
        else:
            report = evaluate_model(args.model, args.data, split=args.split)
    except (ModelError, DataError) as exc:
        print(f"inkling-train eval: error: {exc}", file=sys.stderr)
        return 2
    print(format_tiers(report) if tiered else format_report(report))
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(report, indent=2))
        print(f"\nwrote {args.json}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate a model: top-k, per-class accuracy, confused pairs")
    p.add_argument("model", help="an Inkling .onnx model (or class set)")
    p.add_argument("--data", action="append", required=True, metavar="DIR", help="data folder (repeatable)")
    p.add_argument("--split", default="test", choices=["test", "val", "train", "all"])
    p.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    p.set_defaults(func=run_eval)
