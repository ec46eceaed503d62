"""Start the desktop app: one QApplication, the model loaded once and warmed up, the main window."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path


def choose_classifier(args, settings):
    """The model named on the command line, else the last one opened, else the bundled one."""
    return _choose_model(args.model, settings.last_model)


def _choose_model(named: str | None, last: str | None):
    from inkling.model.classifier import default_model_path, load_model
    from inkling.model.contract import ModelError

    if named:
        try:
            return load_model(named)
        except ModelError as exc:
            raise SystemExit(f"inkling: {exc}") from None
    if last and Path(last).exists():
        try:
            return load_model(last)
        except ModelError as exc:
            print(f"inkling: {exc}; using the bundled model", file=sys.stderr)
    try:
        return load_model(default_model_path())
    except ModelError as exc:
        raise SystemExit(f"inkling: the bundled model is unusable: {exc}") from None


class _InBackground(threading.Thread):
    """Calls ``fn`` on its own thread; ``result()`` waits for it and returns its value or raises what it
    raised (SystemExit included), on the caller's thread. (A one-call future: importing
    concurrent.futures for it would cost start-up about 7 ms, half of what the thread saves.)"""

    def __init__(self, fn, *args):
        super().__init__(name="inkling-load-model", daemon=True)
        self._call = (fn, args)
        self._value = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        fn, args = self._call
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def run(args) -> int:
    started = time.perf_counter()
    # numpy and onnxruntime before Qt: once PySide6 is imported, its import hook reads the source of
    # every module imported after it (about 150 modules of these two; 7 ms of start-up on 2 cores).
    import numpy  # noqa: F401
    import onnxruntime  # noqa: F401

    from .settings import APPLICATION, ORGANIZATION, AppSettings

    settings = AppSettings(args.settings)
    if settings.problem:
        print(f"inkling: {settings.problem}", file=sys.stderr)
    # The model loads on its own thread while Qt starts and the window's modules are imported: building
    # the ONNX Runtime session runs without the GIL (about 15 ms less to the first suggestion on 2 cores).
    # A model that cannot be used still ends the start with its message, before any window is shown.
    loading = _InBackground(_choose_model, args.model, settings.last_model)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)

    from .main_window import MainWindow
    from .references import ReferenceLibrary
    from .teach_store import data_dir

    classifier = loading.result()
    window = MainWindow(
        classifier,
        settings=settings,
        references=ReferenceLibrary.load(),
        log_predictions=args.log_predictions,
        data_dir=data_dir,  # (looked up when teach mode first needs it)
    )
    if args.exit_after_first_suggestion:
        window.firstPainted.connect(lambda: _report_ready(app, window, started))
    if getattr(args, "report_canvas", False):
        window.firstPainted.connect(lambda: _report_canvas(window))
    window.show()
    window.refresh_suggestions()  # an empty canvas: no inference before the first paint
    return app.exec()


def _report_ready(app, window, started: float) -> None:
    """--exit-after-first-suggestion: after the first paint, one JSON line (time, CPU time) and quit."""
    line = {
        "ready_ms": round((time.perf_counter() - started) * 1000, 1),
        "cpu_ms": round(time.process_time() * 1000, 1),  # the whole process's, all threads
        "main_thread_cpu_ms": round(time.thread_time() * 1000, 1),
        "shown": window.isVisible(),
        "suggestion_seq": window.engine.last.seq if window.engine.last else None,
    }
    print(json.dumps(line), flush=True)
    app.quit()


def _report_canvas(window) -> None:
    """--report-canvas: where the canvas is on the screen, for benchmarks that drive the real mouse."""
    canvas = window.canvas
    corner = canvas.mapToGlobal(canvas.rect().topLeft())
    size = {"x": corner.x(), "y": corner.y(), "width": canvas.width(), "height": canvas.height()}
    print(json.dumps({"canvas": size}), flush=True)
