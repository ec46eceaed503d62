"""Live inference scheduling: strokes in, ranked suggestions out, without ever stalling the UI.

Requests come at most every ``interval_ms`` while a stroke is being drawn and at once when it ends.
Each request gets a sequence number. While rasterizing plus inference fits a frame budget (measured as
a running average) it runs right away on the UI thread, which is the fastest path; when it does not, it
runs on a single worker thread, only the newest waiting request is kept, and a result older than one
already shown (or computed with a model that has since been replaced) is dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from inkling.model.classifier import Classifier, Suggestion, softmax
from inkling.model.raster import rasterize
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal

from .latest_job import LatestJob

INTERVAL_MS = 100  # the most often a stroke in progress is classified
FRAME_BUDGET_MS = 10.0  # slower than this on average, and inference moves off the UI thread
TOP = 5


@dataclass
class Prediction:
    seq: int
    n_strokes: int
    image: np.ndarray  # the (28, 28) uint8 image the model saw
    probs: np.ndarray  # (K,) over ``classes``; empty for an empty drawing
    classes: list[str]
    top: list[Suggestion] = field(default_factory=list)
    compute_ms: float = 0.0
    final: bool = True  # False while the stroke is still being drawn

    @property
    def empty(self) -> bool:
        return self.n_strokes == 0


def predict(classifier: Classifier, strokes: list[np.ndarray], seq: int = 0, top: int = TOP) -> Prediction:
    """Rasterize and classify one drawing (no Qt; safe on any thread)."""
    start = time.perf_counter()
    image = rasterize(strokes) if strokes else np.zeros((28, 28), dtype=np.uint8)
    if strokes:
        logits, _ = classifier.run(image[None])
        probs = softmax(logits)[0]
        ranked = classifier.rank(probs, top)
    else:
        probs, ranked = np.zeros(0, dtype=np.float32), []
    ms = (time.perf_counter() - start) * 1000
    return Prediction(seq, len(strokes), image, probs, list(classifier.classes), ranked, ms)


@dataclass
class _Request:
    classifier: Classifier
    generation: int  # of the classifier: a result from one since replaced is dropped
    strokes: list[np.ndarray]
    seq: int
    final: bool

    def run(self) -> Prediction:
        result = predict(self.classifier, self.strokes, self.seq)
        result.final = self.final
        return result


class SuggestionEngine(QObject):
    predicted = Signal(object)  # Prediction, on the UI thread, in increasing seq order

    def __init__(
        self,
        classifier: Classifier,
        parent=None,
        *,
        interval_ms: int = INTERVAL_MS,
        budget_ms: float = FRAME_BUDGET_MS,
    ):
        super().__init__(parent)
        self.classifier = classifier
        self.interval_ms = interval_ms
        self.budget_ms = budget_ms
        self.average_ms = 0.0
        self._seq = 0
        self._shown = -1
        self._generation = 0
        self._provider = None
        self._since_last = QElapsedTimer()
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.timeout.connect(self._throttled_fire)
        self._worker = LatestJob(_Request.run, self)  # only the newest waiting request is kept
        self._worker.done.connect(self._worker_done)
        self.last: Prediction | None = None

    # --- configuration ----------------------------------------------------------------------------

    def set_classifier(self, classifier: Classifier) -> None:
        """Use another model; results still on their way from the old one are dropped."""
        self.classifier = classifier
        self._generation += 1
        self._worker.waiting = None
        self.average_ms = 0.0
        self.warm_up()

    def warm_up(self) -> float:
        """One drawing through the rasterizer and the model, so the first real one does not pay for
        their lazy set-up (loading the model already ran it once), and a first timing to go by."""
        dot = [np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])]
        ms = predict(self.classifier, dot).compute_ms
        self.average_ms = ms
        return ms

    @property
    def off_thread(self) -> bool:
        return self.average_ms > self.budget_ms

    @property
    def busy(self) -> bool:
        """Whether the worker thread is classifying a drawing."""
        return self._worker.busy

    # --- requests ---------------------------------------------------------------------------------

    def request(self, strokes: list[np.ndarray], *, final: bool = True) -> int:
        """Classify this drawing as soon as possible; returns the request's sequence number."""
        self._throttle.stop()
        self._since_last.start()
        self._seq += 1
        seq = self._seq
        strokes = [np.array(s, copy=True) for s in strokes]  # the worker gets its own copy
        request = _Request(self.classifier, self._generation, strokes, seq, final)
        if not self._worker.busy and (not strokes or not self.off_thread):
            self._run_here(request)
        else:
            self._worker.submit(request)
        return seq

    def request_throttled(self, provider) -> None:
        """While a stroke is drawn: classify ``provider()`` now, or when ``interval_ms`` has passed."""
        self._provider = provider
        if not self._since_last.isValid() or self._since_last.elapsed() >= self.interval_ms:
            self.request(provider(), final=False)
        elif not self._throttle.isActive():
            self._throttle.start(max(0, self.interval_ms - self._since_last.elapsed()))

    def _throttled_fire(self) -> None:
        if self._provider is not None:
            self.request(self._provider(), final=False)

    # --- results ----------------------------------------------------------------------------------

    def _learn(self, ms: float) -> None:
        self.average_ms = 0.7 * self.average_ms + 0.3 * ms if self.average_ms else ms

    def _run_here(self, request: _Request) -> None:
        result = request.run()
        self._learn(result.compute_ms)
        self._deliver(result)

    def _worker_done(self, request: _Request, result: Prediction | None) -> None:
        if result is not None and request.generation == self._generation:  # else: a replaced model's
            self._learn(result.compute_ms)
            self._deliver(result)
        waiting = self._worker.take_waiting()  # made with the current model: set_classifier drops it
        if waiting is not None:
            if self.off_thread or not waiting.strokes:
                self._worker.start(waiting)
            else:
                self._run_here(waiting)

    def _deliver(self, result: Prediction) -> None:
        if result.seq <= self._shown:
            return  # stale: a newer drawing's result is already on screen
        self._shown = result.seq
        self.last = result
        self.predicted.emit(result)

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """For tests and benchmarks: let the worker finish (its result is delivered by the event loop)."""
        return self._worker.wait_done(timeout_ms)
