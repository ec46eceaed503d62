"""The training loop (training/train.py) end to end on the real data, on CPU, small enough for CI.

One tiny run of RECIPES["smoke"] over a few classes of both tiers and every source (official bitmaps; raw,
simplified and extra stroke drawings, lines without a key_id among them) learns, saves its run, exports a
model the app opens and that records its split; then the evaluation (balanced and per tier, through ONNX
Runtime), an interrupted run resumed, warm-starting with background classes, two processes under
torchrun, and the command line.
"""

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training tests need the 'train' extra (torch)")

from inkling.model.classifier import Classifier, load_model  # noqa: E402
from inkling.model.contract import ModelError  # noqa: E402
from inkling.training import checkpoint  # noqa: E402
from inkling.training.cli import build_parser  # noqa: E402
from inkling.training.cli import main as cli_main  # noqa: E402
from inkling.training.dataset import evaluation_sets, load_for_model  # noqa: E402
from inkling.training.evaluate import evaluate_model  # noqa: E402
from inkling.training.export import shipped_model  # noqa: E402
from inkling.training.net import POOLED_BLOCKS, block_layers, quarter_means  # noqa: E402
from inkling.training.recipes import RECIPES  # noqa: E402
from inkling.training.render_pool import RenderPool  # noqa: E402
from inkling.training.train import Config, config_from_args, train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# banana and alarm clock are the bitmap tier (alarm clock's extra drawings are mostly lines without a
# key_id); sun and axe the stroke tier. Every one has raw, simplified and extra stroke drawings.
CLASSES = ["banana", "alarm clock", "sun", "axe"]
BITMAP_TIER, STROKE_TIER = CLASSES[:2], CLASSES[2:]
# The smoke recipe, with an epoch of 4 x 96 samples in batches of 32: 12 steps an epoch. (Its own batch size,
# the default 256, would be one or two steps an epoch on four classes.)
TINY = {"samples_per_class": 96, "batch_size": 32}
STEPS_PER_EPOCH = math.ceil(len(CLASSES) * TINY["samples_per_class"] / TINY["batch_size"])
REPORTS = {"strokes", "strokes_stroke", "strokes_bitmap", "early", "early_stroke", "early_bitmap", "bitmap"}
# ... and the second sample's drawings (strokes/extra/) alone, which every class here has.
REPORTS |= {"strokes_sample", "early_sample"}
SPLIT = {"unit": "drawing", "seed": 0, "val_frac": 0.1, "test_frac": 0.1}


def quiet(*_a, **_k):
    pass


def smoke(quickdraw_dir, out, **settings) -> Config:
    """RECIPES["smoke"] on CLASSES (and TINY), with ``settings`` on top."""
    kw = {**RECIPES["smoke"], "classes": CLASSES, **TINY, **settings}
    return Config(data=[str(quickdraw_dir)], out=str(out), **kw)


@pytest.fixture(scope="module")
def tiny(quickdraw_dir, tmp_path_factory):
    """The tiny run: 3 epochs, the next epoch's variants rendered by a worker process (as shipped)."""
    run = tmp_path_factory.mktemp("run")
    lines: list[str] = []
    cfg = smoke(quickdraw_dir, run, render_workers=1, export=str(run / "tiny.onnx"))
    metrics = train(cfg, log=lines.append)
    return SimpleNamespace(cfg=cfg, run=run, model=run / "tiny.onnx", metrics=metrics, log=lines)


