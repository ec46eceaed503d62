"""Rebuild the default model that ships in resources/models/, end to end, with the exact settings used.

    python -m inkling.training.retrain --data ../shared/data/quickdraw --omniglot ../shared/data/omniglot

trains the network on every category in two stages (``RECIPES["default"]``, then ``RECIPES["polish"]`` from
where it ended; :mod:`training.recipes`, the loop in :mod:`training.train`), warm-started from the previous
shipped model in ``training/base/``, with two Omniglot alphabets as background classes for the embedding;
then exports ``resources/models/default.onnx``, chooses
its reference drawings, measures every class through the app's own command (``inkling classify`` on the raw
strokes) and writes the model card. ``--resume`` continues an interrupted run (one run can span two sittings).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .recipes import BACKGROUND_ALPHABETS, RECIPES, RETRAIN_STAGES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "resources" / "models" / "default.onnx"
REFERENCES = ROOT / "resources" / "reference" / "references.ndjson"  # the shipped model's references
WARM_START = ROOT / "training" / "base" / "inkling-345-v1.onnx"  # the model the shipped one starts from


def app_path_figures(model: Path, data_dirs, *, split: str = "test", log=print) -> dict:
    """Balanced top-1/top-5 of every class's held-out drawings through ``inkling classify --json`` on their
    raw strokes (simplified where a drawing has no raw version): the app's own path from strokes."""
    from inkling.model.classifier import load_model
    from inkling.model.strokes import strokes_to_google

    from .dataset import QuickDraw

    clf = load_model(model)
    s = clf.meta.training["split"]
    data = QuickDraw.load(
        data_dirs, clf.base_classes, seed=s["seed"], val_frac=s["val_frac"], test_frac=s["test_frac"], log=log
    )
    drawings = data.stroke_set(split)
    exe = Path(sys.executable).with_name("inkling")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "inkling.desktop"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "held_out.ndjson"
        lines = [
            json.dumps(
                {
                    "word": data.classes[d.label],
                    "key_id": d.key_id,
                    "drawing": strokes_to_google(d.app_version),
                }
            )
            for d in drawings
        ]
        path.write_text("\n".join(lines) + "\n")
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        res = subprocess.run(
            [*cmd, "classify", "--model", str(model), "--top", "5", "--json", str(path)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    rows = sorted(
        (json.loads(line) for line in res.stdout.splitlines() if line.strip()), key=lambda r: r["index"]
    )
    labels = np.asarray([d.label for d in drawings])
    top1 = np.asarray([r["top"][0]["label"] == data.classes[y] for r, y in zip(rows, labels, strict=True)])
    top5 = np.asarray(
        [data.classes[y] in [t["label"] for t in r["top"]] for r, y in zip(rows, labels, strict=True)]
    )
    k = len(data.classes)
    n = np.bincount(labels, minlength=k)
    present = n > 0

    def balanced(hits):
        return float((np.bincount(labels, hits, minlength=k)[present] / n[present]).mean())

    return {
        "n": len(rows),
        "raw": sum(d.raw is not None for d in drawings),
        "top1": float(top1.mean()),
        "top5": float(top5.mean()),
        "balanced_top1": balanced(top1),
        "balanced_top5": balanced(top5),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m inkling.training.retrain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--data", required=True, help="the Quick, Draw! data folder (e.g. ../shared/data/quickdraw)"
    )
    p.add_argument(
        "--omniglot",
        default=os.environ.get("INKLING_OMNIGLOT_DIR"),
        help=f"the Omniglot folder whose alphabets {', '.join(BACKGROUND_ALPHABETS)} train the embedding "
        "(default: $INKLING_OMNIGLOT_DIR)",
    )
    p.add_argument("--runs", default="runs", help="folder for the run")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--init-from", default=str(WARM_START), help="the model the network starts from")
    p.add_argument("--resume", action="store_true", help="continue an interrupted retraining")
    args = p.parse_args(argv)
    missing = [
        a
        for a in BACKGROUND_ALPHABETS
        if not args.omniglot or not (Path(args.omniglot) / f"{a}.ndjson").is_file()
    ]
    if missing:
        p.error(
            f"--omniglot: the shipped model also learns from the Omniglot alphabets {', '.join(missing)} "
            "(<folder>/<alphabet>.ndjson; e.g. ../shared/data/omniglot)"
        )
    from inkling.model.classifier import load_model
    from inkling.model.strokes import atomic_write_text

    from .card import write_card
    from .export import export_checkpoint
    from .references import build_references
    from .train import Config, train

    out = Path(args.out)
    background = [str(Path(args.omniglot) / f"{a}.ndjson") for a in BACKGROUND_ALPHABETS]
    start, stages, history = args.init_from, [], []
    for i, recipe in enumerate(RETRAIN_STAGES):  # each stage starts where the one before ended
        run = Path(args.runs) / ("default-345" if i == 0 else f"default-345-{recipe}")
        cfg = Config(
            data=[args.data], out=str(run), init_from=start, background=background, **RECIPES[recipe]
        )
        cfg.device = args.device
        done = run / "final.pt"
        saved = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").exists() else {}
        if args.resume and done.exists() and "summary" in saved:
            print(f"{done}: already trained")
            metrics = saved
        else:
            print(f"stage {i + 1}/{len(RETRAIN_STAGES)}: RECIPES[{recipe!r}] in {run}")
            metrics = train(cfg, resume=args.resume and (run / "last.pt").exists())
            atomic_write_text(run / "metrics.json", json.dumps(metrics, indent=2))
        s = metrics["summary"]
        stages.append(
            {
                "recipe": recipe,
                "epochs": s["epochs"],
                "train_seconds": s["train_seconds"],
                "init_from": Path(start).name,
                "run": run.name,
            }
        )
        history += [dict(h, epoch=len(history) + j + 1) for j, h in enumerate(metrics["history"])]
        start = str(run / "last.pt")
    metrics["summary"]["stages"] = stages
    from .plots import plot_history

    plot_history(history, run)  # every stage's epochs on one set of curves
    export_checkpoint(done, out)
    # The app's reference drawings are the ones this model recognizes best (inkling --self-test checks them):
    # chosen again for every new model, next to it unless it is the shipped one.
    refs = (
        REFERENCES
        if out.resolve() == DEFAULT_OUT.resolve()
        else out.with_name(f"{out.stem}.references.ndjson")
    )
    chosen, lacking = build_references(Path(args.data), load_model(out), refs)
    print(
        f"wrote {len(chosen)} reference drawings to {refs}"
        + (f" ({len(lacking)} classes without)" if lacking else "")
    )
    from .evaluate import evaluate_model

    reports = evaluate_model(out, [args.data], split="test")  # the exported file, as the app runs it
    app = app_path_figures(out, [args.data], split="test")
    command = f"python -m inkling.training.retrain --data {args.data} --omniglot {args.omniglot}"
    if (run / "curves.png").exists():
        shutil.copyfile(run / "curves.png", out.with_name(f"{out.stem}.curves.png"))
    write_card(metrics, reports, command, out, app)
    print(f"wrote {out} and {out.with_name('MODEL_CARD.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
