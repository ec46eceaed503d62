"""Side-by-side picture: Google's official bitmap, our rendering of the simplified and of the raw strokes.

INKLING_QUICKDRAW_DIR=../shared/data/quickdraw python benchmarks/raster_parity.py docs/raster_parity.png
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inkling.model.raster import rasterize  # noqa: E402
from inkling.model.strokes import read_ndjson  # noqa: E402


def main(out: str = "docs/raster_parity.png", n: int = 8) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    root = Path(os.environ.get("INKLING_QUICKDRAW_DIR", "../shared/data/quickdraw"))
    mapping = json.loads((root / "stroke_bitmap_overlap.json").read_text())["map"]
    rows = []
    for category, keys in mapping.items():
        raw = {r.key_id: r.strokes for r in read_ndjson(root / f"strokes/raw/{category}.ndjson").records}
        simple = {
            r.key_id: r.strokes for r in read_ndjson(root / f"strokes/simplified/{category}.ndjson").records
        }
        bitmaps = np.load(root / f"bitmaps/{category}.npy", mmap_mode="r")
        for key, row in keys.items():
            if key in raw and key in simple:
                rows.append(
                    (
                        category,
                        np.asarray(bitmaps[row]).reshape(28, 28),
                        rasterize(simple[key]),
                        rasterize(raw[key]),
                    )
                )
                break
        if len(rows) == n:
            break
    fig, axes = plt.subplots(3, len(rows), figsize=(1.6 * len(rows), 5.2))
    titles = ["Google bitmap", "ours, simplified", "ours, raw strokes"]
    for j, (category, *images) in enumerate(rows):
        for i, img in enumerate(images):
            ax = axes[i, j]
            ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(category, fontsize=8)
            if i > 0:
                ax.set_xlabel(f"MAD {np.abs(img.astype(float) - images[0]).mean():.2f}", fontsize=7)
            if j == 0:
                ax.set_ylabel(titles[i], fontsize=8)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
