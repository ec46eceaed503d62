"""The few-shot head math on synthetic embeddings, the re-drawings of an example, the embedding cache and
the leave-one-out quality figure. No model file needed (tests/test_classset.py runs the real model)."""

import time

import numpy as np
import pytest
from inkling.model.fewshot import (
    MAX_VARIANTS,
    MIN_VARIANTS,
    FitOptions,
    base_margins,
    budget_shift,
    drawing_seed,
    embed_examples,
    fit_head,
    leave_one_out,
    redraw,
    single_threaded_blas,
    variants_for,
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
    # the budget (0.8% of the base sample) is spent, measured on 800 drawings: within noise of it
    assert before - 0.02 <= accuracy(result.W, result.b, test_x, test_y, base) <= before
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
    # both spend the same base budget; on isotropic classes the prototypes are already near the best
    # linear rule, and the fit must not lose that
    new = test_y >= K
    assert (
        accuracy(fitted.W, fitted.b, test_x, test_y, new)
        >= accuracy(start.W, start.b, test_x, test_y, new) - 0.02
    )


def test_a_shy_fit_is_raised_to_spend_the_budget():
    """One example a class against hundreds of base drawings: the fit keeps its new classes low; the
    calibration raises them until they take the budget, and so recognises more of them."""
    g = Gaussians(seed=5)
    base_x, base_y = g.sample(range(K), 40)
    new_x, new_y = g.sample(range(K, K + C), 1)
    test_x, test_y = g.sample(range(K + C), 200)
    shy = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y - K, C, FitOptions(base_budget=None))
    spent = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y - K, C, FitOptions(base_budget=0.02))
    assert spent.bias_shift > 0
    new, base = test_y >= K, test_y < K
    assert accuracy(spent.W, spent.b, test_x, test_y, new) > accuracy(shy.W, shy.b, test_x, test_y, new)
    before = accuracy(g.W0, g.b0, test_x, test_y, base)
    assert accuracy(spent.W, spent.b, test_x, test_y, base) >= before - 0.04


