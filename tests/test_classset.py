"""Class sets: teach the bundled model new classes (Quick, Draw! categories it lacks, or handwritten
characters when it knows every category), save, reload, classify, edit; one drawing a class end to end;
bad inputs to the API and to ``inkling-train teach``; damaged class-set files."""

import io
import json
import zipfile

import numpy as np
import pytest
from inkling.model.classifier import Classifier, load_model
from inkling.model.classset import FORMAT, ClassSet, is_classset, load_classset, teach
from inkling.model.contract import ModelError
from inkling.model.raster import rasterize_batch
from inkling.model.strokes import read_ndjson, simplify, strokes_to_google
from inkling.training.cli import main as train_main

# Distinctive categories; the first three that the base model does not know are taught.
CANDIDATES = ["envelope", "cactus", "teapot", "anvil", "scissors", "wine glass", "key", "sword"]
SHOTS = 8


def drawings_of(quickdraw_dir, name, fmt):
    return read_ndjson(quickdraw_dir / "strokes" / fmt / f"{name}.ndjson").records


@pytest.fixture(scope="module")
def base(default_model_path):
    return Classifier(default_model_path)


def omniglot_characters(folder, n: int, per_person: slice) -> dict[str, list]:
    """{"<alphabet> <character>": drawings by the people in ``per_person`` (sorted by person)} for the
    first ``n`` characters of the first alphabet."""
    by_char: dict[str, list] = {}
    for rec in read_ndjson(sorted(folder.glob("*.ndjson"))[0]).records:
        by_char.setdefault(rec.word, []).append(rec)
    return {
        word.replace("/", " "): [r.strokes for r in sorted(by_char[word], key=lambda r: r.key_id)[per_person]]
        for word in sorted(by_char)[:n]
    }


@pytest.fixture(scope="module")
def new_class_source(base, request):
    """(new classes {name: (examples, held-out drawings)}, spare drawings {name: [...]}) of three classes
    the base model never learned: Quick, Draw! categories it lacks (examples from raw/, held-out drawings
    from simplified/), or, when it knows them all, handwritten characters (examples by 8 people, held-out
    drawings by 10 others)."""
    known = {c.casefold() for c in base.base_classes}
    names = [c for c in CANDIDATES if c.casefold() not in known][:3]
    classes, spare = {}, {}
    if len(names) == 3:
        quickdraw_dir = request.getfixturevalue("quickdraw_dir")
        for name in names:
            raw = drawings_of(quickdraw_dir, name, "raw")
            used = {r.key_id for r in raw[:SHOTS]}
            held = [r.strokes for r in drawings_of(quickdraw_dir, name, "simplified") if r.key_id not in used]
            classes[name] = ([r.strokes for r in raw[:SHOTS]], held)
            spare[name] = [r.strokes for r in raw[SHOTS : SHOTS + 3]]
    else:
        folder = request.getfixturevalue("omniglot_dir")
        for name, drawings in omniglot_characters(folder, 3, slice(None)).items():
            classes[name] = (drawings[:SHOTS], drawings[10:20])
            spare[name] = drawings[SHOTS:11]
    return classes, spare


@pytest.fixture(scope="module")
def new_classes(new_class_source):
    return new_class_source[0]


@pytest.fixture(scope="module")
def taught(base, new_classes):
    return teach(base, {name: ex for name, (ex, _) in new_classes.items()})


@pytest.fixture(scope="module")
def saved(taught, tmp_path_factory):
    return taught.save(tmp_path_factory.mktemp("sets") / "mine.inkset")


