"""Hypothesis fuzzing of the readers: whatever the bytes, each one either gives its result or raises its
own error (StrokeFormatError, ValueError, ImageInputError, ModelError), and the rasterizer keeps its
contract, a (28, 28) uint8 image, for every finite drawing. Example counts are kept small for CI on
two cores; tests/test_hostile.py holds the hand-made corpus.
"""

from __future__ import annotations

import functools
import io
import json
import math
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inkling.model.contract import (
    FORMAT,
    KEY_CLASSES,
    KEY_EMBEDDING_DIM,
    KEY_FORMAT,
    KEY_HEAD,
    KEY_PREPROCESSING,
    ModelError,
    ModelMeta,
)
from inkling.model.raster import SIDE, rasterize
from inkling.model.strokes import DrawingRecord, StrokeFormatError, iter_ndjson, parse_ndjson_line

pytestmark = pytest.mark.timeout(300)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)
any_float = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True)
point = st.tuples(any_float, any_float)
finite_drawing = st.lists(st.lists(point, min_size=1, max_size=12), min_size=1, max_size=5)


# --- the ndjson line parser and file reader ----------------------------------------------------------


def accepts_or_refuses_line(text: str) -> None:
    try:
        record = parse_ndjson_line(text, source="fuzz.ndjson", line=3)
    except StrokeFormatError as exc:
        assert str(exc).startswith("fuzz.ndjson:3: ")
        return
    assert isinstance(record, DrawingRecord)
    for s in record.strokes:
        assert s.ndim == 2 and s.shape[1] in (2, 3) and np.isfinite(s).all()


@FUZZ
@given(st.text(max_size=200))
def test_line_parser_on_any_text(text):
    accepts_or_refuses_line(text)


@FUZZ
@given(json_values, json_values)
def test_line_parser_on_any_json_drawing(drawing, word):
    accepts_or_refuses_line(json.dumps({"word": word, "drawing": drawing}))


@FUZZ
@given(
    st.lists(
        st.lists(st.lists(st.one_of(any_float, st.integers(), st.text(max_size=2)), max_size=4), max_size=3),
        max_size=4,
    )
)
def test_line_parser_on_stroke_shaped_json(drawing):
    accepts_or_refuses_line(json.dumps({"drawing": drawing}))


