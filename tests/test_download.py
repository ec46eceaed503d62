"""The Quick, Draw! downloader against a real HTTP server on 127.0.0.1 serving generated files."""

from __future__ import annotations

import builtins
import errno
import io
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from inkling.training import cli
from inkling.training import download as dl
from inkling.training.categories import CATEGORIES, read_class_list, resolve_categories


def make_npy(rows: int = 20, seed: int = 0, dtype=np.uint8, width: int = 784) -> bytes:
    images = np.random.default_rng(seed).integers(0, 256, size=(rows, width)).astype(dtype)
    buffer = io.BytesIO()
    np.save(buffer, images)
    return buffer.getvalue()


def make_ndjson(lines: int = 5, word: str = "cat") -> bytes:
    records = [{"word": word, "key_id": str(i), "drawing": [[[0, 10, 20], [0, 5, i]]]} for i in range(lines)]
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


class FixtureServer:
    """Serves `files` (URL path -> bytes). `plans[path]` lists how to answer the next requests:
    "ignore_range" (always 200 with the whole file), "drop_half" (announce the full length, send
    half, close), "wrong_range" (206 for another range than asked) or "error_500"; once a plan list
    is used up, requests are answered normally. Ranges may be open ("bytes=10-") or closed ("bytes=0-9")."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.plans: dict[str, list[str]] = {}
        self.always: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []  # (raw path, Range header)
        self.lock = threading.Lock()
        self.base_url = ""

    def serve(self, category: str, body: bytes, kind: str = "numpy_bitmap") -> str:
        suffix = ".npy" if kind == "numpy_bitmap" else ".ndjson"
        path = f"/{kind}/{category}{suffix}"
        self.files[path] = body
        return path

    def next_plan(self, path: str) -> str:
        with self.lock:
            queue = self.plans.get(path)
            return queue.pop(0) if queue else self.always.get(path, "normal")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        fixture: FixtureServer = self.server.fixture
        path = urllib.parse.unquote(self.path)
        range_header = self.headers.get("Range")
        with fixture.lock:
            fixture.requests.append((self.path, range_header))
        plan = fixture.next_plan(path)
        body = fixture.files.get(path)
        if body is None:
            self.send_error(404)
            return
        if plan == "error_500":
            self.send_error(500)
            return
        start, stop, status = 0, len(body), 200
        if range_header and plan != "ignore_range":
            first, last = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header).groups()
            start, stop = int(first), min(len(body), int(last) + 1 if last else len(body))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        data = body[start:stop]
        self.send_response(status)
        if status == 206:
            shown = start + 1 if plan == "wrong_range" else start
            self.send_header("Content-Range", f"bytes {shown}-{stop - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            if plan == "drop_half":
                self.wfile.write(data[: len(data) // 2])
                self.close_connection = True
                return
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client read all it wanted and closed
            self.close_connection = True

    def log_message(self, format, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture
def server():
    fixture = FixtureServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.fixture = fixture
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    fixture.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield fixture
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def delays(monkeypatch) -> list[float]:
    """Record the retry backoff instead of sleeping through it."""
    recorded: list[float] = []
    monkeypatch.setattr(dl, "_sleep", recorded.append)
    return recorded


def fetch(server: FixtureServer, dest: Path, *categories: str, **kwargs) -> list[Path]:
    kwargs.setdefault("progress", False)
    return dl.download(list(categories), dest, base_url=server.base_url, **kwargs)


def bitmap(dest: Path, category: str) -> Path:
    return dest / "bitmaps" / f"{category}.npy"


# --- downloading -------------------------------------------------------------------------------


def test_cli_downloads_bitmaps_and_simplified_with_quoted_names(server, tmp_path, capsys):
    files = {
        "cat": (make_npy(30, seed=1), make_ndjson(4, "cat")),
        "The Eiffel Tower": (make_npy(7, seed=2), make_ndjson(3, "The Eiffel Tower")),
    }
    for name, (npy, ndjson) in files.items():
        server.serve(name, npy)
        server.serve(name, ndjson, kind="simplified")

    argv = ["download", "cat", "the_eiffel_tower", "--simplified", "--dest", str(tmp_path)]
    assert cli.main(argv + ["--base-url", server.base_url + "/"]) == 0

    for name, (npy, ndjson) in files.items():
        assert bitmap(tmp_path, name).read_bytes() == npy
        assert (tmp_path / "strokes" / "simplified" / f"{name}.ndjson").read_bytes() == ndjson
    assert np.load(bitmap(tmp_path, "The Eiffel Tower")).shape == (7, 784)
    assert not list(tmp_path.rglob("*.part"))
    assert ("/numpy_bitmap/The%20Eiffel%20Tower.npy", None) in server.requests
    assert "4 file(s) ready" in capsys.readouterr().err


def test_resume_from_part_sends_range(server, tmp_path):
    body = make_npy(50)
    server.serve("cat", body)
    part = bitmap(tmp_path, "cat").with_name("cat.npy.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:1000])

    assert fetch(server, tmp_path, "cat") == [bitmap(tmp_path, "cat")]

    assert bitmap(tmp_path, "cat").read_bytes() == body
    assert server.requests == [("/numpy_bitmap/cat.npy", "bytes=1000-")]
    assert not part.exists()


def test_connection_dropped_midway_is_retried_and_resumed(server, tmp_path, delays):
    body = make_npy(40)
    path = server.serve("cat", body)
    server.plans[path] = ["drop_half"]

    fetch(server, tmp_path, "cat")

    assert bitmap(tmp_path, "cat").read_bytes() == body
    first, second = server.requests
    assert first[1] is None
    assert second[1] == f"bytes={len(body) // 2}-"  # continued, not restarted
    assert delays == [1.0]


def test_short_body_without_retries_reports_content_length_and_keeps_part(server, tmp_path):
    body = make_npy(40)
    path = server.serve("cat", body)
    server.always[path] = "drop_half"

    with pytest.raises(dl.DownloadError, match="Content-Length.*next run resumes"):
        fetch(server, tmp_path, "cat", retries=0)

    assert not bitmap(tmp_path, "cat").exists()
    assert bitmap(tmp_path, "cat").with_name("cat.npy.part").stat().st_size == len(body) // 2


def test_truncated_npy_is_refetched_then_rejected(server, tmp_path, capsys, delays):
    server.serve("cat", make_npy(40)[:-100])  # consistent Content-Length: only the npy check can tell

    argv = ["download", "cat", "--dest", str(tmp_path), "--base-url", server.base_url, "--retries", "2"]
    assert cli.main(argv + ["--no-progress"]) == 1

    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("inkling-train download: error: cat.npy: giving up after 3 attempts")
    assert "truncated" in error
    assert len(server.requests) == 3
    assert all(range_header is None for _, range_header in server.requests)  # never resumed a bad file
    assert delays == [1.0, 2.0]
    assert list(tmp_path.rglob("*")) == [tmp_path / "bitmaps"]


def test_server_ignoring_range_restarts_from_scratch(server, tmp_path, capsys):
    body = make_npy(30)
    path = server.serve("cat", body)
    server.always[path] = "ignore_range"
    part = bitmap(tmp_path, "cat").with_name("cat.npy.part")
    part.parent.mkdir(parents=True)
    stale = b"stale bytes that must not end up in the file" * 10
    part.write_bytes(stale)

    fetch(server, tmp_path, "cat")

    assert bitmap(tmp_path, "cat").read_bytes() == body
    assert server.requests == [("/numpy_bitmap/cat.npy", f"bytes={len(stale)}-")]
    assert "does not support resuming" in capsys.readouterr().err


def test_part_already_complete_answers_416_and_is_kept(server, tmp_path):
    body = make_npy(10)
    server.serve("cat", body)
    part = bitmap(tmp_path, "cat").with_name("cat.npy.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(body)

    fetch(server, tmp_path, "cat")

    assert bitmap(tmp_path, "cat").read_bytes() == body
    assert server.requests == [("/numpy_bitmap/cat.npy", f"bytes={len(body)}-")]


def test_server_errors_are_retried_with_growing_backoff(server, tmp_path, delays):
    body = make_npy(10)
    path = server.serve("cat", body)
    server.plans[path] = ["error_500", "error_500", "error_500"]

    fetch(server, tmp_path, "cat")

    assert bitmap(tmp_path, "cat").read_bytes() == body
    assert delays == [1.0, 2.0, 4.0]


def test_persistent_server_error_gives_up(server, tmp_path):
    path = server.serve("cat", make_npy(10))
    server.always[path] = "error_500"

    with pytest.raises(dl.DownloadError, match="giving up after 2 attempts: HTTP 500"):
        fetch(server, tmp_path, "cat", retries=1)
    assert len(server.requests) == 2


def test_missing_file_is_not_retried(server, tmp_path):
    with pytest.raises(dl.DownloadError, match="HTTP 404"):
        fetch(server, tmp_path, "cat")
    assert len(server.requests) == 1


def test_complete_file_is_skipped_without_a_request(server, tmp_path, capsys):
    target = bitmap(tmp_path, "cat")
    target.parent.mkdir(parents=True)
    target.write_bytes(make_npy(5))

    assert fetch(server, tmp_path, "cat") == [target]

    assert server.requests == []
    assert "cat.npy: already complete, skipped" in capsys.readouterr().err


def test_invalid_existing_file_is_downloaded_again(server, tmp_path, capsys):
    body = make_npy(12)
    server.serve("cat", body)
    target = bitmap(tmp_path, "cat")
    target.parent.mkdir(parents=True)
    target.write_bytes(body[:-1])

    fetch(server, tmp_path, "cat")

    assert target.read_bytes() == body
    assert "not valid" in capsys.readouterr().err


def test_disk_full_leaves_no_half_file(server, tmp_path, monkeypatch):
    server.serve("cat", make_npy(40))
    target = bitmap(tmp_path, "cat")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"older file")  # invalid, so it is fetched again; it must stay as it was

    class FullDisk(io.BufferedWriter):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def open_on_full_disk(file, mode="r", *args, **kwargs):
        if "w" in mode or "a" in mode:
            return FullDisk(io.FileIO(file, mode.replace("b", "")))
        return builtins.open(file, mode, *args, **kwargs)

    monkeypatch.setattr(dl, "open", open_on_full_disk, raising=False)
    with pytest.raises(dl.DownloadError, match="disk full while writing .*cat.npy.part"):
        fetch(server, tmp_path, "cat")

    assert target.read_bytes() == b"older file"
    assert not target.with_name("cat.npy.part").exists()
    assert len(server.requests) == 1  # not retried: waiting does not free disk space


def test_unknown_category_fails_before_any_download(server, tmp_path, capsys):
    server.serve("cat", make_npy(5))
    argv = ["download", "cat", "kangaro", "--dest", str(tmp_path), "--base-url", server.base_url]

    assert cli.main(argv) == 1

    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "unknown Quick, Draw! category: 'kangaro' (did you mean 'kangaroo'" in err
    assert server.requests == []


def test_download_requires_a_category_and_dest(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["download", "--dest", str(tmp_path)])
    assert "name at least one CATEGORY" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["download", "cat"])
    assert "--dest DIR is required" in capsys.readouterr().err


# --- file checks -------------------------------------------------------------------------------


def test_validate_npy_accepts_a_good_file_and_names_each_problem(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(make_npy(9))
    assert dl.validate_npy(path) == 9

    bad = {
        "truncated": make_npy(9)[:-1],
        "padded": make_npy(9) + b"\0",
        "uint8 array of shape": make_npy(9, dtype=np.float32),
        "found uint8 (9, 100)": make_npy(9, width=100),
        "not a valid .npy": b"<html>error page</html>",
        "no drawings": make_npy(0),
    }
    for reason, content in bad.items():
        path.write_bytes(content)
        with pytest.raises(dl.InvalidFileError, match=re.escape(reason)):
            dl.validate_npy(path)


def test_validate_ndjson_checks_first_and_last_line(tmp_path):
    path = tmp_path / "x.ndjson"
    good = make_ndjson(300)
    path.write_bytes(good)
    dl.validate_ndjson(path)
    path.write_bytes(good.rstrip(b"\n"))  # a missing final newline is still complete JSON
    dl.validate_ndjson(path)

    bad = {
        "the last line is not complete JSON": good[:-10],
        "the first line has no 'drawing' list": b'{"word": "cat"}\n' + good,
        "the last line has no 'drawing' list": good + b"[1, 2]\n",
        "the file is empty": b"",
    }
    for reason, content in bad.items():
        path.write_bytes(content)
        with pytest.raises(dl.InvalidFileError, match=re.escape(reason)):
            dl.validate_ndjson(path)


def test_truncated_simplified_file_is_not_kept(server, tmp_path):
    server.serve("cat", make_npy(5))
    server.serve("cat", make_ndjson(50)[:-7], kind="simplified")

    with pytest.raises(dl.DownloadError, match="last line is not complete JSON"):
        fetch(server, tmp_path, "cat", simplified=True, retries=0)
    assert bitmap(tmp_path, "cat").exists()
    assert not list((tmp_path / "strokes" / "simplified").iterdir())


# --- category names ----------------------------------------------------------------------------


def test_list_prints_the_345_official_names(capsys):
    assert cli.main(["download", "--list"]) == 0
    names = capsys.readouterr().out.splitlines()
    assert len(names) == len(set(names)) == 345
    assert names == list(CATEGORIES)
    assert {"The Eiffel Tower", "monkey", "smiley face", "t-shirt"} <= set(names)


def test_resolve_categories_maps_user_spellings_to_official_names():
    assert resolve_categories(["the_eiffel_tower", "CAT", "cat", " smiley  face "]) == [
        "The Eiffel Tower",
        "cat",
        "smiley face",
    ]
    with pytest.raises(ValueError, match=r"'eifel tower' \(did you mean 'The Eiffel Tower'.*'zzqx'"):
        resolve_categories(["eifel tower", "dog", "zzqx"])


def test_read_class_list_from_string_and_file(tmp_path):
    assert read_class_list("cat, dog,the_mona_lisa") == ["cat", "dog", "The Mona Lisa"]
    assert read_class_list("my squiggle, cat", resolve=False) == ["my squiggle", "cat"]

    listing = tmp_path / "classes.txt"
    listing.write_text("# animals\ncat\n\nmonkey  # the big one\nteddy-bear\n", encoding="utf-8")
    assert read_class_list(listing) == ["cat", "monkey", "teddy-bear"]
    assert read_class_list(str(listing)) == ["cat", "monkey", "teddy-bear"]

    with pytest.raises(ValueError, match="cannot read the class list"):
        read_class_list(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="names no classes"):
        read_class_list(" , ")
    with pytest.raises(ValueError, match="unknown"):
        read_class_list("cat,doge")


def test_cli_classes_option_adds_categories(server, tmp_path):
    server.serve("cat", make_npy(5))
    server.serve("dog", make_npy(6))
    argv = ["download", "--classes", "cat,dog", "--dest", str(tmp_path), "--base-url", server.base_url]
    assert cli.main(argv + ["--no-progress"]) == 0
    assert np.load(bitmap(tmp_path, "dog")).shape == (6, 784)


# --- --max-per-class: only the first N drawings ------------------------------------------------


def rows_of(body: bytes) -> np.ndarray:
    return np.load(io.BytesIO(body))


def note(dest: Path, category: str) -> dict | None:
    return dl.read_subset_note(bitmap(dest, category))


def test_max_per_class_asks_for_the_header_and_n_rows_only(server, tmp_path):
    body = make_npy(1000, seed=3)
    server.serve("cat", body)

    assert fetch(server, tmp_path, "cat", max_rows=50) == [bitmap(tmp_path, "cat")]

    assert server.requests == [("/numpy_bitmap/cat.npy", f"bytes=0-{128 + 50 * 784 - 1}")]
    got = np.load(bitmap(tmp_path, "cat"))
    assert got.shape == (50, 784) and np.array_equal(got, rows_of(body)[:50])
    assert dl.validate_npy(bitmap(tmp_path, "cat")) == 50
    assert {k: note(tmp_path, "cat")[k] for k in ("rows", "server_rows")} == {"rows": 50, "server_rows": 1000}
    assert sorted(p.name for p in (tmp_path / "bitmaps").iterdir()) == ["cat.npy", "cat.npy.subset.json"]


def test_max_per_class_reads_only_that_far_when_the_server_ignores_range(server, tmp_path, capsys):
    body = make_npy(3000, seed=4)  # 2.3 MB: more than the client reads
    path = server.serve("cat", body)
    server.always[path] = "ignore_range"

    fetch(server, tmp_path, "cat", max_rows=20)

    assert np.array_equal(np.load(bitmap(tmp_path, "cat")), rows_of(body)[:20])
    assert "ignores range requests; reading only the first" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.part"))


def long_header_npy(rows: int, seed: int = 0) -> bytes:
    """A valid .npy file whose header is padded far beyond Google's 128 bytes."""
    data = np.random.default_rng(seed).integers(0, 256, size=(rows, 784)).astype(np.uint8)
    header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({rows}, 784), }}" + " " * 300
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data.tobytes()


