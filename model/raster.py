"""Render strokes to 28×28 images exactly the way Google rendered the Quick, Draw! ``numpy_bitmap`` files.

Google's generating code (linked from the dataset README, quickdraw-dataset issue #19) takes simplified
drawings (top-left aligned, larger side 0..255), centres each in a 256-unit box on its bounding box and
strokes it with cairo: round caps and joins, a 16-unit line, 16 units of padding on each side, the whole
304-unit square scaled onto 28 pixels, antialiased, white on black, one ``stroke()`` per stroke.

We reproduce that without cairo: every stroke is the union of capsules (segments widened by the line's
radius, which is exactly what round caps and joins draw), its pixel coverage is estimated on a grid of
``SUPERSAMPLE``² subsamples per pixel from the distance to the nearest segment, and strokes are composited
one over another as cairo's OVER operator does, in 8 bits.

The app renders live canvas strokes with this module and training renders stroke files with it, so live
input and training data can never drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .strokes import as_strokes, normalize, rdp

SIDE = 28  # output pixels
BOX = 256.0  # the unit box the drawing is centred in
LINE_WIDTH = 16.0
PADDING = 16.0
TOTAL = BOX + 2 * PADDING + LINE_WIDTH  # 304 units mapped onto SIDE pixels
SCALE = SIDE / TOTAL
RADIUS_PX = LINE_WIDTH / 2 * SCALE
SUPERSAMPLE = 4
_PIECE_PX = 1.5  # long segments are cut into pieces this long so that every piece fits one small window

# Sub-sample window, the same for every piece: the piece's bounding box plus the line radius and the
# half-subsample ramp on each side.
_REACH = RADIUS_PX + 0.5 / SUPERSAMPLE
_WIN = int(np.ceil((_PIECE_PX + 2 * _REACH) * SUPERSAMPLE)) + 1
_GRID = SIDE * SUPERSAMPLE
_WIN_OFFSETS = np.arange(_WIN)


def to_pixels(strokes: Sequence, *, simplify: bool = True) -> list[np.ndarray]:
    """Map strokes in any coordinate space to the 28-pixel output grid, as Google's pipeline does.

    Normalization follows Google's simplification (align to the top-left, scale the larger side to
    0..255, and with ``simplify`` Ramer–Douglas–Peucker with epsilon 2), then centring in the 256 box
    and the padding of the renderer.
    """
    norm = normalize(as_strokes(strokes))
    if not norm:
        return []
    if simplify:
        norm = [rdp(s) for s in norm]
    top = np.concatenate(norm).max(axis=0)
    offset = (BOX - top) / 2.0 + (TOTAL - BOX) / 2.0
    return [(s + offset) * SCALE for s in norm]


def _pieces(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments of a polyline in pixels, long ones cut into pieces of at most _PIECE_PX."""
    if len(pts) == 1:
        return pts, pts  # a single point is a zero-length segment: a round dot
    a, b = pts[:-1], pts[1:]
    length = np.hypot(*(b - a).T)
    k = np.maximum(np.ceil(length / _PIECE_PX).astype(np.int64), 1)
    if (k == 1).all():
        return a, b
    idx = np.repeat(np.arange(len(a)), k)
    j = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    d = (b - a)[idx] / k[idx, None]
    start = a[idx] + d * j[:, None]
    return start, start + d


def _coverage(strokes_px: list[np.ndarray]) -> np.ndarray:
    """Per-stroke pixel coverage in [0, 1], shape (n_strokes, SIDE, SIDE)."""
    n = len(strokes_px)
    segs = [_pieces(s) for s in strokes_px]
    a = np.concatenate([s[0] for s in segs])
    b = np.concatenate([s[1] for s in segs])
    owner = np.repeat(np.arange(n), [len(s[0]) for s in segs])

    # Window origin (in subsamples) and subsample centres (in pixels) for every piece.
    origin = np.floor((np.minimum(a, b) - _REACH) * SUPERSAMPLE).astype(np.int64)
    cx = (origin[:, 0, None] + _WIN_OFFSETS + 0.5) / SUPERSAMPLE  # (P, W)
    cy = (origin[:, 1, None] + _WIN_OFFSETS + 0.5) / SUPERSAMPLE

    # Distance from each subsample centre to its piece (a capsule's axis).
    d = b - a
    dd = np.einsum("ij,ij->i", d, d)
    inv = np.divide(1.0, dd, out=np.zeros_like(dd), where=dd > 0)
    px = cx[:, None, :] - a[:, 0, None, None]  # (P, 1, W): x offsets
    py = cy[:, :, None] - a[:, 1, None, None]  # (P, W, 1): y offsets
    t = np.clip((px * d[:, 0, None, None] + py * d[:, 1, None, None]) * inv[:, None, None], 0.0, 1.0)
    ex = px - t * d[:, 0, None, None]
    ey = py - t * d[:, 1, None, None]
    dist = np.sqrt(ex * ex + ey * ey)
    # Area of a subsample inside the capsule, approximated by a ramp one subsample wide.
    cov = np.clip((RADIUS_PX - dist) * SUPERSAMPLE + 0.5, 0.0, 1.0)

    gx = origin[:, 0, None, None] + _WIN_OFFSETS[None, None, :]
    gy = origin[:, 1, None, None] + _WIN_OFFSETS[None, :, None]
    inside = (cov > 0) & (gx >= 0) & (gx < _GRID) & (gy >= 0) & (gy < _GRID)
    flat = (owner[:, None, None] * _GRID + gy) * _GRID + gx
    canvas = np.zeros(n * _GRID * _GRID)
    # The union of a stroke's capsules: each subsample keeps its best-covered value.
    np.maximum.at(canvas, flat[inside], cov[inside])
    return canvas.reshape(n, SIDE, SUPERSAMPLE, SIDE, SUPERSAMPLE).mean(axis=(2, 4))


def _composite(coverage: np.ndarray) -> np.ndarray:
    """Paint strokes in order, white OVER the image so far, in 8 bits as cairo's image surface does."""
    out = np.zeros((SIDE, SIDE), dtype=np.float64)
    for cov in coverage:
        m = np.round(cov * 255.0)
        out = np.round(m + out * (255.0 - m) / 255.0)
    return out.astype(np.uint8)


def rasterize(strokes: Sequence, *, simplify: bool = True) -> np.ndarray:
    """Render a drawing to a (28, 28) uint8 image: 0 background, 255 ink.

    ``strokes`` is a sequence of strokes, each an (n, 2) (or (n, 3) with time) array-like of x, y points
    in any coordinate space: screen pixels from a canvas or Google's simplified 0..255 units. An empty
    drawing gives zeros; a single point is a round dot; non-finite coordinates raise ValueError.
    """
    px = to_pixels(strokes, simplify=simplify)
    if not px:
        return np.zeros((SIDE, SIDE), dtype=np.uint8)
    return _composite(_coverage(px))


def rasterize_batch(drawings: Sequence[Sequence], *, workers: int | None = None) -> np.ndarray:
    """Render many drawings to an (N, 28, 28) uint8 array, in order, optionally in worker processes."""
    n = len(drawings)
    out = np.zeros((n, SIDE, SIDE), dtype=np.uint8)
    if workers and workers > 1 and n >= 256:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            chunk = max(64, n // (workers * 8))
            for i, img in enumerate(pool.map(rasterize, drawings, chunksize=chunk)):
                out[i] = img
        return out
    for i, d in enumerate(drawings):
        out[i] = rasterize(d)
    return out
