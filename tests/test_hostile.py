"""The hostile corpus (tests/hostile/make_corpus.py) through every door bytes come in by.

`inkling classify` (in process, file by file, and once as a real process over the whole corpus), the
app's model loading (`inkling --model`, File ▸ Open Model, File ▸ Open), `inkling-train teach`, class
sets opened for editing and as the teach store, and settings files. For each file: no exception
escapes (no traceback), nothing hangs (a timeout), a refused file gets a message that names it, an
extreme but valid one gives a result, and an existing output file survives a failed run byte for byte.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hostile.make_corpus import GOOD_LINE, build

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def good_examples(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    lines = [json.loads(GOOD_LINE)] * 3
    for i, rec in enumerate(lines):  # three slightly different squares
        rec = dict(rec, drawing=[[[0, 100 + i * 7, 100, 0, 0], [0, 0, 100 - i * 5, 100, 0]]])
        lines[i] = json.dumps(rec)
    (folder / "box.ndjson").write_text("\n".join(lines) + "\n")
    return folder


def call(main, argv: list[str]) -> tuple[int, str, str]:
    """Run a command-line entry point in process; an exception escaping it fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse and friends exit with a message, which is fine
            rc = exc.code if isinstance(exc.code, int) else 2
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
    return rc, out.getvalue(), err.getvalue()


def problems_report(problems: list[str]) -> str:
    return "\n".join(problems)


def check_refused(window, what: str, path: Path, accepts, problems: list[str]) -> None:
    """``accepts(path)`` in the window must refuse the file, with a message that names it."""
    window.errors.clear()
    if accepts(path):
        problems.append(f"{what}: accepted")
    elif not window.errors or str(path) not in window.errors[-1][1]:
        problems.append(f"{what}: message without the file: {window.errors}")


# --- inkling classify --------------------------------------------------------------------------------


@pytest.mark.slow
def test_classify_every_drawing_and_picture(corpus):
    from inkling.desktop.cli import main

    problems = []
    for path, accept in {**corpus.drawings, **corpus.pictures}.items():
        rc, out, err = call(main, [str(path), "--json", "--top", "3"])
        results = [json.loads(line) for line in out.splitlines()]
        errors = err.splitlines()
        if any(str(path) not in line for line in errors):
            problems.append(f"{path.name}: a message does not name the file: {errors}")
        if any(r["file"] != str(path) or len(r["top"]) != 3 for r in results):
            problems.append(f"{path.name}: malformed results {results[:2]}")
        if accept and not results:
            problems.append(f"{path.name}: a valid input gave no result (rc {rc}): {errors[:2]}")
        if not accept and (results or rc != 1 or not errors):
            problems.append(f"{path.name}: not refused (rc {rc}, {len(results)} results, {errors[:2]})")
        if rc == 0 and errors:
            problems.append(f"{path.name}: exit 0 despite {errors[:1]}")
    assert not problems, problems_report(problems)


def test_every_valid_drawing_renders_with_ink(corpus):
    """Extreme but finite drawings keep the rasterizer's contract, and are not silently blank (a span
    overflowing float64 once gave NaN, then an all-black image or an IndexError)."""
    from inkling.model.raster import rasterize
    from inkling.model.strokes import read_ndjson

    for path, accept in corpus.drawings.items():
        if accept:
            for record in read_ndjson(path, skip_bad=True).records:
                image = rasterize(record.strokes)
                assert image.shape == (28, 28) and image.dtype == np.uint8 and image.max() > 0, path.name


def test_classify_reports_many_bad_lines_briefly(corpus):
    from inkling.desktop.cli import MAX_LINE_ERRORS, main

    garbage = corpus.root / "drawings" / "binary_garbage.ndjson"
    rc, out, err = call(main, [str(garbage)])
    assert rc == 1 and not out
    lines = err.splitlines()
    assert MAX_LINE_ERRORS < len(lines) <= MAX_LINE_ERRORS + 1
    assert "more bad line(s) not shown" in lines[-1]


