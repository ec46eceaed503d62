"""Full-scale training input: compact split indexes, streaming from memory maps, chunked evaluation.

Synthetic memory-mapped .npy files stand in for the downloaded dataset (benchmarks/bench_fullscale.py
measures the same path at 345 categories).
"""

import zlib

import numpy as np
import pytest
from inkling.training.data import Dataset, SplitIndex, iterate_batches, make_splits
from inkling.training.metrics import classification_report
from inkling.training.split_eval import split_report


@pytest.fixture
def synthetic(tmp_path):
    """Five classes of different sizes; each image's first pixels encode (class, row) so reads are checkable."""
    counts = [300, 1, 57, 1000, 250]
    folder = tmp_path / "bitmaps"
    folder.mkdir()
    for c, n in enumerate(counts):
        arr = np.lib.format.open_memmap(folder / f"class{c}.npy", mode="w+", dtype=np.uint8, shape=(n, 784))
        rows = np.arange(n)
        arr[:, 0], arr[:, 1], arr[:, 2] = c, rows // 256, rows % 256
        arr.flush()
        del arr
    return Dataset.load([tmp_path], log=lambda *a: None)


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


def test_gather_reads_the_right_rows_in_the_splits_order(synthetic):
    index = synthetic.split(seed=1)["train"]
    shuffled = np.random.default_rng(0).permutation(len(index))
    sub = SplitIndex(index.label[shuffled], index.row[shuffled])
    labels, rows = _decode(synthetic.gather(sub))
    assert np.array_equal(labels, sub.label) and np.array_equal(rows, sub.row)


@pytest.mark.parametrize("world", [1, 3])
def test_streaming_yields_every_train_drawing_once_per_epoch(synthetic, world):
    train = synthetic.split(seed=2)["train"]
    assert len(train) % 3  # so that three ranks cannot share it evenly
    seen, per_rank = [], []
    for rank in range(world):
        batches = list(iterate_batches(synthetic, train, 64, shuffle=True, seed=5, rank=rank, world=world))
        per_rank.append([len(labels) for _, labels in batches])
        for images, labels in batches:
            assert labels.dtype == np.int64  # torch's class targets
            decoded_labels, rows = _decode(images)
            assert np.array_equal(decoded_labels, labels)
            seen += list(zip(labels.tolist(), rows.tolist(), strict=True))
    # Ranks get equal batches (a rank with one batch more would hang DistributedDataParallel)...
    assert all(sizes == per_rank[0] for sizes in per_rank)
    # ...and between them every train drawing once, but for fewer than `world` left to the next epoch.
    everything = set(zip(train.label.tolist(), train.row.tolist(), strict=True))
    assert len(seen) == len(set(seen)) == len(train) - len(train) % world and set(seen) <= everything


def test_chunked_split_report_equals_the_one_shot_report(synthetic):
    index = synthetic.split(seed=0, val_frac=0.3, test_frac=0.3)["test"]
    weights = np.random.default_rng(1).normal(size=(784, 5)).astype(np.float32)

    def logits_of(images):
        return images.reshape(len(images), -1).astype(np.float32) @ weights

    whole = classification_report(logits_of(synthetic.gather(index)), index.label, synthetic.classes)
    chunked = split_report(logits_of, synthetic, index, synthetic.classes, chunk=37)
    assert chunked == whole
    assert whole["n"] == len(index) > 37


def test_read_rows_matches_indexing_the_memory_map(tmp_path):
    from inkling.training.rows import read_rows

    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, size=(500, 784), dtype=np.uint8))
    arr = np.load(path, mmap_mode="r")
    rows = np.sort(np.random.default_rng(1).choice(500, 120, replace=True))  # runs, gaps and repeats
    rows = np.concatenate([[0], rows, [499]])
    assert np.array_equal(read_rows(arr, rows), np.asarray(arr)[rows])
    sliced = arr[100:]  # a view keeps its parent's offset: indexed, never read from the file
    assert np.array_equal(read_rows(sliced, np.array([0, 5])), np.asarray(arr)[[100, 105]])
    with pytest.raises(IndexError):
        read_rows(arr, np.array([3, 500]))
    path.write_bytes(path.read_bytes()[: 128 + 784 * 10])  # cut short under the open memory map's feet
    with pytest.raises(ValueError, match="x.npy: the file ended early"):
        read_rows(arr, np.array([20]))


def test_a_stream_left_early_ends_its_reader_thread(synthetic):
    import threading
    import time

    before = threading.active_count()
    train = synthetic.split(seed=0)["train"]
    for i, _ in enumerate(iterate_batches(synthetic, train, 8, shuffle=True, prefetch=2)):
        if i == 1:
            break  # the reader is blocked on a full queue now; it must notice and end
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() == before


def test_torchrun_streams_with_ranks_of_unequal_shares(tmp_path):
    """Two gloo processes streaming a train split that does not halve evenly (one batch more on one rank
    used to leave the other waiting forever)."""
    pytest.importorskip("torch", reason="training needs the 'train' extra (torch)")
    import json
    import os
    import subprocess
    import sys

    folder = tmp_path / "data" / "bitmaps"
    folder.mkdir(parents=True)
    for c, n in enumerate([107, 107, 109]):  # 85 + 85 + 87 = 257 train drawings: 129 and 128 per rank
        np.save(folder / f"class{c}.npy", np.random.default_rng(c).integers(0, 256, (n, 784), dtype=np.uint8))
    run = tmp_path / "run"
    fit = ["fit", "--data", str(tmp_path / "data"), "--out", str(run), "--epochs", "1", "--in-memory-gb", "0",
           "--widths", "8,16,16", "--embedding-dim", "16", "--batch-size", "16", "--no-plots",
           "--mirror-average", "off"]  # fmt: skip
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [*cmd, "-m", "inkling.training", *fit], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["summary"]["counts"]["class2"]["train"] == 87 and len(metrics["history"]) == 1
