"""Take docs/screenshot.png: the real window with a composed picture, made as a person makes it.

Real Quick, Draw! drawings are drawn with mouse events, one object at a time; each is accepted as its
class's clean art (as Return or a click on the top suggestion does), and the last one is left as a doodle
in progress, so the picture shows placed art and the suggestion row for the doodle. Each drawing is
one the model gets right with confidence when it is drawn (it is drawn beside the art already placed,
and the suggestions see that doodle only).

Run under a display, e.g. Xvfb:

    xvfb-run -s "-screen 0 1400x900x24" python benchmarks/screenshot.py [--out docs/screenshot.png]
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

# (class, x, y, side) in the canvas widget's pixels; the last one stays a doodle with its suggestions.
# Used when the model knows every class here; otherwise the first classes it does know, in a row.
PICTURE = [
    ("cloud", 60, 60, 200),
    ("rainbow", 340, 50, 240),
    ("bird", 660, 90, 150),
    ("house", 50, 350, 270),
    ("tree", 350, 310, 290),
    ("flower", 300, 640, 120),
    ("dog", 640, 430, 240),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("INKLING_QUICKDRAW_DIR"))
    parser.add_argument("--model", type=Path, default=ROOT / "resources" / "models" / "default.onnx")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error("--data or INKLING_QUICKDRAW_DIR is needed")

    from inkling.desktop.art import ArtLibrary
    from inkling.desktop.main_window import MainWindow
    from inkling.desktop.references import ReferenceLibrary
    from inkling.desktop.settings import AppSettings
    from inkling.model.classifier import load_model
    from inkling.model.strokes import atomic_write_bytes
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from test_app_support import LEFT, NO_MOD, fit_into, raw_drawings

    app = QApplication([sys.argv[0]])  # noqa: F841 (kept alive for the whole run)
    classifier = load_model(args.model)
    art = ArtLibrary.load()
    picture = PICTURE
    if not all(label in classifier.classes and art.has(label) for label, *_ in picture):
        known = [c for c in classifier.classes if art.has(c)][: len(PICTURE)]
        picture = [(label, *place[1:]) for label, place in zip(known, PICTURE, strict=True)]

    def recognized(label: str, last: bool):
        """A drawing of ``label`` that the model gets right with confidence (for the doodle left in
        progress, one where other guesses are listed too, to show the row); the first one otherwise."""
        candidates = raw_drawings(args.data, label)
        if not candidates:
            raise SystemExit(f"no raw drawings of {label!r} in {args.data}")
        for record in candidates:
            top = classifier.classify_strokes(record.strokes, 3)
            if top[0].label == label and (top[0].p > 0.7 if not last else 0.4 < top[0].p and top[1].p > 0.08):
                return record
        return candidates[0]

    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(
            classifier,
            settings=AppSettings(Path(tmp) / "s.ini"),
            references=ReferenceLibrary.load(),
            art=art,
        )
        window.resize(1200, 760)
        window.show()
        QTest.qWaitForWindowExposed(window)
        window.engine.warm_up()
        canvas = window.canvas
        drawn = []
        for n, (label, x, y, side) in enumerate(picture):
            record = recognized(label, last=n == len(picture) - 1)
            for stroke in fit_into(record.strokes, x, y, side):
                QTest.mousePress(canvas, LEFT, NO_MOD, QPoint(*map(int, stroke[0])))
                for px, py in stroke[1:]:
                    QTest.mouseMove(canvas, QPoint(int(px), int(py)))
                QTest.mouseRelease(canvas, LEFT, NO_MOD, QPoint(*map(int, stroke[-1])))
            for _ in range(100):  # the suggestions for this doodle (on a busy machine, from the worker)
                window.engine.wait_idle()
                QTest.qWait(20)
                last = window.engine.last
                if last is not None and last.final and last.n_strokes == len(window.document):
                    break
            top = [(s.label, round(s.p, 2)) for s in window.engine.last.top[:3]]
            drawn.append((label, record.key_id, len(window.document), top))
            if n < len(picture) - 1 and not window.replace_with(label):  # accept it as its clean art
                raise SystemExit(f"could not place the art for {label!r}")
        QTest.qWait(300)  # let the event loop paint everything
        screen = QGuiApplication.primaryScreen()
        pixmap = (
            screen.grabWindow(window.winId()) if QGuiApplication.platformName() == "xcb" else window.grab()
        )
        if pixmap.isNull() or pixmap.width() < 100:
            pixmap = window.grab()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        pixmap.save(buffer, "PNG")
        atomic_write_bytes(args.out, bytes(data))
        print(f"{args.out}: {pixmap.width()}x{pixmap.height()}, {len(window.scene)} pieces placed")
        for label, key, strokes, top in drawn:
            print(f"  drew {label} ({key}, {strokes} strokes): suggestions {top}")
        window.ask_unsaved = lambda action: "discard"  # the demo picture: no "save changes?" box
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
