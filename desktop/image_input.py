"""Turn a picture of a drawing (PNG or any format QImage reads, any size) into the model's 28×28 input.

The model was trained on drawings rendered by model.raster: the strokes' centre lines scaled so the
larger side spans 255 units, centred in a 304-unit square, stroked 16 units wide, and that square
shrunk to 28 px. A picture has no centre lines, only ink of some width, so we reproduce that framing
from the ink itself:

1. Flatten transparency onto white and make a grey "ink" image; dark ink on a light background
   (the median of the picture's border is light) is inverted so that ink is bright.
2. Threshold the ink (halfway between the background level and the strongest ink).
3. Estimate the line width w from the ink mask (2 × area / boundary pixels: a line of width w and
   length L has area wL and about 2L boundary pixels).
4. The centre-line bounding box is the ink's bounding box shrunk by w/2 on every side; scale it so its
   larger side is 255 units and centre it in the 304-unit square, like the rasterizer.
5. Resample the mask onto that square at one pixel per unit (area averaging), then dilate or erode it
   so the lines are 16 units wide, like the rasterizer's pen.
6. Average the square down to 28×28: the coverage of each pixel is its grey level, as the
   rasterizer's antialiasing gives.

No display is needed: QImage reads files without a QGuiApplication.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

import numpy as np
from inkling.model.raster import LINE_WIDTH, SIDE, TOTAL
from inkling.model.strokes import SIMPLIFIED_SIDE

WORK = int(TOTAL)  # the 304-unit square, one working pixel per unit


# Pictures are refused from their header above this size, before any pixel is decoded (a
# decompression bomb declares a huge size in a tiny file); 25 megapixels hold any phone photo.
MAX_PIXELS = 25_000_000
MAX_FILE_BYTES = 256 * 1024 * 1024


class ImageInputError(ValueError):
    pass


def _too_big(path, width: int, height: int) -> ImageInputError:
    return ImageInputError(
        f"{path}: the picture is {width}×{height} pixels; Inkling reads pictures of at most "
        f"{MAX_PIXELS / 1e6:.0f} megapixels"
    )


@contextlib.contextmanager
def _decoder_messages() -> Iterator[list[str]]:
    """Collect the decoders' complaints while a picture is decoded, so that they join the one message
    the person sees instead of being printed on their own: Qt's messages (libjpeg's, libpng's
    warnings) and what libpng writes straight to the standard error stream (its errors)."""
    from PySide6.QtCore import qInstallMessageHandler

    messages: list[str] = []
    previous = qInstallMessageHandler(lambda _mode, _context, message: messages.append(message))
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield messages
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            qInstallMessageHandler(previous)
            captured.seek(0)
            messages += captured.read(4096).decode("utf-8", "replace").splitlines()


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The picture as grey levels (H, W) float32 in [0, 255], transparency flattened onto white.

    Raises ImageInputError naming the file when it cannot be read, is not a picture Qt decodes, or is
    larger than MAX_PIXELS (checked from the header before decoding).
    """
    from PySide6.QtGui import QImage, QImageReader

    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ImageInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise ImageInputError(f"{path}: {size / 2**20:.0f} MB is too large for a picture of a drawing")
    reader = QImageReader(str(path))
    with _decoder_messages() as messages:
        header = reader.size()  # from the header, nothing decoded yet; invalid when the format cannot tell
        if header.isValid() and header.width() * header.height() > MAX_PIXELS:
            raise _too_big(path, header.width(), header.height())
        # Qt's own allocation limit (256 MB by default) backs this up for formats whose header does
        # not give the size.
        image = reader.read()
    if image.isNull():
        why = "; ".join(dict.fromkeys([reader.errorString(), *messages][:3]))
        raise ImageInputError(f"{path}: not an image Inkling can read" + (f" ({why})" if why else ""))
    if any("premature end" in m for m in messages):  # libjpeg fills a cut-off JPEG with grey
        raise ImageInputError(f"{path}: the picture is cut short (a damaged or truncated file)")
    if image.width() * image.height() > MAX_PIXELS:
        raise _too_big(path, image.width(), image.height())
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = image.height(), image.width()
    raw = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(h, image.bytesPerLine())
    rgba = raw[:, : w * 4].reshape(h, w, 4)
    # float32 keeps a large picture's working copies at a quarter of its pixel count in MB.
    grey = (
        rgba[..., 0] * np.float32(0.299) + rgba[..., 1] * np.float32(0.587) + rgba[..., 2] * np.float32(0.114)
    )
    alpha = rgba[..., 3] * np.float32(1 / 255)
    return grey * alpha + np.float32(255.0) * (np.float32(1.0) - alpha)


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """Boolean ink mask; works for dark-on-light and light-on-dark pictures."""
    ring = max(1, min(grey.shape) // 50)
    border = np.concatenate(
        [grey[:ring].ravel(), grey[-ring:].ravel(), grey[:, :ring].ravel(), grey[:, -ring:].ravel()]
    )
    ink = 255.0 - grey if np.median(border) > 127 else grey
    background = float(np.median(255.0 - border if np.median(border) > 127 else border))
    strongest = float(ink.max())
    if strongest - background < 32:
        raise ImageInputError("no drawing found: the picture has no ink that stands out from its background")
    return ink > (background + strongest) / 2


def line_width(mask: np.ndarray) -> float:
    """Estimated width of the lines in pixels: 2 × area / boundary pixels (a 4-neighbour is background)."""
    padded = np.pad(mask, 1)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    boundary = int((mask & ~interior).sum())
    return max(1.0, 2.0 * mask.sum() / max(boundary, 1))


def _resample_matrix(n_in: int, origin: float, scale: float, n_out: int) -> np.ndarray:
    """(n_out, n_in) area weights: input pixel j covers [origin + j*scale, origin + (j+1)*scale) output units."""
    lo = origin + np.arange(n_in) * scale
    hi = lo + scale
    cells = np.arange(n_out)
    overlap = np.clip(
        np.minimum(hi[None, :], cells[:, None] + 1.0) - np.maximum(lo[None, :], cells[:, None]), 0.0, None
    )
    return overlap  # each output cell: the fraction of it covered by each input pixel


def _shift_or(mask: np.ndarray, radius: float, erode: bool) -> np.ndarray:
    """Dilate (or erode) a mask by a disk of ``radius`` working pixels."""
    r = int(np.floor(radius))
    if radius <= 0.25:
        return mask
    padded = np.pad(mask, r + 1, constant_values=erode)
    out = padded.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy > radius * radius:
                continue
            shifted = np.roll(np.roll(padded, dy, axis=0), dx, axis=1)
            out = (out & shifted) if erode else (out | shifted)
    return out[r + 1 : -(r + 1), r + 1 : -(r + 1)]


def image_to_input(grey: np.ndarray) -> np.ndarray:
    """Grey picture -> (28, 28) uint8, 0 background, 255 ink, framed like model.raster."""
    mask = ink_mask(grey)
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    mask = mask[y0:y1, x0:x1]
    w = line_width(mask)
    h_px, w_px = mask.shape
    span = max(h_px, w_px) - w  # the centre lines' larger side
    unit = SIMPLIFIED_SIDE / span if span > 1 else 1.0  # working pixels (units) per picture pixel
    # The picture's centre goes to the square's centre, as the rasterizer centres the bounding box.
    centre = TOTAL / 2.0
    ry = _resample_matrix(h_px, centre - h_px * unit / 2, unit, WORK)
    rx = _resample_matrix(w_px, centre - w_px * unit / 2, unit, WORK)
    # float32 for the large product: a picture's mask can have millions of pixels
    coverage = (ry.astype(np.float32) @ mask.astype(np.float32)) @ rx.T
    work = coverage > 0.5 * min(1.0, unit)  # thin lines scaled down keep their pixels
    width_units = max(w * unit, 1.0)
    if width_units < LINE_WIDTH:
        work = _shift_or(work, (LINE_WIDTH - width_units) / 2, erode=False)
    elif width_units > LINE_WIDTH + 1:
        work = _shift_or(work, (width_units - LINE_WIDTH) / 2, erode=True)
    down = _resample_matrix(WORK, 0.0, SIDE / TOTAL, SIDE)
    coverage = down @ work.astype(np.float64) @ down.T  # the fraction of each output pixel that is ink
    return np.clip(np.round(coverage * 255.0), 0, 255).astype(np.uint8)


def load_image_input(path: str | os.PathLike) -> np.ndarray:
    """A picture file -> the model's (28, 28) uint8 input. Raises ImageInputError."""
    grey = read_image(path)
    if grey.shape == (SIDE, SIDE):
        # Already the model's input size (a Quick, Draw! bitmap saved as a picture, say): framing it
        # again would only blur it. Only the polarity is made right.
        return as_model_input(grey)
    return image_to_input(grey)


def as_model_input(grey: np.ndarray) -> np.ndarray:
    """A 28×28 grey picture as the model's input: ink bright on a dark background."""
    ink_mask(grey)  # raises the same clear error for a picture without a drawing
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    ink = 255.0 - grey if np.median(border) > 127 else grey
    return np.clip(np.round(ink), 0, 255).astype(np.uint8)
