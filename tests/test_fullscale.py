"""Bitmaps at any scale: compact split indexes, rows read from memory maps in a split's order, evaluation
figures added up chunk by chunk, and a dataset of bitmaps alone through the whole training loop.

Synthetic memory-mapped .npy files stand in for a full-size download (each image's first pixels say which
class and row it is, so every read is checkable).
"""

import zlib

import numpy as np
import pytest
from inkling.training.data import SplitIndex, make_splits
from inkling.training.dataset import QuickDraw, evaluation_sets
from inkling.training.metrics import classification_report, report_from_counts

COUNTS = [300, 1, 57, 1000, 250]
NAMES = [f"class{c}" for c in range(len(COUNTS))]


def quiet(*_a, **_k):
    pass


def _write_bitmaps(folder, counts, pattern=None):
    folder.mkdir(parents=True)
    for c, n in enumerate(counts):
        arr = np.lib.format.open_memmap(folder / f"class{c}.npy", mode="w+", dtype=np.uint8, shape=(n, 784))
        if pattern is not None:
            arr[:] = pattern(c, n)
        rows = np.arange(n)
        arr[:, 0], arr[:, 1], arr[:, 2] = c, rows // 256, rows % 256
        arr.flush()
        del arr


@pytest.fixture
def synthetic(tmp_path) -> QuickDraw:
    """Five classes of different sizes, bitmaps only."""
    _write_bitmaps(tmp_path / "bitmaps", COUNTS)
    return QuickDraw.load([tmp_path], NAMES, log=quiet)


def _decode(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = images.reshape(len(images), -1).astype(np.int64)
    return flat[:, 0], flat[:, 1] * 256 + flat[:, 2]


def test_split_index_is_compact_and_unchanged():
    splits = make_splits(["x", "y"], [100, 50], seed=3)
    for s in splits.values():
        assert s.label.dtype == np.int16 and s.row.dtype == np.int32
    # The rows every released model's split was built from (int64 before, same values now).
    rng = np.random.default_rng([3, zlib.crc32(b"x")])
    perm = rng.permutation(100)
    assert splits["test"].row[splits["test"].label == 0].tolist() == perm[:10].tolist()
    assert splits["val"].row[splits["val"].label == 0].tolist() == perm[10:20].tolist()
    assert splits["train"].row[splits["train"].label == 0].tolist() == perm[20:].tolist()
    sub = splits["train"].subset(np.array([5, 0, 5]))
    assert isinstance(sub, SplitIndex) and len(sub) == 3
    assert sub.row.tolist() == [perm[25], perm[20], perm[25]] and sub.label.dtype == np.int16


def test_bitmaps_stay_memory_mapped_and_every_row_is_in_one_split(synthetic):
    assert synthetic.tier == ["bitmap"] * 5 and synthetic.tier_classes("stroke") == []
    assert all(isinstance(a, np.memmap) for a in synthetic.bitmaps.values())  # never read whole
    counts = synthetic.counts()
    for c, name in enumerate(NAMES):
        bm = counts[name]["bitmaps"]
        assert sum(bm.values()) == COUNTS[c] and counts[name]["strokes"] == 0
        rows = [
            set(synthetic.bitmap_splits[s].row[synthetic.bitmap_splits[s].label == c].tolist()) for s in bm
        ]
        assert set().union(*rows) == set(range(COUNTS[c]))
    assert counts["class1"]["bitmaps"] == {"train": 1, "val": 0, "test": 0}


def test_gather_reads_the_right_rows_in_the_splits_order(synthetic):
    index = synthetic.bitmap_splits["train"]
    shuffled = index.subset(np.random.default_rng(0).permutation(len(index)))
    labels, rows = _decode(synthetic.gather(shuffled))
    assert np.array_equal(labels, shuffled.label) and np.array_equal(rows, shuffled.row)
    # A split's first rows of each class, and its labels.
    images, y = synthetic.bitmap_images("val", per_class=4)
    labels, rows = _decode(images)
    assert np.array_equal(labels, y) and np.bincount(y, minlength=5).tolist() == [4, 0, 4, 4, 4]
    val = synthetic.bitmap_splits["val"]
    for c in (0, 3):
        assert rows[y == c].tolist() == val.row[val.label == c][:4].tolist()
    sets = evaluation_sets(synthetic, "test")
    assert len(sets["strokes"][1]) == len(sets["early"][1]) == 0  # no stroke drawings in this data
    assert len(sets["bitmap"][1]) == len(synthetic.bitmap_splits["test"])


def test_chunked_counts_give_the_one_shot_report(synthetic):
    index = synthetic.bitmap_splits["train"]
    images, labels = synthetic.gather(index), index.label.astype(np.int64)
    weights = np.random.default_rng(1).normal(size=(784, 5)).astype(np.float32)
    logits = images.reshape(len(images), -1).astype(np.float32) @ weights
    whole = classification_report(logits, labels, synthetic.classes)
    hits = {t: np.zeros(5, np.int64) for t in (1, 3, 5)}
    confusion = np.zeros((5, 5), np.int64)
    for i in range(0, len(labels), 37):
        part = classification_report(logits[i : i + 37], labels[i : i + 37], synthetic.classes)
        confusion += np.asarray(part["confusion"])
        for t in (1, 3, 5):
            hits[t] += [round((v[f"top{t}"] or 0) * v["n"]) for v in part["per_class"].values()]
    assert report_from_counts(hits, confusion, synthetic.classes) == whole
    assert whole["n"] == len(index) > 37 and whole["classes_present"] == 5


@pytest.mark.slow
def test_a_dataset_of_bitmaps_alone_trains_end_to_end(tmp_path):
    """No stroke drawings at all: every sample is a bitmap, the stroke evaluation sets are empty, and the
    exported model still verifies itself (on bitmaps) and learns these easy shapes."""
    pytest.importorskip("torch", reason="training needs the 'train' extra (torch)")
    from inkling.model.classifier import load_model
    from inkling.training.recipes import RECIPES
    from inkling.training.train import Config, train

    def pattern(c, n):  # a bright block in a place of its own, with noise
        rng = np.random.default_rng(c)
        img = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        img[:, 4 + 6 * c : 10 + 6 * c, 4:24] = 255
        return img.reshape(n, 784)

    _write_bitmaps(tmp_path / "data" / "bitmaps", [120, 200, 90], pattern)
    settings = {**RECIPES["smoke"], "epochs": 2, "samples_per_class": 48, "batch_size": 16}
    cfg = Config(data=[str(tmp_path / "data")], out=str(tmp_path / "run"), classes=NAMES[:3], **settings)
    cfg.export = str(tmp_path / "run" / "m.onnx")
    metrics = train(cfg, log=quiet)
    s = metrics["summary"]
    assert s["tiers"] == {"bitmap": NAMES[:3], "stroke": []}
    assert s["test"]["strokes"]["n"] == 0 and s["test"]["bitmap"]["n"] == 12 + 20 + 9
    assert s["test"]["bitmap"]["balanced"]["top1"] > 0.9
    assert s["class_prior"] == pytest.approx(dict.fromkeys(NAMES[:3], 1 / 3))
    assert load_model(cfg.export).classes == NAMES[:3]
