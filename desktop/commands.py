"""Undoable edits (Qt's undo framework) of the current doodle (add a stroke, erase strokes, replace all)
and of the scene (place a piece, move and resize, delete, restack, recolour, replace everything)."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from .document import Document
from .drawing import Stroke
from .scene import Piece, Rect, Scene

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


class PlaceCommand(QUndoCommand):
    """The current doodle becomes a piece on top of the scene (accepted art, or kept ink); the next
    stroke starts a new doodle."""

    def __init__(self, scene: Scene, document: Document, piece: Piece, text: str):
        super().__init__(text)
        self.scene, self.document, self.piece = scene, document, piece
        self.doodle = document.strokes

    def redo(self):
        self.scene.insert(len(self.scene), self.piece)
        self.document.set_strokes([])

    def undo(self):
        self.scene.remove(self.piece)
        self.document.set_strokes(self.doodle)


class SetRectsCommand(QUndoCommand):
    """Move or resize pieces (the canvas has already shown the drag; redo sets the same rectangles)."""

    def __init__(self, scene: Scene, pieces: list[Piece], new_rects: list[Rect], text: str, old_rects=None):
        super().__init__(text)
        self.scene, self.pieces = scene, list(pieces)
        self.old = list(old_rects) if old_rects is not None else [p.rect for p in pieces]
        self.new = [tuple(r) for r in new_rects]

    def redo(self):
        self.scene.set_rects(self.pieces, self.new)

    def undo(self):
        self.scene.set_rects(self.pieces, self.old)


class DeletePiecesCommand(QUndoCommand):
    def __init__(self, scene: Scene, pieces: list[Piece]):
        n = len(pieces)
        super().__init__(f"Delete {n} piece{'s' if n != 1 else ''}")
        self.scene = scene
        self.before = scene.pieces
        self.after = [p for p in self.before if all(p is not q for q in pieces)]

    def redo(self):
        self.scene.set_pieces(self.after)

    def undo(self):
        self.scene.set_pieces(self.before)


class RestackCommand(QUndoCommand):
    """A new bottom-to-top order of the same pieces (bring forward, send back)."""

    def __init__(self, scene: Scene, order: list[Piece], text: str):
        super().__init__(text)
        self.scene = scene
        self.before = scene.pieces
        self.after = list(order)

    def redo(self):
        self.scene.set_pieces(self.after)

    def undo(self):
        self.scene.set_pieces(self.before)


class RecolorCommand(QUndoCommand):
    def __init__(self, scene: Scene, pieces: list[Piece], color: str):
        super().__init__("Change colour")
        self.scene, self.pieces = scene, list(pieces)
        self.old = [p.color for p in pieces]
        self.color = color

    def redo(self):
        self.scene.set_colors(self.pieces, [self.color] * len(self.pieces))

    def undo(self):
        self.scene.set_colors(self.pieces, self.old)


class ReplaceSceneCommand(QUndoCommand):
    """Everything at once: Clear (nothing), or a scene opened from a file."""

    def __init__(
        self, scene: Scene, document: Document, pieces: list[Piece], doodle: list[Stroke], text: str
    ):
        super().__init__(text)
        self.scene, self.document = scene, document
        self.old = (scene.pieces, document.strokes)
        self.new = (list(pieces), list(doodle))

    def redo(self):
        self.scene.set_pieces(self.new[0])
        self.document.set_strokes(self.new[1])

    def undo(self):
        self.scene.set_pieces(self.old[0])
        self.document.set_strokes(self.old[1])
