"""Stroke-space augmentation, applied before rendering with :mod:`model.raster` (the app's renderer).

Warping the strokes rather than the 28×28 image keeps the line width and antialiasing exactly what the
renderer gives live drawings, and the rasterizer normalizes position and size afterwards just as it does for
the app. Partial drawings (the first k strokes, same label) teach the network to guess while a person is
still drawing: the app classifies after every stroke.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from inkling.model.raster import rasterize
from inkling.model.strokes import Strokes, resample


def first_strokes(strokes: Strokes, k: int) -> Strokes:
    """The first ``k`` strokes (at least one): what the app has seen after the person's k-th stroke."""
    return list(strokes[: max(1, min(k, len(strokes)))])


def first_half(strokes: Strokes) -> Strokes:
    """The first half of a drawing's strokes, rounded up (1 of 1, 1 of 2, 2 of 3, 2 of 4, ...)."""
    return first_strokes(strokes, math.ceil(len(strokes) / 2))


def augment_strokes(
    strokes: Strokes,
    rng: np.random.Generator,
    *,
    strength: float = 1.0,
    max_rotate_deg: float = 15.0,
    max_shear: float = 0.25,
    scale_range: tuple[float, float] = (0.75, 1.25),
    jitter: float = 0.012,
    resample_p: float = 0.5,
    dropout_p: float = 0.1,
    partial_p: float = 0.0,
    flip_p: float = 0.5,
) -> Strokes:
    """A random variant of a drawing: float strokes (n, 2), as many or fewer than given, never empty.

    Random affine (rotation, shear, independent x and y scale, mirror), resampling at a random spacing,
    Gaussian point jitter (relative to the drawing's size), stroke dropout (each stroke but one may go) and,
    with probability ``partial_p``, only the first k strokes (k uniform in 1..n-1).
    """
    pts = [np.asarray(s, dtype=np.float64)[:, :2] for s in strokes if len(s)]
    if not pts:
        raise ValueError("cannot augment an empty drawing")
    n = len(pts)
    if partial_p and n > 1 and rng.random() < partial_p:
        pts = pts[: int(rng.integers(1, n))]
    elif dropout_p and n > 2:
        keep = rng.random(n) >= dropout_p * strength
        keep[int(rng.integers(n))] = True  # never drop everything
        pts = [p for p, k in zip(pts, keep, strict=True) if k]
    allp = np.concatenate(pts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    size = float((hi - lo).max()) or 1.0
    centre = (lo + hi) / 2
    if resample_p and rng.random() < resample_p:
        # Resampling moves the vertices along the strokes (the renderer simplifies again afterwards), as a
        # different input device or sampling rate would.
        spacing = size * rng.uniform(0.01, 0.05)
        pts = [resample(p, spacing) for p in pts]
    a = math.radians(rng.uniform(-max_rotate_deg, max_rotate_deg) * strength)
    sh = rng.uniform(-max_shear, max_shear) * strength
    lo_s, hi_s = (1.0 + (s - 1.0) * strength for s in scale_range)
    sx, sy = rng.uniform(lo_s, hi_s), rng.uniform(lo_s, hi_s)
    flip = -1.0 if rng.random() < flip_p else 1.0
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    m = rot @ np.array([[1.0, sh], [0.0, 1.0]]) @ np.diag([sx * flip, sy])
    sigma = jitter * strength * size
    out = []
    for p in pts:
        q = (p - centre) @ m.T
        if sigma > 0:
            q = q + rng.normal(0.0, sigma, q.shape)
        out.append(q)
    return out


def render_variants(drawings: Sequence[Strokes], rng: np.random.Generator, **augment_kwargs) -> np.ndarray:
    """One augmented rendering of each drawing: uint8 (N, 28, 28)."""
    out = np.zeros((len(drawings), 28, 28), dtype=np.uint8)
    for i, d in enumerate(drawings):
        out[i] = rasterize(augment_strokes(d, rng, **augment_kwargs))
    return out
