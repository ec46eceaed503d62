"""The drawing canvas: draw with a mouse, a pen (tablet) or a finger; erase strokes by touching them.

Strokes are kept as vectors in canvas coordinates (see desktop.drawing) and painted smoothly with
antialiasing through a view transform that keeps the drawing centred and, when the window is too small
for it, shrinks it to fit: resizing never crops or changes the drawing.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPointingDevice, QTransform, QUndoStack
from PySide6.QtWidgets import QSizePolicy, QWidget

from .commands import AddStrokeCommand, EraseStrokesCommand
from .document import Document
from .drawing import DOODLE, Stroke, stroke_hits
from .ink import BACKGROUND, MAX_PEN_WIDTH, paint_strokes, pen_for, stroke_path

PAGE_CENTRE = QPointF(400.0, 300.0)  # canvas point shown at the widget's centre: a 800x600 widget maps 1:1
FIT_MARGIN = 24.0  # widget pixels kept free around a drawing that had to be shrunk to fit
ERASER_RADIUS = 10.0  # widget pixels
PEN_TOOL, ERASER_TOOL = "pen", "eraser"


class Canvas(QWidget):
    strokeStarted = Signal()
    strokeExtended = Signal()  # a point was added to the stroke being drawn
    strokeFinished = Signal()

    def __init__(self, document: Document, undo_stack: QUndoStack, parent=None):
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self.tool = PEN_TOOL
        self._points: list[tuple[float, float, float]] | None = None  # the stroke being drawn
        self._live_path = QPainterPath()  # its smooth path up to the last midpoint, grown point by point
        self._erasing = False
        self._gesture = 0
        self._clock = QElapsedTimer()
        self._clock_offset = 0.0
        self._paths: dict[int, tuple[Stroke, QPainterPath]] = {}
        self._view = QTransform()
        self._inverse = QTransform()
        self._hover: QPointF | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)
        self.setCursor(Qt.CursorShape.CrossCursor)
        document.changed.connect(self._document_changed)
        self._update_view()

    def sizeHint(self) -> QSize:
        return QSize(800, 600)

    # --- what the rest of the app reads -----------------------------------------------------------

    @property
    def drawing(self) -> bool:
        return self._points is not None

    def live_strokes(self) -> list[np.ndarray]:
        """The document's strokes plus the one being drawn, as (n, 3) arrays for the classifier."""
        out = [s.points for s in self.document.strokes]
        if self._points:
            out.append(np.array(self._points, dtype=np.float64))
        return out

    def set_tool(self, tool: str) -> None:
        if tool not in (PEN_TOOL, ERASER_TOOL):
            raise ValueError(f"unknown tool {tool!r}")
        self.tool = tool
        self.setCursor(Qt.CursorShape.CrossCursor if tool == PEN_TOOL else Qt.CursorShape.PointingHandCursor)
        self.update()

    def to_canvas(self, pos: QPointF) -> QPointF:
        return self._inverse.map(QPointF(pos))

    def to_widget(self, pos: QPointF) -> QPointF:
        return self._view.map(QPointF(pos))

    @property
    def view_scale(self) -> float:
        return self._view.m11()

    # --- view transform ---------------------------------------------------------------------------

    def _update_view(self) -> None:
        """Centre PAGE_CENTRE in the widget; shrink (never enlarge) when the drawing would not fit."""
        scale = 1.0
        strokes = self.document.strokes
        if strokes:
            pts = np.concatenate([s.xy for s in strokes])
            reach = np.abs(pts - [PAGE_CENTRE.x(), PAGE_CENTRE.y()]).max(axis=0) + MAX_PEN_WIDTH / 2
            room = np.array([self.width() / 2, self.height() / 2])
            if (reach > room).any():  # it does not fit at 1:1: shrink it, with a margin around
                scale = float((np.maximum(room - FIT_MARGIN, 1.0) / np.maximum(reach, 1e-6)).min())
        view = QTransform()
        view.translate(self.width() / 2, self.height() / 2)
        view.scale(scale, scale)
        view.translate(-PAGE_CENTRE.x(), -PAGE_CENTRE.y())
        self._view = view
        self._inverse = view.inverted()[0]

    def resizeEvent(self, event):
        if not self.drawing:
            self._update_view()
        super().resizeEvent(event)

    def _document_changed(self) -> None:
        live = {id(s): s for s in self.document.strokes}
        self._paths = {k: v for k, v in self._paths.items() if k in live and v[0] is live[k]}
        if not self.drawing:
            self._update_view()
        self.update()

    # --- painting ---------------------------------------------------------------------------------

    def _path(self, stroke: Stroke) -> QPainterPath:
        cached = self._paths.get(id(stroke))
        if cached is None or cached[0] is not stroke:
            cached = (stroke, stroke_path(stroke.xy))
            self._paths[id(stroke)] = cached
        return cached[1]

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        painter.setTransform(self._view)
        paint_strokes(painter, self.document.strokes, self._path)
        if self._points:
            painter.setPen(pen_for(DOODLE))
            path = QPainterPath(self._live_path)
            path.lineTo(QPointF(*self._points[-1][:2]))
            painter.drawPath(path)
        if self.tool == ERASER_TOOL and self._hover is not None:
            painter.resetTransform()
            painter.setPen(QPen(QColor("#d93025"), 1.0, Qt.PenStyle.DashLine))
            painter.drawEllipse(self._hover, ERASER_RADIUS, ERASER_RADIUS)
        painter.end()

    # --- drawing a stroke -------------------------------------------------------------------------

    def _now_ms(self) -> float:
        return self._clock_offset + float(self._clock.nsecsElapsed()) / 1e6

    def begin_stroke(self, pos: QPointF) -> None:
        if len(self.document) == 0 or not self._clock.isValid():
            # Times count from the drawing's first point, as in Google's raw format.
            last = max((float(s.points[:, 2].max()) for s in self.document.strokes), default=-100.0)
            self._clock_offset = last + 100.0 if len(self.document) else 0.0
            self._clock.start()
        c = self.to_canvas(pos)
        self._points = [(c.x(), c.y(), self._now_ms())]
        self._live_path = QPainterPath(c)
        self.strokeStarted.emit()
        self.update()

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
        stroke = Stroke(np.array(self._points, dtype=np.float64))
        self._points = None
        self.undo_stack.push(AddStrokeCommand(self.document, stroke))  # redo() adds it, then a repaint
        self.strokeFinished.emit()

    def _update_around(self, points) -> None:
        xy = np.array([p[:2] for p in points])
        (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
        rect = self._view.mapRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        pad = MAX_PEN_WIDTH * self.view_scale + 4
        self.update(rect.adjusted(-pad, -pad, pad, pad).toAlignedRect())

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

    def end_erase(self) -> None:
        self._erasing = False

    # --- input: mouse, tablet, touch --------------------------------------------------------------

    def _press(self, pos: QPointF, eraser: bool = False) -> None:
        if eraser or self.tool == ERASER_TOOL:
            self.begin_erase(pos)
        else:
            self.begin_stroke(pos)

    def _move(self, pos: QPointF) -> None:
        if self._erasing:
            self.erase_at(pos)
        elif self._points is not None:
            self.extend_stroke(pos)

    def _release(self, pos: QPointF) -> None:
        if self._erasing:
            self.end_erase()
        elif self._points is not None:
            self.extend_stroke(pos)
            self.end_stroke()

    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton and not self.drawing and not self._erasing:
            self._press(event.position())

    def mouseMoveEvent(self, event):
        if self.tool == ERASER_TOOL:
            self._hover = event.position()
            self.update()
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move(event.position())

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self._release(event.position())

    def leaveEvent(self, event):
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def tabletEvent(self, event):
        # Accepted, so that Qt does not also synthesize mouse events for the pen.
        pos = event.position()
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            eraser = event.pointerType() == QPointingDevice.PointerType.Eraser
            self._press(pos, eraser=eraser)
        elif kind == QEvent.Type.TabletMove:
            self._move(pos)
        elif kind == QEvent.Type.TabletRelease:
            self._release(pos)
        event.accept()

    def event(self, event):
        kind = event.type()
        if kind in (
            QEvent.Type.TouchBegin,
            QEvent.Type.TouchUpdate,
            QEvent.Type.TouchEnd,
            QEvent.Type.TouchCancel,
        ):
            points = event.points()
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
            event.accept()
            return True
        return super().event(event)
