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
from bnnkit.cli.quiet import native_stderr_silenced
from bnnkit.errors import BnnkitError

__all__ = ["COMMANDS", "build_parser", "main", "run_parsed"]


# Subcommand modules, in the order ``bnnkit --help`` lists them.
COMMANDS = [
    "train",
    "convert",
    "explain",
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


def run_parsed(args: argparse.Namespace) -> int:
    """Run a parsed subcommand; a :class:`BnnkitError` becomes one line and its exit code.

    Native libraries' writes to stderr are dropped while the command runs
    (:func:`bnnkit.cli.quiet.native_stderr_silenced`); ``BNNKIT_DEBUG=1`` keeps them, and
    the traceback of an error.
    """
    try:
        with native_stderr_silenced():
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
    # TensorFlow's C++ logs are not for CLI users (child processes inherit this too);
    # BNNKIT_DEBUG=1 or an explicit value keeps them.
    if not os.environ.get("BNNKIT_DEBUG"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return run_parsed(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
