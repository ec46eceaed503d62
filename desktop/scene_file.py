"""Inkling scene files (``.inkscene``): versioned JSON with the placed pieces and the current doodle.

The format is documented in docs/SCENE_FORMAT.md. The reader treats every file as hostile: it reads at
most MAX_FILE_BYTES, checks every field's type, range and count, and reports any problem as one
SceneFormatError that names the file (never a traceback, never a half-loaded scene). Writes are atomic.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from inkling.model.strokes import atomic_write_text

from .drawing import CLEAN, DOODLE, Stroke
from .scene import ART, INK, KINDS, Piece

SUFFIX = ".inkscene"
FORMAT = "inkling-scene"
VERSION = 1
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_PIECES = 5_000
MAX_STROKES = 100_000  # in the whole file
MAX_POINTS = 2_000_000  # in the whole file
MAX_COORD = 1e7  # canvas units (and ms for times)
MAX_LABEL = 200
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
STYLES = (DOODLE, CLEAN)


class SceneFormatError(ValueError):
    """A scene file that cannot be read; the message names the file."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


@dataclass
class SceneData:
    pieces: list[Piece] = field(default_factory=list)  # bottom to top
    doodle: list[Stroke] = field(default_factory=list)  # the current doodle


# --- writing --------------------------------------------------------------------------------------


def _stroke_json(stroke: Stroke) -> dict:
    out = {"points": [[round(float(v), 3) for v in p] for p in stroke.points]}
    if stroke.style != DOODLE:
        out["style"] = stroke.style
    if stroke.color is not None:
        out["color"] = stroke.color
    return out


def scene_json(data: SceneData) -> dict:
    pieces = []
    for z, piece in enumerate(data.pieces):
        entry = {"kind": piece.kind, "rect": [round(v, 3) for v in piece.rect], "z": z}
        if piece.label is not None:
            entry["label"] = piece.label
        if piece.color is not None:
            entry["color"] = piece.color
        entry["strokes"] = [_stroke_json(s) for s in piece.strokes]
        pieces.append(entry)
    return {
        "format": FORMAT,
        "version": VERSION,
        "pieces": pieces,
        "doodle": [_stroke_json(s) for s in data.doodle],
    }


def write_scene(path: str | os.PathLike, data: SceneData) -> None:
    atomic_write_text(path, json.dumps(scene_json(data), separators=(",", ":")) + "\n")


