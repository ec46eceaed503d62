"""The sketch CNN: conv → ReLU → pool blocks, then a fixed-size embedding and a linear classifier."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class NetConfig:
    num_classes: int
    widths: tuple[int, ...] = (32, 64, 128)
    convs_per_block: tuple[int, ...] = (2, 2, 2)
    embedding_dim: int = 256
    dropout: float = 0.3
    # False: the last block pools to 3×3 and is flattened into the embedding layer. True: the last block
    # keeps 7×7 and is averaged over space, which spends the parameters on convolutions instead.
    global_pool: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["convs_per_block"] = list(self.convs_per_block)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NetConfig:
        d = dict(d)
        d["widths"] = tuple(d["widths"])
        d["convs_per_block"] = tuple(d["convs_per_block"])
        return cls(**d)


def _conv(cin: int, cout: int) -> list[nn.Module]:
    # Batch norm makes the bias redundant.
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SketchNet(nn.Module):
    """28×28 sketch -> (logits, embedding). Each block halves the resolution: 28 -> 14 -> 7 (-> 3, or averaged)."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        cin = 1
        side = 28
        for i, (width, n) in enumerate(zip(cfg.widths, cfg.convs_per_block, strict=True)):
            for _ in range(n):
                layers += _conv(cin, width)
                cin = width
            if cfg.global_pool and i == len(cfg.widths) - 1:
                layers.append(nn.AdaptiveAvgPool2d(1))
                side = 1
            else:
                layers.append(nn.MaxPool2d(2))
                side //= 2
        self.features = nn.Sequential(*layers)
        self.embed = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(cfg.dropout / 2),
            nn.Linear(cin * side * side, cfg.embedding_dim),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(cfg.embedding_dim, cfg.num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.embed(self.features(x))
        return self.classifier(self.dropout(emb)), emb


class MirrorAveraged(nn.Module):
    """Test-time augmentation: average the outputs for a drawing and its mirror image.

    The classifier is linear, so the averaged logits are still ``embedding @ W + b`` of the averaged
    embedding, and few-shot heads on the embedding stay consistent with the model's own logits.
    """

    def __init__(self, net: SketchNet):
        super().__init__()
        self.net = net
        self.cfg = net.cfg
        self.classifier = net.classifier

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = x.shape[0]
        logits, emb = self.net(torch.cat([x, torch.flip(x, dims=[3])]))
        return (logits[:b] + logits[b:]) / 2, (emb[:b] + emb[b:]) / 2


# The conv blocks whose output an exported model also gives, averaged over each quarter of the drawing
# (``pooled``): shape features that teaching adds to the embedding. Measured on handwritten characters
# (benchmarks/bench_fewshot.py, 24 draws of 10, base sample as shipped): with the second block's maps
# (96 x 7 x 7) 5 drawings reached 0.959 and 1 drawing 0.866, against 0.927 and 0.817 on the embedding
# alone, at the same cost to the base classes; averaged over the whole drawing instead of its quarters,
# 0.945 and 0.841; the first block added nothing, the third less.
POOLED_BLOCKS = 2


def quarter_means(maps: torch.Tensor, side: int | None = None) -> torch.Tensor:
    """(N, C, side, side) -> (N, 4C): the means over the four cells of a 2x2 adaptive average pool (cells
    share the middle row and column when ``side`` is odd), cell by cell. ``side`` given as a number keeps
    the cells constant in an exported graph."""
    side = int(maps.shape[-1]) if side is None else side
    cells = [(0, (side + 1) // 2), (side // 2, side)]
    return torch.cat([maps[:, :, r0:r1, c0:c1].mean(dim=(2, 3)) for r0, r1 in cells for c0, c1 in cells], 1)


class WithPooled(nn.Module):
    """A SketchNet (or its MirrorAveraged) that also returns its first ``blocks`` conv blocks' maps averaged
    over each quarter (:func:`quarter_means`): (logits, embedding, pooled). The maps are computed once,
    on the way to the embedding."""

    def __init__(self, net: nn.Module, blocks: int = POOLED_BLOCKS):
        super().__init__()
        self.mirror = isinstance(net, MirrorAveraged)
        self.net = net.net if self.mirror else net
        self.cfg = net.cfg
        self.classifier = net.classifier
        self.split = block_layers(self.cfg, blocks)
        self.side = 28 >> blocks  # each block halves the map

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b = x.shape[0]
        if self.mirror:
            x = torch.cat([x, torch.flip(x, dims=[3])])
        net = self.net
        maps = net.features[: self.split](x)
        emb = net.embed(net.features[self.split :](maps))
        logits = net.classifier(net.dropout(emb))
        pooled = quarter_means(maps, self.side)
        if self.mirror:
            return tuple((t[:b] + t[b:]) / 2 for t in (logits, emb, pooled))
        return logits, emb, pooled


def with_pooled(net: nn.Module) -> WithPooled | None:
    """``net`` with the ``pooled`` output, or None for a network too shallow for it."""
    inner = net.net if isinstance(net, MirrorAveraged) else net
    if not isinstance(inner, SketchNet) or len(inner.cfg.convs_per_block) <= POOLED_BLOCKS:
        return None
    return WithPooled(net)


def block_layers(cfg: NetConfig, blocks: int) -> int:
    """How many of ``SketchNet.features``'s layers the first ``blocks`` conv blocks are (conv, norm, ReLU
    per conv; then the pool)."""
    return sum(3 * k + 1 for k in cfg.convs_per_block[: max(blocks, 0)])


def inference_flops(cfg: NetConfig) -> int:
    """Floating-point operations (multiply and add counted apart) to classify one 28×28 drawing."""
    flops, side, cin = 0, 28, 1
    for i, (width, n) in enumerate(zip(cfg.widths, cfg.convs_per_block, strict=True)):
        for _ in range(n):
            flops += 2 * side * side * 9 * cin * width
            cin = width
        side = 1 if cfg.global_pool and i == len(cfg.widths) - 1 else side // 2
    return flops + 2 * (cin * side * side * cfg.embedding_dim + cfg.embedding_dim * cfg.num_classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
