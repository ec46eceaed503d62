"""Few-shot heads: teach a frozen Inkling model new classes from one to a handful of drawings, in numpy only.

An Inkling model ends in a linear layer on its embedding, ``logits = embedding @ W + b``, and ships that
layer (``inkling.head``) together with a sample of held-out embeddings of every base class
(``inkling.base_embeddings``; see :mod:`model.contract`). A few-shot head is the same kind of layer with
extra columns for the new classes. It reads the model's *teaching features*
(``Classifier.teach_features``): the embedding, then, where the model gives it, the ``pooled`` output (an
earlier conv block's maps averaged over each quarter of the drawing) scaled to the embedding's length. The
embedding is shaped by the base classes; the pooled maps keep the shape detail that tells a new thing (a
letter, a logo) from them. The base columns read the embedding only (zero rows for the pooled part).

* Each example drawing is re-drawn a few times (:func:`redraw`: the small changes another hand makes:
  slant, stretch, a gentle warp, strokes placed and ended a little differently), and the variants are
  embedded with the example, so that even one drawing gives its class some spread to learn from.
* The base columns are the base model's own ``W`` and ``b``, kept fixed by default, so a base drawing's
  base logits never change; the base classes can only lose a drawing to a new class that scores higher.
* Each new column starts as its class prototype (the mean embedding of its examples, centred on the
  base sample), scaled like the base columns, then full-batch Adam on class-balanced softmax
  cross-entropy over the base sample and the new examples sharpens the new columns against the base
  classes and each other. With ``base_pull`` the base columns may move too, held near the base weights
  by an L2 penalty.
* Last, the new biases are moved, all by the same amount, up or down, until the new classes take
  ``base_budget`` of base accuracy: measured by cross-fitting, each base drawing scored by a head
  fitted without it, and the final head the average of those heads. A fit on very few examples is shy
  of its new classes (a handful of positives against a thousand negatives); spending the budget on
  purpose is what makes one drawing enough (``benchmarks/bench_fewshot.py`` measures both sides).

The fit is deterministic for a given seed and takes a fraction of a second for tens of new classes.
"""

from __future__ import annotations

import ctypes
import dataclasses
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

    steps: int = 60
    lr: float = 0.15  # Adam step, relative to the spread of the base weights
    new_decay: float = 1e-4  # L2 pull of the new columns towards their prototype start
    base_pull: float | None = None  # None: base columns fixed; else the L2 pull that keeps them near W, b
    new_class_weight: float = 1.0  # total loss weight of one new class relative to one base class
    base_per_class: int | None = None  # subsample the base embeddings to at most this many per class
    seed: int = 0
    # Base accuracy the new classes take (a share of the base sample's drawings; None: no calibration).
    # Under the 1 point promised: a sample of 16 drawings a class measures it only to a few tenths.
    # Chosen with the 345-class model on the tuning alphabets (bench_fewshot.py --report tune, 8 trials of
    # 10 characters): 0.009 lost 0.3 points of base top-1 on average, 0.7 in the worst trial (0.012: 0.4
    # and 0.8). The shipped model's embedding has since learned those alphabets as background classes, so
    # the budget is checked on the report alphabets instead: 0.2-0.3 points lost, at most 0.6 in a trial.
    base_budget: float | None = 0.009
    calibration_folds: int = 3  # cross-fitting folds of the base sample that measure the budget
    calibration_share: float = 0.3  # with fewer than 2 folds: the base sample kept out of the one fit


@dataclass
class FitResult:
    W: np.ndarray  # (D, K + C) float32: base columns first, then the new classes in order
    b: np.ndarray  # (K + C,) float32
    seconds: float
    loss: list[float] = field(default_factory=list)  # loss before the first step and after the last
    bias_shift: float = 0.0  # added to the new classes' biases so that they take base_budget of the base


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
    negatives = _negative_scores(W0, b0, base_x, base_y)
    Wn = np.zeros((W0.shape[0], n_new), dtype=np.float32)
    bn = np.zeros(n_new, dtype=np.float32)
    for c in range(n_new):
        Wn[:, c], bn[c] = _prototype_column(new_x[new_y == c].mean(axis=0), base_x, negatives)
    return Wn, bn


