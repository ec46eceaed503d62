"""The model file contract shared by training (which writes it) and the app (which reads it).

An Inkling model is an ONNX file with input ``image`` (N, 1, 28, 28) float32 in [0, 1] (ink = 1, as
rendered by :mod:`model.raster` and divided by 255) and outputs ``logits`` (N, K) and ``embedding`` (N, D),
batch dimension dynamic. It may also have ``pooled`` (N, P): an earlier conv block's maps averaged over
space, shape features that few-shot heads use beside the embedding (:mod:`model.fewshot`). Its metadata
(ONNX ``metadata_props``, all strings) makes it self-describing:

=========================  =====================================================================
key                        value
=========================  =====================================================================
inkling.format             ``inkling-model/1``
inkling.classes            JSON list of the K class names, in logit order
inkling.preprocessing      JSON object, see :data:`PREPROCESSING`
inkling.embedding_dim      D, as a decimal string
inkling.training           JSON object: the training summary (data, split, accuracy, time, hardware)
inkling.head               base64 ``.npz`` with ``W`` (D, K) and ``b`` (K,): logits = embedding @ W + b
inkling.base_embeddings    base64 ``.npz`` with ``embedding`` (M, D) float16 and ``label`` (M,) int:
                           a sample of each class's held-out embeddings, so that few-shot heads can
                           remember the base classes; with ``pooled`` (M, P) float16, the same
                           drawings' ``pooled`` output, when the model has one
=========================  =====================================================================
"""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

FORMAT = "inkling-model/1"
INPUT = "image"
OUTPUT_LOGITS = "logits"
OUTPUT_EMBEDDING = "embedding"
OUTPUT_POOLED = "pooled"  # optional

PREPROCESSING = {
    "renderer": "model.raster",
    "side": 28,
    "line_width": 16,
    "padding": 16,
    "dtype": "float32",
    "range": [0.0, 1.0],
    "ink": 1.0,
    "layout": "NCHW",
}

KEY_FORMAT = "inkling.format"
KEY_CLASSES = "inkling.classes"
KEY_PREPROCESSING = "inkling.preprocessing"
KEY_EMBEDDING_DIM = "inkling.embedding_dim"
KEY_TRAINING = "inkling.training"
KEY_HEAD = "inkling.head"
KEY_BASE_EMBEDDINGS = "inkling.base_embeddings"


class ModelError(ValueError):
    """A file that is not a usable Inkling model; the message says why, for the user."""


@dataclass
class ModelMeta:
    classes: list[str]
    embedding_dim: int
    preprocessing: dict = field(default_factory=lambda: dict(PREPROCESSING))
    training: dict = field(default_factory=dict)
    head: dict[str, np.ndarray] | None = None
    base_embeddings: dict[str, np.ndarray] | None = None

    def to_props(self) -> dict[str, str]:
        props = {
            KEY_FORMAT: FORMAT,
            KEY_CLASSES: json.dumps(self.classes),
            KEY_PREPROCESSING: json.dumps(self.preprocessing, sort_keys=True),
            KEY_EMBEDDING_DIM: str(int(self.embedding_dim)),
            KEY_TRAINING: json.dumps(self.training, sort_keys=True),
        }
        if self.head is not None:
            props[KEY_HEAD] = encode_arrays(self.head)
        if self.base_embeddings is not None:
            props[KEY_BASE_EMBEDDINGS] = encode_arrays(self.base_embeddings)
        return props

    @classmethod
    def from_props(cls, props: dict[str, str], *, source: str = "model") -> ModelMeta:
        if props.get(KEY_FORMAT) != FORMAT:
            found = props.get(KEY_FORMAT)
            why = (
                "it has no Inkling metadata" if found is None else f"its format is {found!r}, not {FORMAT!r}"
            )
            raise ModelError(f"{source} is not an Inkling model: {why}")
        try:
            classes = json.loads(props[KEY_CLASSES])
            preprocessing = json.loads(props[KEY_PREPROCESSING])
            dim = int(props[KEY_EMBEDDING_DIM])
            training = json.loads(props.get(KEY_TRAINING, "{}"))
            head = decode_arrays(props[KEY_HEAD]) if KEY_HEAD in props else None
            base = decode_arrays(props[KEY_BASE_EMBEDDINGS]) if KEY_BASE_EMBEDDINGS in props else None
        except (
            KeyError,
            ValueError,
            TypeError,
            OSError,
            EOFError,
            MemoryError,
            zipfile.BadZipFile,
            zlib.error,
        ) as exc:
            raise ModelError(f"{source} has broken Inkling metadata ({type(exc).__name__}: {exc})") from None
        except RecursionError:
            raise ModelError(f"{source} has broken Inkling metadata (JSON nested too deeply)") from None
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise ModelError(f"{source} has no valid class list in its metadata")
        if len(set(classes)) != len(classes):
            raise ModelError(f"{source} lists a class name twice")
        if not isinstance(preprocessing, dict):
            raise ModelError(f"{source} has broken Inkling metadata ({KEY_PREPROCESSING} is not an object)")
        if preprocessing.get("side") != 28 or preprocessing.get("renderer") != "model.raster":
            raise ModelError(f"{source} expects preprocessing this version cannot give: {preprocessing}")
        if not 0 < dim <= MAX_EMBEDDING_DIM:
            raise ModelError(f"{source} has broken Inkling metadata ({KEY_EMBEDDING_DIM} is {dim})")
        if not isinstance(training, dict):
            training = {}  # informative only; a model without it still works
        _check_head(head, dim, len(classes), source)
        _check_base_embeddings(base, dim, len(classes), source)
        return cls(classes, dim, preprocessing, training, head, base)