def test_teach_save_reload_classify_round_trip(base, new_classes, taught, saved, quickdraw_dir):
    K = len(base.base_classes)
    assert taught.classes == base.base_classes + list(new_classes)
    assert is_classset(saved) and not is_classset(base.path)
    clf = load_model(saved)
    assert clf.classes == taught.classes and clf.path == saved
    np.testing.assert_array_equal(clf.head[0], taught.W)
    np.testing.assert_array_equal(clf.head[1], taught.b)

    # held-out drawings of the new classes are recognised (among all base + new classes)
    hits = total = 0
    for c, (_, held) in enumerate(new_classes.values()):
        probs = clf.predict_proba(rasterize_batch(held))
        hits += int((probs.argmax(1) == K + c).sum())
        total += len(held)
        assert clf.classify_strokes(held[0], top=5)  # the strokes path works too
    assert hits / total >= 0.6, f"new-class top-1 {hits / total:.2f} on {total} held-out drawings"

    # base drawings keep their base prediction (the base columns are untouched)
    rows = []
    with_bitmaps = [c for c in base.base_classes if (quickdraw_dir / "bitmaps" / f"{c}.npy").exists()]
    for name in with_bitmaps[:20]:
        rows.append(np.load(quickdraw_dir / "bitmaps" / f"{name}.npy", mmap_mode="r")[-10:])
    images = np.concatenate(rows).reshape(-1, 28, 28)
    before = base.predict_proba(images).argmax(1)
    after = clf.predict_proba(images).argmax(1)
    assert (before == after).mean() >= 0.95


def test_file_holds_manifest_base_head_and_examples(base, new_classes, taught, saved):
    with zipfile.ZipFile(saved) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert z.read("base.onnx") == base.path.read_bytes()
        head = np.load(io.BytesIO(z.read("head.npz")))
        # the head reads the embedding and the pooled maps (the default model has both), at a known scale
        assert base.pooled_dim > 0 and base.teach_dim == base.meta.embedding_dim + base.pooled_dim
        assert head["W"].shape == (base.teach_dim, len(taught.classes))
        assert float(head["pooled_scale"]) == pytest.approx(base.pooled_scale)
        for name, (examples, _) in new_classes.items():
            entry = manifest["examples"][name]
            assert entry["count"] == len(examples)
            lines = z.read(entry["file"]).decode().splitlines()
            assert len(lines) == len(examples) and json.loads(lines[0])["word"] == name
    assert manifest["format"] == FORMAT
    assert manifest["new_classes"] == list(new_classes)
    assert manifest["classes"] == manifest["base_classes"] + manifest["new_classes"]
    assert manifest["created"]["base_model"]["sha256"]
    assert manifest["fit"]["seconds"] < 2.0


def test_edit_add_rename_remove_and_reload(new_classes, new_class_source, saved, tmp_path):
    cs = ClassSet.load(saved)
    first, second, third = list(new_classes)
    np.testing.assert_array_equal(cs.W, load_classset(saved).head[0])
    assert [len(d) for d in cs.examples.values()] == [SHOTS] * 3

    W_before = cs.W.copy()
    assert cs.rename_class(first, "  my " + first + " ") == "my " + first  # cleaned up
    np.testing.assert_array_equal(cs.W, W_before)  # renaming does not change what is recognised
    with pytest.raises(ValueError, match="already taken"):
        cs.rename_class(second, third.upper())
    with pytest.raises(KeyError):
        cs.remove_class(cs.base_classes[0])  # base classes stay

    cs.remove_class(second)
    assert cs.new_classes == ["my " + first, third] and cs.W.shape[1] == len(cs.base_classes) + 2
    extra = new_class_source[1][second][:3]
    cs.add_class(second + " again", extra)
    cs.add_examples(third, extra[:1])
    out = cs.save(tmp_path / "edited.inkset")

    again = ClassSet.load(out)
    assert again.new_classes == ["my " + first, third, second + " again"]
    assert [len(d) for d in again.examples.values()] == [SHOTS, SHOTS + 1, 3]
    np.testing.assert_array_equal(again.W, cs.W)
    # the head is a function of the examples: refitting the reloaded set gives the same weights
    again.refit()
    np.testing.assert_allclose(again.W, cs.W, atol=1e-6)


def test_teach_extends_a_class_set_and_is_deterministic(taught, saved, new_classes, base):
    name = list(new_classes)[0]
    same = teach(base, {n: ex for n, (ex, _) in new_classes.items()})
    np.testing.assert_array_equal(same.W, taught.W)
    bigger = teach(saved, {"my scribble": new_classes[name][1][:2]})
    assert bigger.new_classes == list(new_classes) + ["my scribble"]


