"""``inkling-train eval``: balanced and plain top-1/3/5, per-class accuracy and the most confused pairs.

It evaluates on the model's own held-out split, rebuilt from the split settings in the model's metadata,
through ONNX Runtime (what the app runs), on three sets: every class's stroke drawings as the app renders
them (raw strokes where there are any), the first half of their strokes (the early guess), and the official
bitmaps of the categories that have them. The stroke sets are also reported per tier (the bitmap tier: the
categories with official bitmaps; the stroke tier: the rest). Every argmax is over all the model's classes;
*balanced* is the mean over classes of each class's own accuracy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from inkling.model.classifier import load_model
from inkling.model.contract import ModelError
from inkling.model.strokes import atomic_write_text

from .data import DataError
from .dataset import EVAL_TITLES, evaluation_sets, load_for_model, tier_reports
from .metrics import format_report


def _logits(clf, images: np.ndarray, batch: int = 2048) -> np.ndarray:
    if not len(images):
        return np.zeros((0, len(clf.classes)), np.float32)
    return np.concatenate([clf.run(images[i : i + batch])[0] for i in range(0, len(images), batch)])


def evaluate_model(model_path, data_dirs, *, split: str = "test", log=print) -> dict:
    """The reports of every evaluation set (:func:`training.dataset.tier_reports`) on the model's split."""
    clf = load_model(model_path)
    data = load_for_model(clf, data_dirs, log=log)
    sets = evaluation_sets(data, split)
    logits = {n: _logits(clf, x) for n, (x, _) in sets.items()}
    return tier_reports(logits, {n: y for n, (_, y) in sets.items()}, data, split)


def title(name: str) -> str:
    base, _, part = name.partition("_")
    if part == "sample":
        return EVAL_TITLES[base] + ", drawings of the second sample (strokes/extra/) only"
    return EVAL_TITLES[base] + (f", {part} tier" if part else "")


def format_tiers(reports: dict) -> str:
    head = []
    for name, r in reports.items():
        b = r["balanced"]
        head.append(
            f"{title(name)}: balanced top-1 {b['top1']:.2%} top-5 {b['top5']:.2%}; over drawings top-1 "
            f"{r['top1']:.2%} top-3 {r['top3']:.2%} top-5 {r['top5']:.2%} (n={r['n']}, {r['classes_present']} classes)"
        )
    body = [f"\n== {title(name)} ==\n{format_report(_present(r))}" for name, r in reports.items()]
    return "\n".join(head + body)


def _present(report: dict) -> dict:
    # The per-class table of a set lists the classes it has drawings of.
    return report | {"per_class": {k: v for k, v in report["per_class"].items() if v["n"]}}


def run_eval(args) -> int:
    try:
        report = evaluate_model(args.model, args.data, split=args.split)
    except (ModelError, DataError) as exc:
        print(f"inkling-train eval: error: {exc}", file=sys.stderr)
        return 2
    print(format_tiers(report))
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(report, indent=2))
        print(f"\nwrote {args.json}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="evaluate a model: balanced top-k per tier, per-class accuracy, confused pairs"
    )
    p.add_argument("model", help="an Inkling .onnx model (or class set)")
    p.add_argument("--data", action="append", required=True, metavar="DIR", help="data folder (repeatable)")
    p.add_argument("--split", default="test", choices=["test", "val", "train"])
    p.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    p.set_defaults(func=run_eval)
