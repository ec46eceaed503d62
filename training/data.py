"""Training data: official bitmap files and stroke files, class sets, deterministic splits, batches.

Every source yields 28×28 uint8 images (0 background, 255 ink). Bitmap files (``<category>.npy``, uint8
(N, 784)) are memory-mapped, so the full 40 GB dataset streams without being loaded; stroke files
(``<category>.ndjson``, raw or simplified) are rendered with :func:`model.raster.rasterize`, the very
renderer the app uses on live input.
"""

from __future__ import annotations

import os
import queue
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from inkling.model.raster import rasterize_batch
from inkling.model.strokes import read_ndjson

from .rows import gather_rows

IMAGE_BYTES = 28 * 28


class DataError(ValueError):
    """Data that cannot be trained on; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ClassSource:
    name: str
    kind: str  # "bitmap" or "strokes"
    path: Path


def _candidates(root: Path) -> list[tuple[str, Path]]:
    # Google's layout as downloaded (flat) and the project's shared layout (bitmaps/, strokes/<format>/).
    return [
        ("bitmap", root),
        ("bitmap", root / "bitmaps"),
        ("strokes", root),
        ("strokes", root / "strokes" / "simplified"),
        ("strokes", root / "strokes" / "raw"),
    ]


def discover(data_dirs: Sequence[str | os.PathLike]) -> dict[str, list[ClassSource]]:
    """Every category found under the data folders, with all its sources (bitmaps first)."""
    found: dict[str, list[ClassSource]] = {}
    for d in data_dirs:
        root = Path(d)
        if not root.is_dir():
            raise DataError(f"data folder not found: {root}")
        for kind, folder in _candidates(root):
            if not folder.is_dir():
                continue
            suffix = ".npy" if kind == "bitmap" else ".ndjson"
            for f in sorted(folder.glob(f"*{suffix}")):
                found.setdefault(f.stem, []).append(ClassSource(f.stem, kind, f))
    for sources in found.values():
        sources.sort(key=lambda s: s.kind != "bitmap")
    return found


def count_drawings(source: ClassSource) -> int:
    if source.kind == "bitmap":
        return int(open_bitmaps(source.path).shape[0])
    with open(source.path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def choose_sources(
    data_dirs: Sequence[str | os.PathLike], classes: Sequence[str] | None = None, min_count: int = 0
) -> list[ClassSource]:
    """One source per class: bitmaps where there are bitmaps, else the largest stroke file.

    ``classes`` fixes the set and its order (an unknown name is an error); without it every category with
    at least ``min_count`` drawings is taken, sorted by name, so the class order is stable.
    """
    found = discover(data_dirs)
    if classes is None:
        names = sorted(found)
    else:
        missing = [c for c in classes if c not in found]
        if missing:
            import difflib

            hints = []
            for m in missing:
                close = difflib.get_close_matches(m, list(found), n=3)
                hints.append(f"{m!r}" + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
            raise DataError(f"no data for class(es) {', '.join(hints)} in {', '.join(map(str, data_dirs))}")
        names = list(classes)
    chosen = []
    for name in names:
        sources = found[name]
        bitmaps = [s for s in sources if s.kind == "bitmap"]
        if bitmaps:
            src, n = bitmaps[0], count_drawings(bitmaps[0])
        else:
            counted = [(count_drawings(s), s) for s in sources]
            n, src = max(counted, key=lambda t: t[0])
        if classes is None and n < min_count:
            continue
        chosen.append(src)
    if not chosen:
        raise DataError(
            f"no categories with at least {min_count} drawings in {', '.join(map(str, data_dirs))}"
        )
    return chosen


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


def render_strokes(path: Path, *, workers: int | None = None, log=print) -> np.ndarray:
    """Read a stroke file (skipping bad lines, with a warning) and render it: uint8 (N, 784)."""
    result = read_ndjson(path, skip_bad=True)
    if result.skipped:
        log(f"warning: {result.summary(path)}")
    if not result.records:
        raise DataError(f"{path}: the file holds no readable drawings")
    images = rasterize_batch([r.strokes for r in result.records], workers=workers)
    return images.reshape(len(images), IMAGE_BYTES)


@dataclass
class Dataset:
    """The chosen classes and their image arrays (memory-mapped bitmaps or rendered strokes)."""

    classes: list[str]
    sources: list[ClassSource]
    arrays: list[np.ndarray] = field(repr=False)

    @classmethod
    def load(
        cls,
        data_dirs: Sequence[str | os.PathLike],
        classes: Sequence[str] | None = None,
        min_count: int = 0,
        *,
        workers: int | None = None,
        log=print,
    ) -> Dataset:
        sources = choose_sources(data_dirs, classes, min_count)
        arrays = [
            open_bitmaps(s.path) if s.kind == "bitmap" else render_strokes(s.path, workers=workers, log=log)
            for s in sources
        ]
        return cls([s.name for s in sources], sources, arrays)

    def counts(self) -> list[int]:
        return [len(a) for a in self.arrays]

    def split(
        self, seed: int = 0, val_frac: float = 0.1, test_frac: float = 0.1, max_per_class: int | None = None
    ):
        return make_splits(self.classes, self.counts(), seed, val_frac, test_frac, max_per_class)

    def gather(self, index: SplitIndex) -> np.ndarray:
        """The images of a split, uint8 (N, 28, 28), in the split's order."""
        out = np.empty((len(index), IMAGE_BYTES), dtype=np.uint8)
        # Read in (class, row) order, bitmap files with preadv rather than through their memory maps.
        gather_rows(self.arrays, index.label, index.row, out)
        return out.reshape(-1, 28, 28)