def test_max_per_class_with_a_longer_header_asks_for_the_rest(server, tmp_path):
    body = long_header_npy(40, seed=5)
    server.serve("cat", body)

    fetch(server, tmp_path, "cat", max_rows=3)

    assert np.array_equal(np.load(bitmap(tmp_path, "cat")), rows_of(body)[:3])
    first, second = (r for _, r in server.requests)
    assert first == f"bytes=0-{128 + 3 * 784 - 1}"
    assert second.startswith(f"bytes={128 + 3 * 784}-")


def test_max_per_class_beyond_the_file_takes_the_whole_file_without_a_note(server, tmp_path):
    body = make_npy(30, seed=6)
    server.serve("cat", body)

    fetch(server, tmp_path, "cat", max_rows=100)

    assert bitmap(tmp_path, "cat").read_bytes() == body
    assert note(tmp_path, "cat") is None


def test_a_capped_file_is_kept_for_fewer_and_fetched_again_for_more_or_all(server, tmp_path, capsys):
    body = make_npy(200, seed=7)
    server.serve("cat", body)
    target = bitmap(tmp_path, "cat")

    fetch(server, tmp_path, "cat", max_rows=10)
    fetch(server, tmp_path, "cat", max_rows=5)
    assert len(server.requests) == 1  # 10 rows are enough for 5
    assert "already holds 10 drawings, skipped" in capsys.readouterr().err

    fetch(server, tmp_path, "cat", max_rows=25)
    assert len(server.requests) == 2 and np.load(target).shape == (25, 784)
    assert note(tmp_path, "cat")["rows"] == 25

    fetch(server, tmp_path, "cat")  # no cap: the whole file, and the note goes
    assert target.read_bytes() == body
    assert note(tmp_path, "cat") is None
    assert "holds the first 25 drawings, the whole file asked for" in capsys.readouterr().err
    fetch(server, tmp_path, "cat", max_rows=10)  # a whole file serves any cap
    assert len(server.requests) == 3


