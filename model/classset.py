"""Taught class sets: a base model plus new classes learned from a few example drawings, in one file.

Python API (what the app's Teach mode and ``inkling-train teach`` use)::

    from inkling.model.classset import teach, ClassSet

    cs = teach("default.onnx", {"teapot": [strokes, ...], "cactus": [...]})  # base path or a Classifier
    cs.save("my-drawings.inkset")            # one file, written atomically
    clf = cs.classifier()                    # a model.classifier.Classifier over base + new classes
    cs = ClassSet.load("my-drawings.inkset")  # edit later; every edit refits the head
    cs.add_class("kettle", drawings); cs.add_examples("teapot", more); cs.remove_class("cactus")
    cs.rename_class("kettle", "water kettle")

``model.classifier.load_model(path)`` opens a class set like any model (through :func:`load_classset`);
this module stands on :mod:`model.inference` and never imports model.classifier.

File format ``inkling-classset/1``: a zip holding

* ``manifest.json``: ``format``, ``classes`` (all, in logit order = base classes then new ones),
  ``base_classes``, ``new_classes``, ``examples`` ({class: {"file", "count"}}), ``fit`` (options and
  result of the head fit) and ``created`` (time, Inkling version, base model file name and sha256);
* ``base.onnx``: the base model's bytes, so that the set is self-contained;
* ``head.npz``: ``W`` (D, K) and ``b`` (K,) float32, logits = embedding @ W + b over ``classes``;
* ``examples/<class>.ndjson``: the user's drawings of each new class, in Quick, Draw! ndjson (the file
  name is the class name with characters unsafe in file names replaced by ``_``).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import json
import os
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .contract import MAX_MODEL_BYTES, ModelError, is_classset
from .fewshot import ClassQuality, FitOptions, embed_examples, fit_head, leave_one_out, variants_for
from .inference import Classifier
from .strokes import (
    DrawingRecord,
    StrokeFormatError,
    as_strokes,
    atomic_write_bytes,
    normalize,
    parse_ndjson_line,
    record_to_json,
    strokes_from_google,
    strokes_to_google,
)

FORMAT = "inkling-classset/1"
SUFFIX = ".inkset"  # suggested, not required: a class set is recognised by its content
MANIFEST = "manifest.json"
BASE = "base.onnx"
HEAD = "head.npz"
EXAMPLES_DIR = "examples/"

MIN_EXAMPLES = 1  # one drawing makes a usable class (its re-drawings give it some spread)
RECOMMENDED_EXAMPLES = 5  # fewer work, but recognise other people's drawings less reliably
MAX_NAME_LENGTH = 64
# Re-drawings of each example added to the fit: None picks them by class size (fewshot.variants_for).
AUGMENT_COPIES: int | None = None
MAX_COPIES = 16  # what a file may ask for
# What a class-set file may unpack to, checked before reading (a zip bomb declares its sizes). The
# default model's set with ten taught classes is about 3 MB.
MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = {MANIFEST: 8 * 2**20, HEAD: 256 * 2**20}
MAX_EXAMPLES_BYTES = 64 * 2**20  # one class's example drawings
MAX_COORDINATE = 1e9  # example coordinates beyond this are rescaled (see _clean_drawings)
MAX_FIT_STEPS = 10_000  # a saved option beyond this is not honoured (the default is 150)


def check_class_name(name: str, taken: Iterable[str] = ()) -> str:
    """The cleaned-up class name (stripped, NFC), or ValueError saying what is wrong with it.

    ``taken``: the names already in use; a clash is case-insensitive (``Cat`` clashes with ``cat``).
    """
    if not isinstance(name, str):
        raise ValueError(f"a class name must be text, not {type(name).__name__}")
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise ValueError("a class name cannot be empty")
    if len(clean) > MAX_NAME_LENGTH:
        raise ValueError(f"class name {clean[:20]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in clean):
        raise ValueError(f"class name {clean!r} contains control characters")
    folded = {t.casefold(): t for t in taken}
    if clean.casefold() in folded:
        raise ValueError(f"class name {clean!r} is already taken by {folded[clean.casefold()]!r}")
    return clean


def _example_file_name(name: str, used: set[str]) -> str:
    stem = re.sub(r"[^\w .,()+-]", "_", name).strip(" .") or "class"
    candidate, n = stem, 1
    while candidate.casefold() in used:  # case-insensitive file systems unpack the zip too
        n += 1
        candidate = f"{stem} ({n})"
    used.add(candidate.casefold())
    return f"{EXAMPLES_DIR}{candidate}.ndjson"


def _clean_drawings(name: str, drawings: Sequence) -> list[list[np.ndarray]]:
    out = []
    for i, d in enumerate(drawings):
        strokes = d.strokes if isinstance(d, DrawingRecord) else d
        try:
            strokes = as_strokes(strokes)
        except ValueError as exc:
            raise ValueError(f"example {i + 1} of {name!r} is not a drawing: {exc}") from None
        if strokes and max(float(np.abs(s[:, :2]).max()) for s in strokes) > MAX_COORDINATE:
            # Far beyond any canvas (a file's drawing near the float range): into Google's 0..255
            # frame, which recognition does not see (it normalizes), so that re-drawing it for the
            # fit cannot overflow. Times are kept.
            strokes = [
                np.column_stack([xy, s[:, 2:]]) for xy, s in zip(normalize(strokes), strokes, strict=True)
            ]
        if strokes:  # an empty drawing teaches nothing
            # exactly as the class-set file will hold it, so that a reloaded set refits to the same head
            out.append(strokes_from_google(strokes_to_google(strokes)))
    if len(out) < MIN_EXAMPLES:
        raise ValueError(f"class {name!r} needs at least {MIN_EXAMPLES} non-empty example drawing(s)")
    return out


class ClassSet:
    """A base model plus new classes taught from example drawings; see the module docstring.

    ``examples`` maps each new class name to its drawings (lists of (n, 2|3) stroke arrays), in
    column order. The head is refitted from the examples on every change, so it is always a pure
    function of (base model, examples, fit options). ``copies``: re-drawings of each example in the fit
    (None: by class size). ``embedding_cache``: a dict the caller keeps across class sets on one base
    model, so that a drawing is rendered and embedded once (the app refits after every drawing).
    ``measure_quality``: after each fit, measure how well each class is learned (:attr:`quality`; a few
    more fits, no more rendering).
    """

    def __init__(
        self,
        base_bytes: bytes,
        examples: Mapping[str, Sequence] | None = None,
        *,
        base_name: str = BASE,
        options: FitOptions | None = None,
        copies: int | None = AUGMENT_COPIES,
        base_classifier=None,
        embedding_cache: dict | None = None,
        measure_quality: bool = True,
        _head: tuple[np.ndarray, np.ndarray] | None = None,
        _pooled_scale: float | None = None,
        _info: dict | None = None,
    ):
        self.base_bytes = bytes(base_bytes)
        self.base_name = base_name
        self.options = options or FitOptions()
        self.copies = None if copies is None else int(copies)
        self._base = base_classifier
        self._cache = {} if embedding_cache is None else embedding_cache  # drawing -> its embeddings
        self.measure_quality = measure_quality  # leave-one-out per class after each fit (see quality)
        self.examples: dict[str, list[list[np.ndarray]]] = {}
        self.fit_info: dict = dict((_info or {}).get("fit", {}))
        self.created: dict = dict((_info or {}).get("created", {}))
        base = self.base  # validates the base model
        if base.meta.head is None or base.meta.base_embeddings is None:
            raise ModelError(
                f"{base_name} cannot be taught new classes: it does not carry its head and base-class "
                "embeddings (inkling.head, inkling.base_embeddings); export it with a current inkling-train"
            )
        for name, drawings in (examples or {}).items():
            clean = check_class_name(name, [*self.base_classes, *self.examples])
            self.examples[clean] = _clean_drawings(clean, drawings)
        self.W: np.ndarray
        self.b: np.ndarray
        # The head reads the base's teaching features (Classifier.teach_features) with this scale of its
        # pooled part; None: the embedding alone (a base without `pooled`, or a set saved before it).
        self.pooled_scale: float | None = _pooled_scale
        if _head is not None:
            self.W, self.b = _head
        else:
            self.refit()

    # --- what it is ---------------------------------------------------------------------------------

    @property
    def base(self) -> Classifier:
        """The base model as a Classifier (its own head; used to embed drawings)."""
        if self._base is None:
            self._base = Classifier.from_bytes(self.base_bytes, self.base_name)
        return self._base

    @property
    def base_classes(self) -> list[str]:
        return list(self.base.base_classes)

    @property
    def new_classes(self) -> list[str]:
        return list(self.examples)

    @property
    def classes(self) -> list[str]:
        return self.base_classes + self.new_classes

    def classifier(self, **kwargs) -> Classifier:
        """A fresh Classifier over all classes (``kwargs`` as for Classifier, e.g. ``threads``)."""
        clf = Classifier.from_bytes(self.base_bytes, self.base_name, **kwargs)
        clf.set_head(self.W, self.b, self.classes, pooled_scale=self.pooled_scale)
        return clf

    # --- editing (each change refits the head) -------------------------------------------------------

    def add_class(self, name: str, drawings: Sequence) -> str:
        """Teach one more class; returns its cleaned-up name. ValueError for a bad name or no drawings."""
        clean = check_class_name(name, self.classes)
        self.examples[clean] = _clean_drawings(clean, drawings)
        try:
            self.refit()
        except BaseException:
            del self.examples[clean]
            raise
        return clean

    def add_examples(self, name: str, drawings: Sequence) -> None:
        """More drawings of an already taught class."""
        if name not in self.examples:
            raise KeyError(f"{name!r} is not a taught class (taught: {self.new_classes})")
        old = self.examples[name]
        self.examples[name] = old + _clean_drawings(name, drawings)
        try:
            self.refit()
        except BaseException:
            self.examples[name] = old
            raise

    def remove_class(self, name: str) -> None:
        if name not in self.examples:
            raise KeyError(f"{name!r} is not a taught class (taught: {self.new_classes})")
        if len(self.examples) == 1:
            raise ValueError("a class set needs at least one taught class: keep the base model instead")
        del self.examples[name]
        self.refit()

    def rename_class(self, old: str, new: str) -> str:
        """Rename a taught class, keeping its place. The fit does not depend on names (the jitter of
        each drawing is seeded by the drawing itself), so the head stays exactly what a refit gives."""
        if old not in self.examples:
            raise KeyError(f"{old!r} is not a taught class (taught: {self.new_classes})")
        clean = check_class_name(new, [c for c in self.classes if c != old])
        self.examples = {(clean if k == old else k): v for k, v in self.examples.items()}
        quality = self.fit_info.get("quality")
        if isinstance(quality, dict):
            quality = {(clean if k == old else k): v for k, v in quality.items()}
            for q in quality.values():
                if isinstance(q, dict) and isinstance(q.get("confused_with"), dict):
                    q["confused_with"] = {
                        (clean if k == old else k): v for k, v in q["confused_with"].items()
                    }
            self.fit_info["quality"] = quality
        return clean

    def variants(self, name: str) -> int:
        """Re-drawings of each example of taught class ``name`` in the fit."""
        return variants_for(len(self.examples[name])) if self.copies is None else self.copies

    @property
    def quality(self) -> dict[str, ClassQuality]:
        """How well each taught class is learned: leave-one-out over its own examples (see
        fewshot.leave_one_out), as of the last fit. Empty for a set saved before this was measured."""
        saved = self.fit_info.get("quality")
        out = {}
        for name in self.new_classes:
            q = ClassQuality.from_json(saved.get(name)) if isinstance(saved, dict) else None
            if q is not None:
                out[name] = q
        return out

    def refit(self) -> None:
        """Fit the head to the current examples (embedding the classes not embedded yet)."""
        if not self.examples:
            raise ValueError("nothing to teach: give at least one new class")
        meta = self.base.meta
        names = list(self.examples)
        seed = self.options.seed
        # one batch a variant count for every drawing not embedded yet (rendering and the network
        # are most of a refit's time)
        todo = [(d, self.variants(n)) for n in names for d in self.examples[n]]
        for copies in sorted({c for _, c in todo}):
            embed_examples(
                self.base, [d for d, c in todo if c == copies], copies, seed=seed, cache=self._cache
            )
        per_example = [
            embed_examples(self.base, self.examples[n], self.variants(n), seed=seed, cache=self._cache)
            for n in names
        ]
        xs = [np.concatenate(p) for p in per_example]
        ys = [np.full(len(x), c) for c, x in enumerate(xs)]
        try:
            base_x = self.base.base_teach_features()
            base_y = meta.base_embeddings["label"]
            W0, b0 = meta.head["W"], meta.head["b"]
        except KeyError as exc:
            raise ModelError(f"{self.base_name}: base head or embeddings lack {exc}") from None
        # The base columns read the embedding only: zero rows for the pooled part of the features.
        W0 = np.concatenate([W0, np.zeros((base_x.shape[1] - len(W0), W0.shape[1]), W0.dtype)])
        result = fit_head(
            W0, b0, base_x, base_y, np.concatenate(xs), np.concatenate(ys), len(xs), self.options
        )
        self.W, self.b = result.W, result.b
        self.pooled_scale = self.base.pooled_scale
        quality = None
        if self.measure_quality:
            quality = leave_one_out(
                W0, b0, self.classes, np.asarray(base_x, np.float32), base_y, per_example, self.options
            )
        self.fit_info = {
            "options": dataclasses.asdict(self.options),
            "variants": "auto" if self.copies is None else self.copies,
            "seconds": round(result.seconds, 3),
            "bias_shift": round(result.bias_shift, 5),
            "loss": [round(v, 5) for v in result.loss],
        }
        if quality is not None:
            self.fit_info["quality"] = {name: q.to_json() for name, q in zip(names, quality, strict=True)}

    # --- the file ------------------------------------------------------------------------------------

    def manifest(self) -> dict:
        used: set[str] = set()
        created = dict(self.created) or {
            "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "inkling_version": _inkling_version(),
        }
        created["base_model"] = {
            "file": self.base_name,
            "sha256": hashlib.sha256(self.base_bytes).hexdigest(),
            "classes": len(self.base_classes),
        }
        self.created = created
        return {
            "format": FORMAT,
            "classes": self.classes,
            "base_classes": self.base_classes,
            "new_classes": self.new_classes,
            "examples": {
                name: {"file": _example_file_name(name, used), "count": len(drawings)}
                for name, drawings in self.examples.items()
            },
            "fit": self.fit_info,
            "created": created,
        }

    def to_bytes(self) -> bytes:
        manifest = self.manifest()
        head = io.BytesIO()
        arrays = {"W": self.W.astype(np.float32), "b": self.b.astype(np.float32)}
        if self.pooled_scale is not None:
            arrays["pooled_scale"] = np.float64(self.pooled_scale)
        np.savez(head, **arrays)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))
            z.writestr(BASE, self.base_bytes)
            z.writestr(HEAD, head.getvalue())
            for name, drawings in self.examples.items():
                lines = [record_to_json(DrawingRecord(strokes=d, word=name)) + "\n" for d in drawings]
                z.writestr(manifest["examples"][name]["file"], "".join(lines))
        return buf.getvalue()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the class set to one file, atomically (a failed save leaves any old file intact)."""
        path = Path(path)
        atomic_write_bytes(path, self.to_bytes())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, copies: int | None = None) -> ClassSet:
        """Open a class set for editing (with its example drawings). ModelError if it is unusable."""
        bundle = _read_bundle(path, with_examples=True)
        fit = _dict(bundle.manifest.get("fit"))
        options = _options_from(fit.get("options"))
        # "variants": an int, or "auto" (by class size). Sets saved before that (with "copies") are
        # refitted, when edited, with the current rule.
        saved_copies = fit.get("variants")
        if not (isinstance(saved_copies, int) and not isinstance(saved_copies, bool)):
            saved_copies = AUGMENT_COPIES
        elif not 0 <= saved_copies <= MAX_COPIES:
            saved_copies = AUGMENT_COPIES
        base_name = _dict(_dict(bundle.manifest.get("created")).get("base_model")).get("file")
        info = dict(bundle.manifest, fit=fit, created=_dict(bundle.manifest.get("created")))
        try:
            return cls(
                bundle.base_bytes,
                bundle.examples,
                base_name=base_name if isinstance(base_name, str) else BASE,
                options=options,
                copies=saved_copies if copies is None else copies,
                base_classifier=bundle.classifier,
                _head=(bundle.W, bundle.b),
                _pooled_scale=bundle.classifier.head_pooled_scale,
                _info=info,
            )
        except ModelError:
            raise
        except ValueError as exc:  # a taught class name or drawing the file should not hold
            raise ModelError(f"{path}: {exc}") from None


