"""Start-up: the real ``inkling`` entry point, no torch in the app, the self-test hook, bad --model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def test_no_torch_after_startup_drawing_and_prediction(tmp_path, default_model_path):
    # In a fresh process, so that this test process's own imports cannot hide an import of torch.
    code = textwrap.dedent(
        """
        import json, sys
        import numpy as np
        from PySide6.QtCore import QPoint, Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication
        from inkling.desktop.__main__ import build_parser
        from inkling.desktop.app import choose_classifier
        from inkling.desktop.main_window import MainWindow
        from inkling.desktop.references import ReferenceLibrary
        from inkling.desktop.settings import AppSettings
        from inkling.desktop.cli import main as classify

        args = build_parser().parse_args(["--model", sys.argv[1], "--settings", sys.argv[2]])
        app = QApplication([])
        settings = AppSettings(args.settings)
        window = MainWindow(choose_classifier(args, settings), settings=settings, references=ReferenceLibrary.load())
        window.engine.warm_up()
        window.show()
        left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        QTest.mousePress(window.canvas, left, none, QPoint(100, 100))
        for i in range(1, 40):
            QTest.mouseMove(window.canvas, QPoint(100 + 5 * i, 100 + (i % 7) * 10))
        QTest.mouseRelease(window.canvas, left, none, QPoint(300, 160))
        app.processEvents()
        window.engine.wait_idle()
        app.processEvents()
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision"))
        print(json.dumps({"strokes": window.engine.last.n_strokes, "top": len(window.panel.labels), "heavy": heavy}))
        """
    )
    result = run_python(code, str(default_model_path), str(tmp_path / "s.ini"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"strokes": 1, "top": 5, "heavy": []}


def test_inkling_starts_shows_window_and_first_suggestion(tmp_path, default_model_path):
    code = "import sys; from desktop.__main__ import main; sys.exit(main(sys.argv[1:]))"
    result = run_python(
        code,
        "--model",
        str(default_model_path),
        "--settings",
        str(tmp_path / "s.ini"),
        "--exit-after-first-suggestion",
    )
    assert result.returncode == 0, result.stderr
    ready = json.loads(result.stdout.strip().splitlines()[-1])
    assert ready["shown"] is True and ready["suggestion_seq"] == 1
    print(f"\nin-process time to first suggestion: {ready['ready_ms']} ms")


def test_bad_model_on_the_command_line_exits_with_a_message(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    code = "import sys; from desktop.__main__ import main; sys.exit(main(sys.argv[1:]))"
    result = run_python(code, "--model", str(bad), "--settings", str(tmp_path / "s.ini"))
    assert result.returncode != 0
    assert "bad.onnx" in result.stderr


def test_self_test_is_delegated_and_missing_is_an_error(monkeypatch, capsys):
    import importlib

    from inkling.desktop import __main__ as entry

    calls = []

    class FakeSelfTest:
        @staticmethod
        def main(args):
            calls.append(args.self_test)
            return 3

    real_import = importlib.import_module
    monkeypatch.setattr(
        entry.importlib,
        "import_module",
        lambda name: FakeSelfTest if name == "inkling.desktop.selftest" else real_import(name),
    )
    assert entry.main(["--self-test"]) == 3 and calls == [True]

    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(entry.importlib, "import_module", missing)
    assert entry.main(["--self-test"]) == 2
    assert "self-test is not available" in capsys.readouterr().err


def test_help_mentions_classify(capsys):
    from inkling.desktop.__main__ import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert "inkling classify" in capsys.readouterr().out
