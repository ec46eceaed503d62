"""``inkling classify``: ndjson drawings and PNG pictures without a display; live accuracy = offline accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from inkling.desktop.__main__ import main
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from test_app_support import raw_drawings


@pytest.fixture(scope="module")
def classifier(default_model_path):
    from inkling.model.classifier import load_model

    return load_model(default_model_path)


def raw_lines(quickdraw_dir, label, n):
    path = quickdraw_dir / "strokes" / "raw" / f"{label}.ndjson"
    return path.read_text().splitlines()[:n]


def render_png(strokes, path, size=300, width=6.0, dark_on_light=True):
    """A picture of a drawing as someone might save it from a paint program."""
    pts = np.concatenate([s[:, :2] for s in strokes])
    lo = pts.min(axis=0)
    scale = (size - 40) / max(float((pts.max(axis=0) - lo).max()), 1.0)
    image = QImage(size, size + 40, QImage.Format.Format_RGB32)
    image.fill(QColor("white" if dark_on_light else "black"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    ink = QColor("#202020" if dark_on_light else "white")
    painter.setPen(
        QPen(ink, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    )
    for s in strokes:
        xy = (s[:, :2] - lo) * scale + 20
        painter.drawPolyline([QPointF(*p) for p in xy])
    painter.end()
    assert image.save(str(path))


def test_classify_ndjson_json_output_in_input_order(
    tmp_path, capsys, default_model_path, quickdraw_dir, classifier
):
    lines = raw_lines(quickdraw_dir, "cat", 3)
    path = tmp_path / "three.ndjson"
    path.write_text("\n".join([lines[0], "{not json", lines[1], '{"word": "cat"}', lines[2]]) + "\n")
    code = main(["classify", str(path), "--model", str(default_model_path), "--top", "3", "--json"])
    out, err = capsys.readouterr()
    assert code == 1  # bad lines make the exit code nonzero, after the good ones were classified
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["index"] for r in results] == [0, 2, 4]
    for r in results:
        assert r["file"] == str(path) and len(r["top"]) == 3
        ps = [t["p"] for t in r["top"]]
        assert ps == sorted(ps, reverse=True) and 0 <= ps[-1] <= ps[0] <= 1
        assert all(t["label"] in classifier.classes for t in r["top"])
    assert f"{path}:2:" in err and f"{path}:4:" in err and "missing 'drawing'" in err


@pytest.mark.slow
def test_classify_png_dark_on_light_and_light_on_dark(
    tmp_path, capsys, default_model_path, quickdraw_dir, classifier
):
    # Pictures of real drawings should get the same top guess as their strokes, most of the time.
    agree, total = 0, 0
    for label in classifier.classes[::8]:
        for i, record in enumerate(raw_drawings(quickdraw_dir, label, limit=2)):
            png = tmp_path / f"{label}-{i}.png"
            render_png(record.strokes, png, size=200 + 150 * i, width=3 + 5 * i, dark_on_light=i == 0)
            assert main(["classify", str(png), "--model", str(default_model_path), "--json"]) == 0
            (result,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
            assert result["file"] == str(png) and result["index"] == 0 and len(result["top"]) == 5
            strokes_top = classifier.classify_strokes(record.strokes, top=1)[0].label
            agree += result["top"][0]["label"] == strokes_top
            total += 1
    print(f"\nPNG vs strokes top-1 agreement: {agree}/{total}")
    assert agree >= 0.7 * total


def test_classify_plain_output_and_unreadable_files(tmp_path, capsys, default_model_path, quickdraw_dir):
    path = tmp_path / "one.ndjson"
    path.write_text(raw_lines(quickdraw_dir, "apple", 1)[0] + "\n")
    blank = tmp_path / "blank.png"
    white = QImage(64, 64, QImage.Format.Format_RGB32)
    white.fill(QColor("white"))
    white.save(str(blank))
    code = main(
        [
            "classify",
            str(tmp_path / "missing.ndjson"),
            str(blank),
            str(path),
            "--model",
            str(default_model_path),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert out.startswith(f"{path}:0\t") and len(out.splitlines()) == 1
    assert "missing.ndjson" in err and "blank.png" in err and "no drawing found" in err


def test_classify_with_a_bad_model_fails_clearly(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_text("nope")
    assert main(["classify", "whatever.ndjson", "--model", str(bad)]) == 2
    assert "bad.onnx" in capsys.readouterr().err


def test_live_accuracy_equals_offline_accuracy(
    tmp_path, capsys, default_model_path, quickdraw_dir, classifier
):
    """Raw stroke drawings classified by ``inkling classify`` agree with the official bitmap of the same drawing."""
    overlap = json.loads((quickdraw_dir / "stroke_bitmap_overlap.json").read_text())["map"]
    lines, rows = [], []
    for category, keys in sorted(overlap.items()):
        bitmaps = quickdraw_dir / "bitmaps" / f"{category}.npy"
        raw = quickdraw_dir / "strokes" / "raw" / f"{category}.ndjson"
        if not bitmaps.exists() or not raw.exists():
            continue
        table = np.load(bitmaps, mmap_mode="r")
        for text in raw.read_text().splitlines():
            key = str(json.loads(text).get("key_id"))
            if key in keys:
                lines.append(text)
                rows.append(np.asarray(table[keys[key]]).reshape(28, 28))
    assert len(lines) >= 300
    path = tmp_path / "overlap.ndjson"
    path.write_text("\n".join(lines) + "\n")
    assert main(["classify", str(path), "--model", str(default_model_path), "--top", "1", "--json"]) == 0
    live = [json.loads(line)["top"][0]["label"] for line in capsys.readouterr().out.splitlines()]
    offline = [classifier.classes[i] for i in classifier.predict_proba(np.stack(rows)).argmax(axis=1)]
    assert len(live) == len(offline)
    agreement = float(np.mean([a == b for a, b in zip(live, offline, strict=True)]))
    print(
        f"\nlive (inkling classify on raw strokes) vs offline (official bitmaps) top-1 agreement: "
        f"{agreement:.1%} of {len(live)} drawings"
    )
    assert agreement >= 0.97


def test_classify_official_28px_bitmaps_saved_as_png(
    tmp_path, capsys, default_model_path, quickdraw_dir, classifier
):
    # A 28x28 picture is already the model's input: it is taken as it is (only the polarity is fixed).
    for i, label in enumerate(["apple", "banana", "house"]):
        row = np.load(quickdraw_dir / "bitmaps" / f"{label}.npy", mmap_mode="r")[5].reshape(28, 28)
        pixels = np.ascontiguousarray(row if i % 2 else 255 - row)  # light-on-dark and dark-on-light
        image = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8)
        png = tmp_path / f"{label}.png"
        assert image.save(str(png))
        assert main(["classify", str(png), "--model", str(default_model_path), "--json", "--top", "3"]) == 0
        (result,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        expected = classifier.classify_image(np.asarray(row), top=3)
        assert [t["label"] for t in result["top"]] == [s.label for s in expected]
        assert result["top"][0]["p"] == pytest.approx(expected[0].p, abs=1e-5)


def test_classify_into_a_closed_pipe_ends_quietly(tmp_path, default_model_path, quickdraw_dir):
    """``inkling classify x.ndjson --json | head -1``: one line out, no BrokenPipeError traceback."""
    import subprocess
    import sys

    path = tmp_path / "many.ndjson"
    path.write_text("\n".join(raw_lines(quickdraw_dir, "cat", 20) * 30) + "\n")
    cmd = [sys.executable, "-m", "inkling.desktop", "classify", str(path), "--json"]
    cmd += ["--model", str(default_model_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as ``head -1`` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert json.loads(first)["index"] == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err
