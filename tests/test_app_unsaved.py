"""Unsaved work in the real window: the title marks it, and closing or opening another scene asks
Save / Discard / Cancel in a real modal box, answered here by clicking its buttons. Cancel (or a Save that
is cancelled or fails) keeps the window and the picture; Save writes the scene file; a window with nothing
to lose closes without asking."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from inkling.desktop import scene_file
from inkling.desktop.main_window import MainWindow
from inkling.desktop.settings import AppSettings
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from test_app_support import draw, fit_into, make_window, settle, test_drawings

BUTTONS = QMessageBox.StandardButton


@pytest.fixture(scope="module")
def classifier(default_model_path):
    from inkling.model.classifier import load_model

    return load_model(default_model_path)


@pytest.fixture(scope="module")
def drawings(quickdraw_dir, classifier):
    picked = test_drawings(quickdraw_dir, classifier.classes, 2, 1)
    if len(picked) < 2:
        pytest.skip(f"fewer than 2 recognized raw Quick, Draw! drawings in {quickdraw_dir}")
    return picked


@pytest.fixture
def window(qtbot, classifier, tmp_path):
    window = make_window(qtbot, classifier, tmp_path)
    window.ask_unsaved = window._ask_unsaved  # the real box (make_window's windows discard)
    return window


class Boxes:
    """Answers every modal message box that appears as a person would: clicks ``button`` on it.

    What each box asked is kept in ``seen``. A box without that button is closed with Escape's answer,
    so a test fails on an unexpected box rather than waiting on it for ever.
    """

    def __init__(self, button: QMessageBox.StandardButton):
        self.button = button
        self.seen: list[dict] = []
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._answer)

    def _answer(self) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or not box.isVisible():
            return
        self.seen.append(
            {
                "text": box.text(),
                "buttons": box.standardButtons(),
                "default": box.standardButton(box.defaultButton()),
            }
        )
        target = box.button(self.button)
        target.click() if target is not None else box.reject()

    def __enter__(self) -> Boxes:
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.stop()


def compose(window, qtbot, drawings) -> None:
    """A real picture: one Quick, Draw! drawing drawn with the mouse and accepted as its clean art, a
    second one drawn beside it and left as the doodle."""
    canvas = window.canvas
    side = min(canvas.width() / 2, canvas.height()) - 60
    draw(canvas, fit_into(drawings[0].strokes, 30, 30, side), fit=False)
    settle(qtbot, window)
    assert window.replace_with(window.panel.top_choice)  # as a click on the first suggestion with art
    draw(canvas, fit_into(drawings[1].strokes, canvas.width() / 2 + 30, 30, side), fit=False)
    assert len(window.scene) == 1 and len(window.document) == len(drawings[1].strokes)


def picture(window) -> tuple:
    """What the person would lose: the pieces and the doodle's points."""
    pieces = [(p.kind, p.label, tuple(p.rect)) for p in window.scene.pieces]
    return pieces, [s.points.copy() for s in window.document.strokes]


def same_picture(a, b) -> bool:
    return a[0] == b[0] and len(a[1]) == len(b[1]) and all(map(np.array_equal, a[1], b[1]))


def save_dialog(monkeypatch, answer: str) -> list[str]:
    """File ▸ Save As's dialog answers ``answer`` (a path, or "" for Cancel); returns the names offered."""
    offered = []

    def ask(parent, title, name, filters):
        offered.append(name)
        return answer, "Inkling scene (*.inkscene)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(ask))
    return offered


def test_a_drawn_stroke_marks_the_title_and_undoing_it_unmarks(window, qtbot, drawings):
    title = window.windowTitle()
    assert title == "Untitled[*] — Inkling" and not window.isWindowModified()
    draw(window.canvas, drawings[0].strokes[:1])
    assert window.isWindowModified() and window.windowTitle() == title  # Qt shows the [*] as "*"
    assert window.has_unsaved_changes
    window.undo_action.trigger()
    assert not window.isWindowModified() and not window.has_unsaved_changes


