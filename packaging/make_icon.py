"""Draw Inkling's icon with QPainter and write resources/icons/inkling.png (256 px), .ico and .icns.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icon.py

The icon: a rounded blue tile with a doodled cat face in white ink and a small yellow "idea" dot, the
app's thing in one picture (you doodle, it recognizes). .ico and .icns are plain containers around
PNG images, written here by hand so that no image library is needed.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPainterPath, QPen  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "icons"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256, b"ic09": 512}


def draw(side: int) -> QImage:
    image = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(side / 256, side / 256)  # drawn on a 256-unit grid at any size

    tile = QRectF(8, 8, 240, 240)
    gradient = QLinearGradient(tile.topLeft(), tile.bottomRight())
    gradient.setColorAt(0.0, QColor("#3b7bf0"))
    gradient.setColorAt(1.0, QColor("#1d3f9e"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(gradient)
    p.drawRoundedRect(tile, 52, 52)

    ink = QPen(QColor("white"), 13, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    p.setPen(ink)
    p.setBrush(Qt.BrushStyle.NoBrush)
    face = QPainterPath(QPointF(64, 112))  # head with two ears, one slightly wobbly stroke
    face.lineTo(70, 56)
    face.lineTo(104, 86)
    face.quadTo(128, 78, 152, 86)
    face.lineTo(186, 56)
    face.lineTo(192, 112)
    face.cubicTo(204, 170, 166, 204, 128, 204)
    face.cubicTo(88, 204, 52, 170, 64, 112)
    p.drawPath(face)
    p.drawPoint(QPointF(104, 132))  # eyes
    p.drawPoint(QPointF(152, 132))
    whiskers = QPen(ink)
    whiskers.setWidthF(7)
    p.setPen(whiskers)
    mouth = QPainterPath(QPointF(114, 164))
    mouth.quadTo(128, 176, 142, 164)
    p.drawPath(mouth)
    for y0, y1 in ((156, 150), (168, 172)):
        p.drawLine(QPointF(92, y0), QPointF(48, y1))
        p.drawLine(QPointF(164, y0), QPointF(208, y1))

    p.setPen(QPen(QColor("#1d3f9e"), 6))
    p.setBrush(QColor("#ffd23f"))
    p.drawEllipse(QPointF(204, 52), 26, 26)
    p.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """ICONDIR + one ICONDIRENTRY per size, each pointing at a whole PNG file (Windows Vista and later)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, blobs = b"", b""
    for side, data in sorted(pngs.items()):
        dim = 0 if side >= 256 else side  # 0 means 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    return header + entries + blobs


def icns_bytes(pngs: dict[bytes, bytes]) -> bytes:
    """'icns' + total length, then (type, length, PNG data) for each size (macOS 10.7 and later)."""
    body = b"".join(kind + struct.pack(">I", 8 + len(data)) + data for kind, data in pngs.items())
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    print(f"{path.relative_to(ROOT)}: {len(data)} bytes")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # fonts and painting need one
    OUT.mkdir(parents=True, exist_ok=True)
    sides = sorted(set(ICO_SIZES) | set(ICNS_TYPES.values()))
    pngs = {side: png_bytes(draw(side)) for side in sides}
    write(OUT / "inkling.png", pngs[256])
    write(OUT / "inkling.ico", ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    write(OUT / "inkling.icns", icns_bytes({kind: pngs[s] for kind, s in ICNS_TYPES.items()}))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
