"""Taught class sets (few-shot heads on a base model). Placeholder until the teach issue lands."""

from __future__ import annotations

import zipfile
from pathlib import Path


def is_classset(path: Path) -> bool:
    return zipfile.is_zipfile(path)


def load_classset(path: Path, **kwargs):
    from .contract import ModelError

    raise ModelError(f"{path}: class sets are not supported yet")
