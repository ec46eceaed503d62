"""The shipped default model: within its size limit, trained on the classes the brief names, and as
accurate on its own held-out test split as its model card says."""

import json

import numpy as np
from inkling.model.classifier import Classifier
from inkling.training.data import choose_sources, load_model_test_split
from inkling.training.retrain import MAX_MODEL_BYTES, MIN_COUNT


def test_size_limit(default_model_path):
    assert default_model_path.stat().st_size <= MAX_MODEL_BYTES


def test_classes_are_every_category_with_enough_drawings(default_model_path, quickdraw_dir):
    sources = choose_sources([quickdraw_dir], None, MIN_COUNT)
    assert Classifier(default_model_path).meta.classes == [s.name for s in sources]


def test_card_figures_hold_on_the_test_split(default_model_path, quickdraw_dir):
    """Every 4th test drawing through ONNX Runtime (the app's path) against the recorded figures."""
    images, labels, _ = load_model_test_split(default_model_path, [quickdraw_dir], log=lambda *a: None)
    images, labels = images[::4], labels[::4]
    logits = Classifier(default_model_path).run(images)[0]
    top3 = np.argsort(-logits, axis=1)[:, :3]
    top1_acc = float((top3[:, 0] == labels).mean())
    top3_acc = float((top3 == labels[:, None]).any(axis=1).mean())
    card = json.loads(default_model_path.with_name("default.metrics.json").read_text())["test"]
    print(f"quarter of the test split: top-1 {top1_acc:.4f} (card {card['top1']:.4f}), top-3 {top3_acc:.4f}")
    # A quarter of ~11,000 drawings: the sampling error of a top-1 near 0.9 is about 0.6 points.
    assert abs(top1_acc - card["top1"]) < 0.015
    assert abs(top3_acc - card["top3"]) < 0.01
