"""Stroke drawings as distinct drawings, and leak-free splits of them.

Google's raw and simplified files hold mostly the *same* drawings, matched by ``key_id``; a stroke drawing of
a bitmap category may also be one of that category's bitmap rows (``stroke_bitmap_overlap.json``). So the
unit of a split is the drawing (its key_id), never a file line:

- every distinct key_id of a category is one :class:`StrokeDrawing`, holding its raw and/or simplified
  strokes (both may be used as training variants; they are always on the same side of a split);
- a drawing that is also a bitmap row takes that row's side of the bitmap split;
- the others are split per class by a permutation seeded by the split seed and the class name, so adding
  a class or a file line never moves another class's drawings.

Honest validation with ~24 drawings a class: 2 or 3 validation drawings per class are far too few to judge
a class, so validation figures are always *pooled* over a tier (about 700 stroke-tier drawings), and any
choice made on them (the logit adjustment, mirror averaging) is one or two numbers for all classes, never a
per-class setting.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from inkling.model.strokes import Strokes, read_ndjson

# Folders under strokes/: Google's raw and simplified files, and a larger second sample of simplified
# drawings (extra/, "Sixth round" of the data's SOURCES.md), read as simplified versions.
FORMATS = ("raw", "simplified", "extra")
SPLITS = ("train", "val", "test")


@dataclass
class StrokeDrawing:
    """One distinct drawing: its key_id and whichever versions the data holds."""

    key_id: str
    label: int
    raw: Strokes | None = None
    simplified: Strokes | None = None
    source: str = ""  # the folder it was first read from: "raw", "simplified" or "extra"

    @property
    def versions(self) -> list[Strokes]:
        return [s for s in (self.raw, self.simplified) if s]

    @property
    def app_version(self) -> Strokes:
        """The version closest to what the app sees: raw screen strokes when there are any."""
        return self.raw or self.simplified


def stroke_files(root: Path, name: str) -> dict[str, Path]:
    """The stroke files of a category under a data folder: the project's layout or Google's flat one."""
    found = {}
    for fmt in FORMATS:
        p = root / "strokes" / fmt / f"{name}.ndjson"
        if p.exists():
            found[fmt] = p
    flat = root / f"{name}.ndjson"
    if not found and flat.exists():
        found["simplified"] = flat
    return found


def _fallback_key(strokes: Strokes) -> str:
    # Lines without a key_id: the drawing itself identifies it (the same strokes never split apart).
    data = np.concatenate([s[:, :2] for s in strokes]).astype(np.float32).tobytes() if strokes else b""
    return f"crc{zlib.crc32(data):08x}"


def load_drawings(files: Sequence[tuple[str, Path]], label: int, *, log=print) -> list[StrokeDrawing]:
    """The distinct drawings in a category's stroke files ((format, path) pairs), sorted by key_id."""
    by_key: dict[str, StrokeDrawing] = {}
    for fmt, path in files:
        result = read_ndjson(path, skip_bad=True)
        if result.skipped:
            log(f"warning: {result.summary(path)}")
        for rec in result.records:
            if not rec.strokes:
                continue
            key = str(rec.key_id) if rec.key_id is not None else _fallback_key(rec.strokes)
            d = by_key.setdefault(key, StrokeDrawing(key, label, source=fmt))
            # Raw files have time stamps; a simplified-format file may still hold raw-looking lines.
            fmt_here = "raw" if rec.has_time else "simplified" if fmt == "extra" else fmt
            if getattr(d, fmt_here) is None:
                setattr(d, fmt_here, [s[:, :2] for s in rec.strokes])
    return [by_key[k] for k in sorted(by_key)]


def load_overlap(root: Path) -> dict[str, dict[str, int]]:
    """category -> {stroke key_id: bitmap row}: the stroke drawings that are also bitmap rows."""
    path = root / "stroke_bitmap_overlap.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        return {c: {str(k): int(r) for k, r in m.items()} for c, m in data.get("map", data).items()}
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"{path}: not a stroke/bitmap overlap map ({exc})") from None


def _class_rng(seed: int, name: str) -> np.random.Generator:
    # A different stream from the bitmap split's (which uses [seed, crc]), for the same reason: stable.
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8")), 7])


def split_drawings(
    drawings: Sequence[StrokeDrawing],
    name: str,
    *,
    seed: int = 0,
    val_frac: float = 0.1,
    test_frac: float = 0.1,
    row_side: dict[int, str] | None = None,
    overlap: dict[str, int] | None = None,
) -> dict[str, list[StrokeDrawing]]:
    """Train/val/test drawings of one class; a drawing that is a bitmap row follows that row's side.

    ``row_side`` maps bitmap rows to their split; ``overlap`` maps this class's key_ids to bitmap rows. The
    rest are split by a seeded permutation; with 5 or more of them, val and test get at least one each.
    """
    out: dict[str, list[StrokeDrawing]] = {k: [] for k in SPLITS}
    free = []
    for d in drawings:
        row = (overlap or {}).get(d.key_id)
        side = (row_side or {}).get(row) if row is not None else None
        if side is None:
            free.append(d)
        else:
            out[side].append(d)
    m = len(free)
    perm = _class_rng(seed, name).permutation(m)
    n_test, n_val = int(round(m * test_frac)), int(round(m * val_frac))
    if m >= 5:
        n_test, n_val = max(n_test, 1), max(n_val, 1)
    for i, j in enumerate(perm):
        side = "test" if i < n_test else "val" if i < n_test + n_val else "train"
        out[side].append(free[j])
    return out
