"""``bnnkit convert``: a trained Keras model -> a verified ``.tflite`` + ``conversion.json``.

    bnnkit convert runs/mnist-bnn                      # -> runs/mnist-bnn/lce/
    bnnkit convert runs/mnist-bnn --target litert -o out/litert
    bnnkit convert model.keras --target int8 --qat-epochs 1 --dataset mnist

The input is a run folder (``model.keras`` + ``config.json`` naming the dataset) or a
``.keras``/``.h5``/SavedModel path. Calibration data (agreement check, int8 ranges) is the
first 1000 test images of the run's dataset; without a dataset, random images are used and
the report says so. Prints a short table; ``--json`` prints the whole report.
"""

from __future__ import annotations

import json
from pathlib import Path

from converters.targets import TARGETS

CALIBRATION_IMAGES = 1000
QAT_IMAGES = 10000


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert a trained model to a verified .tflite",
        description="Convert a run folder or a Keras model file to .tflite for a target "
        f"({'; '.join(f'{t.name}: {t.description}' for t in TARGETS)}), check it "
        "against the Keras model and write model.tflite and conversion.json.",
    )
    parser.add_argument(
        "model",
        metavar="RUN_DIR_OR_MODEL_FILE",
        help="a runs/<name>/ folder, a .keras/.h5 file or a SavedModel folder",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output folder (default: <run folder>/<target>, or "
        "<model file stem>-<target> beside the model file)",
    )
    parser.add_argument("--target", choices=TARGETS.names(), default=TARGETS.names()[0])
    parser.add_argument(
        "--allow-float",
        action="store_true",
        help="accept binary layers that stay float (listed in the report)",
    )
    parser.add_argument(
        "--dataset", help="dataset for calibration data (default: the run's config.json)"
    )
    parser.add_argument("--data-dir", help="look for the dataset here first")
    parser.add_argument(
        "--qat-epochs",
        type=int,
        default=0,
        metavar="N",
        help="int8 target: epochs of QAT fine-tuning on training images "
        "(default 0: calibrate the int8 ranges only)",
    )
    parser.add_argument(
        "--bundle",
        metavar="DIR",
        help="also write a deployment bundle (model.tflite, labels.txt, metadata.json) to DIR",
    )
    add_custom_objects_argument(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def module_list(text: str) -> list[str]:
    """``"a.b,c"`` -> ``["a.b", "c"]`` (the value of ``--custom-objects``)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def add_custom_objects_argument(parser) -> None:
    parser.add_argument(
        "--custom-objects",
        metavar="MODULE[,MODULE]",
        type=module_list,
        default=[],
        help="import these Python modules before loading the model, so that the custom "
        "layers, quantizers and functions they define are known (larq_zoo's are known "
        "whenever larq-zoo is installed). Importing a module runs its code: name only "
        "modules you trust. The model file itself is still loaded in Keras' safe mode.",
    )


def _run_config(model_path: Path) -> dict:
    config = model_path / "config.json" if model_path.is_dir() else None
    if config is None or not config.is_file():
        return {}
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def default_output(model_path: Path, target: str) -> Path:
    if model_path.is_dir():
        return model_path / target
    return model_path.with_name(f"{model_path.stem}-{target}")


def run(args) -> int:
    from bnnkit.errors import InvalidInputError, OutputExistsError

    model_path = Path(args.model)
    output = Path(args.output) if args.output else default_output(model_path, args.target)
    for existing in (output / "model.tflite", output / "conversion.json"):
        if existing.exists() and not args.overwrite:
            raise OutputExistsError(f"{existing} already exists; add --overwrite to replace it")
    if args.qat_epochs < 0:
        raise InvalidInputError("--qat-epochs must be >= 0")
    if args.qat_epochs and not TARGETS.get(args.target).fine_tunes:
        fine_tuning = " or ".join(t.name for t in TARGETS if t.fine_tunes)
        raise InvalidInputError(f"--qat-epochs applies to --target {fine_tuning} only")
    config = _run_config(model_path)

    from bnnkit.serialization import load_model

    # InvalidModelFileError for anything that is not a model or needs unknown custom objects
    model = load_model(model_path, custom_object_modules=args.custom_objects)
    dataset_name = args.dataset or config.get("dataset")
    calibration_x = calibration_y = qat_data = dataset = None
    if dataset_name:
        from bnnkit.data import load_dataset

        dataset = load_dataset(
            dataset_name,
            args.data_dir or config.get("data_dir"),
            allow_subset=bool(config.get("allow_subset", False)),
        )
        calibration_x = dataset.normalize(dataset.x_test[:CALIBRATION_IMAGES])
        calibration_y = dataset.y_test[:CALIBRATION_IMAGES]
        if args.qat_epochs:
            qat_data = (
                dataset.normalize(dataset.x_train[:QAT_IMAGES]),
                dataset.y_train[:QAT_IMAGES],
            )
    elif args.qat_epochs:
        raise InvalidInputError("--qat-epochs needs training data: pass --dataset")

    import converters

    metadata = {
        "source_model": str(model_path),
        "method": config.get("method"),
        "dataset": dataset_name,
    }
    report = converters.convert_model(
        model,
        output,
        args.target,
        calibration_x=calibration_x,
        calibration_y=calibration_y,
        allow_float=args.allow_float,
        overwrite=args.overwrite,
        qat_data=qat_data,
        qat_epochs=args.qat_epochs,
        metadata=metadata,
    )
    if args.bundle:
        classes = (
            dataset.classes
            if dataset is not None
            else [str(i) for i in range(int(model.output_shape[-1]))]
        )
        converters.write_bundle(
            args.bundle,
            report["model_path"],
            classes=classes,
            metadata={
                "name": model_path.name if model_path.is_dir() else model_path.stem,
                "method": config.get("method"),
                "dataset": dataset_name,
                "target": args.target,
            },
            overwrite=args.overwrite,
        )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(converters.format_table(report))
        print(
            f"wrote {output / 'model.tflite'} and {output / 'conversion.json'}"
            + (f"; bundle {args.bundle}" if args.bundle else "")
        )
    return 0
