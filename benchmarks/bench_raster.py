"""Rasterizer speed: median time for one typical drawing, and batch throughput for 10,000 drawings.

INKLING_QUICKDRAW_DIR=../shared/data/quickdraw python benchmarks/bench_raster.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inkling.model.raster import rasterize, rasterize_batch  # noqa: E402
from inkling.model.strokes import read_ndjson  # noqa: E402


def load_drawings(root: Path, fmt: str, limit: int) -> list:
    drawings = []
    for f in sorted((root / "strokes" / fmt).glob("*.ndjson")):
        drawings += [r.strokes for r in read_ndjson(f, skip_bad=True).records]
    return drawings[:limit]


def main() -> None:
    root = Path(os.environ.get("INKLING_QUICKDRAW_DIR", "../shared/data/quickdraw"))
    raw = load_drawings(root, "raw", 10_000)
    # "Typical": about 5 strokes and 100 points, as a canvas produces them (raw screen coordinates).
    typical = [d for d in raw if 4 <= len(d) <= 6 and 80 <= sum(len(s) for s in d) <= 120][:200]
    for d in typical[:20]:
        rasterize(d)  # warm up
    times = []
    for d in typical:
        t = time.perf_counter()
        rasterize(d)
        times.append(time.perf_counter() - t)
    med = statistics.median(times) * 1e3
    p95 = float(np.quantile(times, 0.95)) * 1e3
    print(
        f"one typical raw drawing ({len(typical)} drawings of 4-6 strokes, 80-120 points): "
        f"median {med:.3f} ms, p95 {p95:.3f} ms (target: median <= 1 ms)"
    )

    simplified = load_drawings(root, "simplified", 10_000)
    for name, batch in (("raw", raw), ("simplified", simplified)):
        batch = (batch * (10_000 // len(batch) + 1))[:10_000]
        t = time.perf_counter()
        rasterize_batch(batch)
        one = time.perf_counter() - t
        workers = os.cpu_count() or 1
        t = time.perf_counter()
        rasterize_batch(batch, workers=workers)
        many = time.perf_counter() - t
        print(
            f"batch of 10,000 {name} drawings: {10_000 / one:,.0f} drawings/s in one process, "
            f"{10_000 / many:,.0f} drawings/s with {workers} worker processes"
        )


if __name__ == "__main__":
    main()
