"""``inkling-train eval``: top-1/3/5, per-class accuracy and the most confused pairs of an Inkling model.

By default it evaluates on the model's own held-out test split, rebuilt from the split settings stored in
the model's metadata; ``--split all`` takes every drawing of the model's classes in the data folders.
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


def evaluate_model(model_path, data_dirs, *, split: str = "test", batch: int = 2048, log=print) -> dict:
    clf = load_model(model_path)
    ds = Dataset.load(data_dirs, clf.classes, log=log)
    if split == "all":
        from .data import SplitIndex

        label = np.concatenate([np.full(n, c) for c, n in enumerate(ds.counts())])
        row = np.concatenate([np.arange(n) for n in ds.counts()])
        index = SplitIndex(label, row)
    else:
        try:
            index = recorded_split(ds, clf.meta.training, split, model_path)
        except ModelError as exc:
            raise ModelError(f"{exc}; use --split all") from None
    images = ds.gather(index)
    logits = (
        np.concatenate([clf.run(images[i : i + batch])[0] for i in range(0, len(images), batch)])
        if len(images)
        else np.zeros((0, len(clf.classes)))
    )
    return classification_report(logits, index.label, clf.classes)


def run_eval(args) -> int:
    try:
        report = evaluate_model(args.model, args.data, split=args.split)
    except (ModelError, DataError) as exc:
        print(f"inkling-train eval: error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
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
