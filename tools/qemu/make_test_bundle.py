"""Make a small bundle to check the Raspberry Pi runner against the x86 host.

    .venv/bin/python tools/qemu/make_test_bundle.py OUT_FOLDER [--dataset mnist]
        [--method float] [--target litert] [--data-dir ../shared/datasets] [--train 2000]
        [--epochs 1] [--width 0.25]

A LeNet of one method (``bnnkit.models.build_model("lenet", method)``: ``float`` by
default; ``bnn``, ``xnor``, ``horq``, ``bireal``... for binary kernels), trained briefly on
real images so that its outputs are not uniform, converted with
``converters.convert_model(..., target=...)`` (``litert``: stock builtin ops, int8 weights;
``lce``/``int8``: LCE's binary kernels) and written with ``converters.bundle.write_bundle``
(docs/bundle-format.md).
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


def train_lenet(dataset, *, method: str = "float", train: int, epochs: int, width: float,
                seed: int = 0):
    import tensorflow as tf

    from bnnkit.models import build_model

    tf.keras.utils.set_random_seed(seed)
    data = dataset.subset(train=train, test=100)
    model = build_model("lenet", method, input_shape=data.input_shape,
                        num_classes=data.num_classes, width=width)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.normalize(data.x_train), data.y_train, batch_size=64, epochs=epochs,
              verbose=0)
    return model


def bundle_metadata(dataset, method: str = "float", target: str = "litert") -> dict:
    from converters.targets import TARGETS

    input_shape, classes = dataset.input_shape, dataset.classes
    channels = int(input_shape[-1])
    return {
        "format_version": 1,
        "name": f"{dataset.name}-{method}-{target}-test",
        "method": method,
        "target": target,
        "runtime": TARGETS.get(target).runtime,
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


def write_test_bundle(model, out: Path, dataset, *, method: str = "float",
                      target: str = "litert", allow_disagreement: bool = False) -> Path:
    """Convert ``model`` for ``target`` and write the bundle folder ``out`` (a conversion that
    disagrees with ``model`` is refused unless ``allow_disagreement``)."""
    import tempfile

    from converters import convert_model
    from converters.bundle import write_bundle

    calibration = dataset.subset(train=0, test=64)
    with tempfile.TemporaryDirectory() as work:
        report = convert_model(model, work, target=target, overwrite=True,
                               calibration_x=calibration.normalize(calibration.x_test),
                               calibration_y=calibration.y_test, compare_float=False,
                               allow_disagreement=allow_disagreement)
        return write_bundle(out, report["model_path"], classes=dataset.classes,
                            metadata=bundle_metadata(dataset, method, target), overwrite=True)


def lce_only_flatbuffer(ending: str = "dequantize") -> bytes:
    """A model made only of Lce ops, for bit-exact checks of the LCE-kernel delegate.

    LceQuantize -> LceBconv2d (40 input channels, "same" with one-padding, bitpacked output)
    -> LceBMaxPool2d, then for ``ending="dequantize"``: LceBconv2d -> LceBconv2d (stride 2,
    bitpacked) -> LceDequantize; for ``"float"``: LceBconv2d with float output and zero
    padding (LCE's padding correction). Random weights (seed 0).
    """
    import larq as lq
    import tensorflow as tf

    from converters.targets import convert_lce

    tf.keras.utils.set_random_seed(0)
    binary = dict(kernel_quantizer="ste_sign", input_quantizer="ste_sign", use_bias=False)
    x = inputs = tf.keras.Input((12, 12, 40))
    x = lq.layers.QuantConv2D(64, 3, padding="same", pad_values=1.0, **binary)(x)
    x = tf.keras.layers.MaxPool2D(2)(x)
    if ending == "dequantize":
        x = lq.layers.QuantConv2D(96, 3, padding="same", pad_values=1.0, **binary)(x)
        x = lq.layers.QuantConv2D(70, 3, strides=2, **binary)(x)
        x = lq.quantizers.SteSign()(x)
    else:
        x = lq.layers.QuantConv2D(70, 3, padding="same", pad_values=0.0, **binary)(x)
    return convert_lce(tf.keras.Model(inputs, x))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--method", default="float")
    parser.add_argument("--target", default="litert")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--width", type=float, default=0.25)
    args = parser.parse_args(argv)
    from bnnkit.data import load_dataset

    dataset = load_dataset(args.dataset, args.data_dir)
    model = train_lenet(dataset, method=args.method, train=args.train, epochs=args.epochs,
                        width=args.width)
    print(write_test_bundle(model, args.out, dataset, method=args.method, target=args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