def test_closing_unsaved_work_asks_and_cancel_keeps_the_window_and_the_picture(window, qtbot, drawings):
    compose(window, qtbot, drawings)
    before = picture(window)
    with Boxes(BUTTONS.Cancel) as boxes:
        assert not window.close()
    assert len(boxes.seen) == 1
    asked = boxes.seen[0]
    assert "closing" in asked["text"]
    assert asked["buttons"] == BUTTONS.Save | BUTTONS.Discard | BUTTONS.Cancel
    assert asked["default"] == BUTTONS.Save
    assert window.isVisible() and window.isWindowModified()
    assert same_picture(picture(window), before)

    with Boxes(BUTTONS.Cancel) as boxes:  # File ▸ Quit (Ctrl+Q) asks the same
        window.quit_action.trigger()
    assert len(boxes.seen) == 1 and window.isVisible() and same_picture(picture(window), before)


def test_discard_closes_and_writes_nothing(window, qtbot, drawings, tmp_path, monkeypatch):
    compose(window, qtbot, drawings)
    offered = save_dialog(monkeypatch, str(tmp_path / "never.inkscene"))
    with Boxes(BUTTONS.Discard) as boxes:
        assert window.close()
    assert len(boxes.seen) == 1 and not window.isVisible()
    assert offered == [] and not list(tmp_path.rglob(f"*{scene_file.SUFFIX}"))


def test_save_writes_the_scene_then_closes(window, qtbot, drawings, tmp_path, monkeypatch):
    compose(window, qtbot, drawings)
    before = picture(window)
    out = tmp_path / "out"
    out.mkdir()
    offered = save_dialog(monkeypatch, str(out / "my picture"))  # the scene filter adds the suffix
    with Boxes(BUTTONS.Save) as boxes:
        assert window.close()
    assert len(boxes.seen) == 1 and "your picture" in boxes.seen[0]["text"]
    assert [Path(o).name for o in offered] == [f"picture{scene_file.SUFFIX}"] and not window.isVisible()
    saved = out / f"my picture{scene_file.SUFFIX}"
    assert sorted(os.listdir(out)) == [saved.name]  # written whole: no temporary file left beside it
    data = scene_file.read_scene(saved)
    assert [(p.kind, p.label) for p in data.pieces] == [(k, label) for k, label, _ in before[0]]
    assert len(data.doodle) == len(before[1])
    np.testing.assert_allclose(data.doodle[-1].points, before[1][-1], atol=1e-3)
    assert window.scene_path == saved and not window.isWindowModified()
    assert saved.name in window.windowTitle()


def test_a_save_that_is_cancelled_or_fails_keeps_the_window_open(
    window, qtbot, drawings, tmp_path, monkeypatch
):
    compose(window, qtbot, drawings)
    before = picture(window)
    save_dialog(monkeypatch, "")  # the person cancels the Save As dialog
    with Boxes(BUTTONS.Save) as boxes:
        assert not window.close()
    assert len(boxes.seen) == 1 and window.isVisible() and window.isWindowModified()
    assert same_picture(picture(window), before) and not list(tmp_path.rglob(f"*{scene_file.SUFFIX}"))

    # saved once; then a change, and the disk fails while saving it: the file keeps the last save whole
    saved = tmp_path / "picture.inkscene"
    assert window.save_drawing(saved) and not window.isWindowModified()
    first = saved.read_bytes()
    draw(window.canvas, drawings[0].strokes[:1])
    offered = save_dialog(monkeypatch, str(tmp_path / "elsewhere.inkscene"))

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with Boxes(BUTTONS.Save) as boxes:
        assert not window.close()
    monkeypatch.undo()
    assert len(boxes.seen) == 1 and f"“{saved.name}”" in boxes.seen[0]["text"]
    assert offered == []  # the scene has its file: File ▸ Save's path, no dialog
    assert window.isVisible() and window.isWindowModified()
    assert window.errors and window.errors[-1][0] == "Cannot save" and "No space" in window.errors[-1][1]
    assert saved.read_bytes() == first and not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]

    with Boxes(BUTTONS.Save):  # the disk has room again
        assert window.close()
    assert len(scene_file.read_scene(saved).doodle) == len(before[1]) + 1


