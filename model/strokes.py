"""Drawings as strokes, and Google's Quick, Draw! ndjson formats.

A drawing is a list of strokes; a stroke is a float array of shape (n, 2) (x, y) or (n, 3) (x, y, t in ms).
Google ships two ndjson formats, one JSON object per line whose ``drawing`` field holds the strokes:

* raw:        ``[[x...], [y...], [t...]]`` floats in screen pixels, t in milliseconds
* simplified: ``[[x...], [y...]]`` integers 0..255, aligned to the top-left and RDP-simplified
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Stroke = np.ndarray
Strokes = list[np.ndarray]

_UMASK = os.umask(0)
os.umask(_UMASK)

SIMPLIFIED_SIDE = 255  # Google scales the larger side of a drawing to span 0..255
RDP_EPSILON = 2.0
# Bounds on what a reader accepts from a file, so that a hostile file cannot exhaust memory or time.
# Google's raw drawings run to tens of kilobytes and a few thousand points; these leave ample room.
MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_POINTS = 100_000  # per drawing
# Resampling every unit turns a real drawing into a few thousand points (at most 2,907 in 417 of Google's
# raw drawings); one that would give more than this is simplified from its own vertices instead.
MAX_RESAMPLED = 50_000
# RDP (rdp_keep) gives up after this many distance tests (per point, plus a base) and keeps every point.
_RDP_BUDGET_PER_POINT, _RDP_BUDGET_BASE = 30, 100_000
_RDP_NUMPY_SPAN = 48  # RDP searches spans longer than this with numpy


class StrokeFormatError(ValueError):
    """A drawing that cannot be read; names the file and line it came from."""

    def __init__(self, message: str, source: str | os.PathLike | None = None, line: int | None = None):
        self.reason = message
        self.source = None if source is None else str(source)
        self.line = line
        where = ""
        if self.source is not None:
            where = f"{self.source}:{line}: " if line is not None else f"{self.source}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)


@dataclass
class DrawingRecord:
    """One ndjson line: the strokes plus Google's other fields (word, key_id, countrycode, ...)."""

    strokes: Strokes
    word: str | None = None
    key_id: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def has_time(self) -> bool:
        return any(s.shape[1] == 3 for s in self.strokes)


def as_strokes(strokes: Iterable) -> Strokes:
    """Validate and convert any sequence of (n, 2|3) array-likes to float64 arrays.

    Raises ValueError for ragged, empty-dimensioned or non-finite input.
    """
    out: Strokes = []
    for i, stroke in enumerate(strokes):
        try:
            arr = np.asarray(stroke, dtype=np.float64)
        except (TypeError, OverflowError) as exc:  # not numbers, or an integer beyond the float range
            raise ValueError(f"stroke {i} is not numeric ({exc})") from None
        if arr.ndim == 1 and arr.size == 0:
            continue  # an empty stroke draws nothing
        if arr.ndim != 2 or arr.shape[1] not in (2, 3):
            raise ValueError(f"stroke {i} must have shape (n, 2) or (n, 3), got {arr.shape}")
        if arr.shape[0] == 0:
            continue
        if not np.isfinite(arr).all():
            raise ValueError(f"stroke {i} has non-finite coordinates")
        out.append(arr)
    return out


