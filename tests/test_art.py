"""The clean art: the hand-checked mapping, the SVG files, their licences, and ArtLibrary's loading."""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from inkling.desktop.art import ART_ATTRIBUTION, ArtLibrary, read_mapping
from inkling.training.categories import CATEGORIES
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter

ROOT = Path(__file__).resolve().parent.parent
ART = ROOT / "resources" / "art"


def alpha_of(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4].reshape(
        image.height(), image.width(), 4
    )[:, :, 3]


def extract_art_module():
    spec = importlib.util.spec_from_file_location("extract_art", ROOT / "packaging" / "extract_art.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["extract_art"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with (ART / "mapping.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_at_least_300_official_categories_are_mapped_once(rows):
    categories = [r["category"] for r in rows]
    assert len(categories) >= 300
    assert len(set(categories)) == len(categories)
    assert set(categories) <= set(CATEGORIES), sorted(set(categories) - set(CATEGORIES))
    for r in rows:
        assert re.fullmatch(r"(openmoji|mdi)-[0-9A-Za-z-]+", r["icon"]), r
        assert r["name"], r


def test_the_svg_folder_holds_exactly_the_mapped_files(rows):
    wanted = {f"{r['icon']}.svg" for r in rows}
    present = {p.name for p in (ART / "svg").glob("*.svg")}
    assert present == wanted
    total = sum((ART / "svg" / name).stat().st_size for name in present)
    assert total < 5_000_000  # the art stays small beside the 200 MB bundle limit


def test_every_mapped_picture_renders_to_a_nonempty_image(qapp, rows):
    art = ArtLibrary.load(ART)
    assert art.error == ""
    assert art.labels() == sorted(r["category"] for r in rows)
    for label in art.labels():
        data = art.svg_bytes(label)
        assert data is not None and b"<svg" in data, label
        renderer = art.renderer(label)
        assert renderer is not None and renderer.isValid(), label
        pixmap = art.pixmap(label, 48)
        assert pixmap is not None and pixmap.width() == 48, label
        alpha = alpha_of(pixmap.toImage())
        # Something is drawn, and it is a picture rather than a speck or a filled square.
        covered = (alpha > 0).mean()
        assert 0.02 < covered < 0.95, (label, covered)
    assert art.error == ""  # no file failed on the way


def test_art_fits_the_box_it_is_given(qapp):
    art = ArtLibrary.load(ART)
    for label in ("cat", "anvil", "line", "The Eiffel Tower"):
        box = QRectF(20, 30, 200, 120)
        image = QImage(240, 180, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        art.renderer(label).render(painter, art.target_rect(label, box))
        painter.end()
        alpha = alpha_of(image)
        ys, xs = np.nonzero(alpha)
        # Drawn part inside the box, touching it on two opposite sides (to within the 1/128 of the
        # picture that content_rect measures to, and a pixel of antialiasing).
        assert xs.min() >= 18 and xs.max() <= 221 and ys.min() >= 28 and ys.max() <= 151, label
        fills_width = xs.min() <= 23 and xs.max() >= 216
        fills_height = ys.min() <= 33 and ys.max() >= 146
        assert fills_width or fills_height, (label, xs.min(), xs.max(), ys.min(), ys.max())


def test_licences_and_attribution_ship_with_the_art(rows):
    licence_om = (ART / "LICENSE-OpenMoji.txt").read_text(encoding="utf-8")
    licence_mdi = (ART / "LICENSE-MaterialDesignIcons.txt").read_text(encoding="utf-8")
    assert "Attribution-ShareAlike 4.0" in licence_om
    assert "Apache" in licence_mdi
    text = (ART / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in ("OpenMoji", "CC BY-SA 4.0", "Material Design Icons", "Apache", "openmoji@17.0.0"):
        assert needle in text
    for needle in ("OpenMoji", "CC BY-SA 4.0", "Material Design Icons", "Apache"):
        assert needle in ART_ATTRIBUTION
    mapped = {r["category"] for r in rows}
    unmapped = [c for c in CATEGORIES if c not in mapped]
    listed = text.split("doodle for them instead:", 1)[1].split("\n\n")[1].rstrip(".").split(", ")
    assert sorted(listed) == sorted(unmapped)


def test_attribution_file_is_what_the_extract_script_writes(rows):
    # The script regenerates ATTRIBUTION.md from the table; a hand edit of either would show here.
    module = extract_art_module()
    table = module.read_table(ART / "mapping.csv")
    mapped = {r["category"] for r in table}
    unmapped = sorted((c for c in CATEGORIES if c not in mapped), key=str.lower)
    assert module.attribution(table, unmapped) == (ART / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert set(module.SETS) == {"openmoji", "mdi"}
    for s in module.SETS.values():  # pinned: exact version and the tarball's sha512
        assert re.fullmatch(r"\d+\.\d+\.\d+", s.version) and s.integrity.startswith("sha512-")


def test_extract_script_refuses_a_tarball_that_does_not_match_its_checksum(tmp_path):
    module = extract_art_module()
    s = module.SETS["mdi"]
    (tmp_path / s.tarball_name).write_bytes(b"not the package")
    with pytest.raises(SystemExit, match="sha512"):
        module.fetch(s, tmp_path, tmp_path)


def test_missing_mapping_gives_an_empty_library_with_a_reason(qapp, tmp_path, capsys):
    art = ArtLibrary.load(tmp_path)
    assert art.labels() == [] and not art.has("cat")
    assert art.svg_bytes("cat") is None and art.renderer("cat") is None and art.pixmap("cat", 48) is None
    assert "mapping.csv" in art.error
    assert "mapping.csv" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, why",
    [
        (b"\xff\xfe\x00garbage\x00", "cannot be read"),
        (b"name,note\ncat,x\n", "missing column"),
        (b"category,icon\ncat,openmoji-1F408\ncat,openmoji-1F431\n", "mapped twice"),
        (b"category,icon\ncat,../../etc/passwd\n", "not a plain file name"),
        (b"category,icon\ncat,\n", "needs both"),
    ],
)
def test_corrupt_mapping_gives_an_empty_library_naming_the_file(qapp, tmp_path, content, why):
    (tmp_path / "mapping.csv").write_bytes(content)
    art = ArtLibrary.load(tmp_path)
    assert art.labels() == []
    assert why in art.error and "mapping.csv" in art.error


def test_missing_or_broken_svg_is_skipped_not_raised(qapp, tmp_path):
    (tmp_path / "svg").mkdir()
    (tmp_path / "svg" / "broken.svg").write_bytes(b"<svg><path d='M 0 0 L")
    (tmp_path / "mapping.csv").write_text("category,icon,name,note\ncat,missing,,\ndog,broken,,\n")
    art = ArtLibrary.load(tmp_path)
    assert art.labels() == ["cat", "dog"]
    assert art.svg_bytes("cat") is None and art.pixmap("cat", 32) is None
    assert art.renderer("dog") is None and art.pixmap("dog", 32) is None
    assert art.error  # the first failure is kept for the user to see


def test_read_mapping_ignores_extra_columns_and_blank_notes(tmp_path):
    path = tmp_path / "mapping.csv"
    path.write_text("category,icon,name,note,extra\ncat,openmoji-1F408,cat,,x\n")
    assert read_mapping(path) == {"cat": "openmoji-1F408"}
