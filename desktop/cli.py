"""``inkling classify``: classify drawings without a window (ndjson drawings and pictures such as PNG).

Each ndjson line is one drawing (raw or simplified Quick, Draw! format), rendered with model.raster
exactly as the app renders its canvas. A picture is framed like the rasterizer's output (see
desktop.image_input). Results come in input order; ``index`` is the 0-based line index within an
ndjson file (error messages name the 1-based line, like editors do) and 0 for a picture.
A bad line or file is reported on stderr and skipped; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

NDJSON_SUFFIXES = {".ndjson", ".jsonl", ".json"}
BATCH = 256  # drawings per inference call
MAX_LINE_ERRORS = 20  # bad lines reported one by one per file (a binary file would give thousands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inkling classify",
        description="Classify Quick, Draw! ndjson drawings (one per line) and pictures (PNG, JPEG, ...; "
        "any size up to 25 megapixels).",
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help=".ndjson drawings or pictures (.png, .jpg, ...)"
    )
    parser.add_argument("--model", metavar="M", help="an Inkling model (.onnx); default: the bundled model")
    parser.add_argument(
        "--top", type=int, default=5, metavar="K", help="how many classes to list (default 5)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per drawing")
    return parser


class Reporter:
    """Prints results as they are ready and remembers whether anything went wrong."""

    def __init__(self, classifier, top: int, as_json: bool, out=None, err=None):
        self.classifier, self.top, self.as_json = classifier, top, as_json
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.failed = False

    def error(self, message: str) -> None:
        self.failed = True
        print(f"inkling classify: {message}", file=self.err)

    def results(self, file: str, indices: list[int], images: np.ndarray) -> None:
        if not indices:
            return
        probs = self.classifier.predict_proba(images)
        for index, p in zip(indices, probs, strict=True):
            ranked = self.classifier.rank(p, self.top)
            if self.as_json:
                top = [{"label": s.label, "p": round(s.p, 6)} for s in ranked]
                print(json.dumps({"file": file, "index": index, "top": top}), file=self.out)
            else:
                guesses = "  ".join(f"{s.label} {s.p:.3f}" for s in ranked)
                print(f"{file}:{index}\t{guesses}", file=self.out)
        self.out.flush()


def classify_ndjson(path: Path, reporter: Reporter) -> None:
    from inkling.model.raster import rasterize
    from inkling.model.strokes import StrokeFormatError, iter_drawing_lines

    indices: list[int] = []
    images: list[np.ndarray] = []
    bad = lines = 0
    try:
        for lineno, record in iter_drawing_lines(path):
            index = lineno - 1
            lines += 1
            try:
                if isinstance(record, StrokeFormatError):
                    raise record
                images.append(rasterize(record.strokes))
            except (StrokeFormatError, ValueError) as exc:  # ValueError: the rasterizer's own checks
                bad += 1
                if bad <= MAX_LINE_ERRORS:
                    reporter.error(
                        str(exc) if isinstance(exc, StrokeFormatError) else f"{path}:{lineno}: {exc}"
                    )
                continue
            indices.append(index)
            if len(indices) == BATCH:
                reporter.results(str(path), indices, np.stack(images))
                indices, images = [], []
    except OSError as exc:
        reporter.error(f"cannot read {path}: {exc.strerror or exc}")
    else:
        if not lines:
            reporter.error(f"{path}: holds no drawings (the file is empty)")
    if bad > MAX_LINE_ERRORS:
        reporter.error(f"{path}: {bad - MAX_LINE_ERRORS} more bad line(s) not shown ({bad} in all)")
    if indices:
        reporter.results(str(path), indices, np.stack(images))


def classify_picture(path: Path, reporter: Reporter) -> None:
    from .image_input import ImageInputError, load_image_input

    if not path.is_file():
        reporter.error(f"cannot read {path}: " + ("it is a folder" if path.is_dir() else "no such file"))
        return
    try:
        image = load_image_input(path)
    except ImageInputError as exc:
        reporter.error(f"{path}: {exc}" if str(path) not in str(exc) else str(exc))
        return
    reporter.results(str(path), [0], image[None])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.top < 1:
        print("inkling classify: --top must be at least 1", file=sys.stderr)
        return 2
    from inkling.model.classifier import default_model_path, load_model
    from inkling.model.contract import ModelError

    try:
        classifier = load_model(args.model or default_model_path())
    except ModelError as exc:
        print(f"inkling classify: {exc}", file=sys.stderr)
        return 2
    reporter = Reporter(classifier, args.top, args.json)
    try:
        for name in args.files:
            path = Path(name)
            if path.suffix.lower() in NDJSON_SUFFIXES:
                classify_ndjson(path, reporter)
            else:
                classify_picture(path, reporter)
    except BrokenPipeError:
        # The reader went away (``| head -1``): stop quietly, as Unix tools do; Python would otherwise
        # print a traceback while flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the closed pipe
    return 1 if reporter.failed else 0
