"""The canvas and editing: real mouse strokes become vector strokes; undo, redo, clear, eraser, replace."""

from __future__ import annotations

import numpy as np
import pytest
from inkling.desktop.drawing import CLEAN, DOODLE, bounding_box
from inkling.desktop.references import ReferenceLibrary
from inkling.desktop.suggestion_panel import KEEP_DRAWING
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from test_app_support import draw, draw_stroke, make_window

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


def test_undo_redo_and_clear_with_keyboard(window):
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
    assert window.engine.last.empty  # the suggestions followed the clear
    QTest.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert [s is b for s, b in zip(window.document.strokes, before, strict=True)] == [True] * 3
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


def test_replace_puts_clean_reference_into_the_doodles_box_undoably(qtbot, classifier, tmp_path):
    wide = [np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 50.0]]), np.array([[0.0, 50.0], [50.0, 25.0]])]
    references = ReferenceLibrary({classifier.classes[0]: wide})
    window = make_window(qtbot, classifier, tmp_path, references=references)
    draw(window.canvas, [np.array([[200, 200], [400, 200], [400, 400], [200, 400], [200, 210]])], fit=False)
    doodle = window.document.strokes
    x0, y0, x1, y1 = bounding_box(doodle)
    assert window.replace_with(classifier.classes[0])
    clean = window.document.strokes
    assert len(clean) == 2 and all(s.style == CLEAN for s in clean)
    cx0, cy0, cx1, cy1 = bounding_box(clean)
    assert cx1 - cx0 == pytest.approx(x1 - x0)  # the wider side fills the box ...
    assert (cy1 - cy0) == pytest.approx((cx1 - cx0) / 2)  # ... and the aspect ratio is kept
    assert (cx0 + cx1) / 2 == pytest.approx((x0 + x1) / 2) and (cy0 + cy1) / 2 == pytest.approx((y0 + y1) / 2)
    assert all(s.points.shape[1] == 3 for s in clean)  # with times, so it can be saved as raw ndjson
    window.undo_action.trigger()
    assert window.document.strokes == doodle
    assert not window.replace_with("no such class")


def test_suggestions_without_reference_are_disabled_with_a_tooltip(qtbot, classifier, tmp_path):
    window = make_window(qtbot, classifier, tmp_path)  # an empty reference library
    draw(window.canvas, [np.array([[200, 200], [400, 220], [300, 400], [200, 200]])], fit=False)
    shown = [b for b in window.panel.buttons if b.isVisible()]
    assert len(shown) == 5
    assert all(not b.isEnabled() and "No reference drawing" in b.toolTip() for b in shown)


def test_clicking_a_suggestion_replaces_the_doodle(qtbot, classifier, tmp_path):
    references = ReferenceLibrary(
        {label: [np.array([[0.0, 0.0], [10.0, 10.0]])] for label in classifier.classes}
    )
    window = make_window(qtbot, classifier, tmp_path, references=references)
    draw(window.canvas, [np.array([[200, 200], [400, 220], [300, 400], [200, 200]])], fit=False)
    button, label = window.panel.buttons[1], window.panel.labels[1]
    assert button.isEnabled() and button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert [s.style for s in window.document.strokes] == [CLEAN]
    assert window.undo_stack.undoText() == f"Replace with {label}"


def test_keep_drawing_below_the_threshold_and_threshold_persists(qtbot, classifier, tmp_path):
    from inkling.desktop.settings import AppSettings
    from inkling.desktop.suggestions import Prediction
    from inkling.model.classifier import Suggestion

    window = make_window(qtbot, classifier, tmp_path)
    panel = window.panel
    assert panel.threshold == pytest.approx(0.35)  # the default

    def show(p):
        top = [Suggestion("cat", p), Suggestion("dog", (1 - p) / 2), Suggestion("owl", (1 - p) / 2)]
        panel.show_prediction(
            Prediction(1, 1, np.zeros((28, 28), np.uint8), np.zeros(3), ["cat", "dog", "owl"], top)
        )

    show(0.30)
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