def _negative_scores(W0, b0, base_x, base_y) -> tuple[np.ndarray, float, float]:
    """(centre of the base sample, mean and typical spread of a base column's logits on other classes)."""
    base_logits = base_x @ W0 + b0
    own = np.zeros_like(base_logits, dtype=bool)
    own[np.arange(len(base_y)), base_y] = True
    others = np.ma.masked_array(base_logits, mask=own)
    return base_x.mean(axis=0), float(others.mean()), float(np.median(others.std(axis=0).filled(np.nan)))


def _prototype_column(prototype: np.ndarray, base_x: np.ndarray, negatives) -> tuple[np.ndarray, float]:
    centre, neg_mean, neg_std = negatives
    direction = prototype - centre
    if not direction.any():
        return np.zeros_like(direction), 0.0
    scores = base_x @ direction
    scale = neg_std / (float(scores.std()) or 1.0)
    return direction * scale, neg_mean - float(scores.mean()) * scale


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
    """Fit a head over K base classes plus ``n_new`` new ones on frozen features.

    ``W0`` (D, K), ``b0`` (K,): the base head (rows for features it does not read are zero). ``base_x``
    (M, D), ``base_y`` (M,) in [0, K): features of base drawings. ``new_x`` (N, D), ``new_y`` (N,) in
    [0, n_new): features of the new examples; every new class needs at least one.
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
    fit = lambda bx, by: _fit_once(W0, b0, bx, by, new_x, new_y, n_new, opt)  # noqa: E731
    if opt.base_budget is None or not len(base_y):
        W, b, losses = fit(base_x, base_y)
        return FitResult(W, b, time.perf_counter() - start, losses, 0.0)

    # Which base drawings each fit leaves out, stratified by class so every class is measured.
    folds = min(max(int(opt.calibration_folds), 1), 10)
    fold = np.full(len(base_y), -1)
    for k in range(K):
        rows = rng.permutation(np.flatnonzero(base_y == k))
        if folds >= 2:
            fold[rows] = np.arange(len(rows)) % folds
        else:
            fold[rows[: int(round(len(rows) * opt.calibration_share))]] = 0
    heads, margins, losses = [], [], []
    for f in range(folds):
        out = fold == f
        W, b, loss = fit(base_x[~out], base_y[~out])
        heads.append((W, b))
        losses.append(loss)
        margins.append(base_margins(W, b, K, base_x[out], base_y[out]))
    W = np.mean([h[0] for h in heads], axis=0).astype(np.float32)
    b = np.mean([h[1] for h in heads], axis=0).astype(np.float32)
    if opt.base_pull is None:  # fixed base columns stay exactly the base head (no rounding by the mean)
        W[:, :K], b[:K] = W0, b0
    n_measured = int((fold >= 0).sum())
    shift = budget_shift(np.concatenate(margins), n_measured, opt.base_budget)
    b[K:] += np.float32(shift)
    loss = [float(np.mean([lo[0] for lo in losses])), float(np.mean([lo[-1] for lo in losses]))]
    return FitResult(W, b, time.perf_counter() - start, loss, shift)


def _fit_once(W0, b0, base_x, base_y, new_x, new_y, n_new: int, opt: FitOptions):
    """One optimisation of the new columns (and, with base_pull, the base ones): (W, b, [loss0, loss])."""
    K = W0.shape[1]
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
    return W, b, losses


def base_margins(W: np.ndarray, b: np.ndarray, K: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For the base drawings ``x`` that the base columns get right: best base logit minus best new logit
    (below 0: a new class takes the drawing)."""
    logits = x @ W + b
    right = logits[:, :K].argmax(axis=1) == y
    return logits[right, :K].max(axis=1) - logits[right, K:].max(axis=1)


def budget_shift(margins: np.ndarray, n_drawings: int, budget: float) -> float:
    """The shift of every new bias after which the new classes take ``budget`` of ``n_drawings`` base
    drawings, given the margins (:func:`base_margins`) of those the base gets right: up when the new
    classes take less, down when they take more."""
    m = np.sort(np.asarray(margins, dtype=np.float64))
    if not len(m):
        return 0.0
    allowed = min(int(np.floor(budget * n_drawings)), len(m) - 1)
    # the `allowed` smallest margins are given up; the next one must stay (just) positive
    return float(m[allowed] - 1e-6 * (1.0 + abs(m[allowed])))


# --- example drawings -> embeddings --------------------------------------------------------------------


