"""Few-shot heads: teach a frozen Inkling model new classes from a handful of drawings, in numpy only.

An Inkling model ends in a linear layer on its embedding, ``logits = embedding @ W + b``, and ships that
layer (``inkling.head``) together with a sample of held-out embeddings of every base class
(``inkling.base_embeddings``; see :mod:`model.contract`). A few-shot head is the same kind of layer with
extra columns for the new classes:

* The base columns are the base model's own ``W`` and ``b``, kept fixed by default, so a base drawing's
  base logits never change; the base classes can only lose a drawing to a new class that scores higher.
* Each new column starts as its class prototype (the mean embedding of its examples, centred on the
  base sample and normalised), scaled like the base columns, with a bias that gives its own examples the
  logit a base class gives its own drawings.
* Then 150 steps of full-batch Adam on class-balanced softmax cross-entropy over the base sample and
  the new examples (with jittered re-renderings of each) sharpen the new columns against the base
  classes and each other. With ``base_pull`` the base columns may move too, held near the base weights
  by an L2 penalty.
* Last, the new biases are lowered, all by the same amount, until the new classes take at most
  ``base_budget`` (1 point) of base accuracy on a share of the base sample that the fit did not see.

The fit is deterministic for a given seed and takes a fraction of a second for tens of new classes.
"""

from __future__ import annotations

import ctypes
import glob
import os
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .raster import rasterize_batch
from .strokes import as_strokes


@dataclass
class FitOptions:
    """How a few-shot head is fitted. The defaults were measured on real drawings (benchmarks/bench_fewshot.py)."""

    steps: int = 150
    lr: float = 0.05  # Adam step, relative to the spread of the base weights
    new_decay: float = 1e-3  # L2 pull of the new columns towards their prototype start
    base_pull: float | None = None  # None: base columns fixed; else the L2 pull that keeps them near W, b
    new_class_weight: float = 1.0  # total loss weight of one new class relative to one base class
    base_per_class: int | None = None  # subsample the base embeddings to at most this many per class
    seed: int = 0
    base_budget: float | None = 0.01  # most base accuracy the new classes may take (see calibrate_bias)
    calibration_share: float = 0.3  # of the base embeddings, kept out of the fit to measure that


