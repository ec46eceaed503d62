"""Undoable edits of the document (Qt's undo framework): add a stroke, erase strokes, replace all."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from .document import Document
from .drawing import Stroke

ERASE_ID = 1001  # mergeWith() joins the strokes erased by one eraser drag into one undo step


class AddStrokeCommand(QUndoCommand):
    def __init__(self, document: Document, stroke: Stroke):
        super().__init__("Draw stroke")
        self.document = document
        self.stroke = stroke
        self.index = len(document)

    def redo(self):
        self.document.insert(self.index, self.stroke)

    def undo(self):
        self.document.remove(self.stroke)


class EraseStrokesCommand(QUndoCommand):
    """Remove strokes touched by the eraser; one eraser drag (``gesture``) is one undo step."""

    def __init__(self, document: Document, strokes: list[Stroke], gesture: int):
        super().__init__("Erase stroke")
        self.document = document
        self.gesture = gesture
        self.strokes = list(strokes)
        self.removed: list[tuple[int, Stroke]] = []  # (index before removal, stroke), in removal order

    def id(self) -> int:
        return ERASE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EraseStrokesCommand) or other.gesture != self.gesture:
            return False
        # ``other`` has already run its redo(); keep its removals so undo restores them in reverse.
        self.strokes += other.strokes
        self.removed += other.removed
        return True

    def redo(self):
        self.removed = [(self.document.remove(s), s) for s in self.strokes]

    def undo(self):
        for index, stroke in reversed(self.removed):
            self.document.insert(index, stroke)


class ReplaceDrawingCommand(QUndoCommand):
    """Swap the whole drawing: clear (new = []) and the AutoDraw-style replace by a clean drawing."""

    def __init__(self, document: Document, new_strokes: list[Stroke], text: str):
        super().__init__(text)
        self.document = document
        self.old = document.strokes
        self.new = list(new_strokes)

    def redo(self):
        self.document.set_strokes(self.new)

    def undo(self):
        self.document.set_strokes(self.old)
