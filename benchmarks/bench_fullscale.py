"""Full-scale training input: streaming from memory-mapped .npy files at the full category count.

    python benchmarks/bench_fullscale.py                      # 345 classes × 2,000 and × 20,000 rows
    python benchmarks/bench_fullscale.py --rows 2000,20000,60000 --stream-batches 600 --train-steps 60

Builds synthetic Quick, Draw!-shaped bitmap files (uint8 (rows, 784), one per class, 345 classes) in a
temporary folder, then, for each row count in a fresh process, runs the path ``inkling-train fit`` takes
when the train split is larger than ``--in-memory-gb``: ``Dataset.load`` memory-maps the files, the split
index is built (compact: int16 labels, int32 rows), ``iterate_batches`` reads shuffled batches on a
background thread (each batch one sorted read per class), and a few real training steps of the default
SketchNet run on what it yields (CPU, float32, with fit's batch augmentation).

It prints images/s for the input path alone and for training, and memory: the split index's size, the
peak RSS (VmHWM) and the peak anonymous memory (sampled RssAnon: what the process itself holds, without
file pages). Rows are read with preadv (training/rows.py), so the page cache does not count in the RSS;
indexing the memory map instead (``--through-map``) shows the RSS swelling toward the dataset's size
with pages that are only cache. The files were just written, so they sit in the page cache: on a real
download larger than RAM, the input path is bound by the disk instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PIXELS = 784
DISTINCT_ROWS = 64  # each file repeats this many random drawings of its own (writing is the slow part)


def build_files(folder: Path, classes: int, rows: int) -> float:
    """Write `classes` files of uint8 (rows, 784); returns seconds. Reuses complete files already there."""
    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    for c in range(classes):
        path = folder / f"class{c:03d}.npy"
        if path.exists():
            try:
                if np.load(path, mmap_mode="r").shape == (rows, PIXELS):
                    continue
            except ValueError:
                pass
        block = np.random.default_rng(c).integers(0, 256, size=(DISTINCT_ROWS, PIXELS), dtype=np.uint8)
        arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(rows, PIXELS))
        for start in range(0, rows, 4096):
            stop = min(rows, start + 4096)
            arr[start:stop] = np.resize(block, (stop - start, PIXELS))
        arr.flush()
        del arr
    return time.perf_counter() - t0


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class PeakAnon:
    """Samples RssAnon every few milliseconds (the kernel keeps a peak only for the total RSS)."""

    def __init__(self, every_s: float = 0.005) -> None:
        self.peak_kb = _status_kb("RssAnon")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)
        self._thread.start()

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.peak_kb = max(self.peak_kb, _status_kb("RssAnon"))

    def take(self) -> int:
        """The peak so far; sampling goes on from the current value."""
        peak, self.peak_kb = max(self.peak_kb, _status_kb("RssAnon")), _status_kb("RssAnon")
        return peak

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak_kb, _status_kb("RssAnon"))


def child(args) -> dict:
    """One row count, in its own process so its peaks are its own."""
    import torch
    import torch.nn.functional as F
    from inkling.training.augment import augment
    from inkling.training.data import Dataset, iterate_batches
    from inkling.training.fit import _to_batch
    from inkling.training.net import NetConfig, SketchNet

    torch.set_num_threads(args.threads)
    if args.through_map:
        import inkling.training.rows as rows

        rows._fd_of = lambda arr: None  # every array indexed: the memory maps' pages come into the RSS
    torch.manual_seed(0)
    device = torch.device("cpu")
    net = SketchNet(NetConfig(args.classes))  # the default network (widths 32, 64, 128)
    net.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    base_anon_kb = _status_kb("RssAnon")  # torch and the network, before any data
    sampler = PeakAnon()

    t0 = time.perf_counter()
    ds = Dataset.load([args.data], log=lambda *a: None)
    splits = ds.split(0)
    train = splits["train"]
    setup_s = time.perf_counter() - t0
    index_bytes = sum(a.nbytes for s in splits.values() for a in (s.label, s.row))

    # The input path alone: what the training loop receives, as torch tensors.
    seen, t0 = 0, time.perf_counter()
    stream = iterate_batches(ds, train, args.batch_size, shuffle=True, seed=1)
    for i, (xb, yb) in enumerate(stream):
        x, y = torch.from_numpy(xb), torch.from_numpy(yb)
        seen += len(y) if len(x) == len(y) else 0
        if i + 1 == args.stream_batches:
            break
    stream_rate = seen / (time.perf_counter() - t0)
    stream.close()  # its reader thread ends within 0.1 s and frees its shuffle order: not two at once below
    time.sleep(0.3)
    stream_anon_kb = sampler.take()  # the input path alone: load, split index, shuffle order, batches

    # Real training steps fed by the same stream (another epoch's shuffle).
    seen, t0 = 0, None
    net.train()
    for i, (xb, yb) in enumerate(iterate_batches(ds, train, args.batch_size, shuffle=True, seed=2)):
        if i == 2:  # the first steps warm up kernels and caches
            seen, t0 = 0, time.perf_counter()
        x = augment(_to_batch(torch.from_numpy(xb), device)).contiguous(memory_format=torch.channels_last)
        logits, _ = net(x)
        loss = F.cross_entropy(logits, torch.from_numpy(yb), label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(yb)
        if i + 1 == args.train_steps + 2:
            break
    train_rate = seen / (time.perf_counter() - t0)

    peak_anon_kb = sampler.stop()
    return {
        "rows": int(ds.counts()[0]),
        "classes": len(ds.classes),
        "drawings": int(sum(ds.counts())),
        "train": len(train),
        "setup_s": setup_s,
        "index_mb": index_bytes / 2**20,
        "stream_images_per_s": stream_rate,
        "train_images_per_s": train_rate,
        "base_anon_mb": base_anon_kb / 1024,
        "stream_anon_mb": stream_anon_kb / 1024,
        "peak_anon_mb": peak_anon_kb / 1024,
        "peak_rss_mb": _status_kb("VmHWM") / 1024,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", type=int, default=345)
    p.add_argument("--rows", default="2000,20000", help="rows per class file, comma-separated")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--stream-batches", type=int, default=400, help="batches read for the input-path figure")
    p.add_argument("--train-steps", type=int, default=12, help="timed SketchNet steps on CPU")
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="torch threads")
    p.add_argument("--through-map", action="store_true", help="read rows by indexing the memory map")
    p.add_argument("--workdir", type=Path, help="keep the synthetic files here (reused by later runs)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0

    root = args.workdir or Path(tempfile.mkdtemp(prefix="inkling-fullscale-"))
    results = []
    try:
        for rows in [int(r) for r in args.rows.split(",")]:
            folder = root / f"{args.classes}x{rows}" / "bitmaps"
            size_gb = args.classes * rows * PIXELS / 1e9
            print(
                f"building {args.classes} files of {rows} rows ({size_gb:.1f} GB) in {folder} ...", flush=True
            )
            built_s = build_files(folder, args.classes, rows)
            print(f"  {built_s:.0f} s", flush=True)
            command = [sys.executable, __file__, "--child", "--data", str(folder.parent)]
            for flag in ("classes", "batch_size", "stream_batches", "train_steps", "threads"):
                command += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
            command += ["--through-map"] if args.through_map else []
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
            if args.workdir is None:
                shutil.rmtree(folder.parent)  # free the disk before the next, larger set
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)

    print()
    print(
        f"{'classes x rows':>16} {'drawings':>10} {'index':>8} {'stream img/s':>13} {'train img/s':>12} "
        f"{'anon base':>10} {'anon stream':>12} {'anon train':>11} {'RSS peak':>9}"
    )
    for r in results:
        print(
            f"{r['classes']:>7} x {r['rows']:<6} {r['drawings']:>10,} {r['index_mb']:>6.1f}MB "
            f"{r['stream_images_per_s']:>13,.0f} {r['train_images_per_s']:>12,.0f} "
            f"{r['base_anon_mb']:>8.0f}MB {r['stream_anon_mb']:>10.0f}MB {r['peak_anon_mb']:>9.0f}MB "
            f"{r['peak_rss_mb']:>7.0f}MB"
        )
    print(
        "anon: peak anonymous memory (RssAnon) of torch and the network (base), of the input path (stream:"
        " files, split index, shuffle order, batches) and while training (run-to-run noise about 50 MB)"
    )
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(
            f"\n{large['drawings'] / small['drawings']:.0f}x the drawings: input path "
            f"{large['stream_anon_mb'] - small['stream_anon_mb']:+.0f} MB (split index "
            f"{large['index_mb'] - small['index_mb']:+.0f} MB), training peak "
            f"{large['peak_anon_mb'] - small['peak_anon_mb']:+.0f} MB, RSS peak "
            f"{large['peak_rss_mb'] - small['peak_rss_mb']:+.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
