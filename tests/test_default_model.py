"""The shipped default model: within its size and compute limits, knows every official Quick, Draw! category,
and is as accurate per tier on its own held-out test split as its model card says (through ONNX Runtime)."""

import json

import numpy as np
import pytest
from inkling.model.classifier import Classifier
from inkling.training.categories import CATEGORIES
from inkling.training.retrain import MAX_INFERENCE_FLOPS, MAX_MODEL_BYTES


def test_size_and_compute_limits(default_model_path):
    assert default_model_path.stat().st_size <= MAX_MODEL_BYTES
    assert Classifier(default_model_path).meta.training["inference_flops"] <= MAX_INFERENCE_FLOPS


def test_classes_are_every_official_category(default_model_path):
    classes = Classifier(default_model_path).meta.classes
    assert classes == list(CATEGORIES) and len(classes) == 345


def test_metadata_records_the_tiers_and_the_class_prior(default_model_path):
    t = Classifier(default_model_path).meta.training
    assert len(t["tiers"]["bitmap"]) == 65 and len(t["tiers"]["stroke"]) == 280
    assert abs(sum(t["class_prior"].values()) - 1) < 1e-3
    assert "stroke_tier_bias" in t["logit_adjustment"]


@pytest.fixture(scope="module")
def card_and_eval(default_model_path, quickdraw_dir):
    from inkling.training.evaluate import evaluate_tiers

    card = json.loads(default_model_path.with_name("default.metrics.json").read_text())["test"]
    return card, evaluate_tiers(default_model_path, [quickdraw_dir], log=lambda *a: None)


@pytest.mark.parametrize("tier", ["bitmap", "stroke", "early_bitmap", "early_stroke"])
def test_card_figures_hold_on_the_test_split(card_and_eval, tier):
    """The recorded per-tier figures, recomputed from the data through ONNX Runtime (the app's runtime)."""
    card, report = card_and_eval
    got = report[tier]
    print(f"{tier}: top-1 {got['top1']:.4f} (card {card[tier]['top1']:.4f}), n={got['n']}")
    assert got["n"] == card[tier]["n"]
    # Same drawings, same network: only the float16 weights separate torch's figures from ONNX Runtime's.
    tolerance = max(0.006, 2.0 / got["n"])
    for k in ("top1", "top3", "top5"):
        assert abs(got[k] - card[tier][k]) <= tolerance, (tier, k, got[k], card[tier][k])
    assert np.isfinite(got["top1"])
