"""Exports that store their weights as float16: half the file, float32 computation, an exact self-check;
and starting a network from such an export (training/warm_start.py), as the shipped model's retraining does."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training tests need the 'train' extra (torch)")
onnx = pytest.importorskip("onnx")

from inkling.model.classifier import Classifier  # noqa: E402
from inkling.training import checkpoint  # noqa: E402
from inkling.training.cli import main as train_main  # noqa: E402
from inkling.training.export import (  # noqa: E402
    HALF_MIN_ELEMENTS,
    ExportError,
    export_checkpoint,
    export_onnx,
    shipped_model,
)
from inkling.training.net import MirrorAveraged, SketchNet  # noqa: E402
from inkling.training.recipes import RECIPES  # noqa: E402
from inkling.training.train import Config, train  # noqa: E402
from inkling.training.warm_start import (  # noqa: E402
    init_from,
    quiet_new_rows,
    recalibrate_batch_norms,
    weights_from_onnx,
)
from onnx import TensorProto, numpy_helper  # noqa: E402

CLASSES = ["apple", "banana", "sun"]  # two with official bitmaps, one with stroke drawings only
QUIET = {"log": lambda *a: None}

pytestmark = pytest.mark.slow  # every test here needs the tiny trained run


@pytest.fixture(scope="module")
def run(quickdraw_dir, tmp_path_factory):
    """A tiny trained run (its final.pt carries held-out samples to verify exports against)."""
    out = tmp_path_factory.mktemp("fp16-run")
    settings = {**RECIPES["smoke"], "epochs": 2, "samples_per_class": 64, "batch_size": 32}
    cfg = Config(data=[str(quickdraw_dir)], out=str(out), classes=CLASSES, **settings)
    assert train(cfg, **QUIET)["summary"]["epochs"] == 2
    return out


@pytest.fixture(scope="module")
def exports(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("fp16-exports")
    return {
        "default": export_checkpoint(run / "final.pt", out / "default.onnx", **QUIET),
        "float32": export_checkpoint(run / "final.pt", out / "float32.onnx", weights="float32", **QUIET),
    }


def _net(run):
    return checkpoint.build_model(checkpoint.load(run / "final.pt"))[0].eval()


def _images(quickdraw_dir, name="banana", n=40):
    return np.load(quickdraw_dir / "bitmaps" / f"{name}.npy", mmap_mode="r")[:n].reshape(-1, 28, 28)


def _torch(net, images):
    with torch.no_grad():
        logits, emb = net(torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1))
    return logits.numpy(), emb.numpy()


def _initializer_bytes(path):
    return sum(numpy_helper.to_array(i).nbytes for i in onnx.load(str(path)).graph.initializer)


def test_default_export_stores_float16_and_is_about_half_the_size(exports):
    proto = onnx.load(str(exports["default"]))
    assert proto.opset_import[0].version == 17
    ops = [n.op_type for n in proto.graph.node]
    assert "BatchNormalization" not in ops and "Cast" in ops
    big = [i for i in proto.graph.initializer if int(np.prod(i.dims)) >= HALF_MIN_ELEMENTS]
    assert big and all(i.data_type == TensorProto.FLOAT16 for i in big)
    # every Cast turns a float16 initializer back into float32 under the name its consumers use
    inits = {i.name: i for i in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Cast":
            assert inits[node.input[0]].data_type == TensorProto.FLOAT16 and node.output[0] not in inits
    old = onnx.load(str(exports["float32"]))
    assert all(i.data_type == TensorProto.FLOAT for i in old.graph.initializer)
    ratio = _initializer_bytes(exports["default"]) / _initializer_bytes(exports["float32"])
    assert 0.45 < ratio < 0.6
    assert exports["default"].stat().st_size < 0.65 * exports["float32"].stat().st_size


def test_float16_export_is_the_rounded_model_exactly_and_the_trained_one_nearly(run, exports, quickdraw_dir):
    net = _net(run)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    shipped = shipped_model(net)
    assert all(
        torch.equal(v, net.state_dict()[k]) for k, v in before.items()
    )  # the caller's net is untouched
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in shipped.modules())
    for m in shipped.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear):
            assert torch.equal(m.weight, m.weight.half().float())

    clf = Classifier(exports["default"])
    images = np.concatenate([_images(quickdraw_dir, "banana"), _images(quickdraw_dir, "apple")])
    logits, emb = clf.run(images)
    ref_logits, ref_emb = _torch(shipped, images)
    np.testing.assert_allclose(logits, ref_logits, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb, ref_emb, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb @ clf.meta.head["W"] + clf.meta.head["b"], logits, atol=1e-4)
    # the trained float32 network: close, and almost always the same answer
    orig_logits, _ = _torch(net, images)
    assert np.abs(logits - orig_logits).max() < 0.05 * max(1.0, np.abs(orig_logits).max())
    assert (logits.argmax(1) == orig_logits.argmax(1)).mean() >= 0.95


def test_fine_tuning_loads_a_float16_export_as_float32_weights(run, exports, quickdraw_dir):
    state = checkpoint.load(run / "final.pt")
    images = _images(quickdraw_dir, "apple", 30)
    for path in exports.values():
        src = weights_from_onnx(SketchNet(checkpoint.build_model(state)[1]), str(path))
        assert all(v.dtype == torch.float32 for v in src.values())
        net, _ = checkpoint.build_model(state)
        messages = []
        assert init_from(net, str(path), CLASSES, messages.append) == []  # every class known by name
        own = net.state_dict()
        counters = [k for k in own if k.endswith("num_batches_tracked")]  # not in an export, not needed
        assert messages[0].startswith(f"initialised {len(own) - len(counters)}/{len(own)} tensors")
        assert messages[0].endswith("3 classifier rows by name")
        # Same function as the model it came from, batch norms folded and all.
        logits, emb = _torch(net.eval(), images)
        ort_logits, ort_emb = Classifier(path).run(images)
        np.testing.assert_allclose(logits, ort_logits, atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(emb, ort_emb, atol=1e-4, rtol=1e-4)


def test_classifier_rows_are_matched_by_name_and_new_classes_start_silent(run, exports, quickdraw_dir):
    state = checkpoint.load(run / "final.pt")
    cfg = checkpoint.build_model(state)[1]
    classes = ["sun", "zebra", "apple", "banana"]  # another order, and a class the export does not know
    cfg.num_classes = len(classes)
    net = SketchNet(cfg)
    messages = []
    new = init_from(net, str(exports["default"]), classes, messages.append)
    assert new == [1] and messages[0].endswith("3 classifier rows by name")
    head = Classifier(exports["default"]).meta.head
    for c, name in enumerate(classes):
        if c in new:
            continue
        src = CLASSES.index(name)
        np.testing.assert_allclose(net.classifier.weight[c].detach().numpy(), head["W"][:, src], atol=1e-6)
        np.testing.assert_allclose(float(net.classifier.bias[c].detach()), head["b"][src], atol=1e-6)
    quiet_new_rows(net, new, [0, 2, 3])
    bias = net.classifier.bias.detach()
    assert not net.classifier.weight[1].any() and float(bias[1]) == float(bias[[0, 2, 3]].min())
    # The known classes keep their answers: the new one never wins where it was not before.
    images = np.concatenate([_images(quickdraw_dir, "apple", 30), _images(quickdraw_dir, "banana", 30)])
    logits, _ = _torch(net.eval(), images)
    ort_logits, _ = Classifier(exports["default"]).run(images)
    np.testing.assert_allclose(logits[:, [0, 2, 3]], ort_logits[:, [2, 0, 1]], atol=1e-4, rtol=1e-4)
    # From a checkpoint, every tensor (its batch-norm counters too) is taken as it is.
    messages.clear()
    again = checkpoint.build_model(state)[0]
    assert init_from(again, str(run / "final.pt"), CLASSES, messages.append) == []
    n = len(again.state_dict())
    assert messages[0].startswith(f"initialised {n}/{n} tensors")
    assert all(torch.equal(v, state["model"][k]) for k, v in again.state_dict().items())


@pytest.mark.parametrize("source", ["default", "checkpoint"])
def test_classifier_rows_follow_their_names_when_only_the_order_differs(run, exports, source):
    state = checkpoint.load(run / "final.pt")
    path = run / "final.pt" if source == "checkpoint" else exports[source]
    net = checkpoint.build_model(state)[0]
    init_from(net, str(path), CLASSES[::-1], lambda *a: None)
    expected = state["model"]["classifier.bias"].numpy()[::-1]
    np.testing.assert_allclose(net.classifier.bias.detach().numpy(), expected, atol=1e-6)


def test_folded_batch_norms_are_made_trainable_without_changing_the_network(run, exports, quickdraw_dir):
    state = checkpoint.load(run / "final.pt")
    net, _ = checkpoint.build_model(state)
    init_from(net, str(exports["float32"]), CLASSES, lambda *a: None)
    images = np.concatenate([_images(quickdraw_dir, "apple", 100), _images(quickdraw_dir, "banana", 100)])
    before, _ = _torch(net.eval(), images)
    recalibrate_batch_norms(net, images)
    bns = [m for m in net.features if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(float((bn.running_var - 1).abs().max()) > 1e-3 for bn in bns)  # real statistics now
    after, _ = _torch(net.eval(), images)
    np.testing.assert_allclose(after, before, atol=1e-3, rtol=1e-3)  # the same function in eval mode
    # and nearly the same in training mode (batch statistics), on the drawings it was measured on
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    with torch.no_grad():
        net.eval()
        frozen = net.features(x)
        net.train()
        batch = net.features(x)
    assert float((batch - frozen).abs().max()) < 0.02 * max(1.0, float(frozen.abs().max()))


def test_a_mirror_averaged_network_exports_in_float16(run, quickdraw_dir, tmp_path):
    state = checkpoint.load(run / "final.pt")
    mirrored = MirrorAveraged(checkpoint.build_model(state)[0]).eval()
    logs = []
    out = export_onnx(
        mirrored,
        state["classes"],
        tmp_path / "mirrored.onnx",
        samples=state["samples"].numpy(),
        sample_labels=state["sample_labels"].numpy(),
        summary=state["summary"],
        log=logs.append,
    )
    assert "weights stored as float16" in logs[0]
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in mirrored.modules())  # not fused in place
    shipped = shipped_model(mirrored)
    clf = Classifier(out)
    images = _images(quickdraw_dir, "banana", 30)
    logits, emb = clf.run(images)
    ref_logits, ref_emb = _torch(shipped, images)
    np.testing.assert_allclose(logits, ref_logits, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb, ref_emb, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb @ clf.meta.head["W"] + clf.meta.head["b"], logits, atol=1e-4)
    # the mirror image gives the same answers: the model averages the two
    mirror_logits, _ = clf.run(np.ascontiguousarray(images[:, :, ::-1]))
    np.testing.assert_allclose(mirror_logits, logits, atol=1e-4, rtol=1e-4)


def test_a_checkpoint_without_held_out_samples_is_not_exported(run, tmp_path):
    state = checkpoint.load(run / "last.pt")  # mid-run: no samples to verify against
    assert "samples" not in state
    with pytest.raises(ExportError, match="no held-out samples"):
        export_checkpoint(run / "last.pt", tmp_path / "m.onnx", **QUIET)
    assert not (tmp_path / "m.onnx").exists()


def test_export_command_takes_a_weights_format(run, tmp_path, capsys):
    out = tmp_path / "cli32.onnx"
    assert train_main(["export", str(run / "final.pt"), "--out", str(out), "--weights", "float32"]) == 0
    assert "weights stored as float32" in capsys.readouterr().out
    assert all(i.data_type == TensorProto.FLOAT for i in onnx.load(str(out)).graph.initializer)
    with pytest.raises(SystemExit):
        train_main(["export", str(run / "final.pt"), "--out", str(out), "--weights", "int8"])
    with pytest.raises(ValueError):
        shipped_model(_net(run), "bfloat16")
