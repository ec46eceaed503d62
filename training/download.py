"""``inkling-train download``: fetch Quick, Draw! files from Google's public bucket.

Files land in the same layout as the project's data folder (INKLING_QUICKDRAW_DIR), so a download
folder can be used wherever that one is:

    DEST/bitmaps/<category>.npy               numpy_bitmap: uint8 (N, 784)
    DEST/strokes/simplified/<category>.ndjson simplified strokes (with --simplified)

Each file is written to ``<name>.part`` first, resumed with an HTTP Range request after an
interruption, checked, and only then moved into place, so a truncated or half-written file never
takes the place of a good one.
"""

from __future__ import annotations

import argparse
import errno
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from inkling.training.categories import CATEGORIES, read_class_list, resolve_categories

DEFAULT_BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/full"
PART_SUFFIX = ".part"
PIXELS = 28 * 28
CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60.0
RETRY_BASE_DELAY_S = 1.0
RETRY_MAX_DELAY_S = 30.0
USER_AGENT = "inkling-train-download/1"

# Indirection so tests can record the backoff instead of waiting it out.
_sleep = time.sleep


class DownloadError(Exception):
    """A download failed; the message is one line meant for the user."""


class InvalidFileError(ValueError):
    """A downloaded file is not what the bucket serves (truncated, wrong dtype or shape, not ndjson)."""


class _RetryableError(Exception):
    """A failure worth another try: connection lost, timeout, 5xx, short body."""


@dataclass(frozen=True)
class FileKind:
    bucket_dir: str  # folder in Google's bucket
    local_dir: str  # folder under DEST
    suffix: str
    validate: Callable[[Path], None]


def validate_npy(path: Path) -> int:
    """Check that `path` is a complete uint8 (N, 784) .npy file; return N.

    Only the header is parsed and the size compared, so this is cheap even for the 100+ MB files.
    """
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):  # same header layout, longer length field
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unknown .npy format version {version}")
            data_start = f.tell()
    except (ValueError, EOFError, OSError, SyntaxError) as exc:
        raise InvalidFileError(f"not a valid .npy file ({exc})") from exc
    if dtype != np.uint8 or len(shape) != 2 or shape[1] != PIXELS or fortran_order:
        order = " Fortran order" if fortran_order else ""
        raise InvalidFileError(f"expected a uint8 array of shape (N, {PIXELS}), found {dtype}{order} {shape}")
    if shape[0] == 0:
        raise InvalidFileError("the file holds no drawings")
    expected = data_start + shape[0] * PIXELS
    actual = path.stat().st_size
    if actual != expected:
        raise InvalidFileError(
            f"truncated or padded: {actual} bytes, a ({shape[0]}, {PIXELS}) array needs {expected}"
        )
    return shape[0]


def _check_ndjson_line(line: bytes, which: str) -> None:
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidFileError(f"the {which} line is not complete JSON ({exc})") from exc
    if not isinstance(record, dict) or not isinstance(record.get("drawing"), list):
        raise InvalidFileError(f"the {which} line has no 'drawing' list")


def _last_line(f, size: int) -> bytes:
    # Read backwards in growing windows: lines are a few KB, but nothing guarantees it.
    window = 64 * 1024
    while True:
        start = max(0, size - window)
        f.seek(start)
        lines = f.read(size - start).rstrip(b"\r\n").split(b"\n")
        if len(lines) > 1 or start == 0:
            return lines[-1]
        window *= 4