def strokes_from_google(drawing, *, source=None, line=None) -> Strokes:
    """Convert Google's ``[[x...], [y...], ([t...])]`` per-stroke lists to (n, 2|3) arrays."""
    if not isinstance(drawing, list):
        raise StrokeFormatError("'drawing' must be a list of strokes", source, line)
    strokes: Strokes = []
    points = 0
    for i, stroke in enumerate(drawing):
        if not isinstance(stroke, list) or len(stroke) not in (2, 3):
            raise StrokeFormatError(
                f"stroke {i} must be [[x...], [y...]] or [[x...], [y...], [t...]]", source, line
            )
        lengths = {len(c) if isinstance(c, list) else -1 for c in stroke}
        if -1 in lengths:
            raise StrokeFormatError(f"stroke {i} has a coordinate list that is not a list", source, line)
        if len(lengths) != 1:
            raise StrokeFormatError(
                f"stroke {i} has ragged x/y/t lengths {[len(c) for c in stroke]}", source, line
            )
        points += len(stroke[0])
        if points > MAX_POINTS:
            raise StrokeFormatError(f"the drawing has more than {MAX_POINTS} points", source, line)
        try:
            arr = np.asarray(stroke, dtype=np.float64).T
        except (TypeError, ValueError, OverflowError) as exc:  # Overflow: an integer beyond float range
            raise StrokeFormatError(f"stroke {i} has non-numeric coordinates ({exc})", source, line) from None
        if arr.ndim != 2:
            raise StrokeFormatError(f"stroke {i} has coordinates that are not plain numbers", source, line)
        if arr.shape[0] == 0:
            continue
        if not np.isfinite(arr).all():
            raise StrokeFormatError(f"stroke {i} has non-finite coordinates", source, line)
        strokes.append(arr)
    return strokes


def strokes_to_google(strokes: Sequence[Stroke], *, integer: bool = False) -> list:
    """The inverse of :func:`strokes_from_google`."""
    out = []
    for s in strokes:
        s = np.asarray(s)
        cols = [s[:, k] for k in range(s.shape[1])]
        if integer:
            out.append([[int(round(v)) for v in c] for c in cols[:2]])
        else:
            # Python's round, not numpy's: numpy's scales by 1000 first, which overflows near the float range
            out.append([[round(float(v), 3) for v in c] for c in cols])
    return out


