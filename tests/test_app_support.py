"""Helpers for the desktop app's tests: real Quick, Draw! drawings replayed as mouse input, a window fixture.

(No tests here; the app's test modules import these.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from inkling.model.strokes import DrawingRecord, read_ndjson
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def raw_drawings(quickdraw_dir: Path, label: str, limit: int | None = None) -> list[DrawingRecord]:
    path = quickdraw_dir / "strokes" / "raw" / f"{label}.ndjson"
    return read_ndjson(path, limit=limit).records if path.exists() else []


def overlap_keys(quickdraw_dir: Path) -> set[str]:
    """key_ids of stroke drawings that are also bitmap rows (possibly seen in training)."""
    data = json.loads((quickdraw_dir / "stroke_bitmap_overlap.json").read_text())
    return {key for rows in data["map"].values() for key in rows}


def test_drawings(
    quickdraw_dir: Path, classes: list[str], n_classes: int, per_class: int
) -> list[DrawingRecord]:
    """Recognized raw drawings of ``n_classes`` classes spread over the list.

    Drawings that are not also bitmap rows (which training may have seen) come first; some classes
    have no others.
    """
    seen = overlap_keys(quickdraw_dir)
    picked: list[DrawingRecord] = []
    candidates = [c for c in classes if (quickdraw_dir / "strokes" / "raw" / f"{c}.ndjson").exists()]
    step = max(1, len(candidates) // n_classes)
    for label in candidates[::step][:n_classes]:
        good = [r for r in raw_drawings(quickdraw_dir, label) if r.extra.get("recognized")]
        good.sort(key=lambda r: r.key_id in seen)
        picked += good[:per_class]
    return picked


test_drawings.__test__ = False  # a helper, not a test


def fit_into(strokes: list[np.ndarray], x: float, y: float, side: float) -> list[np.ndarray]:
    """Scale a drawing (aspect kept) into the side x side box at (x, y); integer points, as a mouse gives."""
    pts = np.concatenate([s[:, :2] for s in strokes])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = side / max(float((hi - lo).max()), 1.0)
    centre = np.array([x + side / 2, y + side / 2])
    out = []
    for s in strokes:
        xy = np.round((s[:, :2] - (lo + hi) / 2) * scale + centre).astype(int)
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = (np.diff(xy, axis=0) != 0).any(axis=1)  # a mouse reports no move without motion
        out.append(xy[keep])
    return out


def fit_to_widget(strokes: list[np.ndarray], width: int, height: int, margin: int = 40) -> list[np.ndarray]:
    """Scale a drawing (aspect kept) into the middle of a widget of this size, a margin all round."""
    side = min(width - 2 * margin, height - 2 * margin)
    return fit_into(strokes, (width - side) / 2, (height - side) / 2, side)


def draw_stroke(widget, points: np.ndarray) -> None:
    QTest.mousePress(widget, LEFT, NO_MOD, QPoint(*map(int, points[0])))
    for x, y in points[1:]:
        QTest.mouseMove(widget, QPoint(int(x), int(y)))
    QTest.mouseRelease(widget, LEFT, NO_MOD, QPoint(*map(int, points[-1])))


def draw(widget, strokes: list[np.ndarray], fit: bool = True) -> list[np.ndarray]:
    """Replay a drawing as mouse strokes on ``widget``; returns the widget points used."""
    points = fit_to_widget(strokes, widget.width(), widget.height()) if fit else strokes
    for stroke in points:
        draw_stroke(widget, stroke)
    return points


def _discard(action: str) -> str:
    return "discard"


def make_window(qtbot, classifier, tmp_path, references=None, **kwargs):
    from inkling.desktop.main_window import MainWindow
    from inkling.desktop.references import ReferenceLibrary
    from inkling.desktop.settings import AppSettings

    window = MainWindow(
        classifier,
        settings=AppSettings(tmp_path / "settings.ini"),
        references=references if references is not None else ReferenceLibrary(),
        **kwargs,
    )
    window.errors = []
    window.report_error = lambda title, message: window.errors.append((title, message))
    # Closing (in a test and at teardown) must not wait on the modal "save changes?" box; the tests of
    # that box (test_app_unsaved.py) put the real one back, and teardown takes it away again.
    window.ask_unsaved = _discard
    qtbot.addWidget(window, before_close_func=lambda w: setattr(w, "ask_unsaved", _discard))
    window.resize(1000, 640)
    window.show()
    qtbot.waitExposed(window)
    window.engine.warm_up()
    return window


def settle(qtbot, window, timeout: int = 5000) -> None:
    """Wait until the suggestions show the final result for the current doodle (on a busy machine the
    classifier may answer from its worker thread, a moment after the stroke ended)."""
    window.engine.wait_idle()
    qtbot.waitUntil(
        lambda: (
            window.engine.last is not None
            and window.engine.last.final
            and window.engine.last.n_strokes == len(window.document)
            and not window.engine.busy
        ),
        timeout=timeout,
    )
