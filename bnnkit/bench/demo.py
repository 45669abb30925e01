"""The demo: train a BNN on MNIST, convert it with LCE, evaluate the ``.tflite``.

The whole path a user takes, on a small budget: ``model.fit`` -> LCE converter -> LCE
interpreter, then a summary of accuracy, agreement, binary kernels and size. Data comes
from the usual search (``data_dir``, ``$BNNKIT_DATA``, the Keras cache, a download); on a
machine with none of these, the demo falls back to the small real MNIST subset shipped
with bnnkit and says so.

    from bnnkit.bench.demo import format_summary, run_demo
    print(format_summary(run_demo(epochs=1)))

TensorFlow is imported when the demo runs, not with this module.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["DEMO_EPOCHS", "format_summary", "run_demo"]

DEMO_EPOCHS = 4


def run_demo(
    *,
    data_dir: str | None = None,
    epochs: int = DEMO_EPOCHS,
    runs_dir: str | os.PathLike = "runs",
    name: str = "demo",
    train_limit: int | None = None,
    test_limit: int | None = None,
    log: Callable[[str], object] = print,
) -> dict:
    """Train, convert and evaluate; write ``<runs_dir>/<name>/demo_summary.json``.

    # Returns
        The summary: data, accuracies, agreement, size, binary kernels, runtime, seconds.
    """
    from bnnkit.data import load_arrays
    from bnnkit.serialization import atomic_write_json, load_model
    from bnnkit.training import TrainConfig, train
    from converters import compare_keras_tflite, convert_model, evaluate_tflite

    started = time.perf_counter()
    dataset = load_arrays("mnist", data_dir, allow_subset=True)
    if dataset.source.startswith("bnnkit's bundled"):
        log(
            "No MNIST files found and no download possible: using the bundled real subset "
            f"({len(dataset.x_train)} train / {len(dataset.x_test)} test images)."
        )
    if train_limit or test_limit:
        dataset = dataset.subset(train_limit, test_limit)
    run_dir = Path(runs_dir) / name
    config = TrainConfig(
        method="bnn",
        dataset="mnist",
        epochs=epochs,
        data_dir=data_dir,
        allow_subset=True,
        train_limit=train_limit,
        test_limit=test_limit,
    )
    metrics = train(config, run_dir, overwrite=True, dataset=dataset)

    model = load_model(run_dir / "model.keras")
    x_test = dataset.normalize(dataset.x_test)
    report = convert_model(
        model,
        run_dir / "lce",
        target="lce",
        calibration_x=x_test[:1000],
        calibration_y=dataset.y_test[:1000],
        overwrite=True,
    )
    tflite_path = run_dir / "lce" / "model.tflite"
    evaluation = evaluate_tflite(tflite_path, x_test, dataset.y_test)
    agreement = compare_keras_tflite(model, tflite_path, x_test)
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
    return summary


def format_summary(summary: dict) -> str:
    """The demo summary as the lines ``bnnkit demo`` prints."""
    run_dir = Path(summary["run_dir"])
    ratio = summary["size_ratio_vs_float"]
    lines = ["", "bnnkit demo summary"]
    lines.append(
        f"  data                 {summary['dataset']}, {summary['train_images']} train / "
        f"{summary['test_images']} test images"
    )
    lines.append(f"  Keras test accuracy  {summary['keras_test_accuracy']:.4f}")
    lines.append(
        f"  TFLite test accuracy {summary['tflite_test_accuracy']:.4f} "
        f"({summary['runtime']}, {summary['runtime_options']})"
    )
    lines.append(
        f"  Keras vs TFLite      top-1 agreement {summary['keras_tflite_top1_agreement']:.4f}, "
        f"max |diff| {summary['keras_tflite_max_abs_diff']:.2e}"
    )
    lines.append(
        f"  binary kernels       {summary['op_histogram'].get('LceBconv2d', 0)} LceBconv2d, "
        f"{summary['binary_mac_fraction']:.1%} of MACs binary"
    )
    lines.append(
        f"  size                 {summary['tflite_bytes']:,} bytes"
        + (
            f" ({ratio:.1f}x smaller than float: {summary['float_tflite_bytes']:,} bytes)"
            if ratio
            else ""
        )
    )
    lines.append(
        f"  files                {run_dir}/model.keras, {run_dir / 'lce' / 'model.tflite'}, "
        f"{run_dir / 'lce' / 'conversion.json'}"
    )
    lines.append(f"  time                 {summary['seconds']} s")
    return "\n".join(lines)