def test_bad_examples_are_refused(base, new_classes):
    name, (examples, _) = next(iter(new_classes.items()))
    with pytest.raises(ValueError, match="already taken"):
        teach(base, {base.base_classes[0].upper(): examples})  # case-insensitive clash with a base class
    with pytest.raises(ValueError, match="at least 1"):
        teach(base, {name: []})
    with pytest.raises(ValueError, match="at least 1"):
        teach(base, {name: [[], []]})  # drawings without strokes
    with pytest.raises(ValueError, match="empty"):
        teach(base, {"   ": examples})
    with pytest.raises(ValueError, match="not a drawing"):
        teach(base, {name: [[np.zeros((3, 5))]]})
    with pytest.raises(ValueError, match="nothing to teach"):
        teach(base, {})
    with pytest.raises(ModelError, match="not found"):
        teach(base.path.with_name("missing.onnx"), {name: examples})


def damaged_copies(saved, tmp_path):
    data = saved.read_bytes()
    with zipfile.ZipFile(saved) as z:
        members = {n: z.read(n) for n in z.namelist()}

    def rezip(name, **changes):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for n, content in {**members, **changes}.items():
                if content is not None:
                    z.writestr(n, content)
        path = tmp_path / name
        path.write_bytes(buf.getvalue())
        return path

    manifest = json.loads(members["manifest.json"])
    wrong_format = json.dumps({**manifest, "format": "something-else/9"})
    wrong_classes = json.dumps({**manifest, "classes": manifest["classes"][:-1]})
    small_head = io.BytesIO()
    np.savez(small_head, W=np.zeros((3, 3), np.float32), b=np.zeros(3, np.float32))
    truncated = tmp_path / "truncated.inkset"
    truncated.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.inkset"
    junk.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    return {
        truncated: "damaged",
        junk: "damaged",
        rezip("no-manifest.inkset", **{"manifest.json": None}): "no manifest.json",
        rezip("no-head.inkset", **{"head.npz": None}): "no head.npz",
        rezip("bad-json.inkset", **{"manifest.json": b"{not json"}): "broken manifest.json",
        rezip("format.inkset", **{"manifest.json": wrong_format}): "not an Inkling class set",
        rezip("classes.inkset", **{"manifest.json": wrong_classes}): "inconsistent class lists",
        rezip("head.inkset", **{"head.npz": small_head.getvalue()}): "head shape",
        rezip("base.inkset", **{"base.onnx": b"not onnx at all"}): "not a valid ONNX model",
    }


def test_damaged_class_sets_raise_model_error(saved, tmp_path):
    for path, message in damaged_copies(saved, tmp_path).items():
        assert is_classset(path)
        with pytest.raises(ModelError, match=message):
            load_model(path)
    with pytest.raises(ModelError, match="no example drawings"):
        with zipfile.ZipFile(saved) as z:
            members = {n: z.read(n) for n in z.namelist() if not n.startswith("examples/")}
        path = tmp_path / "no-examples.inkset"
        with zipfile.ZipFile(path, "w") as z:
            for n, content in members.items():
                z.writestr(n, content)
        load_model(path)  # the classifier does not need the examples...
        ClassSet.load(path)  # ...editing does


def test_save_is_atomic(taught, tmp_path):
    target = tmp_path / "keep.inkset"
    target.write_bytes(b"old")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        taught.save(blocker / "sub" / "x.inkset")
    taught.save(target)
    assert is_classset(target) and not list(tmp_path.glob(".*tmp"))


# --- inkling-train teach ---------------------------------------------------------------------------


@pytest.fixture()
def examples_dir(tmp_path, new_classes):
    """Two <class>.ndjson files of 6 drawings each: the first in raw screen coordinates, the second in
    Google's simplified form."""
    folder = tmp_path / "examples"
    folder.mkdir()
    for i, (name, (examples, held)) in enumerate(list(new_classes.items())[:2]):
        drawings = (examples + held)[:6]
        if i == 1:
            drawings = [simplify(d) for d in drawings]
        lines = [json.dumps({"word": name, "drawing": strokes_to_google(d)}) for d in drawings]
        (folder / f"{name}.ndjson").write_text("\n".join(lines) + "\n")
    return folder


def run_cli(base, examples, out, *extra):
    return train_main(["teach", "--base", str(base), "--examples", str(examples), "--out", str(out), *extra])


def test_cli_teaches_and_the_result_opens_as_a_model(default_model_path, examples_dir, tmp_path, capsys):
    out = tmp_path / "out" / "set.inkset"
    assert run_cli(default_model_path, examples_dir, out) == 0
    text = capsys.readouterr().out
    assert "taught 2 new class(es)" in text and str(out) in text
    clf = load_model(out)
    assert clf.classes[-2:] == sorted(p.stem for p in examples_dir.glob("*.ndjson"))


