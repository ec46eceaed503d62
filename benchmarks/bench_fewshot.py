"""How well does teaching new classes work? Prints a table; not a test.

New classes are Quick, Draw! categories the base model never saw (every stroke category of
$INKLING_QUICKDRAW_DIR/strokes/ that is not a base class). For each number of new classes and of
examples ("shots") per class, several trials each draw random new classes and random examples of them,
teach the base model (model.classset.teach, the real code path) and measure:

* new top-1: the other drawings of the new classes, classified among all base + new classes;
* base top-1 before/after: the base model's held-out drawings, before teaching and with the new head;
* teach seconds: embedding the examples (with their jittered copies) plus fitting the head, and the
  fit alone.

Base held-out drawings come from ``--base-source``: ``split`` (training.data.load_default_test_split(),
the base model's own test split, when that exists) or ``bitmaps`` (the last 10% rows of each official
bitmap file in $INKLING_QUICKDRAW_DIR/bitmaps/, up to ``--base-per-class`` each).

    .venv/bin/python benchmarks/bench_fewshot.py [--model resources/models/default.onnx]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inkling.model.classifier import Classifier  # noqa: E402
from inkling.model.classset import AUGMENT_COPIES, teach  # noqa: E402
from inkling.model.fewshot import FitOptions  # noqa: E402
from inkling.model.raster import rasterize_batch  # noqa: E402
from inkling.model.strokes import read_ndjson  # noqa: E402


def new_categories(data: Path, base_classes: list[str]) -> dict[str, list]:
    """Distinct drawings (raw and simplified, de-duplicated by key_id) of every non-base category."""
    base = {c.casefold().replace("_", " ") for c in base_classes}
    out: dict[str, list] = {}
    for path in sorted((data / "strokes" / "raw").glob("*.ndjson")):
        name = path.stem
        if name.casefold() in base:
            continue
        seen, drawings = set(), []
        for fmt in ("raw", "simplified"):
            f = data / "strokes" / fmt / path.name
            if not f.exists():
                continue
            for rec in read_ndjson(f, skip_bad=True).records:
                if rec.key_id in seen or not rec.strokes:
                    continue
                seen.add(rec.key_id)
                drawings.append(rec.strokes)
        if len(drawings) >= 12:
            out[name] = drawings
    return out


def base_heldout(args, clf: Classifier) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,)) of the base classes' held-out drawings."""
    if args.base_source == "split":
        from inkling.training.data import load_model_test_split  # the base model's own test split

        images, labels = load_model_test_split(args.model, [args.data], log=lambda *a: None)[:2]
        return np.asarray(images).reshape(-1, 28, 28), np.asarray(labels)
    rng = np.random.default_rng(0)
    images, labels = [], []
    for k, name in enumerate(clf.base_classes):
        f = args.data / "bitmaps" / f"{name}.npy"
        if not f.exists():
            continue
        rows = np.load(f, mmap_mode="r")
        tail = np.arange(int(len(rows) * 0.9), len(rows))
        pick = np.sort(rng.permutation(tail)[: args.base_per_class])
        images.append(np.asarray(rows[pick]).reshape(-1, 28, 28))
        labels.append(np.full(len(pick), k))
    return np.concatenate(images), np.concatenate(labels)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=ROOT / "resources" / "models" / "default.onnx")
    p.add_argument("--data", type=Path, default=os.environ.get("INKLING_QUICKDRAW_DIR"))
    p.add_argument("--base-source", choices=["bitmaps", "split"], default="split")
    p.add_argument("--base-per-class", type=int, default=200)
    p.add_argument("--classes", type=int, nargs="+", default=[10, 30, 100])
    p.add_argument("--shots", type=int, nargs="+", default=[1, 5, 10])
    p.add_argument("--trials", type=int, default=3, help="random draws per cell (fewer for 100 classes)")
    p.add_argument("--test-per-class", type=int, default=20)
    p.add_argument("--copies", type=int, default=AUGMENT_COPIES)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE", help="a FitOptions field")
    args = p.parse_args(argv)
    if args.data is None:
        p.error("set INKLING_QUICKDRAW_DIR or pass --data")
    args.data = Path(args.data)
    options = FitOptions()
    for item in args.set:
        key, _, value = item.partition("=")
        kind = type(getattr(options, key))
        setattr(
            options,
            key,
            None if value == "None" else (float(value) if kind in (float, type(None)) else int(value)),
        )

    clf = Classifier(args.model)
    K = len(clf.base_classes)
    cats = new_categories(args.data, clf.base_classes)
    base_images, base_labels = base_heldout(args, clf)
    base_logits, base_emb = clf.run(base_images)
    base_before = float((base_logits.argmax(1) == base_labels).mean())
    print(
        f"model {args.model.name}: {K} base classes; {len(cats)} new categories available; "
        f"base held-out ({args.base_source}): {len(base_labels)} drawings, top-1 {base_before:.3f}"
    )
    print(f"fit options: {dataclasses.asdict(options)}, copies={args.copies}")

    test_cache: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(args.seed)
    print(
        f"\n{'new':>4} {'shots':>5} {'trials':>6} {'new top-1':>10} {'base before':>12} {'base after':>11} "
        f"{'teach s':>8} {'fit s':>6}"
    )
    for n_new in args.classes:
        if n_new > len(cats):
            print(f"{n_new:>4}: only {len(cats)} new categories")
            continue
        for shots in args.shots:
            trials = args.trials if n_new <= 30 else 1
            new_acc, base_acc, teach_s, fit_s = [], [], [], []
            for _ in range(trials):
                names = [str(n) for n in rng.choice(sorted(cats), n_new, replace=False)]
                examples, tests = {}, []
                for name in names:
                    order = rng.permutation(len(cats[name]))
                    examples[name] = [cats[name][i] for i in order[:shots]]
                    tests.append(order[shots : shots + args.test_per_class])
                t0 = time.perf_counter()
                cs = teach(clf, examples, options=options, copies=args.copies)
                teach_s.append(time.perf_counter() - t0)
                fit_s.append(cs.fit_info["seconds"])
                correct = total = 0
                for c, (name, idx) in enumerate(zip(names, tests, strict=True)):
                    if name not in test_cache:
                        test_cache[name] = clf.embed(rasterize_batch(cats[name]))
                    pred = (test_cache[name][idx] @ cs.W + cs.b).argmax(1)
                    correct += int((pred == K + c).sum())
                    total += len(idx)
                new_acc.append(correct / total)
                base_acc.append(float(((base_emb @ cs.W + cs.b).argmax(1) == base_labels).mean()))
            print(
                f"{n_new:>4} {shots:>5} {trials:>6} {np.mean(new_acc):>10.3f} {base_before:>12.3f} "
                f"{np.mean(base_acc):>11.3f} {np.mean(teach_s):>8.2f} {np.mean(fit_s):>6.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
