"""Render every mapped picture with its category name into one PNG, for checking the mapping by eye.

    QT_QPA_PLATFORM=offscreen python packaging/art_contact_sheet.py --out docs/art_contact_sheet.png

Uses the app's own loader (inkling.desktop.art), so the sheet shows exactly what the app will draw.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter


def render_sheet(labels: list[str], art, cell: int, columns: int) -> QImage:
    label_h = max(14, cell // 5)
    pad = max(4, cell // 12)
    w, h = cell + 2 * pad, cell + label_h + 2 * pad
    rows = math.ceil(len(labels) / columns)
    image = QImage(columns * w, rows * h, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(max(9, label_h - 5))
    painter.setFont(font)
    for i, label in enumerate(labels):
        x, y = (i % columns) * w, (i // columns) * h
        painter.setPen(QColor("#dddddd"))
        painter.drawRect(x, y, w - 1, h - 1)
        pixmap = art.pixmap(label, cell)
        if pixmap is None:
            painter.setPen(QColor("red"))
            painter.drawText(QRectF(x, y + pad, w, cell), Qt.AlignmentFlag.AlignCenter, "NO ART")
        else:
            painter.drawPixmap(x + pad, y + pad, pixmap)
        painter.setPen(QColor("black"))
        painter.drawText(
            QRectF(x + 2, y + pad + cell, w - 4, label_h + pad), Qt.AlignmentFlag.AlignCenter, label
        )
    painter.end()
    return image


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--art", type=Path, help="art folder (default: the bundled resources/art)")
    ap.add_argument("--cell", type=int, default=88, help="picture size in pixels")
    ap.add_argument("--columns", type=int, default=16)
    ap.add_argument("--only", help="comma-separated categories (default: all mapped)")
    args = ap.parse_args(argv)
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    from inkling.desktop.art import ArtLibrary

    art = ArtLibrary.load(args.art)
    labels = [s.strip() for s in args.only.split(",")] if args.only else art.labels()
    labels = sorted(labels, key=str.lower)
    image = render_sheet(labels, art, args.cell, args.columns)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(args.out)):
        print(f"art_contact_sheet: cannot write {args.out}", file=sys.stderr)
        return 1
    print(f"art_contact_sheet: {len(labels)} pictures, {image.width()}x{image.height()} px -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
