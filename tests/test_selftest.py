"""``inkling --self-test`` from a checkout (the frozen bundle's is run by .ci/run via packaging/check_linux.sh),
and the packaging files that CI cannot run here: the workflows parse as YAML, the icon files are valid."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = ROOT / "resources" / "reference" / "references.ndjson"


def run_inkling(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "inkling.desktop", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def self_test_run(default_model_path) -> subprocess.CompletedProcess:
    if not REFERENCES.exists():
        pytest.fail(f"the bundled reference drawings are missing: {REFERENCES}")
    return run_inkling("--self-test")


def test_self_test_passes_and_reports_each_check(self_test_run):
    out = self_test_run.stdout
    assert self_test_run.returncode == 0, out + self_test_run.stderr
    for check in ("model", "references", "classification", "teach", "window", "live suggestion", "render"):
        assert f"ok    {check}: " in out, f"no passing {check!r} line in:\n{out}"
    assert "FAIL" not in out
    assert "each symbol recognised as itself" in out
    assert "self-test passed in " in out
    assert " ms" in out  # timings are printed


def test_self_test_reports_every_reference_drawing(self_test_run):
    words = [line for line in REFERENCES.read_text(encoding="utf-8").splitlines() if line.strip()]
    reported = [line for line in self_test_run.stdout.splitlines() if " reference '" in line]
    assert len(reported) == len(words)


def test_self_test_fails_clearly_with_a_broken_model(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not an ONNX model\n" * 10)
    result = run_inkling("--model", str(junk), "--self-test")
    assert result.returncode == 1
    assert "self-test FAILED" in result.stderr
    assert "FAIL  model: the model cannot be used" in result.stdout
    assert "junk.onnx is not a valid ONNX model" in result.stderr


def test_self_test_fails_clearly_with_a_missing_model(tmp_path):
    result = run_inkling("--model", str(tmp_path / "nowhere.onnx"), "--self-test")
    assert result.returncode == 1
    assert "model file not found" in result.stderr


def test_workflows_are_valid_yaml():
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    for name in ("build-windows.yml", "build-macos.yml"):
        workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))
        # PyYAML reads the key `on:` as the boolean True.
        assert workflow.get("on", workflow.get(True)), name
        for job in workflow["jobs"].values():
            assert job["runs-on"] and job["steps"], name


def test_icon_files_hold_the_sizes_they_claim():
    icons = ROOT / "resources" / "icons"
    png = (icons / "inkling.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (256, 256)
    ico = (icons / "inkling.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1) and count >= 4
    for i in range(count):
        _w, _h, _c, _r, _planes, _bits, size, offset = struct.unpack(
            "<BBBBHHII", ico[6 + 16 * i : 22 + 16 * i]
        )
        assert ico[offset : offset + 8] == png[:8] and offset + size <= len(ico)
    icns = (icons / "inkling.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
