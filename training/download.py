"""``inkling-train download``: fetch Quick, Draw! files from Google's public bucket.

Files land in the same layout as the project's data folder (INKLING_QUICKDRAW_DIR), so a download
folder can be used wherever that one is:

    DEST/bitmaps/<category>.npy               numpy_bitmap: uint8 (N, 784)
    DEST/strokes/simplified/<category>.ndjson simplified strokes (with --simplified)
    DEST/strokes/raw/<category>.ndjson        raw strokes, as drawn (with --raw)

Each file is written to ``<name>.part`` first, resumed with an HTTP Range request after an
interruption, checked, and only then moved into place, so a truncated or half-written file never
takes the place of a good one.

With ``max_rows`` (``--max-per-class N``) only the first N drawings of each file are fetched: for a
.npy file one Range request for the header and N rows (a server that ignores Range is read only that
far), rewritten as a valid (N, 784) array; for ndjson the transfer stops after N lines. Such a file
gets a ``<name>.subset.json`` note beside it, so a later run that wants more (or all) fetches again.
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
from inkling.model.strokes import atomic_write_text
from inkling.training.categories import CATEGORIES, read_class_list, resolve_categories

DEFAULT_BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/full"
PART_SUFFIX = ".part"
NEW_SUFFIX = ".new"  # a capped .npy rebuilt from its part, before it is checked and moved into place
SUBSET_SUFFIX = ".subset.json"  # beside a file that holds only the first N drawings of the server's file
NPY_MAGIC = b"\x93NUMPY"
MAX_NPY_HEADER = 10_000  # numpy's own limit; Google's headers are 118 bytes
HEADER_GUESS = 128  # the preamble of every Google .npy file: ask for it and the rows in one request
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


class DiskFullError(DownloadError):
    """Out of disk space: the other files would fail too, so the whole download stops."""


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
    rows, data_start = read_npy_header(path)
    expected = data_start + rows * PIXELS
    actual = path.stat().st_size
    if actual != expected:
        raise InvalidFileError(
            f"truncated or padded: {actual} bytes, a ({rows}, {PIXELS}) array needs {expected}"
        )
    return rows


def read_npy_header(path: Path) -> tuple[int, int]:
    """(rows, offset of the data) of a uint8 (N, 784) .npy file; InvalidFileError for anything else."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f, MAX_NPY_HEADER)
            elif version in ((2, 0), (3, 0)):  # same header layout, longer length field
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f, MAX_NPY_HEADER)
            else:
                raise ValueError(f"unknown .npy format version {version}")
            data_start = f.tell()
    except Exception as exc:  # numpy's header parser raises many kinds on hostile input (even TokenError)
        raise InvalidFileError(f"not a valid .npy file ({exc})") from exc
    if dtype != np.uint8 or len(shape) != 2 or shape[1] != PIXELS or fortran_order:
        order = " Fortran order" if fortran_order else ""
        raise InvalidFileError(f"expected a uint8 array of shape (N, {PIXELS}), found {dtype}{order} {shape}")
    if shape[0] <= 0:
        raise InvalidFileError("the file holds no drawings")
    return int(shape[0]), data_start


def npy_data_offset(head: bytes) -> int | None:
    """Where the array data starts in a .npy file that begins with `head`; None if `head` is too short.

    Reads only the fixed preamble (magic, version, header length), so a capped download knows how many
    bytes to ask for before it has the header; a garbage answer or an absurd header length is refused.
    """
    if head[: len(NPY_MAGIC)] != NPY_MAGIC[: len(head)]:
        raise InvalidFileError(f"not a .npy file (it starts with {head[:16]!r})")
    if len(head) < len(NPY_MAGIC) + 2:
        return None
    major = head[len(NPY_MAGIC)]
    width = {1: 2, 2: 4, 3: 4}.get(major)
    if width is None:
        raise InvalidFileError(f"not a valid .npy file (unknown format version {major})")
    fixed = len(NPY_MAGIC) + 2 + width
    if len(head) < fixed:
        return None
    header_len = int.from_bytes(head[fixed - width : fixed], "little")
    if header_len > MAX_NPY_HEADER:
        raise InvalidFileError(f"not a valid .npy file (a {header_len}-byte header; real ones are ~120)")
    return fixed + header_len


