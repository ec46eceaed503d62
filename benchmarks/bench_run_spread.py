"""How much the shipped recipe's figures move from run to run.

The shipped model's last stage (``RECIPES["polish"]``) is trained several times from the same first-stage
checkpoint, each time with another ``train_seed`` (initialization of the background head, sampling,
augmentation, dropout), shortened to ``--epochs`` so that it fits beside a working day on a 2-core CPU. Each
run chooses its own logit adjustment on validation and is measured on the same test split. Prints every run's
figures and their mean, standard deviation and range, and writes them as JSON (``--out``; the retrain's model
card quotes ``resources/models/default.spread.json``).

    python benchmarks/bench_run_spread.py --data ../shared/data/quickdraw --omniglot ../shared/data/omniglot \
        --start runs/default-345/last.pt --seeds 1 2 3 --epochs 3

Runs one after another (two cores); about 15 minutes a run at 3 epochs.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from inkling.model.strokes import atomic_write_text
from inkling.training.recipes import BACKGROUND_ALPHABETS, RECIPES, RETRAIN_STAGES
from inkling.training.train import Config, train

FIGURES = {  # name in the report -> (test set, balanced?)
    "balanced top-1": ("strokes", True),
    "balanced top-5": ("strokes", True),
    "stroke tier top-1": ("strokes_stroke", True),
    "early guess top-1": ("early", True),
    "official bitmaps top-1": ("bitmap", False),
}


def figures(summary: dict) -> dict[str, float]:
    out = {}
    for name, (key, balanced) in FIGURES.items():
        r = summary["test"][key]
        r = r["balanced"] if balanced else r
        out[name] = r["top5"] if name.endswith("top-5") else r["top1"]
    out["logit adjustment"] = summary["logit_adjustment"]["stroke_tier_bias"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="the Quick, Draw! data folder")
    p.add_argument("--omniglot", required=True, help="the Omniglot folder (background alphabets)")
    p.add_argument("--start", required=True, help="the first stage's checkpoint (runs/default-345/last.pt)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--epochs", type=int, default=3, help="epochs a run (the recipe's own: %(default)s)")
    p.add_argument("--out", help="write the figures here as JSON")
    args = p.parse_args(argv)
    recipe = RETRAIN_STAGES[-1]
    background = [str(Path(args.omniglot) / f"{a}.ndjson") for a in BACKGROUND_ALPHABETS]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            kw = dict(RECIPES[recipe], epochs=args.epochs, train_seed=seed, plots=False)
            cfg = Config(
                data=[args.data], out=f"{tmp}/seed-{seed}", init_from=args.start, background=background, **kw
            )
            t0 = time.perf_counter()
            metrics = train(cfg, log=lambda *a: None)
            row = figures(metrics["summary"])
            row["seed"], row["minutes"] = seed, round((time.perf_counter() - t0) / 60, 1)
            runs.append(row)
            print(
                f"seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k in FIGURES),
                flush=True,
            )
    summary = {}
    print(f"\n{len(runs)} runs of RECIPES[{recipe!r}] shortened to {args.epochs} epochs, from {args.start}:")
    for name in FIGURES:
        v = np.asarray([r[name] for r in runs])
        summary[name] = {
            "mean": float(v.mean()),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()),
            "max": float(v.max()),
        }
        s = summary[name]
        print(
            f"  {name:24s} mean {s['mean']:.2%}  sd {s['sd'] * 100:.2f} points  range {(s['max'] - s['min']) * 100:.2f} points"
        )
    if args.out:
        report = {
            "recipe": recipe,
            "epochs": args.epochs,
            "start": Path(args.start).name,
            "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
            "runs": runs,
            "summary": summary,
        }
        atomic_write_text(Path(args.out), json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
