"""The wheel a person installs (`pip install inkling-draw`): built from a copy of the working tree as a
fresh clone would build it, it holds one top-level package, `inkling`, with every resource the app uses,
and installed on its own, away from the source tree, it passes `inkling --self-test`.

(.ci/run goes further: a fresh virtual environment with the wheel's declared dependencies.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]  # builds and installs the wheel
ROOT = Path(__file__).resolve().parent.parent
PARTS = ("model", "desktop", "training")
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "runs", ".pytest_cache")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    # A copy, so that a stale build/ folder in the checkout cannot add files a fresh clone lacks.
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_SOURCE, ".ruff_cache", ".hypothesis"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(work / "dist")],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (found,) = (work / "dist").glob("inkling_draw-*.whl")
    return found


def source_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def test_wheel_holds_only_inkling_with_every_resource(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"inkling"}  # no bare model/desktop/training
    assert "inkling/resources/models/default.onnx" in names
    resources = ROOT / "resources"
    missing = [
        str(p.relative_to(resources))
        for p in source_files(resources)
        if f"inkling/resources/{p.relative_to(resources).as_posix()}" not in names
    ]
    assert not missing, f"resources left out of the wheel: {missing}"
    for part in PARTS:
        modules = [p for p in source_files(ROOT / part) if p.suffix == ".py"]
        assert modules
        lost = [
            p.name for p in modules if f"inkling/{part}/{p.relative_to(ROOT / part).as_posix()}" not in names
        ]
        assert not lost, f"{part}/ modules left out: {lost}"
    assert "inkling = inkling.desktop.__main__:main" in entry_points
    assert "inkling-train = inkling.training.cli:main" in entry_points


def run_installed(site: Path, cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Python with the installed wheel and this environment's dependencies, but not its site hooks (-S):
    the checkout's editable install lives in a .pth hook and must not be what gets imported."""
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), *sorted(deps)]),
        "QT_QPA_PLATFORM": "offscreen",
        "INKLING_DATA_DIR": str(cwd / "data"),
    }
    return subprocess.run(
        [sys.executable, "-S", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )


def test_installed_wheel_passes_the_self_test_away_from_the_source(wheel, tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    away = tmp_path / "elsewhere"
    away.mkdir()

    where = run_installed(
        site, away, "-c", "import inkling.model, inkling.desktop; print(inkling.model.__file__)"
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(site)
    bare = run_installed(site, away, "-c", "import model")
    assert bare.returncode != 0 and "No module named 'model'" in bare.stderr

    test = run_installed(site, away, "-m", "inkling.desktop", "--self-test")
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert "self-test passed" in test.stdout
    model_line = next(line for line in test.stdout.splitlines() if line.startswith("ok    model:"))
    assert str(site / "inkling" / "resources" / "models" / "default.onnx") in model_line

    teach = run_installed(site, away, "-m", "inkling.training", "teach", "--help")
    assert teach.returncode == 0 and "--examples" in teach.stdout, teach.stderr[-2000:]
