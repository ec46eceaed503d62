"""The canvas and editing: real mouse strokes become vector strokes; undo, redo, clear, eraser, replace
(the doodle becomes a placed piece of clean art)."""

from __future__ import annotations

import numpy as np
import pytest
from inkling.desktop.art import ArtLibrary
from inkling.desktop.drawing import DOODLE, bounding_box
from inkling.desktop.references import ReferenceLibrary
from inkling.desktop.scene import ART, ink_frame
from inkling.desktop.suggestion_panel import KEEP_DRAWING
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from test_app_support import draw, draw_stroke, make_window, settle

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier

L_SHAPE = [np.array([[100, 100], [100, 200], [180, 200]]), np.array([[300, 120], [360, 160], [420, 120]])]


@pytest.fixture(scope="module")
def classifier(default_model_path):
    from inkling.model.classifier import load_model

    return load_model(default_model_path)


@pytest.fixture
def window(qtbot, classifier, tmp_path):
    return make_window(qtbot, classifier, tmp_path)


def canvas_points(window, widget_points):
    return np.array(
        [[p.x(), p.y()] for p in (window.canvas.to_canvas(QPointF(*map(float, q))) for q in widget_points)]
    )


def test_mouse_strokes_become_timed_vector_strokes(window):
    draw(window.canvas, L_SHAPE, fit=False)
    strokes = window.document.strokes
    assert len(strokes) == 2
    for stroke, drawn in zip(strokes, L_SHAPE, strict=True):
        assert stroke.style == DOODLE
        np.testing.assert_allclose(stroke.xy, canvas_points(window, drawn))
    times = np.concatenate([s.points[:, 2] for s in strokes])
    assert times[0] == pytest.approx(0.0, abs=50) and (np.diff(times) >= 0).all()


def test_undo_redo_and_clear_with_keyboard(window, qtbot):
    canvas = window.canvas
    draw(canvas, L_SHAPE, fit=False)
    draw_stroke(canvas, np.array([[500, 300], [520, 340]]))
    assert len(window.document) == 3
    QTest.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert len(window.document) == 2
    QTest.keyClick(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert len(window.document) == 3
    before = window.document.strokes
    window.clear_action.trigger()
    assert len(window.document) == 0
    settle(qtbot, window)
    assert window.engine.last.empty  # the suggestions followed the clear
    QTest.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert [s is b for s, b in zip(window.document.strokes, before, strict=True)] == [True] * 3
    settle(qtbot, window)
    assert window.engine.last.n_strokes == 3


def test_eraser_removes_touched_strokes_as_one_undo_step(window):
    canvas = window.canvas
    draw(canvas, L_SHAPE + [np.array([[600, 400], [650, 450]])], fit=False)
    first, second, third = window.document.strokes
    window.eraser_action.trigger()
    # One drag across the first and third strokes, missing the second.
    draw_stroke(canvas, np.array([[90, 150], [100, 150], [110, 150], [400, 420], [620, 420], [630, 420]]))
    assert window.document.strokes == [second]
    assert window.undo_stack.count() == 4  # three strokes drawn, one erase
    window.undo_action.trigger()
    assert window.document.strokes == [first, second, third]
    window.redo_action.trigger()
    assert window.document.strokes == [second]
    window.pen_action.trigger()
    draw_stroke(canvas, np.array([[10, 10], [30, 30]]))
    assert len(window.document) == 2


def test_eraser_takes_a_placed_piece_it_touches_as_one_undo_step(window):
    canvas = window.canvas
    draw(canvas, L_SHAPE, fit=False)
    assert window.new_object() and len(window.scene) == 1  # kept as drawn: a piece of the picture
    window.eraser_action.trigger()
    draw_stroke(canvas, np.array([[90, 150], [100, 150], [110, 150]]))  # across the L's upright
    assert len(window.scene) == 0 and "Erased" in window.statusBar().currentMessage()
    window.undo_action.trigger()
    assert len(window.scene) == 1


def test_resizing_never_loses_or_crops_the_drawing(window, qtbot):
    canvas = window.canvas
    draw(canvas, [np.array([[20, 20], [canvas.width() - 20, canvas.height() - 20]])], fit=False)
    original = window.document.strokes[0].points.copy()
    window.resize(420, 300)
    qtbot.waitUntil(lambda: canvas.width() < 300)
    stroke = window.document.strokes[0]
    np.testing.assert_array_equal(stroke.points, original)
    for x, y in stroke.xy:
        p = canvas.to_widget(QPointF(x, y))
        assert 0 <= p.x() <= canvas.width() and 0 <= p.y() <= canvas.height()
    window.resize(1000, 640)
    qtbot.waitUntil(lambda: canvas.width() > 600)
    assert canvas.view_scale == pytest.approx(1.0)
    np.testing.assert_array_equal(window.document.strokes[0].points, original)


def empty_art():
    return ArtLibrary()  # no pictures: replace falls back to the reference drawings


def test_replace_puts_clean_reference_into_the_doodles_box_undoably(qtbot, classifier, tmp_path):
    wide = [np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 50.0]]), np.array([[0.0, 50.0], [50.0, 25.0]])]
    references = ReferenceLibrary({classifier.classes[0]: wide})
    window = make_window(qtbot, classifier, tmp_path, references=references, art=empty_art())
    draw(window.canvas, [np.array([[200, 200], [400, 200], [400, 400], [200, 400], [200, 210]])], fit=False)
    doodle = window.document.strokes
    x0, y0, x1, y1 = bounding_box(doodle)
    assert window.replace_with(classifier.classes[0])
    assert len(window.document) == 0  # the next stroke starts a new doodle
    (piece,) = window.scene.pieces
    assert piece.kind == ART and piece.label == classifier.classes[0]
    assert [s is d for s, d in zip(piece.strokes, doodle, strict=True)] == [True]  # the doodle is kept
    px, py, pw, ph = piece.rect
    assert pw == pytest.approx(x1 - x0)  # the wider side fills the box ...
    frame = ink_frame(wide)
    assert ph / pw == pytest.approx(frame.height() / frame.width())  # ... and the aspect ratio is kept
    assert px + pw / 2 == pytest.approx((x0 + x1) / 2) and py + ph / 2 == pytest.approx((y0 + y1) / 2)
    settle(qtbot, window)
    assert window.engine.last.empty  # suggestions now see the (empty) new doodle only
    window.undo_action.trigger()
    assert window.document.strokes == doodle and len(window.scene) == 0
    window.redo_action.trigger()
    assert window.scene.pieces == [piece] and len(window.document) == 0
    assert not window.replace_with("no such class")