def validate_ndjson(path: Path) -> None:
    """Check the first and the last line of an ndjson drawing file (a cut-off download fails the last)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        first = f.readline()
        if not first.strip():
            raise InvalidFileError("the file is empty" if size == 0 else "the first line is empty")
        _check_ndjson_line(first, "first")
        _check_ndjson_line(_last_line(f, size), "last")


BITMAP = FileKind("numpy_bitmap", "bitmaps", ".npy", validate_npy)
SIMPLIFIED = FileKind("simplified", "strokes/simplified", ".ndjson", validate_ndjson)


def file_url(base_url: str, kind: FileKind, category: str) -> str:
    # Names have spaces ("The Eiffel Tower"); the bucket wants them percent-encoded.
    return f"{base_url.rstrip('/')}/{kind.bucket_dir}/{urllib.parse.quote(category)}{kind.suffix}"


def local_path(dest: Path, kind: FileKind, category: str) -> Path:
    return Path(dest) / kind.local_dir / f"{category}{kind.suffix}"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"connection failed ({exc.reason})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"connection lost ({exc or type(exc).__name__})"


def _local_write_error(exc: OSError, part: Path) -> DownloadError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        # Remove the half file: it holds space the user needs, and nothing else must see it.
        part.unlink(missing_ok=True)
        return DownloadError(f"disk full while writing {part}; free some space and run again")
    return DownloadError(f"cannot write {part}: {exc.strerror or exc}")


def _parse_content_range(value: str | None) -> tuple[int, int | None] | None:
    """'bytes 100-199/200' -> (100, 200); total is None for '*'."""
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value or "")
    if not match:
        return None
    return int(match[1]), None if match[2] == "*" else int(match[2])


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(enabled: bool, name: str, total: int | None, initial: int):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm  # train extra; imported here so `--list` and the checks work without it

    return tqdm(
        total=total,
        initial=initial,
        desc=name,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        leave=False,
    )


def _read_chunk(response) -> bytes:
    try:
        return response.read(CHUNK_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        raise _RetryableError(_describe(exc)) from exc


def _transfer(url: str, part: Path, name: str, *, progress: bool, timeout: float) -> None:
    """One request: continue `part` from where it ends (or start it). Raises _RetryableError."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            return  # the part already holds the whole file (or more); validation decides
        if exc.code >= 500 or exc.code in (408, 429):
            raise _RetryableError(_describe(exc)) from exc
        if exc.code == 404:
            raise DownloadError(f"{url} does not exist on the server (HTTP 404)") from exc
        raise DownloadError(f"{url}: {_describe(exc)}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _RetryableError(_describe(exc)) from exc

    with response:
        content_range = _parse_content_range(response.headers.get("Content-Range"))
        total = None
        if offset and response.status == 206:
            if content_range is None or content_range[0] != offset:
                part.unlink()
                raise _RetryableError("the server resumed at the wrong place; starting over")
            total = content_range[1]
            _say(f"{name}: resuming after {offset} bytes")
            mode = "ab"
        else:
            if offset:
                _say(f"{name}: the server does not support resuming; starting over")
            offset = 0
            mode = "wb"
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if length is not None:
            total = offset + length

        bar = _progress_bar(progress, name, total, offset)
        received = 0
        try:
            with open(part, mode) as out:
                while chunk := _read_chunk(response):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        except OSError as exc:  # network errors became _RetryableError in _read_chunk, so this is the disk
            raise _local_write_error(exc, part) from exc
        finally:
            bar.close()
    if length is not None and received != length:
        # urllib returns a short body silently when the connection closes early.
        raise _RetryableError(
            f"connection closed early: got {offset + received} of {offset + length} bytes (Content-Length)"
        )


def fetch_file(
    url: str,
    target: Path,
    validate: Callable[[Path], object],
    *,
    retries: int = 5,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> Path:
    """Download `url` to `target` through `target.part`, with resume, retries and validation."""
    part = target.with_name(target.name + PART_SUFFIX)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {target.parent}: {exc.strerror or exc}") from exc
    attempts = retries + 1
    problem = ""
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            delay = min(RETRY_BASE_DELAY_S * 2 ** (attempt - 2), RETRY_MAX_DELAY_S)
            _say(f"{target.name}: {problem}; retrying in {delay:g} s (attempt {attempt} of {attempts})")
            _sleep(delay)
        try:
            _transfer(url, part, target.name, progress=progress, timeout=timeout)
        except _RetryableError as exc:
            problem = str(exc)
            continue
        try:
            validate(part)
        except InvalidFileError as exc:
            part.unlink(missing_ok=True)  # never keep (or resume from) a bad file
            problem = f"the server sent an invalid file: {exc}"
            continue
        os.replace(part, target)
        return target
    kept = " (the partial download is kept and the next run resumes it)" if part.exists() else ""
    raise DownloadError(f"{target.name}: giving up after {attempts} attempts: {problem}{kept}")


def download(
    categories: Iterable[str],
    dest: str | os.PathLike[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    simplified: bool = False,
    retries: int = 5,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> list[Path]:
    """Download the numpy_bitmap file (and with simplified=True the simplified ndjson) of each category.

    Names are resolved first (ValueError for unknown ones, before anything is fetched). Files that
    are already complete and valid are skipped. Returns the local paths, in order. Raises
    DownloadError when a file cannot be fetched.
    """
    if isinstance(categories, str):
        categories = [categories]
    names = resolve_categories(categories)
    if retries < 0:
        raise ValueError("retries must be 0 or more")
    kinds = [BITMAP, SIMPLIFIED] if simplified else [BITMAP]
    paths: list[Path] = []
    for category in names:
        for kind in kinds:
            target = local_path(Path(dest), kind, category)
            if target.exists():
                try:
                    kind.validate(target)
                except InvalidFileError as exc:
                    _say(f"{target.name}: the existing file is not valid ({exc}); downloading it again")
                else:
                    _say(f"{target.name}: already complete, skipped")
                    paths.append(target)
                    continue
            url = file_url(base_url, kind, category)
            fetch_file(url, target, kind.validate, retries=retries, progress=progress, timeout=timeout)
            _say(f"{target.name}: done")
            paths.append(target)
    return paths


def _run(args: argparse.Namespace) -> int:
    if args.list:
        print("\n".join(CATEGORIES))
        return 0
    try:
        names = list(args.categories)
        if args.classes:
            names += read_class_list(args.classes)
        if not names:
            args.download_parser.error("name at least one CATEGORY (or use --classes, or --list)")
        if args.dest is None:
            args.download_parser.error("--dest DIR is required to download")
        paths = download(
            names,
            args.dest,
            base_url=args.base_url,
            simplified=args.simplified,
            retries=args.retries,
            progress=not args.no_progress,
        )
    except (ValueError, DownloadError) as exc:
        print(f"inkling-train download: error: {exc}", file=sys.stderr)
        return 1
    _say(f"{len(paths)} file(s) ready in {args.dest}")
    return 0


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download Quick, Draw! files from Google's public bucket",
        description="Fetch the numpy_bitmap files (and with --simplified the simplified stroke\n"
        "ndjson) of Quick, Draw! categories over HTTPS, with resume, retries and validation.",
        epilog="files land in the layout of the project's data folder:\n"
        "  DIR/bitmaps/<category>.npy\n"
        "  DIR/strokes/simplified/<category>.ndjson",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "categories", nargs="*", metavar="CATEGORY", help='official names; quote spaces or use "_"'
    )
    parser.add_argument("--dest", type=Path, metavar="DIR", help="folder to download into")
    parser.add_argument("--classes", metavar="LIST", help='more categories: "a,b,c" or a file, one per line')
    parser.add_argument("--simplified", action="store_true", help="also fetch the simplified stroke ndjson")
    parser.add_argument("--list", action="store_true", help="print the 345 category names and exit")
    parser.add_argument(
        "--retries",
        type=_non_negative_int,
        default=5,
        metavar="N",
        help="retries per file on connection errors (default: %(default)s)",
    )
    parser.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, metavar="URL", help="bucket URL (default: %(default)s)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=_run, download_parser=parser)
