"""Files: ndjson round trips, PNG and SVG export, opening another model (and refusing a bad one)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from inkling.desktop import files
from inkling.desktop.settings import AppSettings
from PySide6.QtGui import QImage
from test_app_support import draw, make_window, raw_drawings, settle


@pytest.fixture(scope="module")
def classifier(default_model_path):
    from inkling.model.classifier import load_model

    return load_model(default_model_path)


@pytest.fixture
def window(qtbot, classifier, tmp_path, quickdraw_dir):
    window = make_window(qtbot, classifier, tmp_path)
    draw(window.canvas, raw_drawings(quickdraw_dir, "cat", limit=1)[0].strokes)
    return window


def test_ndjson_round_trip_keeps_strokes_and_times(window, tmp_path):
    path = tmp_path / "cat.ndjson"
    before = [s.points.copy() for s in window.document.strokes]
    assert window.save_drawing(path)
    line = json.loads(path.read_text().splitlines()[0])
    assert all(len(stroke) == 3 for stroke in line["drawing"])  # raw format: x, y and t
    window.clear()
    assert window.open_drawing(path)
    after = [s.points for s in window.document.strokes]
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)
    window.undo_action.trigger()  # opening is undoable too
    assert len(window.document) == 0


def test_png_export_has_ink(window, tmp_path):
    path = tmp_path / "cat.png"
    assert window.save_drawing(path)
    image = QImage(str(path))
    assert not image.isNull() and image.width() > 50 and image.height() > 50
    dark = sum(
        1
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
        if image.pixelColor(x, y).lightness() < 128
    )
    assert dark > 20
    assert image.pixelColor(0, 0).lightness() > 250  # white margin


def test_svg_export_has_paths(window, tmp_path):
    path = tmp_path / "cat.svg"
    assert window.save_drawing(path)
    text = path.read_text()
    assert "<svg" in text and text.count("<path") >= len(window.document)


def test_saving_empty_or_unknown_suffix_reports_an_error(qtbot, classifier, tmp_path):
    empty = make_window(qtbot, classifier, tmp_path)
    assert not empty.save_drawing(tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()
    assert "empty" in empty.errors[-1][1]


def test_open_bad_ndjson_keeps_the_drawing(window, tmp_path):
    before = window.document.strokes
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"word": "cat", "drawing": [[[1, 2], [3]]]}\n')
    assert not window.open_drawing(bad)
    assert window.document.strokes == before
    assert "bad.ndjson:1" in window.errors[-1][1]


def test_open_simplified_drawing_gets_times(window, quickdraw_dir, tmp_path):
    path = tmp_path / "one cat.ndjson"
    path.write_text(
        (quickdraw_dir / "strokes" / "simplified" / "cat.ndjson").read_text().splitlines()[0] + "\n"
    )
    assert window.open_drawing(path)
    assert window.document.strokes and all(s.points.shape[1] == 3 for s in window.document.strokes)


def test_an_ndjson_file_opens_all_its_drawings_and_names_its_bad_lines(window, quickdraw_dir, tmp_path):
    lines = (quickdraw_dir / "strokes" / "extra" / "cat.ndjson").read_text().splitlines()[:15]
    path = tmp_path / "cats.ndjson"
    path.write_text("\n".join(lines[:14]) + "\n" + lines[14][: len(lines[14]) // 2])  # a truncated last line
    doodle = window.document.strokes
    assert window.open_drawing(path)
    pieces = window.scene.pieces
    assert (
        len(pieces) == 14 and window.document.strokes == doodle
    )  # every drawing, as an object of the picture
    assert [len(p.strokes) for p in pieces] == [len(json.loads(line)["drawing"]) for line in lines[:14]]
    rects = [p.rect for p in pieces]
    assert all(
        a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
        for i, a in enumerate(rects)
        for b in rects[i + 1 :]
    )  # side by side, none on another
    title, message = window.errors[-1]
    assert "cats.ndjson:15" in message and "1 line(s)" in message
    window.undo_action.trigger()  # one step
    assert len(window.scene.pieces) == 0


def test_a_file_that_is_not_a_model_keeps_the_old_one(window, qtbot, tmp_path, classifier):
    bad = tmp_path / "notes.onnx"
    bad.write_bytes(b"this is not a model")
    assert not window.open_model(bad)
    assert window.engine.classifier is classifier and window.classifier is classifier
    title, message = window.errors[-1]
    assert title == "Not an Inkling model" and "notes.onnx" in message
    assert not window.open_model(tmp_path / "missing.onnx")
    assert "not found" in window.errors[-1][1]
    assert window.settings.last_model is None
    window.refresh_suggestions()
    settle(qtbot, window)
    assert window.engine.last.classes == classifier.classes


def test_opening_a_model_switches_and_is_remembered(window, qtbot, tmp_path, default_model_path):
    assert window.open_model(default_model_path)
    assert window.engine.classifier is window.classifier
    settle(qtbot, window)
    assert window.engine.last.n_strokes == len(window.document)
    assert AppSettings(tmp_path / "settings.ini").last_model == str(default_model_path.resolve())


def test_exporters_refuse_an_empty_drawing(tmp_path):
    for suffix in (".png", ".svg", ".ndjson"):
        with pytest.raises(files.EmptyDrawingError):
            files.save_drawing([], tmp_path / f"x{suffix}")
    with pytest.raises(ValueError, match="use .png"):
        files.save_drawing([], tmp_path / "x.gif")