def write_art(folder, pictures: dict[str, str]):
    """A real art folder (mapping.csv and SVG files) with these category -> SVG text pictures."""
    (folder / "svg").mkdir(parents=True)
    rows = ["category,icon,name,note"]
    for i, (label, svg) in enumerate(pictures.items()):
        (folder / "svg" / f"icon{i}.svg").write_text(svg)
        rows.append(f"{label},icon{i},test picture,")
    (folder / "mapping.csv").write_text("\n".join(rows) + "\n")
    return ArtLibrary.load(folder)


TALL_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 50 100">'
    '<rect x="0" y="0" width="50" height="100" fill="#ea5a47"/></svg>'
)


def test_replace_fits_svg_art_with_its_aspect(qtbot, classifier, tmp_path):
    label = classifier.classes[1]
    art = write_art(tmp_path / "art", {label: TALL_SVG})
    window = make_window(qtbot, classifier, tmp_path, art=art)
    draw(window.canvas, [np.array([[200, 200], [400, 200], [400, 360], [200, 360], [200, 210]])], fit=False)
    x0, y0, x1, y1 = bounding_box(window.document.strokes)
    assert window.replace_with(label)
    (piece,) = window.scene.pieces
    px, py, pw, ph = piece.rect
    assert ph == pytest.approx(y1 - y0) and pw == pytest.approx(ph / 2)  # fits the box, aspect of the viewBox
    assert px + pw / 2 == pytest.approx((x0 + x1) / 2)
    image = window.canvas.grab().toImage()
    centre = window.canvas.to_widget(QPointF(px + pw / 2, py + ph / 2))
    colour = image.pixelColor(round(centre.x()), round(centre.y()))
    assert (colour.red(), colour.green(), colour.blue()) == pytest.approx((0xEA, 0x5A, 0x47), abs=6)