HOSTILE_NPY = {
    "an HTML error page": (b"<html><body>Service unavailable</body></html>" * 100, "not a .npy file"),
    "a 4 GB header length": (
        b"\x93NUMPY\x02\x00" + (2**32 - 1).to_bytes(4, "little") + b"{" * 4000,
        "4294967295-byte header",
    ),
    "a float32 array": (make_npy(20, dtype=np.float32), "expected a uint8 array"),
    "more rows promised than sent": (make_npy(100)[:2000], "the server's file ends after"),
    "an unknown format version": (b"\x93NUMPY\x07\x00" + b"\0" * 500, "unknown format version 7"),
    "a broken header": (
        b"\x93NUMPY\x01\x00\x76\x00" + b"{'descr': '|u1', 'shape': (" + b"9" * 300,
        "not a valid",
    ),
}


@pytest.mark.parametrize("hostile", list(HOSTILE_NPY))
def test_hostile_npy_answers_fail_clearly_and_keep_the_good_file(server, tmp_path, hostile, delays):
    body, reason = HOSTILE_NPY[hostile]
    server.serve("cat", body)
    target = bitmap(tmp_path, "cat")
    target.parent.mkdir(parents=True)
    older = make_npy(4, seed=8)
    target.write_bytes(older)  # a capped earlier download: 4 rows, the user now asks for 10
    dl._write_subset_note(target, "earlier", 4, "rows", 100)

    with pytest.raises(dl.DownloadError) as caught:
        fetch(server, tmp_path, "cat", max_rows=10, retries=1)

    message = str(caught.value)
    assert message.startswith("cat.npy: giving up after 2 attempts")
    assert reason in message and f"{server.base_url}/numpy_bitmap/cat.npy" in message
    assert target.read_bytes() == older and note(tmp_path, "cat")["rows"] == 4
    assert sorted(p.name for p in target.parent.iterdir()) == ["cat.npy", "cat.npy.subset.json"]
    assert len(delays) == 1


