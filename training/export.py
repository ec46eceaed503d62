"""``inkling-train export``: a trained checkpoint -> a self-describing Inkling ONNX model.

The export verifies itself: ONNX Runtime and torch must agree (within 1e-4) on real held-out drawings,
and the written file must open through the app's own loader, or the export fails and writes nothing.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from model.contract import INPUT, OUTPUT_EMBEDDING, OUTPUT_LOGITS, PREPROCESSING, ModelMeta, to_input
from model.strokes import atomic_write_bytes

from . import checkpoint
from .net import MirrorAveraged, SketchNet

TOLERANCE = 1e-4
OPSET = 17


class ExportError(RuntimeError):
    pass


def export_onnx(
    net: SketchNet | MirrorAveraged,
    classes: list[str],
    out: str | Path,
    *,
    samples: np.ndarray,
    sample_labels: np.ndarray,
    summary: dict | None = None,
    log=print,
) -> Path:
    """Write ``out`` (atomically) after checking ONNX Runtime against torch on ``samples`` (uint8 N×28×28)."""
    import onnx
    import onnxruntime as ort

    if len(samples) == 0:
        raise ExportError("export needs real drawings to verify the model against; none were given")
    net = net.float().cpu().eval().to(memory_format=torch.contiguous_format)
    x = torch.from_numpy(to_input(samples))
    with torch.no_grad():
        ref_logits, ref_emb = (t.numpy() for t in net(x))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated but gives plain, small graphs without onnxscript.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                net,
                (x[:1],),
                str(path),
                input_names=[INPUT],
                output_names=[OUTPUT_LOGITS, OUTPUT_EMBEDDING],
                dynamic_axes={
                    INPUT: {0: "batch"},
                    OUTPUT_LOGITS: {0: "batch"},
                    OUTPUT_EMBEDDING: {0: "batch"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
        proto = onnx.load(str(path))

    meta = ModelMeta(
        classes=list(classes),
        embedding_dim=net.cfg.embedding_dim,
        preprocessing=dict(PREPROCESSING),
        training=summary or {},
        head={
            "W": net.classifier.weight.detach().numpy().T.copy(),
            "b": net.classifier.bias.detach().numpy().copy(),
        },
        base_embeddings={
            "embedding": ref_emb.astype(np.float16),
            "label": np.asarray(sample_labels, dtype=np.int32),
        },
    )
    del proto.metadata_props[:]
    for key, value in meta.to_props().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "inkling-train"
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    logits, emb = session.run([OUTPUT_LOGITS, OUTPUT_EMBEDDING], {INPUT: x.numpy()})
    worst = max(float(np.abs(logits - ref_logits).max()), float(np.abs(emb - ref_emb).max()))
    scale = max(1.0, float(np.abs(ref_logits).max()), float(np.abs(ref_emb).max()))
    if worst > TOLERANCE * scale:
        raise ExportError(
            f"ONNX Runtime and torch disagree by {worst:.2e} (> {TOLERANCE:g} x {scale:.1f}); not written"
        )
    if not np.array_equal(logits.argmax(1), ref_logits.argmax(1)):
        raise ExportError("ONNX Runtime and torch rank the classes differently; not written")

    out = Path(out)
    atomic_write_bytes(out, data)
    from model.classifier import Classifier

    Classifier(out)  # the app's loader must accept what we wrote
    log(
        f"exported {out} ({len(data) / 1e6:.2f} MB, {len(classes)} classes); "
        f"onnxruntime matches torch to {worst:.1e} on {len(samples)} held-out drawings"
    )
    return out


def export_checkpoint(ckpt_path: str | Path, out: str | Path, *, log=print) -> Path:
    state = checkpoint.load(ckpt_path)
    if "samples" not in state:
        raise ExportError(f"{ckpt_path} has no held-out samples to verify against: export a run's final.pt")
    net, _ = checkpoint.build_model(state)
    if state.get("summary", {}).get("mirror_average"):
        net = MirrorAveraged(net)
    return export_onnx(
        net,
        state["classes"],
        out,
        samples=state["samples"].numpy(),
        sample_labels=state["sample_labels"].numpy(),
        summary=state.get("summary"),
        log=log,
    )


def run_export(args) -> int:
    try:
        export_checkpoint(args.checkpoint, args.out)
    except (ExportError, ValueError, FileNotFoundError) as exc:
        print(f"inkling-train export: error: {exc}", file=sys.stderr)
        return 2
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a trained checkpoint to an Inkling ONNX model")
    p.add_argument("checkpoint", help="a run's final.pt")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    p.set_defaults(func=run_export)