def test_suggestions_without_a_picture_are_disabled_with_a_tooltip(qtbot, classifier, tmp_path):
    window = make_window(qtbot, classifier, tmp_path, art=empty_art())  # no art, no reference drawings
    draw(window.canvas, [np.array([[200, 200], [400, 220], [300, 400], [200, 200]])], fit=False)
    settle(qtbot, window)
    shown = window.panel.rows
    assert 1 <= len(shown) == window.panel.shown <= 5
    assert all(not b.isEnabled() and "No picture" in b.toolTip() for b in shown)
    assert all(b.text() == "" and b.isFlat() for b in window.panel.buttons[len(shown) :])  # nothing shows
    assert window.panel.top_choice is None and not window.accept_top()


def test_clicking_a_suggestion_replaces_the_doodle(qtbot, classifier, tmp_path):
    references = ReferenceLibrary(
        {label: [np.array([[0.0, 0.0], [10.0, 10.0]])] for label in classifier.classes}
    )
    window = make_window(qtbot, classifier, tmp_path, references=references, art=empty_art())
    draw(window.canvas, [np.array([[200, 200], [400, 220], [300, 400], [200, 200]])], fit=False)
    settle(qtbot, window)
    row = min(1, window.panel.shown - 1)
    button, label = window.panel.buttons[row], window.panel.labels[row]
    assert button.isEnabled() and button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert [p.label for p in window.scene.pieces] == [label] and len(window.document) == 0
    assert window.undo_stack.undoText() == f"Replace with {label}"


def test_keep_drawing_below_the_threshold_and_threshold_persists(qtbot, classifier, tmp_path):
    from inkling.desktop.settings import DEFAULT_THRESHOLD, AppSettings
    from inkling.desktop.suggestions import Prediction
    from inkling.model.classifier import Suggestion

    window = make_window(qtbot, classifier, tmp_path)
    panel = window.panel
    assert panel.threshold == pytest.approx(DEFAULT_THRESHOLD)

    def show(p):
        top = [Suggestion("cat", p), Suggestion("dog", (1 - p) / 2), Suggestion("owl", (1 - p) / 2)]
        panel.show_prediction(
            Prediction(1, 1, np.zeros((28, 28), np.uint8), np.zeros(3), ["cat", "dog", "owl"], top)
        )

    show(DEFAULT_THRESHOLD - 0.05)
    assert panel.headline.text() == KEEP_DRAWING
    show(0.80)
    assert panel.headline.text() == "Is it a cat?"
    panel.set_threshold(0.9)
    assert panel.headline.text() == KEEP_DRAWING
    window.close()
    assert AppSettings(tmp_path / "settings.ini").threshold == pytest.approx(0.9)


def test_tablet_less_touch_input_draws(window):
    # Touch events through Qt's test touch device draw strokes like the mouse does.
    from PySide6.QtGui import QInputDevice, QPointingDevice

    device = QTest.createTouchDevice(QInputDevice.DeviceType.TouchScreen)
    assert isinstance(device, QPointingDevice)
    QTest.touchEvent(window.canvas, device).press(0, QPoint(100, 100)).commit()
    QTest.touchEvent(window.canvas, device).move(0, QPoint(150, 130)).commit()
    QTest.touchEvent(window.canvas, device).move(0, QPoint(200, 180)).commit()
    QTest.touchEvent(window.canvas, device).release(0, QPoint(200, 180)).commit()
    assert len(window.document) == 1
    assert len(window.document.strokes[0].points) >= 3


def test_input_at_the_viewport_draws_like_input_at_the_canvas(window):
    # A real window delivers the mouse to the graphics view's viewport; tests send it to the canvas.
    # Both are handled alike, at the same coordinates (the canvas has no frame around its viewport).
    canvas = window.canvas
    assert canvas.viewport().geometry() == canvas.rect()
    draw_stroke(canvas.viewport(), np.array([[100, 100], [150, 140], [220, 160]]))
    draw_stroke(canvas, np.array([[100, 100], [150, 140], [220, 160]]))
    first, second = window.document.strokes
    np.testing.assert_allclose(first.xy, second.xy)


def test_return_places_only_a_guess_above_the_confidence_threshold(window, qtbot):
    draw(window.canvas, L_SHAPE, fit=False)
    settle(qtbot, window)
    window.panel.set_threshold(1.0)
    assert not window.panel.confident and not window.accept_top()
    assert "threshold" in window.statusBar().currentMessage() and len(window.scene) == 0
    window.panel.set_threshold(0.0)
    choice = window.panel.top_choice
    placed = window.accept_top()
    assert placed == (choice is not None)
    assert len(window.scene) == (1 if placed else 0)
