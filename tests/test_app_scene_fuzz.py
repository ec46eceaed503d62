"""Hypothesis on scene files: whatever a .inkscene file holds, reading it gives a usable scene or one
SceneFormatError naming the file (never another exception), and every scene Inkling can hold survives
a write and a read. Example counts are small for CI on two cores; tests/test_app_scene.py holds the
hand-made hostile files."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inkling.desktop.drawing import CLEAN, DOODLE, Stroke
from inkling.desktop.scene import ART, INK, Piece
from inkling.desktop.scene_file import SceneData, SceneFormatError, read_scene, scene_json, write_scene

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
coordinate = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
side = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
colour = st.none() | st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)
stroke = st.builds(
    lambda pts, style, color: Stroke(np.array(pts, dtype=np.float64), style, color),
    st.lists(st.tuples(coordinate, coordinate, st.floats(0, 1e6)), min_size=1, max_size=6),
    st.sampled_from([DOODLE, CLEAN]),
    colour,
)
label = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF), min_size=1, max_size=30
).filter(str.strip)
piece = st.one_of(
    st.builds(
        lambda r, s, lab, c: Piece(ART, r, s, lab, c),
        st.tuples(coordinate, coordinate, side, side),
        st.lists(stroke, max_size=3),
        label,
        colour,
    ),
    st.builds(
        lambda r, s, c: Piece(INK, r, s, None, c),
        st.tuples(coordinate, coordinate, side, side),
        st.lists(stroke, min_size=1, max_size=3),
        colour,
    ),
)


def valid_document() -> dict:
    ink = {"points": [[1, 2, 0], [3, 4, 5]]}
    return {
        "format": "inkling-scene",
        "version": 1,
        "pieces": [
            {"kind": "art", "label": "cat", "rect": [0, 0, 10, 10], "z": 0, "strokes": [ink]},
            {"kind": "ink", "rect": [5, 5, 10, 10], "z": 1, "color": "#123456", "strokes": [ink]},
        ],
        "doodle": [ink],
    }


def paths_of(value, prefix=()):
    """Every (path of keys and indices) inside a JSON document, for replacing one of them."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, (*prefix, i))


def replaced(document, path, value):
    if not path:
        return value
    out = json.loads(json.dumps(document))
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def read_text(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.inkscene"
        path.write_text(text)
        try:
            return read_scene(path)
        except SceneFormatError as exc:
            assert "fuzz.inkscene" in str(exc)
            return None


def check_usable(data: SceneData) -> None:
    for p in data.pieces:
        assert (
            p.kind in (ART, INK) and all(math.isfinite(v) for v in p.rect) and p.rect[2] > 0 and p.rect[3] > 0
        )
        assert (p.label is not None) == (p.kind == ART)
        for s in p.strokes:
            assert s.points.shape[1] == 3 and np.isfinite(s.points).all()
    for s in data.doodle:
        assert s.points.shape[1] == 3 and np.isfinite(s.points).all()


ALL_PATHS = list(paths_of(valid_document()))


@FUZZ
@given(st.sampled_from(ALL_PATHS), json_values)
def test_any_field_replaced_by_anything_is_read_or_refused(path, value):
    text = json.dumps(replaced(valid_document(), path, value))
    data = read_text(text)
    if data is not None:
        check_usable(data)


@FUZZ
@given(json_values)
def test_any_json_is_read_or_refused(value):
    data = read_text(json.dumps(value))
    if data is not None:
        check_usable(data)


@FUZZ
@given(st.text(max_size=60))
def test_any_text_is_read_or_refused(text):
    data = read_text(text)
    if data is not None:
        check_usable(data)


@FUZZ
@given(st.lists(piece, max_size=5), st.lists(stroke, max_size=3))
def test_every_scene_survives_a_write_and_a_read(pieces, doodle):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "round.inkscene"
        write_scene(path, SceneData(pieces, doodle))
        first = json.loads(path.read_text())
        back = read_scene(path)
    assert len(back.pieces) == len(pieces) and len(back.doodle) == len(doodle)
    for got, want in zip(back.pieces, pieces, strict=True):
        assert (got.kind, got.label, got.color) == (want.kind, want.label, want.color)
        assert got.rect == pytest.approx(want.rect, abs=1e-3, rel=1e-9)
        for a, b in zip(got.strokes, want.strokes, strict=True):
            assert (a.style, a.color) == (b.style, b.color)
            np.testing.assert_allclose(a.points, b.points, atol=1e-3)
    assert scene_json(back) == first  # written again, the scene reads back to the very same file
