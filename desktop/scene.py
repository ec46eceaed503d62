"""The scene: the pieces placed on the canvas, bottom to top, under the current doodle.

A piece is either clean art (``ART``: the picture of a class, put where a doodle was when its suggestion
was accepted; it keeps that doodle's strokes) or kept ink (``INK``: a doodle set aside with New object).
Only undo commands (desktop.commands) change the scene, so that every edit can be undone; the canvas and
the exporters draw pieces with ``PiecePainter``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QTransform

from .drawing import CLEAN, Stroke, bounding_box
from .ink import MAX_PEN_WIDTH, PENS, pen_for, stroke_path

ART, INK = "art", "ink"
KINDS = (ART, INK)
MIN_PLACED_SIDE = 120.0  # canvas units: art put in place of a doodle is at least this big, even for a dot
MIN_PIECE_SIDE = 8.0  # canvas units: resizing never makes a piece smaller than this ...
MAX_PIECE_SIDE = 100_000.0  # ... nor larger than this (the view shrinks to show it; no float overflow)

Rect = tuple[float, float, float, float]  # x, y, width, height in canvas units


@dataclass(eq=False)  # identity equality: undo commands refer to the very pieces they placed or removed
class Piece:
    kind: str
    rect: Rect
    strokes: list[Stroke] = field(default_factory=list)  # ART: the doodle it replaced; INK: what it shows
    label: str | None = None  # ART: the class whose picture it shows
    color: str | None = None  # "#rrggbb" for stroke-drawn pieces; None: the strokes' own colours

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown piece kind {self.kind!r}")
        x, y, w, h = (float(v) for v in self.rect)
        if not (w > 0 and h > 0):
            raise ValueError(f"a piece needs a positive size, got {w} x {h}")
        self.rect = (x, y, w, h)

    @property
    def qrect(self) -> QRectF:
        return QRectF(*self.rect)


class Scene(QObject):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pieces: list[Piece] = []

    @property
    def pieces(self) -> list[Piece]:
        """Bottom to top."""
        return list(self._pieces)

    def __len__(self) -> int:
        return len(self._pieces)

    def index_of(self, piece: Piece) -> int:
        for i, p in enumerate(self._pieces):
            if p is piece:
                return i
        raise ValueError("the piece is not in the scene")

    def insert(self, index: int, piece: Piece) -> None:
        self._pieces.insert(index, piece)
        self.changed.emit()

    def remove(self, piece: Piece) -> int:
        index = self.index_of(piece)
        del self._pieces[index]
        self.changed.emit()
        return index

    def set_pieces(self, pieces: list[Piece]) -> None:
        """All pieces at once, bottom to top (open, clear, restack)."""
        self._pieces = list(pieces)
        self.changed.emit()

    def set_rects(self, pieces: list[Piece], rects: list[Rect]) -> None:
        for piece, rect in zip(pieces, rects, strict=True):
            piece.rect = tuple(float(v) for v in rect)
        self.changed.emit()

    def set_colors(self, pieces: list[Piece], colors: list[str | None]) -> None:
        for piece, color in zip(pieces, colors, strict=True):
            piece.color = color
        self.changed.emit()


# --- geometry -------------------------------------------------------------------------------------


def ink_frame(strokes: list[Stroke] | list[np.ndarray]) -> QRectF | None:
    """The strokes' bounding box with room for the pen, or None when there are none."""
    xy = [np.asarray(s.points if isinstance(s, Stroke) else s, dtype=np.float64)[:, :2] for s in strokes]
    xy = [a for a in xy if len(a)]
    if not xy:
        return None
    pts = np.concatenate(xy)
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    pad = MAX_PEN_WIDTH / 2
    return QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)


def fit_aspect(width: float, height: float, box: QRectF) -> QRectF:
    """The largest rectangle of this aspect ratio inside ``box``, centred."""
    if width <= 0 or height <= 0:
        return QRectF(box)
    scale = min(box.width() / width, box.height() / height)
    w, h = width * scale, height * scale
    return QRectF(box.center().x() - w / 2, box.center().y() - h / 2, w, h)


