"""``inkling-train teach``: teach a model new classes from a folder of example drawings.

    inkling-train teach --base resources/models/default.onnx --examples my-drawings/ --out mine.inkset

``--examples`` holds one Quick, Draw! ndjson file per new class, named ``<class name>.ndjson`` (raw or
simplified strokes); one drawing a class is enough, five or more recognise other people's drawings more
reliably. The result is a class set (see :mod:`model.classset`) that ``inkling --model`` and
``inkling classify --model`` open like any model. Nothing is written unless every input is usable.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from inkling.model.classset import (
    MIN_EXAMPLES,
    RECOMMENDED_EXAMPLES,
    SUFFIX,
    ClassSet,
    check_class_name,
    teach,
)
from inkling.model.contract import ModelError
from inkling.model.fewshot import FitOptions
from inkling.model.strokes import read_ndjson


class TeachError(Exception):
    """An input that cannot be taught from; the message says which and why."""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "teach",
        help="teach a model new classes from example drawings (few-shot)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--base", required=True, type=Path, help="the model to extend (.onnx, or a class set)")
    p.add_argument(
        "--examples", required=True, type=Path, help="folder with one <class name>.ndjson file per new class"
    )
    p.add_argument(
        "--out", required=True, type=Path, help=f"the class set to write (suggested suffix {SUFFIX})"
    )
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument(
        "--copies", type=int, default=None, help="re-drawings of each example (default: by class size, 1-8)"
    )
    p.add_argument("--steps", type=int, default=FitOptions.steps, help="optimisation steps of the head fit")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def read_examples(folder: Path, log=print) -> dict[str, list]:
    """{class name: drawings} from ``folder/<class>.ndjson``; TeachError for anything unusable."""
    if not folder.is_dir():
        raise TeachError(f"examples folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".ndjson" and p.is_file())
    if not files:
        raise TeachError(f"{folder} holds no <class name>.ndjson files")
    examples: dict[str, list] = {}
    for path in files:
        try:
            name = check_class_name(path.stem, examples)
        except ValueError as exc:
            raise TeachError(f"{path.name}: {exc}") from None
        try:
            result = read_ndjson(path, skip_bad=True)
        except (OSError, UnicodeDecodeError) as exc:
            raise TeachError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
        drawings = [r.strokes for r in result.records if r.strokes]
        empty = len(result.records) - len(drawings)
        if result.skipped:
            log(f"warning: {result.summary(path)}")
        if empty:
            log(f"warning: {path}: skipped {empty} drawing(s) without strokes")
        if len(drawings) < MIN_EXAMPLES:
            raise TeachError(f"{path}: no usable drawings of {name!r} (need at least {MIN_EXAMPLES})")
        if len(drawings) < RECOMMENDED_EXAMPLES:
            log(
                f"warning: only {len(drawings)} example(s) of {name!r}: it works, but "
                f"{RECOMMENDED_EXAMPLES} or more recognise other people's drawings more reliably"
            )
        examples[name] = drawings
    return examples


def check_writable(out: Path, *, force: bool) -> None:
    """Fail before the work, not after it: the output must be a new (or, with force, a file) path in a
    folder we can write to."""
    if out.is_dir():
        raise TeachError(f"--out {out} is a folder; give a file name such as {out / ('taught' + SUFFIX)}")
    if out.exists() and not force:
        raise TeachError(f"{out} exists; pass --force to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise TeachError(f"cannot write to {parent}: {exc.strerror or exc}") from None


def run(args) -> int:
    def log(msg: str) -> None:
        print(msg, file=sys.stderr if msg.startswith("warning") else sys.stdout, flush=True)

    try:
        if not args.base.exists():
            raise TeachError(f"base model not found: {args.base}")
        check_writable(args.out, force=args.force)
        examples = read_examples(args.examples, log)
        start = time.perf_counter()
        kwargs = {"options": FitOptions(steps=args.steps, seed=args.seed)}
        if args.copies is not None:
            if args.copies < 0:
                raise TeachError("--copies must be 0 or more")
            kwargs["copies"] = args.copies
        try:
            taught: ClassSet = teach(args.base, examples, **kwargs)
        except ValueError as exc:  # a name clash with the base classes, among others
            if isinstance(exc, ModelError):
                raise
            raise TeachError(str(exc)) from None
        seconds = time.perf_counter() - start
        try:
            taught.save(args.out)
        except OSError as exc:
            raise TeachError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    except (TeachError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{name} ({len(d)})" for name, d in taught.examples.items())
    log(
        f"taught {len(taught.new_classes)} new class(es) on top of {len(taught.base_classes)}: {counts}; "
        f"{seconds:.2f} s (head fit {taught.fit_info.get('seconds', 0):.2f} s)"
    )
    measured = {n: q for n, q in taught.quality.items() if q.recognised is not None}
    if measured:
        log(
            "recognised when left out of the teaching: "
            + ", ".join(f"{n} {q.recognised}/{q.examples}" for n, q in measured.items())
        )
    log(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB); open it with: inkling --model {args.out}"
    )
    return 0
