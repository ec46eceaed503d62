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

from .strokes import SIMPLIFIED_SIDE, as_strokes, flatten, normalize_points, simplify_points

SIDE = 28  # output pixels
BOX = 256.0  # the unit box the drawing is centred in
LINE_WIDTH = 16.0
PADDING = 16.0
TOTAL = BOX + 2 * PADDING + LINE_WIDTH  # 304 units mapped onto SIDE pixels
SCALE = SIDE / TOTAL
RADIUS_PX = LINE_WIDTH / 2 * SCALE
SUPERSAMPLE = 4
_CHUNK = 4096  # pieces rendered at once
_STROKE_GROUP = 64  # strokes rendered at once
_PIECE_PX = 1.5  # long segments are cut into pieces this long so that every piece fits one small window

# Sub-sample window, the same for every piece: the piece's bounding box plus the line radius and the
# half-subsample ramp on each side.
_REACH = RADIUS_PX + 0.5 / SUPERSAMPLE
_WIN = int(np.ceil((_PIECE_PX + 2 * _REACH) * SUPERSAMPLE)) + 1
_WIN_OFFSETS = np.arange(_WIN)
_WIN_PX = (_WIN_OFFSETS / SUPERSAMPLE).astype(np.float32)  # subsample offsets within a window, in pixels
_PADDED = (SIDE + 2) * SUPERSAMPLE  # the subsample grid with a one-pixel margin
_WIN_FLAT = (_WIN_OFFSETS[:, None] * _PADDED + _WIN_OFFSETS[None, :])[None]  # window offsets on that grid


