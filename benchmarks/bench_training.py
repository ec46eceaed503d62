"""Training throughput: the training step against the data pipeline that feeds it, in the same run.

    INKLING_QUICKDRAW_DIR=../shared/data/quickdraw python benchmarks/bench_training.py [--seconds 20]

Three measurements, ``--seconds`` each:

1. **the pipeline**: stroke-space augmentation and ``model.raster`` rendering of real stroke drawings
   (``training.render_pool.render_plan``, what the RenderPool worker runs), on one core in this process;
2. **the step**: the shipped network's shape (``RECIPES["default"]``: widths, convs, embedding, dropout;
   all 345 classes), batch 256, the recipe's torch threads, channels-last, forward + label-smoothed loss +
   backward + AdamW step, on the renders of (1) held in memory (the loop's batch augmentation of official
   bitmaps, about a tenth of the samples, is left out);
3. **both at once**: the step again while a ``RenderPool`` with one worker process renders chunks beside it,
   as in ``inkling-train train``: what each achieves when they share the machine.

An epoch of the default recipe is mostly stroke samples (the *stroke share*: every class's samples but the
official bitmaps of the bitmap tier), and the recipe renders them with ``render_workers`` processes. The
pipeline keeps up when those workers render the stroke share of each epoch in the time the step trains the
whole epoch: ``worker images/s × render_workers ≥ step images/s × stroke share``, from measurement (3).
The last line is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inkling.training.categories import CATEGORIES  # noqa: E402
from inkling.training.device import autocast, pick_device, to_batch  # noqa: E402
from inkling.training.net import NetConfig, SketchNet  # noqa: E402
from inkling.training.recipes import RECIPES  # noqa: E402
from inkling.training.render_pool import CHUNKS, RenderPool, render_plan  # noqa: E402
from inkling.training.stroke_data import load_drawings, stroke_files  # noqa: E402

RECIPE = RECIPES["default"]


def load_versions(root: Path, n_classes: int) -> tuple[list[list], list[np.ndarray]]:
    """Every drawing's versions (raw, simplified) for ``n_classes`` categories spread over those with stroke
    files, and each class's drawing indices: what ``train.sampling_plan`` gives the render pool."""
    names = [n for n in CATEGORIES if stroke_files(root, n)]
    picked = (
        [names[i] for i in np.unique(np.linspace(0, len(names) - 1, n_classes).astype(int))] if names else []
    )
    versions, members = [], []
    for c, name in enumerate(picked):
        drawings = load_drawings(list(stroke_files(root, name).items()), c, log=lambda *a: None)
        if drawings:
            members.append(np.arange(len(versions), len(versions) + len(drawings)))
            versions += [d.versions for d in drawings]
    return versions, members


def stroke_share(root: Path) -> float:
    """The share of a default-recipe epoch that is rendered from strokes, with this folder's bitmap tier."""
    n_bitmap = sum(
        (root / "bitmaps" / f"{n}.npy").exists() or (root / f"{n}.npy").exists() for n in CATEGORIES
    )
    per = RECIPE["samples_per_class"]
    return 1.0 - n_bitmap * round(per * RECIPE["bitmap_share"]) / (len(CATEGORIES) * per)


