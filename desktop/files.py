"""Saving and opening drawings: PNG and SVG pictures, and Google's Quick, Draw! ndjson (raw, with times).

A picture is the placed pieces (bottom to top, drawn by a scene.PiecePainter) under the current doodle's
strokes, on white, cropped to its bounding box plus MARGIN. The PNG is painted as the canvas paints, at a
chosen scale; the SVG is written element by element so that it looks the same: each art piece is its art
file's own elements in a <g transform> (ids prefixed per piece, a one-colour glyph recoloured as on the
canvas), and strokes are <path>s with the canvas's pens. (Painting through QSvgGenerator instead gave every
filled area of the art a black outline the art does not have: QtSvg draws fill-only shapes with a pen
whose brush is Qt::NoBrush, which QSvgGenerator writes as stroke="#000000".) Every file is written
atomically (model.strokes.atomic_write_*), so a crash never leaves half a file.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from inkling.model.strokes import (
    DrawingRecord,
    StrokeFormatError,
    atomic_write_bytes,
    iter_drawing_lines,
    normalize,
    write_ndjson,
)
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPen, QTransform

from .drawing import Stroke, bounding_box, fit_into, with_times
from .ink import BACKGROUND, MAX_PEN_WIDTH, paint_strokes, pen_for

MARGIN = 16.0  # canvas units of white around an exported picture (at any scale)
MAX_IMAGE_PIXELS = 400_000_000  # a PNG export's largest size (20,000 × 20,000 pixels; 1.6 GB in memory)
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
    """The picture on white, cropped to its bounding box plus MARGIN, at ``scale`` pixels per canvas unit
    (the margin scales with it). Raises ValueError for a scale that is not a positive number, or a
    picture too large to hold as an image at that scale."""
    if not (isinstance(scale, numbers.Real) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"The scale of a PNG export must be a positive number, not {scale!r}.")
    frame = _frame(strokes, pieces)
    width, height = frame.width() * scale, frame.height() * scale
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"The picture is too large to save as PNG at {scale:g}×: {width:.0f} × {height:.0f} pixels "
            "(export it as SVG, or at a smaller scale)."
        )
    image = QImage(QSize(max(1, round(width)), max(1, round(height))), QImage.Format.Format_RGB32)
    if image.isNull():
        raise ValueError(f"There is not enough memory for a {width:.0f} × {height:.0f} pixel picture.")
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
    """Vector throughout, looking as the canvas does: see svg_document."""
    frame = _frame(strokes, pieces)  # (raises EmptyDrawingError before anything is written)
    data = svg_document(
        strokes, pieces=pieces, piece_painter=piece_painter, title=Path(path).stem, frame=frame
    )
    atomic_write_bytes(path, data)


# --- SVG ------------------------------------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Attributes of an art file's <svg> element that place it; the rest (presentation attributes such as
# fill) move to the <g> that stands in for it.
_SVG_ONLY = {"id", "x", "y", "width", "height", "viewBox", "preserveAspectRatio", "version", "baseProfile"}
_SVG_ONLY |= {"zoomAndPan", "contentScriptType", "contentStyleType", "playbackOrder", "snapshotTime"}
_SKIPPED = {"title", "desc", "metadata"}  # an art file's own, not the picture's
_URL_REF = re.compile(r"url\(\s*#")
_CAPS = {Qt.PenCapStyle.RoundCap: "round", Qt.PenCapStyle.SquareCap: "square", Qt.PenCapStyle.FlatCap: "butt"}
_JOINS = {Qt.PenJoinStyle.RoundJoin: "round", Qt.PenJoinStyle.BevelJoin: "bevel"}  # else miter


def _num(value: float, decimals: int = 3) -> str:
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _exact(value: float) -> str:
    return "0" if value == 0 else f"{value:.10g}"


def _matrix(t: QTransform) -> str:
    return "matrix({})".format(
        " ".join(_exact(v) for v in (t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy()))
    )


def _path_data(xy: np.ndarray, decimals: int = 3) -> str:
    """ink.stroke_path as SVG path data: quadratic curves between the midpoints of successive segments."""

    def pt(p) -> str:
        return f"{_num(p[0], decimals)},{_num(p[1], decimals)}"

    parts = [f"M{pt(xy[0])}"]
    if len(xy) == 1:
        parts.append(f"L{pt(xy[0])}")  # a zero-length line: the round cap draws a dot
    for i in range(1, len(xy) - 1):
        parts.append(f"Q{pt(xy[i])} {pt((xy[i] + xy[i + 1]) / 2)}")
    if len(xy) > 1:
        parts.append(f"L{pt(xy[-1])}")
    return " ".join(parts)


def _pen_attributes(pen: QPen) -> dict[str, str]:
    color = pen.color()
    attributes = {
        "fill": "none",
        "stroke": color.name(),
        "stroke-width": _exact(pen.widthF()),
        "stroke-linecap": _CAPS.get(pen.capStyle(), "square"),
        "stroke-linejoin": _JOINS.get(pen.joinStyle(), "miter"),
    }
    if color.alpha() < 255:
        attributes["stroke-opacity"] = _exact(color.alphaF())
    return attributes


def _stroke_elements(parent: ET.Element, pens, scale: float = 1.0) -> None:
    """A <path> per stroke with its pen; coordinates precise to a thousandth of a canvas unit after
    ``scale`` (the transform the group applies)."""
    decimals = min(9, 3 + max(0, math.ceil(math.log10(scale)))) if scale > 0 else 3
    for stroke, pen in pens:
        ET.SubElement(parent, "path", {"d": _path_data(stroke.xy, decimals), **_pen_attributes(pen)})


def _local(name: str) -> tuple[str | None, str]:
    """(namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return None, name


def _prefixed(name: str, value: str, prefix: str) -> str:
    """An attribute value with the ids it refers to prefixed."""
    if name == "id":
        return prefix + value
    if name in ("href", "xlink:href") and value.startswith("#"):
        return "#" + prefix + value[1:]
    return _URL_REF.sub(lambda m: m.group(0) + prefix, value)


def _inline(element: ET.Element, prefix: str) -> ET.Element | None:
    """A copy of an art file's element for the picture: SVG elements only (another vocabulary's, such as
    an editor's metadata, is left out), its ids prefixed; None for an element that is left out."""
    namespace, tag = _local(element.tag)
    if namespace not in (None, SVG_NS) or tag in _SKIPPED:
        return None
    copy = ET.Element(tag)
    for key, value in element.attrib.items():
        namespace, name = _local(key)
        if namespace == XLINK_NS:
            name = "xlink:" + name
        elif namespace == XML_NS:
            name = "xml:" + name
        elif namespace is not None:
            continue
        copy.set(name, _prefixed(name, value, prefix))
    copy.text = _URL_REF.sub(lambda m: m.group(0) + prefix, element.text) if tag == "style" else element.text
    _inline_children(element, copy, prefix)
    return copy


def _inline_children(element: ET.Element, copy: ET.Element, prefix: str) -> None:
    for child in element:
        inlined = _inline(child, prefix)
        if inlined is not None:
            inlined.tail = child.tail
            copy.append(inlined)
        elif child.tail and len(copy):  # the text after a left-out element stays
            copy[-1].tail = (copy[-1].tail or "") + child.tail
        elif child.tail:
            copy.text = (copy.text or "") + child.tail


def _art_group(piece_painter, piece, rect: QRectF, prefix: str) -> ET.Element | None:
    """The piece's art file inlined: its elements in a <g> mapping its view box onto ``rect`` (as
    QSvgRenderer.render does on the canvas); None when the file cannot be read as XML."""
    from .art import view_box

    art = piece_painter.art
    data = art.svg_bytes(piece.label)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        print(f"inkling: the art for {piece.label!r} is drawn as strokes in the SVG: {exc}", file=sys.stderr)
        return None
    view = view_box(art.renderer(piece.label))
    sx, sy = rect.width() / view.width(), rect.height() / view.height()
    transform = QTransform(sx, 0, 0, sy, rect.x() - view.x() * sx, rect.y() - view.y() * sy)
    group = ET.Element("g")
    for key, value in root.attrib.items():
        namespace, name = _local(key)
        if namespace is None and name not in _SVG_ONLY:
            group.set(name, _prefixed(name, value, prefix))
    tint = art.tint(piece.label, piece.color)
    if tint is not None:
        group.set("fill", tint)  # as ArtLibrary.renderer recolours a one-colour glyph
    group.set("transform", _matrix(transform))
    _inline_children(root, group, prefix)
    return group


def svg_document(
    strokes: list[Stroke], pieces=(), piece_painter=None, title: str = "", frame: QRectF | None = None
) -> bytes:
    """The picture as an SVG file's bytes: the white background, the pieces bottom to top, then the
    doodle, in canvas units (the view box is the picture's frame, margin included)."""
    frame = _frame(strokes, pieces) if frame is None else frame
    x, y, w, h = (_exact(v) for v in (frame.x(), frame.y(), frame.width(), frame.height()))
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "xmlns:xlink": XLINK_NS,
            "version": "1.2",
            "baseProfile": "tiny",
            "width": w,
            "height": h,
            "viewBox": f"{x} {y} {w} {h}",
        },
    )
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "desc").text = "Drawn with Inkling"
    ET.SubElement(root, "rect", {"x": x, "y": y, "width": w, "height": h, "fill": BACKGROUND.name()})
    for i, piece in enumerate(pieces):
        rect = piece_painter.art_rect(piece)
        group = _art_group(piece_painter, piece, rect, f"p{i + 1}-") if rect is not None else None
        if group is None:
            layout = piece_painter.stroke_layout(piece)
            if layout is None:
                continue
            transform, pens = layout
            group = ET.Element("g", {"transform": _matrix(transform)})
            _stroke_elements(group, pens, abs(transform.m11()))
        root.append(group)
    if strokes:
        doodle = ET.SubElement(root, "g")
        _stroke_elements(doodle, [(stroke, pen_for(stroke.style, stroke.color)) for stroke in strokes])
    for child in root:
        child.tail = "\n"
    root.text = "\n"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


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
    for _, record in iter_drawing_lines(path):
        if isinstance(record, StrokeFormatError):
            bad.append(str(record))
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


def save_drawing(
    strokes: list[Stroke], path: str | os.PathLike, *, pieces=(), piece_painter=None, scale: float = 1.0
) -> None:
    """Save in the format the file name's suffix says (ndjson: the strokes only, one drawing); a PNG at
    ``scale`` pixels per canvas unit."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        save_png(strokes, path, scale, pieces=pieces, piece_painter=piece_painter)
    elif suffix == ".svg":
        save_svg(strokes, path, pieces=pieces, piece_painter=piece_painter)
    elif suffix in (".ndjson", ".json", ".jsonl"):
        save_ndjson(strokes, path)
    else:
        raise ValueError(f"Cannot save as {suffix or 'a file without a suffix'}: use .png, .svg or .ndjson.")
