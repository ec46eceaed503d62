"""The few-shot head math on synthetic embeddings, and the example jitter. No model file needed."""

import time

import numpy as np
import pytest
from inkling.model.fewshot import (
    FitOptions,
    calibrate_bias,
    drawing_seed,
    fit_head,
    jitter,
    single_threaded_blas,
)

D, K, C = 64, 20, 5


class Gaussians:
    """Isotropic Gaussian classes; the base head is their Bayes-optimal linear classifier."""

    def __init__(self, seed=0, spread=0.55):
        self.rng = np.random.default_rng(seed)
        self.mu = self.rng.normal(0, spread, (K + C, D)).astype(np.float32)
        self.W0 = self.mu[:K].T.copy()
        self.b0 = -0.5 * (self.mu[:K] ** 2).sum(axis=1)

    def sample(self, classes, n):
        x = np.concatenate([self.mu[c] + self.rng.normal(0, 1, (n, D)) for c in classes]).astype(np.float32)
        return x, np.repeat(np.asarray(classes), n)


@pytest.fixture(scope="module")
def world():
    g = Gaussians()
    base_x, base_y = g.sample(range(K), 40)
    new_x, new_y = g.sample(range(K, K + C), 10)
    test_x, test_y = g.sample(range(K + C), 200)
    return g, base_x, base_y, new_x, new_y - K, test_x, test_y


def accuracy(W, b, x, y, mask):
    return float(((x[mask] @ W + b).argmax(1) == y[mask]).mean())


def test_new_classes_are_learned_and_base_kept(world):
    g, base_x, base_y, new_x, new_y, test_x, test_y = world
    result = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C)
    assert result.W.shape == (D, K + C) and result.b.shape == (K + C,)
    base, new = test_y < K, test_y >= K
    before = accuracy(g.W0, g.b0, test_x, test_y, base)
    assert accuracy(result.W, result.b, test_x, test_y, base) >= before - 0.01
    # 10 noisy shots in 64 dimensions: well above chance (1/25), close to what the true means give
    assert accuracy(result.W, result.b, test_x, test_y, new) >= 0.7
    # the base columns are exactly the base head (fixed by default)
    np.testing.assert_array_equal(result.W[:, :K], g.W0)
    np.testing.assert_array_equal(result.b[:K], g.b0.astype(np.float32))
    assert result.loss[-1] < result.loss[0]


def test_optimisation_improves_on_the_prototype_start(world):
    g, base_x, base_y, new_x, new_y, test_x, test_y = world
    start = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C, FitOptions(steps=0))
    fitted = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C)
    assert fitted.loss[-1] < start.loss[0]
    # the prototype start steals base drawings; the fit learns where the new classes end
    base = test_y < K
    assert accuracy(fitted.W, fitted.b, test_x, test_y, base) >= accuracy(
        start.W, start.b, test_x, test_y, base
    )


def test_base_budget_limits_what_new_classes_take_from_the_base():
    g = Gaussians(seed=3)
    g.mu[K:] = 0.7 * g.mu[:C] + 0.5 * g.mu[K:]  # new classes that look like base classes
    base_x, base_y = g.sample(range(K), 200)
    new_x, new_y = g.sample(range(K, K + C), 10)
    new_y -= K
    test_x, test_y = g.sample(range(K + C), 200)
    base = test_y < K
    before = accuracy(g.W0, g.b0, test_x, test_y, base)
    free = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C, FitOptions(base_budget=None))
    held = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C, FitOptions(base_budget=0.0))
    assert free.bias_shift == 0 and held.bias_shift < 0
    free_base = accuracy(free.W, free.b, test_x, test_y, base)
    held_base = accuracy(held.W, held.b, test_x, test_y, base)
    assert free_base < before - 0.005 and held_base >= before - 0.002
    assert accuracy(held.W, held.b, test_x, test_y, ~base) > 2 / (K + C)  # fewer, but still learned


