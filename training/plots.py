"""Training plots as PNG: loss and accuracy curves, learning rate, confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: list[dict], run: Path) -> None:
    plt = _pyplot()
    ep = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(ep, [h["train_loss"] for h in history], "o-", label="train")
    if "val_loss" in history[0]:
        ax1.plot(ep, [h["val_loss"] for h in history], "o-", label="validation")
    ax1.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax1.legend()
    ax2.plot(ep, [h["train_top1"] for h in history], "o-", label="train top-1 (augmented)")
    # Whatever validation figures the run kept (val_top1, val_early_top1, ...).
    for key in [k for k in history[0] if k.startswith("val_") and k[-4:] in ("top1", "top3")]:
        ax2.plot(
            ep, [h[key] for h in history], "o-", label=key.replace("_", " ").replace("val ", "validation ")
        )
    ax2.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(run / "curves.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(ep, [h["lr"] for h in history], "o-")
    ax.set(xlabel="epoch", ylabel="learning rate (end of epoch)", title="Learning rate")
    fig.tight_layout()
    fig.savefig(run / "lr.png", dpi=100)
    plt.close(fig)


def plot_confusion(confusion: np.ndarray, classes: list[str], path: Path) -> None:
    plt = _pyplot()
    rows = confusion.sum(axis=1, keepdims=True)
    norm = np.divide(confusion, rows, out=np.zeros(confusion.shape, dtype=float), where=rows > 0)
    size = max(6.0, 0.16 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=6)
    ax.set_yticks(range(len(classes)), classes, fontsize=6)
    ax.set(xlabel="predicted", ylabel="true", title="Confusion matrix (row-normalised, test split)")
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
