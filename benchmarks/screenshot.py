"""Take docs/screenshot.png: the real window, a real Quick, Draw! drawing drawn with mouse events, its suggestions.

Run under a display, e.g. Xvfb:

    xvfb-run -s "-screen 0 1400x900x24" python benchmarks/screenshot.py [--label cat] [--out docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("INKLING_QUICKDRAW_DIR"))
    parser.add_argument("--model", type=Path, default=ROOT / "resources" / "models" / "default.onnx")
    parser.add_argument("--label", default="cat", help="draw a drawing of this class")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    args = parser.parse_args(argv)

    from inkling.desktop.main_window import MainWindow
    from inkling.desktop.references import ReferenceLibrary
    from inkling.desktop.settings import AppSettings
    from inkling.model.classifier import load_model
    from inkling.model.strokes import atomic_write_bytes
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from test_app_support import LEFT, NO_MOD, fit_to_widget, raw_drawings

    app = QApplication([sys.argv[0]])  # noqa: F841 (kept alive for the whole run)
    classifier = load_model(args.model)
    # A drawing of the class that the model gets right with confidence makes a fair picture.
    candidates = raw_drawings(args.data, args.label)
    chosen = next(
        (
            r
            for r in candidates
            if (top := classifier.classify_strokes(r.strokes, 1)[0]).label == args.label and top.p > 0.6
        ),
        candidates[0],
    )
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(
            classifier, settings=AppSettings(Path(tmp) / "s.ini"), references=ReferenceLibrary.load()
        )
        window.resize(1200, 760)
        window.show()
        QTest.qWaitForWindowExposed(window)
        window.engine.warm_up()
        canvas = window.canvas
        for stroke in fit_to_widget(chosen.strokes, canvas.width(), canvas.height(), margin=90):
            QTest.mousePress(canvas, LEFT, NO_MOD, QPoint(*map(int, stroke[0])))
            for x, y in stroke[1:]:
                QTest.mouseMove(canvas, QPoint(int(x), int(y)))
            QTest.mouseRelease(canvas, LEFT, NO_MOD, QPoint(*map(int, stroke[-1])))
        window.engine.wait_idle()
        QTest.qWait(300)  # let the event loop paint everything
        screen = QGuiApplication.primaryScreen()
        pixmap = (
            screen.grabWindow(window.winId()) if QGuiApplication.platformName() == "xcb" else window.grab()
        )
        if pixmap.isNull() or pixmap.width() < 100:
            pixmap = window.grab()
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        pixmap.save(buffer, "PNG")
        atomic_write_bytes(args.out, bytes(data))
        print(
            f"{args.out}: {pixmap.width()}x{pixmap.height()}, drew {chosen.word} {chosen.key_id}, "
            f"suggestions {[(s.label, round(s.p, 2)) for s in window.engine.last.top]}"
        )
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
