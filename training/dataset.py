"""One dataset from every source: official bitmaps, raw, simplified and extra stroke drawings, split by drawing.

Every category has stroke drawings (Google's raw and simplified files, and the larger second sample under
``strokes/extra/``); 65 also have Google's official 28×28 bitmaps (the *bitmap tier*; the others are the
*stroke tier*). The unit of every split is the drawing (:mod:`training.stroke_data`): raw and simplified
versions of one key_id are one drawing, a line without a key_id is identified by its strokes, and a stroke
drawing that is also a bitmap row takes that row's side. The splits are deterministic: a permutation per
class seeded by the split seed and the class name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from inkling.model.raster import rasterize_batch

from .data import DataError, SplitIndex, make_splits, open_bitmaps
from .stroke_augment import first_half
from .stroke_data import SPLITS, StrokeDrawing, load_drawings, load_overlap, split_drawings, stroke_files

TIERS = ("bitmap", "stroke")


@dataclass
class QuickDraw:
    """Every class's bitmaps (bitmap tier) and distinct stroke drawings, split leak-free by drawing."""

    classes: list[str]
    tier: list[str]  # "bitmap" or "stroke", per class
    bitmaps: dict[int, np.ndarray]  # class index -> memory-mapped uint8 (N, 784)
    bitmap_splits: dict[str, SplitIndex]  # labels are class indices into ``classes``
    strokes: dict[str, list[StrokeDrawing]]  # split -> drawings of every class

    @classmethod
    def load(cls, data_dirs, classes=None, *, seed=0, val_frac=0.1, test_frac=0.1, log=print) -> QuickDraw:
        from .categories import CATEGORIES

        roots = [Path(d) for d in data_dirs]
        for r in roots:
            if not r.is_dir():
                raise DataError(f"data folder not found: {r}")
        bitmap_path: dict[str, Path] = {}
        files: dict[str, list[tuple[str, Path]]] = {}
        overlap: dict[str, dict[str, int]] = {}
        names = list(classes) if classes is not None else list(CATEGORIES)
        for r in roots:
            for k, v in load_overlap(r).items():
                overlap.setdefault(k, {}).update(v)
            for name in names:
                for p in (r / "bitmaps" / f"{name}.npy", r / f"{name}.npy"):
                    if p.exists() and name not in bitmap_path:
                        bitmap_path[name] = p
                files.setdefault(name, []).extend(stroke_files(r, name).items())
        missing = [n for n in names if n not in bitmap_path and not files.get(n)]
        if classes is not None and missing:
            raise DataError(
                f"no data for class(es) {', '.join(map(repr, missing))} in {', '.join(map(str, data_dirs))}"
            )
        names = [n for n in names if n not in missing]
        if len(names) < 2:
            raise DataError("training needs at least two classes with data")
        tier = ["bitmap" if n in bitmap_path else "stroke" for n in names]
        bitmaps = {c: open_bitmaps(bitmap_path[n]) for c, n in enumerate(names) if tier[c] == "bitmap"}
        bm_classes = sorted(bitmaps)
        raw_splits = make_splits(
            [names[c] for c in bm_classes], [len(bitmaps[c]) for c in bm_classes], seed, val_frac, test_frac
        )
        remap = np.asarray(bm_classes, dtype=np.int64)
        bitmap_splits = {
            k: SplitIndex(remap[v.label] if len(v) else v.label, v.row) for k, v in raw_splits.items()
        }
        strokes: dict[str, list[StrokeDrawing]] = {k: [] for k in SPLITS}
        for c, name in enumerate(names):
            drawings = load_drawings(files.get(name, []), c, log=log)
            if not drawings and c not in bitmaps:
                paths = ", ".join(str(p) for _, p in files.get(name, []))
                raise DataError(f"class {name!r}: no readable drawings in {paths}")
            row_side = None
            if c in bitmaps:
                row_side = {}
                for k, v in bitmap_splits.items():
                    for row in v.row[v.label == c].tolist():
                        row_side[row] = k
            parts = split_drawings(
                drawings,
                name,
                seed=seed,
                val_frac=val_frac,
                test_frac=test_frac,
                row_side=row_side,
                overlap=overlap.get(name),
            )
            for k in SPLITS:
                strokes[k].extend(parts[k])
        return cls(names, tier, bitmaps, bitmap_splits, strokes)

    def tier_classes(self, tier: str) -> list[int]:
        return [c for c, t in enumerate(self.tier) if t == tier]

    def bitmap_images(self, split: str, per_class: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The bitmap rows of a split (the first ``per_class`` of each class), as (N, 28, 28) and labels."""
        index = self.bitmap_splits[split]
        if per_class is not None:
            keep = np.concatenate(
                [np.nonzero(index.label == c)[0][:per_class] for c in self.tier_classes("bitmap")] or [[]]
            ).astype(np.int64)
            index = index.subset(keep)
        return self.gather(index), index.label.copy()

    def gather(self, index: SplitIndex) -> np.ndarray:
        """The bitmaps an index names (labels are class indices), in its order, as (N, 28, 28)."""
        out = np.empty((len(index), 784), dtype=np.uint8)
        for c in np.unique(index.label):
            where = np.nonzero(index.label == c)[0]
            rows = index.row[where]
            order = np.argsort(rows)
            out[where[order]] = self.bitmaps[int(c)][rows[order]]
        return out.reshape(-1, 28, 28)

    def stroke_set(self, split: str, tier: str | None = None) -> list[StrokeDrawing]:
        """A split's stroke drawings, of one tier or (None) of every class."""
        return [d for d in self.strokes[split] if tier is None or self.tier[d.label] == tier]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per class and split: bitmap rows (bitmap tier) or distinct stroke drawings; and all its strokes."""
        out = {}
        per = {
            k: np.bincount([d.label for d in self.strokes[k]], minlength=len(self.classes)) for k in SPLITS
        }
        for c, name in enumerate(self.classes):
            out[name] = {k: int(per[k][c]) for k in SPLITS}
            if self.tier[c] == "bitmap":
                out[name]["bitmaps"] = {k: int((v.label == c).sum()) for k, v in self.bitmap_splits.items()}
            out[name]["strokes"] = int(sum(per[k][c] for k in SPLITS))
        return out


def render_app_view(drawings: list[StrokeDrawing], *, partial: bool = False) -> np.ndarray:
    """What the app would show the network: the raw strokes (or the first half of them), rendered."""
    views = [first_half(d.app_version) if partial else d.app_version for d in drawings]
    return rasterize_batch(views) if views else np.zeros((0, 28, 28), np.uint8)


# The evaluation sets, by name: what ``inkling-train eval``, the training run and the model card report.
EVAL_TITLES = {
    "strokes": "every class, stroke drawings as the app renders them (raw strokes where there are any)",
    "early": "every class, the first half of each drawing's strokes (the early guess)",
    "bitmap": "the bitmap tier's official bitmaps",
}
# Subsets of the stroke sets, by the folder a drawing came from: ``extra`` is the second, random sample of
# Google's drawings (strokes/extra/), which no model before it was trained on.
SUBSETS = {"sample": "extra"}


def evaluation_sets(data: QuickDraw, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A split's evaluation images (N, 28, 28) and labels: the official bitmaps, every class's stroke
    drawings as the app renders them, and the first half of their strokes."""
    drawings = data.stroke_set(split)
    y = np.asarray([d.label for d in drawings], np.int64)
    return {
        "strokes": (render_app_view(drawings), y),
        "early": (render_app_view(drawings, partial=True), y),
        "bitmap": data.bitmap_images(split),
    }


def tier_reports(
    logits: dict[str, np.ndarray], labels: dict[str, np.ndarray], data: QuickDraw, split: str | None = None
) -> dict:
    """Reports of each evaluation set, and of the stroke sets per tier (``strokes_stroke``, ``early_bitmap``,
    ...) and, given the split, per subset (``strokes_sample``: the drawings of strokes/extra/). Every argmax
    is over all the classes; ``balanced`` is the mean of the classes' own accuracies."""
    from .metrics import classification_report

    sources = np.asarray([d.source for d in data.stroke_set(split)]) if split else None
    out = {}
    for name, lo in logits.items():
        y = labels[name]
        out[name] = classification_report(lo, y, data.classes)
        if name == "bitmap":
            continue
        for t in TIERS:
            m = np.isin(y, data.tier_classes(t))
            out[f"{name}_{t}"] = classification_report(lo[m], y[m], data.classes)
        for sub, folder in SUBSETS.items():
            if sources is not None and (sources == folder).any():
                m = sources == folder
                out[f"{name}_{sub}"] = classification_report(lo[m], y[m], data.classes)
    return out


def load_for_model(clf, data_dirs, *, log=print) -> QuickDraw:
    """The data of a model's classes, split as its metadata records (the split it was trained with)."""
    from inkling.model.contract import ModelError

    s = (clf.meta.training or {}).get("split")
    if not s:
        raise ModelError(f"{clf.path} does not record its split")
    return QuickDraw.load(
        data_dirs, clf.base_classes, seed=s["seed"], val_frac=s["val_frac"], test_frac=s["test_frac"], log=log
    )


def held_out_images(clf, data_dirs, split: str = "test", *, log=print) -> tuple[np.ndarray, np.ndarray]:
    """A model's own held-out drawings as images and labels: its classes' official bitmaps and stroke
    drawings (as the app renders them)."""
    sets = evaluation_sets(load_for_model(clf, data_dirs, log=log), split)
    return (
        np.concatenate([sets["bitmap"][0], sets["strokes"][0]]),
        np.concatenate([sets["bitmap"][1], sets["strokes"][1]]).astype(np.int64),
    )
