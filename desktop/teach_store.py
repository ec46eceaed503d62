"""Where the classes a person teaches Inkling live: one class-set file in their data folder.

Layout: ``<data folder>/classes/current.inkset`` (the ``inkling-classset/1`` zip of model.classset,
written atomically after every change). The data folder is ``platformdirs.user_data_dir("Inkling",
"Inkling")``, or ``$INKLING_DATA_DIR`` when that is set (tests, portable installs).

A file that cannot be opened as a class set is never silently dropped: it is renamed to
``current.inkset.corrupt-<time>`` next to where it was, and the caller gets a message saying so. A file
that exists but cannot be read (permissions) is left alone, and saving is refused so that it is never
overwritten by a set that does not hold its classes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inkling.model.contract import ModelError

if TYPE_CHECKING:  # (imported where a set is read: the app starts without it)
    from inkling.model.classset import ClassSet

DATA_DIR_ENV = "INKLING_DATA_DIR"
CLASSES_DIR = "classes"
CURRENT = "current.inkset"


def data_dir() -> Path:
    """The person's Inkling data folder (not created here)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("Inkling", "Inkling"))


class StoreError(Exception):
    """Saving or loading the taught classes failed; the message is for the person."""


@dataclass
class Loaded:
    classset: ClassSet | None  # None: nothing stored yet, or nothing usable
    message: str | None = None  # for the person: what went wrong and where the file is now


class TeachStore:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder) / CLASSES_DIR
        self.path = self.folder / CURRENT
        self.blocked: str | None = None  # why saving is refused (an unreadable file we must not overwrite)

    def load(self) -> Loaded:
        if not self.path.exists():
            return Loaded(None)
        try:
            with open(self.path, "rb") as fh:
                fh.read(1)
        except OSError as exc:
            self.blocked = (
                f"Inkling cannot read your taught classes in {self.path} ({exc.strerror or exc}). "
                "It leaves that file alone and will not save over it."
            )
            return Loaded(None, self.blocked)
        try:
            from inkling.model.classset import ClassSet

            return Loaded(ClassSet.load(self.path))
        except (ModelError, ValueError, KeyError, TypeError, AttributeError, IndexError, MemoryError) as exc:
            # ClassSet.load says ModelError for every damage it knows; the others are a backstop, so
            # that no damaged file stops the app from starting (it is moved aside, not deleted).
            reason = str(exc) or type(exc).__name__
        moved = self.path.with_name(f"{CURRENT}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, moved)
        except OSError as exc:
            self.blocked = (
                f"Your taught classes in {self.path} are damaged ({reason}), and Inkling could not move "
                f"the file aside ({exc.strerror or exc}). It leaves the file alone and will not save over it."
            )
            return Loaded(None, self.blocked)
        return Loaded(
            None,
            f"Your taught classes file was damaged and could not be opened ({reason}).\n\n"
            f"It was moved to {moved} so that nothing is lost; Inkling starts with no taught classes.",
        )

    def save(self, classset: ClassSet | None) -> Path:
        """Write the class set (None or no classes: remove the file). StoreError with a message."""
        if self.blocked:
            raise StoreError(self.blocked)
        try:
            if classset is None:
                self.path.unlink(missing_ok=True)
                return self.path
            self.folder.mkdir(parents=True, exist_ok=True)
            return classset.save(self.path)
        except OSError as exc:
            where = exc.filename or self.folder
            raise StoreError(
                f"Inkling cannot save your taught classes in {where}: {exc.strerror or exc}."
            ) from None
