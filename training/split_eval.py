"""Accuracy over a split of any size: read from the memory maps, predicted and scored a chunk at a time.

``classification_report`` wants every logit at once and sorts them (N × classes floats, and an N × classes
int64 argsort). For the test split of 345 × 20,000 bitmaps that is 3 GB, for the whole dataset (5 million
test drawings) 20 GB and more. Here only one chunk's images and logits exist at a time, and what is kept
(top-k hit counts and the confusion matrix) does not grow with the split: the report comes out identical.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .data import Dataset, SplitIndex
from .metrics import classification_report, report_from_counts

# A multiple of fit.predict's batch (1024), so every batch is the one a single full-split predict would run.
CHUNK = 8192


def split_report(
    logits_of: Callable[[np.ndarray], np.ndarray],
    ds: Dataset,
    index: SplitIndex,
    classes: list[str],
    *,
    chunk: int = CHUNK,
) -> dict:
    """classification_report of ``logits_of(images)`` over ``index``, in bounded memory."""
    if len(index) <= chunk:
        return classification_report(logits_of(ds.gather(index)), index.label, classes)
    hits = {1: 0, 3: 0, 5: 0}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for start in range(0, len(index), chunk):
        part = SplitIndex(index.label[start : start + chunk], index.row[start : start + chunk])
        r = classification_report(logits_of(ds.gather(part)), part.label, classes, top_pairs=0)
        for t in hits:
            hits[t] += round(r[f"top{t}"] * r["n"])  # exact: a count over at most `chunk` drawings
        confusion += np.asarray(r["confusion"], dtype=np.int64)
    return report_from_counts(hits, confusion, classes)
