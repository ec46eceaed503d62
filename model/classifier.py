"""Open an Inkling model: a plain ``.onnx`` file or a taught class set, as a :class:`Classifier`.

The Classifier itself (running the model with ONNX Runtime) is in :mod:`model.inference`; its public names
are here too, so that ``from inkling.model.classifier import Classifier, load_model`` is all an app needs.
"""

from __future__ import annotations

import os
from pathlib import Path

from .contract import ModelError, is_classset
from .inference import Classifier, Suggestion, softmax

__all__ = ["Classifier", "Suggestion", "default_model_path", "load_model", "softmax"]


def load_model(path: str | os.PathLike, **kwargs) -> Classifier:
    """Open an Inkling model: a plain ``.onnx`` file or a taught class set (see :mod:`model.classset`)."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if is_classset(path):
        from . import classset  # only for a class set: the app opens a plain model without it

        return classset.load_classset(path, **kwargs)
    return Classifier(path, **kwargs)


def default_model_path() -> Path:
    """The model bundled with Inkling (also inside a PyInstaller bundle)."""
    from .resources import resource_path

    return resource_path("models", "default.onnx")
