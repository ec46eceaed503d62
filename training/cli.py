"""``inkling-train``: download data, fit, evaluate, export and teach Inkling models."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module adds its own subcommand through register(subparsers).
SUBCOMMAND_MODULES = [
    "inkling.training.download",
    "inkling.training.train",
    "inkling.training.evaluate",
    "inkling.training.export",
    "inkling.training.teach",
    "inkling.training.references",
]


# Packages of the `train` extra. Without them the commands that need them say how to get them, and the
# rest (teach, download) still work: `pip install inkling-draw` alone gives the app and teach.
TRAIN_EXTRA = {"torch", "onnx", "matplotlib", "tqdm"}
COMMAND_NAMES = {
    "inkling.training.evaluate": "eval",
}  # where a module's command is not its own name


def _needs_extra(sub, module: str, missing: str) -> None:
    command = COMMAND_NAMES.get(module, module.rsplit(".", 1)[-1])
    p = sub.add_parser(command, help=f"(needs the train extra: {missing} is not installed)", prefix_chars="+")
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def refuse(_args) -> int:
        print(
            f"inkling-train {command} needs the train extra ({missing} is not installed): "
            "pip install 'inkling-draw[train]'",
            file=sys.stderr,
        )
        return 2

    p.set_defaults(func=refuse)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inkling-train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that subcommand is not written yet
                continue
            top = (exc.name or "").split(".")[0]
            if top in TRAIN_EXTRA:
                _needs_extra(sub, name, top)
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