def test_wrong_range_answer_is_retried(server, tmp_path, delays):
    body = make_npy(60, seed=9)
    path = server.serve("cat", body)
    server.plans[path] = ["wrong_range"]

    fetch(server, tmp_path, "cat", max_rows=7)

    assert np.array_equal(np.load(bitmap(tmp_path, "cat")), rows_of(body)[:7])
    assert delays == [1.0]


def test_max_per_class_ndjson_stops_after_n_lines_and_resumes(server, tmp_path, delays):
    body = make_ndjson(100, "cat")
    server.serve("cat", make_npy(5))
    path = server.serve("cat", body, kind="simplified")
    server.plans[path] = ["drop_half"]  # 50 lines arrive, then the connection drops

    fetch(server, tmp_path, "cat", simplified=True, max_rows=80)

    strokes = tmp_path / "strokes" / "simplified" / "cat.ndjson"
    assert strokes.read_bytes() == b"".join(body.splitlines(keepends=True)[:80])
    stroke_requests = [r for p, r in server.requests if p.startswith("/simplified/")]
    assert stroke_requests == [None, f"bytes={len(body) // 2}-"]
    assert dl.read_subset_note(strokes)["lines"] == 80
    assert delays == [1.0]

    fetch(server, tmp_path, "cat", simplified=True, max_rows=200)  # more than the file holds: all of it
    assert strokes.read_bytes() == body and dl.read_subset_note(strokes) is None


