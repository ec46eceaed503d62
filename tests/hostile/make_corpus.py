"""A corpus of malformed and extreme input files for every reader Inkling has (tests/test_hostile.py).

    python tests/hostile/make_corpus.py OUT_DIR        # write the corpus to look at or try by hand

The files are generated rather than committed: some are large on purpose (a line longer than the
reader's bound, a drawing with more points than it accepts), and the damaged models and class sets
are derived from the bundled default model. Each entry says whether a reader must accept it (an
extreme but valid input: it must give a result) or refuse it (with a message naming the file).

Layout under OUT_DIR: ``drawings/`` (ndjson), ``pictures/``, ``models/`` (ONNX and class sets given
as a model), ``classsets/`` (for ClassSet.load and the teach store), ``settings/`` (.ini files).
"""

from __future__ import annotations

import io
import json
import random
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "resources" / "models" / "default.onnx"

# A short valid raw drawing (a square with times), used as the good part of mixed files.
GOOD = {"word": "square", "drawing": [[[0, 100, 100, 0, 0], [0, 0, 100, 100, 0], [0, 10, 20, 30, 40]]]}
GOOD_LINE = json.dumps(GOOD)


@dataclass
class Corpus:
    root: Path
    # path -> True when the reader must accept it (extreme but valid), False when it must refuse it
    drawings: dict[Path, bool] = field(default_factory=dict)
    pictures: dict[Path, bool] = field(default_factory=dict)
    models: dict[Path, bool] = field(default_factory=dict)
    classsets: dict[Path, bool] = field(default_factory=dict)
    settings: list[Path] = field(default_factory=list)
    valid_classset: Path | None = None


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _line(drawing, **extra) -> str:
    return json.dumps({"word": "thing", **extra, "drawing": drawing}) + "\n"


# --- drawings ----------------------------------------------------------------------------------------