# Variants per example drawing, by how many examples its class has: a class's examples with their
# variants make about VARIANT_TARGET embeddings, at least MIN_VARIANTS and at most MAX_VARIANTS a drawing.
# (Measured on held-out people's handwritten characters: 8 variants of a single drawing gain about 4
# points of top-1 over none; past about 25 embeddings a class the gain is within noise, and every
# variant costs a render and an embedding: about 2 ms here.)
VARIANT_TARGET = 25
MIN_VARIANTS = 1
MAX_VARIANTS = 8


def variants_for(n_examples: int) -> int:
    """How many re-drawings of each example a class with ``n_examples`` examples is taught with."""
    n = max(int(n_examples), 1)
    return int(min(MAX_VARIANTS, max(MIN_VARIANTS, round(VARIANT_TARGET / n) - 1)))


def redraw(strokes: Sequence, rng: np.random.Generator, *, strength: float = 1.0) -> list[np.ndarray]:
    """A plausible re-drawing of a drawing, as another hand (or the same one, another time) might make it.

    The whole drawing is slanted, stretched and sheared a little and bent by a gentle smooth warp (a few
    long waves over its plane); each stroke is moved, turned and scaled a little on its own, and may
    start a little later or end a little sooner. ``strength`` scales every range. Returns (n, 2) arrays,
    centred on the drawing's bounding box (the rasterizer does not care where a drawing is).
    """
    strokes = [np.asarray(s[:, :2], dtype=np.float64) for s in as_strokes(strokes)]
    if not strokes:
        return strokes
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    span = float((hi - lo).max()) or 1.0
    s = float(strength)
    angle = rng.normal(0, 0.12 * s)
    sx, sy = np.exp(rng.normal(0, 0.1 * s, size=2))
    shear = rng.normal(0, 0.12 * s)
    A = _rotation(angle) @ np.array([[sx, shear], [0.0, sy]])
    waves = 3
    freq = rng.normal(0, 2 * np.pi / span, size=(waves, 2))  # about one wave across the drawing
    phase = rng.uniform(0, 2 * np.pi, size=waves)
    amplitude = rng.normal(0, 0.03 * s * span, size=(waves, 2))
    out = []
    for stroke in strokes:
        # a later start and a sooner end, up to 6% of the stroke's length each
        stroke = _trim(stroke, *rng.uniform(0, 0.06 * s, size=2))
        own = stroke.mean(axis=0)
        turn = _rotation(rng.normal(0, 0.05 * s)) * np.exp(rng.normal(0, 0.05 * s))
        stroke = (stroke - own) @ turn.T + own + rng.normal(0, 0.015 * s * span, size=2)
        stroke = stroke + np.sin(stroke @ freq.T + phase) @ amplitude
        out.append((stroke - centre) @ A.T)
    return out


def _trim(stroke: np.ndarray, start: float, end: float) -> np.ndarray:
    """The stroke without the first ``start`` and the last ``end`` share of its length."""
    if len(stroke) < 2:
        return stroke
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])
    length = along[-1]
    if length == 0:
        return stroke
    lo, hi = start * length, (1 - end) * length
    inside = stroke[(along > lo) & (along < hi)]
    ends = [
        np.array([[np.interp(t, along, stroke[:, 0]), np.interp(t, along, stroke[:, 1])]]) for t in (lo, hi)
    ]
    return np.concatenate([ends[0], inside, ends[1]])


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def drawing_digest(strokes: Sequence) -> int:
    """A checksum of a drawing's points: the same drawing gives the same digest wherever it is kept."""
    digest = 0
    for s in as_strokes(strokes):
        digest = zlib.crc32(np.ascontiguousarray(s[:, :2], dtype=np.float64).tobytes(), digest)
    return digest


def drawing_seed(strokes: Sequence, seed: int = 0) -> np.random.Generator:
    """A random generator that depends only on the drawing itself (and ``seed``), never on its position,
    so that the variants of a drawing are the same however the class set is edited."""
    return np.random.default_rng([seed, drawing_digest(strokes)])


