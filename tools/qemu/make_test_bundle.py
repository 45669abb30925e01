"""Make a small ``litert``-target bundle to check the Raspberry Pi runner against the x86 host.

    .venv/bin/python tools/qemu/make_test_bundle.py OUT_FOLDER [--dataset mnist]
        [--data-dir ../shared/datasets] [--train 2000] [--epochs 1] [--width 0.25]

A float LeNet (``bnnkit.models.build_model("lenet", "float")``), trained briefly on real
images so that its outputs are not uniform, converted for the ``litert`` target (stock TFLite
builtin ops only) and written as a bundle (docs/bundle-format.md). It uses
``converters.convert_model(..., target="litert")`` (stock builtin ops, int8 weights) and written
with ``converters.bundle.write_bundle`` (docs/bundle-format.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bnnkit  # noqa: E402  (before TensorFlow: Keras 2)


def train_float_lenet(dataset, *, train: int, epochs: int, width: float, seed: int = 0):
    import tensorflow as tf

    from bnnkit.models import build_model

    tf.keras.utils.set_random_seed(seed)
    data = dataset.subset(train=train, test=100)
    model = build_model("lenet", "float", input_shape=data.input_shape,
                        num_classes=data.num_classes, width=width)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.normalize(data.x_train), data.y_train, batch_size=64, epochs=epochs,
              verbose=0)
    return model


def _metadata(dataset) -> dict:
    input_shape, classes = dataset.input_shape, dataset.classes
    channels = int(input_shape[-1])
    return {
        "format_version": 1,
        "name": f"{dataset.name}-float-litert-test",
        "method": "float",
        "target": "litert",
        "runtime": "tflite",
        "dataset": dataset.name,
        "model_file": "model.tflite",
        "labels_file": "labels.txt",
        "input": {"shape": [1, *map(int, input_shape)], "dtype": "float32",
                  "color_mode": "grayscale" if channels == 1 else "rgb",
                  "resize": "bilinear", "mean": [float(m) for m in dataset.mean],
                  "std": [float(s) for s in dataset.std]},
        "output": {"num_classes": len(classes), "activation": "softmax"},
        "classes": list(classes),
        "bnnkit_version": bnnkit.__version__,
    }


def write_litert_bundle(model, out: Path, dataset) -> Path:
    """Convert ``model`` for the ``litert`` target and write the bundle folder ``out``."""
    import tempfile

    from converters import convert_model
    from converters.bundle import write_bundle

    calibration = dataset.subset(train=0, test=64)
    with tempfile.TemporaryDirectory() as work:
        report = convert_model(model, work, target="litert", overwrite=True,
                               calibration_x=calibration.normalize(calibration.x_test),
                               calibration_y=calibration.y_test, compare_float=False)
        return write_bundle(out, report["model_path"], classes=dataset.classes,
                            metadata=_metadata(dataset), overwrite=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--width", type=float, default=0.25)
    args = parser.parse_args(argv)
    from bnnkit.data import load_dataset

    dataset = load_dataset(args.dataset, args.data_dir)
    model = train_float_lenet(dataset, train=args.train, epochs=args.epochs, width=args.width)
    print(write_litert_bundle(model, args.out, dataset))
    return 0


if __name__ == "__main__":
    sys.exit(main())
