"""Clean vector art for the recognized classes: one SVG picture per Quick, Draw! category.

resources/art/mapping.csv (category,icon,name,note) says which picture shows which category; the pictures
are resources/art/svg/<icon>.svg, extracted at build time by packaging/extract_art.py from pinned npm
releases of two icon sets (see resources/art/ATTRIBUTION.md). Nothing is read until a picture is asked for,
so importing this module and loading the library cost almost nothing at start-up.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

if TYPE_CHECKING:
    from PySide6.QtSvg import QSvgRenderer  # (imported where a picture is first rendered)

# Shown in Help ▸ About; resources/art/ATTRIBUTION.md says which file comes from which set.
ART_ATTRIBUTION = (
    "Clean art: OpenMoji (https://openmoji.org/), by the OpenMoji contributors, licensed under "
    "CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/); and Material Design Icons "
    "(https://pictogrammers.com/library/mdi/), by Pictogrammers, licensed under the Apache License 2.0. "
    "The pictures are unmodified; their licence texts ship with them in resources/art."
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
        self._mapping = dict(mapping or {})
        # Why the library is empty or smaller than its mapping (shown to the user, never raised).
        self._error = error
        self._unread = False  # load(): the mapping is read when first needed
        self._bytes: dict[str, bytes | None] = {}
        self._renderers: dict[str | tuple[str, str], QSvgRenderer | None] = {}
        self._pixmaps: dict[tuple[str, int], QPixmap | None] = {}
        self._content: dict[str, QRectF | None] = {}
        self._tintable: dict[str, bool] = {}
        self._names: dict[str, str] | None = None

    @classmethod
    def load(cls, folder: Path | None = None) -> ArtLibrary:
        """The pictures mapped in ``folder`` (default: the bundled art). The mapping is read on first use,
        so that the app's first paint does not wait for it; a missing or damaged mapping gives an empty
        library with `error` set."""
        library = cls(Path(folder) if folder is not None else default_art_dir())
        library._unread = True
        return library

    def _read_mapping(self) -> None:
        path = self.folder / MAPPING_FILE
        try:
            self._mapping = read_mapping(path)
            return
        except FileNotFoundError:
            error = f"no art mapping at {path}; suggestions show reference drawings"
        except UnicodeDecodeError as exc:
            error = f"the art mapping {path} cannot be read: it is not UTF-8 text ({exc})"
        except ValueError as exc:  # read_mapping's messages name the file and line
            error = f"the art mapping cannot be used: {exc}"
        except (OSError, csv.Error) as exc:
            error = f"the art mapping {path} cannot be read: {exc}"
        print(f"inkling: {error}", file=sys.stderr)
        self._mapping, self._error = {}, error

    @property
    def mapping(self) -> dict[str, str]:
        """category -> icon id."""
        if self._unread:
            self._unread = False
            self._read_mapping()
        return self._mapping

    @property
    def error(self) -> str:
        self.mapping  # noqa: B018 (a mapping that cannot be read is the first error)
        return self._error

    @error.setter
    def error(self, message: str) -> None:
        self._error = message

    def has(self, label: str) -> bool:
        return label in self.mapping

    def labels(self) -> list[str]:
        return sorted(self.mapping)

    def names(self) -> dict[str, str]:
        """The pictures' own names where they differ from their class ("baby angel" -> "angel"), from the
        mapping's ``name`` column: more ways to find a class by name. Read once."""
        if self._names is None:
            self._names = self._read_names()
        return self._names

    def _read_names(self) -> dict[str, str]:
        try:
            rows = csv.DictReader(io.StringIO((self.folder / MAPPING_FILE).read_text(encoding="utf-8")))
            return {
                r["name"].strip(): r["category"].strip()
                for r in rows
                if (r.get("name") or "").strip() and r["name"].strip() != (r.get("category") or "").strip()
            }
        except (OSError, UnicodeDecodeError, csv.Error, KeyError, AttributeError, TypeError):
            return {}  # the mapping's own problems are reported where it is read

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

    def tintable(self, label: str) -> bool:
        """Whether the picture is one colour (a glyph: no colour of its own anywhere), so that it can take
        the pen's colour. Colour pictures (emoji) keep theirs."""
        if label not in self._tintable:  # asked on every paint of a coloured piece: scanned once
            data = self.svg_bytes(label)
            lower = data.lower() if data is not None else b""
            own_colour = (b"fill", b"stroke", b"style", b"color", b"<image", b"gradient", b"<use")
            self._tintable[label] = lower.lstrip()[:5] in (b"<svg ", b"<?xml") and not any(
                word in lower for word in own_colour
            )
        return self._tintable[label]

    def tint(self, label: str, color: str | None) -> str | None:
        """The fill ("#rrggbb") the picture is drawn in for a piece of this ``color``: the colour for a
        one-colour picture, None (its own colours) for a colour picture or no colour."""
        return QColor(color).name() if color is not None and self.tintable(label) else None

    def renderer(self, label: str, color: str | None = None) -> QSvgRenderer | None:
        """The picture's renderer; with ``color`` ("#rrggbb"), a one-colour picture drawn in that colour
        (still vector: the colour is the SVG's own fill, as in the SVG export)."""
        color = self.tint(label, color)
        key = label if color is None else (label, color)
        if key in self._renderers:
            return self._renderers[key]
        data = self.svg_bytes(label)
        renderer = None
        if data is not None:
            from PySide6.QtSvg import QSvgRenderer

            if color is not None:
                data = data.replace(b"<svg ", f'<svg fill="{color}" '.encode(), 1)
            renderer = QSvgRenderer(QByteArray(data))
            if not renderer.isValid():
                self._note(f"the art for {label!r} is not valid SVG: {self.svg_path(label)}")
                renderer = None
        self._renderers[key] = renderer
        return renderer

    def content_rect(self, label: str) -> QRectF | None:
        """The part of the picture's view box that is actually drawn on (in view-box units), cached.

        The sets pad their pictures differently (OpenMoji leaves about a sixth of the box empty around
        each one, Material Design Icons a twelfth); fitting this rectangle, not the whole view box, to a
        doodle's bounding box makes the art cover what was drawn.
        """
        if label in self._content:
            return self._content[label]
        renderer = self.renderer(label)
        rect = None
        if renderer is not None:
            rect = measure_content(renderer)
        self._content[label] = rect
        return rect

    def target_rect(self, label: str, box: QRectF) -> QRectF | None:
        """Where to render the whole picture (renderer.render(painter, rect)) so that its drawn part
        fills `box` as far as its aspect ratio allows, centred."""
        renderer = self.renderer(label)
        content = self.content_rect(label)
        if renderer is None or content is None:
            return None
        view = view_box(renderer)
        scale = min(box.width() / content.width(), box.height() / content.height())
        x = box.x() + (box.width() - content.width() * scale) / 2 - (content.x() - view.x()) * scale
        y = box.y() + (box.height() - content.height() * scale) / 2 - (content.y() - view.y()) * scale
        return QRectF(x, y, view.width() * scale, view.height() * scale)

    def pixmap(self, label: str, size: int) -> QPixmap | None:
        """A size×size transparent pixmap with the drawn part centred, aspect kept (for suggestion rows)."""
        key = (label, int(size))
        if key in self._pixmaps:
            return self._pixmaps[key]
        renderer = self.renderer(label)
        pixmap = None
        if renderer is not None and size > 0:
            margin = max(1.0, size / 16)
            target = self.target_rect(label, QRectF(margin, margin, size - 2 * margin, size - 2 * margin))
            pixmap = QPixmap(int(size), int(size))
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            renderer.render(painter, target)
            painter.end()
        self._pixmaps[key] = pixmap
        return pixmap

    def _note(self, message: str) -> None:
        print(f"inkling: {message}", file=sys.stderr)
        if not self.error:
            self.error = message


def view_box(renderer: QSvgRenderer) -> QRectF:
    view = renderer.viewBoxF()
    if view.isEmpty():
        size = renderer.defaultSize()
        return QRectF(0, 0, max(1, size.width()), max(1, size.height()))
    return view


def measure_content(renderer: QSvgRenderer, resolution: int = 128) -> QRectF | None:
    """The drawn part of the view box, found from the alpha channel of a render at `resolution` pixels on
    the long side (so to within one such pixel); None when nothing is drawn."""
    import numpy as np

    view = view_box(renderer)
    scale = resolution / max(view.width(), view.height())
    w, h = max(1, round(view.width() * scale)), max(1, round(view.height() * scale))
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, w, h))
    painter.end()
    pixels = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    alpha = pixels.reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4)[:, :, 3]
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return None
    x0, x1 = cols[0], cols[-1] + 1
    y0, y1 = rows[0], rows[-1] + 1
    sx, sy = view.width() / w, view.height() / h
    return QRectF(view.x() + x0 * sx, view.y() + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy)
