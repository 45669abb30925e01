"""Train the small MNIST model the app ships with and write it as a ``litert`` bundle.

    .venv/bin/python android_demo/tools/make_demo_model.py [--epochs 1] [--out DIR]

The model is bnnkit's LeNet-5-style network (``--method bnn`` by default, half width),
trained on MNIST, converted to stock TFLite builtin ops (``target: litert``, ``runtime:
tflite``) with ``converters.convert_model(..., target="litert")`` and written with
``converters.write_bundle``, so the ``litert`` flavor of the app runs it with no extra
download. Without ``converters`` (``--method float`` only) the float model is converted with
``tf.lite.TFLiteConverter`` directly.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import bnnkit  # noqa: F401  (first: sets the Keras-2 environment)
import numpy as np
import tensorflow as tf

from bnnkit.data import load_dataset
from bnnkit.models import build_model

ROOT = Path(__file__).resolve().parents[2]


def _convert(model, out_dir: Path, x, y) -> tuple[str, str]:
    try:
        from converters import convert_model  # type: ignore
    except ImportError:
        convert_model = None
    model_path = out_dir / "model.tflite"
    if convert_model is not None:
        with tempfile.TemporaryDirectory() as work:
            convert_model(model, work, target="litert", calibration_x=x, calibration_y=y,
                          overwrite=True, compare_float=False)
            model_path.write_bytes((Path(work) / "model.tflite").read_bytes())
        return "converters.convert_model(target='litert')", "litert"
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    model_path.write_bytes(converter.convert())
    return "tf.lite.TFLiteConverter (builtin ops only)", "litert"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--method", default="bnn")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--out", default=str(ROOT / "android_demo" / "app" / "src" / "main"
                                             / "assets" / "bundle"))
    args = parser.parse_args(argv)

    tf.keras.utils.set_random_seed(0)
    data = load_dataset("mnist", data_dir=args.data_dir)
    model = build_model("lenet", args.method, input_shape=data.input_shape,
                        num_classes=data.num_classes, width=0.5)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.normalize(data.x_train), data.y_train, batch_size=128,
              epochs=args.epochs, verbose=2)
    _, keras_acc = model.evaluate(data.normalize(data.x_test), data.y_test, verbose=0)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    how, target = _convert(model, out, data.normalize(data.x_test[:256]), data.y_test[:256])

    interpreter = tf.lite.Interpreter(model_path=str(out / "model.tflite"))
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    outp = interpreter.get_output_details()[0]
    x_test = data.normalize(data.x_test)
    correct = 0
    for image, label in zip(x_test, data.y_test):
        interpreter.set_tensor(inp["index"], image[None].astype(np.float32))
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_tensor(outp["index"])[0]) == label)
    tflite_acc = correct / len(x_test)

    (out / "labels.txt").write_text("".join(f"{c}\n" for c in data.classes))
    metadata = {
        "format_version": 1,
        "name": f"mnist-lenet-{args.method}",
        "method": args.method,
        "target": target,
        "runtime": "tflite",
        "dataset": "mnist",
        "model_file": "model.tflite",
        "labels_file": "labels.txt",
        "input": {"shape": [1, 28, 28, 1], "dtype": "float32", "color_mode": "grayscale",
                  "resize": "bilinear", "mean": [0.5], "std": [0.5]},
        "output": {"num_classes": data.num_classes, "activation": "softmax"},
        "classes": [str(c) for c in data.classes],
        "bnnkit_version": bnnkit.__version__,
        "test_accuracy": round(tflite_acc, 4),
    }
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    print(f"converted with {how}; keras test accuracy {keras_acc:.4f}, "
          f"tflite test accuracy {tflite_acc:.4f} on {len(x_test)} images; "
          f"{(out / 'model.tflite').stat().st_size} bytes -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
