"""``inkling-train``: download data, fit, evaluate, export and teach Inkling models."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module adds its own subcommand through register(subparsers).
SUBCOMMAND_MODULES = [
    "inkling.training.download",
    "inkling.training.fit",
    "inkling.training.evaluate",
    "inkling.training.export",
    "inkling.training.teach",
    "inkling.training.references",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inkling-train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that subcommand is not written yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
