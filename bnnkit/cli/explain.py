"""``bnnkit explain``: where a converted model starts to disagree with Keras, layer by layer.

    bnnkit explain runs/mnist-bnn                    # the run's model, converted for --target
    bnnkit explain runs/mnist-bnn/lce/model.tflite   # the model conversion.json names
    bnnkit explain model.h5 --custom-objects my_objects --images 4
    bnnkit explain big.h5 --cuts quantizer_inputs     # only where values are rounded

Cuts the Keras model after each layer (``--cuts quantizer_inputs``: after the layers whose
output a quantizer rounds, and after the first ones that disagree), converts each cut for the
target and runs it on the same images as Keras (:func:`converters.explain.explain_model`).
Prints one line per layer and the first layer that diverges, with the op it became and
whether sign ties or a conversion fault explain it; writes everything to ``explain.json``.
Images: the first test images of the dataset (the run's, the conversion's or ``--dataset``),
else random ones (and it says so).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from bnnkit.cli.convert import add_custom_objects_argument
from converters.explain import CUTS
from converters.runs import run_config
from converters.targets import TARGETS

__all__ = ["register", "run"]

DEFAULT_IMAGES = 8
EXPLAIN_FILE = "explain.json"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="find the first layer where a .tflite disagrees with its Keras model",
        description="Compare a Keras model and its conversion layer by layer (each layer's "
        "sub-model converted and run on the same images) and report the first "
        "layer that diverges: the op it became, its differences, and the sign "
        "ties (pre-sign values at exactly 0) before it.",
    )
    parser.add_argument(
        "model",
        metavar="RUN_DIR|MODEL_FILE|MODEL.tflite",
        help="a runs/<name>/ folder, a .keras/.h5 file, or a .tflite (or its "
        "folder) written by bnnkit convert, whose conversion.json names "
        "the Keras model",
    )
    parser.add_argument(
        "--target",
        choices=TARGETS.names(),
        default=None,
        help="conversion target (default: the conversion's, else lce)",
    )
    parser.add_argument(
        "--dataset",
        help="dataset whose test images to use (default: the "
        "run's or the conversion's; none: random images)",
    )
    parser.add_argument("--data-dir", help="look for the dataset here first")
    parser.add_argument(
        "--images",
        type=int,
        default=DEFAULT_IMAGES,
        metavar="N",
        help=f"images to compare on (default {DEFAULT_IMAGES})",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="relative tolerance of an element (default: the target's, 1e-3 for lce)",
    )
    parser.add_argument(
        "--cuts",
        choices=CUTS,
        default=CUTS[0],
        help="every: cut after every layer (default); quantizer_inputs: cut only where "
        "values are rounded (the inputs of quantizers) and at the output, then layer by "
        "layer where a comparison fails: far fewer conversions on a large model",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="compare every layer instead of stopping one layer after the first divergence",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help=f"where to write the result (default: {EXPLAIN_FILE} beside the "
        ".tflite or in the run folder, <model>-explain.json beside a "
        "model file)",
    )
    add_custom_objects_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def _source(path: Path) -> tuple[Path, dict, Path]:
    """``(keras model path, settings, default output)`` for any accepted input."""
    from bnnkit.errors import InvalidModelFileError

    folder = path.parent if path.suffix == ".tflite" else path
    report_path = folder / "conversion.json"
    if path.suffix == ".tflite" or report_path.is_file():
        try:
            report = json.loads(report_path.read_text())
        except (OSError, ValueError):
            raise InvalidModelFileError(
                f"{report_path} is missing or unreadable: explain "
                "needs the conversion.json bnnkit convert wrote beside "
                "the .tflite, to find the Keras model"
            ) from None
        source = report.get("source_model")
        if not source:
            raise InvalidModelFileError(
                f"{report_path} names no source_model; run explain "
                "on the Keras model file or run folder instead"
            )
        source_path = Path(source)
        if not source_path.exists() and (folder / source).exists():
            source_path = folder / source
        settings = {"target": report.get("target"), "dataset": report.get("dataset")}
        return source_path, settings, folder / EXPLAIN_FILE
    config = run_config(path)
    settings = {key: config.get(key) for key in ("dataset", "data_dir", "image_size", "augment")}
    output = path / EXPLAIN_FILE if path.is_dir() else path.with_name(f"{path.stem}-explain.json")
    return path, settings, output


def _images(model, args, settings):
    import numpy as np

    from bnnkit.errors import InvalidInputError

    if args.images < 1:
        raise InvalidInputError("--images must be >= 1")
    dataset_name = args.dataset or settings.get("dataset")
    if dataset_name:
        from bnnkit.data import InputOptions, load_dataset

        dataset = load_dataset(
            dataset_name,
            args.data_dir,
            options=InputOptions.from_config(settings),
            recorded_dir=settings.get("data_dir"),
        )
        x, _ = dataset.arrays("test", args.images)
        return x, f"{dataset_name} test images"
    shape = tuple(int(d) for d in model.input_shape[1:])
    x = np.random.default_rng(0).uniform(-1, 1, (args.images, *shape)).astype(np.float32)
    return x, "random images (no dataset known)"


def run(args) -> int:
    from bnnkit.serialization import atomic_write_json, load_model

    source, settings, default_output = _source(Path(args.model))
    model = load_model(source, custom_object_modules=args.custom_objects)
    x, data = _images(model, args, settings)
    target = args.target or settings.get("target") or "lce"

    from converters.convert import convert_submodel
    from converters.explain import explain_model, format_explanation
    from converters.verify import Bounds

    bounds = Bounds.for_target(target)
    if args.tolerance is not None:
        bounds = dataclasses.replace(bounds, tolerance=args.tolerance)
    result = explain_model(
        model,
        x,
        convert=convert_submodel,
        target=target,
        bounds=bounds,
        stop_after=None if args.all else 1,
        cuts=args.cuts,
    )
    result["data"] = data
    result["source_model"] = str(source)
    output = Path(args.output) if args.output else default_output
    atomic_write_json(output, result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_explanation(result))
        print(f"compared on {result['images']} {data}; wrote {output}")
    return 0
