"""Clean vector art for the recognized classes: one SVG picture per Quick, Draw! category.

resources/art/mapping.csv (category,icon,name,note) says which picture shows which category; the pictures
are resources/art/svg/<icon>.svg, extracted at build time by packaging/extract_art.py from a pinned npm
release of the icon set (see resources/art/ATTRIBUTION.md). Nothing is read until a picture is asked for,
so importing this module and loading the library cost almost nothing at start-up.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

# Shown in Help ▸ About; the same words head resources/art/ATTRIBUTION.md.
ART_ATTRIBUTION = (
    "Clean art: OpenMoji, the open-source emoji and icon project (https://openmoji.org/), "
    "by the OpenMoji contributors, licensed under CC BY-SA 4.0 "
    "(https://creativecommons.org/licenses/by-sa/4.0/)."
)

MAPPING_FILE = "mapping.csv"
MAPPING_COLUMNS = ("category", "icon", "name", "note")


def default_art_dir() -> Path:
    from inkling.model.resources import resource_path

    return resource_path("art")


def read_mapping(path: Path) -> dict[str, str]:
    """category -> icon id from mapping.csv; raises ValueError naming the file and line when it is malformed."""
    text = path.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("category", "icon") if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} in the header")
    mapping: dict[str, str] = {}
    for row in reader:
        category = (row.get("category") or "").strip()
        icon = (row.get("icon") or "").strip()
        if not category or not icon:
            raise ValueError(f"{path}, line {reader.line_num}: a row needs both a category and an icon")
        if category in mapping:
            raise ValueError(f"{path}, line {reader.line_num}: category {category!r} is mapped twice")
        if "/" in icon or "\\" in icon or icon.startswith("."):
            raise ValueError(f"{path}, line {reader.line_num}: icon id {icon!r} is not a plain file name")
        mapping[category] = icon
    return mapping


class ArtLibrary:
    """The mapped pictures, read from disk on first use and kept (renderers and pixmaps are cached)."""

    def __init__(self, folder: Path | None = None, mapping: dict[str, str] | None = None, error: str = ""):
        self.folder = Path(folder) if folder is not None else None
        self.mapping = dict(mapping or {})
        # Why the library is empty or smaller than its mapping (shown to the user, never raised).
        self.error = error
        self._bytes: dict[str, bytes | None] = {}
        self._renderers: dict[str, QSvgRenderer | None] = {}
        self._pixmaps: dict[tuple[str, int], QPixmap | None] = {}

    @classmethod
    def load(cls, folder: Path | None = None) -> ArtLibrary:
        """Read the mapping only; a missing or damaged mapping gives an empty library with `error` set."""
        folder = Path(folder) if folder is not None else default_art_dir()
        path = folder / MAPPING_FILE
        try:
            mapping = read_mapping(path)
        except FileNotFoundError:
            return cls._empty(folder, f"no art mapping at {path}; suggestions show reference drawings")
        except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
            return cls._empty(folder, f"the art mapping cannot be read: {exc}")
        return cls(folder, mapping)

    @classmethod
    def _empty(cls, folder: Path, error: str) -> ArtLibrary:
        print(f"inkling: {error}", file=sys.stderr)
        return cls(folder, {}, error)

    def has(self, label: str) -> bool:
        return label in self.mapping

    def labels(self) -> list[str]:
        return sorted(self.mapping)

    def svg_path(self, label: str) -> Path | None:
        icon = self.mapping.get(label)
        if icon is None or self.folder is None:
            return None
        return self.folder / "svg" / f"{icon}.svg"

    def svg_bytes(self, label: str) -> bytes | None:
        """The SVG file's bytes (for vector export), or None when unmapped or unreadable."""
        if label in self._bytes:
            return self._bytes[label]
        path = self.svg_path(label)
        data = None
        if path is not None:
            try:
                data = path.read_bytes()
            except OSError as exc:
                self._note(f"the art for {label!r} cannot be read: {exc}")
        self._bytes[label] = data
        return data

    def renderer(self, label: str) -> QSvgRenderer | None:
        if label in self._renderers:
            return self._renderers[label]
        data = self.svg_bytes(label)
        renderer = None
        if data is not None:
            renderer = QSvgRenderer(QByteArray(data))
            if not renderer.isValid():
                self._note(f"the art for {label!r} is not valid SVG: {self.svg_path(label)}")
                renderer = None
        self._renderers[label] = renderer
        return renderer

    def pixmap(self, label: str, size: int) -> QPixmap | None:
        """A size×size transparent pixmap with the picture centred, aspect kept (for suggestion rows)."""
        key = (label, int(size))
        if key in self._pixmaps:
            return self._pixmaps[key]
        renderer = self.renderer(label)
        pixmap = None
        if renderer is not None and size > 0:
            pixmap = QPixmap(int(size), int(size))
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            renderer.render(painter, fit_rect(renderer, QRectF(0, 0, size, size)))
            painter.end()
        self._pixmaps[key] = pixmap
        return pixmap

    def _note(self, message: str) -> None:
        print(f"inkling: {message}", file=sys.stderr)
        if not self.error:
            self.error = message


def fit_rect(renderer: QSvgRenderer, box: QRectF) -> QRectF:
    """The largest rectangle inside `box`, centred, with the picture's aspect ratio."""
    view = renderer.viewBoxF()
    if view.isEmpty():
        size = renderer.defaultSize()
        w, h = float(size.width()), float(size.height())
    else:
        w, h = view.width(), view.height()
    if w <= 0 or h <= 0:
        return QRectF(box)
    scale = min(box.width() / w, box.height() / h)
    fw, fh = w * scale, h * scale
    return QRectF(box.x() + (box.width() - fw) / 2, box.y() + (box.height() - fh) / 2, fw, fh)