def measure_pipeline(
    versions, members, seconds: float, chunk: int, min_images: int
) -> tuple[float, np.ndarray]:
    """Images/s of render_plan on one core, and the images it rendered."""
    rng = np.random.default_rng(0)
    out, n, t0 = [], 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < min_images:
        idx = np.concatenate([m[rng.integers(len(m), size=max(1, chunk // len(members)))] for m in members])
        probs = np.full(len(idx), RECIPE["partial_p"])
        out.append(render_plan((idx, probs, RECIPE["stroke_augment_strength"], [0, len(out)]), versions))
        n += len(idx)
    return n / (time.perf_counter() - t0), np.concatenate(out)


class Step:
    """The training step of ``train.py`` on the shipped shape."""

    def __init__(self, device: torch.device, batch: int):
        torch.manual_seed(0)
        cfg = NetConfig(
            len(CATEGORIES),
            tuple(RECIPE["widths"]),
            tuple(RECIPE["convs_per_block"]),
            RECIPE["embedding_dim"],
            RECIPE["dropout"],
        )
        self.net = SketchNet(cfg).to(device, memory_format=torch.channels_last).train()
        self.opt = torch.optim.AdamW(
            self.net.parameters(), lr=RECIPE["lr"], weight_decay=RECIPE["weight_decay"]
        )
        self.device, self.batch = device, batch
        self.rng = np.random.default_rng(1)

    def __call__(self, images: np.ndarray) -> None:
        sel = self.rng.integers(len(images), size=self.batch)
        x = to_batch(torch.from_numpy(images[sel]), self.device)
        y = torch.from_numpy(self.rng.integers(len(CATEGORIES), size=self.batch)).to(self.device)
        with autocast(self.device):
            logits, _ = self.net(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=RECIPE["label_smoothing"])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def measure_step(step: Step, images: np.ndarray, seconds: float, between=None) -> float:
    for _ in range(3):  # warm-up: kernels, allocator, caches
        step(images)
    step.sync()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step(images)
        n += step.batch
        if between is not None:
            between()
    step.sync()
    return n / (time.perf_counter() - t0)


def measure_beside_worker(
    step: Step, images, versions, members, seconds: float, chunk: int
) -> tuple[float, float]:
    """Step images/s while one RenderPool worker renders, and the worker's images/s meanwhile."""
    per = max(1, CHUNKS * chunk // len(members))  # an epoch of CHUNKS chunks of about `chunk` drawings
    groups = [(c, m, per, RECIPE["partial_p"]) for c, m in enumerate(members)]
    pool = RenderPool(versions, groups, strength=RECIPE["stroke_augment_strength"], seed=0, workers=1)
    try:
        pool.get(0)  # the worker has started and rendered once
        epoch = [1]
        pool.request(1)
        pool.request(2)
        done = [0]

        def keep_requesting():  # what the loop does: the next epoch is asked for as soon as one is taken
            jobs = pool.pending.get(epoch[0], ([], None))[0]
            if jobs and all(j.ready() for j in jobs):
                done[0] += len(pool.get(epoch[0])[0])
                epoch[0] += 1
                pool.request(epoch[0] + 1)

        t0 = time.perf_counter()
        rate = measure_step(step, images, seconds, keep_requesting)
        elapsed = time.perf_counter() - t0
        # Chunks finished inside the window but not yet taken count too (warm-up steps included in elapsed).
        for e, (jobs, _) in pool.pending.items():
            if e >= epoch[0]:
                done[0] += sum(len(j.get()) for j in jobs if j.ready())
        return rate, done[0] / elapsed
    finally:
        pool.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=os.environ.get("INKLING_QUICKDRAW_DIR"))
    p.add_argument("--seconds", type=float, default=20.0, help="per measurement")
    p.add_argument("--batch", type=int, default=RECIPE["batch_size"])
    p.add_argument("--threads", type=int, default=RECIPE["threads"], help="torch threads for the step")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--classes", type=int, default=24, help="categories whose stroke drawings are rendered")
    p.add_argument("--chunk", type=int, default=256, help="drawings per render chunk")
    args = p.parse_args(argv)
    if args.data is None or not Path(args.data).is_dir():
        p.error("set INKLING_QUICKDRAW_DIR or pass --data (a Quick, Draw! folder with strokes/)")
    root = Path(args.data)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    versions, members = load_versions(root, args.classes)
    if not members:
        p.error(f"{root}: no stroke drawings found (strokes/raw|simplified|extra/<category>.ndjson)")
    share = stroke_share(root)
    print(
        f"{len(versions)} stroke drawings of {len(members)} classes; network {RECIPE['widths']} x "
        f"{RECIPE['convs_per_block']}, embedding {RECIPE['embedding_dim']}, {len(CATEGORIES)} classes; batch "
        f"{args.batch}, {torch.get_num_threads()} torch threads, {device}; {args.seconds:g} s a measurement",
        flush=True,
    )

    render, images = measure_pipeline(versions, members, args.seconds, args.chunk, 2 * args.batch)
    print(f"pipeline (augment + rasterize, one core): {render:8.0f} images/s", flush=True)
    step = Step(device, args.batch)
    alone = measure_step(step, images, args.seconds)
    print(f"training step alone:                      {alone:8.0f} images/s", flush=True)
    print(f"pipeline / step: {render / alone:.2f} (one core renders that many images per trained image)")
    beside, worker = measure_beside_worker(step, images, versions, members, args.seconds, args.chunk)
    workers = RECIPE["render_workers"]
    need = beside * share
    print(f"step beside one render worker:            {beside:8.0f} images/s")
    print(f"the worker meanwhile:                     {worker:8.0f} images/s")
    keeps_up = worker * workers >= need
    print(
        f"stroke share of an epoch {share:.3f}: the step needs {need:.0f} rendered images/s; "
        f"{workers} worker(s) give {worker * workers:.0f}: {'keeps up' if keeps_up else 'falls behind'}"
        f" ({need / max(worker, 1e-9):.2f} workers needed)"
    )
    print(
        json.dumps(
            {
                "pipeline_images_per_sec_one_core": round(render, 1),
                "step_images_per_sec": round(alone, 1),
                "pipeline_to_step": round(render / alone, 4),
                "step_images_per_sec_beside_worker": round(beside, 1),
                "worker_images_per_sec_beside_step": round(worker, 1),
                "stroke_share": round(share, 4),
                "render_workers": workers,
                "keeps_up": keeps_up,
                "workers_needed": round(need / max(worker, 1e-9), 2),
                "batch": args.batch,
                "threads": torch.get_num_threads(),
                "device": str(device),
                "drawings": len(versions),
                "seconds": args.seconds,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
