"""Start a network from another model's weights: an exported ONNX model or a checkpoint."""

from __future__ import annotations

import re

import numpy as np
import torch

from . import checkpoint
from .net import SketchNet


def weights_from_onnx(net: SketchNet, path: str) -> dict[str, torch.Tensor]:
    """A state dict from an exported Inkling model (all tensors float32).

    The exporter folds each batch norm into the convolution before it (W' = W * g / s, b' = beta - mu * g / s),
    so the convolutions take the folded weights and each batch norm becomes the identity plus b'. Weights
    stored as float16 reach the graph through a ``Cast`` to float32 that carries the original name.
    """
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(path)
    inits = {}
    for i in proto.graph.initializer:
        array = numpy_helper.to_array(i)
        if np.issubdtype(array.dtype, np.floating):
            inits[i.name] = torch.from_numpy(array.astype(np.float32))
    stored = set()
    for node in proto.graph.node:
        if node.op_type == "Cast" and node.input and node.input[0] in inits:
            inits[node.output[0]] = inits[node.input[0]]
            stored.add(node.input[0])
    # A single network is exported as ``net.*`` (mirror-averaged) or as member 0 of an ensemble.
    out = {
        re.sub(r"^(net\.|members\.0\.(net\.)?)", "", k): v
        for k, v in inits.items()
        if not k.startswith("onnx::") and k not in stored
    }
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    names = [name for name, m in net.features.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if len(convs) != len(names):
        return out
    for node, name in zip(convs, names, strict=True):
        bn = f"features.{int(name) + 1}"
        weight = inits[node.input[1]]
        bias = inits[node.input[2]] if len(node.input) > 2 else torch.zeros(weight.shape[0])
        out[f"features.{name}.weight"] = weight
        out[f"{bn}.weight"] = torch.ones_like(bias)
        out[f"{bn}.bias"] = bias
        out[f"{bn}.running_mean"] = torch.zeros_like(bias)
        out[f"{bn}.running_var"] = torch.full_like(bias, 1.0 - 1e-5)  # so that sqrt(var + eps) == 1
    return out


def init_from(net: SketchNet, path: str, classes: list[str], log) -> list[int]:
    """Load another model's weights; classifier rows are matched by class name. Returns the new classes."""
    if str(path).endswith(".onnx"):
        from inkling.model.classifier import load_model

        src = weights_from_onnx(net, path)
        src_classes = load_model(path).base_classes
    else:
        state = checkpoint.load(path)
        src, src_classes = state["model"], state["classes"]
    own = net.state_dict()
    taken = 0
    for k, v in src.items():
        if k in own and own[k].shape == v.shape:
            own[k] = v
            taken += 1
    w, b = src.get("classifier.weight"), src.get("classifier.bias")
    # Copies: the loop above may have put these very tensors into ``own``, whose rows are rewritten below.
    w, b = (None if t is None else t.clone() for t in (w, b))
    new = list(range(len(classes)))
    if w is not None and b is not None and w.shape[1] == own["classifier.weight"].shape[1]:
        where = {n: i for i, n in enumerate(src_classes)}
        new = [c for c, n in enumerate(classes) if n not in where]
        for c, n in enumerate(classes):
            if n in where:
                own["classifier.weight"][c] = w[where[n]]
                own["classifier.bias"][c] = b[where[n]]
    net.load_state_dict(own)
    log(
        f"initialised {taken}/{len(own)} tensors from {path}; {len(classes) - len(new)} classifier rows by name"
    )
    return new


@torch.no_grad()
def quiet_new_rows(net: SketchNet, new: list[int], known: list[int]) -> None:
    """New classes start silent (zero weights, the lowest known bias): the known classes keep their accuracy
    at the start, and the new rows are learned from there."""
    if not new or not known:
        return
    net.classifier.weight[new] = 0.0
    net.classifier.bias[new] = float(net.classifier.bias[known].min())


@torch.no_grad()
def recalibrate_batch_norms(net: SketchNet, images: np.ndarray) -> None:
    """Turn the folded batch norms of a network read from ONNX back into working ones.

    An exported model has each batch norm folded into its convolution, so it comes back as an identity
    batch norm with the shift b'. In training mode a batch norm normalizes by the batch's statistics, which
    would wreck that function. So measure each convolution's output mean and variance on real drawings and
    set the batch norm to undo exactly that normalization (gamma = sqrt(var + eps), beta = mean + b'): the
    network computes the same function in eval mode, nearly the same in training mode, and trains as a
    batch-normalized network again.
    """
    bns = [m for m in net.features if isinstance(m, torch.nn.BatchNorm2d)]
    stats: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(module, inputs, _output):
        z = inputs[0].float()
        stats[id(module)] = (z.mean(dim=(0, 2, 3)), z.var(dim=(0, 2, 3)))

    handles = [bn.register_forward_hook(hook) for bn in bns]
    was_training = net.training
    net.eval()
    try:
        net(torch.from_numpy(images[:2048].astype(np.float32) / 255.0).unsqueeze(1))
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    for bn in bns:
        mean, var = stats[id(bn)]
        shift = bn.bias.clone() - bn.running_mean * bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.copy_(torch.sqrt(var + bn.eps))
        bn.bias.copy_(mean + shift)