# --- the run ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_tiny_run_over_every_source_learns_both_tiers(tiny):
    history, s = tiny.metrics["history"], tiny.metrics["summary"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert all(h["images_per_sec"] > 0 and h["render_wait_seconds"] >= 0 for h in history)
    assert s["tiers"] == {"bitmap": BITMAP_TIER, "stroke": STROKE_TIER}
    assert s["split"] == SPLIT and s["epochs"] == 3
    test = s["test"]
    assert set(test) == REPORTS
    # Chance is 0.25; each class's own accuracy counts the same.
    assert test["strokes"]["balanced"]["top1"] > 0.5, test["strokes"]
    assert test["bitmap"]["top1"] > 0.5, test["bitmap"]
    assert (
        test["strokes_stroke"]["balanced"]["top1"] > 0.4 and test["strokes_bitmap"]["balanced"]["top1"] > 0.4
    )
    assert test["strokes"]["n"] == sum(c["test"] for c in s["counts"].values())
    assert test["strokes_stroke"]["n"] + test["strokes_bitmap"]["n"] == test["strokes"]["n"]
    assert test["bitmap"]["n"] == sum(s["counts"][n]["bitmaps"]["test"] for n in BITMAP_TIER)
    # Class-balanced sampling: every class the same share, whatever its tier or size.
    assert s["class_prior"] == dict.fromkeys(CLASSES, 0.25)
    assert (
        -3.0 <= s["logit_adjustment"]["stroke_tier_bias"] <= 1.5 and len(s["logit_adjustment"]["curve"]) == 46
    )
    assert any(line.startswith("logit adjustment:") for line in tiny.log)
    assert any(line.startswith("exported ") for line in tiny.log)


@pytest.mark.slow
def test_the_run_folder_holds_its_config_checkpoints_and_metrics(tiny):
    run = tiny.run
    config = json.loads((run / "config.json").read_text())
    assert (
        config["classes"] == CLASSES
        and config["widths"] == [16, 32, 64]
        and config["net"]["num_classes"] == 4
    )
    on_disk = json.loads((run / "metrics.json").read_text())
    assert on_disk["summary"]["test"] == json.loads(json.dumps(tiny.metrics["summary"]["test"]))
    last, final = checkpoint.load(run / "last.pt"), checkpoint.load(run / "final.pt")
    assert last["epoch"] == final["epoch"] == 3 and len(last["history"]) == 3
    assert last["scheduler"]["last_epoch"] == last["scheduler"]["total_steps"] == 3 * STEPS_PER_EPOCH
    # Held-out drawings kept with the model: keep_samples of every class's strokes and of the bitmaps.
    keep = RECIPES["smoke"]["keep_samples"]
    counts = np.bincount(final["sample_labels"].numpy(), minlength=4).tolist()
    assert counts == [2 * keep, 2 * keep, keep, keep] and final["samples"].shape[1:] == (28, 28)
    # The logit adjustment is built into the classifier's bias (last.pt is the network before it).
    tau = final["summary"]["logit_adjustment"]["stroke_tier_bias"]
    shift = final["model"]["classifier.bias"] - last["model"]["classifier.bias"]
    np.testing.assert_allclose(shift.numpy(), [0, 0, tau, tau], atol=1e-6)
    assert all(torch.equal(v, last["model"][k]) for k, v in final["model"].items() if k != "classifier.bias")


@pytest.mark.slow
def test_the_export_is_the_trained_network_and_records_its_split(tiny, quickdraw_dir):
    clf = load_model(tiny.model)
    assert clf.classes == CLASSES  # class order is stable and written into the model
    meta = clf.meta
    assert meta.training["split"] == SPLIT
    assert meta.training["tiers"] == {"bitmap": BITMAP_TIER, "stroke": STROKE_TIER}
    assert set(meta.training["test"]) == REPORTS and meta.training["mirror_average"] is False
    assert meta.embedding_dim == 64 and meta.preprocessing["renderer"] == "model.raster"
    assert meta.head["W"].shape == (64, 4) and meta.base_embeddings["embedding"].shape[1] == 64
    inputs = {i.name: i.shape for i in clf.session.get_inputs()}
    assert inputs["image"][1:] == [1, 28, 28] and not isinstance(inputs["image"][0], int)  # dynamic batch

    # ONNX Runtime and torch agree on real drawings, and the head in the metadata reproduces the logits.
    state = checkpoint.load(tiny.run / "final.pt")
    net = shipped_model(checkpoint.build_model(state)[0].eval())  # the weights as the file stores them
    banana = np.load(quickdraw_dir / "bitmaps" / "banana.npy", mmap_mode="r")[:30].reshape(-1, 28, 28)
    images = np.concatenate([banana, state["samples"].numpy()])
    logits, emb = clf.run(images)
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    with torch.no_grad():
        ref_logits, ref_emb = net(x)
        ref_pooled = quarter_means(net.features[: block_layers(net.cfg, POOLED_BLOCKS)](x))
    np.testing.assert_allclose(logits, ref_logits.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb, ref_emb.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb @ meta.head["W"] + meta.head["b"], logits, atol=1e-4)
    (pooled,) = clf.session.run(["pooled"], {"image": x.numpy()})
    np.testing.assert_allclose(pooled, ref_pooled.numpy(), atol=1e-4, rtol=1e-4)
    assert clf.pooled_dim == 4 * 32 and meta.base_embeddings["pooled"].shape[1] == clf.pooled_dim


# --- evaluation -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_evaluation_reports_balanced_and_per_tier_figures(tiny, quickdraw_dir):
    report = evaluate_model(tiny.model, [str(quickdraw_dir)], log=quiet)
    assert set(report) == REPORTS
    recorded = tiny.metrics["summary"]["test"]
    # The same drawings, rebuilt from the split in the model's metadata, through ONNX Runtime; the
    # balanced top-1 worked out here class by class.
    clf = load_model(tiny.model)
    sets = evaluation_sets(load_for_model(clf, [str(quickdraw_dir)], log=quiet), "test")
    for name, (x, y) in sets.items():
        predicted = clf.run(x)[0].argmax(1)
        own = [float(np.mean(predicted[y == c] == c)) for c in np.unique(y)]
        assert report[name]["balanced"]["top1"] == pytest.approx(np.mean(own)), name
        assert report[name]["top1"] == pytest.approx(np.mean(predicted == y)), name
        assert report[name]["n"] == len(y) == recorded[name]["n"], name
        # torch's figures at the end of the run, from the float32 weights: close
        assert abs(report[name]["balanced"]["top1"] - recorded[name]["balanced"]["top1"]) <= 0.05, name
    for name in ("strokes", "early"):
        both, st, bm = report[name], report[f"{name}_stroke"], report[f"{name}_bitmap"]
        assert both["classes_present"] == 4 and st["classes_present"] == bm["classes_present"] == 2
        assert st["n"] + bm["n"] == both["n"]
        assert {c for c, v in st["per_class"].items() if v["n"]} == set(STROKE_TIER)
        assert {c for c, v in bm["per_class"].items() if v["n"]} == set(BITMAP_TIER)
        # every class counts the same: the balanced figure over all is the mean of the two tiers' (2 + 2)
        mean = (st["balanced"]["top1"] + bm["balanced"]["top1"]) / 2
        assert both["balanced"]["top1"] == pytest.approx(mean)
    assert report["bitmap"]["classes_present"] == 2
    assert {c for c, v in report["bitmap"]["per_class"].items() if v["n"]} == set(BITMAP_TIER)


@pytest.mark.slow
def test_eval_command_prints_balanced_figures_per_tier(tiny, quickdraw_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert cli_main(["eval", str(tiny.model), "--data", str(quickdraw_dir), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "balanced top-1" in printed and "balanced over 4 classes" in printed
    for title in ("stroke tier", "bitmap tier", "first half", "official bitmaps"):
        assert title in printed
    assert set(json.loads(out.read_text())) == REPORTS
    assert cli_main(["eval", str(tiny.model), "--data", str(quickdraw_dir), "--split", "val"]) == 0
    assert "balanced" in capsys.readouterr().out


@pytest.mark.slow
def test_models_eval_cannot_read_are_refused(tiny, quickdraw_dir, tmp_path, capsys):
    import onnx

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(os.urandom(2000))
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        load_model(junk)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.onnx")
    proto = onnx.load(str(tiny.model))
    for entry in proto.metadata_props:
        if entry.key == "inkling.training":
            entry.value = "{}"  # a model that does not say how it was split
    unsplit = tmp_path / "unsplit.onnx"
    unsplit.write_bytes(proto.SerializeToString())
    assert Classifier(unsplit).classes == CLASSES  # the app still opens it
    assert cli_main(["eval", str(unsplit), "--data", str(quickdraw_dir)]) == 2
    assert "does not record its split" in capsys.readouterr().err
    del proto.metadata_props[:]
    foreign = tmp_path / "foreign.onnx"
    foreign.write_bytes(proto.SerializeToString())
    with pytest.raises(ModelError, match="not an Inkling model"):
        load_model(foreign)
    assert cli_main(["eval", str(foreign), "--data", str(quickdraw_dir)]) == 2


# --- resuming ---------------------------------------------------------------------------------------------


class Interrupted(Exception):
    pass


@pytest.mark.slow
def test_an_interrupted_run_resumes_and_a_longer_one_stretches_the_schedule(
    tiny, quickdraw_dir, tmp_path, monkeypatch
):
    run = tmp_path / "run"
    cfg = smoke(quickdraw_dir, run)  # the tiny run's settings (its renders in this process)
    render = RenderPool.get

    def stop_at_epoch_two(pool, epoch):
        if epoch == 1:
            raise Interrupted  # the process dies while epoch 2 is being prepared
        return render(pool, epoch)

    monkeypatch.setattr(RenderPool, "get", stop_at_epoch_two)
    with pytest.raises(Interrupted):
        train(cfg, log=quiet)
    monkeypatch.undo()
    assert checkpoint.load(run / "last.pt")["epoch"] == 1 and not (run / "final.pt").exists()

    lines: list[str] = []
    metrics = train(cfg, resume=True, log=lines.append)
    assert f"resumed from {run / 'last.pt'} after epoch 1" in lines
    assert not any("stretched" in line for line in lines)
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3] and metrics["summary"]["epochs"] == 3
    # the learning rate went on along the schedule the uninterrupted run followed
    assert [h["lr"] for h in metrics["history"]] == pytest.approx([h["lr"] for h in tiny.metrics["history"]])
    assert checkpoint.load(run / "final.pt")["epoch"] == 3

    lines.clear()
    metrics = train(replace(cfg, epochs=4), resume=True, log=lines.append)
    assert f"resumed from {run / 'last.pt'} after epoch 3" in lines
    done = 3 * STEPS_PER_EPOCH
    assert f"learning-rate schedule stretched to 4 epochs from step {done}" in lines
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3, 4]
    last = checkpoint.load(run / "last.pt")
    assert (
        last["epoch"] == 4
        and last["scheduler"]["total_steps"] == last["scheduler"]["last_epoch"] == done + STEPS_PER_EPOCH
    )
    assert checkpoint.load(run / "final.pt")["epoch"] == 4


def test_resume_without_a_checkpoint_is_a_clear_error(quickdraw_dir, tmp_path, capsys):
    args = ["train", "--recipe", "smoke", "--data", str(quickdraw_dir), "--out", str(tmp_path / "new")]
    assert cli_main([*args, "--classes", "sun,axe", "--resume"]) == 2
    assert "last.pt" in capsys.readouterr().err


@pytest.mark.slow
def test_a_twenty_step_run_trains(quickdraw_dir, tmp_path):
    cfg = smoke(
        quickdraw_dir, tmp_path / "run", classes=["sun", "axe"], epochs=1, samples_per_class=20, batch_size=2
    )
    assert cfg.warmup * 20 == 1.0
    assert train(cfg, log=quiet)["summary"]["epochs"] == 1


# --- warm start and background classes (the shipped model's recipe) ---------------------------------------


@pytest.mark.slow
def test_a_warm_started_run_with_background_classes_ships_only_its_classes(
    tiny, quickdraw_dir, omniglot_dir, tmp_path
):
    run = tmp_path / "warm"
    lines: list[str] = []
    cfg = smoke(
        quickdraw_dir,
        run,
        classes=["sun", "banana", "zebra"],  # two known to the tiny model, in another order, and a new one
        epochs=1,
        samples_per_class=48,  # with Latin's 520 drawings, 21 steps (see test_a_twenty_step_run_trains)
        init_from=str(tiny.model),
        background=[str(omniglot_dir / "Latin.ndjson")],
        export=str(run / "warm.onnx"),
    )
    metrics = train(cfg, log=lines.append)
    assert "26 background classes" in lines[0]
    assert any(line.startswith("initialised ") and "2 classifier rows by name" in line for line in lines), (
        lines
    )
    s = metrics["summary"]
    assert s["background"] == ["Latin.ndjson"] and s["init_from"] == "tiny.onnx"
    last, final = checkpoint.load(run / "last.pt"), checkpoint.load(run / "final.pt")
    assert last["background_head"]["weight"].shape == (26, 64)
    assert final["model"]["classifier.weight"].shape == (3, 64)
    assert not any("background" in k for k in final["model"])
    clf = load_model(run / "warm.onnx")
    assert clf.classes == ["sun", "banana", "zebra"] and clf.meta.head["W"].shape == (
        64,
        3,
    )  # never a character


# --- several processes ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_cpu_processes_train_one_model_under_torchrun(quickdraw_dir, tmp_path):
    run = tmp_path / "ddp"
    # 3 classes x 33 samples = 99 an epoch, which two ranks cannot share evenly: 49 each, 4 batches of 16.
    args = ["--recipe", "smoke", "--data", str(quickdraw_dir), "--out", str(run), "--classes", "banana,sun,axe",
            "--epochs", "2", "--samples-per-class", "33", "--batch-size", "16", "--export", str(run / "m.onnx")]  # fmt: skip
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [*cmd, "-m", "inkling.training.train", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("epoch 1/2:") == 1  # rank 0 alone reports and saves
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    # Each rank took half of every epoch: 4 steps an epoch (one process would take 7).
    last = checkpoint.load(run / "last.pt")
    assert last["scheduler"]["last_epoch"] == last["scheduler"]["total_steps"] == 2 * 4
    final = checkpoint.load(run / "final.pt")
    assert final["epoch"] == 2 and not any(k.startswith("module.") for k in final["model"])
    assert load_model(run / "m.onnx").classes == ["banana", "sun", "axe"]


# --- the command line -------------------------------------------------------------------------------------


def _parse(*argv: str) -> Config:
    return config_from_args(build_parser().parse_args(["train", *argv]))


def test_train_options_override_the_recipe(tmp_path):
    cfg = _parse(
        "--recipe", "smoke", "--data", "a", "--data", "b", "--out", str(tmp_path), "--widths", "16,32,64",
        "--convs-per-block", "2,1,1", "--classes", "alarm clock,sun", "--epochs", "2", "--lr", "1e-3",
        "--plots", "false", "--global-pool", "yes", "--background", "x.ndjson", "--background", "y.ndjson",
        "--threads", "2", "--logit-adjust", "0.5", "--init-from", "m.onnx", "--device", "cpu",
    )  # fmt: skip
    assert cfg.data == ["a", "b"] and cfg.out == str(tmp_path)
    assert cfg.widths == [16, 32, 64] and cfg.convs_per_block == [2, 1, 1]
    assert cfg.classes == ["alarm clock", "sun"] and cfg.epochs == 2 and cfg.lr == 1e-3
    assert cfg.plots is False and cfg.global_pool is True and cfg.threads == 2
    assert (
        cfg.background == ["x.ndjson", "y.ndjson"] and cfg.logit_adjust == "0.5" and cfg.init_from == "m.onnx"
    )
    # what the command line leaves alone comes from the recipe, then from Config's defaults
    smoke_recipe = RECIPES["smoke"]
    assert cfg.samples_per_class == smoke_recipe["samples_per_class"] and cfg.embedding_dim == 64
    assert cfg.render_workers == 0 and cfg.keep_samples == smoke_recipe["keep_samples"] and cfg.seed == 0
    default = _parse("--data", "a", "--out", "o")
    assert {k: getattr(default, k) for k in RECIPES["default"]} == RECIPES["default"]
    assert default.classes is None and default.export is None
    with pytest.raises(SystemExit):
        _parse("--recipe", "nope", "--data", "a", "--out", "o")


def test_bad_data_or_options_exit_2_with_a_message(quickdraw_dir, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "--recipe", "smoke", "--out", str(out)]
    assert cli_main([*base, "--data", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("inkling-train train: error: data folder not found")
        and str(tmp_path / "nowhere") in err
    )
    assert cli_main([*base, "--data", str(quickdraw_dir), "--classes", "aple,apple"]) == 2
    assert "'aple'" in capsys.readouterr().err
    assert cli_main([*base, "--data", str(quickdraw_dir), "--epochs", "many"]) == 2
    assert "many" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert (
            cli_main([*base, "--data", str(quickdraw_dir), "--classes", "sun,axe", "--device", "cuda"]) == 2
        )
        assert "CUDA is not available" in capsys.readouterr().err
    assert not out.exists()  # nothing written by a run that could not start
