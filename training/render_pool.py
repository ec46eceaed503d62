"""Each epoch's stroke samples, rendered by a second process one epoch ahead of the training step.

Stroke-space augmentation then rasterizing costs about 2 ms a drawing in Python, as long as a training step
of the whole batch takes per image on two cores. So the variants of epoch e+1 are rendered in a worker
process while epoch e trains, into one uint8 array per epoch; the step never waits for a drawing unless the
worker falls behind (the loop logs how long it waited). Every epoch gets new variants, seeded by the
training seed and the epoch, so a resumed run renders exactly what the interrupted one would have.
"""

from __future__ import annotations

import multiprocessing

import numpy as np

from .stroke_augment import augment_strokes

CHUNKS = 8  # an epoch is rendered in this many chunks, each seeded apart (the same with or without workers)
_DRAWINGS: list[list] | None = None  # the worker's copy of every drawing's versions


def _init_worker(drawings: list[list]) -> None:
    global _DRAWINGS
    _DRAWINGS = drawings
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def render_plan(plan: tuple, drawings: list[list] | None = None) -> np.ndarray:
    """Render one chunk: plan = (drawing indices, partial probabilities, strength, seed)."""
    from inkling.model.raster import rasterize

    idx, partial_p, strength, seed = plan
    drawings = drawings if drawings is not None else _DRAWINGS
    rng = np.random.default_rng(seed)
    out = np.zeros((len(idx), 28, 28), dtype=np.uint8)
    for i, (j, p) in enumerate(zip(idx.tolist(), partial_p.tolist(), strict=True)):
        versions = drawings[j]
        strokes = versions[int(rng.integers(len(versions)))]
        out[i] = rasterize(augment_strokes(strokes, rng, strength=strength, partial_p=p))
    return out


class RenderPool:
    """Plans each epoch's stroke samples (``groups``: label, drawing indices, samples, partial probability)
    and renders them in ``workers`` processes (0: in this process, when asked)."""

    def __init__(
        self, versions: list[list], groups: list[tuple], *, strength: float, seed: int, workers: int = 1
    ):
        self.versions, self.groups = versions, groups
        self.strength, self.seed, self.workers = strength, seed, workers
        self.per_epoch = sum(g[2] for g in groups)
        self.pending: dict[int, tuple] = {}
        self.pool = None
        if workers > 0 and self.per_epoch:
            ctx = multiprocessing.get_context("spawn")
            self.pool = ctx.Pool(workers, initializer=_init_worker, initargs=(versions,))

    def plan(self, epoch: int) -> tuple[tuple, np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch, 11])
        idx, probs, labels = [], [], []
        for label, members, per, p in self.groups:
            idx.append(members[rng.integers(len(members), size=per)])
            probs.append(np.full(per, p))
            labels.append(np.full(per, label, np.int64))
        if not idx:
            return (np.zeros(0, np.int64), np.zeros(0), self.strength, [self.seed, epoch, 13]), np.zeros(
                0, np.int64
            )
        plan = (np.concatenate(idx), np.concatenate(probs), self.strength, [self.seed, epoch, 13])
        return plan, np.concatenate(labels)

    def _chunks(self, plan: tuple, n: int) -> list[tuple]:
        idx, probs, strength, seed = plan
        cuts = np.linspace(0, len(idx), n + 1).astype(int)
        return [
            (idx[a:b], probs[a:b], strength, [*seed, i])
            for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True))
        ]

    def request(self, epoch: int) -> None:
        """Start rendering an epoch in the background (no-op without workers, or when already asked)."""
        if self.pool is not None and epoch not in self.pending:
            plan, labels = self.plan(epoch)
            jobs = [self.pool.apply_async(render_plan, (c,)) for c in self._chunks(plan, CHUNKS)]
            self.pending[epoch] = (jobs, labels)

    def get(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """An epoch's images (N, 28, 28) uint8 and labels, in plan order."""
        if self.pool is None:
            plan, labels = self.plan(epoch)
            images = [render_plan(c, self.versions) for c in self._chunks(plan, CHUNKS)]
            return np.concatenate(images), labels
        self.request(epoch)
        jobs, labels = self.pending.pop(epoch)
        return np.concatenate([j.get() for j in jobs]), labels

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool = None
