"""Checkpoints that carry their own config, written atomically and read without unpickling objects."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from .net import NetConfig, SketchNet


def save(state: dict, path: str | os.PathLike) -> None:
    """torch.save to a temporary file, then rename: an interrupted save never clobbers the last good one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike, map_location="cpu") -> dict:
    """Load a checkpoint with weights_only=True: tensors, numbers, strings, lists and dicts, never code."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(
            f"{path} is not a readable Inkling checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(state, dict) or "model" not in state or "net_config" not in state:
        raise ValueError(f"{path} is not an Inkling checkpoint (no model weights and net config)")
    return state


def build_model(state: dict) -> tuple[SketchNet, NetConfig]:
    cfg = NetConfig.from_dict(state["net_config"])
    model = SketchNet(cfg)
    model.load_state_dict(state["model"])
    return model, cfg