def make_drawings(root: Path, corpus: Corpus) -> None:
    d = root / "drawings"
    big = 1.7e308
    accept = {
        # Finite coordinates whose span overflows float64: the rasterizer must still draw them.
        "huge_coordinates.ndjson": _line([[[-big, big, 0], [big, -big, 1e308]]]),
        "huge_and_tiny.ndjson": _line([[[0, 1.79e308], [0, -1.79e308]], [[5e-324, 0], [0, 5e-324]]]),
        "huge_span_x.ndjson": _line([[[-1e308, 1e308], [0, 0]]]),  # an IndexError in the rasterizer once
        "huge_span_xy.ndjson": _line([[[-1.79e308, 1.79e308], [-1.79e308, 1.79e308]]]),
        "subnormal_span.ndjson": _line([[[0, 5e-324, 1e-323], [0, 5e-324, 0]]]),
        "single_point.ndjson": _line([[[12.5], [7.25]]]),
        "all_points_equal.ndjson": _line([[[3, 3, 3], [4, 4, 4]], [[3], [4]]]),
        "negative_and_times.ndjson": _line([[[-5e9, 5e9], [-1, 1], [0, 1e300]]]),
        "bom_and_crlf.ndjson": "\ufeff" + GOOD_LINE + "\r\n\r\n" + GOOD_LINE + "\r\n",
        "mixed_good_and_bad.ndjson": GOOD_LINE + "\n{broken\n" + GOOD_LINE + "\n",
        "many_strokes.ndjson": _line([[[i, i + 1], [i % 7, i % 5]] for i in range(5000)]),
        "long_zigzag.ndjson": _line([[list(range(20000)), [(i % 2) * 1000 for i in range(20000)]]]),
    }
    refuse = {
        "empty.ndjson": "",
        "blank_lines.ndjson": "\n\n   \n\t\n",
        "deep_nesting.ndjson": "[" * 200_000 + "]" * 200_000 + "\n",
        "deep_in_drawing.ndjson": '{"drawing": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
        "deep_object.ndjson": '{"a":' * 50_000 + "1" + "}" * 50_000 + "\n",
        "truncated.ndjson": GOOD_LINE[: len(GOOD_LINE) // 2] + "\n",
        "not_an_object.ndjson": '[1, 2, 3]\n42\n"text"\nnull\n',
        "no_drawing_field.ndjson": '{"word": "cat"}\n',
        "drawing_is_text.ndjson": _line("[[0, 1], [0, 1]]"),
        "drawing_is_object.ndjson": _line({"x": [1], "y": [2]}),
        "stroke_is_number.ndjson": _line([5, 6]),
        "stroke_wrong_arity.ndjson": _line([[[1, 2]], [[1, 2], [1, 2], [1, 2], [1, 2]]]),
        "coordinates_are_text.ndjson": _line([[["a", "b"], ["c", "d"]]]),
        "coordinates_are_null.ndjson": _line([[[None, None], [1, 2]]]),
        "coordinates_nested.ndjson": _line([[[[1], [2]], [[3], [4]]]]),
        "coordinates_objects.ndjson": _line([[[{}, {}], [[], []]]]),
        "ragged.ndjson": _line([[[1, 2, 3], [1, 2]]]),
        "empty_drawing.ndjson": _line([]),
        "empty_strokes.ndjson": _line([[[], []], [[], []]]),
        "nan.ndjson": '{"drawing": [[[NaN, 1], [0, 1]]]}\n',
        "infinity.ndjson": '{"drawing": [[[Infinity, 1], [0, -Infinity]]]}\n',
        "overflowing_float.ndjson": '{"drawing": [[[1e400, 1], [0, 1]]]}\n',
        "huge_integer.ndjson": '{"drawing": [[[1' + "0" * 400 + ", 1], [0, 1]]]}\n",
        "integer_too_long.ndjson": '{"drawing": [[[' + "9" * 5000 + ", 1], [0, 1]]]}\n",
        "word_not_text.ndjson": _line([[[0, 1], [0, 1]]], word=["a", "list"]),
        "latin1.ndjson": b'{"word": "caf\xe9", "drawing": [[[0, 1], [0, 1]]]}\n',
        "binary_garbage.ndjson": random.Random(1).randbytes(64 * 1024),
        "nul_bytes.ndjson": b"\x00" * 4096 + b"\n" + b"\x00" * 10,
        "png_named_ndjson.ndjson": _png(16, 16, b"\x00" * (17 * 16)),
        "too_many_points.ndjson": _line([[list(range(150_000)), [0] * 150_000]]),
        "line_too_long.ndjson": '{"word": "' + "x" * (9 * 1024 * 1024) + '", "drawing": []}\n',
        "unterminated_string.ndjson": '{"word": "never ends, "drawing": [[[0],[0]]]\n',
    }
    for name, text in accept.items():
        corpus.drawings[_write(d / name, text)] = True
    for name, text in refuse.items():
        corpus.drawings[_write(d / name, text)] = False


# --- pictures ----------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, raw: bytes, colour: int = 0, depth: int = 8) -> bytes:
    """A PNG with this IHDR and ``raw`` (filter bytes and scanlines) as its compressed data."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _drawing_png(width: int = 200, height: int = 160) -> bytes:
    """A real picture of a drawing: a dark circle on white, grey 8-bit."""
    yy, xx = np.mgrid[0:height, 0:width]
    r = np.hypot(xx - width / 2, yy - height / 2)
    img = np.where(np.abs(r - min(width, height) / 3) < 4, 0, 255).astype(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in img)
    return _png(width, height, raw)


def _strip_png(width: int, height: int) -> bytes:
    """An extreme aspect ratio: a thin dark line across the middle of a long white strip."""
    img = np.full((height, width), 255, np.uint8)
    img[height // 2, width // 4 : 3 * width // 4] = 0
    return _png(width, height, b"".join(b"\x00" + row.tobytes() for row in img))


def _jpeg() -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage, QPainter, QPen

    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setPen(QPen(QColor("black"), 4))
    painter.drawEllipse(10, 8, 40, 30)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPEG")
    return bytes(data)


def _jpeg_with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF0) claiming another size."""
    at = jpeg.index(b"\xff\xc0")
    return jpeg[: at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9 :]


def _bmp_header(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 14 + 40) + info + b"\x00" * 16


def make_pictures(root: Path, corpus: Corpus) -> None:
    d = root / "pictures"
    good = _drawing_png()
    jpeg = _jpeg()
    accept = {
        "drawing.png": good,
        "drawing.jpg": jpeg,
        "wide_strip.png": _strip_png(20_000, 3),
        "png_named_jpg.jpg": good,
    }
    refuse = {
        "empty.png": b"",
        "text.png": "this is not a picture\n",
        "garbage.png": random.Random(2).randbytes(10_000),
        "truncated.png": good[: len(good) // 3],
        "header_only.png": good[:33],
        "bad_crc.png": good[:29] + bytes([good[29] ^ 0xFF]) + good[30:],
        "zero_size.png": _png(0, 0, b""),
        "bomb_50000x50000.png": _png(50_000, 50_000, b"\x00" * (50_001 * 64)),
        "bomb_1x2000000000.png": _png(1, 2_000_000_000, b"\x00" * 1000),
        "bomb_65000x65000.jpg": _jpeg_with_size(jpeg, 65_000, 65_000),
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "huge.bmp": _bmp_header(100_000, 100_000),
        "huge.gif": b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00" + b";",
        "huge.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="1000000" height="1000000">'
        '<circle cx="50" cy="50" r="40" stroke="black" fill="none"/></svg>',
        "entities.svg": '<?xml version="1.0"?><!DOCTYPE svg ['
        + '<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + ']><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&i;</text></svg>',
        "broken.svg": "<svg><circle",
        "blank.png": _png(40, 40, b"".join(b"\x00" + b"\xff" * 40 for _ in range(40))),
        "one_pixel.png": _png(1, 1, b"\x00\x00"),
    }
    for name, data in accept.items():
        corpus.pictures[_write(d / name, data)] = True
    for name, data in refuse.items():
        corpus.pictures[_write(d / name, data)] = False
    (d / "folder.png").mkdir(parents=True, exist_ok=True)
    corpus.pictures[d / "folder.png"] = False
    corpus.pictures[d / "missing.png"] = False


# --- models ------------------------------------------------------------------------------------------


def _with_metadata(model_bytes: bytes, change) -> bytes:
    import onnx

    model = onnx.load_from_string(model_bytes)
    props = {p.key: p.value for p in model.metadata_props}
    change(props)
    del model.metadata_props[:]
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    return model.SerializeToString()


def _with_graph(model_bytes: bytes, change) -> bytes:
    import onnx

    model = onnx.load_from_string(model_bytes)
    change(model.graph)
    return model.SerializeToString()


def make_models(root: Path, corpus: Corpus) -> None:
    d = root / "models"
    good = DEFAULT_MODEL.read_bytes()
    refuse: dict[str, bytes | str] = {
        "empty.onnx": b"",
        "text.onnx": "not a model\n",
        "garbage.onnx": random.Random(3).randbytes(50_000),
        "truncated.onnx": good[: len(good) // 2],
        "zip_signature.onnx": b"PK\x03\x04" + random.Random(4).randbytes(1000),
        "picture.onnx": _drawing_png(),
    }
    try:
        import onnx  # the train extra; without it the damaged-metadata cases are left out
    except ImportError:
        onnx = None
    if onnx is not None:
        props = {p.key: p.value for p in onnx.load_from_string(good).metadata_props}
        classes = json.loads(props["inkling.classes"])

        def set_(key, value):
            return lambda props: props.__setitem__(key, value)

        def drop(key):
            return lambda props: props.pop(key, None)

        meta = {
            "no_metadata.onnx": lambda props: props.clear(),
            "wrong_format.onnx": set_("inkling.format", "inkling-model/99"),
            "classes_not_json.onnx": set_("inkling.classes", "[cat, dog"),
            "classes_not_a_list.onnx": set_("inkling.classes", '{"cat": 1}'),
            "classes_numbers.onnx": set_("inkling.classes", json.dumps(list(range(len(classes))))),
            "classes_too_few.onnx": set_("inkling.classes", json.dumps(classes[:3])),
            "classes_twice.onnx": set_("inkling.classes", json.dumps([classes[0]] * len(classes))),
            "classes_deep.onnx": set_("inkling.classes", "[" * 100_000 + "]" * 100_000),
            "classes_missing.onnx": drop("inkling.classes"),
            "preprocessing_list.onnx": set_("inkling.preprocessing", "[28]"),
            "preprocessing_other.onnx": set_("inkling.preprocessing", json.dumps({"side": 64})),
            "embedding_dim_text.onnx": set_("inkling.embedding_dim", "many"),
            "embedding_dim_negative.onnx": set_("inkling.embedding_dim", "-5"),
            "embedding_dim_wrong.onnx": set_("inkling.embedding_dim", "17"),
            "embedding_dim_huge.onnx": set_("inkling.embedding_dim", "9" * 5000),
            "head_not_base64.onnx": set_("inkling.head", "%%% not base64 %%%"),
            "head_garbage.onnx": set_("inkling.head", "QUJDREVGRw=="),
            "head_npy_not_npz.onnx": set_("inkling.head", _b64_npy()),
            "head_wrong_shape.onnx": set_("inkling.head", _b64_npz(W=np.zeros((3, 3)), b=np.zeros(3))),
            "head_nan.onnx": set_(
                "inkling.head", _b64_npz(W=np.full((256, len(classes)), np.nan), b=np.zeros(len(classes)))
            ),
            "base_labels_out_of_range.onnx": set_(
                "inkling.base_embeddings",
                _b64_npz(embedding=np.zeros((4, 256), np.float16), label=np.array([0, 1, 2, 10_000])),
            ),
        }
        for name, change in meta.items():
            refuse[name] = _with_metadata(good, change)

        def rename_input(graph):
            old = graph.input[0].name
            graph.input[0].name = "x"
            for node in graph.node:
                for i, name in enumerate(node.input):
                    if name == old:
                        node.input[i] = "x"

        def fixed_batch(graph):
            graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1

        refuse["input_renamed.onnx"] = _with_graph(good, rename_input)
        refuse["fixed_batch_of_one.onnx"] = _with_graph(good, fixed_batch)
    for name, data in refuse.items():
        corpus.models[_write(d / name, data)] = False
    if onnx is not None:  # the training summary is informative only: a model without a usable one works
        corpus.models[
            _write(d / "training_not_object.onnx", _with_metadata(good, set_("inkling.training", "[1]")))
        ] = True
    (d / "folder.onnx").mkdir(parents=True, exist_ok=True)
    corpus.models[d / "folder.onnx"] = False
    corpus.models[d / "missing.onnx"] = False


def _b64_npz(**arrays) -> str:
    import base64

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _b64_npy() -> str:
    import base64

    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    return base64.b64encode(buf.getvalue()).decode("ascii")


# --- class sets --------------------------------------------------------------------------------------


def _circle(n: int, phase: float, squash: float) -> list[np.ndarray]:
    t = np.linspace(0, 2 * np.pi, n) + phase
    return [np.stack([np.cos(t) * 100 + 120, np.sin(t) * 100 * squash + 120], axis=1)]


def valid_classset_bytes() -> bytes:
    """A real class set: the default model taught one new class from five synthetic drawings."""
    from inkling.model.classset import teach
    from inkling.model.fewshot import FitOptions

    drawings = [_circle(30 + i, 0.3 * i, 0.2 + 0.05 * i) for i in range(5)]
    return teach(DEFAULT_MODEL, {"flat oval": drawings}, options=FitOptions(steps=5)).to_bytes()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip(members: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return buf.getvalue()


def _patch_sizes(data: bytes, member: str, *, size: int | None = None, method: int | None = None) -> bytes:
    """The zip with ``member``'s declared uncompressed size (or compression method) rewritten in both its
    local header and the central directory (what a zip bomb or a lying archive does)."""
    out = bytearray(data)
    name = member.encode()
    for sig, size_at, method_at, name_len_at, name_at in (
        (b"PK\x03\x04", 22, 8, 26, 30),
        (b"PK\x01\x02", 24, 10, 28, 46),
    ):
        start = 0
        while (at := out.find(sig, start)) >= 0:
            start = at + 4
            n = struct.unpack_from("<H", out, at + name_len_at)[0]
            if bytes(out[at + name_at : at + name_at + n]) != name:
                continue
            if size is not None:
                struct.pack_into("<I", out, at + size_at, size)
            if method is not None:
                struct.pack_into("<H", out, at + method_at, method)
    return bytes(out)


def make_classsets(root: Path, corpus: Corpus) -> None:
    d = root / "classsets"
    good = valid_classset_bytes()
    members = _members(good)
    manifest = json.loads(members["manifest.json"])
    example = next(n for n in members if n.startswith("examples/"))

    def with_manifest(**changes) -> bytes:
        return _zip({**members, "manifest.json": json.dumps({**manifest, **changes})})

    def with_member(name: str, content) -> bytes:
        changed = {**members, name: content}
        return _zip({k: v for k, v in changed.items() if v is not None})

    escape = "../../../escaped.ndjson"
    npy = io.BytesIO()
    np.save(npy, np.zeros(3))
    pickled = io.BytesIO()
    np.savez(pickled, W=np.array([object()], dtype=object), b=np.zeros(1))
    refuse = {
        "empty.inkset": b"",
        "truncated.inkset": good[: len(good) // 2],
        "tail_cut.inkset": good[:-10],
        "zip_junk.inkset": b"PK\x03\x04" + b"\x00" * 200,
        "empty_zip.inkset": _zip({}),
        "no_manifest.inkset": with_member("manifest.json", None),
        "no_base.inkset": with_member("base.onnx", None),
        "manifest_not_json.inkset": with_member("manifest.json", "{nope"),
        "manifest_deep.inkset": with_member("manifest.json", "[" * 100_000 + "]" * 100_000),
        "manifest_huge_int.inkset": with_member("manifest.json", '{"format": ' + "9" * 5000 + "}"),
        "manifest_list.inkset": with_member("manifest.json", "[1, 2]"),
        "manifest_not_utf8.inkset": with_member("manifest.json", b"\xff\xfe{}"),
        "classes_text.inkset": with_manifest(classes="cat"),
        "examples_escape.inkset": _zip(
            {
                **members,
                "manifest.json": json.dumps(
                    {
                        **manifest,
                        "examples": {n: {"file": escape, "count": 5} for n in manifest["new_classes"]},
                    }
                ),
                escape: members[example],
            }
        ),
        "examples_absolute.inkset": with_manifest(
            examples={n: {"file": "/etc/passwd", "count": 5} for n in manifest["new_classes"]}
        ),
        "examples_file_is_list.inkset": with_manifest(
            examples={n: {"file": ["a"], "count": 5} for n in manifest["new_classes"]}
        ),
        "examples_not_object.inkset": with_manifest(examples=[1, 2]),
        "examples_garbage.inkset": with_member(example, random.Random(5).randbytes(3000)),
        "examples_deep.inkset": with_member(example, "[" * 100_000 + "]" * 100_000 + "\n"),
        "new_class_clashes.inkset": _clashing(members, manifest, example),
        "base_garbage.inkset": with_member("base.onnx", random.Random(6).randbytes(5000)),
        "head_garbage.inkset": with_member("head.npz", b"not an npz"),
        "head_npy.inkset": with_member("head.npz", npy.getvalue()),
        "head_pickled.inkset": with_member("head.npz", pickled.getvalue()),
        "bomb_declared_4gb.inkset": _patch_sizes(good, "base.onnx", size=0xFFFF0000),
        "lying_size.inkset": _patch_sizes(good, "manifest.json", size=10),
        "bomb_manifest.inkset": with_member("manifest.json", b" " * (40 * 1024 * 1024)),
        "unknown_compression.inkset": _patch_sizes(good, "head.npz", method=99),
    }
    # Recorded options of the wrong type: the set still opens (they only steer a refit) -- must load.
    accept = {
        "options_wrong_types.inkset": with_manifest(
            fit={"options": {"steps": 10**12, "lr": "fast", "seed": None}, "copies": "many"},
            created="yesterday",
        ),
    }
    corpus.valid_classset = _write(d / "valid.inkset", good)
    corpus.classsets[corpus.valid_classset] = True
    for name, data in accept.items():
        corpus.classsets[_write(d / name, data)] = True
    for name, data in refuse.items():
        corpus.classsets[_write(d / name, data)] = False


def _clashing(members, manifest, example) -> bytes:
    """A set whose taught class has the name of a base class in other case ("Cat" beside "cat")."""
    clash = manifest["base_classes"][0].upper()
    old = manifest["new_classes"][0]
    changed = {
        **manifest,
        "classes": manifest["base_classes"] + [clash],
        "new_classes": [clash],
        "examples": {clash: manifest["examples"][old]},
    }
    return _zip({**members, "manifest.json": json.dumps(changed)})


# --- settings ----------------------------------------------------------------------------------------


def make_settings(root: Path, corpus: Corpus) -> None:
    d = root / "settings"
    files = {
        "garbage.ini": random.Random(7).randbytes(5000),
        "wrong_types.ini": "[suggestions]\nthreshold=lots\n[model]\nlast=1, 2, 3\n[window]\ngeometry=@ByteArray(xyz)\n"
        "[view]\nnetwork=maybe\nteach=@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\x10)\n",
        "nan_threshold.ini": "[suggestions]\nthreshold=nan\n",
        "inf_threshold.ini": "[suggestions]\nthreshold=-inf\n",
        "last_model_garbage.ini": "[model]\nlast=" + str(root / "models" / "garbage.onnx") + "\n",
        "last_model_folder.ini": "[model]\nlast=" + str(root / "models") + "\n",
        "long_lines.ini": "[suggestions]\nthreshold=" + "9" * 100_000 + "\n",
        "unterminated.ini": "[suggestions\nthreshold=0.5\n[",
    }
    for name, data in files.items():
        corpus.settings.append(_write(d / name, data))


def build(root: str | Path) -> Corpus:
    """Write the whole corpus under ``root`` (created); returns where each file is and what it expects."""
    root = Path(root)
    corpus = Corpus(root)
    make_drawings(root, corpus)
    make_pictures(root, corpus)
    make_models(root, corpus)
    make_classsets(root, corpus)
    make_settings(root, corpus)
    return corpus


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/hostile/make_corpus.py OUT_DIR")
    built = build(sys.argv[1])
    groups = ("drawings", "pictures", "models", "classsets")
    counts = ", ".join(f"{len(getattr(built, g))} {g}" for g in groups)
    print(f"wrote {counts}, {len(built.settings)} settings files under {built.root}")