# --- reading --------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, path):
        self.path = path
        self.strokes = 0
        self.points = 0

    def fail(self, problem: str):
        raise SceneFormatError(self.path, problem)

    def number(self, value, where: str, limit: float = MAX_COORD) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"{where} must be a number, not {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value) or abs(value) > limit:
            self.fail(f"{where} is out of range ({value})")
        return value

    def color(self, value, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not COLOR.fullmatch(value):
            self.fail(f"{where} must be a colour like #1d1d1f")
        return value.lower()

    def stroke(self, value, where: str) -> Stroke:
        if not isinstance(value, dict) or not isinstance(value.get("points"), list):
            self.fail(f"{where} must be an object with a list of points")
        points = value["points"]
        if not points:
            self.fail(f"{where} has no points")
        self.strokes += 1
        self.points += len(points)
        if self.strokes > MAX_STROKES or self.points > MAX_POINTS:
            self.fail(f"too many strokes or points (at most {MAX_STROKES} strokes, {MAX_POINTS} points)")
        rows = []
        for i, point in enumerate(points):
            if not isinstance(point, list) or len(point) not in (2, 3):
                self.fail(f"{where}, point {i} must be [x, y] or [x, y, t]")
            row = [self.number(v, f"{where}, point {i}") for v in point]
            rows.append(row if len(row) == 3 else [*row, 0.0])
        style = value.get("style", DOODLE)
        if style not in STYLES:
            self.fail(f"{where} has an unknown style {style!r}")
        return Stroke(np.array(rows, dtype=np.float64), style, self.color(value.get("color"), where))

    def strokes_of(self, value, where: str) -> list[Stroke]:
        if not isinstance(value, list):
            self.fail(f"{where} must be a list of strokes")
        return [self.stroke(s, f"{where}, stroke {i}") for i, s in enumerate(value)]

    def piece(self, value, where: str) -> tuple[float, Piece]:
        if not isinstance(value, dict):
            self.fail(f"{where} must be an object")
        kind = value.get("kind")
        if kind not in KINDS:
            self.fail(f"{where} has an unknown kind {kind!r} (expected {' or '.join(KINDS)})")
        rect = value.get("rect")
        if not isinstance(rect, list) or len(rect) != 4:
            self.fail(f"{where}: rect must be [x, y, width, height]")
        x, y, w, h = (self.number(v, f"{where}, rect") for v in rect)
        if not (w > 0 and h > 0):
            self.fail(f"{where}: the width and height must be positive")
        label = value.get("label")
        if kind == ART:
            if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
                self.fail(f"{where}: art needs a label (a name of at most {MAX_LABEL} characters)")
            if any(ord(ch) < 32 for ch in label):
                self.fail(f"{where}: the label holds control characters")
        elif label is not None:
            self.fail(f"{where}: kept ink has no label")
        strokes = self.strokes_of(value.get("strokes", []), f"{where}, strokes")
        if kind == INK and not strokes:
            self.fail(f"{where}: kept ink needs strokes")
        z = self.number(value.get("z", 0), f"{where}, z")
        color = self.color(value.get("color"), f"{where}, color")
        return z, Piece(kind, (x, y, w, h), strokes, label if kind == ART else None, color)

    def scene(self, document) -> SceneData:
        if not isinstance(document, dict):
            self.fail("not an Inkling scene (the file is not a JSON object)")
        if document.get("format") != FORMAT:
            self.fail(f'not an Inkling scene (no "format": "{FORMAT}")')
        version = document.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            self.fail("the scene has no version number")
        if version > VERSION:
            self.fail(
                f"the scene was written by a newer Inkling (format version {version}; this one reads {VERSION})"
            )
        if version < 1:
            self.fail(f"unknown format version {version}")
        pieces = document.get("pieces", [])
        if not isinstance(pieces, list):
            self.fail('"pieces" must be a list')
        if len(pieces) > MAX_PIECES:
            self.fail(f"too many pieces ({len(pieces)}; at most {MAX_PIECES})")
        placed = [self.piece(p, f"piece {i}") for i, p in enumerate(pieces)]
        placed.sort(key=lambda zp: zp[0])  # stable: equal z keeps the file's order
        doodle = self.strokes_of(document.get("doodle", []), "doodle")
        return SceneData([p for _, p in placed], doodle)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def read_scene(path: str | os.PathLike) -> SceneData:
    """Read a scene file; raises SceneFormatError (naming the file) for anything unusable."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SceneFormatError(path, "file not found") from None
    except OSError as exc:
        raise SceneFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SceneFormatError(path, f"too large for a scene (over {MAX_FILE_BYTES // (1024 * 1024)} MB)")
    try:
        text = raw.decode("utf-8")
        document = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise SceneFormatError(path, "not an Inkling scene (not UTF-8 text)") from None
    except RecursionError:
        raise SceneFormatError(path, "not an Inkling scene (nested too deeply)") from None
    except json.JSONDecodeError as exc:
        if not text.strip():
            raise SceneFormatError(path, "the file is empty") from None
        raise SceneFormatError(
            path, f"not an Inkling scene: the text is damaged at line {exc.lineno}, column {exc.colno}"
        ) from None
    except ValueError as exc:  # a constant such as NaN, refused by _reject_constant
        raise SceneFormatError(path, f"not an Inkling scene: {exc}") from None
    try:
        return _Reader(path).scene(document)
    except SceneFormatError:
        raise
    except (
        ValueError,
        TypeError,
        RecursionError,
    ) as exc:  # a check above missed something: still no traceback
        raise SceneFormatError(path, f"damaged scene: {exc}") from None