def teach(
    base,
    examples: Mapping[str, Sequence],
    *,
    options: FitOptions | None = None,
    copies: int | None = AUGMENT_COPIES,
    measure_quality: bool = True,
) -> ClassSet:
    """Teach a base model new classes from example drawings: ``{class name: [drawing, ...]}``.

    ``base``: the path of an Inkling model (``.onnx``), or of a class set (its taught classes are kept
    and the new ones added), or a loaded Classifier of either. Returns the fitted :class:`ClassSet`.
    ValueError for bad names or examples; ModelError when the base cannot be taught.
    """
    classifier = None
    if isinstance(base, Classifier):
        classifier, path = base, Path(base.path)
    else:
        path = Path(base)
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if is_classset(path):
        cs = ClassSet.load(path)
        for name, drawings in examples.items():
            clean = check_class_name(name, cs.classes)
            cs.examples[clean] = _clean_drawings(clean, drawings)
        cs.options, cs.copies, cs.measure_quality = options or cs.options, copies, measure_quality
        cs.refit()
        return cs
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from None
    return ClassSet(
        data,
        examples,
        base_name=path.name,
        options=options,
        copies=copies,
        base_classifier=classifier,
        measure_quality=measure_quality,
    )


# --- reading ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Bundle:
    manifest: dict
    base_bytes: bytes
    W: np.ndarray
    b: np.ndarray
    classifier: Classifier
    examples: dict[str, list]


