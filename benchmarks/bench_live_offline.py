"""Live input vs offline: raw screen strokes rendered by ``inkling.model.raster`` against Google's own bitmaps.

For every drawing in ``stroke_bitmap_overlap.json`` that has a raw version (raw screen strokes, as the app
and ``inkling classify`` get them), this compares our rendering of the raw strokes, and of Google's
simplified strokes where the folder has them, with Google's official 28x28 bitmap of the same drawing:

* mean absolute pixel difference (of 255) of rasterize(raw) and of rasterize(simplified) vs the bitmap,
  and of rasterize(raw) vs rasterize(simplified);
* how often our simplification of the raw strokes (``inkling.model.strokes.simplify``) is exactly
  Google's simplified drawing;
* with a model (default: the bundled one), the share of drawings whose top-1 class from the raw render
  equals the top-1 from the official bitmap, and the top-1 accuracy of each; and, finer than top-1, how
  often the two give the same top-3 classes (as a set) and the mean total variation distance between
  their probability vectors (0: the same probabilities, 1: disjoint).

The last line of the output is one JSON object with these figures.

    python benchmarks/bench_live_offline.py --data ../shared/data/quickdraw
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inkling.model.classifier import load_model, softmax  # noqa: E402
from inkling.model.raster import rasterize  # noqa: E402
from inkling.model.strokes import read_ndjson, simplify  # noqa: E402

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "resources" / "models" / "default.onnx"


def load_pairs(root: Path) -> list[tuple[str, list, list | None, np.ndarray]]:
    """(category, raw strokes, simplified strokes or None, official bitmap 28x28) per overlap drawing
    that has a raw version."""
    mapping = json.loads((root / "stroke_bitmap_overlap.json").read_text())["map"]
    pairs = []
    for category in sorted(mapping):
        rows = mapping[category]
        raw_path = root / "strokes" / "raw" / f"{category}.ndjson"
        simple_path = root / "strokes" / "simplified" / f"{category}.ndjson"
        if not raw_path.exists():
            continue
        raw = {r.key_id: r.strokes for r in read_ndjson(raw_path).records}
        simple = {}
        if simple_path.exists():
            simple = {r.key_id: r.strokes for r in read_ndjson(simple_path).records}
        bitmaps = np.load(root / "bitmaps" / f"{category}.npy", mmap_mode="r")
        for key in sorted(rows):
            if key in raw and raw[key]:
                bitmap = np.asarray(bitmaps[rows[key]]).reshape(28, 28)
                pairs.append((category, raw[key], simple.get(key), bitmap))
    return pairs


def same_drawing(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        np.asarray(x).shape == np.asarray(y).shape and np.array_equal(x, y) for x, y in zip(a, b, strict=True)
    )


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=os.environ.get("INKLING_QUICKDRAW_DIR"))
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = p.parse_args(argv)
    if args.data is None:
        p.error("set INKLING_QUICKDRAW_DIR or pass --data (the Quick, Draw! data folder)")

    pairs = load_pairs(args.data)
    if not pairs:
        p.error(f"{args.data}: no overlap drawing has a raw version")
    raw_img = np.stack([rasterize(raw) for _, raw, _, _ in pairs])
    bitmaps = np.stack([b for *_, b in pairs])
    with_simple = [i for i, (_, _, s, _) in enumerate(pairs) if s]
    simple_img = {i: rasterize(pairs[i][2]) for i in with_simple}

    raw_err = np.array([mad(r, b) for r, b in zip(raw_img, bitmaps, strict=True)])
    simple_err = np.array([mad(simple_img[i], bitmaps[i]) for i in with_simple])
    raw_err_sub = raw_err[with_simple]
    raw_vs_simple = np.array([mad(raw_img[i], simple_img[i]) for i in with_simple])
    exact = sum(same_drawing(simplify(pairs[i][1]), pairs[i][2]) for i in with_simple)

    print(f"{len(pairs)} overlap drawings with raw strokes ({len(with_simple)} also with simplified strokes)")
    print(
        f"mean abs pixel difference vs Google's bitmap, of 255: raw {raw_err.mean():.3f} "
        f"(p95 {np.quantile(raw_err, 0.95):.2f}, max {raw_err.max():.2f})"
    )
    if with_simple:
        print(
            f"  on the {len(with_simple)} with both: raw {raw_err_sub.mean():.3f}, simplified "
            f"{simple_err.mean():.3f}; raw render vs simplified render {raw_vs_simple.mean():.3f}"
        )
        print(f"  simplify(raw) == Google's simplified strokes: {exact}/{len(with_simple)}")

    model = load_model(args.model)
    labels = np.array([model.classes.index(c) if c in model.classes else -1 for c, *_ in pairs])
    prob_raw = softmax(model.run(raw_img)[0])
    prob_bitmap = softmax(model.run(bitmaps)[0])
    top_raw, top_bitmap = prob_raw.argmax(axis=1), prob_bitmap.argmax(axis=1)
    agree = float((top_raw == top_bitmap).mean())
    top3 = np.sort(np.argsort(-prob_raw, axis=1)[:, :3], axis=1)
    top3_bitmap = np.sort(np.argsort(-prob_bitmap, axis=1)[:, :3], axis=1)
    agree3 = float((top3 == top3_bitmap).all(axis=1).mean())
    tv = float(0.5 * np.abs(prob_raw.astype(np.float64) - prob_bitmap).sum(axis=1).mean())
    known = labels >= 0
    acc_raw = float((top_raw == labels)[known].mean()) if known.any() else float("nan")
    acc_bitmap = float((top_bitmap == labels)[known].mean()) if known.any() else float("nan")
    print(
        f"model {args.model.name}: same top-1 (raw render vs official bitmap) {agree:.2%}; "
        f"top-1 accuracy raw {acc_raw:.2%}, bitmap {acc_bitmap:.2%} ({int(known.sum())} with a known class)"
    )
    print(f"  same top-3 classes {agree3:.2%}; mean total variation distance of the probabilities {tv:.4f}")
    result = {
        "pairs": len(pairs),
        "pairs_with_simplified": len(with_simple),
        "mad_raw": round(float(raw_err.mean()), 4),
        "mad_raw_p95": round(float(np.quantile(raw_err, 0.95)), 4),
        "mad_raw_on_simplified_subset": round(float(raw_err_sub.mean()), 4) if with_simple else None,
        "mad_simplified": round(float(simple_err.mean()), 4) if with_simple else None,
        "mad_raw_vs_simplified_render": round(float(raw_vs_simple.mean()), 4) if with_simple else None,
        "simplify_exact": exact,
        "top1_agreement": round(agree, 4),
        "top1_raw": round(acc_raw, 4),
        "top1_bitmap": round(acc_bitmap, 4),
        "top3_set_agreement": round(agree3, 4),
        "prob_total_variation": round(tv, 5),
        "model": str(args.model),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