@dataclass
class SplitIndex:
    """Which drawings a split holds. Compact on purpose: int16 labels and int32 rows are 6 bytes a drawing,
    so the index of the full dataset (50 million drawings) is 300 MB, not 800 MB with int64."""

    label: np.ndarray  # class index per drawing (int16; cast to int64 where torch wants class targets)
    row: np.ndarray  # row within that class's array (int32)

    def __len__(self) -> int:
        return len(self.label)


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


def iterate_batches(
    dataset: Dataset,
    index: SplitIndex,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    rank: int = 0,
    world: int = 1,
    prefetch: int = 4,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream (images uint8 (B, 28, 28), labels) from the sources, read ahead on a background thread.

    Used when a dataset is too large to hold in memory; each rank of a distributed run reads its own shard.
    """
    # int32, shuffled in place: the same order permutation() gives, at half its memory for big splits.
    order = np.arange(len(index), dtype=np.int32 if len(index) < 2**31 else np.int64)
    if shuffle:
        np.random.default_rng(seed).shuffle(order)
    # Every rank gets the same number of drawings (the last few of the shuffle wait for the next epoch):
    # with one batch more on one rank, DistributedDataParallel would wait for the others forever.
    order = order[: len(order) - len(order) % world][rank::world]
    q: queue.Queue = queue.Queue(maxsize=prefetch)
    stop = threading.Event()

    def put(item) -> bool:
        # Gives up once the consumer has stopped: a full queue must not keep this thread (and the shuffle
        # order it holds) alive forever after a loop that ended early.
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def work():
        try:
            for start in range(0, len(order), batch_size):
                sel = order[start : start + batch_size]
                sub = SplitIndex(index.label[sel], index.row[sel])
                if not put((dataset.gather(sub), sub.label.astype(np.int64))):  # int64: torch's targets
                    return
        except BaseException as exc:  # surface reader errors in the training thread
            put(exc)
        put(None)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        while (item := q.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def load_model_test_split(model_path, data_dirs, split: str = "test", *, log=print):
    """A model's own held-out drawings, rebuilt from the split settings stored in its metadata.

    Returns (images uint8 (N, 28, 28), labels (N,) indices into the model's classes, classes).
    """
    from inkling.model.classifier import load_model

    clf = load_model(model_path)
    ds = Dataset.load(data_dirs, clf.base_classes, log=log)
    index = recorded_split(ds, clf.meta.training, split, model_path)
    return ds.gather(index), index.label, list(ds.classes)


def recorded_split(ds: Dataset, training: dict, split: str, source) -> SplitIndex:
    """One split of ``ds`` as a model made it, from the split settings its metadata records."""
    from inkling.model.contract import ModelError

    s = training.get("split")
    if not s:
        raise ModelError(f"{source} does not record its split")
    return ds.split(s["seed"], s["val_frac"], s["test_frac"], s.get("max_per_class"))[split]


def load_default_test_split(data_dir=None, *, log=print):
    """The bundled default model's test split (data from INKLING_QUICKDRAW_DIR unless given)."""
    from inkling.model.classifier import default_model_path

    data_dir = data_dir or os.environ.get("INKLING_QUICKDRAW_DIR")
    if not data_dir:
        raise DataError("set INKLING_QUICKDRAW_DIR (or pass data_dir) to the Quick, Draw! data folder")
    return load_model_test_split(default_model_path(), [data_dir], log=log)
