"""``bnnkit evaluate``: accuracy of a ``.tflite`` on a dataset's test split.

    bnnkit evaluate runs/mnist-bnn/lce/model.tflite --dataset mnist
    bnnkit evaluate bundle/ --limit 1000 --json

The model is guarded first (structure, recorded sha256, a trial run in a child process), then
run on the first available runtime that has its ops (``--runtime`` picks one); the work is
:func:`converters.evaluate.evaluate_on_dataset`.
"""

from __future__ import annotations

import argparse

from bnnkit.cli.command import add_command, add_runtime_argument, call, respond

__all__ = ["format_result", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "evaluate", __doc__)
    parser.add_argument(
        "model", metavar="MODEL.tflite", help="a .tflite file or a folder holding model.tflite"
    )
    parser.add_argument(
        "--dataset", default=None, help="dataset name (default: the bundle's, else mnist)"
    )
    parser.add_argument("--data-dir", help="look for the dataset here first")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N test images")
    parser.add_argument(
        "--threads", type=int, default=1, metavar="N", help="interpreter threads (default 1)"
    )
    add_runtime_argument(parser)
    parser.set_defaults(func=run)


def format_result(result: dict) -> str:
    options = ", ".join(f"{k}={v}" for k, v in result["options"].items())
    return (
        f"{result['model']}: top-1 accuracy {result['accuracy']:.2%} on {result['n']} "
        f"{result['dataset']} test images ({result['runtime']} runtime, {options}; "
        f"{result['ms_per_image']:.2f} ms/image)"
    )


def run(args: argparse.Namespace) -> int:
    from converters.evaluate import evaluate_on_dataset

    return respond(args, call(evaluate_on_dataset, args), format_result)