def test_download_all_with_max_per_class_continues_past_failures(server, tmp_path, capsys):
    for i, name in enumerate(CATEGORIES):
        if name not in ("zebra", "cat"):
            server.serve(name, make_npy(3, seed=i))
    server.serve("cat", b"<html>quota exceeded</html>")
    argv = ["download", "--all", "--max-per-class", "2", "--dest", str(tmp_path), "--retries", "0"]

    assert cli.main(argv + ["--base-url", server.base_url, "--no-progress"]) == 1

    shapes = {p.stem: np.load(p).shape for p in (tmp_path / "bitmaps").glob("*.npy")}
    assert len(shapes) == 343 and set(shapes.values()) == {(2, 784)}
    err = capsys.readouterr().err
    assert "2 of 345 files failed (run again to retry them):" in err
    assert f"{server.base_url}/numpy_bitmap/zebra.npy does not exist on the server (HTTP 404)" in err
    assert "cat.npy: giving up after 1 attempt: the server sent an invalid file: not a .npy file" in err
    assert not list(tmp_path.rglob("*.part")) and not list(tmp_path.rglob("*.new"))


def test_max_per_class_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["download", "cat", "--dest", str(tmp_path), "--max-per-class", "0"])
    assert "must be 1 or more" in capsys.readouterr().err