def embed_examples(
    classifier, drawings: Sequence, copies: int, *, seed: int = 0, cache: dict | None = None
) -> list[np.ndarray]:
    """For each drawing, a (1 + copies, D) float32 array: its teaching features
    (``classifier.teach_features``), then its re-drawings'.

    Everything not in ``cache`` is rendered and embedded in one batch. ``cache`` (optional, kept by the
    caller across refits) maps (drawing digest, seed) to the rows computed so far for a drawing; a
    drawing's variants depend only on itself, so rows computed once stay right.
    """
    drawings = list(drawings)
    keys = [(drawing_digest(d), seed) for d in drawings]
    cache = {} if cache is None else cache
    todo = [i for i, k in enumerate(keys) if k not in cache or len(cache[k]) < 1 + copies]
    batch = []
    for i in todo:
        rng = drawing_seed(drawings[i], seed)
        batch.append(drawings[i])
        batch.extend(redraw(drawings[i], rng) for _ in range(copies))
    if batch:
        emb = np.asarray(classifier.teach_features(rasterize_batch(batch)), dtype=np.float32)
        for j, i in enumerate(todo):
            cache[keys[i]] = emb[j * (1 + copies) : (j + 1) * (1 + copies)]
    return [cache[k][: 1 + copies] for k in keys]


# --- how well each taught class is learned -------------------------------------------------------------


@dataclass
class ClassQuality:
    """Leave-one-out over a taught class's own examples (see :func:`leave_one_out`)."""

    examples: int
    recognised: int | None  # examples recognised when left out; None with a single example
    confused_with: dict[str, int] = field(default_factory=dict)  # where the others went: class -> count

    @property
    def share(self) -> float | None:
        return None if self.recognised is None else self.recognised / self.examples

    def to_json(self) -> dict:
        return {"examples": self.examples, "recognised": self.recognised, "confused_with": self.confused_with}

    @classmethod
    def from_json(cls, data) -> ClassQuality | None:
        try:
            rec = data["recognised"]
            return cls(
                int(data["examples"]),
                None if rec is None else int(rec),
                {str(k): int(v) for k, v in dict(data.get("confused_with", {})).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


QUALITY_ROUNDS = 5  # most refits that measure the quality figure (leave-one-out up to 5 examples a class)


def leave_one_out(
    W0: np.ndarray,
    b0: np.ndarray,
    classes: Sequence[str],
    base_x: np.ndarray,
    base_y: np.ndarray,
    per_example: Sequence[Sequence[np.ndarray]],
    options: FitOptions | None = None,
    rounds: int = QUALITY_ROUNDS,
) -> list[ClassQuality]:
    """How each new class does on its own examples when they are left out of its teaching.

    ``W0``, ``b0``: the base head; ``classes``: base classes, then the new ones in order;
    ``per_example[c][i]``: the (1 + variants, D) embeddings of example i of new class c (its own first).
    Each of up to ``rounds`` refits leaves out example r, r + rounds, ... of every class that has two
    or more (with up to ``rounds`` examples a class, that is leave-one-out), with the same fit but one
    calibration split instead of cross-fitting, and classifies the left-out drawings (not their
    re-drawings) among all classes. An example counts as recognised when its own class ranks first,
    and as confused with whichever class ranks first instead.
    """
    opt = dataclasses.replace(options or FitOptions(), calibration_folds=1)
    K = W0.shape[1]
    counts = [len(ex) for ex in per_example]
    hits = [0] * len(per_example)
    confused: list[dict[str, int]] = [{} for _ in per_example]
    for r in range(min(rounds, max(counts, default=0))):
        held = [(c, i) for c, n in enumerate(counts) if n >= 2 for i in range(r, n, rounds)]
        if not held:
            continue
        out = set(held)
        xs, ys = [], []
        for c, ex in enumerate(per_example):
            kept = [e for i, e in enumerate(ex) if (c, i) not in out]
            xs += kept
            ys += [np.full(len(e), c) for e in kept]
        fit = fit_head(W0, b0, base_x, base_y, np.concatenate(xs), np.concatenate(ys), len(per_example), opt)
        queries = np.stack([per_example[c][i][0] for c, i in held])
        best = (queries @ fit.W + fit.b).argmax(axis=1)
        for (c, _), k in zip(held, best, strict=True):
            if k == K + c:
                hits[c] += 1
            else:
                confused[c][classes[k]] = confused[c].get(classes[k], 0) + 1
    return [ClassQuality(n, hits[c] if n >= 2 else None, confused[c]) for c, n in enumerate(counts)]