def fit_transform(source: QRectF, target: QRectF) -> QTransform:
    """Maps ``source`` uniformly (aspect kept) into the middle of ``target``."""
    placed = fit_aspect(source.width(), source.height(), target)
    scale = placed.width() / source.width() if source.width() > 0 else 1.0
    t = QTransform()
    t.translate(placed.x(), placed.y())
    t.scale(scale, scale)
    t.translate(-source.x(), -source.y())
    return t


def placement_box(strokes: list[Stroke]) -> QRectF | None:
    """Where art for this doodle goes: its bounding box, grown about its centre to at least MIN_PLACED_SIDE."""
    box = bounding_box(strokes)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = max(x1 - x0, MIN_PLACED_SIDE), max(y1 - y0, MIN_PLACED_SIDE)
    return QRectF(cx - w / 2, cy - h / 2, w, h)


def scaled_rect(rect: Rect, factor: float, anchor: tuple[float, float] | None = None) -> Rect:
    """``rect`` scaled by ``factor`` about ``anchor`` (its centre by default), its sides kept within
    MIN_PIECE_SIDE and MAX_PIECE_SIDE (as far as its aspect allows)."""
    x, y, w, h = rect
    factor = min(factor, MAX_PIECE_SIDE / max(w, h, 1e-9))
    factor = max(factor, min(MIN_PIECE_SIDE / max(min(w, h), 1e-9), 1.0))
    ax, ay = anchor if anchor is not None else (x + w / 2, y + h / 2)
    return (ax + (x - ax) * factor, ay + (y - ay) * factor, w * factor, h * factor)


# --- drawing pieces -------------------------------------------------------------------------------