def count_lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            count += block.count(b"\n")
    return count


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
RAW = FileKind("raw", "strokes/raw", ".ndjson", validate_ndjson)


def file_url(base_url: str, kind: FileKind, category: str) -> str:
    # Names have spaces ("The Eiffel Tower"); the bucket wants them percent-encoded.
    return f"{base_url.rstrip('/')}/{kind.bucket_dir}/{urllib.parse.quote(category)}{kind.suffix}"


def local_path(dest: Path, kind: FileKind, category: str) -> Path:
    return Path(dest) / kind.local_dir / f"{category}{kind.suffix}"


def subset_note(target: Path) -> Path:
    return target.with_name(target.name + SUBSET_SUFFIX)


def read_subset_note(target: Path) -> dict | None:
    """The note of a file that holds only the first drawings of the server's file (None: the whole file)."""
    note = subset_note(target)
    if not note.exists():
        return None
    try:
        value = json.loads(note.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        value = None
    return value if isinstance(value, dict) else {}  # unreadable: still a subset, so fetched again


def _say(message: str) -> None:
    if "tqdm" in sys.modules:  # print above the progress bars instead of through them
        sys.modules["tqdm"].tqdm.write(message, file=sys.stderr)
    else:
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
        return DiskFullError(f"disk full while writing {part}; free some space and run again")
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


def _progress_bar(enabled: bool, name: str, total: int | None, initial: int, unit: str = "B"):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm  # train extra; imported here so `--list` and the checks work without it

    in_bytes = unit == "B"
    return tqdm(
        total=total,
        initial=initial,
        desc=name,
        unit=unit,
        unit_scale=in_bytes,
        unit_divisor=1024,
        file=sys.stderr,
        leave=not in_bytes,  # one bar per file would fill the screen; the overall bar stays
    )


def _read_chunk(response, size: int = CHUNK_BYTES) -> bytes:
    try:
        return response.read(size)
    except (OSError, http.client.HTTPException) as exc:
        raise _RetryableError(_describe(exc)) from exc


@dataclass
class _Received:
    total: int | None = None  # the server's whole file size, when it said
    cut: bool = False  # stopped at the byte or line limit, before the server's file ended


def _line_cut(chunk: bytes, lines_wanted: int) -> int | None:
    """Length of the prefix of `chunk` that holds `lines_wanted` newlines, or None if it holds fewer."""
    at = -1
    for _ in range(lines_wanted):
        at = chunk.find(b"\n", at + 1)
        if at < 0:
            return None
    return at + 1


def _transfer(
    url: str,
    part: Path,
    name: str,
    *,
    progress: bool,
    timeout: float,
    end: int | None = None,
    max_lines: int | None = None,
) -> _Received:
    """One request: continue `part` from where it ends (or start it). Raises _RetryableError.

    With `end`, the part is grown to at most `end` bytes (a Range request with an end; from a server that
    ignores Range, only that much of the body is read). With `max_lines`, writing stops after that many
    lines (counting those the part already holds).
    """
    offset = part.stat().st_size if part.exists() else 0
    lines = count_lines(part) if max_lines is not None and offset else 0
    if (end is not None and offset >= end) or (max_lines is not None and lines >= max_lines):
        return _Received(cut=True)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if end is not None:
        request.add_header("Range", f"bytes={offset}-{end - 1}")
    elif offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            return _Received()  # the part already holds the whole file (or more); validation decides
        if exc.code >= 500 or exc.code in (408, 429):
            raise _RetryableError(_describe(exc)) from exc
        if exc.code == 404:
            raise DownloadError(f"{url} does not exist on the server (HTTP 404)") from exc
        raise DownloadError(f"{url}: {_describe(exc)}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _RetryableError(_describe(exc)) from exc

    with response:
        content_range = _parse_content_range(response.headers.get("Content-Range"))
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if response.status == 206:
            if content_range is None or content_range[0] != offset:
                part.unlink(missing_ok=True)
                raise _RetryableError("the server answered with another range than asked for; starting over")
            total = content_range[1]
            if offset:
                _say(f"{name}: resuming after {offset} bytes")
            mode = "ab"
        else:
            if offset:
                _say(f"{name}: the server does not support resuming; starting over")
            elif end is not None:
                _say(f"{name}: the server ignores range requests; reading only the first {end} bytes")
            offset, lines, mode = 0, 0, "wb"
            total = length
        want = None if end is None else end - offset  # bytes still wanted from this response

        bar = _progress_bar(progress, name, end if end is not None else total, offset)
        received, cut = 0, False
        try:
            with open(part, mode) as out:
                while True:
                    size = CHUNK_BYTES if want is None else min(CHUNK_BYTES, want - received)
                    chunk = _read_chunk(response, size)
                    if not chunk:
                        break
                    if max_lines is not None and (stop := _line_cut(chunk, max_lines - lines)) is not None:
                        chunk, cut = chunk[:stop], True
                    lines += chunk.count(b"\n") if max_lines is not None else 0
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if cut or (want is not None and received >= want):
                        cut = True
                        break
        except OSError as exc:  # network errors became _RetryableError in _read_chunk, so this is the disk
            raise _local_write_error(exc, part) from exc
        finally:
            bar.close()
    if total is not None and offset + received >= total:
        cut = False  # stopped exactly where the server's file ends: nothing was left out
    if not cut and length is not None and received != length:
        # urllib returns a short body silently when the connection closes early.
        raise _RetryableError(
            f"connection closed early: got {offset + received} of {offset + length} bytes (Content-Length)"
        )
    return _Received(total=total, cut=cut)


def _retrying(target: Path, url: str, retries: int, attempt_once: Callable[[], object]):
    """Run `attempt_once` until it succeeds, with exponential backoff; DownloadError naming file and URL."""
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
            return attempt_once()
        except _RetryableError as exc:
            problem = str(exc)
        except InvalidFileError as exc:
            part.unlink(missing_ok=True)  # never keep (or resume from) a bad file
            problem = f"the server sent an invalid file: {exc}"
    kept = " (the partial download is kept and the next run resumes it)" if part.exists() else ""
    tries = f"{attempts} attempt" + ("s" if attempts > 1 else "")
    raise DownloadError(f"{target.name}: giving up after {tries}: {problem} [{url}]{kept}")


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

    def attempt() -> Path:
        _transfer(url, part, target.name, progress=progress, timeout=timeout)
        validate(part)
        os.replace(part, target)
        subset_note(target).unlink(missing_ok=True)  # after the file: a crash between errs toward refetching
        return target

    return _retrying(target, url, retries, attempt)


def _write_subset_note(target: Path, url: str, count: int, unit: str, total: int | None) -> None:
    note = {"file": target.name, "url": url, unit: count, f"server_{unit}": total}
    atomic_write_text(subset_note(target), json.dumps(note, indent=2) + "\n")


def fetch_npy_rows(
    url: str,
    target: Path,
    max_rows: int,
    *,
    retries: int = 5,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> int:
    """Fetch only the header and the first `max_rows` rows of a numpy_bitmap file; returns the rows kept.

    The part file holds the start of the server's file as it came (so it resumes like any download);
    once it holds enough, the rows are copied under a new header into `target.new`, checked, and moved
    into place.
    """
    part = target.with_name(target.name + PART_SUFFIX)
    new = target.with_name(target.name + NEW_SUFFIX)

    def have() -> bytes:
        if not part.exists():
            return b""
        with open(part, "rb") as f:
            return f.read(HEADER_GUESS)

    def attempt() -> int:
        server_rows = None
        for _ in range(4):  # usually one request; more when the header is longer than Google's
            data_start = npy_data_offset(have())
            size = part.stat().st_size if part.exists() else 0
            if data_start is not None and size >= data_start:
                server_rows, data_start = read_npy_header(part)
                end = data_start + min(max_rows, server_rows) * PIXELS
            else:
                end = (data_start or HEADER_GUESS) + max_rows * PIXELS
            if size >= end and server_rows is not None:
                break
            got = _transfer(url, part, target.name, progress=progress, timeout=timeout, end=end)
            if (part.stat().st_size if part.exists() else 0) <= size and not got.cut:
                raise InvalidFileError(f"the server's file ends after {size} bytes; {end} were needed")
        if server_rows is None or part.stat().st_size < end:
            raise InvalidFileError(
                f"the server's file ends after {part.stat().st_size} bytes; its header promises "
                f"{server_rows} rows, {end} bytes for the first {min(max_rows, server_rows or max_rows)}"
            )
        rows = min(max_rows, server_rows)
        try:
            with open(part, "rb") as src, open(new, "wb") as dst:
                header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False}
                np.lib.format.write_array_header_1_0(dst, header | {"shape": (rows, PIXELS)})
                src.seek(data_start)
                left = rows * PIXELS
                while left:
                    block = src.read(min(CHUNK_BYTES, left))
                    dst.write(block)
                    left -= len(block)
        except OSError as exc:
            new.unlink(missing_ok=True)
            raise _local_write_error(exc, new) from exc
        try:
            validate_npy(new)
        except InvalidFileError:
            new.unlink(missing_ok=True)
            raise
        # The note goes first: a crash before the move leaves the old file marked as a subset (refetched).
        if rows < server_rows:
            _write_subset_note(target, url, rows, "rows", server_rows)
        os.replace(new, target)
        if rows == server_rows:
            subset_note(target).unlink(missing_ok=True)
        if part.stat().st_size <= end:  # a longer part is an interrupted full download: keep it to resume
            part.unlink()
        return rows

    return _retrying(target, url, retries, attempt)


def fetch_ndjson_lines(
    url: str,
    target: Path,
    max_lines: int,
    *,
    retries: int = 5,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> int:
    """Fetch the first `max_lines` drawings of an ndjson file (the transfer stops there); returns how many."""
    part = target.with_name(target.name + PART_SUFFIX)

    def attempt() -> int:
        got = _transfer(url, part, target.name, progress=progress, timeout=timeout, max_lines=max_lines)
        validate_ndjson(part)
        lines = count_lines(part)
        if got.cut:
            _write_subset_note(target, url, lines, "lines", None)
        os.replace(part, target)
        if not got.cut:
            subset_note(target).unlink(missing_ok=True)
        return lines

    return _retrying(target, url, retries, attempt)


def _good_enough(target: Path, kind: FileKind, max_rows: int | None) -> bool:
    """Whether an existing file can stay: valid, and whole or holding at least `max_rows` drawings."""
    if not target.exists():
        return False
    try:
        kind.validate(target)
    except InvalidFileError as exc:
        _say(f"{target.name}: the existing file is not valid ({exc}); downloading it again")
        return False
    note = read_subset_note(target)
    if note is None:
        _say(f"{target.name}: already complete, skipped")
        return True
    have = read_npy_header(target)[0] if kind.suffix == ".npy" else count_lines(target)
    if max_rows is not None and have >= max_rows:
        _say(f"{target.name}: already holds {have} drawings, skipped")
        return True
    wanted = "the whole file" if max_rows is None else f"{max_rows}"
    _say(f"{target.name}: holds the first {have} drawings, {wanted} asked for; downloading again")
    return False


def download(
    categories: Iterable[str],
    dest: str | os.PathLike[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    simplified: bool = False,
    raw: bool = False,
    max_rows: int | None = None,
    retries: int = 5,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> list[Path]:
    """Download the numpy_bitmap file (and with simplified/raw the stroke ndjson) of each category.

    Names are resolved first (ValueError for unknown ones, before anything is fetched). Files that
    are already complete and valid are skipped. With `max_rows`, only the first that many drawings of
    each file are fetched. A file that fails does not stop the others (a full disk does); at the end a
    DownloadError names every file that failed. Returns the local paths of the files that are ready.
    """
    if isinstance(categories, str):
        categories = [categories]
    names = resolve_categories(categories)
    if retries < 0:
        raise ValueError("retries must be 0 or more")
    if max_rows is not None and max_rows < 1:
        raise ValueError("max_rows must be 1 or more")
    kinds = [BITMAP] + ([SIMPLIFIED] if simplified else []) + ([RAW] if raw else [])
    jobs = [(category, kind) for category in names for kind in kinds]
    paths: list[Path] = []
    failures: list[str] = []
    overall = _progress_bar(progress and len(jobs) > 1, "files", len(jobs), 0, unit="file")
    try:
        for category, kind in jobs:
            target = local_path(Path(dest), kind, category)
            if not _good_enough(target, kind, max_rows):
                url = file_url(base_url, kind, category)
                options = {"retries": retries, "progress": progress, "timeout": timeout}
                try:
                    if max_rows is None:
                        fetch_file(url, target, kind.validate, **options)
                        _say(f"{target.name}: done")
                    elif kind is BITMAP:
                        rows = fetch_npy_rows(url, target, max_rows, **options)
                        _say(f"{target.name}: done, {rows} drawings")
                    else:
                        lines = fetch_ndjson_lines(url, target, max_rows, **options)
                        _say(f"{target.name}: done, {lines} drawings")
                except DiskFullError:
                    raise
                except DownloadError as exc:
                    failures.append(str(exc))
                    overall.update(1)
                    continue
            paths.append(target)
            overall.update(1)
    finally:
        overall.close()
    if len(failures) == 1:
        raise DownloadError(failures[0])
    if failures:
        listed = "\n  ".join(failures)
        raise DownloadError(
            f"{len(failures)} of {len(jobs)} files failed (run again to retry them):\n  {listed}"
        )
    return paths


def _run(args: argparse.Namespace) -> int:
    if args.list:
        print("\n".join(CATEGORIES))
        return 0
    try:
        names = list(CATEGORIES) if args.all else list(args.categories)
        if args.classes:
            names += read_class_list(args.classes)
        if not names:
            args.download_parser.error("name at least one CATEGORY (or use --all, --classes, or --list)")
        if args.dest is None:
            args.download_parser.error("--dest DIR is required to download")
        paths = download(
            names,
            args.dest,
            base_url=args.base_url,
            simplified=args.simplified,
            raw=args.raw,
            max_rows=args.max_per_class,
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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download Quick, Draw! files from Google's public bucket",
        description="Fetch the numpy_bitmap files (and with --simplified / --raw the stroke\n"
        "ndjson) of Quick, Draw! categories over HTTPS, with resume, retries and validation.",
        epilog="files land in the layout of the project's data folder:\n"
        "  DIR/bitmaps/<category>.npy\n"
        "  DIR/strokes/simplified/<category>.ndjson\n"
        "  DIR/strokes/raw/<category>.ndjson\n"
        "with --max-per-class N a file holds the first N drawings of Google's file and has a\n"
        "<file>.subset.json note beside it; a later run asking for more fetches it again.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "categories", nargs="*", metavar="CATEGORY", help='official names; quote spaces or use "_"'
    )
    parser.add_argument("--all", action="store_true", help="every one of the 345 categories")
    parser.add_argument("--dest", type=Path, metavar="DIR", help="folder to download into")
    parser.add_argument("--classes", metavar="LIST", help='more categories: "a,b,c" or a file, one per line')
    parser.add_argument("--simplified", action="store_true", help="also fetch the simplified stroke ndjson")
    parser.add_argument("--raw", action="store_true", help="also fetch the raw stroke ndjson (large)")
    parser.add_argument(
        "--max-per-class",
        type=_positive_int,
        metavar="N",
        help="fetch only the first N drawings of each file (a Range request, not the whole file)",
    )
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
