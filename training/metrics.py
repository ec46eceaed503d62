"""Classification metrics from logits: top-k accuracy, per-class accuracy, confusion and confused pairs."""

from __future__ import annotations

import numpy as np


def classification_report(
    logits: np.ndarray, labels: np.ndarray, classes: list[str], top_pairs: int = 15
) -> dict:
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    k = len(classes)
    n = len(labels)
    report: dict = {"n": int(n)}
    if n == 0:
        return report | {
            "balanced": {"top1": 0.0, "top3": 0.0, "top5": 0.0},
            "classes_present": 0,
            "top1": 0.0,
            "top3": 0.0,
            "top5": 0.0,
            "per_class": {},
            "confusion": [],
            "confused_pairs": [],
        }
    order = np.argsort(-logits, axis=1)
    class_hits = {
        t: np.bincount(labels, (order[:, : min(t, k)] == labels[:, None]).any(axis=1), minlength=k)
        for t in (1, 3, 5)
    }
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (labels, order[:, 0]), 1)
    return report_from_counts(class_hits, confusion, classes, top_pairs)


def report_from_counts(
    class_hits: dict[int, np.ndarray], confusion: np.ndarray, classes: list[str], top_pairs: int = 15
):
    """The report from each class's top-k hit counts and the confusion matrix: what chunked evaluation adds up.

    ``top1``/``top3``/``top5`` are means over drawings; ``balanced`` holds the means over the classes that have
    drawings of each class's own top-k (every class counts the same, however many drawings it has).
    """
    k = len(classes)
    n = int(confusion.sum())
    report: dict = {"n": n}
    support = confusion.sum(axis=1)
    present = support > 0
    for t in (1, 3, 5):
        hits = np.asarray(class_hits[t], dtype=np.float64)
        report[f"top{t}"] = float(hits.sum()) / n if n else 0.0  # == the mean over drawings, bit for bit
    report["balanced"] = {
        f"top{t}": float(np.mean(np.asarray(class_hits[t])[present] / support[present]))
        if present.any()
        else 0.0
        for t in (1, 3, 5)
    }
    report["classes_present"] = int(present.sum())
    report["per_class"] = {
        classes[c]: {
            "n": int(support[c]),
            "top1": float(confusion[c, c] / support[c]) if support[c] else None,
            "top3": float(class_hits[3][c] / support[c]) if support[c] else None,
            "top5": float(class_hits[5][c] / support[c]) if support[c] else None,
        }
        for c in range(k)
    }
    report["confusion"] = confusion.tolist()
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    pairs = []
    for flat in np.argsort(-off, axis=None)[:top_pairs]:
        true, guess = divmod(int(flat), k)
        if off[true, guess] == 0:
            break
        pairs.append(
            {
                "true": classes[true],
                "predicted": classes[guess],
                "count": int(off[true, guess]),
                "share": float(off[true, guess] / support[true]),
            }
        )
    report["confused_pairs"] = pairs
    return report


def format_report(report: dict) -> str:
    """A readable table: overall accuracy, per-class accuracy (worst first), most confused pairs."""
    lines = [
        f"drawings: {report['n']}",
        f"top-1: {report['top1']:.2%}   top-3: {report['top3']:.2%}   top-5: {report['top5']:.2%}",
        f"balanced over {report['classes_present']} classes: top-1: {report['balanced']['top1']:.2%}   "
        f"top-3: {report['balanced']['top3']:.2%}   top-5: {report['balanced']['top5']:.2%}",
        "",
        f"{'class':<24} {'n':>6} {'top-1':>8}",
    ]
    per = sorted(report["per_class"].items(), key=lambda kv: (kv[1]["top1"] is None, kv[1]["top1"] or 0))
    for name, v in per:
        acc = "-" if v["top1"] is None else f"{v['top1']:.1%}"
        lines.append(f"{name:<24} {v['n']:>6} {acc:>8}")
    if report["confused_pairs"]:
        lines += ["", "most confused (true -> predicted):"]
        for p in report["confused_pairs"]:
            lines.append(f"  {p['true']} -> {p['predicted']}: {p['count']} ({p['share']:.1%} of {p['true']})")
    return "\n".join(lines)