@dataclass
class FitResult:
    W: np.ndarray  # (D, K + C) float32: base columns first, then the new classes in order
    b: np.ndarray  # (K + C,) float32
    seconds: float
    loss: list[float] = field(default_factory=list)  # loss before the first step and after the last
    bias_shift: float = 0.0  # applied to the new classes' biases to keep the base accuracy (<= 0)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run numpy's BLAS on this thread only, for the duration.

    The fit multiplies small matrices hundreds of times; a multi-threaded OpenBLAS spends more time
    waking its workers than computing, badly so on a busy 2-core machine (10x slower, measured). Uses
    OpenBLAS's thread-local setting where numpy ships OpenBLAS, and does nothing elsewhere.
    """
    setter = _openblas_local_threads()
    if setter is None:
        yield
        return
    previous = setter(1)
    try:
        yield
    finally:
        setter(previous)


_SETTER: list = []


def _openblas_local_threads():
    if not _SETTER:
        found = None
        libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
        for path in sorted(glob.glob(os.path.join(libs, "*openblas*"))):
            try:
                fn = ctypes.CDLL(path).openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
            found = fn
            break
        _SETTER.append(found)
    return _SETTER[0]


def _prototype_start(
    W0: np.ndarray,
    b0: np.ndarray,
    base_x: np.ndarray,
    base_y: np.ndarray,
    new_x: np.ndarray,
    new_y: np.ndarray,
    n_new: int,
) -> tuple[np.ndarray, np.ndarray]:
    """New columns from class prototypes, scaled and offset like the base columns.

    The direction is the prototype (mean example) minus the centre of the base sample. Scale and bias
    are set from the base drawings, which are all negatives of a new class: the new column scores them
    with the mean and spread with which a typical base column scores the drawings of other classes.
    (Calibrating on the examples themselves instead overrates them: an example always looks like its own
    prototype, most of all when it is the only one.)
    """
    centre = base_x.mean(axis=0)
    base_logits = base_x @ W0 + b0
    own = np.zeros_like(base_logits, dtype=bool)
    own[np.arange(len(base_y)), base_y] = True
    others = np.ma.masked_array(base_logits, mask=own)
    neg_mean = float(others.mean())
    neg_std = float(np.median(others.std(axis=0).filled(np.nan)))
    Wn = np.zeros((W0.shape[0], n_new), dtype=np.float32)
    bn = np.zeros(n_new, dtype=np.float32)
    for c in range(n_new):
        xs = new_x[new_y == c]
        direction = xs.mean(axis=0) - centre
        if not direction.any():
            continue
        scores = base_x @ direction
        spread = float(scores.std()) or 1.0
        Wn[:, c] = direction * (neg_std / spread)
        bn[c] = neg_mean - float(scores.mean()) * (neg_std / spread)
    return Wn, bn


def fit_head(
    W0: np.ndarray,
    b0: np.ndarray,
    base_x: np.ndarray,
    base_y: np.ndarray,
    new_x: np.ndarray,
    new_y: np.ndarray,
    n_new: int,
    options: FitOptions | None = None,
) -> FitResult:
    """Fit a head over K base classes plus ``n_new`` new ones on frozen embeddings.

    ``W0`` (D, K), ``b0`` (K,): the base head. ``base_x`` (M, D), ``base_y`` (M,) in [0, K): embeddings of
    base drawings. ``new_x`` (N, D), ``new_y`` (N,) in [0, n_new): embeddings of the new examples; every
    new class needs at least one.
    """
    with single_threaded_blas():
        return _fit_head(W0, b0, base_x, base_y, new_x, new_y, n_new, options or FitOptions())


def _fit_head(W0, b0, base_x, base_y, new_x, new_y, n_new: int, opt: FitOptions) -> FitResult:
    start = time.perf_counter()
    W0 = np.asarray(W0, dtype=np.float32)
    b0 = np.asarray(b0, dtype=np.float32)
    D, K = W0.shape
    base_x = np.asarray(base_x, dtype=np.float32).reshape(-1, D)
    base_y = np.asarray(base_y, dtype=np.int64).reshape(-1)
    new_x = np.asarray(new_x, dtype=np.float32).reshape(-1, D)
    new_y = np.asarray(new_y, dtype=np.int64).reshape(-1)
    if b0.shape != (K,) or len(base_x) != len(base_y) or len(new_x) != len(new_y):
        raise ValueError("fit_head: inconsistent shapes")
    if len(base_y) and (base_y.min() < 0 or base_y.max() >= K):
        raise ValueError("fit_head: base labels out of range")
    counts = np.bincount(new_y, minlength=n_new) if len(new_y) else np.zeros(n_new, dtype=np.int64)
    if n_new < 1 or len(counts) != n_new or (counts == 0).any():
        raise ValueError("fit_head: every new class needs at least one example")
    rng = np.random.default_rng(opt.seed)
    if opt.base_per_class is not None:
        keep = np.concatenate(
            [rng.permutation(np.flatnonzero(base_y == k))[: opt.base_per_class] for k in range(K)]
        )
        keep.sort()
        base_x, base_y = base_x[keep], base_y[keep]
    calib_x = calib_y = None
    if opt.base_budget is not None and opt.calibration_share > 0:
        held = np.zeros(len(base_y), dtype=bool)
        for k in range(K):
            rows = rng.permutation(np.flatnonzero(base_y == k))
            held[rows[: int(round(len(rows) * opt.calibration_share))]] = True
        calib_x, calib_y = base_x[held], base_y[held]
        base_x, base_y = base_x[~held], base_y[~held]

    Wn, bn = _prototype_start(W0, b0, base_x, base_y, new_x, new_y, n_new)
    X = np.concatenate([base_x, new_x])
    y = np.concatenate([base_y, new_y + K])
    n_all = K + n_new

    # Class-balanced weights: each base class weighs 1, each new class new_class_weight, in total.
    class_n = np.bincount(y, minlength=n_all).astype(np.float32)
    class_w = np.ones(n_all, dtype=np.float32)
    class_w[K:] = opt.new_class_weight
    present = class_n > 0
    class_w[~present] = 0.0
    sample_w = (class_w / np.maximum(class_n, 1))[y]
    sample_w /= sample_w.sum()

    tune_base = opt.base_pull is not None
    lr = opt.lr * float(W0.std() or 1.0)
    rows = np.arange(len(y))
    is_new = y >= K
    new_onehot_w = np.zeros((len(y), n_new), dtype=np.float32)
    new_onehot_w[rows[is_new], y[is_new] - K] = sample_w[is_new]

    # With the base columns fixed, the base part of every softmax is a constant per drawing: keep its
    # max and its sum of exponentials, so that a step costs O(N * n_new), not O(N * (K + n_new)).
    base_logits = X @ W0 + b0
    base_max = base_logits.max(axis=1)
    base_sumexp = np.exp(base_logits - base_max[:, None]).sum(axis=1)
    base_true = np.where(is_new, -np.inf, base_logits[rows, np.minimum(y, K - 1)])

    def new_probs_and_loss(Wn, bn, dW=None, db=None):
        z = X @ Wn + bn
        if dW is None:
            top = np.maximum(base_max, z.max(axis=1))
            e = np.exp(z - top[:, None])
            den = base_sumexp * np.exp(base_max - top) + e.sum(axis=1)
            true_logit = np.where(is_new, z[rows, np.maximum(y - K, 0)], base_true)
            pb = None
        else:  # the base columns move: the whole softmax, every step
            zb = base_logits + X @ dW + db
            top = np.maximum(zb.max(axis=1), z.max(axis=1))
            e = np.exp(z - top[:, None])
            eb = np.exp(zb - top[:, None])
            den = eb.sum(axis=1) + e.sum(axis=1)
            pb = eb / den[:, None]
            true_logit = np.where(is_new, z[rows, np.maximum(y - K, 0)], zb[rows, np.minimum(y, K - 1)])
        loss = float((sample_w * (np.log(den) + top - true_logit)).sum())
        return e / den[:, None], pb, loss

    params = [Wn, bn] + ([np.zeros_like(W0), np.zeros_like(b0)] if tune_base else [])
    anchor = Wn.copy()
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    losses: list[float] = []
    base_onehot_w = None
    if tune_base:
        base_onehot_w = np.zeros((len(y), K), dtype=np.float32)
        base_onehot_w[rows[~is_new], y[~is_new]] = sample_w[~is_new]

    for step in range(opt.steps):
        pn, pb, loss = new_probs_and_loss(*params)
        if step == 0:
            losses.append(loss)
        # d(weighted CE)/d(logits) = w * (p - onehot)
        g = pn * sample_w[:, None] - new_onehot_w
        grads = [X.T @ g + opt.new_decay * (params[0] - anchor), g.sum(axis=0)]
        if tune_base:
            gb = pb * sample_w[:, None] - base_onehot_w
            grads += [X.T @ gb + opt.base_pull * params[2], gb.sum(axis=0) + opt.base_pull * params[3]]
        t = step + 1
        # cosine decay to a tenth of the step size
        step_lr = lr * (0.1 + 0.45 * (1 + np.cos(np.pi * step / opt.steps)))
        for p, gr, mi, vi in zip(params, grads, m, v, strict=True):
            mi *= beta1
            mi += (1 - beta1) * gr
            vi *= beta2
            vi += (1 - beta2) * gr * gr
            p -= (step_lr / (1 - beta1**t)) * mi / (np.sqrt(vi / (1 - beta2**t)) + eps)
    losses.append(new_probs_and_loss(*params)[2])

    W_base = W0 + params[2] if tune_base else W0
    b_base = b0 + params[3] if tune_base else b0
    W = np.concatenate([W_base, params[0]], axis=1).astype(np.float32)
    b = np.concatenate([b_base, params[1]]).astype(np.float32)
    shift = 0.0
    if calib_x is not None and len(calib_y):
        shift = calibrate_bias(W, b, K, calib_x, calib_y, opt.base_budget)
        b[K:] += shift
    return FitResult(W, b, time.perf_counter() - start, losses, shift)


def calibrate_bias(
    W: np.ndarray, b: np.ndarray, K: int, x: np.ndarray, y: np.ndarray, budget: float
) -> float:
    """The shift (<= 0) of the new classes' biases that keeps the base accuracy drop within ``budget``.

    ``x``, ``y``: base drawings the fit has not seen. A base drawing the base head gets right is lost
    when a new class outscores every base class on it; lowering all new biases by the same amount
    gives back the drawings with the smallest margins first, until at most ``budget`` of them is lost.
    """
    logits = x @ W + b
    base_right = logits[:, :K].argmax(axis=1) == y
    margin = logits[base_right, :K].max(axis=1) - logits[base_right, K:].max(axis=1)  # < 0: lost
    allowed = int(np.floor(budget * len(y)))
    lost = np.sort(margin[margin < 0])
    if len(lost) <= allowed:
        return 0.0
    # keep the `allowed` most negative margins lost; everything above them must become >= 0
    return float(lost[allowed] * (1 + 1e-6) - 1e-6)


# --- example drawings -> embeddings --------------------------------------------------------------------


def jitter(strokes: Sequence, rng: np.random.Generator, *, strength: float = 1.0) -> list[np.ndarray]:
    """A plausible variant of a drawing: small rotation, anisotropic scale, shear and wobble of the strokes."""
    strokes = [s[:, :2] for s in as_strokes(strokes)]
    if not strokes:
        return strokes
    pts = np.concatenate(strokes)
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    span = float((pts.max(axis=0) - pts.min(axis=0)).max()) or 1.0
    angle = rng.normal(0, 0.12 * strength)
    sx, sy = np.exp(rng.normal(0, 0.1 * strength, size=2))
    shear = rng.normal(0, 0.1 * strength)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    A = rot @ np.array([[sx, shear], [0.0, sy]])
    out = []
    for s in strokes:
        moved = (s - centre) @ A.T
        moved += rng.normal(0, 0.01 * strength * span, size=2)  # each stroke shifts a little on its own
        out.append(moved)
    return out


def drawing_seed(strokes: Sequence, seed: int = 0) -> np.random.Generator:
    """A random generator that depends only on the drawing itself (and ``seed``), never on its position,
    so that the jittered copies of a drawing are the same however the class set is edited."""
    digest = 0
    for s in as_strokes(strokes):
        digest = zlib.crc32(np.ascontiguousarray(s[:, :2], dtype=np.float64).tobytes(), digest)
    return np.random.default_rng([seed, digest])


def embed_drawings(classifier, drawings: Sequence, *, copies: int = 0, seed: int = 0) -> np.ndarray:
    """Embeddings of drawings followed by those of ``copies`` jittered variants of each drawing.

    Returns (N * (1 + copies), D) float32: the N drawings in order, then each copy round in order.
    """
    drawings = list(drawings)
    batch = list(drawings)
    rngs = [drawing_seed(d, seed) for d in drawings]
    for _ in range(copies):
        batch.extend(jitter(d, rng) for d, rng in zip(drawings, rngs, strict=True))
    if not batch:
        return np.zeros((0, classifier.meta.embedding_dim), dtype=np.float32)
    images = rasterize_batch(batch)
    return np.asarray(classifier.embed(images), dtype=np.float32)
