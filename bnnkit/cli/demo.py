"""``bnnkit demo``: train a BNN on MNIST, convert it with LCE, evaluate the ``.tflite``.

The whole path a user takes, on a small budget (:func:`bnnkit.bench.demo.run_demo`): data
from the usual search, or the small real MNIST subset shipped with bnnkit when there is none.
"""

from __future__ import annotations

import argparse

from bnnkit.bench.demo import DEMO_EPOCHS
from bnnkit.cli.command import add_command, call, respond

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "demo", __doc__)
    parser.add_argument("--data-dir", help="look for MNIST here first")
    parser.add_argument("--epochs", type=int, default=DEMO_EPOCHS)
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument(
        "--name",
        default="demo",
        help="run folder name; an earlier demo run of that name is replaced",
    )
    parser.add_argument("--train-limit", type=int, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, help="use only the first N test images")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bnnkit.bench.demo import format_summary, run_demo

    return respond(args, call(run_demo, args), format_summary)
