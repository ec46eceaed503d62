"""The shipped model's card (``resources/models/MODEL_CARD.md``), its confusion plot and its metrics file,
written from a training run's metrics and the figures measured through the app's own command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from inkling.model.strokes import atomic_write_text

from .plots import plot_confusion
from .recipes import MAX_INFERENCE_FLOPS, SHIPPED_MODEL_BYTES

ATTRIBUTION = (
    'Contains drawings from "The Quick, Draw! Dataset" by Google '
    "(https://github.com/googlecreativelab/quickdraw-dataset), licensed under CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/)."
)
OMNIGLOT = (
    "Brenden Lake's Omniglot data set (https://github.com/brendenlake/omniglot, MIT license; Lake, "
    "Salakhutdinov and Tenenbaum, Science 350(6266), 2015)"
)


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


def _shape(net: dict) -> str:
    convs = " + ".join(f"{n}×{w}" for w, n in zip(net["widths"], net["convs_per_block"], strict=True))
    tail = "averaged over space" if net["global_pool"] else "flattened 3×3"
    return f"3×3 convs {convs}, {tail}, {net['embedding_dim']}-d embedding, dropout {net['dropout']}"


def _outputs_row(model_path: Path) -> str:
    from inkling.model.classifier import Classifier

    from .net import POOLED_BLOCKS

    clf = Classifier(model_path)
    row = f"`logits` ({len(clf.classes)}), `embedding` ({clf.meta.embedding_dim})"
    if clf.pooled_dim:
        row += (
            f", `pooled` ({clf.pooled_dim}: conv block {POOLED_BLOCKS}'s maps averaged over each quarter of the "
            "drawing; taught classes read it beside the embedding, with a sample of the base classes' in the metadata)"
        )
    return row


def _stages(s: dict) -> str:
    """ "26 + 14 epochs (recipes default, polish)" or "26 epochs" for a one-stage run."""
    stages = s.get("stages") or [{"recipe": "default", "epochs": s["epochs"]}]
    epochs = " + ".join(str(st["epochs"]) for st in stages)
    names = ", ".join(f"`{st['recipe']}`" for st in stages)
    return f"{epochs} epochs (recipe{'s' if len(stages) > 1 else ''} {names})"


def _loop_minutes(s: dict) -> float:
    return sum(st["train_seconds"] for st in s.get("stages") or [s]) / 60


def _first_init(s: dict) -> str:
    return s["stages"][0]["init_from"] if s.get("stages") else s["init_from"]


def _spread(model_path: Path) -> list[str]:
    """The run-to-run spread measured by benchmarks/bench_run_spread.py, where it was saved beside the model."""
    path = model_path.with_name(f"{model_path.stem}.spread.json")
    if not path.exists():
        return []
    r = json.loads(path.read_text())
    figures = "; ".join(
        f"{name} {s['mean']:.1%} ± {s['sd'] * 100:.1f} (range {(s['max'] - s['min']) * 100:.1f} points)"
        for name, s in r["summary"].items()
    )
    return [
        f"**Run to run** ({len(r['runs'])} runs of the last stage, `{r['recipe']}`, shortened to {r['epochs']} "
        f"epochs, each from the same first-stage checkpoint with another training seed; test split; mean ± "
        f"standard deviation in points; `benchmarks/bench_run_spread.py`, saved as `{path.name}`): {figures}.",
        "",
    ]


def model_card(metrics: dict, reports: dict, command: str, model_path: Path, app: dict | None = None) -> str:
    """The card of the exported model: ``reports`` are its test reports through ONNX Runtime
    (:func:`training.evaluate.evaluate_model`), ``metrics`` the training run's."""
    s = metrics["summary"]
    v = s["val"]
    cfg = s["config"]
    bm, st = s["tiers"]["bitmap"], s["tiers"]["stroke"]
    size_mb = model_path.stat().st_size / 1e6 if model_path.exists() else float("nan")
    strokes = [s["counts"][n]["strokes"] for n in s["classes"]]
    tau = s["logit_adjustment"]["stroke_tier_bias"]
    lines = [
        "# Inkling default model",
        "",
        f"A CNN (conv → batch norm → ReLU blocks with max pooling, then a fully connected embedding and a linear "
        f"classifier; {s['parameters']:,} parameters, stored as float16) that recognizes doodles of all "
        f"{len(s['classes'])} Quick, Draw! categories, rendered by `model.raster` as 28×28 images: {_shape(s['net'])}.",
        "",
        f"**One network, trained end to end on every category** ({_stages(s)} on {s['hardware']}, "
        f"{_loop_minutes(s):.0f} minutes in the training loop), warm-started from the previous shipped "
        f"model (`training/base/{_first_init(s)}`). Every class has Google's stroke drawings ({min(strokes):,} to "
        f"{max(strokes):,} distinct drawings, median {int(np.median(strokes)):,}); the {len(bm)} classes of the "
        f"**bitmap tier** also have Google's official 28×28 bitmaps, the other {len(st)} are the **stroke tier**. "
        f"Every figure below is the argmax over all {len(s['classes'])} classes; *balanced* is the mean over the "
        "classes of each class's own accuracy (every class counts the same).",
        "",
        "| held-out test split | top-1 | top-3 | top-5 | drawings |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [
        ("strokes", "**every class, balanced** (stroke drawings rendered as the app does)", True),
        (
            "strokes_sample",
            "every class, balanced, the second sample's drawings only (`strokes/extra/`)",
            True,
        ),
        ("strokes_stroke", "stroke tier, balanced", True),
        ("strokes_bitmap", "bitmap tier's stroke drawings, balanced", True),
        ("early", "**early guess, every class, balanced** (first half of the strokes)", True),
        ("early_sample", "early guess, the second sample's drawings only", True),
        ("early_stroke", "early guess, stroke tier, balanced", True),
        ("early_bitmap", "early guess, bitmap tier, balanced", True),
        ("bitmap", "bitmap tier's official bitmaps (over drawings)", False),
    ]
    for key, title, balanced in rows:
        if key not in reports:
            continue
        r = reports[key]["balanced"] if balanced else reports[key]
        lines.append(
            f"| {title} | **{r['top1']:.2%}** | {r['top3']:.2%} | {r['top5']:.2%} | {reports[key]['n']:,} |"
        )
    if app:
        lines.append(
            f"| every class through `inkling classify --json` on the raw strokes (the app's path), balanced | "
            f"**{app['balanced_top1']:.2%}** | | **{app['balanced_top5']:.2%}** | {app['n']:,} |"
        )
    lines += [
        "",
        "Measured on the exported file through ONNX Runtime, as the app runs it. The early guess classifies the "
        "first half of a drawing's strokes (rounded up), as the app does while a person is still drawing. A stroke "
        "drawing is rendered from its raw strokes where the data has them (what the app sees), otherwise from "
        "Google's simplified strokes. The network started from the previous model, which was trained on part of "
        "Google's raw and simplified drawings before `strokes/extra/` was added, and the split of every class's "
        "drawings changed with it: some of those drawings are now in this test split. The second sample's "
        "drawings (`strokes/extra/`, a random sample of each category) were never trained on by either model: "
        "their rows are the figures to quote.",
        "",
        *_spread(model_path),
        "| | |",
        "|---|---|",
        f"| file | `{model_path.name}` ({size_mb:.2f} MB, ONNX, float16 weights) |",
        f"| outputs | {_outputs_row(model_path)} |",
        f"| classes | {len(s['classes'])} ({len(bm)} bitmap tier, {len(st)} stroke tier), names as "
        "`inkling-train download --list` |",
        f"| validation | every class balanced top-1 {v['strokes']['balanced']['top1']:.2%} top-5 "
        f"{v['strokes']['balanced']['top5']:.2%} (n={v['strokes']['n']:,}); early guess {v['early']['balanced']['top1']:.2%}; "
        f"official bitmaps top-1 {v['bitmap']['top1']:.2%} (n={v['bitmap']['n']:,}) |",
        f"| split | per class, seed {s['split']['seed']}, by drawing (key_id, or the strokes themselves where a "
        f"line has none): {1 - s['split']['val_frac'] - s['split']['test_frac']:.0%} train / "
        f"{s['split']['val_frac']:.0%} validation / {s['split']['test_frac']:.0%} test; raw and simplified versions "
        "of one drawing are one drawing; a stroke drawing that is also a bitmap row stays on that row's side |",
        f"| stroke drawings, train / val / test | {sum(c['train'] for c in s['counts'].values()):,} / "
        f"{sum(c['val'] for c in s['counts'].values()):,} / {sum(c['test'] for c in s['counts'].values()):,} |",
        f"| sampling and class prior | class-balanced: every class {cfg['samples_per_class']} samples an epoch (a "
        f"bitmap-tier class {cfg['bitmap_share']:.0%} of them official bitmaps), stroke samples fresh stroke-space "
        f"variants, {cfg['partial_p']:.0%} of them partial drawings; then a logit adjustment of {tau:+.1f} on every "
        f"stroke-tier class, {s['logit_adjustment']['chosen_on'].replace('validation: ', 'chosen on validation: ')}, "
        "built into the classifier's bias; per-class values: `class_prior` in the model's metadata |",
        f"| inference | {s['inference_flops'] / 1e6:.0f} million operations per drawing (limit "
        f"{MAX_INFERENCE_FLOPS / 1e6:.0f}), no mirror averaging |",
        f"| training | {_stages(s)}, {s['images_per_sec']:.0f} images/s (median of the last stage), "
        f"{_loop_minutes(s):.0f} min in the loop (the last sitting of the last stage: {s['wall_minutes']:.0f} min "
        "with data loading and evaluation; `--resume` continues a run in another sitting) |",
        f"| hardware | {s['hardware']} |",
        f"| torch | {s['torch']} |",
        "",
        "Reproduce it (every setting: `RECIPES` in `training/recipes.py`, the stages in `RETRAIN_STAGES`; the "
        "loop: `training/train.py`):",
        "",
        "```",
        command,
        "```",
        "",
        "## Data",
        "",
        ATTRIBUTION,
        "",
        "Bitmaps are Google's official `numpy_bitmap` renderings; stroke drawings (raw, simplified, and the "
        "second sample of simplified drawings in `strokes/extra/`) are rendered with `model.raster`, the renderer "
        "the app uses on live drawings, after stroke-space augmentation (affine warp, jitter, resampling, stroke "
        "dropout, partial drawings), new variants every epoch.",
        "",
    ]
    if s.get("background"):
        files = ", ".join(f"`{f}`" for f in s["background"])
        lines += [
            f"The embedding also learned handwritten characters as background classes ({files}, a fresh variant "
            "of each drawing every epoch), through classifier rows that are not part of the model: never "
            f"suggested, they prepare the embedding for what people teach. They are from {OMNIGLOT}.",
            "",
        ]
    lines += [
        f"Training curves: [{model_path.stem}.curves.png]({model_path.stem}.curves.png); confusion matrix "
        f"(bitmap tier): [{model_path.stem}.confusion.png]({model_path.stem}.confusion.png).",
        "",
        "## Per-class accuracy (test split)",
        "",
        "About 40 test drawings a class: read a row as an example, the balanced figures above as the measurement.",
        "",
        "| class | tier | train / val / test drawings | top-1 | top-5 | early top-1 | official bitmaps top-1 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in s["classes"]:
        c = s["counts"][name]
        pc = reports["strokes"]["per_class"].get(name, {})
        tier = "bitmap" if name in bm else "stroke"
        bm_top1 = reports["bitmap"]["per_class"].get(name, {}).get("top1") if tier == "bitmap" else None
        lines.append(
            f"| {name} | {tier} | {c['train']} / {c['val']} / {c['test']} | {_pct(pc.get('top1'))} | "
            f"{_pct(pc.get('top5'))} | {_pct(reports['early']['per_class'].get(name, {}).get('top1'))} | {_pct(bm_top1)} |"
        )
    lines += [
        "",
        "## Most confused pairs (test split, stroke drawings)",
        "",
        "| true | predicted | count | share of true |",
        "|---|---|---:|---:|",
    ]
    for p in reports["strokes"]["confused_pairs"][:15]:
        lines.append(f"| {p['true']} | {p['predicted']} | {p['count']} | {p['share']:.1%} |")
    lines += [
        "",
        "## What limits it",
        "",
        "Data and compute. Most categories have about 400 distinct drawings (DoodleNet trained on 50,000 a "
        "category); augmentation multiplies the variants, not the ideas people draw. The run is sized for a "
        "2-core CPU in under three hours; the same loop takes a GPU and the whole dataset "
        "(`inkling-train download --simplified`, `inkling-train train --device cuda`, `torchrun` for several). "
        "The app's live suggestions leave the model about 1 ms per drawing: at most "
        f"{MAX_INFERENCE_FLOPS / 1e6:.0f} million operations, {SHIPPED_MODEL_BYTES / 1e6:.0f} MB.",
        "",
    ]
    return "\n".join(lines)


def write_card(metrics: dict, reports: dict, command: str, out: Path, app: dict | None = None) -> None:
    """MODEL_CARD.md, the confusion plot (bitmap tier) and ``<model>.metrics.json`` beside the model."""
    s = metrics["summary"]
    bm = [s["classes"].index(n) for n in s["tiers"]["bitmap"]]
    if bm:
        confusion = np.asarray(reports["bitmap"]["confusion"])[np.ix_(bm, bm)]
        plot_confusion(confusion, s["tiers"]["bitmap"], out.with_name(f"{out.stem}.confusion.png"))
    atomic_write_text(out.with_name("MODEL_CARD.md"), model_card(metrics, reports, command, out, app))
    slim = {k: {kk: vv for kk, vv in r.items() if kk != "confusion"} for k, r in reports.items()}
    short = {k: {kk: r[kk] for kk in ("top1", "top3", "top5", "n", "balanced")} for k, r in reports.items()}
    atomic_write_text(
        out.with_name(f"{out.stem}.metrics.json"),
        json.dumps({"summary": s, "test": short, "app_path": app, "test_reports": slim}, indent=1),
    )
