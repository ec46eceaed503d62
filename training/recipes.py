"""The recipes: every setting of a training run, as data, in one place.

``inkling-train train --recipe NAME`` starts from one of these; any option given on the command line
overrides it. ``default`` then ``polish`` build the shipped model (``python -m inkling.training.retrain``);
``smoke`` is a few minutes' run of the same loop for tests and quick checks.
"""

from __future__ import annotations

# The shipped model's first stage: the 48/96/192 network (132 million operations a drawing), warm-started from
# the previous shipped model, trained end to end on every category, class-balanced, on a 2-core CPU.
_DEFAULT = dict(
    epochs=26,
    samples_per_class=96,
    bitmap_share=0.5,
    partial_p=0.3,
    batch_size=256,
    lr=2e-3,
    weight_decay=5e-4,
    label_smoothing=0.1,
    warmup=0.05,
    widths=[48, 96, 192],
    convs_per_block=[2, 2, 2],
    embedding_dim=256,
    dropout=0.3,
    bitmap_augment_strength=0.6,
    stroke_augment_strength=1.0,
    render_workers=1,
    threads=2,
)

RECIPES: dict[str, dict] = {
    "default": _DEFAULT,
    # The second stage, from the first one's last epoch: after 26 epochs the network still fitted its own
    # training drawings (un-augmented) only 4 points better than unseen ones (69% / 65%): it underfits, so
    # a second, shorter cycle with lighter augmentation and dropout.
    "polish": dict(
        _DEFAULT,
        epochs=14,
        lr=1e-3,
        warmup=0.1,
        dropout=0.1,
        bitmap_augment_strength=0.4,
        stroke_augment_strength=0.5,
    ),
    # A small network for a few minutes: the whole loop, for tests and for trying a change quickly.
    "smoke": dict(
        epochs=3,
        samples_per_class=32,
        batch_size=64,
        widths=[16, 32, 64],
        convs_per_block=[1, 1, 1],
        embedding_dim=64,
        lr=3e-3,
        render_workers=0,
        val_per_class=4,
        keep_samples=2,
        plots=False,
    ),
}

# The shipped model's limits. The app classifies after every stroke and must update its suggestions within
# 5 ms (median) on a 2-core CPU; rasterizing and redrawing take 3 to 4 ms of that, so the model gets about
# 1 ms: 140 million operations a drawing (benchmarks/bench_app.py: 162 million gave a median of 4.8 to 5.6 ms
# over runs, 132 million 4.5 ms). The installer stays small: 5 MB.
MAX_INFERENCE_FLOPS = 140e6
# The shipped model is built by these recipes in turn, each stage starting from the one before.
RETRAIN_STAGES = ("default", "polish")
SHIPPED_MODEL_BYTES = 5_000_000
# Handwritten alphabets that train the shipped model's embedding as background classes (teaching's tuning
# alphabets; benchmarks/bench_fewshot.py reports on the others).
BACKGROUND_ALPHABETS = ("Korean", "Balinese")
