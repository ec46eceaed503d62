"""Benchmarks of the desktop app (a script that prints figures, not a test).

1. Stroke end -> updated suggestions: real raw Quick, Draw! drawings are replayed as mouse input on
   the real main window (offscreen); for every stroke we time from the mouse release to the moment
   the suggestion panel and the network view have been updated (rasterize + inference + UI update),
   and to the end of the repaint that follows. Run once per scene size in ``--pieces`` (default: an
   empty scene, and 20 pieces of clean art placed first, drawn and accepted as a person does).
   Target: median <= 5 ms with 20 pieces placed.
2. Cold start: ``python -m inkling.desktop --exit-after-first-suggestion`` in a fresh process, timed
   from launch to the line it prints once the window is shown with its first suggestion ready, against
   ``benchmarks/bare_window.py`` (a bare PySide6 window that runs the same model once through
   onnxruntime), the two started alternately in the same run. Target: at most 1.25 times the bare one.
   Also the processes' CPU time, steadier than wall time on a shared machine.

    python benchmarks/bench_app.py [--data DIR] [--model M] [--per-class N] [--pieces 0,20] [--starts N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the tests' helpers that replay drawings as mouse input


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def bench_stroke_end(model_path: Path, data_dir: Path, per_class: int, pieces: int) -> dict:
    """Stroke end -> suggestions shown, with ``pieces`` pieces of clean art placed in the scene first.

    The pieces are real drawings drawn with the mouse into a 5 x 4 grid and accepted as their class's
    art; the timed drawings are then drawn over the whole canvas, and each is undone stroke by stroke
    afterwards, so the scene keeps exactly ``pieces`` pieces throughout.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from inkling.desktop.art import ArtLibrary
    from inkling.desktop.main_window import MainWindow
    from inkling.desktop.references import ReferenceLibrary
    from inkling.desktop.settings import AppSettings
    from inkling.model.classifier import load_model
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from test_app_support import LEFT, NO_MOD, fit_into, fit_to_widget, raw_drawings

    app = QApplication.instance() or QApplication([])
    classifier = load_model(model_path)

    def draw_stroke(canvas, stroke):
        QTest.mousePress(canvas, LEFT, NO_MOD, QPoint(*map(int, stroke[0])))
        for x, y in stroke[1:]:
            QTest.mouseMove(canvas, QPoint(int(x), int(y)))

    with tempfile.TemporaryDirectory() as tmp:
        art = ArtLibrary.load()
        window = MainWindow(
            classifier,
            settings=AppSettings(Path(tmp) / "s.ini"),
            references=ReferenceLibrary.load(),
            art=art,
        )
        window.resize(1000, 640)
        window.show()
        app.processEvents()
        window.engine.warm_up()
        canvas = window.canvas

        # The scene: `pieces` real drawings, each accepted as its class's clean art, in a 5 x 4 grid.
        with_art = [c for c in classifier.classes if art.has(c)]
        cell = min(canvas.width() / 5, canvas.height() / 4)
        for i in range(pieces):
            label = with_art[(i * 7) % len(with_art)]  # spread over the classes
            record = raw_drawings(data_dir, label, limit=1)[0]
            x, y = (i % 5) * cell, (i // 5 % 4) * cell
            for stroke in fit_into(record.strokes, x + 0.1 * cell, y + 0.1 * cell, 0.8 * cell):
                draw_stroke(canvas, stroke)
                QTest.mouseRelease(canvas, LEFT, NO_MOD, QPoint(*map(int, stroke[-1])))
            window.engine.wait_idle()
            app.processEvents()
            if not window.replace_with(label):
                raise RuntimeError(f"could not place the art for {label!r}")
        app.processEvents()
        placed = len(window.scene)
        placed_art = sum(1 for p in window.scene.pieces if p.label and art.has(p.label))

        shown_at: list[float] = []
        window.suggestionsShown.connect(lambda p: shown_at.append(time.perf_counter()))
        latencies, repainted, compute, points = [], [], [], []
        drawings = [r for label in classifier.classes for r in raw_drawings(data_dir, label, limit=per_class)]
        for record in drawings:
            for stroke in fit_to_widget(record.strokes, canvas.width(), canvas.height()):
                draw_stroke(canvas, stroke)
                app.processEvents()  # let throttled in-stroke requests run before the timed part
                window.engine.wait_idle()
                app.processEvents()
                shown_at.clear()
                start = time.perf_counter()
                QTest.mouseRelease(canvas, LEFT, NO_MOD, QPoint(*map(int, stroke[-1])))
                while not (
                    shown_at
                    and window.engine.last.final
                    and window.engine.last.n_strokes == len(window.document)
                ):
                    app.processEvents()  # only needed when inference ran on the worker thread
                latencies.append((shown_at[-1] - start) * 1000)
                app.processEvents()  # the repaint of the canvas and the panels
                repainted.append((time.perf_counter() - start) * 1000)
                compute.append(window.engine.last.compute_ms)
            points.append(sum(len(s.points) for s in window.document.strokes))
            for _ in range(len(window.document)):  # take the doodle back; the placed art stays
                window.undo_stack.undo()
            app.processEvents()
            assert len(window.document) == 0 and len(window.scene) == placed
        off_thread = window.engine.off_thread
        window.ask_unsaved = lambda action: "discard"  # the benchmark's scene: no "save changes?" box
        window.close()
    return {
        "pieces_in_scene": placed,
        "pieces_shown_as_svg_art": placed_art,
        "drawings": len(drawings),
        "strokes": len(latencies),
        "points_per_drawing_median": float(np.median(points)),
        "stroke_end_to_suggestions_ms": {
            "median": round(statistics.median(latencies), 2),
            "p95": round(percentile(latencies, 95), 2),
            "max": round(max(latencies), 2),
        },
        "stroke_end_to_repainted_ms": {
            "median": round(statistics.median(repainted), 2),
            "p95": round(percentile(repainted, 95), 2),
        },
        "rasterize_plus_inference_ms": {
            "median": round(statistics.median(compute), 2),
            "p95": round(percentile(compute, 95), 2),
        },
        "inference_off_ui_thread": off_thread,
    }


def _launch_to_ready(command: list[str], env: dict) -> tuple[float, dict]:
    """Milliseconds from starting ``command`` to the JSON line it prints when its window is ready."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - start) * 1000
    proc.wait(timeout=30)
    if not line:
        raise RuntimeError(f"{command[1:3]} exited with {proc.returncode} before it was ready")
    ready = json.loads(line)
    assert ready["shown"], ready
    return elapsed, ready


def _summary(times: list[float]) -> dict:
    return {
        "median": round(statistics.median(times), 1),
        "min": round(min(times), 1),
        "max": round(max(times), 1),
        "all": [round(t) for t in times],
    }


def bench_cold_start(model_path: Path, runs: int) -> dict:
    """Inkling's whole process to its first suggestion against a bare PySide6 window that runs the same
    model once (benchmarks/bare_window.py), started alternately so both see the same machine load."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    # An installed app has its bytecode compiled (pip and PyInstaller do it); a checkout run with
    # PYTHONDONTWRITEBYTECODE would recompile Inkling's sources on every start and time that instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    inkling_ms, bare_ms, inner, inkling_cpu, bare_cpu, inkling_main, bare_main = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        # No taught classes of the person's own, but the data folder found as on a person's machine.
        env.pop("INKLING_DATA_DIR", None)
        env["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        inkling = [
            sys.executable,
            "-m",
            "inkling.desktop",
            "--model",
            str(model_path),
            "--settings",
            str(Path(tmp) / "s.ini"),
            "--exit-after-first-suggestion",
        ]
        bare = [sys.executable, str(ROOT / "benchmarks" / "bare_window.py"), str(model_path)]
        _launch_to_ready(bare, env)  # untimed: writes bytecode, fills the disk cache
        _launch_to_ready(inkling, env)
        for i in range(runs):
            order = (inkling, bare) if i % 2 == 0 else (bare, inkling)
            for command in order:
                elapsed, ready = _launch_to_ready(command, env)
                if command is inkling:
                    inkling_ms.append(elapsed)
                    inner.append(ready["ready_ms"])
                    inkling_cpu.append(ready["cpu_ms"])
                    inkling_main.append(ready["main_thread_cpu_ms"])
                else:
                    bare_ms.append(elapsed)
                    bare_cpu.append(ready["cpu_ms"])
                    bare_main.append(ready["main_thread_cpu_ms"])
    ratios = [a / b for a, b in zip(inkling_ms, bare_ms, strict=True)]
    return {
        "runs": runs,
        "inkling_launch_to_first_suggestion_ms": _summary(inkling_ms),
        "inkling_in_process_ready_ms_median": round(statistics.median(inner), 1),
        "bare_window_launch_to_shown_ms": _summary(bare_ms),
        "ratio_of_medians": round(statistics.median(inkling_ms) / statistics.median(bare_ms), 3),
        "ratio_of_mins": round(min(inkling_ms) / min(bare_ms), 3),
        "ratio_per_pair_median": round(statistics.median(ratios), 3),
        # CPU time to ready (all threads; steadier than wall time on a shared machine)
        "cpu_ms_median": {
            "inkling": round(statistics.median(inkling_cpu), 1),
            "bare_window": round(statistics.median(bare_cpu), 1),
        },
        "cpu_ratio_of_medians": round(statistics.median(inkling_cpu) / statistics.median(bare_cpu), 3),
        # The main thread's CPU time, the least run of each: the work on the path to the first paint,
        # least disturbed by other processes (a busy machine adds cache misses, never removes work).
        "main_thread_cpu_ms_min": {"inkling": min(inkling_main), "bare_window": min(bare_main)},
        "main_thread_cpu_ratio_of_mins": round(min(inkling_main) / min(bare_main), 3),
        "target_ratio": 1.25,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("INKLING_QUICKDRAW_DIR"))
    parser.add_argument("--model", type=Path, default=ROOT / "resources" / "models" / "default.onnx")
    parser.add_argument("--per-class", type=int, default=2, help="raw drawings per class to replay")
    parser.add_argument(
        "--pieces",
        default="0,20",
        help="pieces of art placed in the scene, one stroke run for each (comma list)",
    )
    parser.add_argument("--starts", type=int, default=7, help="cold starts to time")
    parser.add_argument("--skip-strokes", action="store_true")
    parser.add_argument("--skip-start", action="store_true")
    args = parser.parse_args(argv)
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    if not args.skip_start:
        report["cold_start"] = bench_cold_start(args.model, args.starts)
        print(json.dumps({"cold_start": report["cold_start"]}), flush=True)
    if not args.skip_strokes:
        if args.data is None:
            parser.error("--data or INKLING_QUICKDRAW_DIR is needed for the stroke benchmark")
        report["stroke_end"] = [
            bench_stroke_end(args.model, args.data, args.per_class, int(n)) for n in args.pieces.split(",")
        ]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
