"""What every subcommand module shares: its parser, the call to its one public function, and
printing the result (as text, or as JSON with ``--json``).

    def register(subparsers):
        parser = add_command(subparsers, "evaluate", __doc__)   # the module docstring
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
import re
from collections.abc import Callable
from typing import Any

__all__ = ["add_command", "add_runtime_argument", "call", "plain_text", "respond"]


def plain_text(doc: str) -> str:
    """A docstring as the terminal shows it: no reST markup (``x``, :func:`x`)."""
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", doc).replace("``", "")


def add_command(
    subparsers: argparse._SubParsersAction, name: str, doc: str, epilog: str | None = None
) -> argparse.ArgumentParser:
    """The parser of subcommand ``name``, described by its module docstring ``doc``: the first
    sentence, after ``bnnkit NAME:``, for ``bnnkit --help``; all of it, examples as written,
    for ``bnnkit NAME --help``. Adds ``--json``."""
    text = plain_text(doc).strip()
    first = " ".join(text.split("\n\n")[0].split())
    summary = first.split(": ", 1)[-1].rstrip(".")
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
