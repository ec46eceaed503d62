"""The canvas: a Qt graphics view of the scene (placed art) with the current doodle on top.

Pen strokes from the mouse, a tablet or touch become the current doodle (desktop.document); the select
tool picks, moves and resizes placed pieces (desktop.scene). Every change goes through the undo stack.
Strokes are kept in canvas coordinates; the view maps them to the widget with a transform that keeps
PAGE_CENTRE in the middle and, when the window is too small for the picture, shrinks it to fit:
resizing never crops or changes the picture.

The stroke being drawn is painted in the foreground and only the few pixels around its newest piece
are repainted per point; placed art is cached as device pixmaps, so a busy scene does not slow drawing.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QEventPoint,
    QPainter,
    QPainterPath,
    QPen,
    QPointingDevice,
    QTransform,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QSizePolicy,
    QWidget,
)

from .commands import AddStrokeCommand, DeletePiecesCommand, EraseStrokesCommand, SetRectsCommand
from .document import Document
from .drawing import DOODLE, Stroke, bounding_box, stroke_hits
from .ink import BACKGROUND, DOODLE_COLOR, MAX_PEN_WIDTH, pen_for, stroke_path
from .scene import Piece, PiecePainter, Rect, Scene, scaled_rect

PAGE_CENTRE = QPointF(400.0, 300.0)  # canvas point shown at the widget's centre: a 800x600 widget maps 1:1
FIT_MARGIN = 24.0  # widget pixels kept free around a picture that had to be shrunk to fit
ERASER_RADIUS = 10.0  # widget pixels
HANDLE = 12.0  # widget pixels: the side of the resize handle at a selected piece's lower right corner
WHEEL_STEP = 1.1  # the select tool's wheel gesture scales the selection by this per notch
DOODLE_Z = 1e6  # the current doodle is drawn over every placed piece
PEN_TOOL, ERASER_TOOL, SELECT_TOOL = "pen", "eraser", "select"
TOOLS = (PEN_TOOL, ERASER_TOOL, SELECT_TOOL)
SELECTION_PEN = QPen(QColor("#0b57d0"), 1.0, Qt.PenStyle.DashLine)

_TOUCH = (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd, QEvent.Type.TouchCancel)
_TABLET = (QEvent.Type.TabletPress, QEvent.Type.TabletMove, QEvent.Type.TabletRelease)


class PieceItem(QGraphicsItem):
    """One placed piece; its picture is rendered once per size and then blitted (device cache)."""

    def __init__(self, piece: Piece, painter: PiecePainter):
        super().__init__()
        self.piece = piece
        self.pieces = painter
        self.shown: tuple[Rect, str | None] | None = None
        self._size = (1.0, 1.0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.show_rect(piece.rect)

    def show_rect(self, rect: Rect) -> None:
        """Show the piece at ``rect`` (its own, or one being dragged to); repaints only on a new size."""
        x, y, w, h = rect
        if (w, h) != self._size:
            self.prepareGeometryChange()
            self._size = (w, h)
        self.setPos(x, y)
        if self.shown is not None and self.shown[1] != self.piece.color:
            self.update()
        self.shown = ((x, y, w, h), self.piece.color)

    @property
    def rect(self) -> Rect:
        return (self.pos().x(), self.pos().y(), *self._size)

    def boundingRect(self) -> QRectF:
        w, h = self._size
        pad = MAX_PEN_WIDTH  # stroke-drawn pieces may reach a pen's half width past their box
        return QRectF(-pad, -pad, w + 2 * pad, h + 2 * pad)

    def paint(self, painter, option, widget=None):
        self.pieces.paint(painter, self.piece, QRectF(0, 0, *self._size))


class Canvas(QGraphicsView):
    strokeStarted = Signal()
    strokeExtended = Signal()  # a point was added to the stroke being drawn
    strokeFinished = Signal()
    selectionChanged = Signal()
    told = Signal(str)  # something the person should know (the window shows it in its status bar)

    def __init__(
        self, document: Document, scene: Scene, undo_stack: QUndoStack, pieces: PiecePainter, parent=None
    ):
        self.graphics = QGraphicsScene()
        super().__init__(self.graphics, parent)
        self.graphics.setParent(self)
        # A viewport made here is a Python object already: the view's own would be looked up by
        # PySide on first use, which initializes every QWidget subclass's type (~20 ms of start-up).
        self.setViewport(QWidget())
        self.document = document
        self.scene_model = scene
        self.undo_stack = undo_stack
        self.pieces = pieces
        self.tool = PEN_TOOL
        self.pen_color = DOODLE_COLOR
        self._points: list[tuple[float, float, float]] | None = None  # the stroke being drawn
        self._live_path = QPainterPath()  # its smooth path up to the last midpoint, grown point by point
        self._erasing = False
        self._gesture = 0
        self._drag: tuple | None = None  # the select tool's drag: ("move" | "resize" | "band", ...)
        self._pinching: tuple | None = None  # a two-finger scale: (start distance, [(piece, rect)])
        self._clock = QElapsedTimer()
        self._clock_offset = 0.0
        self._stroke_items: dict[int, tuple[Stroke, QGraphicsPathItem]] = {}
        self._piece_items: dict[int, PieceItem] = {}
        self._hover: QPointF | None = None
        self._pieces_extent = QRectF()  # all pieces' union, kept so that a stroke's end need not recompute it

        self.setFrameShape(QFrame.Shape.NoFrame)  # the viewport is the whole widget: same coordinates
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setInteractive(False)  # the canvas handles its own input (below)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(BACKGROUND)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.graphics.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # few items, often moved
        for widget in (self, self.viewport()):
            widget.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
            widget.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        document.changed.connect(self._document_changed)
        scene.changed.connect(self._scene_changed)
        self.graphics.selectionChanged.connect(self._selection_changed)
        self._update_view()

    def sizeHint(self) -> QSize:
        return QSize(800, 600)

    # --- what the rest of the app reads -----------------------------------------------------------

    @property
    def drawing(self) -> bool:
        return self._points is not None

    def live_strokes(self) -> list[np.ndarray]:
        """The current doodle's strokes plus the one being drawn, as (n, 3) arrays for the classifier."""
        out = [s.points for s in self.document.strokes]
        if self._points:
            out.append(np.array(self._points, dtype=np.float64))
        return out

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        if tool != SELECT_TOOL:
            self.graphics.clearSelection()
        self.tool = tool
        cursors = {
            PEN_TOOL: Qt.CursorShape.CrossCursor,
            ERASER_TOOL: Qt.CursorShape.PointingHandCursor,
            SELECT_TOOL: Qt.CursorShape.ArrowCursor,
        }
        self.viewport().setCursor(cursors[tool])
        self.viewport().update()

    def set_pen_color(self, color: str) -> None:
        self.pen_color = QColor(color).name()

    def to_canvas(self, pos: QPointF) -> QPointF:
        return self.viewportTransform().inverted()[0].map(QPointF(pos))

    def to_widget(self, pos: QPointF) -> QPointF:
        return self.viewportTransform().map(QPointF(pos))

    @property
    def view_scale(self) -> float:
        return self.transform().m11()

    def item_for(self, piece: Piece) -> PieceItem:
        return self._piece_items[id(piece)]

    def selected_pieces(self) -> list[Piece]:
        """The selected pieces, bottom to top."""
        return [p for p in self.scene_model.pieces if self._piece_items[id(p)].isSelected()]

    def select(self, pieces: list[Piece]) -> None:
        self.graphics.clearSelection()
        for piece in pieces:
            self._piece_items[id(piece)].setSelected(True)

    # --- view transform ---------------------------------------------------------------------------

    def _content(self) -> QRectF | None:
        rect = QRectF()
        box = bounding_box(self.document.strokes)
        if box is not None:
            x0, y0, x1, y1 = box
            pad = MAX_PEN_WIDTH / 2
            rect = QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
        if not self._pieces_extent.isNull():
            rect = rect.united(self._pieces_extent) if not rect.isNull() else QRectF(self._pieces_extent)
        return None if rect.isNull() else rect

    def _update_view(self) -> None:
        """Centre PAGE_CENTRE in the widget; shrink (never enlarge) when the picture would not fit."""
        scale = 1.0
        content = self._content()
        w, h = max(self.viewport().width(), 1), max(self.viewport().height(), 1)
        if content is not None:
            cx, cy = PAGE_CENTRE.x(), PAGE_CENTRE.y()
            reach = np.array(
                [
                    max(abs(content.left() - cx), abs(content.right() - cx)),
                    max(abs(content.top() - cy), abs(content.bottom() - cy)),
                ]
            )
            room = np.array([w / 2, h / 2])
            if (reach > room).any():  # it does not fit at 1:1: shrink it, with a margin around
                scale = float((np.maximum(room - FIT_MARGIN, 1.0) / np.maximum(reach, 1e-6)).min())
                # A drawing opened from a file may reach near the float range: never a zero scale.
                scale = max(scale, 1e-12)
        # The scene rectangle is exactly what the widget shows, so the view never scrolls.
        self.setTransform(QTransform.fromScale(scale, scale))
        self.setSceneRect(
            QRectF(PAGE_CENTRE.x() - w / (2 * scale), PAGE_CENTRE.y() - h / (2 * scale), w / scale, h / scale)
        )

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if not self.drawing:
            self._update_view()

    def _document_changed(self) -> None:
        strokes = self.document.strokes
        live = {id(s): s for s in strokes}
        for key, (stroke, item) in list(self._stroke_items.items()):
            if live.get(key) is not stroke:
                self.graphics.removeItem(item)
                del self._stroke_items[key]
        for i, stroke in enumerate(strokes):
            entry = self._stroke_items.get(id(stroke))
            if entry is None:
                item = QGraphicsPathItem(stroke_path(stroke.xy))
                item.setPen(pen_for(stroke.style, stroke.color))
                self.graphics.addItem(item)
                entry = self._stroke_items[id(stroke)] = (stroke, item)
            entry[1].setZValue(DOODLE_Z + i)
        if not self.drawing:
            self._update_view()

    def _scene_changed(self) -> None:
        pieces = self.scene_model.pieces
        live = {id(p): p for p in pieces}
        for key, item in list(self._piece_items.items()):
            if live.get(key) is not item.piece:
                self.graphics.removeItem(item)
                del self._piece_items[key]
        extent = QRectF()
        for i, piece in enumerate(pieces):
            extent = extent.united(piece.qrect) if not extent.isNull() else piece.qrect
            item = self._piece_items.get(id(piece))
            if item is None:
                item = self._piece_items[id(piece)] = PieceItem(piece, self.pieces)
                self.graphics.addItem(item)
            item.show_rect(piece.rect)
            item.setZValue(i)
        self._pieces_extent = extent
        if not self.drawing:
            self._update_view()
        self.viewport().update()

    def _selection_changed(self) -> None:
        self.viewport().update()  # the selection frames and handles are drawn in the foreground
        self.selectionChanged.emit()

    # --- painting ---------------------------------------------------------------------------------

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self._points:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(pen_for(DOODLE, self.pen_color))
            path = QPainterPath(self._live_path)
            path.lineTo(QPointF(*self._points[-1][:2]))
            painter.drawPath(path)
        painter.save()
        painter.resetTransform()  # widget pixels from here on
        selected = [i for i in self._piece_items.values() if i.isSelected()]
        if selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for item in selected:
                frame = self._widget_rect(item.rect)
                painter.setPen(SELECTION_PEN)
                painter.drawRect(frame)
                painter.setPen(QPen(QColor("#0b57d0"), 1.0))
                painter.setBrush(QColor("#ffffff"))
                painter.drawRect(self._handle_rect(item))
                painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._drag is not None and self._drag[0] == "band":
            painter.setPen(SELECTION_PEN)
            painter.setBrush(QColor(11, 87, 208, 30))
            painter.drawRect(self._widget_rect(self._band_rect()))
        if self.tool == ERASER_TOOL and self._hover is not None:
            painter.setPen(QPen(QColor("#d93025"), 1.0, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self._hover, ERASER_RADIUS, ERASER_RADIUS)
        painter.restore()

    def _widget_rect(self, rect: Rect | QRectF) -> QRectF:
        rect = QRectF(*rect) if isinstance(rect, tuple) else rect
        return self.viewportTransform().mapRect(rect)

    def _handle_rect(self, item: PieceItem) -> QRectF:
        corner = self._widget_rect(item.rect).bottomRight()
        return QRectF(corner.x() - HANDLE / 2, corner.y() - HANDLE / 2, HANDLE, HANDLE)

    # --- drawing a stroke -------------------------------------------------------------------------

    def _now_ms(self) -> float:
        return self._clock_offset + float(self._clock.nsecsElapsed()) / 1e6

    def begin_stroke(self, pos: QPointF) -> None:
        if len(self.document) == 0 or not self._clock.isValid():
            # Times count from the doodle's first point, as in Google's raw format.
            last = max((float(s.points[:, 2].max()) for s in self.document.strokes), default=-100.0)
            self._clock_offset = last + 100.0 if len(self.document) else 0.0
            self._clock.start()
        c = self.to_canvas(pos)
        self._points = [(c.x(), c.y(), self._now_ms())]
        self._live_path = QPainterPath(c)
        self.strokeStarted.emit()
        self._update_around(self._points)

    def extend_stroke(self, pos: QPointF) -> None:
        if self._points is None:
            return
        c = self.to_canvas(pos)
        last = self._points[-1]
        if c.x() == last[0] and c.y() == last[1]:
            return
        self._points.append((c.x(), c.y(), self._now_ms()))
        if len(self._points) >= 3:  # the same curve as ink.stroke_path, one piece at a time
            control = QPointF(last[0], last[1])
            self._live_path.quadTo(control, QPointF((last[0] + c.x()) / 2, (last[1] + c.y()) / 2))
        self._update_around(self._points[-3:])  # the last piece of curve and the line after it changed
        self.strokeExtended.emit()

    def end_stroke(self) -> None:
        if self._points is None:
            return
        stroke = Stroke(np.array(self._points, dtype=np.float64), DOODLE, self.pen_color)
        self._points = None
        self.undo_stack.push(AddStrokeCommand(self.document, stroke))  # redo() adds its item
        self.strokeFinished.emit()

    def _update_around(self, points) -> None:
        xy = np.array([p[:2] for p in points])
        (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
        rect = self._widget_rect(QRectF(x0, y0, x1 - x0, y1 - y0))
        pad = MAX_PEN_WIDTH * self.view_scale + 4
        self.viewport().update(rect.adjusted(-pad, -pad, pad, pad).toAlignedRect())

    # --- erasing ----------------------------------------------------------------------------------

    def begin_erase(self, pos: QPointF) -> None:
        self._erasing = True
        self._gesture += 1
        self.erase_at(pos)

    def erase_at(self, pos: QPointF) -> None:
        c = self.to_canvas(pos)
        radius = ERASER_RADIUS / max(self.view_scale, 1e-6)
        hit = [s for s in self.document.strokes if stroke_hits(s, c.x(), c.y(), radius)]
        if hit:
            self.undo_stack.push(EraseStrokesCommand(self.document, hit, self._gesture))
            return
        # Placed art and kept drawings are one object each: the eraser takes the whole piece it touches.
        item = self.piece_at(pos)
        if item is not None:
            piece = item.piece
            self.undo_stack.push(DeletePiecesCommand(self.scene_model, [piece]))
            what = f"the {piece.label}" if piece.label else "a kept drawing"
            self.told.emit(f"Erased {what} (Ctrl+Z brings it back)")

    def end_erase(self) -> None:
        self._erasing = False

    # --- selecting, moving, resizing pieces -------------------------------------------------------

    def piece_at(self, pos: QPointF) -> PieceItem | None:
        """The topmost placed piece under this widget point."""
        c = self.to_canvas(pos)
        for item in sorted(self._piece_items.values(), key=lambda i: -i.zValue()):
            if QRectF(*item.rect).contains(c):
                return item
        return None

    def _handle_at(self, pos: QPointF) -> PieceItem | None:
        for item in sorted(self._piece_items.values(), key=lambda i: -i.zValue()):
            if item.isSelected() and self._handle_rect(item).contains(pos):
                return item
        return None

    def _band_rect(self) -> QRectF:
        _, start, end = self._drag
        return QRectF(start, end).normalized()

    def begin_select(self, pos: QPointF, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
        c = self.to_canvas(pos)
        add = bool(modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        handle = self._handle_at(pos)
        if handle is not None:
            self._drag = ("resize", handle.piece, handle.piece.rect)
            return
        item = self.piece_at(pos)
        if item is None:
            if not add:
                self.graphics.clearSelection()
            self._drag = ("band", c, c)
            return
        if add:
            item.setSelected(not item.isSelected())
        elif not item.isSelected():
            self.graphics.clearSelection()
            item.setSelected(True)
        moving = self.selected_pieces()
        self._drag = ("move", c, [(p, p.rect) for p in moving]) if moving else None

    def drag_select(self, pos: QPointF) -> None:
        if self._drag is None:
            return
        c = self.to_canvas(pos)
        kind = self._drag[0]
        if kind == "move":
            _, start, moving = self._drag
            dx, dy = c.x() - start.x(), c.y() - start.y()
            for piece, (x, y, w, h) in moving:
                self._piece_items[id(piece)].show_rect((x + dx, y + dy, w, h))
            self.viewport().update()
        elif kind == "resize":
            _, piece, (x, y, w, h) = self._drag
            factor = max((c.x() - x) / w, (c.y() - y) / h)  # the corner follows the pointer, aspect kept
            self._piece_items[id(piece)].show_rect(scaled_rect((x, y, w, h), factor, anchor=(x, y)))
            self.viewport().update()
        else:
            self._drag = ("band", self._drag[1], c)
            self.viewport().update()

    def end_select(self, pos: QPointF) -> None:
        if self._drag is None:
            return
        self.drag_select(pos)
        drag, self._drag = self._drag, None
        if drag[0] == "band":
            band = QRectF(drag[1], drag[2]).normalized()
            for item in self._piece_items.values():
                if band.intersects(QRectF(*item.rect)):
                    item.setSelected(True)
            self.viewport().update()
            return
        if drag[0] == "move":
            pieces, old = [p for p, _ in drag[2]], [r for _, r in drag[2]]
            text = "Move"
        else:
            pieces, old, text = [drag[1]], [drag[2]], "Resize"
        new = [self._piece_items[id(p)].rect for p in pieces]
        if any(not np.allclose(a, b) for a, b in zip(old, new, strict=True)):
            self.undo_stack.push(SetRectsCommand(self.scene_model, pieces, new, text, old_rects=old))

    def scale_selection(self, factor: float) -> bool:
        """Resize the selected pieces about their centres (the wheel and the Bigger/Smaller keys)."""
        pieces = self.selected_pieces()
        if not pieces:
            return False
        new = [scaled_rect(p.rect, factor) for p in pieces]
        self.undo_stack.push(SetRectsCommand(self.scene_model, pieces, new, "Resize"))
        return True

    def _pinch(self, a: QPointF, b: QPointF) -> None:
        """Two fingers apart or together scale the selection (or the piece between them) about its centre."""
        distance = max(float(np.hypot(a.x() - b.x(), a.y() - b.y())), 1.0)
        if self._pinching is None:
            if self._drag is not None and self._drag[0] == "move":  # the first finger began a move
                for piece, rect in self._drag[2]:
                    self._piece_items[id(piece)].show_rect(rect)
            self._drag = None
            if not self.selected_pieces():
                item = self.piece_at((a + b) / 2)
                if item is not None:
                    item.setSelected(True)
            pieces = self.selected_pieces()
            if pieces:
                self._pinching = (distance, [(p, p.rect) for p in pieces])
            return
        start, pieces = self._pinching
        for piece, rect in pieces:
            self._piece_items[id(piece)].show_rect(scaled_rect(rect, distance / start))
        self.viewport().update()

    def _end_pinch(self, cancel: bool = False) -> None:
        _, pieces = self._pinching
        self._pinching = None
        old = [rect for _, rect in pieces]
        new = [self._piece_items[id(p)].rect for p, _ in pieces]
        if cancel:
            for piece, rect in pieces:
                self._piece_items[id(piece)].show_rect(rect)
        elif any(not np.allclose(a, b) for a, b in zip(old, new, strict=True)):
            self.undo_stack.push(
                SetRectsCommand(self.scene_model, [p for p, _ in pieces], new, "Resize", old)
            )

    def wheelEvent(self, event):
        # The view never scrolls; with the select tool the wheel is a scale gesture on the selection.
        steps = event.angleDelta().y() / 120.0
        if self.tool == SELECT_TOOL and steps:
            self.scale_selection(WHEEL_STEP**steps)
        event.accept()

    # --- input: mouse, tablet, touch --------------------------------------------------------------

    def _press(self, pos: QPointF, eraser: bool = False, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
        if eraser or self.tool == ERASER_TOOL:
            self.begin_erase(pos)
        elif self.tool == SELECT_TOOL:
            self.begin_select(pos, modifiers)
        else:
            self.begin_stroke(pos)

    def _move(self, pos: QPointF) -> None:
        if self._erasing:
            self.erase_at(pos)
        elif self._points is not None:
            self.extend_stroke(pos)
        elif self._drag is not None:
            self.drag_select(pos)

    def _release(self, pos: QPointF) -> None:
        if self._erasing:
            self.end_erase()
        elif self._points is not None:
            self.extend_stroke(pos)
            self.end_stroke()
        elif self._drag is not None:
            self.end_select(pos)

    @property
    def _busy(self) -> bool:
        return self.drawing or self._erasing or self._drag is not None

    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton and not self._busy:
            self._press(event.position(), modifiers=event.modifiers())
        event.accept()

    def mouseDoubleClickEvent(self, event):
        self.mousePressEvent(event)  # a quick second click is a press like any other

    def mouseMoveEvent(self, event):
        if self.tool == ERASER_TOOL:
            old, self._hover = self._hover, event.position()
            for p in (old, self._hover):
                if p is not None:
                    r = ERASER_RADIUS + 2
                    self.viewport().update(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r).toAlignedRect())
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move(event.position())
        elif self.tool == SELECT_TOOL:  # the cursor says what a press here would do
            pos = event.position()
            if self._handle_at(pos) is not None:
                shape = Qt.CursorShape.SizeFDiagCursor
            elif self.piece_at(pos) is not None:
                shape = Qt.CursorShape.SizeAllCursor
            else:
                shape = Qt.CursorShape.ArrowCursor
            if self.viewport().cursor().shape() != shape:
                self.viewport().setCursor(shape)
        event.accept()

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self._release(event.position())
        event.accept()

    def leaveEvent(self, event):
        self._hover = None
        self.viewport().update()
        super().leaveEvent(event)

    def tabletEvent(self, event):
        # Accepted, so that Qt does not also synthesize mouse events for the pen.
        pos = event.position()
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            eraser = event.pointerType() == QPointingDevice.PointerType.Eraser
            self._press(pos, eraser=eraser, modifiers=event.modifiers())
        elif kind == QEvent.Type.TabletMove:
            self._move(pos)
        elif kind == QEvent.Type.TabletRelease:
            self._release(pos)
        event.accept()

    def _touch(self, event) -> None:
        kind = event.type()
        points = event.points()
        held = [p for p in points if p.state() != QEventPoint.State.Released]
        if self.tool == SELECT_TOOL and len(held) >= 2 and kind != QEvent.Type.TouchCancel:
            self._pinch(held[0].position(), held[1].position())  # two fingers: the scale gesture
            event.accept()
            return
        if self._pinching is not None:  # a finger lifted: the gesture ends
            self._end_pinch(cancel=kind == QEvent.Type.TouchCancel)
            event.accept()
            return
        pos = points[0].position() if points else None
        if kind == QEvent.Type.TouchBegin and pos is not None:
            self._press(pos)
        elif kind == QEvent.Type.TouchUpdate and pos is not None:
            self._move(pos)
        elif kind == QEvent.Type.TouchEnd and pos is not None:
            self._release(pos)
        elif kind == QEvent.Type.TouchCancel:
            if self._points is not None:
                self.end_stroke()
            self.end_erase()
            self._drag = None
        event.accept()

    def _pen_or_touch(self, event) -> bool:
        """Touch and tablet input, wherever it arrives; False for any other event."""
        kind = event.type()
        if kind in _TOUCH:
            self._touch(event)
            return True
        if kind in _TABLET:
            self.tabletEvent(event)
            return True
        return False

    def viewportEvent(self, event):
        # Input normally arrives at the viewport, the child widget that shows the scene.
        return self._pen_or_touch(event) or super().viewportEvent(event)

    def event(self, event):
        # Input sent to the canvas itself (its viewport has the same geometry) is handled the same way;
        # a scroll area would otherwise ignore it.
        if self._pen_or_touch(event):
            return True
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress:
            self.mousePressEvent(event)
            return True
        if kind == QEvent.Type.MouseButtonDblClick:
            self.mouseDoubleClickEvent(event)
            return True
        if kind == QEvent.Type.MouseMove:
            self.mouseMoveEvent(event)
            return True
        if kind == QEvent.Type.MouseButtonRelease:
            self.mouseReleaseEvent(event)
            return True
        return super().event(event)
