"""``bnnkit`` entry point: parses arguments, runs one subcommand, maps errors to exit codes.

Each subcommand lives in its own module ``bnnkit/cli/<name>.py`` with a function
``register(subparsers)`` that adds its parser and sets ``func=run`` where
``run(args) -> int``. Errors that bnnkit raises on purpose (:class:`bnnkit.BnnkitError`)
become one line on stderr and the error's exit code; nothing is printed as a traceback
unless ``BNNKIT_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import bnnkit
from bnnkit.errors import BnnkitError

# Subcommand modules, in the order ``bnnkit --help`` lists them.
COMMANDS = [
    "train",
    "convert",
    "evaluate",
    "demo",
    "predict",
    "export_android",
    "build_delegate",
    "bench",
    "report",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bnnkit",
        description="Binary neural networks from the papers to phones and Raspberry Pis.",
    )
    parser.add_argument("--version", action="version", version=f"bnnkit {bnnkit.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"bnnkit.cli.{name}").register(subparsers)
    return parser


def run_parsed(args) -> int:
    """Run a parsed subcommand; a :class:`BnnkitError` becomes one line and its exit code."""
    try:
        return int(args.func(args) or 0)
    except BnnkitError as error:
        if os.environ.get("BNNKIT_DEBUG"):
            raise
        print(f"bnnkit: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("bnnkit: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    # TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) is not for CLI users;
    # bnnkit reports its own errors. BNNKIT_DEBUG=1 or an explicit value keeps TF's logs.
    if not os.environ.get("BNNKIT_DEBUG"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return run_parsed(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
