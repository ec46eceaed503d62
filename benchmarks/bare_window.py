"""The cold-start baseline for ``bench_app.py``: the least a PySide6 app that runs the model can do.

A bare QMainWindow process that loads the same ONNX model through onnxruntime, runs it once on a blank
28x28 image, shows the window and, once its content has been painted (the moment Inkling's
``--exit-after-first-suggestion`` reports: after its canvas's first paint), prints one JSON line and
exits. No Inkling code is imported, so the ratio of Inkling's start-up to this one is what Inkling adds.

    python benchmarks/bare_window.py MODEL.onnx
"""

from __future__ import annotations

import json
import sys
import time


def main(argv=None) -> int:
    started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: bare_window.py MODEL.onnx", file=sys.stderr)
        return 2
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication([sys.argv[0]])
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2  # the runtime settings of Inkling's classifier (model/classifier.py)
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    session = ort.InferenceSession(argv[0], sess_options=opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    shape = [d if isinstance(d, int) else 1 for d in session.get_inputs()[0].shape]
    outputs = session.run(None, {name: np.zeros(shape, dtype=np.float32)})
    window = QMainWindow()
    window.setWindowTitle("bare window")
    label = QLabel(f"top class index {int(np.argmax(outputs[0]))}")
    window.setCentralWidget(label)
    window.resize(1100, 680)

    def ready():
        line = {
            "ready_ms": round((time.perf_counter() - started) * 1000, 1),
            "cpu_ms": round(time.process_time() * 1000, 1),
            "main_thread_cpu_ms": round(time.thread_time() * 1000, 1),
            "shown": window.isVisible(),
        }
        print(json.dumps(line), flush=True)
        app.quit()

    class FirstPaint(QObject):  # ready once the window's content has been painted (as Inkling's canvas)
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                obj.removeEventFilter(self)
                QTimer.singleShot(0, ready)
            return False

    watch = FirstPaint(label)
    label.installEventFilter(watch)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
