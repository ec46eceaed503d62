"""Several trained members as one model: logits averaged, embeddings side by side.

Averaging the logits of independently trained networks is the cheapest reliable gain in accuracy. The
combined model keeps Inkling's contract: its embedding is the members' embeddings concatenated, and its
logits are still a linear function of that embedding (``[e1, e2] @ [W1 / 2; W2 / 2] + (b1 + b2) / 2``), so
few-shot heads on the embedding stay consistent with the model's own logits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from inkling.model.strokes import atomic_write_text
from torch import nn

from . import checkpoint
from .data import Dataset
from .fit import SAMPLES_PER_CLASS, _sample_index, hardware_description, predict
from .metrics import classification_report
from .net import MirrorAveraged, NetConfig, count_parameters, inference_flops


class Ensemble(nn.Module):
    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)
        k = members[0].cfg.num_classes
        dim = sum(m.cfg.embedding_dim for m in members)
        self.cfg = NetConfig(k, embedding_dim=dim)
        # Not used in forward: the equivalent single linear layer, written into the model's metadata.
        self.classifier = nn.Linear(dim, k)
        self.refresh_classifier()

    @torch.no_grad()
    def refresh_classifier(self) -> None:
        """Rebuild the equivalent linear layer from the members' (after their weights changed)."""
        members = list(self.members)
        self.classifier.weight.copy_(torch.cat([m.classifier.weight for m in members], dim=1) / len(members))
        self.classifier.bias.copy_(torch.stack([m.classifier.bias for m in members]).mean(0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outs = [m(x) for m in self.members]
        logits = torch.stack([o[0] for o in outs]).mean(0)
        return logits, torch.cat([o[1] for o in outs], dim=1)


def load_member(path: str | Path, mirror: bool | None = None) -> tuple[nn.Module, dict]:
    """A run's final.pt as a network, mirror-averaged if ``mirror`` (None: if its training chose that)."""
    state = checkpoint.load(path)
    net, _ = checkpoint.build_model(state)
    if mirror is None:
        mirror = bool(state.get("summary", {}).get("mirror_average"))
    if mirror:
        net = MirrorAveraged(net)
    return net.eval(), state


Member = tuple[Path, bool]  # a run's final.pt, and whether it averages over the mirror image


def _as_members(members) -> list[tuple[Path, bool | None]]:
    """Plain paths (None: mirror averaging as their training chose) or (path, mirror) pairs."""
    return [(Path(m[0]), bool(m[1])) if isinstance(m, (tuple, list)) else (Path(m), None) for m in members]


def member_flops(net: nn.Module) -> int:
    """Operations per drawing of a member (twice its network's when it averages over the mirror image)."""
    base = net.net if isinstance(net, MirrorAveraged) else net
    return inference_flops(base.cfg) * (2 if isinstance(net, MirrorAveraged) else 1)


# Bytes of metadata per embedding dimension in an exported model (the few-shot head and the remembered
# base-class embeddings), measured on exported ensembles; used to keep a selection under a size limit.
METADATA_BYTES_PER_DIM = 1600


def estimated_bytes(members: list[nn.Module]) -> int:
    """The exported size of an ensemble: float16 weights plus metadata that grows with the embedding."""
    dim = sum(m.cfg.embedding_dim for m in members)
    return 2 * sum(count_parameters(m) for m in members) + METADATA_BYTES_PER_DIM * dim + 20_000


def select_members(
    member_paths: list[str | Path],
    data_dirs: list[str],
    *,
    max_bytes: int,
    max_flops: float | None = None,
    log=print,
) -> list[Member]:
    """Greedy forward selection on the validation split (never the test split).

    Each trained network is offered twice, plain and averaged over the mirror image (twice the work).
    Start from the best one that fits, then add whichever other network raises the averaged logits'
    validation top-1 most, while the exported model stays under ``max_bytes`` and one drawing costs at
    most ``max_flops`` operations (the app classifies live, after every stroke)."""
    states = [checkpoint.load(p) for p in member_paths]
    classes = states[0]["classes"]
    split = states[0]["summary"]["split"]
    for s in states[1:]:
        if s["classes"] != classes or s["summary"]["split"] != split:
            raise ValueError("ensemble members must share their classes and their split")
    ds = Dataset.load(data_dirs, classes, log=log)
    val = ds.split(split["seed"], split["val_frac"], split["test_frac"], split.get("max_per_class"))["val"]
    images = ds.gather(val)
    mirrored = np.ascontiguousarray(images[:, :, ::-1])
    labels = torch.from_numpy(val.label)
    device = torch.device("cpu")
    options = []  # (path index, mirror, network, val logits)
    for i, state in enumerate(states):
        net = checkpoint.build_model(state)[0].eval()
        plain = torch.from_numpy(predict(net, images, device)[0])
        flipped = torch.from_numpy(predict(net, mirrored, device)[0])
        options.append((i, False, net, plain))
        options.append((i, True, MirrorAveraged(net), (plain + flipped) / 2))

    def top1(chosen: list[int]) -> float:
        logits = torch.stack([options[j][3] for j in chosen]).mean(0)
        return float((logits.argmax(1) == labels).float().mean())

    def fits(chosen: list[int]) -> bool:
        nets = [options[j][2] for j in chosen]
        flops = sum(member_flops(n) for n in nets)
        return estimated_bytes(nets) <= max_bytes and (max_flops is None or flops <= max_flops)

    for j, (i, mirror, net, _) in enumerate(options):
        log(
            f"candidate {member_paths[i]}{' (mirror-averaged)' if mirror else ''}: validation top-1 "
            f"{top1([j]):.4f}, ~{estimated_bytes([net]) / 1e6:.2f} MB, {member_flops(net) / 1e6:.0f} MFLOP"
        )
    single = [j for j in range(len(options)) if fits([j])]
    if not single:
        raise ValueError("no candidate fits the size and compute limits")
    chosen = [max(single, key=lambda j: top1([j]))]
    while True:
        used = {options[j][0] for j in chosen}
        more = [j for j in range(len(options)) if options[j][0] not in used and fits([*chosen, j])]
        if not more:
            break
        best = max(more, key=lambda j: top1([*chosen, j]))
        if top1([*chosen, best]) <= top1(chosen):
            break
        chosen.append(best)
        log(f"ensemble of {len(chosen)}: validation top-1 {top1(chosen):.4f}")
    return [(Path(member_paths[options[j][0]]), options[j][1]) for j in chosen]


def combine(
    member_paths: list,
    data_dirs: list[str],
    out_run: str | Path,
    *,
    log=print,
) -> dict:
    """Evaluate the ensemble on the members' common splits and write its final.pt (for export).

    ``member_paths``: runs' final.pt files, or (final.pt, mirror) pairs from :func:`select_members`."""
    specs = _as_members(member_paths)
    member_paths = [p for p, _ in specs]
    members, states = zip(*(load_member(p, m) for p, m in specs), strict=True)
    mirror = [isinstance(m, MirrorAveraged) for m in members]
    classes = states[0]["classes"]
    split = states[0]["summary"]["split"]
    for s in states[1:]:
        if s["classes"] != classes or s["summary"]["split"] != split:
            raise ValueError("ensemble members must share their classes and their split")
    ensemble = Ensemble(list(members)).eval()
    device = torch.device("cpu")
    ds = Dataset.load(data_dirs, classes, log=log)
    splits = ds.split(split["seed"], split["val_frac"], split["test_frac"], split.get("max_per_class"))
    reports = {}
    for name in ("val", "test"):
        images = ds.gather(splits[name])
        reports[name] = classification_report(
            predict(ensemble, images, device)[0], splits[name].label, classes
        )
    member_val = [
        s["summary"].get("val_top1_mirror_averaged", s["summary"]["val_top1"])
        if m
        else s["summary"]["val_top1"]
        for s, m in zip(states, mirror, strict=True)
    ]
    log(
        f"ensemble of {len(members)}: validation top-1 {reports['val']['top1']:.4f} "
        f"(members {', '.join(f'{v:.4f}' for v in member_val)}); test top-1 {reports['test']['top1']:.4f}, "
        f"top-3 {reports['test']['top3']:.4f}"
    )
    test = reports["test"]
    summary = dict(states[0]["summary"])
    summary.update(
        {
            "test": {k: test[k] for k in ("top1", "top3", "top5", "n")},
            "val_top1": reports["val"]["top1"],
            "ensemble": {
                "members": [str(p) for p in member_paths],
                "member_val_top1": member_val,
                "member_mirror_average": mirror,
            },
            "inference_flops": sum(member_flops(m) for m in members),
            "epochs": max(s["summary"]["epochs"] for s in states),
            "train_seconds": round(sum(s["summary"]["train_seconds"] for s in states), 1),
            "hardware": states[0]["summary"].get("hardware", hardware_description(device)),
            "member_configs": [s["net_config"] for s in states],
            "parameters": count_parameters(ensemble) - count_parameters(ensemble.classifier),
        }
    )
    out_run = Path(out_run)
    out_run.mkdir(parents=True, exist_ok=True)
    metrics = {
        "test": test,
        "summary": summary,
        "val": {k: reports["val"][k] for k in ("top1", "top3", "top5")},
    }
    atomic_write_text(out_run / "metrics.json", json.dumps(metrics, indent=2))
    # Fewer remembered drawings per class than one network keeps: the embedding is wider.
    samples = _sample_index(splits["val"], len(classes), SAMPLES_PER_CLASS // 2)
    checkpoint.save(
        {
            "ensemble": [str(p) for p in member_paths],
            "mirror": mirror,
            "classes": classes,
            "summary": summary,
            "samples": torch.from_numpy(ds.gather(samples)),
            "sample_labels": torch.from_numpy(samples.label),
        },
        out_run / "final.pt",
    )
    return metrics


def export_ensemble(ensemble_ckpt: str | Path, out: str | Path, *, log=print) -> Path:
    from .export import export_onnx

    state = torch.load(ensemble_ckpt, map_location="cpu", weights_only=True)
    mirror = state.get("mirror", [None] * len(state["ensemble"]))
    members = [load_member(p, m)[0] for p, m in zip(state["ensemble"], mirror, strict=True)]
    return export_onnx(
        Ensemble(members),
        state["classes"],
        out,
        samples=state["samples"].numpy(),
        sample_labels=np.asarray(state["sample_labels"].numpy()),
        summary=state["summary"],
        log=log,
    )
