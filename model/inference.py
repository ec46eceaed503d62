"""Run an Inkling model with ONNX Runtime: strokes or images in, ranked suggestions out. No torch here.

Opening a model file, a plain ``.onnx`` or a taught class set, is :func:`model.classifier.load_model`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .contract import (
    INPUT,
    MAX_MODEL_BYTES,
    OUTPUT_EMBEDDING,
    OUTPUT_LOGITS,
    OUTPUT_POOLED,
    ModelError,
    ModelMeta,
    to_input,
)
from .raster import rasterize

# How much the ``pooled`` output weighs beside the embedding in the features a taught head reads, as a
# ratio of their mean lengths over the model's base sample. 1 (equal lengths) was best of 0.25-4 on the
# tuning alphabets (benchmarks/bench_fewshot.py --report tune: 5 drawings 0.984-0.990, 1 drawing
# 0.930-0.944); at about 5 the fit fell apart on the report alphabets (5 drawings 0.82).
POOLED_WEIGHT = 1.0


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB, at most {MAX_MODEL_BYTES // 2**20} MB"


@dataclass(frozen=True)
class Suggestion:
    label: str
    p: float


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class Classifier:
    """An ONNX Inkling model, optionally with a replacement head on its embedding (a taught class set).

    ``head`` = (W (D, K'), b (K',), classes (K' names)) replaces the model's own logits by
    ``embedding @ W + b`` over ``classes``. A head may instead read the *teaching features*
    (:meth:`teach_features`: the embedding, then the ``pooled`` output scaled by ``pooled_scale``); its
    W then has D + P rows.
    """

    def __init__(
        self, path: str | os.PathLike, *, threads: int | None = None, head=None, data: bytes | None = None
    ):
        import onnxruntime as ort  # imported here so that `import model` stays cheap

        self.path = Path(path)
        source = str(self.path)
        if data is None:
            try:
                if self.path.stat().st_size > MAX_MODEL_BYTES:
                    raise ModelError(
                        f"{source} is too large for an Inkling model ({_mb(self.path.stat().st_size)})"
                    )
                data = self.path.read_bytes()
            except OSError as exc:
                raise ModelError(f"cannot read model {source}: {exc.strerror or exc}") from None
        elif len(data) > MAX_MODEL_BYTES:
            raise ModelError(f"{source} is too large for an Inkling model ({_mb(len(data))})")
        opts = ort.SessionOptions()
        # Two threads halve the latency of one drawing (measured on 2 cores); more only add overhead
        # for a network this small.
        opts.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        # No busy-waiting between runs: the app classifies a drawing every stroke, tens of ms apart, and
        # a worker spinning after each run took a core from the UI thread on 2 cores (stroke end to
        # repainted, 20 pieces placed: median 7.4 -> 4.1 ms, p95 14.6 -> 7.7 ms; start-up faster too).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for every kind of bad file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{source} is not a valid ONNX model ({first[:200]})") from None
        self.meta = ModelMeta.from_props(self.session.get_modelmeta().custom_metadata_map, source=source)
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        if INPUT not in inputs or not {OUTPUT_LOGITS, OUTPUT_EMBEDDING} <= outputs:
            raise ModelError(
                f"{source} does not have Inkling's inputs/outputs "
                f"(want {INPUT} -> {OUTPUT_LOGITS}, {OUTPUT_EMBEDDING}; has {list(inputs)} -> {sorted(outputs)})"
            )
        self.pooled_dim = 0  # P, the width of the optional `pooled` output (set by _check_runs)
        self._check_runs(source, with_pooled=OUTPUT_POOLED in outputs)
        self.base_classes: list[str] = list(self.meta.classes)
        self.pooled_scale = self._pooled_scale()
        self.head = None
        self._head_scale: float | None = None  # the pooled scale the head reads with; None: embedding only
        self.classes: list[str] = list(self.base_classes)
        if head is not None:
            self.set_head(*head)

    def _check_runs(self, source: str, with_pooled: bool) -> None:
        """Run two blank drawings once, so that a model whose outputs do not match its metadata (or that
        cannot take a batch) fails here with a message, not on the first drawing."""
        names = [OUTPUT_LOGITS, OUTPUT_EMBEDDING] + ([OUTPUT_POOLED] if with_pooled else [])
        try:
            logits, emb, *pooled = self.session.run(names, {INPUT: np.zeros((2, 1, 28, 28), np.float32)})
        except Exception as exc:  # onnxruntime's own exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{source} does not run on Inkling's input ({first[:200]})") from None
        want = {"logits": (2, len(self.meta.classes)), "embedding": (2, self.meta.embedding_dim)}
        got = {"logits": np.shape(logits), "embedding": np.shape(emb)}
        if got != want:
            raise ModelError(f"{source} gives outputs of shape {got}; its metadata says {want}")
        if pooled:
            shape = np.shape(pooled[0])
            if len(shape) != 2 or shape[0] != 2 or not shape[1]:
                raise ModelError(f"{source} gives a {OUTPUT_POOLED} output of shape {shape}")
            self.pooled_dim = int(shape[1])

    def _pooled_scale(self) -> float | None:
        """The scale of ``pooled`` in the teaching features (POOLED_WEIGHT times the ratio of the mean
        lengths of the base sample's embeddings and pooled outputs), or None when the model gives no
        ``pooled`` or keeps no sample of it: teaching then reads the embedding alone."""
        base = self.meta.base_embeddings or {}
        pooled = base.get("pooled")
        if not self.pooled_dim or pooled is None or pooled.shape[1] != self.pooled_dim or not len(pooled):
            return None
        emb_len = float(np.linalg.norm(base["embedding"].astype(np.float32), axis=1).mean())
        pooled_len = float(np.linalg.norm(pooled.astype(np.float32), axis=1).mean())
        if not (emb_len > 0 and pooled_len > 0):
            return None
        return POOLED_WEIGHT * emb_len / pooled_len

    @property
    def teach_dim(self) -> int:
        """The width of :meth:`teach_features`."""
        return self.meta.embedding_dim + (self.pooled_dim if self.pooled_scale is not None else 0)

    @classmethod
    def from_bytes(cls, data: bytes, source: str, **kwargs) -> Classifier:
        """A model held in memory (e.g. inside a class-set file); ``source`` names it in messages."""
        return cls(source, data=data, **kwargs)

    def set_head(
        self, W: np.ndarray, b: np.ndarray, classes: list[str], pooled_scale: float | None = None
    ) -> None:
        """Classify with ``features @ W + b`` over ``classes``: the embedding when W has D rows, the
        teaching features when it has D + P (``pooled_scale``: the scale they were taught with; default
        this model's own)."""
        W = np.asarray(W, dtype=np.float32)
        b = np.asarray(b, dtype=np.float32)
        D, P = self.meta.embedding_dim, self.pooled_dim
        reads_pooled = bool(P) and W.ndim == 2 and W.shape[0] == D + P
        if W.shape != (D + P if reads_pooled else D, len(classes)) or b.shape != (len(classes),):
            raise ModelError(
                f"head shape {W.shape}/{b.shape} does not fit embedding {D} and {len(classes)} classes"
            )
        scale = None
        if reads_pooled:
            scale = self.pooled_scale if pooled_scale is None else float(pooled_scale)
            if scale is None or not np.isfinite(scale) or scale <= 0:
                raise ModelError("the head reads the pooled features, but no usable scale for them is known")
        self.head = (W, b)
        self._head_scale = scale
        self.classes = list(classes)

    @property
    def head_pooled_scale(self) -> float | None:
        """The pooled scale the current head reads with (None: it reads the embedding alone)."""
        return self._head_scale

    # --- inference --------------------------------------------------------------------------------

    def run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images (N, 28, 28) -> (logits (N, K), embedding (N, D)), with the head applied."""
        if self.head is None:
            logits, emb = self.session.run([OUTPUT_LOGITS, OUTPUT_EMBEDDING], {INPUT: to_input(images)})
            return logits, emb
        # A head replaces the model's logits: only what it reads is computed.
        features, emb = self._features(images, self._head_scale)
        W, b = self.head
        return features @ W + b, emb

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        return softmax(self.run(images)[0])

    def embed(self, images: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_EMBEDDING], {INPUT: to_input(images)})[0]

    def teach_features(self, images: np.ndarray) -> np.ndarray:
        """(N, teach_dim) float32: the embedding, then (when the model has it) ``pooled`` scaled by
        ``pooled_scale``. What taught heads read: the embedding is shaped by the base classes, the
        pooled maps keep shape detail that tells new things (a letter, a logo) from them."""
        return self._features(images, self.pooled_scale)[0]

    def _features(self, images: np.ndarray, scale: float | None) -> tuple[np.ndarray, np.ndarray]:
        """(features, embedding): the embedding alone when ``scale`` is None, else joined with ``pooled``
        times ``scale``."""
        if scale is None:
            (emb,) = self.session.run([OUTPUT_EMBEDDING], {INPUT: to_input(images)})
            return np.asarray(emb, dtype=np.float32), emb
        emb, pooled = self.session.run([OUTPUT_EMBEDDING, OUTPUT_POOLED], {INPUT: to_input(images)})
        return _joined(emb, pooled, scale), emb

    def base_teach_features(self) -> np.ndarray:
        """The teaching features of the base sample in the metadata (rows of base_embeddings)."""
        base = self.meta.base_embeddings or {}
        emb = np.asarray(base["embedding"], dtype=np.float32)
        if self.pooled_scale is None:
            return emb
        return _joined(emb, base["pooled"], self.pooled_scale)

    def rank(self, probs: np.ndarray, top: int = 5) -> list[Suggestion]:
        order = np.argsort(-probs)[:top]
        return [Suggestion(self.classes[i], float(probs[i])) for i in order]

    def classify_image(self, image: np.ndarray, top: int = 5) -> list[Suggestion]:
        return self.rank(self.predict_proba(image)[0], top)

    def classify_strokes(self, strokes, top: int = 5) -> list[Suggestion]:
        return self.classify_image(rasterize(strokes), top)


def _joined(emb: np.ndarray, pooled: np.ndarray, scale: float) -> np.ndarray:
    return np.concatenate(
        [np.asarray(emb, np.float32), np.asarray(pooled, np.float32) * np.float32(scale)], axis=1
    )