def test_opening_a_scene_over_unsaved_work_asks_first(window, qtbot, drawings, tmp_path, monkeypatch):
    compose(window, qtbot, drawings)
    saved = tmp_path / "earlier.inkscene"
    assert window.save_drawing(saved)
    n = len(window.document)
    draw(window.canvas, drawings[0].strokes[:1])  # unsaved: one more stroke
    opened = []

    def open_dialog(parent, title, folder, filters):
        opened.append(title)
        return str(saved), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(open_dialog))
    with Boxes(BUTTONS.Cancel) as boxes:
        window.open_drawing_action.trigger()
    assert len(opened) == 1 and len(boxes.seen) == 1
    assert f"opening “{saved.name}”" in boxes.seen[0]["text"]
    assert len(window.document) == n + 1 and window.isWindowModified()  # cancelled: nothing changed

    with Boxes(BUTTONS.Discard) as boxes:
        window.open_drawing_action.trigger()
    assert len(boxes.seen) == 1 and len(window.document) == n and not window.isWindowModified()
    assert window.scene_path == saved

    # a Quick, Draw! drawing replaces the doodle only, undoably, and the work stays marked: no box
    ndjson = tmp_path / "doodle.ndjson"
    assert window.save_drawing(ndjson)
    window.clear()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a: (str(ndjson), "")))
    with Boxes(BUTTONS.Cancel) as boxes:
        window.open_drawing_action.trigger()
    assert boxes.seen == [] and len(window.document) == n and window.isWindowModified()


def test_a_window_with_nothing_to_lose_closes_without_a_box(qtbot, classifier, tmp_path, drawings):
    bare = MainWindow(classifier, settings=AppSettings(tmp_path / "bare.ini"))
    assert bare.ask_unsaved == bare._ask_unsaved  # the real box is the default
    bare.deleteLater()

    def fresh(name):
        w = make_window(qtbot, classifier, tmp_path / name)
        w.ask_unsaved = w._ask_unsaved
        return w

    untouched, undone, cleared, saved = (fresh(n) for n in ("untouched", "undone", "cleared", "saved"))
    draw(undone.canvas, drawings[0].strokes[:2])
    undone.undo_action.trigger()
    undone.undo_action.trigger()
    draw(cleared.canvas, drawings[0].strokes[:2])
    cleared.clear()  # changed, but nothing left and no file: nothing to lose
    assert cleared.isWindowModified() and not cleared.has_unsaved_changes
    draw(saved.canvas, drawings[0].strokes)
    assert saved.save_drawing(tmp_path / "saved.inkscene")
    with Boxes(BUTTONS.Cancel) as boxes:
        for w in (untouched, undone, cleared, saved):
            assert w.close() and not w.isVisible()
    assert boxes.seen == []


def test_file_new_asks_then_starts_an_empty_picture_with_no_file_and_no_history(
    window, qtbot, drawings, tmp_path
):
    compose(window, qtbot, drawings)
    saved = tmp_path / "kept.inkscene"
    assert window.save_drawing(saved)
    draw(window.canvas, drawings[0].strokes[:1])  # a change after the save
    before = picture(window)
    with Boxes(BUTTONS.Cancel) as boxes:
        assert not window.new_picture()
    assert len(boxes.seen) == 1 and "starting a new picture" in boxes.seen[0]["text"]
    assert same_picture(picture(window), before) and window.scene_path == saved

    assert window.new_action.shortcut().toString() == "Ctrl+N"
    keys = [k.toString() for a in window.findChildren(QAction) for k in a.shortcuts()]
    assert len(keys) == len(set(keys)), sorted(keys)  # a key that two actions share would do neither
    with Boxes(BUTTONS.Discard) as boxes:
        window.new_action.trigger()
    assert len(boxes.seen) == 1
    assert not len(window.scene) and not len(window.document) and window.scene_path is None
    assert not window.undo_stack.canUndo() and not window.isWindowModified()
    assert saved.name not in window.windowTitle()
    assert scene_file.read_scene(saved).pieces  # the saved file is untouched
    with Boxes(BUTTONS.Cancel) as boxes:  # nothing to lose now: New does not ask
        assert window.new_picture()
    assert boxes.seen == []


def test_file_dialogs_start_in_the_folder_last_used(window, qtbot, drawings, tmp_path, monkeypatch):
    compose(window, qtbot, drawings)
    out = tmp_path / "pictures"
    out.mkdir()
    offered = save_dialog(monkeypatch, str(out / "first.inkscene"))
    window.save_action.trigger()  # Save As…
    assert Path(offered[0]).parent != out and (out / "first.inkscene").exists()
    window.save_action.trigger()
    assert Path(offered[1]) == out / "first.inkscene"  # the folder is remembered (QSettings)
    assert window.settings.folder("save") == str(out)