def parse_ndjson_line(text: str, *, source=None, line=None) -> DrawingRecord:
    """Parse one line of Google's ndjson. Raises StrokeFormatError naming ``source`` and ``line``."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StrokeFormatError(f"bad JSON ({exc.msg} at column {exc.colno})", source, line) from None
    except RecursionError:
        raise StrokeFormatError("bad JSON (nested too deeply)", source, line) from None
    except ValueError as exc:  # e.g. an integer literal longer than Python converts
        raise StrokeFormatError(f"bad JSON ({exc})", source, line) from None
    if not isinstance(obj, dict):
        raise StrokeFormatError("line is not a JSON object", source, line)
    if "drawing" not in obj:
        raise StrokeFormatError("missing 'drawing' field", source, line)
    strokes = strokes_from_google(obj.pop("drawing"), source=source, line=line)
    word = obj.pop("word", None)
    if word is not None and not isinstance(word, str):
        raise StrokeFormatError("'word' must be text", source, line)
    key_id = obj.pop("key_id", None)
    return DrawingRecord(
        strokes=strokes, word=word, key_id=None if key_id is None else str(key_id), extra=obj
    )


@dataclass
class NdjsonReadResult:
    records: list[DrawingRecord]
    skipped: int = 0
    errors: list[StrokeFormatError] = field(default_factory=list)

    def summary(self, path) -> str:
        msg = f"{path}: read {len(self.records)} drawings"
        if self.skipped:
            msg += f", skipped {self.skipped} bad line(s) (first: {self.errors[0]})"
        return msg


def iter_lines(
    path: str | os.PathLike, *, max_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, str | StrokeFormatError]]:
    """The non-blank lines of a text file as (1-based line number, text), in bounded memory.

    A line that is longer than ``max_bytes`` or not UTF-8 comes as a StrokeFormatError in place of its
    text (naming the file and line), and the lines after it are still read. Raises OSError when the
    file cannot be opened or read.
    """
    with open(path, "rb") as fh:
        lineno = 0
        while raw := fh.readline(max_bytes + 1):
            lineno += 1
            if len(raw) > max_bytes and not raw.endswith(b"\n"):
                while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass  # skip the rest of the line without holding it
                yield lineno, StrokeFormatError(f"line is longer than {max_bytes} bytes", path, lineno)
                continue
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, StrokeFormatError(f"not UTF-8 text (byte {exc.start + 1})", path, lineno)
                continue
            if text.strip():
                yield lineno, text


def iter_drawing_lines(
    path: str | os.PathLike,
) -> Iterator[tuple[int, DrawingRecord | StrokeFormatError]]:
    """Each non-blank line of an ndjson file as (1-based line number, its drawing), or the StrokeFormatError
    that says why the line is none (not JSON, no strokes, too long): for readers that go on past bad lines.
    Raises OSError when the file cannot be read."""
    for lineno, text in iter_lines(path):
        try:
            if isinstance(text, StrokeFormatError):
                raise text
            record = parse_ndjson_line(text, source=path, line=lineno)
            if not record.strokes:
                raise StrokeFormatError("the drawing has no strokes", path, lineno)
        except StrokeFormatError as exc:
            yield lineno, exc
            continue
        yield lineno, record


def iter_ndjson(
    path: str | os.PathLike, *, skip_bad: bool = False, errors: list | None = None
) -> Iterator[DrawingRecord]:
    """Yield the drawings of an ndjson file in order.

    A malformed line raises StrokeFormatError naming the file and line, unless ``skip_bad``: then it is
    skipped and appended to ``errors`` (when given), so the caller can say how many were skipped.
    Blank lines are ignored; see :func:`iter_lines` for the bounds on a line.
    """
    for lineno, text in iter_lines(path):
        try:
            if isinstance(text, StrokeFormatError):
                raise text
            yield parse_ndjson_line(text, source=path, line=lineno)
        except StrokeFormatError as exc:
            if not skip_bad:
                raise
            if errors is not None:
                errors.append(exc)


def read_ndjson(
    path: str | os.PathLike, *, skip_bad: bool = False, limit: int | None = None
) -> NdjsonReadResult:
    errors: list[StrokeFormatError] = []
    records = []
    for rec in iter_ndjson(path, skip_bad=skip_bad, errors=errors):
        records.append(rec)
        if limit is not None and len(records) >= limit:
            break
    return NdjsonReadResult(records, skipped=len(errors), errors=errors)


def record_to_json(rec: DrawingRecord, *, simplified: bool = False) -> str:
    obj = dict(rec.extra)
    if rec.word is not None:
        obj["word"] = rec.word
    if rec.key_id is not None:
        obj["key_id"] = rec.key_id
    strokes = simplify(rec.strokes) if simplified else rec.strokes
    obj["drawing"] = strokes_to_google(strokes, integer=simplified)
    return json.dumps(obj, separators=(",", ":"))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file so that a crash or a full disk never leaves it half-written."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_ndjson(
    path: str | os.PathLike, records: Iterable[DrawingRecord], *, simplified: bool = False
) -> None:
    """Write drawings as ndjson (raw floats, or Google-simplified integers), atomically."""
    lines = [record_to_json(r, simplified=simplified) for r in records]
    atomic_write_text(path, "".join(line + "\n" for line in lines))


# --- Google's simplification -------------------------------------------------------------------------


def flatten(strokes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All points of a drawing's (non-empty) strokes one after another, and the index where each stroke
    starts: the form the simplification and the rasterizer work in."""
    pts = np.concatenate(strokes)
    starts = np.cumsum([0] + [len(s) for s in strokes[:-1]])
    return pts, starts


def normalize_points(pts: np.ndarray) -> np.ndarray:
    """Points (N, 2) aligned to the top-left and scaled uniformly so the larger side spans 0..255."""
    lo = pts.min(axis=0)
    with np.errstate(over="ignore"):
        span = float((pts.max(axis=0) - lo).max())
    if not math.isfinite(span):  # an extent beyond the float range: halving is exact and brings it back
        pts, lo = pts * 0.5, lo * 0.5
        span = float((pts.max(axis=0) - lo).max())
    if span == 0:
        return pts - lo
    return (pts - lo) / span * SIMPLIFIED_SIDE  # dividing first cannot overflow


