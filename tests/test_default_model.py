"""The shipped default model: within its size and compute limits, knows every official Quick, Draw! category,
and is as accurate, balanced and per tier, on its own held-out test split as its model card says (through
ONNX Runtime, the app's runtime)."""

import json

import numpy as np
import pytest
from inkling.model.classifier import Classifier
from inkling.training.categories import CATEGORIES
from inkling.training.recipes import MAX_INFERENCE_FLOPS, SHIPPED_MODEL_BYTES

# What training/train.py measures on the test split and training/card.py writes to default.metrics.json.
REPORTS = ["strokes", "strokes_stroke", "strokes_bitmap", "early", "early_stroke", "early_bitmap", "bitmap"]


def test_size_and_compute_limits(default_model_path):
    assert default_model_path.stat().st_size <= SHIPPED_MODEL_BYTES
    assert Classifier(default_model_path).meta.training["inference_flops"] <= MAX_INFERENCE_FLOPS


def test_classes_are_every_official_category(default_model_path):
    classes = Classifier(default_model_path).meta.classes
    assert classes == list(CATEGORIES) and len(classes) == 345


def test_metadata_records_the_tiers_the_split_and_the_class_prior(default_model_path):
    t = Classifier(default_model_path).meta.training
    assert len(t["tiers"]["bitmap"]) == 65 and len(t["tiers"]["stroke"]) == 280
    assert t["split"]["unit"] == "drawing" and {"seed", "val_frac", "test_frac"} <= set(t["split"])
    assert abs(sum(t["class_prior"].values()) - 1) < 1e-3
    assert "stroke_tier_bias" in t["logit_adjustment"]


@pytest.fixture(scope="module")
def card_and_eval(default_model_path, quickdraw_dir):
    from inkling.training.evaluate import evaluate_model

    path = default_model_path.with_name("default.metrics.json")
    card = json.loads(path.read_text())["test"]
    missing = [name for name in REPORTS if name not in card]
    if missing:
        pytest.fail(
            f"{path} has no test figures for {', '.join(missing)}: the shipped model predates training/train.py "
            "(ship the model, card and metrics that `python -m inkling.training.retrain` writes)"
        )
    return card, evaluate_model(default_model_path, [str(quickdraw_dir)], log=lambda *a: None)


@pytest.mark.slow
@pytest.mark.parametrize("name", REPORTS)
def test_card_figures_hold_on_the_test_split(card_and_eval, name):
    """The recorded figures, recomputed from the data through ONNX Runtime."""
    card, report = card_and_eval
    got, want = report[name], card[name]
    print(
        f"{name}: balanced top-1 {got['balanced']['top1']:.4f} (card {want['balanced']['top1']:.4f}), n={got['n']}"
    )
    assert got["n"] == want["n"]
    # Same drawings, same network: only the float16 weights separate torch's figures from ONNX Runtime's.
    tolerance = max(0.006, 2.0 / got["n"])
    for k in ("top1", "top3", "top5"):
        assert abs(got[k] - want[k]) <= tolerance, (name, k, got[k], want[k])
        assert abs(got["balanced"][k] - want["balanced"][k]) <= tolerance, (
            name,
            k,
            got["balanced"],
            want["balanced"],
        )
    assert np.isfinite(got["balanced"]["top1"])
