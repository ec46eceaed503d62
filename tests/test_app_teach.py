"""Teach mode in the app: a new Quick, Draw! category drawn into the canvas becomes a live suggestion;
rename, delete, export/import; the taught classes survive a restart; a damaged file is set aside with a
message; clashing names and an unwritable data folder are reported and lose nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from inkling.desktop.commands import AddStrokeCommand
from inkling.desktop.drawing import Stroke
from inkling.desktop.teach_store import CLASSES_DIR, CURRENT, DATA_DIR_ENV, data_dir
from inkling.model.classset import ClassSet
from inkling.model.strokes import read_ndjson
from test_app_support import draw, make_window, raw_drawings

CANDIDATES = ["envelope", "wine glass", "anvil", "cactus"]  # distinctive; the first one the model lacks
SHOTS = 5
HELD_OUT = 5


@pytest.fixture(scope="module")
def classifier(default_model_path):
    from inkling.model.classifier import load_model

    return load_model(default_model_path)


@pytest.fixture(scope="module")
def new_class(classifier, request):
    """(name, example drawings, held-out drawings) of something the model never learned: recognised raw
    drawings of a Quick, Draw! category it lacks, or, when it knows them all, a handwritten character
    (examples by 5 people, held-out drawings by 5 others)."""
    known = {c.casefold() for c in classifier.classes}
    missing = [c for c in CANDIDATES if c.casefold() not in known]
    if missing:
        name = missing[0]
        quickdraw_dir = request.getfixturevalue("quickdraw_dir")
        good = [r.strokes for r in raw_drawings(quickdraw_dir, name, limit=60) if r.extra.get("recognized")]
        return name, good[:SHOTS], good[SHOTS : SHOTS + HELD_OUT]
    folder = request.getfixturevalue("omniglot_dir")
    records = read_ndjson(sorted(folder.glob("*.ndjson"))[-1]).records
    word = sorted({r.word for r in records})[3]
    drawings = [r.strokes for r in sorted((r for r in records if r.word == word), key=lambda r: r.key_id)]
    return word.replace("/", " "), drawings[:SHOTS], drawings[10 : 10 + HELD_OUT]


def teach_window(qtbot, classifier, tmp_path, data=None, **kwargs):
    window = make_window(qtbot, classifier, tmp_path, data_dir=data, **kwargs)
    if not window.teach_dock.isVisible():  # hidden unless it was shown when the app last closed
        window.teach_action.trigger()  # the menu item / toolbar button shows the Teach panel
    assert window.teach_dock.isVisible()
    return window


def settle(qtbot, window):
    assert window.teach.wait_idle()
    qtbot.waitUntil(lambda: not window.teach.busy)


def put(window, strokes) -> None:
    """A drawing in the canvas without the mouse (undoable strokes, as the canvas adds them)."""
    for points in strokes:
        window.undo_stack.push(AddStrokeCommand(window.document, Stroke(points)))


def stored(data: Path) -> Path:
    return data / CLASSES_DIR / CURRENT


def test_teach_by_drawing_then_restart_rename_export_delete_import(
    qtbot, classifier, tmp_path, new_class, monkeypatch
):
    name, examples, held_out = new_class
    data = tmp_path / "data"
    window = teach_window(qtbot, classifier, tmp_path, data)
    panel = window.teach_panel
    assert not panel.add_button.isEnabled()  # nothing to add to yet
    assert panel.new_class(name)
    assert panel.rows == [f"{name} (0/5)"] and not window.errors
    for i, drawing in enumerate(examples, start=1):
        draw(window.canvas, drawing)  # the mouse, as a person draws
        assert panel.add_button.isEnabled()
        assert panel.add_drawing()
        assert len(window.document) == 0  # the canvas is cleared for the next drawing
        assert panel.rows == [f"{name} ({i}/5)" if i < 5 else f"{name} ({i})"]
        if i == 1:
            # in the suggestions from the first drawing on, once its fit (off the UI thread) is done
            settle(qtbot, window)
            assert name in window.engine.classifier.classes
            assert "In the suggestions now. Add another drawing" in panel.progress.text()
            assert "nothing to check it against" in panel.quality.text()
            window.undo_stack.undo()  # the clear is undoable: the drawing comes back
            assert len(window.document) == len(drawing)
            window.clear()
    settle(qtbot, window)
    assert "5 more make it very reliable" in panel.progress.text()
    # the quality figure: leave-one-out over its five drawings, in the row and in words
    quality = window.teach.quality(name)
    assert quality.examples == SHOTS and quality.recognised is not None
    assert panel.rows == [f"{name} ({SHOTS}) · {quality.recognised / SHOTS:.0%}"]
    assert f"Recognised {quality.recognised} of its {SHOTS} drawings" in panel.quality.text()
    assert window.engine.classifier.classes == [*classifier.classes, name]
    assert "your 1 taught class" in panel.status.text()

    hits = []
    for drawing in held_out:
        window.clear()
        n = len(draw(window.canvas, drawing))
        qtbot.waitUntil(lambda n=n: window.engine.last.n_strokes == n and window.engine.last.final)
        hits.append(name in window.panel.labels[:3])
    print(f"\n{name}: taught from {SHOTS} drawings, top-3 on held-out drawings: {hits}")
    assert sum(hits) >= 3, f"{name} in the top 3 for only {sum(hits)} of {len(hits)} held-out drawings"

    # saved in the data folder after every change, and back after a restart, with the same fit
    assert ClassSet.load(stored(data)).new_classes == [name]
    head = window.engine.classifier.head
    window.close()
    again = teach_window(qtbot, classifier, tmp_path, data)
    assert again.settings.show_teach  # the panel comes back as it was left
    assert again.teach.examples.keys() == {name}
    assert again.teach_panel.rows == [
        f"{name} ({SHOTS}) · {quality.recognised / SHOTS:.0%}"
    ]  # kept in the file
    assert not again.teach.busy and again.engine.classifier.classes[-1] == name
    assert (again.engine.classifier.head[0] == head[0]).all()
    assert not again.errors

    # rename, export, delete, import
    panel = again.teach_panel
    assert panel.rename(name, "my doodle")
    settle(qtbot, again)
    assert again.engine.classifier.classes[-1] == "my doodle"
    assert ClassSet.load(stored(data)).new_classes == ["my doodle"]
    exported = tmp_path / "mine.inkset"
    assert panel.export_to(exported)
    panel.delete("my doodle")
    settle(qtbot, again)
    assert panel.rows == [] and again.engine.classifier.classes == classifier.classes
    assert not stored(data).exists()
    assert panel.import_from(exported) == ["my doodle"]
    settle(qtbot, again)
    assert again.engine.classifier.classes[-1] == "my doodle"
    assert ClassSet.load(stored(data)).examples["my doodle"][0][0].shape[1] >= 2
    assert panel.import_from(exported) == [] and "already taught" in again.errors[-1][1]

    # opening a class set as the model: teaching extends it
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    assert data_dir() == data
    panel.delete("my doodle")
    settle(qtbot, again)
    assert again.open_model(exported)
    settle(qtbot, again)
    assert again.teach_panel.rows[0].startswith(f"my doodle ({SHOTS})")
    assert again.engine.classifier.classes[-1] == "my doodle"


def test_clashing_and_bad_names_are_refused_with_a_message(qtbot, classifier, tmp_path, new_class):
    window = teach_window(qtbot, classifier, tmp_path, tmp_path / "data")
    panel = window.teach_panel
    base_name = classifier.classes[3]
    assert not panel.new_class(f"  {base_name.upper()} ")
    assert "already one of the model's own classes" in window.errors[-1][1]
    assert not panel.new_class("   ")
    assert "empty" in window.errors[-1][1]
    assert panel.new_class("Doodad")
    put(window, new_class[1][0])
    assert panel.add_drawing()
    assert not panel.new_class("doodad")
    assert "already taught" in window.errors[-1][1]
    assert not panel.rename("Doodad", base_name)
    settle(qtbot, window)
    assert window.teach_panel.rows == ["Doodad (1/5)"]  # nothing lost
    assert window.engine.classifier.classes[-1] == "Doodad"
    assert panel.add_drawing() is False and "Draw something first" in window.errors[-1][1]


def test_a_damaged_file_is_set_aside_with_a_message(qtbot, classifier, tmp_path):
    data = tmp_path / "data"
    damaged = stored(data)
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"PK\x03\x04 this is not a class set")
    window = teach_window(qtbot, classifier, tmp_path, data)
    qtbot.waitUntil(lambda: bool(window.errors))
    title, message = window.errors[-1]
    moved = list(damaged.parent.glob(f"{CURRENT}.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_bytes() == b"PK\x03\x04 this is not a class set"
    assert "damaged" in message and str(moved[0]) in message
    assert not damaged.exists() and window.teach_panel.rows == []
    assert window.engine.classifier.classes == classifier.classes

    # a stored file that cannot be read at all is left alone and never saved over
    blocked = tmp_path / "blocked"
    stored(blocked).mkdir(parents=True)  # a folder where the file should be: open() fails
    window = teach_window(qtbot, classifier, tmp_path, blocked)
    qtbot.waitUntil(lambda: bool(window.errors))
    assert "cannot read" in window.errors[-1][1]
    assert window.teach.store.blocked and stored(blocked).is_dir()


def test_unwritable_data_folder_keeps_classes_in_memory(qtbot, classifier, tmp_path, new_class):
    name, examples, held_out = new_class
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data folder should be")
    window = teach_window(qtbot, classifier, tmp_path, not_a_folder)
    panel = window.teach_panel
    assert panel.new_class(name)
    for drawing in examples[:3]:
        put(window, drawing)
        assert panel.add_drawing()
    settle(qtbot, window)
    saving = [m for t, m in window.errors if t == "Cannot save your taught classes"]
    assert len(saving) == 1, window.errors  # said once, not after every drawing
    assert "cannot save" in saving[0] and "Export" in saving[0]
    assert "Not saved" in panel.storage.text()
    assert window.engine.classifier.classes[-1] == name  # the class still works
    assert panel.rows[0].startswith(f"{name} (3/5)")
    assert len(window.teach.classset.examples[name]) == 3  # the newest fit is the one in use

    # quitting offers to export what the data folder could not take; cancel keeps the window open
    asked = []
    panel.ask_unsaved = lambda text: asked.append(text) or "cancel"
    assert not window.close() and window.isVisible() and name in asked[0]
    exported = tmp_path / "rescued.inkset"
    assert panel.export_to(exported)
    assert ClassSet.load(exported).examples.keys() == {name}
    assert window.close() and len(asked) == 1  # exported: nothing left to lose


def test_quality_figure_and_a_request_when_two_taught_classes_are_confused(
    qtbot, classifier, tmp_path, new_class
):
    """Two classes taught from the same drawings cannot be told apart: the panel says so, per class, and
    asks for another drawing; a distinct third class keeps a good figure."""
    name, examples, held_out = new_class
    window = teach_window(qtbot, classifier, tmp_path, tmp_path / "data")
    panel = window.teach_panel
    same = examples[:3]
    for cls, drawings in [("thing", same), ("other thing", same[1:] + same[:1])]:
        assert panel.new_class(cls)
        for drawing in drawings:
            put(window, drawing)
            assert panel.add_drawing()
    settle(qtbot, window)
    a, b = window.teach.quality("thing"), window.teach.quality("other thing")
    assert a.examples == b.examples == 3
    assert a.confused_with.get("other thing", 0) + b.confused_with.get("thing", 0) >= 2
    assert window.teach.confusions()[0][:2] in (("thing", "other thing"), ("other thing", "thing"))
    assert panel.advice.isVisibleTo(panel)
    assert "look alike to Inkling: draw another" in panel.advice.text()
    assert "thing" in panel.advice.text() and "other thing" in panel.advice.text()
    panel.select("thing")
    assert "Mistaken for your “other thing”" in panel.quality.text()
    assert "Another drawing of “thing” helps." in panel.quality.text()
    row = next(r for r in panel.rows if r.startswith("thing "))
    assert row == f"thing (3/5) · {a.recognised / 3:.0%}"

    # deleting one of the look-alikes ends the request
    panel.delete("other thing")
    settle(qtbot, window)
    assert window.teach.confusions() == [] and not panel.advice.isVisibleTo(panel)


def test_a_taught_class_is_placed_as_the_persons_own_drawing_and_found_by_name(
    qtbot, classifier, tmp_path, new_class
):
    name, examples, held_out = new_class
    window = teach_window(qtbot, classifier, tmp_path)
    panel = window.teach_panel
    assert panel.new_class(name)
    put(window, examples[0])
    assert panel.add_drawing()
    settle(qtbot, window)
    assert window.panel.has_reference(name)  # its suggestion row is enabled, with a picture
    assert window.pieces.thumbnail(name, 48) is not None
    put(window, held_out[0])
    assert window.replace_with(name)
    piece = window.scene.pieces[-1]
    assert piece.label == name and len(window.document) == 0
    assert window.find_field.find(name) == name  # found by name too
    assert window.place_by_name(name) and len(window.scene) == 2
