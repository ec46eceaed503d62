"""The document: the ordered strokes of the current drawing, with a signal when they change.

Only undo commands (desktop.commands) change it, so that every edit can be undone.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from .drawing import Stroke


class Document(QObject):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._strokes: list[Stroke] = []

    @property
    def strokes(self) -> list[Stroke]:
        return list(self._strokes)

    def __len__(self) -> int:
        return len(self._strokes)

    def index_of(self, stroke: Stroke) -> int:
        for i, s in enumerate(self._strokes):
            if s is stroke:
                return i
        raise ValueError("stroke is not in the document")

    def insert(self, index: int, stroke: Stroke) -> None:
        self._strokes.insert(index, stroke)
        self.changed.emit()

    def remove(self, stroke: Stroke) -> int:
        index = self.index_of(stroke)
        del self._strokes[index]
        self.changed.emit()
        return index

    def set_strokes(self, strokes: list[Stroke]) -> None:
        self._strokes = list(strokes)
        self.changed.emit()
