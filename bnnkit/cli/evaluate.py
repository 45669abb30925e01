"""``bnnkit evaluate``: accuracy of a ``.tflite`` on a dataset's test split.

    bnnkit evaluate runs/mnist-bnn/lce/model.tflite --dataset mnist
    bnnkit evaluate bundle/ --limit 1000 --json

The model is guarded first (structure, recorded sha256, a trial run in a child process), then
run with the runtime its ops need: the LCE interpreter with its fastest correct kernel
options (indirect BGEMM) for LCE models, the stock TFLite interpreter otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

from converters.runtime import AUTO, runtime_choices


def register(subparsers) -> None:
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


def _recorded_dataset(model: Path) -> str | None:
    folder = model if model.is_dir() else model.parent
    for name, key in (("metadata.json", "dataset"), ("conversion.json", "dataset")):
        try:
            value = json.loads((folder / name).read_text()).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str):
            return value
    return None


def run(args) -> int:
    from bnnkit.errors import InvalidInputError

    if args.limit is not None and args.limit < 1:
        raise InvalidInputError("--limit must be >= 1")
    if args.threads < 1:
        raise InvalidInputError("--threads must be >= 1")
    model = Path(args.model)
    import converters

    # Guard and open the model before loading data: a corrupt file fails fast.
    runner = converters.open_runner(model, runtime=args.runtime, num_threads=args.threads)
    from bnnkit.data import load_dataset

    dataset_name = args.dataset or _recorded_dataset(model) or "mnist"
    dataset = load_dataset(dataset_name, args.data_dir)
    x, y = dataset.x_test, dataset.y_test
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    result = converters.evaluate_tflite(runner, dataset.normalize(x), y)
    result.update(model=str(model), dataset=dataset_name)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        options = ", ".join(f"{k}={v}" for k, v in result["options"].items())
        print(
            f"{model}: top-1 accuracy {result['accuracy']:.2%} on {result['n']} "
            f"{dataset_name} test images ({result['runtime']} runtime, {options}; "
            f"{result['ms_per_image']:.2f} ms/image)"
        )
    return 0