def test_budget_shift_gives_up_exactly_the_budget_both_ways():
    # 1 base class, 1 new; margins (base minus new logit) of the 100 drawings the base gets right
    x = np.zeros((100, 2), dtype=np.float32)
    x[:, 1] = np.arange(100)  # new logit = x1, base logit = 50: margins 50..-49
    W = np.array([[0.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    b = np.array([50.0, 0.0], dtype=np.float32)
    y = np.zeros(100, dtype=np.int64)
    margins = base_margins(W, b, 1, x, y)
    assert len(margins) == 100 and margins.min() == -49
    for budget, lost in [(0.0, 0), (0.05, 5), (0.3, 30), (0.6, 60)]:
        shift = budget_shift(margins, 100, budget)
        after = (x @ W + b + [0, shift]).argmax(1)
        assert (after == 1).sum() == lost, (budget, shift)
    assert budget_shift(margins, 100, 0.05) < 0 < budget_shift(margins, 100, 0.6)  # down, then up
    assert budget_shift(np.array([]), 100, 0.1) == 0.0


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
    held = fit_head(g.W0, g.b0, base_x, base_y, new_x, new_y, C, FitOptions(base_budget=0.002))
    assert free.bias_shift == 0 and held.bias_shift < 0
    free_base = accuracy(free.W, free.b, test_x, test_y, base)
    held_base = accuracy(held.W, held.b, test_x, test_y, base)
    assert free_base < before - 0.005 and held_base >= before - 0.005
    assert accuracy(held.W, held.b, test_x, test_y, ~base) > 2 / (K + C)  # fewer, but still learned


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


def test_redraw_is_small_deterministic_per_drawing_and_keeps_strokes():
    drawing = [np.array([[0, 0, 0], [100, 0, 10], [100, 100, 20.0]]), np.array([[50.0, 50], [60, 70]])]
    a = redraw(drawing, drawing_seed(drawing))
    b = redraw(drawing, drawing_seed(drawing))
    assert len(a) == 2 and all(s.ndim == 2 and s.shape[1] == 2 and len(s) >= 2 for s in a)
    for s, t in zip(a, b, strict=True):
        np.testing.assert_array_equal(s, t)
    other = redraw(drawing, drawing_seed([drawing[1]]))
    assert not np.allclose(a[1][:2], other[1][:2])
    # a re-drawing, not a different drawing: every point stays near where it was (centred)
    pts, orig = np.concatenate(a), np.concatenate([s[:, :2] for s in drawing]) - 50
    assert np.abs(pts).max() < 90 and np.abs(pts.mean(axis=0) - orig.mean(axis=0)).max() < 20
    assert redraw([], np.random.default_rng(0)) == []


def test_redraw_changes_shape_a_little_every_time():
    square = [np.array([[0.0, 0], [100, 0], [100, 100], [0, 100], [0, 0]])]
    rng = np.random.default_rng(1)
    spans = [np.ptp(np.concatenate(redraw(square, rng)), axis=0) for _ in range(50)]
    ratio = np.array([s[0] / s[1] for s in spans])
    assert 0.02 < ratio.std() < 0.4 and abs(np.median(ratio) - 1) < 0.1
    assert redraw([np.array([[5.0, 5.0]])], rng)[0].shape == (1, 2)  # a dot stays a dot


def test_variants_per_example_fall_as_the_class_grows():
    counts = [variants_for(n) for n in range(1, 40)]
    assert counts[0] == MAX_VARIANTS and counts[-1] == MIN_VARIANTS
    assert all(a >= b for a, b in zip(counts, counts[1:], strict=False))
    assert max(n * (1 + variants_for(n)) for n in range(1, 10)) <= 30  # capped cost per class


class CountingEmbedder:
    """Stands in for a Classifier: the embedding of an image is its mean ink per row."""

    teach_dim = 28

    def __init__(self):
        self.images = 0

    def teach_features(self, images):
        self.images += len(images)
        return images.reshape(len(images), 28, 28).mean(axis=2).astype(np.float32)


def test_embed_examples_renders_each_drawing_once_with_a_cache():
    drawings = [[np.array([[0.0, 0], [50, 10 * i]])] for i in range(1, 4)]
    model, cache = CountingEmbedder(), {}
    first = embed_examples(model, drawings, 4, cache=cache)
    assert model.images == 3 * 5 and [e.shape for e in first] == [(5, 28)] * 3
    again = embed_examples(model, drawings[::-1] + [drawings[0]], 2, cache=cache)
    assert model.images == 15  # nothing new to render: fewer variants are a prefix of the cached ones
    np.testing.assert_array_equal(again[0], first[2][:3])
    assert not np.array_equal(first[0][0], first[0][1])  # the variants differ from the drawing


def test_leave_one_out_finds_well_learned_and_confused_classes():
    g = Gaussians(seed=2, spread=1.5)
    base_x, base_y = g.sample(range(K), 40)
    g.mu[K + 1] = g.mu[K] + g.rng.normal(0, 0.05, D)  # classes 0 and 1 are the same thing
    new_x, new_y = g.sample(range(K, K + C), 5)
    classes = [f"base{k}" for k in range(K)] + [f"new{c}" for c in range(C)]
    per_example = [[new_x[new_y == K + c][i : i + 1] for i in range(5)] for c in range(C - 1)]
    per_example.append([new_x[new_y == K + C - 1][:1]])  # one example: nothing to leave out
    quality = leave_one_out(g.W0, g.b0, classes, base_x, base_y, per_example)
    assert [q.examples for q in quality] == [5] * (C - 1) + [1]
    assert quality[-1].recognised is None and quality[-1].share is None
    for q in quality[2 : C - 1]:
        assert q.recognised >= 4, q  # distinct classes are recognised when left out
    assert quality[0].confused_with.get("new1", 0) + quality[1].confused_with.get("new0", 0) >= 2
    assert quality[0].recognised + quality[1].recognised <= 8
