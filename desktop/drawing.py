"""The drawing as vectors: strokes of (x, y, t ms) points in canvas coordinates, and geometry on them.

Canvas coordinates are independent of the widget's size (the canvas maps them onto the widget with a
view transform), so resizing the window never changes or crops the drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DOODLE = "doodle"  # drawn by hand
CLEAN = "clean"  # placed by the AutoDraw-style replace, drawn with the clean pen


@dataclass(eq=False)  # identity equality: undo commands refer to the very stroke objects they removed
class Stroke:
    points: np.ndarray  # (n, 3) float64: x, y in canvas units, t in ms
    style: str = DOODLE
    color: str | None = None  # "#rrggbb" of the pen it was drawn with; None: the style's own colour

    def __post_init__(self):
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] not in (2, 3) or len(pts) == 0:
            raise ValueError(f"a stroke needs (n, 2|3) points, got {pts.shape}")
        if pts.shape[1] == 2:
            pts = np.column_stack([pts, np.zeros(len(pts))])
        self.points = pts

    @property
    def xy(self) -> np.ndarray:
        return self.points[:, :2]


def as_model_strokes(strokes: list[Stroke]) -> list[np.ndarray]:
    """The arrays model.raster and model.strokes take: (n, 3) x, y, t."""
    return [s.points for s in strokes]


def bounding_box(strokes: list[Stroke]) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) of all points, or None for an empty drawing."""
    if not strokes:
        return None
    pts = np.concatenate([s.xy for s in strokes])
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def stroke_hits(stroke: Stroke, x: float, y: float, radius: float) -> bool:
    """Whether the point (x, y) lies within ``radius`` of the stroke's polyline (the eraser's test)."""
    xy = stroke.xy
    p = np.array([x, y])
    if len(xy) == 1:
        return bool(np.hypot(*(xy[0] - p)) <= radius)
    a, b = xy[:-1], xy[1:]
    d = b - a
    dd = np.einsum("ij,ij->i", d, d)
    t = np.clip(np.einsum("ij,ij->i", p - a, d) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    nearest = a + d * t[:, None]
    return bool((np.hypot(*(nearest - p).T) <= radius).any())


def fit_into(
    drawing: list[np.ndarray], box: tuple[float, float, float, float], *, start_ms: float = 0.0
) -> list[np.ndarray]:
    """Place a drawing (strokes of x, y) centred in ``box``, scaled uniformly to fit (aspect preserved).

    Returns (n, 3) strokes with synthetic times (1 ms per canvas unit of pen travel), so that a replaced
    drawing can still be saved in the raw Quick, Draw! format, which has a time for every point.
    """
    xy = [np.asarray(s, dtype=np.float64)[:, :2] for s in drawing if len(s)]
    if not xy:
        return []
    pts = np.concatenate(xy)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = hi - lo
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    ratios = [b / s for b, s in ((bw, span[0]), (bh, span[1])) if s > 0]
    scale = min(ratios) if ratios else 1.0
    centre_src = (lo + hi) / 2
    centre_box = np.array([(bx0 + bx1) / 2, (by0 + by1) / 2])
    return with_times([(s - centre_src) * scale + centre_box for s in xy], start_ms=start_ms)


def with_times(drawing: list[np.ndarray], *, start_ms: float = 0.0) -> list[np.ndarray]:
    """Give (n, 2) strokes synthetic times: 1 ms per unit of pen travel, 100 ms between strokes.

    The raw Quick, Draw! format has a time for every point; drawings that have none (Google's
    simplified files, reference drawings) get these so that they can be saved in it.
    """
    out = []
    t = start_ms
    for s in drawing:
        xy = np.asarray(s, dtype=np.float64)[:, :2]
        steps = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
        times = t + np.concatenate([[0.0], np.cumsum(steps)])
        t = float(times[-1]) + 100.0
        out.append(np.column_stack([xy, times]))
    return out
