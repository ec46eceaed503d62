"""``inkling-train export``: a trained checkpoint -> a self-describing Inkling ONNX model.

The export verifies itself: ONNX Runtime and torch must agree (within 1e-4) on real held-out drawings,
and the written file must open through the app's own loader, or the export fails and writes nothing.

By default the weights are stored as float16 (half the file) while all computation stays float32: each
batch norm is fused into the convolution before it, every convolution and linear weight is rounded to
float16 in torch, and the large initializers are written as float16 with a ``Cast`` back to float32 at
the start of the graph. The rounded torch model is the one shipped, so it is also the one verified.
"""

from __future__ import annotations

import copy
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from inkling.model.contract import (
    INPUT,
    OUTPUT_EMBEDDING,
    OUTPUT_LOGITS,
    OUTPUT_POOLED,
    PREPROCESSING,
    ModelMeta,
    to_input,
)
from inkling.model.strokes import atomic_write_bytes
from torch import nn

from . import checkpoint
from .net import MirrorAveraged, SketchNet, with_pooled

TOLERANCE = 1e-4
OPSET = 17
WEIGHT_FORMATS = ("float16", "float32")
HALF_MIN_ELEMENTS = 1024  # smaller initializers stay float32: a Cast node would cost more than it saves


class ExportError(RuntimeError):
    pass


def shipped_model(net: nn.Module, weights: str = "float16") -> nn.Module:
    """The torch model an export writes: a float32, eval-mode copy of ``net`` (never ``net`` itself).

    With ``weights="float16"`` every batch norm in each ``SketchNet`` is fused into the convolution before
    it and every convolution and linear weight is rounded to float16 (and held as float32), so the file can
    store those weights as float16 exactly.
    """
    if weights not in WEIGHT_FORMATS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_FORMATS)}, not {weights!r}")
    net = copy.deepcopy(net).float().cpu().eval().to(memory_format=torch.contiguous_format)
    if weights == "float32":
        return net
    with torch.no_grad():
        for sketch in [m for m in net.modules() if isinstance(m, SketchNet)]:
            _fuse_batch_norms(sketch.features)
            for m in sketch.modules():
                if isinstance(m, nn.Conv2d | nn.Linear):
                    half = m.weight.half()
                    if not torch.isfinite(half).all():
                        raise ExportError(
                            "a weight is outside float16's range: export with --weights float32"
                        )
                    m.weight.copy_(half.float())
    return net


def _fuse_batch_norms(features: nn.Sequential) -> None:
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for i in range(len(features) - 1):
        conv, bn = features[i], features[i + 1]
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            features[i] = fuse_conv_bn_eval(conv, bn)
            features[i + 1] = nn.Identity()


