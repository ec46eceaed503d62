"""The clean reference drawings the AutoDraw-style replace puts in place of a doodle (one per class).

resources/reference/references.ndjson holds one real Quick, Draw! drawing per class, chosen by
training/references.py; see resources/reference/ATTRIBUTION.md for their licence.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from inkling.model.resources import resource_path
from inkling.model.strokes import read_ndjson


def default_references_path() -> Path:
    return resource_path("reference", "references.ndjson")


class ReferenceLibrary:
    def __init__(self, drawings: dict[str, list[np.ndarray]] | None = None):
        self._drawings = dict(drawings or {})
        self._path: Path | None = None  # a file still to be read on first use
        # Taught classes: the person's own first drawing of each is its clean picture.
        self.taught: dict[str, list[np.ndarray]] = {}

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> ReferenceLibrary:
        """The references in ``path`` (default: the bundled ones), read on first use: start-up does not
        wait for them. A missing or damaged file gives an empty library (and a warning) then."""
        library = cls()
        library._path = Path(path) if path is not None else default_references_path()
        return library

    @property
    def drawings(self) -> dict[str, list[np.ndarray]]:
        if self._path is not None:
            path, self._path = self._path, None
            self._drawings = self._read(path)
        return self._drawings

    @staticmethod
    def _read(path: Path) -> dict[str, list[np.ndarray]]:
        if not path.exists():
            print(f"inkling: no reference drawings at {path}; replace is unavailable", file=sys.stderr)
            return {}
        result = read_ndjson(path, skip_bad=True)
        if result.skipped:
            print(f"inkling: {result.summary(path)}", file=sys.stderr)
        return {r.word: r.strokes for r in result.records if r.word and r.strokes}

    def __contains__(self, label: str) -> bool:
        return label in self.taught or label in self.drawings

    def get(self, label: str) -> list[np.ndarray] | None:
        return self.taught.get(label) or self.drawings.get(label)
