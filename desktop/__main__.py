"""``inkling``: the desktop app, ``inkling classify`` for headless use, ``inkling --self-test``.

Heavy imports (Qt, onnxruntime) happen only on the path that needs them, so that start-up is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inkling",
        description="Draw something; a small neural network guesses what it is, live.",
        epilog="Headless: inkling classify FILE... [--model M] [--top K] [--json]  (see inkling classify --help)",
    )
    parser.add_argument(
        "--model", metavar="PATH", help="the Inkling model to use (.onnx); default: the last one opened"
    )
    parser.add_argument(
        "--log-predictions",
        action="store_true",
        help="print one JSON line to stdout for every suggestion update (time, strokes, top 5)",
    )
    parser.add_argument("--self-test", action="store_true", help="check the installation and exit")
    # For tests and benchmarks: settings in this .ini file instead of the person's own, and
    # print a line and exit as soon as the window is shown with its first suggestion ready.
    parser.add_argument("--settings", metavar="INI", help=argparse.SUPPRESS)
    parser.add_argument("--exit-after-first-suggestion", action="store_true", help=argparse.SUPPRESS)
    # For the real-window benchmarks (xdotool): print the canvas's place on the screen once it is shown.
    parser.add_argument("--report-canvas", action="store_true", help=argparse.SUPPRESS)
    return parser


def run_self_test(args: argparse.Namespace) -> int:
    try:
        selftest = importlib.import_module("inkling.desktop.selftest")
    except ModuleNotFoundError as exc:
        if exc.name != "inkling.desktop.selftest":
            raise
        print(
            "inkling: the self-test is not available in this installation (desktop.selftest is missing)",
            file=sys.stderr,
        )
        return 2
    return int(selftest.main(args) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "classify":
        from .cli import main as classify

        return classify(argv[1:])
    args = build_parser().parse_args(argv)
    if args.self_test:
        return run_self_test(args)
    from .app import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
