"""The scene in the real window: accept places art, the select tool moves and resizes it with the mouse,
delete, restack, colour, new object, clear; every change undoes. Scene files (.inkscene) round-trip and
hostile ones are refused with a message naming the file; PNG and SVG export the whole picture."""

from __future__ import annotations

import json

import numpy as np
import pytest
from inkling.desktop import scene_file
from inkling.desktop.art import ART_ATTRIBUTION, ArtLibrary
from inkling.desktop.canvas import HANDLE, SELECT_TOOL
from inkling.desktop.drawing import Stroke
from inkling.desktop.references import ReferenceLibrary
from inkling.desktop.scene import ART, INK, Piece
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from test_app_support import LEFT, NO_MOD, draw, make_window, settle

CTRL = Qt.KeyboardModifier.ControlModifier
SQUARE = np.array([[200, 200], [300, 200], [300, 300], [200, 300], [200, 205]])
RED_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<circle cx="50" cy="50" r="45" fill="#ea5a47" stroke="#000000" stroke-width="3"/></svg>'
)


@pytest.fixture(scope="module")
def classifier(default_model_path):
    from inkling.model.classifier import load_model

    return load_model(default_model_path)


def art_library(folder, labels, svg=RED_SVG) -> ArtLibrary:
    """A real art folder: mapping.csv and one SVG file per label."""
    (folder / "svg").mkdir(parents=True)
    (folder / "svg" / "red.svg").write_text(svg)
    rows = ["category,icon,name,note"] + [f"{label},red,red circle," for label in labels]
    (folder / "mapping.csv").write_text("\n".join(rows) + "\n")
    return ArtLibrary.load(folder)


@pytest.fixture
def window(qtbot, classifier, tmp_path):
    art = art_library(tmp_path / "art", classifier.classes)
    window = make_window(qtbot, classifier, tmp_path, art=art, references=ReferenceLibrary())
    window.panel.set_threshold(0.0)  # Return places the first guess however unsure (a square is no class)
    return window


def place(window, qtbot, offset=(0, 0)):
    """Draw a square with the mouse and accept the top suggestion with Return; returns the new piece."""
    before = len(window.scene)
    draw(window.canvas, [SQUARE + np.array(offset)], fit=False)
    settle(qtbot, window)
    label = window.panel.top_choice
    press(qtbot, window, Qt.Key.Key_Return)
    assert len(window.scene) == before + 1 and len(window.document) == 0
    piece = window.scene.pieces[-1]
    assert piece.kind == ART and piece.label == label
    return piece


