"""Saving and opening drawings: PNG and SVG pictures, and Google's Quick, Draw! ndjson (raw, with times).

A picture is the placed pieces (bottom to top, drawn by a scene.PiecePainter: SVG art stays vector in an
SVG file) under the current doodle's strokes. Every file is written atomically
(model.strokes.atomic_write_*), so a crash never leaves half a file.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from inkling.model.strokes import (
    DrawingRecord,
    StrokeFormatError,
    atomic_write_bytes,
    iter_lines,
    normalize,
    parse_ndjson_line,
    write_ndjson,
)
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QImage, QPainter, QTransform

from .drawing import Stroke, bounding_box, fit_into, with_times
from .ink import BACKGROUND, MAX_PEN_WIDTH, paint_strokes

MARGIN = 16.0  # canvas units of white around an exported picture
FORMATS = {".png": "PNG image", ".svg": "SVG drawing", ".ndjson": "Quick, Draw! drawing"}


MAX_CANVAS_COORDINATE = 1e7  # canvas units; an opened drawing beyond this is fitted into OPENED_FAR_BOX
OPENED_FAR_BOX = (150.0, 50.0, 650.0, 550.0)  # around the page centre (400, 300)


class EmptyDrawingError(ValueError):
    pass


def _frame(strokes: list[Stroke], pieces=()) -> QRectF:
    box = bounding_box(strokes)
    frame = QRectF()
    if box is not None:
        x0, y0, x1, y1 = box
        pad = MAX_PEN_WIDTH / 2
        frame = QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
    for piece in pieces:
        frame = frame.united(piece.qrect) if not frame.isNull() else piece.qrect
    if frame.isNull():
        raise EmptyDrawingError("The drawing is empty: there is nothing to save.")
    return frame.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)


def paint_picture(painter: QPainter, strokes: list[Stroke], pieces=(), piece_painter=None) -> None:
    """The pieces, bottom to top, then the strokes, on a painter in canvas units."""
    for piece in pieces:
        piece_painter.paint(painter, piece)
    paint_strokes(painter, strokes)


def render_image(strokes: list[Stroke], scale: float = 1.0, *, pieces=(), piece_painter=None) -> QImage:
    """The picture on white, cropped to its bounding box plus a margin."""
    frame = _frame(strokes, pieces)
    size = QSize(max(1, round(frame.width() * scale)), max(1, round(frame.height() * scale)))
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(BACKGROUND)
    painter = QPainter(image)
    painter.setTransform(QTransform().scale(scale, scale).translate(-frame.x(), -frame.y()))
    paint_picture(painter, strokes, pieces, piece_painter)
    painter.end()
    return image


def save_png(
    strokes: list[Stroke], path: str | os.PathLike, scale: float = 1.0, *, pieces=(), piece_painter=None
) -> None:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not render_image(strokes, scale, pieces=pieces, piece_painter=piece_painter).save(buffer, "PNG"):
        raise OSError(f"could not encode {path} as PNG")
    buffer.close()
    atomic_write_bytes(path, bytes(data))


def save_svg(strokes: list[Stroke], path: str | os.PathLike, *, pieces=(), piece_painter=None) -> None:
    """Vector throughout: the art's SVG is drawn through QSvgRenderer into QSvgGenerator as paths."""
    from PySide6.QtSvg import QSvgGenerator  # only needed here; keeps start-up lean

    frame = _frame(strokes, pieces)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(round(frame.width()), round(frame.height())))
    generator.setViewBox(QRectF(0, 0, frame.width(), frame.height()))
    generator.setTitle(Path(path).stem)
    generator.setDescription("Drawn with Inkling")
    painter = QPainter(generator)
    painter.fillRect(QRectF(0, 0, frame.width(), frame.height()), BACKGROUND)
    painter.translate(-frame.x(), -frame.y())
    paint_picture(painter, strokes, pieces, piece_painter)
    painter.end()
    buffer.close()
    atomic_write_bytes(path, bytes(data))


def save_ndjson(strokes: list[Stroke], path: str | os.PathLike, word: str | None = None) -> None:
    """One line in Google's raw format: x, y in canvas units and t in ms for every point."""
    if not strokes:
        raise EmptyDrawingError("The drawing is empty: there is nothing to save.")
    record = DrawingRecord(strokes=[s.points for s in strokes], word=word)
    write_ndjson(path, [record], simplified=False)


MAX_OPENED_DRAWINGS = 100  # an ndjson file with more opens its first 100 (Google's files hold thousands)


def _strokes(record, path) -> list[Stroke]:
    arrays = record.strokes
    if max(float(np.abs(s[:, :2]).max()) for s in arrays) > MAX_CANVAS_COORDINATE:
        # Far off any canvas (a file's coordinates may reach near the float range): fitted into the page,
        # where its pen travel and times stay finite. Recognition does not see the drawing's scale, so its
        # suggestions are the same.
        arrays = fit_into(normalize(arrays), OPENED_FAR_BOX)
    elif not record.has_time or any(s.shape[1] != 3 for s in arrays):
        arrays = with_times([np.asarray(s)[:, :2] for s in arrays])
    return [Stroke(a) for a in arrays]


def open_ndjson(path: str | os.PathLike) -> tuple[list[list[Stroke]], list[str], int]:
    """The drawings of an ndjson file (raw or simplified, one a line), at most MAX_OPENED_DRAWINGS; the bad
    lines' messages (each naming the file and its line); and how many good drawings the file holds in all.
    Raises StrokeFormatError when no line holds a drawing, OSError when the file cannot be read."""
    drawings, bad, total = [], [], 0
    for lineno, text in iter_lines(path):
        try:
            if isinstance(text, StrokeFormatError):
                raise text
            record = parse_ndjson_line(text, source=path, line=lineno)
            if not record.strokes:
                raise StrokeFormatError("the drawing has no strokes", path, lineno)
        except StrokeFormatError as exc:
            bad.append(str(exc))
            continue
        total += 1
        if len(drawings) < MAX_OPENED_DRAWINGS:
            drawings.append(_strokes(record, path))
    if not drawings:
        raise StrokeFormatError("the file holds no drawing" + (f" ({bad[0]})" if bad else ""), path)
    return drawings, bad, total


def grid_layout(drawings: list[list[Stroke]], cell: float = 220.0, gap: float = 20.0) -> list[list[Stroke]]:
    """The drawings side by side in rows (as square a grid as they make), each fitted into its cell."""
    columns = math.ceil(math.sqrt(len(drawings)))
    out = []
    for i, strokes in enumerate(drawings):
        x, y = gap + (i % columns) * (cell + gap), gap + (i // columns) * (cell + gap)
        out.append([Stroke(a) for a in fit_into([s.points for s in strokes], (x, y, x + cell, y + cell))])
    return out


def save_drawing(strokes: list[Stroke], path: str | os.PathLike, *, pieces=(), piece_painter=None) -> None:
    """Save in the format the file name's suffix says (ndjson: the strokes only, one drawing)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        save_png(strokes, path, pieces=pieces, piece_painter=piece_painter)
    elif suffix == ".svg":
        save_svg(strokes, path, pieces=pieces, piece_painter=piece_painter)
    elif suffix in (".ndjson", ".json", ".jsonl"):
        save_ndjson(strokes, path)
    else:
        raise ValueError(f"Cannot save as {suffix or 'a file without a suffix'}: use .png, .svg or .ndjson.")
