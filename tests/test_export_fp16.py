"""Exports that store their weights as float16: half the file, float32 computation, an exact self-check."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training tests need the 'train' extra (torch)")
onnx = pytest.importorskip("onnx")

from inkling.model.classifier import Classifier  # noqa: E402
from inkling.training import checkpoint  # noqa: E402
from inkling.training.cli import main as train_main  # noqa: E402
from inkling.training.export import HALF_MIN_ELEMENTS, export_checkpoint, export_onnx, shipped_model  # noqa: E402
from inkling.training.fit import _init_weights, _weights_from_onnx  # noqa: E402
from inkling.training.net import MirrorAveraged, SketchNet  # noqa: E402
from onnx import TensorProto, numpy_helper  # noqa: E402

CLASSES = "apple,banana,monkey"
QUIET = {"log": lambda *a: None}


@pytest.fixture(scope="module")
def run(quickdraw_dir, tmp_path_factory):
    """A tiny trained run (its final.pt carries held-out samples to verify exports against)."""
    out = tmp_path_factory.mktemp("fp16-run")
    args = ["fit", "--data", str(quickdraw_dir), "--classes", CLASSES, "--epochs", "3", "--out", str(out),
            "--max-per-class", "150", "--widths", "16,32,64", "--embedding-dim", "64", "--batch-size", "64",
            "--lr", "5e-3", "--no-plots"]  # fmt: skip
    assert train_main(args) == 0
    return out


@pytest.fixture(scope="module")
def exports(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("fp16-exports")
    return {
        "default": export_checkpoint(run / "final.pt", out / "default.onnx", **QUIET),
        "float32": export_checkpoint(run / "final.pt", out / "float32.onnx", weights="float32", **QUIET),
    }


def _net(run):
    state = checkpoint.load(run / "final.pt")
    net, _ = checkpoint.build_model(state)
    if state["summary"]["mirror_average"]:
        net = MirrorAveraged(net)
    return net.eval()


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
        src = _weights_from_onnx(SketchNet(checkpoint.build_model(state)[1]), str(path))
        assert all(v.dtype == torch.float32 for v in src.values())
        net, _ = checkpoint.build_model(state)
        messages = []
        _init_weights(net, str(path), messages.append)
        own = net.state_dict()
        counters = [k for k in own if k.endswith("num_batches_tracked")]  # not in an export, not needed
        assert messages[0].startswith(f"initialised {len(own) - len(counters)}/{len(own)} tensors")
        net.eval()
        if state["summary"]["mirror_average"]:
            net = MirrorAveraged(net)
        logits, emb = _torch(net, images)
        ort_logits, ort_emb = Classifier(path).run(images)
        np.testing.assert_allclose(logits, ort_logits, atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(emb, ort_emb, atol=1e-4, rtol=1e-4)


def test_an_ensemble_of_plain_and_mirrored_members_exports_in_float16(run, quickdraw_dir, tmp_path):
    from inkling.training.ensemble import Ensemble

    state = checkpoint.load(run / "final.pt")
    members = [
        checkpoint.build_model(state)[0].eval(),
        MirrorAveraged(checkpoint.build_model(state)[0]).eval(),
    ]
    ensemble = Ensemble(members).eval()
    logs = []
    out = export_onnx(
        ensemble,
        state["classes"],
        tmp_path / "ensemble.onnx",
        samples=state["samples"].numpy(),
        sample_labels=state["sample_labels"].numpy(),
        summary=state["summary"],
        log=logs.append,
    )
    assert "weights stored as float16" in logs[0]
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in ensemble.modules())  # not fused in place
    shipped = shipped_model(ensemble)
    rounded = [m.classifier for m in shipped.members]
    np.testing.assert_array_equal(
        shipped.classifier.weight.detach().numpy(),
        (torch.cat([c.weight for c in rounded], dim=1) / 2).detach().numpy(),
    )
    clf = Classifier(out)
    assert clf.meta.embedding_dim == 2 * 64
    images = _images(quickdraw_dir, "banana", 30)
    logits, emb = clf.run(images)
    ref_logits, ref_emb = _torch(shipped, images)
    np.testing.assert_allclose(logits, ref_logits, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb, ref_emb, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(emb @ clf.meta.head["W"] + clf.meta.head["b"], logits, atol=1e-4)


def test_export_command_takes_a_weights_format(run, tmp_path, capsys):
    out = tmp_path / "cli32.onnx"
    assert train_main(["export", str(run / "final.pt"), "--out", str(out), "--weights", "float32"]) == 0
    assert "weights stored as float32" in capsys.readouterr().out
    assert all(i.data_type == TensorProto.FLOAT for i in onnx.load(str(out)).graph.initializer)
    with pytest.raises(SystemExit):
        train_main(["export", str(run / "final.pt"), "--out", str(out), "--weights", "int8"])
    with pytest.raises(ValueError):
        shipped_model(_net(run), "bfloat16")