class PiecePainter:
    """Draws pieces: a class's SVG art, else its reference drawing, else the doodle the piece replaced.

    ``art`` is a desktop.art.ArtLibrary, ``references`` a desktop.references.ReferenceLibrary; either may
    lack a class. Used by the canvas's items, the exporters and the suggestion rows' thumbnails.
    """

    def __init__(self, art, references):
        self.art = art
        self.references = references
        self._thumbnails: dict[tuple[str, int], QPixmap | None] = {}

    def forget(self, labels: set[str]) -> None:
        """Drop the cached thumbnails of these classes (a taught class's drawings changed)."""
        self._thumbnails = {k: v for k, v in self._thumbnails.items() if k[0] not in labels}

    def usable(self, label: str) -> bool:
        """Whether accepting ``label`` has a clean picture to put in place of the doodle."""
        return self.art.has(label) or label in self.references

    def aspect(self, label: str) -> tuple[float, float] | None:
        """The width and height whose ratio the class's picture has, or None when it has none."""
        content = self._art_content(label)
        if content is not None:
            return content.width(), content.height()
        frame = self._reference_frame(label)
        return (frame.width(), frame.height()) if frame is not None else None

    def _art_content(self, label: str) -> QRectF | None:
        """The part of the art's view box its picture covers (icons leave wide margins, and a doodle's
        box should hold the picture, not its margins); None when the class has no usable art."""
        if not self.art.has(label) or self.art.renderer(label) is None:
            return None
        return self.art.content_rect(label)

    def place(self, label: str, strokes: list[Stroke]) -> Piece | None:
        """The art piece for ``label`` fitted into this doodle's box (aspect kept); None if it has no picture."""
        box = placement_box(strokes)
        return self.place_in(label, box, strokes) if box is not None else None

    def place_in(self, label: str, box: QRectF, strokes: list[Stroke] = ()) -> Piece | None:
        """The art piece for ``label`` fitted into ``box`` (aspect kept); None if it has no picture."""
        aspect = self.aspect(label)
        if aspect is None:
            return None
        r = fit_aspect(*aspect, box)
        return Piece(ART, (r.x(), r.y(), r.width(), r.height()), list(strokes), label)

    @staticmethod
    def keep(strokes: list[Stroke]) -> Piece | None:
        """The doodle kept as it is drawn (New object)."""
        frame = ink_frame(strokes)
        if frame is None:
            return None
        return Piece(INK, (frame.x(), frame.y(), frame.width(), frame.height()), list(strokes))

    def _reference_frame(self, label: str) -> QRectF | None:
        drawing = self.references.get(label)
        return ink_frame(drawing) if drawing else None

    def art_rect(self, piece: Piece, target: QRectF | None = None) -> QRectF | None:
        """Where ``piece``'s SVG art is rendered (the art's whole view box, mapped so that its drawn part
        fills ``target``, its own rectangle by default), or None when it has no art and is drawn as
        strokes (see stroke_layout)."""
        if piece.kind != ART or piece.label is None or self._art_content(piece.label) is None:
            return None
        return self.art.target_rect(piece.label, piece.qrect if target is None else target)

    def stroke_layout(
        self, piece: Piece, target: QRectF | None = None
    ) -> tuple[QTransform, list[tuple[Stroke, QPen]]] | None:
        """How a piece without art is drawn: its class's reference drawing (ART), else its own strokes,
        fitted into ``target`` by the transform, each stroke with its pen (in the strokes' own units);
        None when there is nothing to draw. The canvas and the exporters both draw from this."""
        target = piece.qrect if target is None else target
        drawing = self.references.get(piece.label) if piece.kind == ART and piece.label is not None else None
        if drawing:
            strokes = [Stroke(np.asarray(s)[:, :2], CLEAN) for s in drawing if len(s)]
            return self._stroke_pens(strokes, target, piece.color, keep_width=True)
        return self._stroke_pens(piece.strokes, target, piece.color, keep_width=False)

    def paint(self, painter: QPainter, piece: Piece, target: QRectF | None = None) -> None:
        """Draw ``piece`` into ``target`` (its own rectangle by default) on a painter in canvas units."""
        target = piece.qrect if target is None else target
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect = self.art_rect(piece, target)
        if rect is not None:
            # The picture's drawn part fills the target (aspect kept): its view box reaches past it.
            # A one-colour glyph takes the piece's colour; colour pictures keep their own.
            self.art.renderer(piece.label, piece.color).render(painter, rect)
        else:
            self._paint_layout(painter, self.stroke_layout(piece, target))
        painter.restore()

    def _paint_art(self, painter: QPainter, piece: Piece, target: QRectF) -> bool:
        """The class's art, else its reference drawing; False when it has neither."""
        rect = self.art_rect(piece, target)
        if rect is not None:
            self.art.renderer(piece.label, piece.color).render(painter, rect)
            return True
        if piece.label is None or not self.references.get(piece.label):
            return False
        self._paint_layout(painter, self.stroke_layout(piece, target))
        return True

    @staticmethod
    def _paint_layout(painter: QPainter, layout) -> None:
        if layout is None:
            return
        transform, pens = layout
        painter.setTransform(transform, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for stroke, pen in pens:
            painter.setPen(pen)
            painter.drawPath(stroke_path(stroke.xy))

    @staticmethod
    def _stroke_pens(strokes, target: QRectF, color, keep_width: bool):
        """Strokes fitted into ``target``; a reference drawing keeps the clean pen's width on the canvas."""
        frame = ink_frame(strokes)
        if frame is None:
            return None
        transform = fit_transform(frame, target)
        scale = transform.m11() or 1.0
        width = PENS[CLEAN][1] / scale if keep_width else None
        return transform, [
            (stroke, pen_for(stroke.style, color or stroke.color, width)) for stroke in strokes
        ]

    def thumbnail(self, label: str, size: int) -> QPixmap | None:
        """A size×size picture of the class for its suggestion row: its art, else its reference drawing."""
        if self._art_content(label) is not None:
            return self.art.pixmap(label, size)
        key = (label, int(size))
        if key not in self._thumbnails:
            frame = self._reference_frame(label)
            pixmap = None
            if frame is not None:
                pixmap = QPixmap(int(size), int(size))
                pixmap.fill(QColor(0, 0, 0, 0))
                painter = QPainter(pixmap)
                probe = Piece(ART, (0, 0, size, size), [], label)
                self._paint_art(painter, probe, QRectF(1, 1, size - 2, size - 2))
                painter.end()
            self._thumbnails[key] = pixmap
        return self._thumbnails[key]
