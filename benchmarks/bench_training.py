"""Training throughput: Inkling's loop against a straightforward baseline, in the same run.

    INKLING_QUICKDRAW_DIR=../shared/data/quickdraw python benchmarks/bench_training.py [--device cuda]

Inkling's loop keeps the uint8 images in (device) memory and augments whole batches with one affine warp on
the device. The baseline is what most tutorials write: a per-sample ``Dataset`` that converts and augments
each drawing on the CPU with torchvision's ``RandomAffine``/``RandomHorizontalFlip``, fed by a
``DataLoader``. Both train the same network with the same optimizer for the same number of images.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inkling.training.augment import augment  # noqa: E402
from inkling.training.data import Dataset  # noqa: E402
from inkling.training.net import NetConfig, SketchNet  # noqa: E402

CLASSES = ["apple", "banana", "cat", "dog", "house", "tree", "bicycle", "flower"]


def inkling_loop(images, labels, net, device, batch, steps):
    x_all = torch.from_numpy(images).to(device)
    y_all = torch.from_numpy(labels).to(device)
    opt = torch.optim.AdamW(net.parameters(), 1e-3)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    seen = 0
    for step in range(steps + 2):
        if step == 2:  # the first steps warm up kernels and caches
            _sync(device)
            t0 = time.perf_counter()
            seen = 0
        idx = torch.randint(0, len(x_all), (batch,), device=device)
        x = x_all[idx].float().div_(255).unsqueeze(1)
        x = augment(x).contiguous(memory_format=torch.channels_last)
        with autocast:
            logits, _ = net(x)
            loss = F.cross_entropy(logits.float(), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += batch
    _sync(device)
    return seen / (time.perf_counter() - t0)


def baseline_loop(images, labels, net, device, batch, steps, workers):
    from torchvision import transforms

    class SketchDataset(torch.utils.data.Dataset):
        def __init__(self):
            self.tf = transforms.Compose(
                [
                    transforms.ToPILImage(),
                    transforms.RandomAffine(12, translate=(0.08, 0.08), scale=(0.88, 1.08), shear=8),
                    transforms.RandomHorizontalFlip(),
                    transforms.ToTensor(),
                ]
            )

        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            return self.tf(images[i]), int(labels[i])

    loader = torch.utils.data.DataLoader(
        SketchDataset(),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )
    opt = torch.optim.AdamW(net.parameters(), 1e-3)
    seen, step = 0, 0
    while True:
        for x, y in loader:
            if step == 2:
                _sync(device)
                t0 = time.perf_counter()
                seen = 0
            x, y = x.to(device), y.to(device)
            logits, _ = net(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += batch
            step += 1
            if step == steps + 2:
                _sync(device)
                return seen / (time.perf_counter() - t0)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    args = p.parse_args()
    device = torch.device(args.device)
    root = os.environ.get("INKLING_QUICKDRAW_DIR", "../shared/data/quickdraw")
    ds = Dataset.load([root], CLASSES)
    index = ds.split(0)["train"]
    images, labels = ds.gather(index), index.label
    print(
        f"{len(images)} training drawings of {len(CLASSES)} classes, batch {args.batch}, {args.steps} steps, "
        f"device {device} ({torch.get_num_threads()} CPU threads)"
    )

    def fresh():
        torch.manual_seed(0)
        net = SketchNet(NetConfig(len(CLASSES), (32, 64, 128), (1, 2, 1)))
        return net.to(device, memory_format=torch.channels_last)

    ours = inkling_loop(images, labels, fresh(), device, args.batch, args.steps)
    base = baseline_loop(
        images, labels.astype(np.int64), fresh(), device, args.batch, args.steps, args.workers
    )
    print(f"inkling loop:  {ours:8.0f} images/s")
    print(
        f"baseline loop: {base:8.0f} images/s (per-sample Dataset + CPU torchvision augmentation, "
        f"DataLoader with {args.workers} workers)"
    )
    print(f"speed-up: {ours / base:.2f}x")


if __name__ == "__main__":
    main()