MAX_MODEL_BYTES = 512 * 1024 * 1024  # a model file, or the base model in a class set (the default: 4.2 MB)
MAX_EMBEDDING_DIM = 1 << 16
MAX_ARRAY_BYTES = 256 * 1024 * 1024  # the arrays in a model's metadata, unpacked (the default's: 0.6 MB)


def _check_head(head: dict | None, dim: int, k: int, source: str) -> None:
    if head is None:
        return
    W, b = head.get("W"), head.get("b")
    if (
        not isinstance(W, np.ndarray)
        or not isinstance(b, np.ndarray)
        or W.shape != (dim, k)
        or b.shape != (k,)
        or W.dtype.kind != "f"
        or b.dtype.kind != "f"
        or not (np.isfinite(W).all() and np.isfinite(b).all())
    ):
        raise ModelError(f"{source} has broken Inkling metadata ({KEY_HEAD} does not fit {dim} x {k})")


def _check_base_embeddings(base: dict | None, dim: int, k: int, source: str) -> None:
    if base is None:
        return
    emb, label = base.get("embedding"), base.get("label")
    if (
        not isinstance(emb, np.ndarray)
        or not isinstance(label, np.ndarray)
        or emb.ndim != 2
        or emb.shape[1] != dim
        or label.shape != (len(emb),)
        or emb.dtype.kind != "f"
        or label.dtype.kind not in "iu"
        or not np.isfinite(emb).all()
        or (len(label) and not (0 <= label.min() and label.max() < k))
    ):
        raise ModelError(f"{source} has broken Inkling metadata ({KEY_BASE_EMBEDDINGS} do not fit)")
    pooled = base.get("pooled")
    if pooled is not None and (
        not isinstance(pooled, np.ndarray)
        or pooled.ndim != 2
        or len(pooled) != len(emb)
        or not 0 < pooled.shape[1] <= MAX_EMBEDDING_DIM
        or pooled.dtype.kind != "f"
        or not np.isfinite(pooled).all()
    ):
        raise ModelError(f"{source} has broken Inkling metadata ({KEY_BASE_EMBEDDINGS}: pooled does not fit)")


def encode_arrays(arrays: dict[str, np.ndarray]) -> str:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def decode_arrays(text: str) -> dict[str, np.ndarray]:
    """The arrays of :func:`encode_arrays`. ValueError (or zipfile/OS errors) for a damaged text; no
    more than MAX_ARRAY_BYTES are unpacked, whatever the archive inside claims."""
    z = np.load(io.BytesIO(base64.b64decode(text.encode("ascii"), validate=True)), allow_pickle=False)
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError("not an .npz archive")
    with z:
        if sum(info.file_size for info in z.zip.infolist()) > MAX_ARRAY_BYTES:
            raise ValueError(f"the arrays unpack to more than {MAX_ARRAY_BYTES // 2**20} MB")
        return {k: z[k] for k in z.files}


def to_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) or (28, 28), 0 = background, 255 = ink -> the model's float32 input."""
    arr = np.asarray(images)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.shape[-2:] != (28, 28):
        raise ValueError(f"images must be 28x28, got shape {arr.shape}")
    return (arr.reshape(-1, 1, 28, 28).astype(np.float32)) / np.float32(255.0)


def is_classset(path: str | os.PathLike) -> bool:
    """Whether ``path`` is (or claims to be: a zip signature at the start) a taught class set
    (:mod:`model.classset`) rather than an ONNX model.

    Here rather than in model.classset, so that the app opens a plain model without importing that."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head.startswith(b"PK") or zipfile.is_zipfile(path)
