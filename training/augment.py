"""Batched augmentation for sketches, run on whatever device holds the batch (the GPU when there is one).

Live drawings are normalized by the rasterizer (aligned, scaled to fill the box, centred), so the
augmentations stay mild: small rotations, shears, scale and shifts that a hand really produces, and
left-right mirroring, which keeps the meaning of almost every doodle.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment(
    x: torch.Tensor,
    *,
    max_rotate_deg: float = 12.0,
    max_shear: float = 0.15,
    scale_range: tuple[float, float] = (0.88, 1.08),
    max_shift: float = 0.08,
    flip_p: float = 0.5,
    strength: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random affine warp + mirror of a float batch (B, 1, 28, 28) in [0, 1].

    ``strength`` scales every range at once (rotation, shear, scale and shift): bigger networks trained
    for longer take stronger augmentation.
    """
    b = x.shape[0]
    max_rotate_deg, max_shear, max_shift = (v * strength for v in (max_rotate_deg, max_shear, max_shift))
    scale_range = tuple(1.0 + (s - 1.0) * strength for s in scale_range)
    dev = x.device

    def u(lo, hi):
        return torch.rand(b, device=dev, generator=generator) * (hi - lo) + lo

    angle = u(-max_rotate_deg, max_rotate_deg) * (math.pi / 180)
    shear = u(-max_shear, max_shear)
    sx = u(*scale_range)
    sy = sx * u(0.95, 1.05)
    flip = torch.where(torch.rand(b, device=dev, generator=generator) < flip_p, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # theta maps output coords to input coords, so divide by the scale to enlarge by it.
    a11 = cos / sx * flip
    a12 = (-sin + shear * cos) / sx
    a21 = sin / sy * flip
    a22 = (cos + shear * sin) / sy
    theta = torch.stack(
        [
            torch.stack([a11, a12, u(-max_shift, max_shift) * 2], dim=1),
            torch.stack([a21, a22, u(-max_shift, max_shift) * 2], dim=1),
        ],
        dim=1,
    ).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