def to_pixels(strokes: Sequence, *, simplify: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Map strokes in any coordinate space to the 28-pixel output grid, as Google's pipeline does.

    Returns all points (N, 2) in pixels and the start index of each stroke. Normalization follows
    Google's simplification: align to the top-left, scale the larger side to 0..255, resample every unit
    along each stroke, simplify with Ramer–Douglas–Peucker (epsilon 2) and round to integers; then the
    drawing is centred in the 256 box and padded as the renderer does. Raw strokes thus become Google's
    simplified drawing itself (point for point for 300 of 319 of Google's raw drawings; the rest differ
    where an RDP tie falls either way), which is what Google rendered its bitmaps from. Drawings already
    in Google's simplified form (integers, aligned, larger side nearly 0..255) are not simplified again
    unless ``simplify`` says so: RDP is not idempotent, and Google rendered the simplified strokes as
    they are. ``simplify=False`` renders the points as given, scaled but neither simplified nor rounded.
    """
    clean = as_strokes(strokes)
    if not clean:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    pts, starts = flatten([s[:, :2] for s in clean])
    if simplify is None:
        simplify = not _is_google_simplified(pts)
    pts = normalize_points(pts)
    if simplify:
        # Google's simplification, step for step (model.strokes, as ``simplify`` does it); the box below
        # is that of the integers it gives.
        pts, starts = simplify_points(pts, starts)
    top = pts.max(axis=0)
    offset = (BOX - top) / 2.0 + (TOTAL - BOX) / 2.0
    return (pts + offset) * SCALE, starts


def _is_google_simplified(pts: np.ndarray) -> bool:
    # Integers in 0..255 whose larger side nearly spans the range. (Not exactly: Google aligned and scaled
    # before simplifying, and RDP may drop the extreme points.)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    if lo.min() < 0 or hi.max() > SIMPLIFIED_SIDE or (hi - lo).max() < SIMPLIFIED_SIDE - 8:
        return False
    return bool((pts == np.round(pts)).all())


def _pieces(pts: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment pieces in pixels as (start a, direction d, stroke), each at most _PIECE_PX long.

    A stroke of one point becomes a zero-length piece: a round dot.
    """
    n = len(pts)
    ends = np.append(starts[1:], n)
    opens = np.ones(n, dtype=bool)  # points where a segment starts: all but each stroke's last
    opens[ends - 1] = False
    ia = np.flatnonzero(opens)
    ib = ia + 1
    dots = starts[ends - starts == 1]
    if len(dots):
        ia = np.concatenate([ia, dots])
        ib = np.concatenate([ib, dots])
    owner = np.searchsorted(starts, ia, side="right") - 1
    a = pts[ia]
    d = pts[ib] - a
    k = np.ceil(np.hypot(d[:, 0], d[:, 1]) * (1.0 / _PIECE_PX)).astype(np.int64)
    np.maximum(k, 1, out=k)
    if k.max() == 1:
        return a, d, owner
    idx = np.repeat(np.arange(len(a)), k)
    j = np.arange(len(idx)) - np.repeat(np.cumsum(k) - k, k)
    step = d[idx] / k[idx, None]
    return a[idx] + step * j[:, None], step, owner[idx]


def _coverage(pts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-stroke pixel coverage in [0, 1], shape (n_strokes, SIDE * SIDE)."""
    n = len(starts)
    a, d, owner = _pieces(pts, starts)
    canvas = np.zeros(n * _PADDED * _PADDED, dtype=np.float32)
    # A few thousand pieces at a time keep memory bounded however long the drawing is (a typical one
    # has a few hundred, so one pass).
    for i in range(0, len(a), _CHUNK):
        _cover_pieces(canvas, a[i : i + _CHUNK], d[i : i + _CHUNK], owner[i : i + _CHUNK])
    # A pixel's coverage is the mean of its subsamples.
    rows = canvas.reshape(n * (SIDE + 2), SUPERSAMPLE, _PADDED).sum(axis=1)
    pix = rows.reshape(n, SIDE + 2, SIDE + 2, SUPERSAMPLE).sum(axis=3)
    return (pix[:, 1:-1, 1:-1] * (1.0 / SUPERSAMPLE**2)).reshape(n, SIDE * SIDE)


def _cover_pieces(canvas: np.ndarray, a: np.ndarray, d: np.ndarray, owner: np.ndarray) -> None:
    """Raise each subsample of ``canvas`` (strokes × padded grid, flat) to its coverage by the pieces."""
    # Window origin (in subsamples, on a grid with a margin of one pixel all round, so that no window
    # needs clipping), and the subsample centres relative to the piece's start, in pixels.
    origin = np.floor((a + np.minimum(d, 0.0) - _REACH) * SUPERSAMPLE).astype(np.int64)
    rel = ((origin + 0.5) * (1.0 / SUPERSAMPLE) - a).astype(np.float32)
    px = rel[:, 0, None, None] + _WIN_PX[None, None, :]  # (P, 1, W)
    py = rel[:, 1, None, None] + _WIN_PX[None, :, None]  # (P, W, 1)

    # Distance from each subsample centre to its piece (a capsule's axis).
    d = d.astype(np.float32)
    dd = np.einsum("ij,ij->i", d, d)
    inv = np.divide(1.0, dd, out=np.zeros_like(dd), where=dd > 0)
    dx, dy = d[:, 0, None, None], d[:, 1, None, None]
    t = px * (dx * inv[:, None, None]) + py * (dy * inv[:, None, None])
    np.clip(t, 0.0, 1.0, out=t)
    dist = np.hypot(px - t * dx, py - t * dy)
    # Area of a subsample inside the capsule, approximated by a ramp one subsample wide.
    cov = np.clip(dist * -SUPERSAMPLE + (RADIUS_PX * SUPERSAMPLE + 0.5), 0.0, 1.0, out=dist)

    # The union of a stroke's capsules: each subsample keeps its best-covered value.
    base = (owner * _PADDED + origin[:, 1] + SUPERSAMPLE) * _PADDED + origin[:, 0] + SUPERSAMPLE
    sub = base[:, None, None] + _WIN_FLAT
    np.maximum.at(canvas, sub.ravel(), cov.ravel())


def _composite(coverage: np.ndarray, under: np.ndarray | None = None) -> np.ndarray:
    """Paint strokes in order, white OVER the image so far (``under``), in 8 bits as cairo's image
    surface does. Returns the image as float levels 0..255, (SIDE * SIDE,)."""
    m = np.round(coverage.astype(np.float64) * 255.0)
    out = m[0] if under is None else np.round(m[0] + under * (255.0 - m[0]) / 255.0)
    for layer in m[1:]:
        out = np.round(layer + out * (255.0 - layer) / 255.0)
    return out


def rasterize(strokes: Sequence, *, simplify: bool | None = None) -> np.ndarray:
    """Render a drawing to a (28, 28) uint8 image: 0 background, 255 ink.

    ``strokes`` is a sequence of strokes, each an (n, 2) (or (n, 3) with time) array-like of x, y points
    in any coordinate space: screen pixels from a canvas or Google's simplified 0..255 units. An empty
    drawing gives zeros; a single point is a round dot; non-finite coordinates raise ValueError.
    """
    pts, starts = to_pixels(strokes, simplify=simplify)
    if len(pts) == 0:
        return np.zeros((SIDE, SIDE), dtype=np.uint8)
    if len(starts) <= _STROKE_GROUP:
        return _composite(_coverage(pts, starts)).astype(np.uint8).reshape(SIDE, SIDE)
    # Strokes are covered and composited a group at a time: each needs its own subsample canvas,
    # and a drawing of many thousands of strokes must not need thousands of them at once.
    out = None
    ends = np.append(starts[1:], len(pts))
    for g in range(0, len(starts), _STROKE_GROUP):
        first, last = starts[g], ends[min(g + _STROKE_GROUP, len(starts)) - 1]
        group = starts[g : g + _STROKE_GROUP] - first
        out = _composite(_coverage(pts[first:last], group), out)
    return out.astype(np.uint8).reshape(SIDE, SIDE)


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
