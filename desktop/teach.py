"""Teach mode's logic: the classes a person teaches, refitted off the UI thread, saved after each change.

The truth is ``examples``: class name -> example drawings, in order, including classes just created
that have no drawing yet. Every change refits a class set (model.classset) on a worker thread, from the
open model plus every class with at least one drawing, so a class is in the suggestions from its first
drawing on; when a fit ends, its classifier replaces the suggestion engine's (``classifierReady``). Only
the newest fit is used: one that ends after a later change is dropped. The fitted set is saved to the
data folder (desktop.teach_store) by the worker right after the fit, atomically. The worker keeps every
drawing's embeddings (with its re-drawings) for the open model, so a refit renders only new drawings.

Each fit also measures how well every class is learned (leave-one-out over its own drawings,
``quality``) and which taught classes its drawings were mistaken for (``confusions``): the panel shows
the figure and asks for another drawing of a class that is confused with another.

With no taught class the suggestions use the open model itself. When the open model is itself a class
set, teaching extends it: its taught classes join the person's own.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from inkling.model.classifier import Classifier
from inkling.model.classset import RECOMMENDED_EXAMPLES, ClassSet, check_class_name, is_classset
from inkling.model.contract import ModelError
from inkling.model.fewshot import ClassQuality
from inkling.model.strokes import as_strokes
from PySide6.QtCore import QObject, Signal

from .latest_job import LatestJob
from .teach_store import StoreError, TeachStore

RELIABLE_EXAMPLES = 10  # past the recommended five, about this many make a class clearly more reliable


def progress_text(count: int) -> str:
    """What the person reads under a class: how many more drawings would help."""
    good, better = RECOMMENDED_EXAMPLES, RELIABLE_EXAMPLES
    if count == 0:
        return f"Draw one and add it: one drawing is enough to start, {good} make it reliable."
    if count == 1:
        return (
            f"In the suggestions now. Add another drawing so that Inkling can check how well it knows it; "
            f"{good} make it reliable."
        )
    if count < good:
        more = good - count
        return (
            f"{more} more drawing{'s' if more > 1 else ''} to reach {good}; {better} make it very reliable."
        )
    if count < better:
        return f"Good. {better - count} more make it very reliable."
    return f"{count} drawings: enough to work well. Drawings in other styles still help."


def count_text(name: str, count: int, quality: ClassQuality | None = None) -> str:
    """A class in the list: ``teapot (3/5)`` until it has the recommended drawings, then ``teapot (7)``;
    with its quality figure once measured: ``teapot (3/5) · 67%``."""
    text = f"{name} ({count}/{RECOMMENDED_EXAMPLES})" if count < RECOMMENDED_EXAMPLES else f"{name} ({count})"
    if quality is not None and quality.share is not None and quality.examples == count:
        text += f" · {quality.share:.0%}"
    return text


def quality_text(name: str, quality: ClassQuality | None, taught: list[str]) -> str:
    """What the figure means for one class, and what to draw next when it is weak."""
    if quality is None:
        return ""
    if quality.recognised is None:
        return "With one drawing there is nothing to check it against yet."
    n, hits = quality.examples, quality.recognised
    text = f"Recognised {hits} of its {n} drawings when each was left out of the teaching."
    if quality.confused_with:
        worst = max(quality.confused_with, key=lambda k: quality.confused_with[k])
        kind = "your" if worst in taught else "the model's"
        text += f" Mistaken for {kind} “{worst}” {quality.confused_with[worst]}×."
    if hits < n:
        text += f" Another drawing of “{name}” helps."
    return text


def confusion_text(pairs: list[tuple[str, str, int]]) -> str:
    """The request for another drawing when taught classes are mistaken for each other."""
    if not pairs:
        return ""
    a, b, _ = pairs[0]
    text = f"“{a}” and “{b}” look alike to Inkling: draw another “{a}”, and one of “{b}”."
    if len(pairs) > 1:
        others = ", ".join(f"“{x}” / “{y}”" for x, y, _ in pairs[1:3])
        text += f" Also confused: {others}."
    return text


def _unclashed(name: str, taken: list[str]) -> str:
    """``name``, or ``name (taught)``, ``name (taught 2)``... when it clashes with a name in ``taken``."""
    folded = {t.casefold() for t in taken}
    candidate, n = name, 1
    while candidate.casefold() in folded:
        candidate = f"{name} (taught)" if n == 1 else f"{name} (taught {n})"
        n += 1
    return candidate


@dataclass
class _FitRequest:
    generation: int
    base_serial: int  # which open model: the worker keeps one Classifier of it to embed with
    base_bytes: bytes
    base_name: str
    examples: dict[str, list]


@dataclass
class _FitResult:
    generation: int
    classset: ClassSet | None = None
    classifier: Classifier | None = None
    error: str | None = None
    saved: bool = False
    save_error: str | None = None
    seconds: dict = field(default_factory=dict)


class TeachController(QObject):
    changed = Signal()  # the classes, their drawings or the status changed: the panel redraws
    classifierReady = Signal(object)  # the Classifier the suggestions should use now
    problem = Signal(str, str)  # title, message: something the person must know about (a dialog)

    def __init__(self, model: Classifier, store: TeachStore | None, parent=None):
        super().__init__(parent)
        self.store = store
        self.examples: dict[str, list[list[np.ndarray]]] = {}
        self.classset: ClassSet | None = None  # the newest fitted set (what Export writes)
        self.generation = 0
        self.fit_error: str | None = None
        self.save_error: str | None = None  # why the last save failed: the classes live in memory only
        self.unsaved = False
        self.unavailable: str | None = None  # why the open model cannot be taught
        self.notice: str | None = None  # a one-off note for the panel (e.g. classes merged from a model)
        self._worker = LatestJob(self._fit, self)  # only the newest change waits to be fitted
        self._worker.done.connect(self._fit_done)
        self._model = model
        self._base_serial = 0
        self._worker_base: tuple[int, Classifier, dict] | None = None
        self._base_bytes = b""
        self._base_name = ""
        self._model_set: ClassSet | None = None  # the open model, when it is a class set
        self._set_base(model)

    # --- what it holds ----------------------------------------------------------------------------

    @property
    def model(self) -> Classifier:
        return self._model

    @property
    def busy(self) -> bool:
        """Whether a fit is running."""
        return self._worker.busy

    @property
    def base_classes(self) -> list[str]:
        return list(self._model.base_classes)

    @property
    def taught_classes(self) -> list[str]:
        """Classes with at least one drawing: those in the suggestions."""
        return [name for name, drawings in self.examples.items() if drawings]

    def count(self, name: str) -> int:
        return len(self.examples.get(name, []))

    def quality(self, name: str) -> ClassQuality | None:
        """How well ``name`` is learned, as of the newest fit (None before its first fit is done)."""
        if self.classset is None:
            return None
        return self.classset.quality.get(name)

    def confusions(self) -> list[tuple[str, str, int]]:
        """Taught classes whose drawings were mistaken for each other when left out: (class, the class
        it was mistaken for, how many times), most first; each pair once."""
        taught = set(self.taught_classes)
        pairs: dict[frozenset, tuple[str, str, int]] = {}
        for name in self.taught_classes:
            q = self.quality(name)
            for other, n in q.confused_with.items() if q is not None else ():
                if other in taught and other != name:
                    key = frozenset((name, other))
                    total = n + (pairs[key][2] if key in pairs else 0)
                    first = pairs[key][0] if key in pairs else name
                    pairs[key] = (first, other if first == name else name, total)
        return sorted(pairs.values(), key=lambda p: -p[2])

    # --- start-up and the open model -----------------------------------------------------------------

    def restore(self) -> str | None:
        """Load the stored classes and start using them; returns a message for the person when the
        stored file was unusable (it has been set aside) or cannot be read."""
        loaded = self.store.load() if self.store is not None else None
        stored = loaded.classset if loaded is not None else None
        if stored is not None:
            for name, drawings in stored.examples.items():
                self.examples[_unclashed(name, [*self.base_classes, *self.examples])] = list(drawings)
        self._take_model_classes()
        self._settle(stored)
        return loaded.message if loaded is not None else None

    def set_model(self, model: Classifier) -> None:
        """The app opened another model: teach on it from now on (the taught classes are refitted)."""
        self._model = model
        self._set_base(model)
        self._take_model_classes()
        self._settle(None)

    def _settle(self, stored: ClassSet | None) -> None:
        """Use the model, a fitted set at hand, or fit one, for the classes now taught."""
        names = self.taught_classes
        if self.unavailable is not None or not names:
            self.generation += 1  # a fit still running is of no use now
            self.classset = None
            self.classifierReady.emit(self._model)
            self.changed.emit()
        elif stored is not None and stored.base_bytes == self._base_bytes and self._holds_same(stored):
            self.generation += 1  # taught on this very model: the stored head is what a fit gives
            self.classset, self.unsaved = stored, False
            self.classifierReady.emit(stored.classifier())
            self.changed.emit()
        elif self._model_set is not None and self._holds_same(self._model_set):
            self.generation += 1  # just the open class set's own classes: it is its own fit
            self.classset, self.unsaved = self._model_set, False
            self.classifierReady.emit(self._model)
            self.changed.emit()
        else:
            self._refit()

    def _holds_same(self, classset: ClassSet) -> bool:
        names = self.taught_classes
        return names == classset.new_classes and all(
            len(self.examples[n]) == len(classset.examples[n]) for n in names
        )

    def _set_base(self, model: Classifier) -> None:
        """Take the open model's bytes (the base of every fit); the worker builds its session lazily."""
        self.unavailable = None
        self._model_set = None
        self._base_serial += 1
        self._base_bytes, self._base_name = b"", ""
        path = Path(model.path)
        if model.meta.head is None or model.meta.base_embeddings is None:
            self.unavailable = (
                f"{path.name} cannot learn new classes: it does not carry its head and base-class embeddings"
            )
            return
        try:
            if is_classset(path):
                self._model_set = ClassSet.load(path)
                self._base_bytes, self._base_name = self._model_set.base_bytes, self._model_set.base_name
            else:
                self._base_bytes, self._base_name = path.read_bytes(), path.name
        except ModelError as exc:
            self.unavailable = str(exc)
        except OSError as exc:
            self.unavailable = f"cannot read {path}: {exc.strerror or exc}"
        if self.unavailable is not None:
            self._model_set = None
            return
        for name in list(self.examples):  # a class of the new model may clash with a taught one
            fixed = _unclashed(name, [*self.base_classes, *(n for n in self.examples if n != name)])
            if fixed != name:
                self.examples = {(fixed if k == name else k): v for k, v in self.examples.items()}

    def _take_model_classes(self) -> None:
        """Teaching extends an open class set: its classes that are not taught yet join the person's."""
        if self._model_set is None:
            return
        taken = {n.casefold() for n in self.examples}
        added = [name for name in self._model_set.examples if name.casefold() not in taken]
        for name in added:
            self.examples[name] = list(self._model_set.examples[name])
        if added:
            self.notice = f"Classes taught in {Path(self._model.path).name}: {', '.join(added)}."

    # --- editing --------------------------------------------------------------------------------------

    def check_new_name(self, name: str, *, renaming: str | None = None) -> str:
        """The cleaned-up name, or ValueError with a message that says what to do instead."""
        base = {c.casefold(): c for c in self.base_classes}
        clean = check_class_name(name)  # empty, too long, control characters
        if clean.casefold() in base:
            raise ValueError(
                f"“{clean}” is already one of the model's own classes (“{base[clean.casefold()]}”). "
                f"Pick another name, such as “my {clean}”."
            )
        others = [n for n in self.examples if n != renaming]
        for other in others:
            if other.casefold() == clean.casefold():
                raise ValueError(f"You already taught a class called “{other}”. Pick another name.")
        return clean

    def new_class(self, name: str) -> str:
        """Start a class with no drawings yet; ValueError (with a message) for a bad or taken name."""
        self._need_model()
        clean = self.check_new_name(name)
        self.examples[clean] = []
        self.changed.emit()
        return clean

    def add_example(self, name: str, strokes) -> int:
        """One more drawing of ``name``; returns its number of drawings. ValueError for an empty one."""
        self._need_model()
        if name not in self.examples:
            raise KeyError(name)
        drawing = [np.array(s, dtype=np.float64, copy=True) for s in as_strokes(strokes)]
        if not drawing:
            raise ValueError("Draw something first: an empty drawing teaches nothing.")
        self.examples[name].append(drawing)
        self._refit()
        return len(self.examples[name])

    def rename_class(self, old: str, new: str) -> str:
        clean = self.check_new_name(new, renaming=old)
        self.examples = {(clean if k == old else k): v for k, v in self.examples.items()}
        self._refit()
        return clean

    def delete_class(self, name: str) -> None:
        del self.examples[name]
        self._refit()

    def import_file(self, path: str | Path) -> tuple[list[str], list[str]]:
        """Add the classes of a class-set file; returns (added, skipped with why). ModelError if unusable."""
        self._need_model()
        other = ClassSet.load(path)
        added, skipped = [], []
        for name, drawings in other.examples.items():
            try:
                clean = self.check_new_name(name)
            except ValueError as exc:
                skipped.append(str(exc).split(". ")[0] + ".")
                continue
            self.examples[clean] = list(drawings)
            added.append(clean)
        if added:
            self._refit()
        return added, skipped

    def export_file(self, path: str | Path) -> Path:
        """Write the taught classes (base model included) to one file. ValueError when there are none."""
        self.wait_idle()
        if self.classset is None or not self.taught_classes:
            raise ValueError("There is nothing to export yet: teach a class first.")
        saved = self.classset.save(path)
        self.unsaved = False  # kept in that file, even when the data folder cannot take them
        return saved

    def _need_model(self) -> None:
        if self.unavailable is not None:
            raise ValueError(f"Teaching is not possible with this model: {self.unavailable}")

    # --- fitting --------------------------------------------------------------------------------------

    def _refit(self) -> None:
        self.generation += 1
        self.unsaved = True
        if self.unavailable is not None:
            self.changed.emit()
            return
        request = _FitRequest(
            self.generation,
            self._base_serial,
            self._base_bytes,
            self._base_name,
            {name: list(drawings) for name, drawings in self.examples.items() if drawings},
        )
        self._worker.submit(request)  # waits while a fit runs: only the newest change needs fitting
        self.changed.emit()

    def _fit(self, req: _FitRequest) -> _FitResult:
        """Fit (and save) the classes of one request: runs on the worker thread."""
        result = _FitResult(req.generation)
        try:
            if req.examples:
                cached = self._worker_base  # only ever touched on the worker thread
                if cached is None or cached[0] != req.base_serial:
                    # a new model: its Classifier, and an empty cache of drawings' embeddings on it
                    cached = (req.base_serial, Classifier.from_bytes(req.base_bytes, req.base_name), {})
                    self._worker_base = cached
                cs = ClassSet(
                    req.base_bytes,
                    req.examples,
                    base_name=req.base_name,
                    base_classifier=cached[1],
                    embedding_cache=cached[2],
                )
                result.classset, result.classifier = cs, cs.classifier()
        except (ModelError, ValueError) as exc:
            result.error = str(exc)
        except Exception as exc:  # a worker must never take the app down; the examples are kept
            traceback.print_exc(file=sys.stderr)
            result.error = f"{type(exc).__name__}: {exc}"
        # Save only the newest state: a fit overtaken by a later change is followed by the fit of it.
        if result.error is None and self.store is not None and req.generation == self.generation:
            try:
                self.store.save(result.classset)
                result.saved = True
            except StoreError as exc:
                result.save_error = str(exc)
        return result

    def _fit_done(self, request: _FitRequest, result: _FitResult | None) -> None:
        waiting = self._worker.take_waiting()
        if waiting is not None:
            self._worker.start(waiting)
        if result is None:  # raised past the fit's own handling (printed): the status is redrawn
            self.changed.emit()
            return
        if result.generation != self.generation:
            return  # stale: the taught classes changed while it ran
        self.fit_error = result.error
        if result.error is not None:
            self.problem.emit("Cannot learn these classes", result.error)
            self.changed.emit()
            return
        self.classset = result.classset
        self.unsaved = not result.saved
        if result.save_error is not None:
            first = self.save_error is None
            self.save_error = result.save_error
            if first:  # once, not after every drawing; the panel keeps saying it
                self.problem.emit(
                    "Cannot save your taught classes",
                    f"{result.save_error}\n\nYour classes still work and are kept while Inkling runs. "
                    "Use Export class set… in the Teach panel to keep them in a file of your choice.",
                )
        elif result.saved:
            self.save_error = None
        self.classifierReady.emit(result.classifier if result.classifier is not None else self._model)
        self.changed.emit()

    def wait_idle(self, timeout_ms: int = 30000) -> bool:
        """Let running fits end and deliver their results (export, closing the window, tests)."""
        from PySide6.QtCore import QCoreApplication

        while self._worker.busy or self._worker.waiting is not None:
            if not self._worker.wait_done(timeout_ms):
                return False
            QCoreApplication.processEvents()  # delivers the result, which may start the pending fit
        return True
