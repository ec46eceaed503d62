"""How strokes look: the pens, and smooth antialiased paths; shared by the canvas and the exporters."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from .drawing import CLEAN, DOODLE, Stroke

BACKGROUND = QColor("#ffffff")
# Widths in canvas units, so a drawing shrunk to fit the window keeps its proportions.
PENS = {
    DOODLE: (QColor("#1d1d1f"), 4.0),
    CLEAN: (QColor("#0b57d0"), 5.0),  # the clean pen of a replaced drawing
}
MAX_PEN_WIDTH = max(width for _, width in PENS.values())


DOODLE_COLOR = PENS[DOODLE][0].name()


def pen_for(style: str, color: str | QColor | None = None, width: float | None = None) -> QPen:
    default_color, default_width = PENS.get(style, PENS[DOODLE])
    color = QColor(color) if color is not None else default_color
    width = default_width if width is None else width
    return QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)


def stroke_path(xy: np.ndarray) -> QPainterPath:
    """A smooth path through the points: quadratic curves between the midpoints of successive segments."""
    path = QPainterPath(QPointF(*xy[0]))
    n = len(xy)
    if n == 1:
        # A tiny line: QPainterPath drops a zero-length one, and the round cap makes this a dot (a tap).
        path.lineTo(QPointF(xy[0][0] + 1e-3, xy[0][1]))
        return path
    for i in range(1, n - 1):
        mid = (xy[i] + xy[i + 1]) / 2
        path.quadTo(QPointF(*xy[i]), QPointF(*mid))
    path.lineTo(QPointF(*xy[-1]))
    return path


def paint_strokes(painter: QPainter, strokes: list[Stroke], paths=None) -> None:
    """Draw strokes with their pens on a painter already set up with the right transform."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for stroke in strokes:
        painter.setPen(pen_for(stroke.style, stroke.color))
        painter.drawPath(paths(stroke) if paths else stroke_path(stroke.xy))
