"""Live suggestions: real drawings replayed with the mouse, and the inference scheduling rules."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from inkling.desktop.suggestions import SuggestionEngine
from test_app_support import draw_stroke, fit_to_widget, make_window, settle, test_drawings


@pytest.fixture(scope="module")
def classifier(default_model_path):
    from inkling.model.classifier import load_model

    return load_model(default_model_path)


def test_live_suggestions_on_real_drawings(qtbot, classifier, tmp_path, quickdraw_dir):
    window = make_window(qtbot, classifier, tmp_path)
    drawings = test_drawings(quickdraw_dir, classifier.classes, n_classes=10, per_class=3)
    assert len(drawings) >= 25
    shown = []
    window.suggestionsShown.connect(shown.append)
    hits, misses = 0, []
    for record in drawings:
        window.clear()
        strokes = fit_to_widget(record.strokes, window.canvas.width(), window.canvas.height())
        for i, stroke in enumerate(strokes):
            before = len(shown)
            draw_stroke(window.canvas, stroke)
            qtbot.waitUntil(
                lambda i=i: (
                    (last := window.engine.last) is not None and last.n_strokes == i + 1 and last.final
                ),
                timeout=3000,
            )
            assert len(shown) > before  # the suggestions updated for this stroke
        labels = window.panel.labels
        assert len(labels) == 5
        if record.word in labels[:3]:
            hits += 1
        else:
            misses.append((record.word, labels[:3]))
    rate = hits / len(drawings)
    print(f"\nlive top-3 accuracy through mouse input: {hits}/{len(drawings)} = {rate:.0%}; misses: {misses}")
    assert rate >= 0.8


def test_suggestions_update_while_drawing_at_a_bounded_rate(qtbot, classifier, tmp_path):
    window = make_window(qtbot, classifier, tmp_path)
    shown = []
    window.suggestionsShown.connect(shown.append)
    canvas = window.canvas
    points = np.array([[100 + i, 100 + (i * 7) % 90] for i in range(0, 300, 2)])
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest
    from test_app_support import LEFT, NO_MOD

    QTest.mousePress(canvas, LEFT, NO_MOD, QPoint(*map(int, points[0])))
    start = time.perf_counter()
    for x, y in points[1:]:
        QTest.mouseMove(canvas, QPoint(int(x), int(y)))
        qtbot.wait(2)
    elapsed_ms = (time.perf_counter() - start) * 1000
    during = [p for p in shown if not p.final]
    assert during, "the stroke in progress was never classified"
    assert len(during) <= elapsed_ms / window.engine.interval_ms + 2
    assert all(p.n_strokes == 1 for p in during)
    QTest.mouseRelease(canvas, LEFT, NO_MOD, QPoint(*map(int, points[-1])))
    settle(qtbot, window)  # at once when the stroke ends (from the worker when the machine is busy)
    assert shown[-1].final and shown[-1].n_strokes == 1


class SlowClassifier:
    """A real model that takes 150 ms per call, as a slow machine might."""

    def __init__(self, inner, delay=0.15):
        self.inner, self.delay = inner, delay
        self.classes = inner.classes

    def run(self, images):
        time.sleep(self.delay)
        return self.inner.run(images)

    def rank(self, probs, top):
        return self.inner.rank(probs, top)


def test_slow_inference_runs_off_the_ui_thread_and_stale_results_are_dropped(qtbot, classifier):
    engine = SuggestionEngine(SlowClassifier(classifier))
    engine.warm_up()
    assert engine.off_thread
    delivered = []
    engine.predicted.connect(delivered.append)
    drawing = [np.array([[0.0, 0.0, 0.0], [50.0, 40.0, 10.0]])]
    start = time.perf_counter()
    seqs = [engine.request(drawing + [np.array([[k, 0.0, 0.0], [k, 30.0, 5.0]])]) for k in range(5)]
    assert (time.perf_counter() - start) < 0.1  # the UI thread never waited for the model
    qtbot.waitUntil(lambda: engine.last is not None and engine.last.seq == seqs[-1], timeout=5000)
    got = [p.seq for p in delivered]
    assert got == sorted(got) and len(set(got)) == len(got)
    assert len(got) < len(seqs)  # requests that waited behind a newer one were dropped, not run
    assert delivered[-1].n_strokes == 2


def test_results_of_a_replaced_model_are_dropped(qtbot, classifier):
    engine = SuggestionEngine(SlowClassifier(classifier, delay=0.2))
    engine.warm_up()
    delivered = []
    engine.predicted.connect(delivered.append)
    engine.request([np.array([[0.0, 0.0, 0.0], [50.0, 40.0, 10.0]])])  # in flight with the slow model
    engine.set_classifier(classifier)  # a fast model now
    engine.wait_idle()
    qtbot.wait(50)
    assert delivered == []  # the old model's answer never showed
    seq = engine.request([np.array([[0.0, 0.0, 0.0], [50.0, 40.0, 10.0]])])
    # The new model answers (at once, or from the worker when a busy machine makes it slow).
    qtbot.waitUntil(lambda: bool(delivered) and delivered[-1].seq == seq, timeout=5000)


def test_log_predictions_prints_one_json_line_per_update(qtbot, classifier, tmp_path, capsys):
    window = make_window(qtbot, classifier, tmp_path, log_predictions=True)
    capsys.readouterr()
    for stroke in ([[100, 100], [200, 150], [300, 100]], [[100, 300], [300, 300]]):
        draw_stroke(window.canvas, np.array(stroke))
        settle(qtbot, window)  # a person pauses between strokes; a busy machine answers from its worker
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finals = [line for line in lines if line["final"]]
    assert [line["strokes"] for line in finals] == [1, 2]
    for line in lines:
        assert set(line) >= {"time", "strokes", "top"}
        assert len(line["top"]) == 5 and all(set(t) == {"label", "p"} for t in line["top"])
        assert line["top"][0]["label"] in classifier.classes