def _read_bundle(path: str | os.PathLike, *, with_examples: bool, **kwargs) -> _Bundle:
    source = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ModelError(f"class set not found: {source}") from None
    except OSError as exc:
        raise ModelError(f"cannot read class set {source}: {exc.strerror or exc}") from None
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{source} is a damaged class set (not a readable zip file: {exc})") from None
    with zf:
        if len(zf.infolist()) > MAX_MEMBERS:
            raise ModelError(f"{source} is not a usable class set: it holds {len(zf.infolist())} files")
        names = set(zf.namelist())
        for member in (MANIFEST, BASE, HEAD):
            if member not in names:
                raise ModelError(f"{source} is not a usable class set: it has no {member}")

        def read(member: str, limit: int) -> bytes:
            size = zf.getinfo(member).file_size
            if size > limit:
                raise ModelError(
                    f"{source} is not a usable class set: {member} unpacks to {size / 2**20:.0f} MB "
                    f"(at most {limit / 2**20:.0f} MB)"
                )
            try:  # zipfile stops at the declared size, so a member that lies about it cannot grow
                return zf.read(member)
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                EOFError,
                ValueError,
                NotImplementedError,
            ) as exc:
                # CRC errors, a damaged deflate stream, truncation, unsupported compression or encryption
                raise ModelError(f"{source} is a damaged class set ({member}: {exc})") from None

        try:
            manifest = json.loads(read(MANIFEST, MAX_MEMBER_BYTES[MANIFEST]).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:  # ValueError: JSON errors, huge integers
            raise ModelError(f"{source} has a broken {MANIFEST} ({exc})") from None
        except RecursionError:
            raise ModelError(f"{source} has a broken {MANIFEST} (nested too deeply)") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise ModelError(f"{source} is not an Inkling class set (format {found!r}, expected {FORMAT!r})")
        classes = manifest.get("classes")
        base_classes = manifest.get("base_classes")
        new_classes = manifest.get("new_classes")
        if not all(
            isinstance(v, list) and all(isinstance(c, str) for c in v)
            for v in (classes, base_classes, new_classes)
        ):
            raise ModelError(f"{source}: {MANIFEST} lacks valid class lists")
        if classes != base_classes + new_classes or len(set(classes)) != len(classes):
            raise ModelError(f"{source}: {MANIFEST} has inconsistent class lists")

        base_bytes = read(BASE, MAX_MODEL_BYTES)
        try:
            z = np.load(io.BytesIO(read(HEAD, MAX_MEMBER_BYTES[HEAD])), allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with z:
                W, b = z["W"].astype(np.float32), z["b"].astype(np.float32)
                pooled_scale = float(z["pooled_scale"]) if "pooled_scale" in z.files else None
        except (
            KeyError,
            ValueError,
            TypeError,
            OSError,
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            MemoryError,
        ) as exc:
            raise ModelError(f"{source} has a broken {HEAD} ({type(exc).__name__}: {exc})") from None

        clf = Classifier.from_bytes(base_bytes, f"{source}:{BASE}", **kwargs)
        if clf.base_classes != base_classes:
            raise ModelError(f"{source}: the base classes in {MANIFEST} do not match its {BASE}")
        if W.ndim != 2 or not np.isfinite(W).all() or not np.isfinite(b).all():
            raise ModelError(f"{source}: {HEAD} holds no usable weights")
        try:
            clf.set_head(W, b, classes, pooled_scale=pooled_scale)
        except ModelError as exc:
            raise ModelError(f"{source}: {exc}") from None
        clf.path = Path(source)

        examples: dict[str, list] = {}
        if with_examples:
            entries = manifest.get("examples")
            if not isinstance(entries, dict) or set(entries) != set(new_classes):
                raise ModelError(f"{source}: {MANIFEST} does not list the examples of every taught class")
            for name in new_classes:
                member = entries[name].get("file") if isinstance(entries[name], dict) else None
                # Members are only ever read, never unpacked to disk; one outside examples/ is refused
                # all the same, so that a path such as ../../x never reaches a file name.
                if not isinstance(member, str) or not member.startswith(EXAMPLES_DIR) or ".." in member:
                    raise ModelError(f"{source}: {MANIFEST} names no usable example file for {name!r}")
                if member not in names:
                    raise ModelError(f"{source} has no example drawings for {name!r}")
                examples[name] = _parse_examples(read(member, MAX_EXAMPLES_BYTES), f"{source}:{member}")
    return _Bundle(manifest, base_bytes, W, b, clf, examples)


def _parse_examples(data: bytes, source: str) -> list:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"{source} is not UTF-8 text ({exc})") from None
    drawings = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                drawings.append(parse_ndjson_line(line, source=source, line=lineno).strokes)
            except StrokeFormatError as exc:
                raise ModelError(f"damaged class set: {exc}") from None
    return drawings


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _options_from(saved) -> FitOptions:
    """The fit options a file records; a value of the wrong type or out of range falls back to the
    default (the options only steer a refit, and a hostile one must not make it endless)."""
    kept = {}
    for f in dataclasses.fields(FitOptions):
        v = _dict(saved).get(f.name)
        if v is None:
            if f.name in _dict(saved) and "None" in str(f.type):
                kept[f.name] = None
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not -1e6 <= v <= 1e6:
            continue
        if f.name == "steps" and not 0 <= v <= MAX_FIT_STEPS:
            continue
        kept[f.name] = float(v) if "float" in str(f.type) else int(v)
    return FitOptions(**kept)


def _inkling_version() -> str:
    try:
        from importlib.metadata import version

        return version("inkling-draw")
    except Exception:  # not installed (e.g. a PyInstaller bundle without metadata)
        return "unknown"


def load_classset(path: str | os.PathLike, **kwargs) -> Classifier:
    """Open a class set as a Classifier over base + taught classes (``kwargs`` as for Classifier).

    Raises ModelError with a message for the user when the file is damaged or not a class set.
    """
    return _read_bundle(path, with_examples=False, **kwargs).classifier
