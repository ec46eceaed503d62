import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests (and the app processes they start) never touch the person's own taught classes or settings.
os.environ["INKLING_DATA_DIR"] = tempfile.mkdtemp(prefix="inkling-test-data-")

ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "INKLING_QUICKDRAW_DIR"


@pytest.fixture(scope="session")
def quickdraw_dir() -> Path:
    """The real Quick, Draw! data (../shared/data/quickdraw), found through INKLING_QUICKDRAW_DIR."""
    value = os.environ.get(DATA_ENV)
    if not value:
        pytest.skip(f"{DATA_ENV} is not set: these tests need the Quick, Draw! data folder (.ci/run sets it)")
    path = Path(value)
    if not (path / "bitmaps").is_dir() or not (path / "strokes").is_dir():
        pytest.fail(f"{DATA_ENV}={path} does not hold bitmaps/ and strokes/")
    return path


OMNIGLOT_ENV = "INKLING_OMNIGLOT_DIR"


@pytest.fixture(scope="session")
def omniglot_dir() -> Path:
    """Handwritten characters as Quick, Draw! ndjson (../shared/data/omniglot), via INKLING_OMNIGLOT_DIR."""
    value = os.environ.get(OMNIGLOT_ENV)
    if not value:
        pytest.skip(
            f"{OMNIGLOT_ENV} is not set: these tests need the Omniglot characters folder (.ci/run sets it)"
        )
    path = Path(value)
    if not any(path.glob("*.ndjson")):
        pytest.fail(f"{OMNIGLOT_ENV}={path} holds no <alphabet>.ndjson files")
    return path


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    path = ROOT / "resources" / "models" / "default.onnx"
    if not path.exists():
        pytest.fail(f"the bundled default model is missing: {path}")
    return path
