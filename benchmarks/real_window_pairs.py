"""A second drawing after an accepted first one: is it recognized as well as when drawn alone?

The real app (``python -m inkling.desktop``) runs under Xvfb with the X11 platform plugin, and real raw
Quick, Draw! drawings are drawn into it with the mouse through xdotool (XTEST events, as a person's
mouse gives). For each pair (A, B) of drawings of different classes:

- alone: a fresh app; B is drawn in the right half of the canvas; its top-1 is read;
- after: a fresh app; A is drawn in the left half, Return accepts the top suggestion, then B is drawn
  in the right half, at the same place and size as alone; its top-1 is read;
- alone again (with --noise-floor): B alone once more, in a fresh app. Replaying the same drawing
  twice does not give the app the same points (X events arrive and are merged as the machine's load
  lets them), so the alone-vs-alone difference shows how much of the after-vs-alone difference is that.

Suggestions are read from the app's ``--log-predictions`` lines (the last final one after the drawing).
Prints B's top-1 accuracy in both conditions and the difference (target: within 3 points), one JSON
object. Needs ``Xvfb`` and ``xdotool`` (Debian: ``apt-get install xvfb xdotool``) and the data
(``INKLING_QUICKDRAW_DIR``). Drawings are raw drawings Google's game recognized, of the model's classes,
not also bitmap rows (which training may have seen) where a class has enough of those.

    python benchmarks/real_window_pairs.py [--pairs 40] [--max-seconds 900] [--model M] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the tests' helpers that pick real drawings

QUIET_S = 0.35  # no new suggestion line for this long after the last mouse event: the app has settled
STEP_PAUSE_S = 0.002  # between mouse moves (a drawing of ~150 points takes about 0.3 s)


class XServer:
    """A private Xvfb display for the run (the person's own display is never touched)."""

    def __init__(self, size: str = "1400x900x24"):
        self.size = size
        self.proc: subprocess.Popen | None = None
        self.display = ""

    def __enter__(self) -> XServer:
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", self.size, "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as fh:
            number = fh.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class App:
    """The real Inkling process on the Xvfb display, its suggestion lines read on a thread."""

    def __init__(self, display: str, model: Path, folder: Path):
        env = dict(os.environ)
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", INKLING_DATA_DIR=str(folder / "data"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        command = [sys.executable, "-m", "inkling.desktop", "--model", str(model)]
        command += ["--settings", str(folder / "settings.ini"), "--log-predictions", "--report-canvas"]
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.display = display
        self.lines: queue.Queue = queue.Queue()
        self.last_line_at = time.monotonic()
        threading.Thread(target=self._read, daemon=True).start()
        self.canvas = self._wait_canvas()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.last_line_at = time.monotonic()
            self.lines.put(item)

    def _wait_canvas(self, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"inkling exited with {self.proc.returncode} before showing its window"
                    ) from None
                continue
            if "canvas" in item:
                return item["canvas"]
        raise RuntimeError("inkling did not report its canvas")

    def settle(self, timeout: float = 10.0) -> list[dict]:
        """The suggestion lines that arrive until the app has been quiet for QUIET_S."""
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got.append(self.lines.get(timeout=0.05))
            except queue.Empty:
                if time.monotonic() - self.last_line_at >= QUIET_S:
                    break
        return got

    def xdo(self, commands: list[str]) -> None:
        env = dict(os.environ, DISPLAY=self.display)
        subprocess.run(["xdotool", "-"], input="\n".join(commands) + "\n", text=True, env=env, check=True)

    def draw(self, strokes: list[np.ndarray]) -> dict | None:
        """Draw with the mouse; the last final suggestion line after it (None if none came)."""
        script = []
        for stroke in strokes:
            x, y = stroke[0]
            script += [f"mousemove {x} {y}", "mousedown 1", "sleep 0.01"]
            for i, (x, y) in enumerate(stroke[1:]):
                script.append(f"mousemove {x} {y}")
                if i % 2 == 1:
                    script.append(f"sleep {STEP_PAUSE_S}")
            script += ["sleep 0.01", "mouseup 1", "sleep 0.03"]
        self.xdo(script)
        lines = self.settle()
        finals = [p for p in lines if "top" in p and p.get("final", True)]
        return finals[-1] if finals else None

    def press_return(self) -> list[dict]:
        self.xdo(["key Return"])
        return self.settle()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def place(strokes: list[np.ndarray], centre: tuple[float, float], side: float) -> list[np.ndarray]:
    """Scale a drawing (aspect kept) to fit a side x side box at ``centre``; integer screen points."""
    pts = np.concatenate([s[:, :2] for s in strokes])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = side / max(float((hi - lo).max()), 1.0)
    out = []
    for s in strokes:
        xy = np.round((s[:, :2] - (lo + hi) / 2) * scale + np.asarray(centre)).astype(int)
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = (np.diff(xy, axis=0) != 0).any(axis=1)  # a mouse reports no move without motion
        out.append(xy[keep])
    return out


def slots(canvas: dict) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Left and right drawing places on the screen, side by side in the canvas, and their size."""
    x, y, w, h = canvas["x"], canvas["y"], canvas["width"], canvas["height"]
    side = min(w * 0.36, h * 0.6)
    return (x + w * 0.27, y + h / 2), (x + w * 0.73, y + h / 2), side


def top1(line: dict | None) -> str | None:
    return line["top"][0]["label"] if line and line.get("top") else None


def pick_pairs(data: Path, classes: list[str], n_pairs: int, seed: int):
    from test_app_support import overlap_keys, raw_drawings

    seen = overlap_keys(data)
    pool = {}
    for label in classes:
        good = [r for r in raw_drawings(data, label) if r.extra.get("recognized") and r.strokes]
        fresh = [r for r in good if r.key_id not in seen]
        pool[label] = fresh if len(fresh) >= 4 else good
    labels = [c for c in classes if pool.get(c)]
    rng = random.Random(seed)
    pairs = []
    for _ in range(n_pairs):
        a, b = rng.sample(labels, 2)
        pairs.append((rng.choice(pool[a]), rng.choice(pool[b])))
    return pairs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("INKLING_QUICKDRAW_DIR"))
    parser.add_argument("--model", type=Path, default=ROOT / "resources" / "models" / "default.onnx")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=900, help="stop starting new pairs after this")
    parser.add_argument("--verbose", action="store_true", help="one line per pair on stderr")
    parser.add_argument("--noise-floor", action="store_true", help="also draw B alone a second time")
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error("--data or INKLING_QUICKDRAW_DIR is needed")
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed (Debian: apt-get install xvfb xdotool)")

    from inkling.model.classifier import load_model

    classes = list(load_model(args.model).classes)
    pairs = pick_pairs(args.data, classes, args.pairs, args.seed)
    started = time.monotonic()
    results = []
    with XServer() as xserver, tempfile.TemporaryDirectory() as tmp:
        for n, (first, second) in enumerate(pairs):
            if time.monotonic() - started > args.max_seconds:
                break
            row = {"first": first.word, "second": second.word}
            app = App(xserver.display, args.model, Path(tmp) / f"alone{n}")
            try:
                _, right, side = slots(app.canvas)
                alone = app.draw(place(second.strokes, right, side))
            finally:
                app.close()
            again = None
            if args.noise_floor:
                app = App(xserver.display, args.model, Path(tmp) / f"again{n}")
                try:
                    _, right, side = slots(app.canvas)
                    again = app.draw(place(second.strokes, right, side))
                finally:
                    app.close()
            app = App(xserver.display, args.model, Path(tmp) / f"after{n}")
            try:
                left, right, side = slots(app.canvas)
                first_line = app.draw(place(first.strokes, left, side))
                after_return = app.press_return()
                after = app.draw(place(second.strokes, right, side))
            finally:
                app.close()
            row.update(
                alone=top1(alone),
                alone_strokes=alone["strokes"] if alone else None,
                alone_again=top1(again) if args.noise_floor else None,
                first_top1=top1(first_line),
                accepted=any(p.get("strokes") == 0 for p in after_return if "top" in p),
                after=top1(after),
                after_strokes=after["strokes"] if after else None,
                second_strokes=len(second.strokes),
            )
            results.append(row)
            if args.verbose:
                print(json.dumps(row), file=sys.stderr, flush=True)

    n = len(results)
    alone_ok = sum(r["alone"] == r["second"] for r in results)
    after_ok = sum(r["after"] == r["second"] for r in results)
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "model": f"{args.model.name} ({len(classes)} classes)",
        "pairs": n,
        "seconds": round(time.monotonic() - started, 1),
        "second_top1_alone": round(alone_ok / n, 3) if n else None,
        "second_top1_after_accepted_first": round(after_ok / n, 3) if n else None,
        "difference_points": round(100 * (alone_ok - after_ok) / n, 1) if n else None,
        "target_points": 3.0,
        "changed_top1_after_vs_alone": sum(r["after"] != r["alone"] for r in results),
        "first_top1": round(sum(r["first_top1"] == r["first"] for r in results) / n, 3) if n else None,
        "return_accepted": sum(r["accepted"] for r in results),
        "after_saw_only_second_strokes": sum(r["after_strokes"] == r["second_strokes"] for r in results),
    }
    if args.noise_floor and n:
        again_ok = sum(r["alone_again"] == r["second"] for r in results)
        report["second_top1_alone_again"] = round(again_ok / n, 3)
        report["noise_floor_points"] = round(100 * (alone_ok - again_ok) / n, 1)
        report["changed_top1_alone_vs_alone_again"] = sum(r["alone_again"] != r["alone"] for r in results)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