def _store_half(proto, min_elements: int = HALF_MIN_ELEMENTS) -> int:
    """Store float32 initializers of ``min_elements`` or more that float16 holds exactly as float16.

    Each is renamed, and a ``Cast(to=FLOAT)`` at the start of the graph gives back the original name, so
    every consumer is unchanged. Returns the number converted.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    taken = {i.name for i in graph.initializer} | {v.name for v in graph.input}
    taken |= {name for node in graph.node for name in node.output}
    inputs = {v.name for v in graph.input}
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or init.name in inputs:
            continue
        array = numpy_helper.to_array(init)
        if array.size < min_elements:
            continue
        half = array.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), array):
            continue  # not exactly representable: stays float32 rather than change the model
        name, stored = init.name, f"{init.name}_float16"
        while stored in taken:
            stored += "_"
        taken.add(stored)
        init.CopyFrom(numpy_helper.from_array(half, stored))
        casts.append(
            helper.make_node("Cast", [stored], [name], name=f"{stored}_to_float", to=TensorProto.FLOAT)
        )
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return len(casts)


def export_onnx(
    net: SketchNet | MirrorAveraged | nn.Module,
    classes: list[str],
    out: str | Path,
    *,
    samples: np.ndarray,
    sample_labels: np.ndarray,
    summary: dict | None = None,
    weights: str = "float16",
    log=print,
) -> Path:
    """Write ``out`` (atomically) after checking ONNX Runtime against torch on ``samples`` (uint8 N×28×28).

    ``weights`` is how the file stores the weights, ``"float16"`` (see :func:`shipped_model`) or
    ``"float32"``; the model computes in float32 either way. ``net`` is not modified.
    """
    import onnx
    import onnxruntime as ort

    if len(samples) == 0:
        raise ExportError("export needs real drawings to verify the model against; none were given")
    net = shipped_model(net, weights)
    graph = with_pooled(net) or net  # a single network also gives `pooled` (for teaching)
    outputs = [OUTPUT_LOGITS, OUTPUT_EMBEDDING] + ([OUTPUT_POOLED] if graph is not net else [])
    x = torch.from_numpy(to_input(samples))
    with torch.no_grad():
        refs = [t.numpy() for t in graph(x)]
    ref_logits, ref_emb = refs[:2]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated but gives plain, small graphs without onnxscript.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                graph,
                (x[:1],),
                str(path),
                input_names=[INPUT],
                output_names=outputs,
                dynamic_axes={name: {0: "batch"} for name in [INPUT, *outputs]},
                opset_version=OPSET,
                dynamo=False,
            )
        proto = onnx.load(str(path))
    if weights == "float16":
        _store_half(proto)

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
            **({"pooled": refs[2].astype(np.float16)} if len(refs) > 2 else {}),
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
    got = session.run(outputs, {INPUT: x.numpy()})
    logits = got[0]
    worst = max(float(np.abs(g - r).max()) for g, r in zip(got, refs, strict=True))
    scale = max(1.0, *(float(np.abs(r).max()) for r in refs))
    if worst > TOLERANCE * scale:
        raise ExportError(
            f"ONNX Runtime and torch disagree by {worst:.2e} (> {TOLERANCE:g} x {scale:.1f}); not written"
        )
    if not np.array_equal(logits.argmax(1), ref_logits.argmax(1)):
        raise ExportError("ONNX Runtime and torch rank the classes differently; not written")

    out = Path(out)
    atomic_write_bytes(out, data)
    from inkling.model.classifier import Classifier

    Classifier(out)  # the app's loader must accept what we wrote
    log(
        f"exported {out} ({len(data) / 1e6:.2f} MB, {len(classes)} classes, weights stored as {weights}); "
        f"onnxruntime matches torch to {worst:.1e} on {len(samples)} held-out drawings"
    )
    return out


# Held-out drawings per class that an export checks and keeps as the base sample teaching reads (their
# embeddings and pooled maps, about 1.2 kB a drawing compressed): 3 a class keep the 345-class model under 5 MB.
BASE_PER_CLASS = 3


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Positions of the first ``per_class`` entries of each label, in their order."""
    seen: dict[int, int] = {}
    keep = []
    for i, y in enumerate(np.asarray(labels).tolist()):
        if seen.get(y, 0) < per_class:
            seen[y] = seen.get(y, 0) + 1
            keep.append(i)
    return np.asarray(keep, np.int64)


def export_checkpoint(
    ckpt_path: str | Path,
    out: str | Path,
    *,
    weights: str = "float16",
    base_per_class: int = BASE_PER_CLASS,
    log=print,
) -> Path:
    state = checkpoint.load(ckpt_path)
    if "samples" not in state:
        raise ExportError(f"{ckpt_path} has no held-out samples to verify against: export a run's final.pt")
    net, _ = checkpoint.build_model(state)
    if state.get("summary", {}).get("mirror_average"):
        net = MirrorAveraged(net)
    keep = first_per_class(state["sample_labels"].numpy(), base_per_class)
    return export_onnx(
        net,
        state["classes"],
        out,
        samples=state["samples"].numpy()[keep],
        sample_labels=state["sample_labels"].numpy()[keep],
        summary=state.get("summary"),
        weights=weights,
        log=log,
    )


def run_export(args) -> int:
    try:
        export_checkpoint(args.checkpoint, args.out, weights=args.weights, base_per_class=args.base_per_class)
    except (ExportError, ValueError, FileNotFoundError) as exc:
        print(f"inkling-train export: error: {exc}", file=sys.stderr)
        return 2
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a trained checkpoint to an Inkling ONNX model")
    p.add_argument("checkpoint", help="a run's final.pt")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    p.add_argument(
        "--weights",
        choices=WEIGHT_FORMATS,
        default="float16",
        help="how the file stores the weights (computation is float32 either way; default: float16)",
    )
    p.add_argument(
        "--base-per-class",
        type=int,
        default=BASE_PER_CLASS,
        help=f"held-out drawings a class kept as the base sample teaching reads (default: {BASE_PER_CLASS})",
    )
    p.set_defaults(func=run_export)
