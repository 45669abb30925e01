"""What every subcommand module shares: its parser, the call to its one public function, and
printing the result (as text, or as JSON with ``--json``).

    def register(subparsers):
        parser = add_command(subparsers, "evaluate", "accuracy of a .tflite on a dataset")
        parser.add_argument("model")
        ...

    def run(args):
        result = call(evaluate_on_dataset, args)     # options passed by their names
        return respond(args, result, format_result)  # text, or the same result as JSON

The options' destinations are the function's parameter names, so the command line and the
Python API spell each option the same way.
"""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Callable
from typing import Any

__all__ = ["add_command", "add_runtime_argument", "call", "respond"]


def add_command(
    subparsers: argparse._SubParsersAction, name: str, summary: str, description: str = ""
) -> argparse.ArgumentParser:
    """A subcommand parser with ``summary`` for ``bnnkit --help``, ``description`` (default: the
    summary) for ``bnnkit NAME --help``, and ``--json``."""
    parser = subparsers.add_parser(name, help=summary, description=description or summary)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def add_runtime_argument(parser: argparse.ArgumentParser) -> None:
    """``--runtime``: ``auto`` or a name in :data:`converters.runtime.RUNTIMES`."""
    from converters.runtime import AUTO, runtime_choices

    parser.add_argument(
        "--runtime",
        choices=runtime_choices(),
        default=AUTO,
        help="interpreter (default: the first one available here that has the model's ops)",
    )


def call(function: Callable[..., Any], args: argparse.Namespace, **overrides: Any) -> Any:
    """``function`` called with every parsed option named like one of its parameters, and
    ``overrides``."""
    names = inspect.signature(function).parameters
    options = {name: getattr(args, name) for name in names if hasattr(args, name)}
    return function(**{**options, **overrides})


def respond(args: argparse.Namespace, result: Any, text: Callable[[Any], str]) -> int:
    """Print ``result`` as JSON with ``--json``, else ``text(result)``; return exit code 0."""
    print(json.dumps(result, indent=2, default=str) if args.json else text(result))
    return 0
