"""Training end to end on real data, on CPU, small enough for CI: fit, export, eval, resume, DDP, errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training tests need the 'train' extra (torch)")

from inkling.model.classifier import Classifier, load_model  # noqa: E402
from inkling.model.contract import ModelError  # noqa: E402
from inkling.training import checkpoint  # noqa: E402
from inkling.training.cli import main as train_main  # noqa: E402
from inkling.training.data import DataError, Dataset, make_splits  # noqa: E402
from inkling.training.export import shipped_model  # noqa: E402
from inkling.training.net import POOLED_BLOCKS, MirrorAveraged, block_layers, quarter_means  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLASSES = "apple,banana,monkey"  # monkey has no bitmaps: it comes from rendered strokes
TINY = [
    "--max-per-class",
    "240",
    "--widths",
    "16,32,64",
    "--embedding-dim",
    "64",
    "--batch-size",
    "64",
    "--no-plots",
]


@pytest.fixture(scope="module")
def tiny_run(quickdraw_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    model = run / "tiny.onnx"
    code = train_main(_fit_args(quickdraw_dir, run, 4, "--lr", "5e-3", "--export", str(model)))
    assert code == 0
    return run, model


def test_fit_learns_and_writes_a_run_folder(tiny_run):
    run, _ = tiny_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3, 4]
    assert metrics["test"]["top1"] > 0.75  # chance is 0.33
    assert all(h["images_per_sec"] > 0 for h in metrics["history"])
    config = json.loads((run / "config.json").read_text())
    assert config["classes"] == CLASSES.split(",")
    assert config["sources"]["monkey"]["kind"] == "strokes" and config["sources"]["apple"]["kind"] == "bitmap"
    for name in ("last.pt", "best.pt", "final.pt"):
        assert (run / name).exists()


def test_plots_are_written(tmp_path):
    from inkling.training.plots import plot_confusion, plot_history

    history = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.2 / e,
            "train_top1": 0.5,
            "val_top1": 0.6,
            "val_top3": 0.9,
            "lr": 1e-3,
        }
        for e in (1, 2)
    ]
    plot_history(history, tmp_path)
    plot_confusion(np.array([[5, 1], [2, 7]]), ["a", "b"], tmp_path / "confusion.png")
    for name in ("curves.png", "lr.png", "confusion.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_contract_and_parity(tiny_run, quickdraw_dir):
    run, model = tiny_run
    clf = Classifier(model)
    assert clf.classes == CLASSES.split(",")  # class order is stable and written into the model
    meta = clf.meta
    assert meta.embedding_dim == 64 and meta.preprocessing["renderer"] == "model.raster"
    assert meta.training["split"]["seed"] == 0 and "test" in meta.training
    assert {"val_top1_plain", "val_top1_mirror_averaged"} <= set(meta.training)
    assert meta.head["W"].shape == (64, 3) and meta.base_embeddings["embedding"].shape[1] == 64
    inputs = {i.name: i.shape for i in clf.session.get_inputs()}
    assert inputs["image"][1:] == [1, 28, 28] and not isinstance(inputs["image"][0], int)  # dynamic batch

    # onnxruntime and torch agree on real drawings, and the head in the metadata reproduces the logits.
    state = checkpoint.load(run / "final.pt")
    net, _ = checkpoint.build_model(state)
    if state["summary"]["mirror_average"]:  # chosen by validation accuracy
        net = MirrorAveraged(net)
    net = shipped_model(net.eval())  # the weights as the file stores them (float16 by default)
    images = np.load(quickdraw_dir / "bitmaps" / "apple.npy", mmap_mode="r")[:50].reshape(-1, 28, 28)
    logits, emb = clf.run(images)
    with torch.no_grad():
        ref_logits, ref_emb = net(torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1))
    np.testing.assert_allclose(logits, ref_logits.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb, ref_emb.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb @ meta.head["W"] + meta.head["b"], logits, atol=1e-4)

    # `pooled` (for teaching) is the second block's maps averaged over each quarter, sampled in the metadata
    inner = net.net if isinstance(net, MirrorAveraged) else net
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    with torch.no_grad():
        maps = inner.features[: block_layers(inner.cfg, POOLED_BLOCKS)](x)
        if isinstance(net, MirrorAveraged):
            flipped = inner.features[: block_layers(inner.cfg, POOLED_BLOCKS)](torch.flip(x, dims=[3]))
            ref_pooled = (quarter_means(maps) + quarter_means(flipped)) / 2
        else:
            ref_pooled = quarter_means(maps)
    (pooled,) = clf.session.run(["pooled"], {"image": x.numpy()})
    assert clf.pooled_dim == 4 * inner.cfg.widths[POOLED_BLOCKS - 1] == pooled.shape[1]
    np.testing.assert_allclose(pooled, ref_pooled.numpy(), atol=1e-4, rtol=1e-4)
    assert meta.base_embeddings["pooled"].shape == (len(meta.base_embeddings["label"]), clf.pooled_dim)
    assert clf.teach_dim == 64 + clf.pooled_dim and clf.pooled_scale > 0


def test_eval_reports_topk_per_class_and_confusions(tiny_run, quickdraw_dir, tmp_path, capsys):
    _, model = tiny_run
    out = tmp_path / "eval.json"
    assert train_main(["eval", str(model), "--data", str(quickdraw_dir), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["n"] == 3 * 24  # the model's own test split, rebuilt from its metadata
    assert report["top1"] <= report["top3"] <= report["top5"] == 1.0
    assert set(report["per_class"]) == set(CLASSES.split(","))
    text = capsys.readouterr().out
    assert "top-1:" in text and "monkey" in text


def test_splits_are_deterministic_disjoint_and_stable_when_classes_are_added():
    a = make_splits(["x", "y"], [100, 50], seed=3)
    b = make_splits(["x", "y"], [100, 50], seed=3)
    c = make_splits(["x", "y", "z"], [100, 50, 70], seed=3)
    for split in ("train", "val", "test"):
        assert np.array_equal(a[split].row, b[split].row)
        assert np.array_equal(a[split].row[a[split].label == 0], c[split].row[c[split].label == 0])
    for cls, n in ((0, 100), (1, 50)):
        rows = [set(a[s].row[a[s].label == cls]) for s in ("train", "val", "test")]
        assert sum(map(len, rows)) == n and not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
    assert (
        make_splits(["x"], [100], seed=4)["test"].row.tolist() != a["test"].row[a["test"].label == 0].tolist()
    )


def test_missing_category_and_bad_files_are_clear_errors(quickdraw_dir, tmp_path):
    with pytest.raises(DataError, match=r"'aple'.*did you mean 'apple'"):
        Dataset.load([quickdraw_dir], ["aple"])
    (tmp_path / "empty.npy").write_bytes(b"")
    np.save(tmp_path / "floats.npy", np.zeros((3, 784), dtype=np.float32))
    np.save(tmp_path / "nothing.npy", np.zeros((0, 784), dtype=np.uint8))
    good = np.zeros((4, 784), dtype=np.uint8)
    np.save(tmp_path / "truncated.npy", good)
    data = (tmp_path / "truncated.npy").read_bytes()
    (tmp_path / "truncated.npy").write_bytes(data[: len(data) - 100])
    (tmp_path / "blank.ndjson").write_text("{broken\n")
    for name, fragment in [
        ("empty", "not a readable"),
        ("floats", "expected uint8"),
        ("nothing", "no drawings"),
        ("truncated", "not a readable"),
        ("blank", "no readable drawings"),
    ]:
        with pytest.raises(DataError, match=fragment):
            Dataset.load([tmp_path], [name])
    assert (
        train_main(
            ["fit", "--data", str(tmp_path), "--classes", "floats,empty", "--out", str(tmp_path / "r")]
        )
        == 2
    )


def test_foreign_model_files_are_rejected(tmp_path, tiny_run):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(os.urandom(2000))
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        load_model(junk)
    import onnx

    proto = onnx.load(str(tiny_run[1]))
    del proto.metadata_props[:]
    foreign = tmp_path / "foreign.onnx"
    foreign.write_bytes(proto.SerializeToString())
    with pytest.raises(ModelError, match="not an Inkling model"):
        load_model(foreign)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.onnx")


def _fit_args(quickdraw_dir, out, epochs, *extra):
    """``inkling-train fit`` arguments for a tiny run on CLASSES."""
    return ["fit", "--data", str(quickdraw_dir), "--classes", CLASSES, "--epochs", str(epochs),
            "--out", str(out), *TINY, *extra]  # fmt: skip


def _fit_cmd(quickdraw_dir, out, epochs, *extra):
    return [sys.executable, "-m", "inkling.training", *_fit_args(quickdraw_dir, out, epochs, *extra)]


def test_resume_after_the_run_is_killed(quickdraw_dir, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        _fit_cmd(quickdraw_dir, run, 4),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not (run / "last.pt").exists():
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up, like a power cut
    finally:
        proc.wait()
    done_before = checkpoint.load(run / "last.pt")["epoch"]
    assert 1 <= done_before < 4
    result = subprocess.run(
        _fit_cmd(quickdraw_dir, run, 4, "--resume"), cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resumed from {run / 'last.pt'} after epoch {done_before}" in result.stdout
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]


def test_distributed_data_parallel_with_two_cpu_processes(quickdraw_dir, tmp_path):
    run = tmp_path / "ddp"
    # torchrun's launcher in front of the same `python -m inkling.training fit ...` command line.
    fit_args = _fit_cmd(quickdraw_dir, run, 4, "--batch-size", "32")[1:]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *fit_args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert len(history) == 4 and history[-1]["val_top1"] > 0.6
    # Both ranks trained on half of the data each: one rank wrote, and the weights are one model's.
    state = checkpoint.load(run / "final.pt")
    assert state["epoch"] == 4 and not any(k.startswith("module.") for k in state["model"])


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_checkpoints_never_unpickle_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "net_config": {}, "payload": _Evil()}, path)
    with pytest.raises(ValueError, match="not a readable Inkling checkpoint"):
        checkpoint.load(path)


def test_large_datasets_stream_from_memory_maps(quickdraw_dir, tmp_path):
    from inkling.training.data import iterate_batches
    from inkling.training.fit import FitConfig, fit

    ds = Dataset.load([quickdraw_dir], ["apple", "banana"])
    train = ds.split(0, max_per_class=100)["train"]
    seen = []
    for images, labels in iterate_batches(ds, train, 32, shuffle=True, seed=1):
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28) and len(images) == len(labels)
        seen.append(labels)
    assert sum(map(len, seen)) == len(train)
    # The training loop takes that path when the data does not fit the in-memory budget.
    cfg = FitConfig(
        data=[str(quickdraw_dir)],
        out=str(tmp_path / "run"),
        classes=["apple", "banana"],
        epochs=2,
        max_per_class=150,
        widths=[8, 16, 16],
        embedding_dim=16,
        batch_size=32,
        plots=False,
        in_memory_gb=0.0,
    )
    metrics = fit(cfg, log=lambda *a: None)
    assert len(metrics["history"]) == 2 and metrics["test"]["n"] == 30


def test_fine_tuning_starts_from_an_exported_models_weights(tiny_run, quickdraw_dir):
    from inkling.training.fit import _init_weights
    from inkling.training.net import NetConfig, SketchNet

    run, model = tiny_run
    state = checkpoint.load(run / "final.pt")
    net = SketchNet(NetConfig.from_dict(state["net_config"]))
    messages = []
    _init_weights(net, str(model), messages.append)
    assert messages and messages[0].startswith("initialised")
    net.eval()
    images = np.load(quickdraw_dir / "bitmaps" / "banana.npy", mmap_mode="r")[:40].reshape(-1, 28, 28)
    clf = Classifier(model)
    with torch.no_grad():
        logits, _ = net(torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1))
    if clf.meta.training["mirror_average"]:
        with torch.no_grad():
            logits = (
                logits + net(torch.from_numpy(images[:, :, ::-1].astype(np.float32) / 255).unsqueeze(1))[0]
            ) / 2
    # Same function as the model it came from, batch norms folded and all.
    np.testing.assert_allclose(logits.numpy(), clf.run(images)[0], atol=1e-4)


def test_ensemble_of_members_exports_one_consistent_model(tiny_run, quickdraw_dir, tmp_path):
    from inkling.training.ensemble import combine, export_ensemble

    run, model = tiny_run
    metrics = combine(
        [run / "final.pt", run / "final.pt"], [str(quickdraw_dir)], tmp_path, log=lambda *a: None
    )
    single = Classifier(model).meta.training["test"]["top1"]
    assert metrics["test"]["top1"] == pytest.approx(single)  # two copies of one model: the same answers
    out = export_ensemble(tmp_path / "final.pt", tmp_path / "ensemble.onnx", log=lambda *a: None)
    clf = Classifier(out)
    assert clf.meta.embedding_dim == 2 * 64 and clf.meta.training["ensemble"]["member_val_top1"]
    images = np.load(quickdraw_dir / "bitmaps" / "banana.npy", mmap_mode="r")[:30].reshape(-1, 28, 28)
    logits, emb = clf.run(images)
    np.testing.assert_allclose(logits, Classifier(model).run(images)[0], atol=1e-4)
    np.testing.assert_allclose(emb @ clf.meta.head["W"] + clf.meta.head["b"], logits, atol=1e-4)


def test_member_selection_respects_the_size_and_compute_limits(tiny_run, quickdraw_dir):
    from inkling.training.ensemble import estimated_bytes, load_member, member_flops, select_members

    run, _ = tiny_run
    net, _ = load_member(run / "final.pt", mirror=False)
    quiet = {"log": lambda *a: None}
    data = [str(quickdraw_dir)]
    chosen = select_members([run / "final.pt"] * 2, data, max_bytes=10**9, **quiet)
    assert 1 <= len(chosen) <= 2 and all(p == run / "final.pt" and m in (True, False) for p, m in chosen)
    # Mirror averaging costs twice the operations: a limit between the two leaves only the plain network.
    flops = member_flops(net)
    assert select_members([run / "final.pt"], data, max_bytes=10**9, max_flops=1.5 * flops, **quiet) == [
        (run / "final.pt", False)
    ]
    with pytest.raises(ValueError, match="fits"):
        select_members([run / "final.pt"], data, max_bytes=estimated_bytes([net]) - 1, **quiet)


# --- every category: stroke drawings as distinct drawings, stroke augmentation, mixed training -------------

MIXED_CLASSES = ["apple", "banana", "monkey", "zebra", "axe"]  # two bitmap tier, three stroke tier


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


def test_stroke_variants_keep_their_labels_and_change_every_epoch(quickdraw_dir):
    from inkling.training.mixed import MixedConfig, MixedData, VariantRenderer

    data = MixedData.load([quickdraw_dir], MIXED_CLASSES, log=lambda *a: None)
    cfg = MixedConfig(data=[], out="", strokes_per_epoch=30, early_per_epoch=10, render_workers=0)
    renderer = VariantRenderer(cfg, data)
    plan, labels = renderer.plan(0)
    train = data.strokes["train"]
    assert [train[i].label for i in plan[0]] == labels.tolist()  # each variant keeps its drawing's label
    # Class-balanced: every stroke-tier class gets the same number of samples, whatever its size.
    stroke_labels = labels[[data.tier[c] == "stroke" for c in labels]]
    assert len(set(np.bincount(stroke_labels)[np.unique(stroke_labels)])) == 1
    a, la = renderer.get(0)
    b, lb = renderer.get(1)
    again, _ = renderer.get(0)
    assert np.array_equal(a, again)  # deterministic per epoch (resume renders the same)
    assert not np.array_equal(a, b)  # and new variants every epoch
    assert a.shape == (len(la), 28, 28) and (a.reshape(len(a), -1).max(axis=1) > 0).all()


def test_no_drawing_is_in_two_splits_and_bitmap_twins_follow_their_row(quickdraw_dir):
    from inkling.training.mixed import MixedData
    from inkling.training.stroke_data import load_overlap

    data = MixedData.load([quickdraw_dir], MIXED_CLASSES, log=lambda *a: None)
    keys = {s: {(d.label, d.key_id) for d in data.strokes[s]} for s in ("train", "val", "test")}
    assert (
        not keys["train"] & keys["val"]
        and not keys["train"] & keys["test"]
        and not keys["val"] & keys["test"]
    )
    both = [d for s in keys for d in data.strokes[s] if d.raw and d.simplified]
    assert both, "raw and simplified versions of one key_id must merge into one drawing"
    overlap = load_overlap(quickdraw_dir)
    checked = 0
    for split in ("train", "val", "test"):
        for d in data.strokes[split]:
            row = overlap.get(data.classes[d.label], {}).get(d.key_id)
            if row is None:
                continue
            idx = data.bitmap_splits[split]
            assert ((idx.label == d.label) & (idx.row == row)).any(), f"{d.key_id} left its bitmap row"
            checked += 1
    assert checked > 10
    # Deterministic, and stable when other classes are added.
    more = MixedData.load([quickdraw_dir], [*MIXED_CLASSES, "cat", "teapot"], log=lambda *a: None)
    for split in ("train", "val", "test"):
        mine = {(data.classes[d.label], d.key_id) for d in data.strokes[split]}
        theirs = {(more.classes[d.label], d.key_id) for d in more.strokes[split]}
        assert mine == {t for t in theirs if t[0] in MIXED_CLASSES}
    counts = data.counts()
    assert counts["zebra"]["val"] >= 1 and counts["zebra"]["test"] >= 1


def _fit_mixed_args(quickdraw_dir, run) -> list[str]:
    """``inkling-train fit-mixed`` on MIXED_CLASSES into ``run``: the options every tiny mixed fit shares."""
    return [
        "fit-mixed",
        "--data",
        str(quickdraw_dir),
        "--out",
        str(run),
        "--classes",
        ",".join(MIXED_CLASSES),
    ]


@pytest.fixture(scope="module")
def mixed_run(quickdraw_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("mixed")
    model = run / "mixed.onnx"
    args = _fit_mixed_args(quickdraw_dir, run)
    args += ["--epochs", "4", "--bitmaps-per-epoch", "640", "--strokes-per-epoch", "480"]
    args += ["--early-per-epoch", "160", "--widths", "16,32,64", "--convs-per-block", "1,1,1"]
    args += ["--embedding-dim", "64", "--batch-size", "64", "--lr", "5e-3", "--render-workers", "0"]
    args += ["--no-plots", "--export", str(model)]
    assert train_main(args) == 0
    return run, model


def test_tiny_mixed_fit_learns_both_tiers(mixed_run):
    run, model = mixed_run
    metrics = json.loads((run / "metrics.json").read_text())
    s = metrics["summary"]
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3, 4]
    assert s["tiers"] == {"bitmap": ["apple", "banana"], "stroke": ["monkey", "zebra", "axe"]}
    assert s["test"]["bitmap"]["top1"] > 0.6 and s["test"]["stroke"]["top1"] > 0.4  # chance is 0.2
    assert s["test"]["early_bitmap"]["n"] > 0
    prior = s["class_prior"]
    assert abs(sum(prior.values()) - 1) < 1e-3 and prior["apple"] > prior["zebra"]
    assert "stroke_tier_bias" in s["logit_adjustment"]
    meta = load_model(model).meta.training
    assert meta["split"]["unit"] == "drawing" and meta["class_prior"] == prior


def test_background_classes_train_the_embedding_and_never_ship(
    mixed_run, quickdraw_dir, omniglot_dir, tmp_path
):
    """The cached-feature path (every block frozen) with handwritten characters as background classes: they
    train the embedding through a classifier of their own, and the exported model knows only the categories.
    A cache made with other settings is made again, never reused."""
    _, base = mixed_run
    latin = omniglot_dir / "Latin.ndjson"
    run = tmp_path / "bg"
    args = _fit_mixed_args(quickdraw_dir, run)
    args += ["--init-from", str(base), "--freeze-blocks", "3", "--epochs", "2", "--head-epochs", "2"]
    args += ["--bitmaps-per-epoch", "320", "--strokes-per-epoch", "240", "--early-per-epoch", "80"]
    args += ["--widths", "16,32,64", "--convs-per-block", "1,1,1", "--embedding-dim", "64"]
    args += ["--batch-size", "64", "--render-workers", "0", "--no-plots"]
    args += ["--background", str(latin), "--background-copies", "2", "--export", str(run / "m.onnx")]
    lines = []
    from inkling.training.cli import build_parser
    from inkling.training.mixed import config_from_args, fit_mixed

    def fit(extra=()):
        cfg = config_from_args(build_parser().parse_args(args + list(extra)))
        return fit_mixed(cfg, log=lines.append)

    summary = fit()["summary"]
    assert summary["background"] == {"files": ["Latin.ndjson"], "copies": 2}
    assert any(line.startswith("background: 26 classes, 1040 drawings a round") for line in lines), lines[-5:]
    assert len(list((run / "cache").glob("background_*.npz"))) == 2
    assert load_model(run / "m.onnx").classes == MIXED_CLASSES  # no background class is ever suggested
    lines.clear()
    fit(["--bitmaps-per-epoch", "160"])
    assert any("made with other settings (bitmaps_per_epoch)" in line for line in lines)
    # Again with every round in the cache: the same model as the run that made them, and the rounds'
    # cost still counted.
    made = checkpoint.load(run / "final.pt")["model"]
    lines.clear()
    again = fit(["--bitmaps-per-epoch", "160"])["summary"]
    assert not any("through the trunk" in line or "background drawings in" in line for line in lines)
    cached = checkpoint.load(run / "final.pt")["model"]
    assert all(torch.equal(made[name], cached[name]) for name in made)
    assert again["trunk_images_per_sec"] < 1e5  # the rounds' own seconds, not the time to read them


def test_cache_frozen_trains_the_later_conv_blocks_over_cached_maps(mixed_run, quickdraw_dir, tmp_path):
    """``--cache-frozen`` with two of three blocks frozen: each round caches the second block's maps, and
    the third block trains over them with the embedding and classifier; the frozen blocks do not move."""
    _, base = mixed_run
    run = tmp_path / "cf"
    args = _fit_mixed_args(quickdraw_dir, run)
    args += ["--init-from", str(base), "--freeze-blocks", "2", "--cache-frozen", "--epochs", "2"]
    args += ["--head-epochs", "2", "--bitmaps-per-epoch", "320", "--strokes-per-epoch", "240"]
    args += ["--early-per-epoch", "80", "--widths", "16,32,64", "--convs-per-block", "1,1,1"]
    args += ["--embedding-dim", "64", "--batch-size", "64", "--render-workers", "0", "--no-plots"]
    args += ["--export", str(run / "m.onnx")]
    assert train_main(args) == 0
    with np.load(run / "cache" / "round_000.npz") as z:
        assert z["features"].shape[1] == 32 * 7 * 7  # the second block's pooled maps, not the trunk's output
    summary = json.loads((run / "metrics.json").read_text())["summary"]
    assert summary["frozen_blocks"] == 2 and summary["head_epochs"] == 2
    assert summary["test"]["bitmap"]["top1"] > 0.6  # chance is 0.2
    from inkling.training.fit import _weights_from_onnx
    from inkling.training.net import NetConfig, SketchNet

    state = checkpoint.load(run / "final.pt")
    trained = state["model"]
    start = _weights_from_onnx(SketchNet(NetConfig.from_dict(state["net_config"])), str(base))
    # Layers 0 and 4 are the first two blocks' convolutions, layer 8 the third's.
    assert torch.allclose(trained["features.0.weight"], start["features.0.weight"])
    assert torch.allclose(trained["features.4.weight"], start["features.4.weight"])
    assert not torch.allclose(trained["features.8.weight"], start["features.8.weight"])
    assert load_model(run / "m.onnx").classes == MIXED_CLASSES


def test_eval_reports_every_tier_and_the_early_guess(mixed_run, quickdraw_dir, tmp_path, capsys):
    from inkling.training.evaluate import evaluate_tiers

    run, model = mixed_run
    out = tmp_path / "eval.json"
    assert train_main(["eval", str(model), "--data", str(quickdraw_dir), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for title in ("bitmap tier", "stroke tier", "early guess, bitmap tier", "early guess, stroke tier"):
        assert title in printed
    report = json.loads(out.read_text())
    assert set(report["bitmap"]["per_class"]) == {"apple", "banana"}
    assert set(report["stroke"]["per_class"]) == {"monkey", "zebra", "axe"}
    # Through ONNX Runtime, the same figures the run recorded with torch (float16 weights: tiny drift).
    s = json.loads((run / "metrics.json").read_text())["summary"]["test"]
    for tier in ("bitmap", "stroke", "early_bitmap"):
        assert abs(report[tier]["top1"] - s[tier]["top1"]) < 0.02
        assert report[tier]["n"] == s[tier]["n"]
    assert evaluate_tiers(model, [quickdraw_dir], split="val", log=lambda *a: None)["bitmap"]["n"] > 0
