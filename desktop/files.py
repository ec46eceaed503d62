"""Saving and opening drawings: PNG and SVG pictures, and Google's Quick, Draw! ndjson (raw, with times).

Every file is written atomically (model.strokes.atomic_write_*), so a crash never leaves half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from inkling.model.strokes import (
    DrawingRecord,
    StrokeFormatError,
    atomic_write_bytes,
    iter_ndjson,
    write_ndjson,
)
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QImage, QPainter, QTransform

from .drawing import Stroke, bounding_box, with_times
from .ink import BACKGROUND, MAX_PEN_WIDTH, paint_strokes

MARGIN = 16.0  # canvas units of white around an exported picture
FORMATS = {".png": "PNG image", ".svg": "SVG drawing", ".ndjson": "Quick, Draw! drawing"}


class EmptyDrawingError(ValueError):
    pass


def _frame(strokes: list[Stroke]) -> QRectF:
    box = bounding_box(strokes)
    if box is None:
        raise EmptyDrawingError("The drawing is empty: there is nothing to save.")
    x0, y0, x1, y1 = box
    pad = MARGIN + MAX_PEN_WIDTH / 2
    return QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)


def render_image(strokes: list[Stroke], scale: float = 1.0) -> QImage:
    """The drawing on white, cropped to its bounding box plus a margin."""
    frame = _frame(strokes)
    size = QSize(max(1, round(frame.width() * scale)), max(1, round(frame.height() * scale)))
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(BACKGROUND)
    painter = QPainter(image)
    painter.setTransform(QTransform().scale(scale, scale).translate(-frame.x(), -frame.y()))
    paint_strokes(painter, strokes)
    painter.end()
    return image


def save_png(strokes: list[Stroke], path: str | os.PathLike, scale: float = 1.0) -> None:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not render_image(strokes, scale).save(buffer, "PNG"):
        raise OSError(f"could not encode {path} as PNG")
    buffer.close()
    atomic_write_bytes(path, bytes(data))


def save_svg(strokes: list[Stroke], path: str | os.PathLike) -> None:
    from PySide6.QtSvg import QSvgGenerator  # only needed here; keeps start-up lean

    frame = _frame(strokes)
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
    paint_strokes(painter, strokes)
    painter.end()
    buffer.close()
    atomic_write_bytes(path, bytes(data))


def save_ndjson(strokes: list[Stroke], path: str | os.PathLike, word: str | None = None) -> None:
    """One line in Google's raw format: x, y in canvas units and t in ms for every point."""
    if not strokes:
        raise EmptyDrawingError("The drawing is empty: there is nothing to save.")
    record = DrawingRecord(strokes=[s.points for s in strokes], word=word)
    write_ndjson(path, [record], simplified=False)


def open_ndjson(path: str | os.PathLike) -> list[Stroke]:
    """The first drawing of an ndjson file (raw or simplified). Raises StrokeFormatError or OSError."""
    for record in iter_ndjson(path):
        if not record.strokes:
            raise StrokeFormatError("the drawing has no strokes", path)
        arrays = record.strokes
        if not record.has_time or any(s.shape[1] != 3 for s in arrays):
            arrays = with_times([np.asarray(s)[:, :2] for s in arrays])
        return [Stroke(a) for a in arrays]
    raise StrokeFormatError("the file holds no drawing", path)


def save_drawing(strokes: list[Stroke], path: str | os.PathLike) -> None:
    """Save in the format the file name's suffix says."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        save_png(strokes, path)
    elif suffix == ".svg":
        save_svg(strokes, path)
    elif suffix in (".ndjson", ".json", ".jsonl"):
        save_ndjson(strokes, path)
    else:
        raise ValueError(f"Cannot save as {suffix or 'a file without a suffix'}: use .png, .svg or .ndjson.")
