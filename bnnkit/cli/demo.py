"""``bnnkit demo``: train a BNN on MNIST, convert it with LCE, evaluate the ``.tflite``.

The whole path a user takes, on a small budget: ``model.fit`` -> LCE converter -> LCE
interpreter, then a summary of accuracy, agreement, binary kernels and size. Data comes
from the usual search (``--data-dir``, ``$BNNKIT_DATA``, the Keras cache, a download); on a
machine with none of these, the demo falls back to the small real MNIST subset shipped
with bnnkit and says so.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

DEMO_EPOCHS = 4


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="train, convert and evaluate a BNN on MNIST", description=__doc__
    )
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
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    import converters
    from bnnkit.data import load_dataset
    from bnnkit.serialization import atomic_write_json
    from bnnkit.training import TrainConfig, train

    started = time.perf_counter()
    dataset = load_dataset("mnist", args.data_dir, allow_subset=True)
    if dataset.source.startswith("bnnkit's bundled"):
        print(
            "No MNIST files found and no download possible: using the bundled real subset "
            f"({len(dataset.x_train)} train / {len(dataset.x_test)} test images)."
        )
    if args.train_limit or args.test_limit:
        dataset = dataset.subset(args.train_limit, args.test_limit)
    run_dir = Path(args.runs_dir) / args.name
    config = TrainConfig(
        method="bnn",
        dataset="mnist",
        epochs=args.epochs,
        data_dir=args.data_dir,
        allow_subset=True,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
    )
    metrics = train(config, run_dir, overwrite=True, dataset=dataset)

    from bnnkit.serialization import load_model

    model = load_model(run_dir / "model.keras")
    x_test = dataset.normalize(dataset.x_test)
    report = converters.convert_model(
        model,
        run_dir / "lce",
        target="lce",
        calibration_x=x_test[:1000],
        calibration_y=dataset.y_test[:1000],
        overwrite=True,
    )
    tflite_path = run_dir / "lce" / "model.tflite"
    evaluation = converters.evaluate_tflite(tflite_path, x_test, dataset.y_test)
    agreement = converters.compare_keras_tflite(model, tflite_path, x_test)
    summary = {
        "dataset": f"mnist [{dataset.source}]",
        "train_images": len(dataset.x_train),
        "test_images": len(dataset.x_test),
        "keras_test_accuracy": metrics["test_accuracy"],
        "tflite_test_accuracy": evaluation["accuracy"],
        "keras_tflite_top1_agreement": agreement["top1_agreement"],
        "keras_tflite_max_abs_diff": agreement["max_abs_diff"],
        "tflite_bytes": report["size"]["tflite_bytes"],
        "float_tflite_bytes": report["size"].get("float_tflite_bytes"),
        "size_ratio_vs_float": report["size"].get("ratio_vs_float"),
        "binary_layers": report.get("binary_layers"),
        "op_histogram": report["op_histogram"],
        "binary_mac_fraction": report["macs"]["binary_fraction"],
        "runtime": evaluation["runtime"],
        "runtime_options": evaluation["options"],
        "seconds": round(time.perf_counter() - started, 1),
        "run_dir": str(run_dir),
    }
    atomic_write_json(run_dir / "demo_summary.json", summary)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    ratio = summary["size_ratio_vs_float"]
    print()
    print("bnnkit demo summary")
    print(
        f"  data                 {summary['dataset']}, {summary['train_images']} train / "
        f"{summary['test_images']} test images"
    )
    print(f"  Keras test accuracy  {summary['keras_test_accuracy']:.4f}")
    print(
        f"  TFLite test accuracy {summary['tflite_test_accuracy']:.4f} "
        f"({summary['runtime']}, {summary['runtime_options']})"
    )
    print(
        f"  Keras vs TFLite      top-1 agreement {summary['keras_tflite_top1_agreement']:.4f}, "
        f"max |diff| {summary['keras_tflite_max_abs_diff']:.2e}"
    )
    print(
        f"  binary kernels       {summary['op_histogram'].get('LceBconv2d', 0)} LceBconv2d, "
        f"{summary['binary_mac_fraction']:.1%} of MACs binary"
    )
    print(
        f"  size                 {summary['tflite_bytes']:,} bytes"
        + (
            f" ({ratio:.1f}x smaller than float: {summary['float_tflite_bytes']:,} bytes)"
            if ratio
            else ""
        )
    )
    print(
        f"  files                {run_dir}/model.keras, {tflite_path}, "
        f"{run_dir / 'lce' / 'conversion.json'}"
    )
    print(f"  time                 {summary['seconds']} s")
    return 0