@FUZZ
@given(st.binary(max_size=400))
def test_file_reader_on_any_bytes(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.ndjson"
        path.write_bytes(data)
        errors: list = []
        records = list(iter_ndjson(path, skip_bad=True, errors=errors))
        assert all(isinstance(r, DrawingRecord) for r in records)
        assert all(isinstance(e, StrokeFormatError) and str(path) in str(e) for e in errors)


# --- the rasterizer ----------------------------------------------------------------------------------


@FUZZ
@given(finite_drawing)
def test_rasterize_keeps_its_contract_for_every_finite_drawing(drawing):
    image = rasterize([np.array(s) for s in drawing])
    assert image.shape == (SIDE, SIDE) and image.dtype == np.uint8
    assert image.max() > 0  # every non-empty drawing leaves ink (a single point is a dot)


@FUZZ
@given(finite_drawing, st.floats(min_value=1e-300, max_value=1e300), st.sampled_from([-1e300, 0.0, 7.5]))
def test_rasterize_does_not_see_scale_or_position(drawing, scale, shift):
    """Finite inputs of every magnitude give the image of their shape, as long as scaling is exact."""
    arrays = [np.array(s) for s in drawing]
    pts = np.concatenate(arrays)
    with np.errstate(over="ignore"):
        if (np.ptp(pts, axis=0) == 0).all() or not np.isfinite(np.ptp(pts, axis=0) * scale).all():
            return
    base = rasterize(arrays, simplify=False)
    two = 2.0 ** round(math.log2(scale))  # a power of two: scaling is exact, so the image must not move
    with np.errstate(over="ignore", under="ignore"):
        moved = [a * two for a in arrays]
    exact = all(
        np.isfinite(m).all() and np.array_equal(m / two, a) for m, a in zip(moved, arrays, strict=True)
    )
    if exact:  # (no overflow, and no underflow into subnormals, where a power of two is not exact)
        assert np.array_equal(rasterize(moved, simplify=False), base)
    with np.errstate(over="ignore"):
        shifted = [a + shift for a in arrays]
    if shift == 0.0:
        assert np.array_equal(rasterize(shifted, simplify=False), base)
    elif all(np.isfinite(a).all() for a in shifted):  # a shift rounds the coordinates; the contract holds
        assert rasterize(shifted).shape == (SIDE, SIDE)


@FUZZ
@given(
    finite_drawing,
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.integers(0, 4),
)
def test_rasterize_refuses_non_finite_input(drawing, bad, at):
    arrays = [np.array(s) for s in drawing]
    stroke = arrays[at % len(arrays)]
    stroke[len(stroke) // 2, at % 2] = bad
    with pytest.raises(ValueError, match="non-finite"):
        rasterize(arrays)


# --- the picture reader ------------------------------------------------------------------------------


@functools.cache
def good_png() -> bytes:
    from hostile.make_corpus import _drawing_png

    return _drawing_png(60, 48)


def read_picture(data: bytes, suffix: str) -> None:
    from inkling.desktop.image_input import ImageInputError, load_image_input

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            image = load_image_input(path)
        except ImageInputError as exc:
            assert str(path) in str(exc)
            return
        assert image.shape == (SIDE, SIDE) and image.dtype == np.uint8


@FUZZ_SLOW
@given(st.binary(max_size=300), st.sampled_from([".png", ".jpg", ".bmp", ".gif", ".svg"]))
def test_picture_reader_on_any_bytes(data, suffix):
    read_picture(data, suffix)


@FUZZ_SLOW
@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    st.integers(8, 100),
)
def test_picture_reader_on_damaged_pngs(flips, keep_percent):
    data = bytearray(good_png())
    for at, value in flips:
        data[at % len(data)] = value
    read_picture(bytes(data[: max(1, len(data) * keep_percent // 100)]), ".png")


# --- model metadata and class sets -------------------------------------------------------------------


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from([KEY_CLASSES, KEY_PREPROCESSING, KEY_EMBEDDING_DIM, KEY_HEAD, "inkling.training"]),
        st.one_of(json_values.map(json.dumps), st.text(max_size=20)),
    )
)
def test_model_metadata_reader_on_any_values(props):
    try:
        meta = ModelMeta.from_props({KEY_FORMAT: FORMAT, **props}, source="fuzz.onnx")
    except ModelError as exc:
        assert "fuzz.onnx" in str(exc)
        return
    assert meta.classes and all(isinstance(c, str) for c in meta.classes) and meta.embedding_dim > 0


@functools.cache
def good_classset() -> bytes:
    from hostile.make_corpus import valid_classset_bytes

    return valid_classset_bytes()


def open_classset(data: bytes) -> None:
    from inkling.model.classifier import load_model
    from inkling.model.classset import ClassSet

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.inkset"
        path.write_bytes(data)
        for opener in (load_model, ClassSet.load):
            try:
                opener(path)
            except ModelError as exc:
                assert str(path) in str(exc) or path.name in str(exc)


@pytest.mark.slow
@FUZZ_SLOW
@given(st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)), min_size=1, max_size=4))
def test_class_set_reader_on_damaged_files(flips):
    data = bytearray(good_classset())
    for at, value in flips:
        data[at % len(data)] = value
    open_classset(bytes(data))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    st.dictionaries(
        st.sampled_from(["manifest.json", "base.onnx", "head.npz", "examples/a.ndjson", "../x", "/abs"]),
        st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
        max_size=5,
    ),
    st.booleans(),
)
def test_class_set_reader_on_zips_of_anything(members, keep_real):
    real = {}
    if keep_real:  # the real members, some of them replaced
        with zipfile.ZipFile(io.BytesIO(good_classset())) as z:
            real = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in {**real, **members}.items():
            z.writestr(name, content)
    open_classset(buf.getvalue())
