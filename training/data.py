"""Official bitmap files and deterministic splits of their rows.

Bitmap files (``<category>.npy``, uint8 (N, 784), 0 background, 255 ink) are memory-mapped, so a full-size
download is read row by row as sampled, never loaded whole.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_BYTES = 28 * 28


class DataError(ValueError):
    """Data that cannot be trained on; the message names the file and what is wrong."""


def open_bitmaps(path: Path) -> np.ndarray:
    """Memory-map an official bitmap file, checking that it is uint8 (N, 784) and complete."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] != IMAGE_BYTES:
        raise DataError(f"{path}: expected uint8 (N, 784) bitmaps, found {arr.dtype} {arr.shape}")
    if arr.shape[0] == 0:
        raise DataError(f"{path}: the file holds no drawings")
    return arr


@dataclass
class SplitIndex:
    """Which drawings a split holds. Compact on purpose: int16 labels and int32 rows are 6 bytes a drawing,
    so the index of the full dataset (50 million drawings) is 300 MB, not 800 MB with int64."""

    label: np.ndarray  # class index per drawing (int16; cast to int64 where torch wants class targets)
    row: np.ndarray  # row within that class's array (int32)

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, positions: np.ndarray) -> SplitIndex:
        return SplitIndex(self.label[positions], self.row[positions])


def _class_rng(seed: int, name: str) -> np.random.Generator:
    # Seeded by the class name too, so adding a class never reshuffles the others' splits.
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def make_splits(
    classes: Sequence[str],
    counts: Sequence[int],
    seed: int = 0,
    val_frac: float = 0.1,
    test_frac: float = 0.1,
    max_per_class: int | None = None,
) -> dict[str, SplitIndex]:
    """Deterministic per-class train/val/test splits; every drawing lands in exactly one split."""
    label_dtype, row_dtype = compact_index_dtypes(len(classes), max(counts, default=0))
    # Sizes first, so each split is filled in place: no per-class pieces to concatenate (twice the memory).
    sizes = []
    for n in counts:
        m = n if max_per_class is None else min(n, max_per_class)
        n_test, n_val = int(round(m * test_frac)), int(round(m * val_frac))
        sizes.append({"test": n_test, "val": n_val, "train": m - n_test - n_val})
    out = {
        k: SplitIndex(
            np.empty(sum(s[k] for s in sizes), label_dtype), np.empty(sum(s[k] for s in sizes), row_dtype)
        )
        for k in ("train", "val", "test")
    }
    filled = dict.fromkeys(out, 0)
    for c, (name, n) in enumerate(zip(classes, counts, strict=True)):
        perm = _class_rng(seed, name).permutation(n)
        start = 0
        for k in ("test", "val", "train"):
            size, at = sizes[c][k], filled[k]
            out[k].label[at : at + size] = c
            out[k].row[at : at + size] = perm[start : start + size]
            start, filled[k] = start + size, at + size
    return out


def compact_index_dtypes(num_classes: int, max_rows: int) -> tuple[type, type]:
    """The smallest (label, row) integer types a split index needs: int16/int32 for any real dataset."""
    label = np.int16 if num_classes <= np.iinfo(np.int16).max else np.int32
    row = np.int32 if max_rows <= np.iinfo(np.int32).max else np.int64
    return label, row