@pytest.mark.slow
def test_classify_as_a_real_process_over_the_whole_corpus(corpus):
    files = [str(p) for p in {**corpus.drawings, **corpus.pictures}]
    proc = subprocess.run(
        [sys.executable, "-m", "inkling.desktop", "classify", *files, "--json"],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 1
    named = {json.loads(line)["file"] for line in proc.stdout.splitlines()}
    for path, accept in {**corpus.drawings, **corpus.pictures}.items():
        assert (str(path) in named) if accept else (str(path) in proc.stderr), path.name


# --- models: inkling --model, inkling classify --model, File ▸ Open Model ------------------------------


def bad_models(corpus) -> list[Path]:
    return [p for p, ok in corpus.models.items() if not ok]


def test_every_bad_model_is_refused_with_its_name(corpus):
    from inkling.desktop.app import choose_classifier
    from inkling.desktop.cli import main as classify
    from inkling.desktop.settings import AppSettings

    drawing = next(p for p, ok in corpus.drawings.items() if ok)
    settings = AppSettings(corpus.root / "plain-settings.ini")
    problems = []
    for model in bad_models(corpus):
        rc, out, err = call(classify, ["--model", str(model), str(drawing)])
        if rc != 2 or out or str(model) not in err:
            problems.append(f"classify --model {model.name}: rc {rc}, {err.strip()[:200]!r}")
        try:  # what `inkling --model FILE` does before any window opens
            choose_classifier(argparse.Namespace(model=str(model)), settings)
            problems.append(f"inkling --model {model.name}: accepted")
        except SystemExit as exc:
            if str(model) not in str(exc.code):
                problems.append(f"inkling --model {model.name}: message without the file: {exc.code}")
    assert not problems, problems_report(problems)


def test_class_sets_given_as_models_load_or_are_refused_with_their_name(corpus):
    from inkling.model.classifier import load_model
    from inkling.model.contract import ModelError

    strokes = [np.array([[0.0, 0.0], [50.0, 80.0], [100.0, 0.0]])]
    problems = []
    for path in corpus.classsets:
        try:
            clf = load_model(path)
        except ModelError as exc:
            if str(path) not in str(exc):
                problems.append(f"{path.name}: message without the file: {exc}")
            continue
        if len(clf.classify_strokes(strokes, top=3)) != 3:  # a set that loads must classify
            problems.append(f"{path.name}: loaded but does not classify")
    assert not problems, problems_report(problems)


@pytest.mark.parametrize(
    "name", ["garbage.onnx", "truncated.onnx", "classes_too_few.onnx", "fixed_batch_of_one.onnx"]
)
def test_app_process_refuses_a_bad_model_without_a_traceback(corpus, tmp_path, name):
    model = corpus.root / "models" / name
    if not model.exists():
        pytest.skip(f"{name} needs the onnx package (the train extra) to be generated")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inkling.desktop",
            "--model",
            str(model),
            "--settings",
            str(tmp_path / "s.ini"),
        ]
        + ["--exit-after-first-suggestion"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert str(model) in proc.stderr and proc.stderr.startswith("inkling: ")


@pytest.fixture(scope="module")
def classifier(default_model_path):
    from inkling.model.classifier import load_model

    return load_model(default_model_path)


def test_window_refuses_bad_models_and_drawings_and_keeps_the_scene(qtbot, classifier, corpus, tmp_path):
    from inkling.model.strokes import read_ndjson
    from test_app_support import make_window

    window = make_window(qtbot, classifier, tmp_path)
    square = tmp_path / "square.ndjson"
    square.write_text(GOOD_LINE + "\n")
    assert window.open_drawing(square)
    scene = [s.points.copy() for s in window.document.strokes]
    assert scene and len(read_ndjson(square).records) == 1

    problems = []
    for model in bad_models(corpus):
        check_refused(
            window,
            f"Open Model {model.name}",
            model,
            lambda m: window.open_model(m) or window.classifier is not classifier,
            problems,
        )
    for path, accept in corpus.drawings.items():
        if not accept:
            check_refused(window, f"Open {path.name}", path, window.open_drawing, problems)
    after = [s.points for s in window.document.strokes]
    assert len(after) == len(scene) and all(np.array_equal(a, b) for a, b in zip(after, scene, strict=True))
    assert not problems, problems_report(problems)


def test_window_opens_extreme_drawings(qtbot, classifier, corpus, tmp_path):
    from test_app_support import make_window

    window = make_window(qtbot, classifier, tmp_path)
    for path, accept in corpus.drawings.items():
        if not accept or path.name == "mixed_good_and_bad.ndjson":
            continue
        assert window.open_drawing(path), (path.name, window.errors)
        window.grab()  # the canvas paints it (huge coordinates included)
        window.refresh_suggestions()
        assert len(window.document.strokes) > 0


# --- inkling-train teach -----------------------------------------------------------------------------


def teach_cli(argv):
    from inkling.training.cli import main

    return call(main, ["teach", *argv])


def test_teach_refuses_bad_bases_and_keeps_the_existing_output(corpus, good_examples, tmp_path):
    out = tmp_path / "mine.inkset"
    out.write_bytes(b"the person's own file")
    problems = []
    for model in bad_models(corpus) + [p for p, ok in corpus.classsets.items() if not ok]:
        rc, _, err = teach_cli(
            ["--base", str(model), "--examples", str(good_examples), "--out", str(out), "--force"]
            + ["--steps", "5"]
        )
        if rc != 2 or model.name not in err:
            problems.append(f"teach --base {model.name}: rc {rc}, {err.strip()[:200]!r}")
        if out.read_bytes() != b"the person's own file":
            problems.append(f"teach --base {model.name}: the existing --out was overwritten")
            out.write_bytes(b"the person's own file")
    assert not problems, problems_report(problems)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.inkset"]  # no temporary files left


@pytest.mark.slow
def test_teach_on_hostile_examples_teaches_or_refuses_naming_the_file(corpus, default_model_path, tmp_path):
    from inkling.model.classset import ClassSet

    out = tmp_path / "mine.inkset"
    problems = []
    for path, accept in corpus.drawings.items():
        folder = tmp_path / path.stem
        folder.mkdir()
        shutil.copy(path, folder / path.name)
        out.write_bytes(b"keep me")
        rc, _, err = teach_cli(
            ["--base", str(default_model_path), "--examples", str(folder), "--out", str(out), "--force"]
            + ["--steps", "5"]
        )
        if rc == 0:
            taught = ClassSet.load(out)
            if taught.new_classes != [path.stem] or not accept:
                problems.append(
                    f"{path.name}: taught {taught.new_classes} from a file that should be refused"
                )
        elif rc != 2 or path.name not in err or out.read_bytes() != b"keep me":
            problems.append(
                f"{path.name}: rc {rc}, output kept: {out.read_bytes() == b'keep me'}, {err[:200]!r}"
            )
        elif accept:
            problems.append(f"{path.name}: a valid drawing file was refused: {err.strip()[:200]!r}")
    assert not problems, problems_report(problems)


# --- class sets for editing and the teach store ------------------------------------------------------


def test_class_sets_open_for_editing_or_are_refused_with_their_name(corpus):
    from inkling.model.classset import ClassSet
    from inkling.model.contract import ModelError

    problems = []
    for path, accept in corpus.classsets.items():
        try:
            cs = ClassSet.load(path)
        except ModelError as exc:
            if accept:
                problems.append(f"{path.name}: refused: {exc}")
            elif str(path) not in str(exc):
                problems.append(f"{path.name}: message without the file: {exc}")
            continue
        if not accept:
            problems.append(f"{path.name}: opened")
        elif not cs.new_classes or not all(math.isfinite(v) for v in cs.W.ravel()[:10]):
            problems.append(f"{path.name}: opened without its classes")
    assert not problems, problems_report(problems)


def test_teach_store_moves_a_damaged_file_aside_and_keeps_its_bytes(corpus, tmp_path):
    from inkling.desktop.teach_store import CURRENT, TeachStore

    problems = []
    for i, (path, accept) in enumerate(corpus.classsets.items()):
        data_dir = tmp_path / f"data{i}"
        (data_dir / "classes").mkdir(parents=True)
        current = data_dir / "classes" / CURRENT
        shutil.copy(path, current)
        store = TeachStore(data_dir)
        loaded = store.load()
        if accept:
            if loaded.classset is None:
                problems.append(f"{path.name}: not loaded: {loaded.message}")
            continue
        moved = [p for p in current.parent.iterdir() if p.name.startswith(f"{CURRENT}.corrupt-")]
        if loaded.classset is not None or not loaded.message or str(current) not in loaded.message:
            problems.append(f"{path.name}: {loaded.message!r}")
        elif (
            len(moved) != 1
            or moved[0].read_bytes() != path.read_bytes()
            or str(moved[0]) not in loaded.message
        ):
            problems.append(f"{path.name}: not moved aside intact ({moved})")
        elif store.blocked:
            problems.append(f"{path.name}: saving blocked after moving the file aside")
    assert not problems, problems_report(problems)


# --- settings ----------------------------------------------------------------------------------------


def test_damaged_settings_read_as_defaults(corpus):
    from inkling.desktop.app import choose_classifier
    from inkling.desktop.settings import AppSettings

    for path in corpus.settings:
        settings = AppSettings(path)
        assert 0.0 <= settings.threshold <= 1.0, path.name
        assert settings.last_model is None or isinstance(settings.last_model, str)
        assert isinstance(settings.show_network, bool) and isinstance(settings.show_teach, bool)
        assert settings.geometry is None or not settings.geometry.isEmpty()
        with contextlib.redirect_stderr(io.StringIO()):
            assert choose_classifier(argparse.Namespace(model=None), settings) is not None


def test_a_malformed_settings_file_is_kept_and_named(corpus, tmp_path):
    from inkling.desktop.settings import AppSettings

    path = tmp_path / "settings.ini"
    shutil.copy(corpus.root / "settings" / "unterminated.ini", path)
    settings = AppSettings(path)
    (copy,) = tmp_path.glob("settings.ini.damaged-*")
    assert settings.problem and str(path) in settings.problem and str(copy) in settings.problem
    assert copy.read_bytes() == (corpus.root / "settings" / "unterminated.ini").read_bytes()


@pytest.mark.parametrize(
    "name", ["garbage.ini", "wrong_types.ini", "last_model_garbage.ini", "unterminated.ini"]
)
def test_app_starts_with_damaged_settings(corpus, tmp_path, name):
    settings = tmp_path / name
    shutil.copy(corpus.root / "settings" / name, settings)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inkling.desktop",
            "--settings",
            str(settings),
            "--exit-after-first-suggestion",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["shown"] is True


def test_teach_panel_refuses_damaged_class_sets_and_keeps_its_classes(qtbot, classifier, corpus, tmp_path):
    from test_app_support import make_window

    window = make_window(qtbot, classifier, tmp_path, data_dir=tmp_path / "data")
    if not window.teach_dock.isVisible():
        window.teach_action.trigger()
    panel = window.teach_panel
    square = tmp_path / "square.ndjson"
    square.write_text(GOOD_LINE + "\n")
    assert window.open_drawing(square)
    scene = [s.points.copy() for s in window.document.strokes]
    rows = list(panel.rows)
    problems = []
    for path, accept in corpus.classsets.items():
        if not accept:
            check_refused(window, f"import {path.name}", path, panel.import_from, problems)
    assert panel.rows == rows
    after = [s.points for s in window.document.strokes]
    assert len(after) == len(scene) and all(np.array_equal(a, b) for a, b in zip(after, scene, strict=True))
    assert not problems, problems_report(problems)
