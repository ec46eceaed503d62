"""The training pieces on real data, without a training run: the dataset and its splits by drawing, the
evaluation figures, the sampling plan, the render pool, stroke augmentation, checkpoints, plots and errors.

The loop itself (train, resume, export, eval, DDP) is tests/test_train_loop.py.
"""

import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training tests need the 'train' extra (torch)")

from inkling.training import checkpoint  # noqa: E402
from inkling.training.data import DataError, make_splits  # noqa: E402
from inkling.training.dataset import QuickDraw  # noqa: E402
from inkling.training.metrics import classification_report, format_report  # noqa: E402
from inkling.training.stroke_data import SPLITS, load_overlap  # noqa: E402
from inkling.training.train import (  # noqa: E402
    Config,
    WithBackground,
    choose_stroke_bias,
    load_background,
    sampling_plan,
)

# cat and alarm clock have official bitmaps (the bitmap tier), radio and sun only strokes. The extra drawings
# of alarm clock and radio are mostly sketch-rnn's (khartstein), lines without a key_id; cat's include some
# too (vlandham), and cat's stroke drawings are often also bitmap rows (stroke_bitmap_overlap.json).
SPLIT_CLASSES = ["cat", "alarm clock", "radio", "sun"]
NO_KEY_CLASSES = ["alarm clock", "radio"]


def quiet(*_a, **_k):
    pass


@pytest.fixture(scope="module")
def split_data(quickdraw_dir) -> QuickDraw:
    return QuickDraw.load([quickdraw_dir], SPLIT_CLASSES, log=quiet)


