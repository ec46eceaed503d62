"""Choose the app's reference drawings: one real Quick, Draw! drawing per class, the model's most typical.

For every class of the model, among the simplified stroke drawings in
``DATA/strokes/simplified/<class>.ndjson`` we keep the one the model classifies correctly with the
highest confidence. The app's AutoDraw-style replace draws it in place of a doodle.

    python -m inkling.training.references --data DIR --model resources/models/default.onnx \\
        --out resources/reference/references.ndjson

The drawings are Google's (CC BY 4.0): ship resources/reference/ATTRIBUTION.md with them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from inkling.model.classifier import Classifier, load_model
from inkling.model.raster import rasterize_batch
from inkling.model.strokes import DrawingRecord, atomic_write_text, read_ndjson, strokes_to_google

KEPT_FIELDS = ("countrycode", "timestamp", "recognized", "_source")  # provenance of each drawing


@dataclass
class Choice:
    label: str
    record: DrawingRecord
    p: float
    candidates: int  # drawings of this class that were looked at


def choose(classifier: Classifier, label: str, records: list[DrawingRecord]) -> Choice | None:
    """The correctly classified drawing with the highest probability of ``label``, or None."""
    records = [r for r in records if r.strokes]
    if not records:
        return None
    k = classifier.classes.index(label)
    probs = classifier.predict_proba(rasterize_batch([r.strokes for r in records]))
    correct = np.flatnonzero(probs.argmax(axis=1) == k)
    if len(correct) == 0:
        return None
    best = int(correct[np.argmax(probs[correct, k])])  # ties: the first in the file
    return Choice(label, records[best], float(probs[best, k]), len(records))


def to_line(choice: Choice) -> str:
    record = choice.record
    obj = {"word": choice.label}
    if record.key_id is not None:
        obj["key_id"] = record.key_id
    obj.update({k: record.extra[k] for k in KEPT_FIELDS if k in record.extra})
    integer = all(np.allclose(s[:, :2], np.round(s[:, :2])) for s in record.strokes)
    obj["drawing"] = strokes_to_google([s[:, :2] for s in record.strokes], integer=integer)
    return json.dumps(obj, separators=(",", ":"))


def build_references(
    data_dir: Path, classifier: Classifier, out: Path, log=print
) -> tuple[list[Choice], list[str]]:
    choices, missing = [], []
    for label in classifier.classes:
        path = data_dir / "strokes" / "simplified" / f"{label}.ndjson"
        if not path.exists():
            missing.append(f"{label}: no {path.name}")
            continue
        result = read_ndjson(path, skip_bad=True)
        choice = choose(classifier, label, result.records)
        if choice is None:
            missing.append(f"{label}: no correctly classified drawing among {len(result.records)}")
            continue
        choices.append(choice)
        log(f"{label:>20}: key_id {choice.record.key_id}  p={choice.p:.3f}  (of {choice.candidates})")
    atomic_write_text(out, "".join(to_line(c) + "\n" for c in choices))
    return choices, missing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=os.environ.get("INKLING_QUICKDRAW_DIR"),
        help="the Quick, Draw! folder (default: $INKLING_QUICKDRAW_DIR)",
    )
    parser.add_argument("--model", type=Path, required=True, help="the model that judges typicality")
    parser.add_argument("--out", type=Path, required=True, help="the references .ndjson to write")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inkling.training.references", description=__doc__.split("\n\n")[0]
    )
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.data is None or not (Path(args.data) / "strokes" / "simplified").is_dir():
        print("references: --data must be a Quick, Draw! folder with strokes/simplified/", file=sys.stderr)
        return 2
    classifier = load_model(args.model)
    choices, missing = build_references(Path(args.data), classifier, args.out)
    print(f"wrote {len(choices)} reference drawings for {len(classifier.classes)} classes to {args.out}")
    for line in missing:
        print(f"no reference: {line}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    """``inkling-train references``, for training/cli.py's SUBCOMMAND_MODULES."""
    parser = subparsers.add_parser("references", help="choose the app's reference drawings")
    add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