def normalize(strokes: Sequence[Stroke]) -> Strokes:
    """Align to the top-left and scale uniformly so the larger side spans 0..255 (x, y only)."""
    xy = [np.asarray(s, dtype=np.float64)[:, :2] for s in strokes]
    if not xy:
        return []
    pts, starts = flatten(xy)
    return np.split(normalize_points(pts), starts[1:])


def resample(stroke: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Resample a polyline at (at most) ``spacing`` units along its length, keeping its vertices."""
    if len(stroke) < 2:
        return stroke
    seg = np.diff(stroke, axis=0)
    seglen = np.hypot(seg[:, 0], seg[:, 1])
    pieces = np.maximum(np.ceil(seglen / spacing).astype(np.int64), 1)
    # For segment i, fractions 0, 1/k, ..., (k-1)/k; then the final vertex.
    seg_idx = np.repeat(np.arange(len(seg)), pieces)
    starts = np.cumsum(pieces) - pieces
    frac = (np.arange(pieces.sum()) - np.repeat(starts, pieces)) / np.repeat(pieces, pieces)
    pts = stroke[seg_idx] + seg[seg_idx] * frac[:, None]
    return np.vstack([pts, stroke[-1:]])


def rdp_keep(pts: np.ndarray, starts: np.ndarray, epsilon: float = RDP_EPSILON) -> np.ndarray:
    """Ramer–Douglas–Peucker on every stroke: a mask of the points to keep.

    A span of many points is searched with numpy, a short one in plain Python (per-call overhead would
    dominate numpy there); both compute the same float64 distances and take the first farthest point, so
    the result does not depend on which does it.

    RDP costs n log n distance tests on a drawing, but n² on a pathological one (a long zigzag whose
    every point is kept); past a budget no real drawing comes near, it keeps every point instead, so
    that no input takes more than a second or so (the rendering barely differs: RDP only drops points
    within ``epsilon`` of the line, a fifth of a pixel).
    """
    n = len(pts)
    budget = _RDP_BUDGET_PER_POINT * n + _RDP_BUDGET_BASE
    X, Y = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
    xs, ys = X.tolist(), Y.tolist()
    keep = [False] * n
    bounds = [*starts.tolist(), n]
    for first, end in zip(bounds[:-1], bounds[1:], strict=True):
        keep[first] = keep[end - 1] = True
        stack = [(first, end - 1)]
        while stack:
            a, b = stack.pop()
            if b - a < 2:
                continue
            budget -= b - a - 1
            if budget < 0:
                return np.ones(n, dtype=bool)
            px, py = xs[a], ys[a]
            dx, dy = xs[b] - px, ys[b] - py
            norm = math.hypot(dx, dy)
            if b - a > _RDP_NUMPY_SPAN:
                if norm > 0:
                    dist = np.abs(dx * (Y[a + 1 : b] - py) - dy * (X[a + 1 : b] - px))
                else:
                    dist = np.hypot(X[a + 1 : b] - px, Y[a + 1 : b] - py)
                i = int(np.argmax(dist))
                best, at = float(dist[i]), a + 1 + i
                if norm > 0:
                    best /= norm
            else:
                best, at = -1.0, -1
                if norm > 0:  # distance to the chord's line, scaled by its length until the end
                    for i in range(a + 1, b):
                        dist = abs(dx * (ys[i] - py) - dy * (xs[i] - px))
                        if dist > best:
                            best, at = dist, i
                    best /= norm
                else:  # a closed interval: distance to its end point
                    for i in range(a + 1, b):
                        dist = math.hypot(xs[i] - px, ys[i] - py)
                        if dist > best:
                            best, at = dist, i
            if best > epsilon:
                keep[at] = True
                stack.append((a, at))
                stack.append((at, b))
    return np.array(keep, dtype=bool)


def resample_evenly(
    pts: np.ndarray, starts: np.ndarray, spacing: float = 1.0, *, max_points: int | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Google's resampling: a point every ``spacing`` units along each stroke, then the stroke's last point.

    ``pts`` (N, 2) holds all strokes one after another, stroke k starting at ``starts[k]``; returns the
    resampled points and their stroke starts in the same form. The samples are measured along the whole
    stroke from its first point, so that a vertex survives only where it falls on the spacing: a corner
    is cut to the sample nearest it, as in Google's simplified files (:func:`resample` keeps every vertex,
    which Google's pipeline does not: RDP then keeps the vertex itself where Google kept a point up to a
    unit away). A stroke of one point (or of no length) becomes that point twice, as Google stores a dot.

    Returns None when the result would have more than ``max_points`` points (a bound for hostile input).
    """
    pts = np.asarray(pts, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.int64)
    n = len(pts)
    if n == 0:
        return pts.reshape(0, 2), np.zeros(0, dtype=np.int64)
    ends = np.append(starts[1:], n)
    seg = np.diff(pts, axis=0)
    seglen = np.hypot(seg[:, 0], seg[:, 1])
    seglen[ends[:-1] - 1] = 0.0  # the jumps from one stroke to the next are not drawn
    cum = np.concatenate([[0.0], np.cumsum(seglen)])
    length = cum[ends - 1] - cum[starts]
    with np.errstate(over="ignore", invalid="ignore"):
        count = np.maximum(np.ceil(length / spacing), 1.0)  # samples at 0, spacing, ... below the length
    total = float(count.sum()) + len(starts)
    if not math.isfinite(total) or (max_points is not None and total > max_points):
        return None
    count = count.astype(np.int64)
    owner = np.repeat(np.arange(len(starts)), count)
    j = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    target = cum[starts][owner] + j * spacing
    idx = np.searchsorted(cum, target, side="right") - 1
    np.clip(idx, starts[owner], np.maximum(ends[owner] - 2, starts[owner]), out=idx)
    if len(seglen):
        step = seglen[np.minimum(idx, len(seglen) - 1)]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(step > 0, (target - cum[idx]) / step, 0.0)
        np.clip(frac, 0.0, 1.0, out=frac)
        samples = pts[idx] + seg[np.minimum(idx, len(seg) - 1)] * frac[:, None]
    else:  # a single point
        samples = pts[idx]
    # Each stroke: its samples, then its last point.
    out_starts = np.cumsum(count + 1) - (count + 1)
    out = np.empty((len(samples) + len(starts), 2))
    is_last = np.zeros(len(out), dtype=bool)
    is_last[out_starts + count] = True
    out[~is_last] = samples
    out[is_last] = pts[ends - 1]
    return out, out_starts


def simplify_points(
    pts: np.ndarray, starts: np.ndarray, *, epsilon: float = RDP_EPSILON, integer: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Google's simplification of normalized points (:func:`normalize_points`), in the form of
    :func:`flatten`: a point every unit along each stroke (corners cut to the nearest sample), RDP, then
    (unless ``integer=False``) integer coordinates. Returns the kept points and their stroke starts."""
    even = resample_evenly(pts, starts, max_points=MAX_RESAMPLED)
    if even is not None:  # (None: a drawing far longer than any real one; its own vertices then)
        pts, starts = even
    keep = rdp_keep(pts, starts, epsilon)
    starts = np.cumsum(keep)[starts] - 1
    pts = pts[keep]
    return (np.round(pts) if integer else pts), starts


def simplify(strokes: Sequence[Stroke], *, epsilon: float = RDP_EPSILON, integer: bool = True) -> Strokes:
    """Google's simplification: align top-left, scale to 0..255, resample every unit, RDP(epsilon).

    Returns (n, 2) arrays; rounded to integers like Google's simplified files unless ``integer=False``.
    A drawing of real-world length (a few thousand units) comes out as Google's own simplified file has
    it, point for point, but for the rare RDP tie that floating point decides either way.
    """
    clean = as_strokes(strokes)
    if not clean:
        return []
    pts, starts = flatten([s[:, :2] for s in clean])
    pts, starts = simplify_points(normalize_points(pts), starts, epsilon=epsilon, integer=integer)
    return np.split(pts, starts[1:])