def _extra_lines(quickdraw_dir, name):
    with open(quickdraw_dir / "strokes" / "extra" / f"{name}.ndjson", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _keys(data: QuickDraw, split: str) -> list[tuple[str, str]]:
    return [(data.classes[d.label], d.key_id) for d in data.strokes[split]]


# --- the dataset: every source, split by drawing ---------------------------------------------------------


def test_every_source_is_read_and_the_tiers_follow_the_bitmaps(split_data):
    assert split_data.classes == SPLIT_CLASSES
    assert split_data.tier == ["bitmap", "bitmap", "stroke", "stroke"]
    assert sorted(split_data.bitmaps) == [0, 1] and split_data.tier_classes("stroke") == [2, 3]
    counts = split_data.counts()
    for name in SPLIT_CLASSES:
        c = counts[name]
        assert c["strokes"] == c["train"] + c["val"] + c["test"]
        assert c["val"] >= 0.05 * c["strokes"] and c["test"] >= 0.05 * c["strokes"], (name, c)
    # raw and simplified lines of one key_id are one drawing with both versions; the app sees the raw one
    both = [d for s in SPLITS for d in split_data.strokes[s] if d.raw and d.simplified]
    assert len(both) > 20
    assert all(d.app_version is d.raw and len(d.versions) == 2 for d in both)
    # strokes/extra/ is read as simplified versions: hundreds of drawings beyond the raw/simplified files
    assert counts["sun"]["strokes"] > 300 and counts["radio"]["strokes"] > 2000
    assert "bitmaps" in counts["cat"] and "bitmaps" not in counts["sun"]


@pytest.mark.slow
def test_splits_are_deterministic_and_no_drawing_is_on_two_sides(split_data, quickdraw_dir):
    again = QuickDraw.load([quickdraw_dir], SPLIT_CLASSES, log=quiet)
    for s in SPLITS:
        assert _keys(again, s) == _keys(split_data, s)
        assert np.array_equal(again.bitmap_splits[s].row, split_data.bitmap_splits[s].row)
        assert np.array_equal(again.bitmap_splits[s].label, split_data.bitmap_splits[s].label)
    sides = {s: set(_keys(split_data, s)) for s in SPLITS}
    for s in SPLITS:
        assert len(sides[s]) == len(split_data.strokes[s])  # no drawing twice within a side either
    assert not (
        sides["train"] & sides["val"] or sides["train"] & sides["test"] or sides["val"] & sides["test"]
    )
    # Stable when other classes are added (and in another order): each class's split is its own.
    more = QuickDraw.load([quickdraw_dir], ["axe", *SPLIT_CLASSES[::-1], "banana"], log=quiet)
    for s in SPLITS:
        assert {k for k in _keys(more, s) if k[0] in SPLIT_CLASSES} == sides[s]
    # Another split seed moves them.
    other = QuickDraw.load([quickdraw_dir], SPLIT_CLASSES, seed=1, log=quiet)
    assert set(_keys(other, "test")) != sides["test"]


def test_drawings_without_a_key_id_are_each_one_drawing_on_one_side(split_data, quickdraw_dir):
    for name in NO_KEY_CLASSES:
        lines = _extra_lines(quickdraw_dir, name)
        no_key = {json.dumps(r["drawing"]) for r in lines if r.get("key_id") is None}
        assert len(no_key) > 2000, f"{name}: expected sketch-rnn's lines without key_id in strokes/extra/"
        c = split_data.classes.index(name)
        found = {
            s: [d.key_id for d in split_data.strokes[s] if d.label == c and d.key_id.startswith("crc")]
            for s in SPLITS
        }
        every = [k for s in SPLITS for k in found[s]]
        assert len(every) == len(set(every)) == len(no_key)  # each such drawing once, on exactly one side
        for s in SPLITS:
            assert len(found[s]) > 0.05 * len(no_key), (name, s, len(found[s]))


def test_stroke_drawings_that_are_bitmap_rows_take_that_rows_side(split_data, quickdraw_dir):
    overlap = load_overlap(quickdraw_dir)
    checked = 0
    for s in SPLITS:
        for d in split_data.strokes[s]:
            row = overlap.get(split_data.classes[d.label], {}).get(d.key_id)
            if row is None:
                continue
            for other in SPLITS:
                idx = split_data.bitmap_splits[other]
                there = bool(((idx.label == d.label) & (idx.row == row)).any())
                assert there == (other == s), f"{d.key_id} ({s}) and its bitmap row {row} ({other})"
            checked += 1
    assert checked == len(overlap["cat"]) + len(overlap["alarm clock"])  # every pair is in the data


def test_each_categorys_extra_drawings_reach_train_val_and_test(split_data, quickdraw_dir):
    for c, name in enumerate(split_data.classes):
        keyed = {str(r["key_id"]) for r in _extra_lines(quickdraw_dir, name) if r.get("key_id") is not None}
        for s in SPLITS:
            n = sum(1 for d in split_data.strokes[s] if d.label == c and d.key_id in keyed)
            assert n > 0, f"no drawing of strokes/extra/{name}.ndjson in {s}"


@pytest.mark.slow
def test_every_category_loads_with_drawings_on_every_side(quickdraw_dir):
    """All 345 categories, as the shipped model is trained: each has its extra drawings in every split, and
    no drawing of any class is on two sides."""
    data = QuickDraw.load([quickdraw_dir], log=quiet)
    assert len(data.classes) == 345 and len(data.tier_classes("bitmap")) == 65
    sides = {s: set(_keys(data, s)) for s in SPLITS}
    assert not (
        sides["train"] & sides["val"] or sides["train"] & sides["test"] or sides["val"] & sides["test"]
    )
    for c, name in enumerate(data.classes):
        keyed = {str(r["key_id"]) for r in _extra_lines(quickdraw_dir, name) if r.get("key_id") is not None}
        for s in SPLITS:
            assert any(d.label == c and d.key_id in keyed for d in data.strokes[s]), (name, s)


def test_bitmap_splits_are_deterministic_disjoint_and_stable_when_classes_are_added():
    a = make_splits(["x", "y"], [100, 50], seed=3)
    b = make_splits(["x", "y"], [100, 50], seed=3)
    c = make_splits(["x", "y", "z"], [100, 50, 70], seed=3)
    for split in SPLITS:
        assert np.array_equal(a[split].row, b[split].row)
        assert np.array_equal(a[split].row[a[split].label == 0], c[split].row[c[split].label == 0])
    for cls, n in ((0, 100), (1, 50)):
        rows = [set(a[s].row[a[s].label == cls]) for s in SPLITS]
        assert sum(map(len, rows)) == n and not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
    assert (
        make_splits(["x"], [100], seed=4)["test"].row.tolist() != a["test"].row[a["test"].label == 0].tolist()
    )


def test_missing_categories_and_bad_files_are_clear_errors(quickdraw_dir, tmp_path):
    with pytest.raises(DataError, match=r"'aple'"):
        QuickDraw.load([str(quickdraw_dir)], ["aple", "apple"], log=quiet)
    with pytest.raises(DataError, match="data folder not found"):
        QuickDraw.load([tmp_path / "nowhere"], ["apple", "banana"], log=quiet)
    with pytest.raises(DataError, match="at least two classes"):
        QuickDraw.load([quickdraw_dir], ["apple"], log=quiet)
    (tmp_path / "empty.npy").write_bytes(b"")
    np.save(tmp_path / "floats.npy", np.zeros((3, 784), dtype=np.float32))
    np.save(tmp_path / "nothing.npy", np.zeros((0, 784), dtype=np.uint8))
    np.save(tmp_path / "truncated.npy", np.zeros((4, 784), dtype=np.uint8))
    data = (tmp_path / "truncated.npy").read_bytes()
    (tmp_path / "truncated.npy").write_bytes(data[: len(data) - 100])
    np.save(tmp_path / "fine.npy", np.zeros((4, 784), dtype=np.uint8))
    for name, fragment in [
        ("empty", "not a readable"),
        ("floats", "expected uint8"),
        ("nothing", "no drawings"),
        ("truncated", "not a readable"),
    ]:
        with pytest.raises(DataError, match=fragment):
            QuickDraw.load([tmp_path], [name, "fine"], log=quiet)


def test_a_class_without_readable_drawings_is_an_error(tmp_path):
    (tmp_path / "blank.ndjson").write_text("{broken\n")
    np.save(tmp_path / "fine.npy", np.zeros((4, 784), dtype=np.uint8))
    np.save(tmp_path / "also.npy", np.zeros((4, 784), dtype=np.uint8))
    with pytest.raises(DataError, match="blank"):
        QuickDraw.load([tmp_path], ["blank", "fine", "also"], log=quiet)


def test_a_missing_category_is_named_when_the_folders_are_paths(quickdraw_dir):
    with pytest.raises(DataError, match=r"'aple'"):
        QuickDraw.load([quickdraw_dir], ["aple", "apple"], log=quiet)


# --- the evaluation figures -------------------------------------------------------------------------------


def test_balanced_figures_weigh_every_class_the_same():
    classes = ["a", "b", "c", "d", "e"]
    logits = np.array(
        [
            [5, 1, 0, 0, 0],  # a, right
            [5, 1, 0, 0, 0],  # a, right
            [5, 1, 0, 0, 0],  # a, right
            [1, 5, 0, 0, 0],  # a, second: a top-3 hit only
            [5, -1, 4, 3, 2],  # b, fifth: a top-5 hit only
            [0, 0, 5, 0, 0],  # c, right
            [0, 0, 5, 1, 0],  # c, right
        ],
        dtype=np.float32,
    )
    labels = np.array([0, 0, 0, 0, 1, 2, 2])
    r = classification_report(logits, labels, classes)
    assert r["n"] == 7 and r["classes_present"] == 3  # d and e have no drawings: not in the means
    assert r["top1"] == pytest.approx(5 / 7) and r["top3"] == pytest.approx(6 / 7) and r["top5"] == 1.0
    assert r["balanced"]["top1"] == pytest.approx((3 / 4 + 0 + 1) / 3)
    assert r["balanced"]["top3"] == pytest.approx((1 + 0 + 1) / 3)
    assert r["balanced"]["top5"] == pytest.approx(1.0)
    assert r["per_class"]["a"] == {"n": 4, "top1": 0.75, "top3": 1.0, "top5": 1.0}
    assert r["per_class"]["b"] == {"n": 1, "top1": 0.0, "top3": 0.0, "top5": 1.0}
    assert r["per_class"]["d"] == {"n": 0, "top1": None, "top3": None, "top5": None}
    assert r["confused_pairs"][0] == {"true": "a", "predicted": "b", "count": 1, "share": 0.25}
    assert "balanced over 3 classes: top-1: 58.33%" in format_report(r)
    empty = classification_report(np.zeros((0, 5)), np.zeros(0, np.int64), classes)
    assert empty["balanced"] == {"top1": 0.0, "top3": 0.0, "top5": 0.0} and empty["classes_present"] == 0


def test_the_stroke_tier_bias_is_chosen_on_both_tiers():
    # Class 0 is the bitmap tier, class 1 the stroke tier. The stroke drawings of class 1 need a bias above
    # 0.5, those of class 0 one of at most 1.0; the official bitmap of class 0 one of at most 0.8.
    strokes = (np.array([[0.5, 0], [0.5, 0], [1, 0], [1, 0]], np.float32), np.array([1, 1, 0, 0]))
    bitmaps = (np.array([[1, 0.2]], np.float32), np.array([0]))
    tau, rows = choose_stroke_bias({"strokes": strokes, "bitmap": bitmaps}, [1], 2)
    assert tau == pytest.approx(0.6)  # the smallest bias that gets everything right
    assert len(rows) == 46 and rows[30] == (0.0, 1.0, 0.5)  # (bias, bitmap top-1, balanced top-1), -3..1.5
    # When the bitmaps would pay for it (their class needs a bias under 0.55), no bias at all...
    bitmaps = (np.array([[1, 0.45]], np.float32), np.array([0]))
    assert choose_stroke_bias({"strokes": strokes, "bitmap": bitmaps}, [1], 2, bitmap_floor=0.9)[0] == 0.0
    # ... unless the bitmaps may give up what it costs them (a floor they still keep).
    assert choose_stroke_bias({"strokes": strokes, "bitmap": bitmaps}, [1], 2, bitmap_floor=0.0)[0] == 0.6
    # A floor only a negative bias keeps (the second bitmap needs one of -1 or less): the smallest such.
    two = (np.array([[1, 0.45], [0, 1]], np.float32), np.array([0, 0]))
    assert choose_stroke_bias({"strokes": strokes, "bitmap": two}, [1], 2, bitmap_floor=0.99)[0] == -1.0
    # A floor no bias reaches: the bias that comes closest.
    assert choose_stroke_bias({"strokes": strokes, "bitmap": two}, [1], 2, bitmap_floor=1.01)[0] == -1.0
    # Without bitmaps, the balanced top-1 alone decides.
    none = (np.zeros((0, 2), np.float32), np.zeros(0, np.int64))
    assert choose_stroke_bias({"strokes": strokes, "bitmap": none}, [1], 2)[0] == pytest.approx(0.6)


# --- what an epoch draws ----------------------------------------------------------------------------------


def test_every_class_gets_the_same_samples_an_epoch(split_data):
    cfg = Config(data=[], out="", samples_per_class=10, bitmap_share=0.3, partial_p=0.25)
    square = [np.array([[0.0, 0.0], [50.0, 0.0], [50.0, 50.0], [0.0, 50.0], [0.0, 0.0]])]
    background = ([square, square[::-1]], np.array([1, 0]), ["X/a", "X/b"])
    versions, groups, n_bitmap = sampling_plan(cfg, split_data, background)
    train = split_data.strokes["train"]
    k = len(split_data.classes)
    assert len(versions) == len(train) + 2 and all(v for v in versions)
    assert n_bitmap == {0: 3, 1: 3}
    per_class = dict.fromkeys(range(k), 0)
    for label, members, n, p in groups:
        if label >= k:  # a background drawing: one whole variant an epoch, labelled after the classes
            assert len(members) == 1 and n == 1 and p == 0.0 and members[0] >= len(train)
            assert label == k + background[1][members[0] - len(train)]
            continue
        assert {train[i].label for i in members} == {label} and p == 0.25
        assert len(members) == sum(d.label == label for d in train)
        per_class[label] += n
    for c, n in n_bitmap.items():
        per_class[c] += n
    assert set(per_class.values()) == {10}
    assert sum(1 for g in groups if g[0] >= k) == 2


@pytest.mark.slow
def test_render_pool_renders_each_epoch_the_same_with_or_without_a_worker(split_data):
    from inkling.training.render_pool import RenderPool

    cfg = Config(data=[], out="", samples_per_class=12, bitmap_share=0.5, partial_p=0.5)
    versions, groups, _ = sampling_plan(cfg, split_data, load_background([]))
    here = RenderPool(versions, groups, strength=1.0, seed=3, workers=0)
    plan, labels = here.plan(0)
    train = split_data.strokes["train"]
    assert [train[i].label for i in plan[0]] == labels.tolist()  # each variant keeps its drawing's label
    a, la = here.get(0)
    assert a.shape == (here.per_epoch, 28, 28) == (len(la), 28, 28) and a.dtype == np.uint8
    assert (a.reshape(len(a), -1).max(axis=1) > 0).all()  # never an empty picture
    assert np.bincount(la).tolist() == [6, 6, 12, 12]
    again, _ = here.get(0)
    b, lb = here.get(1)
    assert np.array_equal(a, again) and np.array_equal(la, lb)
    assert not np.array_equal(a, b)  # new variants every epoch
    worker = RenderPool(versions, groups, strength=1.0, seed=3, workers=1)
    try:
        worker.request(0)
        worker.request(1)
        w0, wl0 = worker.get(0)
        w1, _ = worker.get(1)
    finally:
        worker.close()
    assert worker.pool is None
    assert np.array_equal(w0, a) and np.array_equal(wl0, la) and np.array_equal(w1, b)


def test_background_rows_are_appended_and_not_part_of_the_network(omniglot_dir, tmp_path):
    from inkling.training.net import NetConfig, SketchNet

    drawings, labels, names = load_background([str(omniglot_dir / "Latin.ndjson")])
    assert len(names) == 26 and all(n.startswith("Latin/") for n in names)
    assert len(drawings) == len(labels) and set(labels.tolist()) == set(range(26))
    net = SketchNet(NetConfig(3, (8, 16, 16), (1, 1, 1), 16))
    model = WithBackground(net, len(names)).eval()
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        out = model(x)
        own, _ = net(x)
    assert out.shape == (2, 3 + 26) and torch.equal(out[:, :3], own)
    assert not any("background" in k for k in net.state_dict())
    assert WithBackground(net, 0).background is None
    nothing = tmp_path / "Nothing.ndjson"
    nothing.write_text('{"word": "a", "drawing": []}\n')
    with pytest.raises(DataError, match="no background drawings"):
        load_background([str(nothing)])


# --- stroke augmentation ----------------------------------------------------------------------------------


def _random_drawing(rng, n_strokes):
    return [np.cumsum(rng.normal(0, 20, (int(rng.integers(1, 30)), 2)), axis=0) for _ in range(n_strokes)]


def test_stroke_augmentation_keeps_drawings_finite_and_renderable():
    from inkling.model.raster import rasterize
    from inkling.training.stroke_augment import augment_strokes, first_half, first_strokes

    rng = np.random.default_rng(0)
    for trial in range(200):
        drawing = _random_drawing(rng, 1 + trial % 6)
        out = augment_strokes(drawing, rng, strength=1.5, partial_p=0.5)
        assert 1 <= len(out) <= len(drawing)
        assert all(s.ndim == 2 and s.shape[1] == 2 and len(s) and np.isfinite(s).all() for s in out)
        image = rasterize(out)
        assert image.shape == (28, 28) and image.max() > 0  # never an empty picture
    d = _random_drawing(rng, 5)
    assert len(first_half(d)) == 3 and len(first_half(d[:1])) == 1 and len(first_strokes(d, 0)) == 1
    with pytest.raises(ValueError):
        augment_strokes([], rng)


# --- checkpoints and plots --------------------------------------------------------------------------------


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_checkpoints_never_unpickle_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "net_config": {}, "payload": _Evil()}, path)
    with pytest.raises(ValueError, match="not a readable Inkling checkpoint"):
        checkpoint.load(path)


@pytest.mark.slow
def test_plots_are_written(tmp_path):
    from inkling.training.plots import plot_confusion, plot_history

    # The rows train.py keeps (validation figures without a validation loss).
    history = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "train_top1": 0.5,
            "val_top1": 0.6,
            "val_early_top1": 0.4,
            "lr": 1e-3,
        }
        for e in (1, 2)
    ]
    plot_history(history, tmp_path)
    plot_confusion(np.array([[5, 1], [2, 7]]), ["a", "b"], tmp_path / "confusion.png")
    for name in ("curves.png", "lr.png", "confusion.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