def press(qtbot, window, key, modifiers=NO_MOD) -> None:
    """A key press as the person makes it: to the active window (shortcuts work in the active one only;
    a window shown just after another closed may become active a moment later)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    QTest.keyClick(window, key, modifiers)


def widget_point(window, x, y) -> QPoint:
    p = window.canvas.to_widget(QPointF(x, y))
    return QPoint(round(p.x()), round(p.y()))


def drag(widget, start: QPoint, end: QPoint, steps: int = 6, modifiers=NO_MOD) -> None:
    QTest.mousePress(widget, LEFT, modifiers, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(widget, start + (end - start) * (i / steps))
    QTest.mouseRelease(widget, LEFT, modifiers, end)


def centre(piece) -> tuple[float, float]:
    x, y, w, h = piece.rect
    return x + w / 2, y + h / 2


def test_return_accepts_the_top_suggestion_and_the_next_stroke_starts_a_new_doodle(window, qtbot):
    first = place(window, qtbot)
    assert window.engine.last.empty  # the suggestions see the new, empty doodle
    draw(window.canvas, [np.array([[500, 150], [560, 210]])], fit=False)
    settle(qtbot, window)
    assert window.engine.last.n_strokes == 1  # not the first object's strokes as well
    assert len(first.strokes) == 1  # the accepted piece keeps its own doodle
    press(qtbot, window, Qt.Key.Key_Z, CTRL)
    press(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert len(window.scene) == 0 and len(window.document) == 1  # back to the first doodle


def test_art_is_fitted_by_its_picture_not_its_margins(qtbot, classifier, tmp_path):
    # Icons leave wide margins in their view box: the doodle's box should hold the picture itself.
    padded = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        '<rect x="25" y="40" width="50" height="20" fill="#ea5a47"/></svg>'
    )
    art = art_library(tmp_path / "art", classifier.classes, svg=padded)
    window = make_window(qtbot, classifier, tmp_path, art=art)
    piece = place(window, qtbot)
    x, y, w, h = piece.rect
    assert w == pytest.approx(120, abs=0.5) and h / w == pytest.approx(0.4, abs=0.03)
    image = window.canvas.grab().toImage()
    for fx, fy in ((0.05, 0.5), (0.95, 0.5), (0.5, 0.1), (0.5, 0.9)):  # red right up to the rect's edges
        assert image.pixelColor(widget_point(window, x + fx * w, y + fy * h)).red() > 200
        assert image.pixelColor(widget_point(window, x + fx * w, y + fy * h)).green() < 130


def test_the_network_and_the_prediction_log_see_the_current_doodle_only(qtbot, classifier, tmp_path, capsys):
    from inkling.model.raster import rasterize

    art = art_library(tmp_path / "art", classifier.classes)
    window = make_window(qtbot, classifier, tmp_path, art=art, log_predictions=True)
    place(window, qtbot)
    assert not window.network_view.image.any()  # accepted: the network sees an empty doodle
    capsys.readouterr()
    draw(window.canvas, [np.array([[520, 120], [600, 180], [540, 260]])], fit=False)
    settle(qtbot, window)
    np.testing.assert_array_equal(window.network_view.image, rasterize(window.canvas.live_strokes()))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and lines[-1]["final"] and lines[-1]["strokes"] == 1


def test_select_move_resize_with_the_mouse_and_undo(window, qtbot):
    piece = place(window, qtbot)
    canvas = window.canvas
    press(qtbot, window, Qt.Key.Key_V)  # the select tool
    assert canvas.tool == SELECT_TOOL
    before = piece.rect
    cx, cy = centre(piece)
    drag(canvas, widget_point(window, cx, cy), widget_point(window, cx + 80, cy + 40))
    assert canvas.selected_pieces() == [piece]
    scale = canvas.view_scale
    assert piece.rect[0] - before[0] == pytest.approx(80, abs=2 / scale)
    assert piece.rect[1] - before[1] == pytest.approx(40, abs=2 / scale)
    assert piece.rect[2:] == before[2:]
    assert window.undo_stack.undoText() == "Move"

    # The handle at the lower right corner resizes, aspect kept, the upper left corner staying put.
    moved = piece.rect
    x, y, w, h = moved
    handle = widget_point(window, x + w, y + h)
    drag(canvas, handle, handle + QPoint(40, 10))
    x2, y2, w2, h2 = piece.rect
    assert (x2, y2) == pytest.approx((x, y))
    assert w2 / h2 == pytest.approx(w / h) and w2 == pytest.approx(w + 40 / canvas.view_scale, abs=2)
    assert window.undo_stack.undoText() == "Resize"
    window.undo_action.trigger()
    assert piece.rect == pytest.approx(moved)
    window.undo_action.trigger()
    assert piece.rect == pytest.approx(before)
    window.redo_action.trigger()
    window.redo_action.trigger()
    assert piece.rect == pytest.approx((x2, y2, w2, h2))
    assert HANDLE > 4  # a handle a person can hit
    # Hovering says what a press would do: resize at the handle, move on the piece.
    x, y, w, h = piece.rect
    QTest.mouseMove(canvas, QPoint(5, 5))  # away first: the drag may have ended right on the handle
    QTest.mouseMove(canvas, widget_point(window, x + w, y + h))
    assert canvas.viewport().cursor().shape() == Qt.CursorShape.SizeFDiagCursor
    QTest.mouseMove(canvas, widget_point(window, x + w / 2, y + h / 2))
    assert canvas.viewport().cursor().shape() == Qt.CursorShape.SizeAllCursor


def test_wheel_and_keys_scale_the_selection(window, qtbot):
    piece = place(window, qtbot)
    window.select_all()
    w = piece.rect[2]
    press(qtbot, window, Qt.Key.Key_Plus)
    assert piece.rect[2] == pytest.approx(w * 1.1)
    press(qtbot, window, Qt.Key.Key_Minus)
    assert piece.rect[2] == pytest.approx(w)
    c = centre(piece)
    assert window.canvas.scale_selection(2.0)
    assert centre(piece) == pytest.approx(c)  # about its centre
    window.undo_action.trigger()
    assert piece.rect[2] == pytest.approx(w)


def test_two_fingers_scale_the_piece_between_them(window, qtbot):
    from PySide6.QtGui import QInputDevice

    piece = place(window, qtbot)
    press(qtbot, window, Qt.Key.Key_V)
    x, y, w, h = piece.rect
    c = widget_point(window, x + w / 2, y + h / 2)
    device = QTest.createTouchDevice(QInputDevice.DeviceType.TouchScreen)
    QTest.touchEvent(window.canvas, device).press(0, c - QPoint(20, 0)).press(1, c + QPoint(20, 0)).commit()
    for spread in (30, 40):
        QTest.touchEvent(window.canvas, device).move(0, c - QPoint(spread, 0)).move(
            1, c + QPoint(spread, 0)
        ).commit()
    QTest.touchEvent(window.canvas, device).release(0, c - QPoint(40, 0)).release(
        1, c + QPoint(40, 0)
    ).commit()
    assert piece.rect[2] == pytest.approx(2 * w) and piece.rect[3] == pytest.approx(2 * h)  # 40 -> 80 apart
    assert centre(piece) == pytest.approx((x + w / 2, y + h / 2))
    assert window.undo_stack.undoText() == "Resize" and len(window.document) == 0  # no stroke was drawn
    window.undo_action.trigger()
    assert piece.rect == pytest.approx((x, y, w, h))


def test_delete_restack_and_rubber_band_selection(window, qtbot):
    a = place(window, qtbot)
    b = place(window, qtbot, offset=(40, 40))  # overlaps a, on top of it
    canvas = window.canvas
    press(qtbot, window, Qt.Key.Key_V)
    # Clicking the overlap picks the topmost piece.
    ax, ay, aw, ah = a.rect
    QTest.mouseClick(canvas, LEFT, NO_MOD, widget_point(window, ax + aw - 5, ay + ah - 5))
    assert canvas.selected_pieces() == [b]
    press(qtbot, window, Qt.Key.Key_BracketLeft, CTRL)  # send backward
    assert window.scene.pieces == [b, a]
    assert canvas.item_for(b).zValue() < canvas.item_for(a).zValue()
    press(qtbot, window, Qt.Key.Key_BracketRight, CTRL)  # bring forward
    assert window.scene.pieces == [a, b]
    window.undo_action.trigger()
    assert window.scene.pieces == [b, a]
    # A rubber band over both selects both; Delete removes them in one undo step.
    drag(canvas, QPoint(5, 5), QPoint(canvas.width() - 5, canvas.height() - 5))
    assert canvas.selected_pieces() == [b, a]
    press(qtbot, window, Qt.Key.Key_Delete)
    assert len(window.scene) == 0
    window.undo_action.trigger()
    assert window.scene.pieces == [b, a]


def test_new_object_keeps_ink_and_pen_colour_recolours_it_undoably(window, qtbot):
    window.set_pen_color("#1e88e5")
    draw(window.canvas, [np.array([[100, 100], [180, 150]])], fit=False)
    assert window.document.strokes[0].color == "#1e88e5"
    press(qtbot, window, Qt.Key.Key_N)  # New object: the doodle stays as drawn
    (piece,) = window.scene.pieces
    assert piece.kind == INK and piece.label is None and len(window.document) == 0
    window.select_all()
    window.set_pen_color("#e53935")
    assert piece.color == "#e53935"
    image = window.canvas.grab().toImage()
    p = QPoint(140, 125)  # the middle of the stroke drawn above (widget pixels)
    colour = image.pixelColor(p)
    assert colour.red() > 150 and colour.blue() < 120  # the piece is drawn in its new colour
    window.undo_action.trigger()
    assert piece.color is None


def test_pen_colour_tints_one_colour_art_and_leaves_colour_art_alone(qtbot, classifier, tmp_path):
    """A glyph (one colour, no fill of its own) takes the pen's colour, on the canvas and in the SVG export as
    its vector fill; colour art keeps its own colours; undo gives the glyph its black back."""
    art = ArtLibrary.load()  # the bundled art: Material Design glyphs beside colour OpenMoji
    glyph = next(label for label in art.labels() if art.tintable(label))
    emoji = next(label for label in art.labels() if not art.tintable(label))
    window = make_window(qtbot, classifier, tmp_path, art=art, references=ReferenceLibrary())
    for label, offset in ((glyph, 0), (emoji, 300)):
        draw(window.canvas, [SQUARE + np.array([offset, 0])], fit=False)
        settle(qtbot, window)
        assert window.replace_with(label)
    tinted, colour = window.scene.pieces
    window.select_all()
    window.set_pen_color("#e53935")
    assert tinted.color == "#e53935" and colour.color is None

    def reds(image, rect) -> int:
        x0, y0, w, h = (int(v) for v in rect)
        return sum(
            1
            for y in range(y0, y0 + h, 2)
            for x in range(x0, x0 + w, 2)
            if (c := image.pixelColor(x, y)).red() > 180 and c.green() < 100 and c.blue() < 100
        )

    png, svg = tmp_path / "p.png", tmp_path / "p.svg"
    assert window.save_drawing(png) and window.save_drawing(svg)
    image = QImage(str(png))
    left = QImage(image.copy(0, 0, image.width() // 2, image.height()))
    assert reds(left, (0, 0, left.width(), left.height())) > 50  # the glyph is drawn red
    text = svg.read_text().lower()
    assert "<image" not in text and "#e53935" in text  # still vector, in the new colour
    window.undo_action.trigger()
    assert tinted.color is None
    window.save_drawing(png)
    image = QImage(str(png))
    left = QImage(image.copy(0, 0, image.width() // 2, image.height()))
    assert reds(left, (0, 0, left.width(), left.height())) == 0


def test_clear_removes_everything_in_one_undoable_step(window, qtbot):
    piece = place(window, qtbot)
    draw(window.canvas, [np.array([[500, 300], [560, 340]])], fit=False)
    doodle = window.document.strokes
    window.clear_action.trigger()
    assert len(window.scene) == 0 and len(window.document) == 0
    window.undo_action.trigger()
    assert window.scene.pieces == [piece] and window.document.strokes == doodle


def test_about_names_both_attributions(window):
    text = window.about_text()
    assert ART_ATTRIBUTION in text and "Quick, Draw!" in text


# --- files ----------------------------------------------------------------------------------------


def test_scene_file_round_trip_and_export(window, qtbot, tmp_path):
    a = place(window, qtbot)
    place(window, qtbot, offset=(250, 60))
    draw(window.canvas, [np.array([[120, 420], [220, 460], [260, 400]])], fit=False)  # the doodle in progress
    saved = tmp_path / "picture.inkscene"
    assert window.isWindowModified()
    assert window.save_drawing(saved)
    assert not window.isWindowModified() and "picture.inkscene" in window.windowTitle()
    data = json.loads(saved.read_text())
    assert data["format"] == "inkling-scene" and data["version"] == 1
    assert [p["z"] for p in data["pieces"]] == [0, 1] and data["pieces"][0]["label"] == a.label

    png, svg = tmp_path / "picture.png", tmp_path / "picture.svg"
    assert window.save_drawing(png) and window.save_drawing(svg)
    image = QImage(str(png))
    reds = sum(
        1
        for y in range(0, image.height(), 3)
        for x in range(0, image.width(), 3)
        if (c := image.pixelColor(x, y)).red() > 200 and c.green() < 120 and c.blue() < 110
    )
    assert reds > 100  # the art is in the picture
    text = svg.read_text()
    assert "<image" not in text  # the art stays vector ...
    assert text.lower().count("#ea5a47") >= 2  # ... the two circles' own fill, as SVG paths

    pieces, doodle = window.scene.pieces, window.document.strokes
    window.clear()
    assert window.open_drawing(saved)
    assert [(p.kind, p.label) for p in window.scene.pieces] == [(p.kind, p.label) for p in pieces]
    for got, want in zip(window.scene.pieces, pieces, strict=True):
        assert got.rect == pytest.approx(want.rect, abs=1e-3)
        assert len(got.strokes) == len(want.strokes)
        np.testing.assert_allclose(got.strokes[0].points, want.strokes[0].points, atol=1e-3)
    assert len(window.document) == len(doodle)
    np.testing.assert_allclose(window.document.strokes[0].points, doodle[0].points, atol=1e-3)
    window.undo_action.trigger()  # opening is undoable
    assert len(window.scene) == 0


def test_ndjson_save_needs_a_doodle_when_the_scene_has_art(window, qtbot, tmp_path):
    place(window, qtbot)
    assert not window.save_drawing(tmp_path / "x.ndjson")
    assert ".inkscene" in window.errors[-1][1] and not (tmp_path / "x.ndjson").exists()


def write(path, content) -> str:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def good_scene() -> dict:
    stroke = {"points": [[0, 0, 0], [10, 10, 5]]}
    return {
        "format": "inkling-scene",
        "version": 1,
        "pieces": [{"kind": "art", "label": "cat", "rect": [0, 0, 50, 50], "z": 0, "strokes": [stroke]}],
        "doodle": [stroke],
    }


def damaged(**changes) -> dict:
    scene = good_scene()
    for key, value in changes.items():
        if key.startswith("piece_"):
            scene["pieces"][0][key[6:]] = value
        else:
            scene[key] = value
    return scene


HOSTILE = {
    "empty": b"",
    "not json": "{not json",
    "binary": b"\xff\xfe\x00garbage",
    "a list": [1, 2, 3],
    "other format": {"format": "something-else", "version": 1},
    "no version": damaged(version=None),
    "newer version": damaged(version=99),
    "nan": '{"format": "inkling-scene", "version": 1, "pieces": [{"kind": "art", "label": "x", "rect": [NaN, 0, 1, 1]}]}',
    "huge number": damaged(piece_rect=[1e300, 0, 10, 10]),
    "negative size": damaged(piece_rect=[0, 0, -5, 10]),
    "short rect": damaged(piece_rect=[0, 0, 5]),
    "string coordinate": damaged(piece_rect=["0", 0, 5, 5]),
    "bool coordinate": damaged(piece_rect=[True, 0, 5, 5]),
    "unknown kind": damaged(piece_kind="bomb"),
    "art without label": damaged(piece_label=None),
    "label too long": damaged(piece_label="x" * 500),
    "label control chars": damaged(piece_label="cat\x00"),
    "bad colour": damaged(piece_color="red; drop table"),
    "pieces not a list": damaged(pieces={"a": 1}),
    "stroke not an object": damaged(doodle=[[1, 2, 3]]),
    "empty stroke": damaged(doodle=[{"points": []}]),
    "bad point": damaged(doodle=[{"points": [[1, 2, 3, 4]]}]),
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "too many pieces": damaged(pieces=[{"kind": "ink"}] * (scene_file.MAX_PIECES + 1)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_scene_files_are_refused_by_name(tmp_path, name):
    path = write(tmp_path / "bad.inkscene", HOSTILE[name])
    with pytest.raises(scene_file.SceneFormatError) as caught:
        scene_file.read_scene(path)
    assert "bad.inkscene" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "the file is empty"),
        (b"  \n", "the file is empty"),
        ('{"format": ', "damaged at line 1, column 12"),
    ],
)
def test_unreadable_scene_files_are_described_in_plain_words(tmp_path, content, says):
    path = write(tmp_path / "bad.inkscene", content)
    with pytest.raises(scene_file.SceneFormatError, match=says) as caught:
        scene_file.read_scene(path)
    assert "Expecting" not in str(caught.value) and "char" not in str(caught.value)


def test_scene_reader_bounds_its_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(scene_file, "MAX_FILE_BYTES", 1000)
    path = write(tmp_path / "big.inkscene", " " * 2000 + json.dumps(good_scene()))
    with pytest.raises(scene_file.SceneFormatError, match="too large"):
        scene_file.read_scene(path)
    monkeypatch.setattr(scene_file, "MAX_POINTS", 3)
    monkeypatch.setattr(scene_file, "MAX_FILE_BYTES", 10_000)
    with pytest.raises(scene_file.SceneFormatError, match="too many strokes or points"):
        scene_file.read_scene(write(tmp_path / "many.inkscene", good_scene()))
    assert scene_file.read_scene(write(tmp_path / "ok.inkscene", damaged(doodle=[]))).pieces[0].label == "cat"


def test_opening_a_bad_scene_keeps_the_picture(window, qtbot, tmp_path):
    piece = place(window, qtbot)
    bad = write(tmp_path / "broken.inkscene", damaged(piece_rect=[0, 0, 0, 10]))
    assert not window.open_drawing(bad)
    title, message = window.errors[-1]
    assert title == "Cannot open scene" and "broken.inkscene" in message
    assert window.scene.pieces == [piece]
    assert not window.open_drawing(tmp_path / "missing.inkscene")
    assert "not found" in window.errors[-1][1]


def test_unknown_labels_fall_back_to_the_doodle_they_replaced(qtbot, classifier, tmp_path):
    # A scene from a model with other classes: a label with neither art nor reference still shows.
    path = tmp_path / "other.inkscene"
    scene_file.write_scene(
        path,
        scene_file.SceneData(
            [Piece(ART, (100, 100, 200, 200), [Stroke(np.array([[0, 0, 0], [50, 50, 9]]))], "no such thing")]
        ),
    )
    window = make_window(qtbot, classifier, tmp_path, art=ArtLibrary())
    assert window.open_drawing(path)
    image = window.canvas.grab().toImage()
    p = widget_point(window, 200, 200)  # the middle of the diagonal line, fitted into the rect
    assert image.pixelColor(p).lightness() < 128


# --- the whole workflow, with real drawings --------------------------------------------------------


def fit_into_box(strokes, x, y, side) -> list[np.ndarray]:
    """A drawing scaled (aspect kept) into the widget square at (x, y), as integer mouse points."""
    pts = np.concatenate([s[:, :2] for s in strokes])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = side / max(float((hi - lo).max()), 1.0)
    out = []
    for s in strokes:
        xy = np.round((s[:, :2] - lo) * scale + [x, y]).astype(int)
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = (np.diff(xy, axis=0) != 0).any(axis=1)
        out.append(xy[keep])
    return out


def snapshot(window):
    pieces = tuple(
        (p.kind, p.label, tuple(round(v, 6) for v in p.rect), p.color, tuple(id(s) for s in p.strokes))
        for p in window.scene.pieces
    )
    return pieces, tuple(id(s) for s in window.document.strokes)


def test_three_real_drawings_become_a_picture_that_saves_reopens_and_undoes(
    qtbot, classifier, tmp_path, quickdraw_dir
):
    import re

    from inkling.desktop.files import _frame
    from test_app_support import raw_drawings

    art = ArtLibrary.load()  # the shipped art
    references = ReferenceLibrary.load()
    candidates = [c for c in classifier.classes if art.has(c) and raw_drawings(quickdraw_dir, c, limit=1)]
    assert len(candidates) >= 3, "the shipped art covers too few of the model's classes"
    labels = candidates[:: max(1, len(candidates) // 3)][:3]
    records = []
    for label in labels:  # a real drawing of each that the model recognizes when it is drawn alone
        drawings = raw_drawings(quickdraw_dir, label, limit=60)
        records.append(
            next(
                (r for r in drawings if classifier.classify_strokes(r.strokes, 1)[0].label == label),
                drawings[0],
            )
        )

    window = make_window(qtbot, classifier, tmp_path, art=art, references=references)
    canvas = window.canvas
    states = {0: snapshot(window)}
    window.undo_stack.indexChanged.connect(lambda i: states.setdefault(i, snapshot(window)))
    boxes = [(40, 60, 170), (270, 300, 170), (480, 70, 170)]
    for record, (x, y, side) in zip(records, boxes, strict=True):
        draw(canvas, fit_into_box(record.strokes, x, y, side), fit=False)
        settle(qtbot, window)
        assert window.engine.last.n_strokes == len(record.strokes)  # the new doodle alone
        assert window.panel.top_choice == record.word  # recognized beside the art already placed
        press(qtbot, window, Qt.Key.Key_Return)
        assert len(window.document) == 0
    assert [p.label for p in window.scene.pieces] == labels
    assert all(len(p.strokes) == len(r.strokes) for p, r in zip(window.scene.pieces, records, strict=True))

    # Move the second piece with the select tool.
    press(qtbot, window, Qt.Key.Key_V)
    moved = window.scene.pieces[1]
    before = moved.rect
    cx, cy = centre(moved)
    drag(canvas, widget_point(window, cx, cy), widget_point(window, cx, cy) + QPoint(60, -40))
    dx, dy = moved.rect[0] - before[0], moved.rect[1] - before[1]
    assert dx == pytest.approx(60 / canvas.view_scale, abs=2) and dy == pytest.approx(
        -40 / canvas.view_scale, abs=2
    )

    # Export the picture: SVG (vector art) and PNG.
    svg, png = tmp_path / "picture.svg", tmp_path / "picture.png"
    assert window.save_drawing(svg) and window.save_drawing(png)
    text = svg.read_text()
    assert "<image" not in text and text.count("<path") > 10
    for label in labels:
        fills = {f.lower() for f in re.findall(r'fill="(#[0-9A-Fa-f]{6})"', art.svg_bytes(label).decode())}
        fills -= {"#ffffff", "#000000"}
        assert not fills or any(f in text.lower() for f in fills), f"{label}'s colours are not in the SVG"
    image = QImage(str(png))
    frame = _frame([], window.scene.pieces)
    assert image.width() == round(frame.width()) and image.height() == round(frame.height())
    for piece in window.scene.pieces:
        x, y, w, h = piece.rect
        ink = sum(
            1
            for j in range(8)
            for i in range(8)
            if image.pixelColor(
                round(x - frame.x() + (i + 0.5) * w / 8), round(y - frame.y() + (j + 0.5) * h / 8)
            ).lightness()
            < 200
        )
        assert ink >= 3, f"{piece.label} is missing from the PNG"

    # Save, reopen in a new window, and find the same scene.
    saved = tmp_path / "picture.inkscene"
    assert window.save_drawing(saved)
    other = make_window(qtbot, classifier, tmp_path / "other", art=art, references=references)
    assert other.open_drawing(saved)
    assert [(p.kind, p.label) for p in other.scene.pieces] == [(p.kind, p.label) for p in window.scene.pieces]
    for got, want in zip(other.scene.pieces, window.scene.pieces, strict=True):
        assert got.rect == pytest.approx(want.rect, abs=1e-3)
        for a, b in zip(got.strokes, want.strokes, strict=True):
            np.testing.assert_allclose(a.points, b.points, atol=1e-3)
    assert other.canvas.grab().toImage().size() == other.canvas.size()

    # Undo walks all of it back, one step at a time, through every state it passed.
    count = window.undo_stack.count()
    assert count == sum(len(r.strokes) for r in records) + 3 + 1  # strokes, three accepts, the move
    for index in range(count - 1, -1, -1):
        window.undo_stack.undo()
        assert snapshot(window) == states[index], f"undo to step {index} did not restore it"
    assert len(window.scene) == 0 and len(window.document) == 0


def test_only_guesses_that_matter_are_listed():
    from inkling.desktop.suggestion_panel import listed

    assert listed([0.97, 0.02, 0.005, 0.003, 0.002]) == 1  # the top one covers almost everything
    assert listed([0.4, 0.3, 0.1, 0.05, 0.03]) == 5
    assert listed([0.6, 0.3, 0.004, 0.003, 0.002]) == 2  # never a row that would read "0%"
    assert listed([0.9, 0.05, 0.03, 0.01, 0.01]) == 2  # 3% beside a 90% guess does not matter
    assert listed([0.02, 0.02, 0.02, 0.02, 0.02]) == 5
    assert listed([]) == 0


def test_scaling_keeps_pieces_within_bounds():
    from inkling.desktop.scene import MAX_PIECE_SIDE, MIN_PIECE_SIDE, scaled_rect

    rect = (0.0, 0.0, 100.0, 50.0)
    for _ in range(10_000):  # a wheel spun for a long time
        rect = scaled_rect(rect, 1.1)
    assert max(rect[2:]) == pytest.approx(MAX_PIECE_SIDE) and all(np.isfinite(rect))
    for _ in range(10_000):
        rect = scaled_rect(rect, 1 / 1.1)
    assert min(rect[2:]) == pytest.approx(MIN_PIECE_SIDE)
    assert rect[2] / rect[3] == pytest.approx(2.0)  # the aspect held all the way


def test_find_by_name_places_a_picture_in_the_middle_or_in_place_of_the_doodle(qtbot, classifier, tmp_path):
    window = make_window(qtbot, classifier, tmp_path)  # the bundled art and its names
    qtbot.waitUntil(lambda: window.find_field.find("baby angel") == "angel", timeout=5000)
    press(qtbot, window, Qt.Key.Key_F, CTRL)
    assert window.find_field.hasFocus()
    QTest.keyClicks(window.find_field, "Bicycle")
    QTest.keyClick(window.find_field, Qt.Key.Key_Return)
    (piece,) = window.scene.pieces
    assert piece.kind == ART and piece.label == "bicycle" and window.find_field.text() == ""
    centre = window.canvas.to_widget(
        QPointF(piece.rect[0] + piece.rect[2] / 2, piece.rect[1] + piece.rect[3] / 2)
    )
    view = window.canvas.viewport().rect()
    assert abs(centre.x() - view.center().x()) < 2 and abs(centre.y() - view.center().y()) < 2

    draw(window.canvas, [SQUARE], fit=False)  # a doodle: the found picture takes its place
    doodle = window.document.strokes
    window.find_field.setFocus()
    QTest.keyClicks(window.find_field, "baby angel")  # the art's own name finds its class
    QTest.keyClick(window.find_field, Qt.Key.Key_Return)
    assert [p.label for p in window.scene.pieces] == ["bicycle", "angel"] and len(window.document) == 0
    x, y, w, h = window.scene.pieces[-1].rect
    box = window.canvas.to_canvas(QPointF(250, 250))
    assert abs(x + w / 2 - box.x()) < 3 and abs(y + h / 2 - box.y()) < 3
    window.undo_action.trigger()
    assert window.document.strokes == doodle and len(window.scene) == 1
    assert not window.place_by_name("no such thing") and "No picture" in window.statusBar().currentMessage()
