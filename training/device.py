"""Where training runs: CPU or CUDA (bf16, channels-last), one process or several (``torchrun``, DDP)."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data import DataError


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_kind: str) -> Dist:
    """The process group ``torchrun`` asks for (NCCL on GPUs, gloo on CPUs); one process without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as tdist

    tdist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return Dist(tdist.get_rank(), tdist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise DataError("--device cuda was asked for, but CUDA is not available")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device(name)


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} threads"


def to_batch(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 (B, 28, 28) -> float (B, 1, 28, 28) in [0, 1], channels-last, on the device."""
    x = images.to(device, non_blocking=True).float().div_(255.0).unsqueeze(1)
    return x.contiguous(memory_format=torch.channels_last)


def autocast(device: torch.device):
    # bf16 mixed precision on CUDA; on CPU it is slower than float32 on most machines, so it stays off.
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.no_grad()
def predict(net, images: np.ndarray | torch.Tensor, device: torch.device, batch: int = 1024):
    """Logits and embeddings of uint8 images (N, 28, 28), in eval mode."""
    was_training = net.training
    net.eval()
    logits, embs = [], []
    images = torch.as_tensor(images)
    for i in range(0, len(images), batch):
        with autocast(device):
            lo, em = net(to_batch(images[i : i + batch], device))
        logits.append(lo.float().cpu())
        embs.append(em.float().cpu())
    net.train(was_training)
    if not logits:
        return np.zeros((0, net.cfg.num_classes), np.float32), np.zeros(
            (0, net.cfg.embedding_dim), np.float32
        )
    return torch.cat(logits).numpy(), torch.cat(embs).numpy()