def test_cli_skips_bad_lines_and_warns_about_few_examples(default_model_path, examples_dir, tmp_path, capsys):
    f = sorted(examples_dir.glob("*.ndjson"))[0]
    lines = f.read_text().splitlines()[:3]
    f.write_text("\n".join(lines[:2] + ["{broken", '{"drawing": 5}'] + lines[2:]) + "\n")
    assert run_cli(default_model_path, examples_dir, tmp_path / "set.inkset") == 0
    err = capsys.readouterr().err
    assert "skipped 2 bad line(s)" in err and f"{f}:3" in err  # names the file and the first bad line
    assert f"only 3 example(s) of '{f.stem}'" in err


@pytest.mark.parametrize(
    "problem, message",
    [
        ("empty", "no usable drawings"),
        ("clash", "already taken"),
        ("no files", "holds no <class name>.ndjson files"),
        ("out is a folder", "is a folder"),
        ("out exists", "pass --force"),
        ("out under a file", "cannot write to"),
        ("no base", "base model not found"),
    ],
)
def test_cli_bad_inputs_fail_clearly_and_write_nothing(
    problem, message, default_model_path, base, examples_dir, tmp_path, capsys
):
    out = tmp_path / "set.inkset"
    base_path = default_model_path
    if problem == "empty":
        (examples_dir / "nothing.ndjson").write_text("\n")
    elif problem == "clash":
        (examples_dir / f"{base.base_classes[0].upper()}.ndjson").write_text(
            next(examples_dir.glob("*.ndjson")).read_text()
        )
    elif problem == "no files":
        for f in examples_dir.glob("*.ndjson"):
            f.unlink()
    elif problem == "out is a folder":
        out.mkdir()
    elif problem == "out exists":
        out.write_bytes(b"precious")
    elif problem == "out under a file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "set.inkset"
    elif problem == "no base":
        base_path = tmp_path / "missing.onnx"
    assert run_cli(base_path, examples_dir, out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    if problem == "out exists":
        assert out.read_bytes() == b"precious"
    elif problem != "out is a folder":
        assert not out.exists()


# --- one drawing a class: handwritten characters the model never saw -----------------------------------

ONE_SHOT_CLASSES = 5


@pytest.fixture(scope="module")
def characters(omniglot_dir):
    """{character: (one drawing by the first person, drawings of the same character by 10 others)}."""
    found = omniglot_characters(omniglot_dir, ONE_SHOT_CLASSES, slice(None))
    return {name: (drawings[0], drawings[10:20]) for name, drawings in found.items()}


def test_one_drawing_a_class_teach_save_reload_classify(base, characters, tmp_path):
    taught = teach(base, {name: [one] for name, (one, _) in characters.items()})
    assert all(len(d) == 1 for d in taught.examples.values())
    # one drawing: usable, and nothing to leave out for the quality figure
    assert {q.recognised for q in taught.quality.values()} == {None}
    path = taught.save(tmp_path / "one-shot.inkset")
    clf = load_model(path)
    K = len(base.base_classes)
    assert clf.classes == base.base_classes + list(characters)
    hits = total = 0
    for c, (name, (one, others)) in enumerate(characters.items()):
        assert clf.classify_strokes(one, top=1)[0].label == name  # its own drawing
        probs = clf.predict_proba(rasterize_batch(others))  # ten other people's drawings of it
        hits += int((probs.argmax(1) == K + c).sum())
        total += len(others)
    print(
        f"\none drawing a class, {ONE_SHOT_CLASSES} characters: top-1 {hits / total:.2f} on {total} drawings"
    )
    assert hits / total >= 0.6, f"top-1 {hits / total:.2f} on other people's drawings"
    again = ClassSet.load(path)  # the reloaded set edits on: a second drawing gives a quality figure
    name, (_, others) = next(iter(characters.items()))
    again.add_examples(name, [others[0]])
    assert again.quality[name].examples == 2 and again.quality[name].recognised in (0, 1, 2)


def test_cli_accepts_one_drawing_a_class(default_model_path, characters, tmp_path, capsys):
    folder = tmp_path / "one"
    folder.mkdir()
    for name, (one, _) in list(characters.items())[:2]:
        (folder / f"{name}.ndjson").write_text(
            json.dumps({"word": name, "drawing": strokes_to_google(one)}) + "\n"
        )
    out = tmp_path / "one.inkset"
    assert run_cli(default_model_path, folder, out) == 0
    captured = capsys.readouterr()
    assert "taught 2 new class(es)" in captured.out and "only 1 example(s)" in captured.err
    assert load_model(out).classes[-2:] == sorted(p.stem for p in folder.glob("*.ndjson"))


def _model_variant(base, tmp_path, *, drop_output: bool = False, drop_sample: bool = False):
    """A copy of the default model without its `pooled` output, or without the base sample of it."""
    onnx = pytest.importorskip("onnx")
    from inkling.model.contract import KEY_BASE_EMBEDDINGS, decode_arrays, encode_arrays

    proto = onnx.load_from_string(base.path.read_bytes())
    if drop_output:
        kept = [o for o in proto.graph.output if o.name != "pooled"]
        del proto.graph.output[:]
        proto.graph.output.extend(kept)
    if drop_sample:
        for prop in proto.metadata_props:
            if prop.key == KEY_BASE_EMBEDDINGS:
                arrays = decode_arrays(prop.value)
                arrays.pop("pooled")
                prop.value = encode_arrays(arrays)
    path = tmp_path / "variant.onnx"
    path.write_bytes(proto.SerializeToString())
    return path


def test_taught_head_reads_the_pooled_features_at_the_scale_it_was_taught_with(
    base, new_classes, taught, saved
):
    D = base.meta.embedding_dim
    assert base.pooled_scale and taught.pooled_scale == base.pooled_scale
    clf = load_model(saved)
    assert clf.head_pooled_scale == pytest.approx(base.pooled_scale)
    held = [d for _, h in new_classes.values() for d in h[:3]]
    images = rasterize_batch(held)
    # the live path (run) is the teaching features times the head, and the base columns ignore pooled
    feats = base.teach_features(images)
    np.testing.assert_allclose(clf.run(images)[0], feats @ taught.W + taught.b, rtol=1e-4, atol=1e-4)
    assert not taught.W[D:, : len(base.base_classes)].any()
    # a head that reads pooled cannot be set on a model that has no scale for it
    with pytest.raises(ModelError, match="pooled"):
        clf.set_head(taught.W, taught.b, taught.classes, pooled_scale=float("nan"))


@pytest.mark.parametrize("variant", ["drop_output", "drop_sample"])
def test_a_base_without_pooled_features_teaches_on_the_embedding_alone(base, new_classes, tmp_path, variant):
    path = _model_variant(base, tmp_path, **{variant: True})
    plain = Classifier(path)
    assert plain.pooled_scale is None and plain.teach_dim == base.meta.embedding_dim
    cs = teach(plain, {name: ex for name, (ex, _) in new_classes.items()}, measure_quality=False)
    assert cs.W.shape == (base.meta.embedding_dim, len(cs.classes)) and cs.pooled_scale is None
    out = cs.save(tmp_path / "plain.inkset")
    clf = load_model(out)
    assert clf.head_pooled_scale is None
    hits = total = 0
    for name, (_, held) in new_classes.items():
        hits += sum(clf.classify_strokes(d, top=1)[0].label == name for d in held[:10])
        total += len(held[:10])
    assert hits / total >= 0.5, f"new-class top-1 {hits / total:.2f} on {total} held-out drawings"


@pytest.mark.parametrize("scale", [float("nan"), -1.0, 0.0])
def test_a_class_set_with_an_unusable_pooled_scale_is_refused(saved, tmp_path, scale):
    out = tmp_path / "bad.inkset"
    with zipfile.ZipFile(saved) as z, zipfile.ZipFile(out, "w") as w:
        for item in z.infolist():
            data = z.read(item)
            if item.filename == "head.npz":
                head = dict(np.load(io.BytesIO(data)))
                head["pooled_scale"] = np.float64(scale)
                buf = io.BytesIO()
                np.savez(buf, **head)
                data = buf.getvalue()
            w.writestr(item, data)
    with pytest.raises(ModelError, match="pooled"):
        load_model(out)
