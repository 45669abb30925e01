"""``bnnkit evaluate``: accuracy of a ``.tflite`` on a dataset's test split.

    bnnkit evaluate runs/mnist-bnn/lce/model.tflite --dataset mnist
    bnnkit evaluate bundle/ --limit 1000 --json

The model is guarded first (structure, recorded sha256, a trial run in a child process), then
run on the first available runtime that has its ops (``--runtime`` picks one); the work is
:func:`converters.evaluate.evaluate_on_dataset`.
"""

from __future__ import annotations

import argparse
import json

from converters.runtime import AUTO, runtime_choices

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="accuracy of a .tflite on a dataset",
        description="Run a .tflite (or a bundle folder) on a dataset's test split and print "
        "its top-1 accuracy, the runtime and kernel options used.",
    )
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
    parser.add_argument(
        "--runtime",
        choices=runtime_choices(),
        default=AUTO,
        help="interpreter (default: the first one available here that has the model's ops)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from converters.evaluate import evaluate_on_dataset

    result = evaluate_on_dataset(
        args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        limit=args.limit,
        threads=args.threads,
        runtime=args.runtime,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        options = ", ".join(f"{k}={v}" for k, v in result["options"].items())
        print(
            f"{result['model']}: top-1 accuracy {result['accuracy']:.2%} on {result['n']} "
            f"{result['dataset']} test images ({result['runtime']} runtime, {options}; "
            f"{result['ms_per_image']:.2f} ms/image)"
        )
    return 0