def test_calibrate_bias_is_exact_on_its_drawings():
    # 1 base class, 1 new one; the base head gets all 100 drawings right, the new class outscores it
    # on 10 of them by margins 1..10
    x = np.zeros((100, 2), dtype=np.float32)
    x[:10, 1] = np.arange(1, 11)
    W = np.array([[0.0, 0.0], [0.0, 2.0]], dtype=np.float32)  # new logit 2 * x1, base logit 0
    b = np.array([0.0, 0.0], dtype=np.float32)
    y = np.zeros(100, dtype=np.int64)
    assert calibrate_bias(W, b, 1, x, y, budget=0.10) == 0.0  # 10 lost, 10 allowed
    shift = calibrate_bias(W, b, 1, x, y, budget=0.05)  # keep only the 5 widest margins lost
    lost = ((x @ W + b + [0, shift]).argmax(1) == 1).sum()
    assert lost == 5 and -12 < shift < -10
    assert calibrate_bias(W, b, 1, x, y, budget=0.0) < -20


def test_base_pull_lets_base_columns_move_only_a_little(world):
    g, base_x, base_y, new_x, new_y, _, _ = world
    result = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C, FitOptions(base_pull=1.0))
    moved = np.abs(result.W[:, :K] - g.W0).max()
    assert 0 < moved < 0.05 * np.abs(g.W0).max()


def test_deterministic_and_fast(world):
    g, base_x, base_y, new_x, new_y, _, _ = world
    a = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C)
    b = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.b, b.b)
    # the requirement is 2 s for 10 classes x 10 drawings with a real model; this is smaller
    start = time.perf_counter()
    fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C)
    assert time.perf_counter() - start < 2.0


def test_single_example_per_class_and_fewer_base_embeddings(world):
    g, base_x, base_y, new_x, new_y, test_x, test_y = world
    one = np.flatnonzero(np.r_[True, new_y[1:] != new_y[:-1]])  # the first example of each class
    result = fit_head(g.W0, g.b0, base_x, base_y, new_x[one], new_y[one], C, FitOptions(base_per_class=10))
    assert np.isfinite(result.W).all()
    assert accuracy(result.W, result.b, test_x, test_y, test_y >= K) > 3 / (K + C)


def test_bad_inputs(world):
    g, base_x, base_y, new_x, new_y, _, _ = world
    with pytest.raises(ValueError, match="at least one example"):
        fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C + 1)  # class C has no example
    with pytest.raises(ValueError, match="out of range"):
        fit_head(g.W0, g.b0, base_x, base_y + K, new_x, new_y, C)
    with pytest.raises(ValueError, match="inconsistent"):
        fit_head(g.W0, g.b0, base_x, base_y[:-1], new_x, new_y, C)


def test_single_threaded_blas_restores_the_setting():
    with single_threaded_blas():
        a = np.ones((50, 50), dtype=np.float32) @ np.ones((50, 50), dtype=np.float32)
    assert a[0, 0] == 50
    with single_threaded_blas(), single_threaded_blas():  # nests
        pass


def test_jitter_is_small_deterministic_per_drawing_and_keeps_strokes():
    drawing = [np.array([[0, 0, 0], [100, 0, 10], [100, 100, 20.0]]), np.array([[50.0, 50], [60, 70]])]
    a = jitter(drawing, drawing_seed(drawing))
    b = jitter(drawing, drawing_seed(drawing))
    assert len(a) == 2 and [s.shape for s in a] == [(3, 2), (2, 2)]
    for s, t in zip(a, b, strict=True):
        np.testing.assert_array_equal(s, t)
    other = jitter(drawing, drawing_seed([drawing[1]]))
    assert not np.allclose(a[1], other[1])
    centred = np.concatenate([s[:, :2] for s in drawing]) - 50
    assert np.abs(np.concatenate(a) - centred).max() < 40  # a variant, not a different drawing
    assert jitter([], np.random.default_rng(0)) == []
