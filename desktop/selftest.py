"""``inkling --self-test``: check an installation (frozen or not) without a display, and say what is wrong.

It loads the model, classifies every bundled reference drawing (each must come out as its own class,
at least MIN_ACCURACY of them), teaches the model two symbols from one drawing each, then builds the
main window on Qt's offscreen platform, draws one reference through the canvas's live suggestion path
and renders the window once, so that a bundle missing a Qt plugin, a library or a data file fails here
rather than on someone's desktop. Prints one line per check with timings; exits 0 when all pass, 1
otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

MIN_ACCURACY = 0.90  # the references are drawings the model got right when they were chosen
# Teaching gives the new classes under 1% of the base classes' drawings (FitOptions.base_budget); the
# references, drawings the model is sure of, lose fewer.
MIN_KEPT_AFTER_TEACHING = 0.97
WINDOW_TIMEOUT_MS = 10_000
# Packages a bundle must not carry: training only, or test tools (see packaging/inkling.spec).
TRAINING_ONLY = (
    "torch",
    "torchvision",
    "onnx",
    "matplotlib",
    "tqdm",
    "inkling.training",
    "pytest",
    "hypothesis",
)


class SelfTestFailure(Exception):
    """A check that cannot go on: what was checked, and what is wrong."""

    def __init__(self, what: str, detail: str):
        super().__init__(f"{what}: {detail}")
        self.what, self.detail = what, detail


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.started = time.perf_counter()

    def line(self, text: str) -> None:
        print(text, flush=True)

    def ok(self, what: str, detail: str) -> None:
        self.line(f"ok    {what}: {detail}")

    def fail(self, what: str, detail: str) -> None:
        self.problems.append(f"{what}: {detail}")
        self.line(f"FAIL  {what}: {detail}")

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def _ms(start: float) -> str:
    return f"{(time.perf_counter() - start) * 1000:.0f} ms"


def check_environment(report: Report) -> None:
    frozen = bool(getattr(sys, "frozen", False))
    where = getattr(sys, "_MEIPASS", None) if frozen else sys.prefix
    report.line(f"Inkling self-test: {'frozen bundle' if frozen else 'Python'} at {where}")
    report.line(f"      Python {sys.version.split()[0]} on {sys.platform}")
    if frozen:
        present = [name for name in TRAINING_ONLY if importlib.util.find_spec(name) is not None]
        if present:
            report.fail("bundle contents", f"training-only packages are bundled: {', '.join(present)}")
        else:
            report.ok("bundle contents", "no training-only packages")


def check_model(report: Report, model_arg: str | None):
    from inkling.model.classifier import default_model_path, load_model
    from inkling.model.contract import ModelError

    path = Path(model_arg) if model_arg else default_model_path()
    start = time.perf_counter()
    try:
        import onnxruntime as ort

        providers = ort.get_available_providers()
    except Exception as exc:  # a broken onnxruntime bundle fails in many ways
        raise SelfTestFailure("model", f"onnxruntime cannot be imported: {exc}") from None
    if "CPUExecutionProvider" not in providers:
        raise SelfTestFailure("model", f"onnxruntime has no CPU provider (has {providers})")
    try:
        classifier = load_model(path)
    except ModelError as exc:
        raise SelfTestFailure("model", f"the model cannot be used: {exc}") from None
    report.ok("model", f"{path} ({len(classifier.classes)} classes), loaded in {_ms(start)}")
    return classifier


def load_references(report: Report):
    from inkling.desktop.references import default_references_path
    from inkling.model.strokes import StrokeFormatError, read_ndjson

    path = default_references_path()
    if not path.exists():
        raise SelfTestFailure("references", f"the reference drawings are missing: {path}")
    try:
        result = read_ndjson(path, skip_bad=True)
    except (OSError, StrokeFormatError, UnicodeDecodeError) as exc:
        raise SelfTestFailure("references", f"the reference drawings cannot be read: {exc}") from None
    records = [r for r in result.records if r.word and r.strokes]
    if not records:
        raise SelfTestFailure("references", f"no usable reference drawings in {path}")
    if result.skipped:
        report.fail("references", result.summary(path))
    report.ok("references", f"{path} ({len(records)} drawings)")
    return records


def check_classification(report: Report, classifier, records):
    """Returns the references' images and the model's top-1 for each (for check_teaching)."""
    from inkling.model.raster import rasterize_batch

    start = time.perf_counter()
    images = rasterize_batch([r.strokes for r in records])
    raster_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    probs = classifier.predict_proba(images)
    infer_ms = (time.perf_counter() - start) * 1000
    known = set(classifier.classes)
    correct = 0
    for record, p in zip(records, probs, strict=True):
        top = classifier.rank(p, 1)[0]
        if record.word not in known:
            verdict, detail = "FAIL ", "not a class of this model"
        elif top.label == record.word:
            verdict, detail = "ok   ", f"{top.p:.2f}"
            correct += 1
        else:
            verdict, detail = "FAIL ", f"got {top.label!r} ({top.p:.2f})"
        report.line(f"{verdict} reference {record.word!r}: {detail}")
    accuracy = correct / len(records)
    summary = (
        f"{correct}/{len(records)} references classified as their own class ({accuracy:.0%}, "
        f"need {MIN_ACCURACY:.0%}); rasterize {raster_ms:.0f} ms, inference {infer_ms:.0f} ms"
    )
    if accuracy >= MIN_ACCURACY:
        report.ok("classification", summary)
    else:
        report.fail("classification", summary)
    return images, probs.argmax(axis=1)


# Two symbols no Quick, Draw! category is (a psi and a xi), for the teaching check: lines in any units.
TEACH_MARKS = {
    "self-test psi": [[(0, 40), (20, 110), (50, 130), (80, 110), (100, 40)], [(50, 0), (50, 200)]],
    "self-test xi": [
        [(0, 0), (100, 0)],
        [(10, 100), (90, 100)],
        [(0, 200), (100, 200)],
        [(50, 0), (50, 200)],
    ],
}


def check_teaching(report: Report, classifier, images, before) -> None:
    """Teach two symbols from one drawing each (the app's Teach path, numpy only): each must then be
    recognised as itself, and the references keep the class the model gave them."""
    import numpy as np
    from inkling.model.classset import teach

    if classifier.head is not None or classifier.meta.base_embeddings is None:
        report.ok("teach", "skipped: the model is a class set, or carries no base sample to teach against")
        return
    start = time.perf_counter()
    marks = {name: [np.asarray(s, dtype=float) for s in strokes] for name, strokes in TEACH_MARKS.items()}
    try:
        taught = teach(
            classifier, {name: [strokes] for name, strokes in marks.items()}, measure_quality=False
        )
    except Exception as exc:  # whatever breaks in a bundle (BLAS, the model's metadata) is the finding
        raise SelfTestFailure("teach", f"teaching failed: {type(exc).__name__}: {exc}") from None
    seconds = time.perf_counter() - start
    clf = taught.classifier()
    got = [clf.classify_strokes(strokes, top=1)[0].label for strokes in marks.values()]
    wrong = [
        f"{name!r} came out as {label!r}" for name, label in zip(marks, got, strict=True) if label != name
    ]
    kept = int((clf.predict_proba(images).argmax(1) == before).sum())
    detail = (
        f"{len(marks)} symbols taught from one drawing each in {seconds * 1000:.0f} ms "
        f"(features {classifier.teach_dim}); {kept}/{len(images)} references keep their class"
    )
    if wrong or kept < MIN_KEPT_AFTER_TEACHING * len(images):
        report.fail("teach", f"{detail}; {', '.join(wrong) or 'references lost'}")
    else:
        report.ok("teach", f"{detail}; each symbol recognised as itself")


def _widget_points(strokes, width: int, height: int, margin: int = 60) -> list:
    """A drawing scaled (aspect kept) into a widget of this size, in widget pixels."""
    import numpy as np

    xy = np.concatenate([s[:, :2] for s in strokes])
    low, span = xy.min(axis=0), np.maximum(xy.max(axis=0) - xy.min(axis=0), 1.0)
    scale = float(min((width - 2 * margin) / span[0], (height - 2 * margin) / span[1]))
    return [(s[:, :2] - low) * scale + margin for s in strokes]


def check_window(report: Report, classifier, records) -> None:
    """The main window offscreen, one reference drawn through the canvas, its live suggestion."""
    start = time.perf_counter()
    try:
        from PySide6.QtCore import QEventLoop, QPointF, QTimer
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        raise SelfTestFailure("window", f"Qt cannot be imported: {exc}") from None
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "inkling"])
    platform = app.platformName()

    from inkling.desktop.main_window import MainWindow
    from inkling.desktop.references import ReferenceLibrary
    from inkling.desktop.settings import AppSettings

    with tempfile.TemporaryDirectory(prefix="inkling-selftest-") as tmp:
        # Its own settings file: the self-test must not change the person's window or last model.
        settings = AppSettings(Path(tmp) / "settings.ini")
        library = ReferenceLibrary({r.word: r.strokes for r in records})
        window = MainWindow(classifier, settings=settings, references=library)
        window.engine.warm_up()
        window.resize(1000, 640)
        window.show()
        app.processEvents()
        report.ok("window", f"main window shown on Qt platform {platform!r} in {_ms(start)}")

        record = next((r for r in records if r.word in classifier.classes), records[0])
        shown = []
        window.suggestionsShown.connect(shown.append)
        canvas = window.canvas
        drawn = _widget_points(record.strokes, canvas.width(), canvas.height())
        start = time.perf_counter()
        for points in drawn:
            canvas.begin_stroke(QPointF(*points[0]))
            for x, y in points[1:]:
                canvas.extend_stroke(QPointF(x, y))
            canvas.end_stroke()
        loop = QEventLoop()
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)

        def final_shown() -> bool:
            return any(p.final and p.n_strokes == len(drawn) for p in shown)

        if not final_shown():
            window.suggestionsShown.connect(lambda _p: final_shown() and loop.quit())
            timer.start(WINDOW_TIMEOUT_MS)
            loop.exec()
        final = next((p for p in reversed(shown) if p.final and p.n_strokes == len(drawn)), None)
        if final is None or not final.top:
            report.fail("live suggestion", f"no suggestion within {WINDOW_TIMEOUT_MS} ms of drawing")
        else:
            offline = classifier.classify_strokes(canvas.live_strokes(), 1)[0]
            label = final.top[0].label
            detail = (
                f"drew {record.word!r} in {len(drawn)} strokes, {len(shown)} updates, "
                f"final suggestion {label!r} ({final.top[0].p:.2f}) in {_ms(start)}"
            )
            if label != offline.label:
                report.fail(
                    "live suggestion", f"{detail}, but offline the same strokes are {offline.label!r}"
                )
            elif label != record.word:
                report.fail("live suggestion", f"{detail}, expected {record.word!r}")
            else:
                report.ok("live suggestion", detail)

        start = time.perf_counter()
        image = window.grab().toImage()
        if image.isNull() or image.width() < 100:
            report.fail("render", "the window could not be rendered")
        else:
            report.ok("render", f"window rendered {image.width()}x{image.height()} in {_ms(start)}")
        window.engine.wait_idle()
        window.ask_unsaved = lambda action: "discard"  # the self-test's drawing: no "save changes?" box
        window.close()
        window.deleteLater()
        app.processEvents()


def check_art(report: Report) -> None:
    """The clean art: every mapped SVG parses, and its licences and attribution are there beside it."""
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0] if sys.argv else "inkling"])
    from inkling.desktop.art import ArtLibrary, default_art_dir

    start = time.perf_counter()
    folder = default_art_dir()
    art = ArtLibrary.load(folder)
    labels = art.labels()
    if not labels:
        report.fail("art", art.error or f"no art mapped in {folder}")
        return
    broken = [label for label in labels if art.renderer(label) is None]
    licences = sorted(p.name for p in folder.glob("LICENSE-*.txt"))
    if broken:
        report.fail("art", f"{len(broken)} of {len(labels)} pictures do not load: {', '.join(broken[:5])}")
    elif not (folder / "ATTRIBUTION.md").exists() or not licences:
        report.fail("art", f"the art's ATTRIBUTION.md or licence files are missing from {folder}")
    else:
        report.ok(
            "art",
            f"{len(labels)} pictures load, with ATTRIBUTION.md and {len(licences)} licences, in {_ms(start)}",
        )


def main(args) -> int:
    # Before any Qt import: no display is needed, and none is touched even when there is one.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    report = Report()
    try:
        check_environment(report)
        classifier = check_model(report, getattr(args, "model", None))
        records = load_references(report)
        images, top1 = check_classification(report, classifier, records)
        check_teaching(report, classifier, images, top1)
        check_window(report, classifier, records)
        check_art(report)
    except SelfTestFailure as exc:
        report.fail(exc.what, exc.detail)
    total = f"{report.elapsed_ms():.0f} ms"
    if report.problems:
        count = len(report.problems)
        print(f"self-test FAILED ({count} problem{'s' if count > 1 else ''}, {total}):", file=sys.stderr)
        for problem in report.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"self-test passed in {total}", flush=True)
    return 0
