"""Write the golden vectors the Java core is tested against (android_demo/core/src/test/resources/golden).

    .venv/bin/python android_demo/tools/make_golden.py [--out DIR] [--samples DIR]

For a few sample images of ``tests/data/samples`` (MNIST, Fashion-MNIST, CIFAR-10 PNGs
and one ImageNet JPEG) it writes, with bnnkit's Python pipeline (``bnnkit.imaging``) as the
reference:

* ``<image>.argb.gz``: the decoded pixels, as Android's ``Bitmap.getPixels`` would give them
  (big-endian int32 width, height, then ARGB ints, alpha 255, grey images as R=G=B). Java reads
  these instead of decoding the files itself, because JPEG decoders differ between libraries.
* ``<image>.<spec>.f32.gz``: the input tensor ``to_input_tensor`` gives for each metadata
  ``input`` in ``specs.json`` (big-endian float32, NHWC order).
* ``manifest.json``: the cases, the output scores of the app's demo model
  (``app/src/main/assets/bundle``) on the MNIST/Fashion-MNIST tensors with Python's top-3,
  a logits case for the softmax path, and what Python's ``tflite`` package reads from each
  golden ``.tflite`` (custom ops, input/output shapes and types).
* ``lce_tiny.tflite``: a tiny BNN converted with LCE (has ``Lce*`` custom ops), for the
  flavor check; written only when missing (its bytes depend on the LCE version) unless
  ``--rebuild-lce-model``.

``tests/android_demo/test_android_golden.py`` regenerates all this into a temporary folder and compares it
with the committed files, so the golden vectors cannot silently drift from ``bnnkit.imaging``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bnnkit.imaging import load_image, to_input_tensor, to_pixels, top_k  # noqa: E402

GOLDEN = ROOT / "android_demo" / "core" / "src" / "test" / "resources" / "golden"
SAMPLES = ROOT / "tests" / "data" / "samples"
DEMO_BUNDLE = ROOT / "android_demo" / "app" / "src" / "main" / "assets" / "bundle"

IMAGES = ["mnist_00_7.png", "mnist_01_2.png", "mnist_07_9.png",
          "fashionMNIST_00_9.png", "fashionMNIST_01_2.png",
          "cifar10_00_3.png", "cifar10_01_8.png", "imagenet_00_243.jpg"]

SPECS = {
    "grey28": {"shape": [1, 28, 28, 1], "dtype": "float32", "color_mode": "grayscale",
               "resize": "bilinear", "mean": [0.5], "std": [0.5]},
    "rgb32": {"shape": [1, 32, 32, 3], "dtype": "float32", "color_mode": "rgb",
              "resize": "bilinear", "mean": [0.4914, 0.4822, 0.4465],
              "std": [0.247, 0.2435, 0.2616]},
    "rgb24x40": {"shape": [1, 24, 40, 3], "dtype": "float32", "color_mode": "rgb",
                 "resize": "bilinear", "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
    # the ImageNet evaluation transform in miniature: shorter side 28, central 24 x 24
    "rgb24c28": {"shape": [1, 24, 24, 3], "dtype": "float32", "color_mode": "rgb",
                 "resize": "bilinear", "resize_shorter_side": 28, "mean": [0.5, 0.5, 0.5],
                 "std": [0.5, 0.5, 0.5]},
}


def _write_gz(path: Path, payload: bytes) -> None:
    # mtime=0 and no file name: the same content always gives the same bytes
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                mtime=0) as out:
        out.write(payload)


def argb_pixels(path: Path) -> np.ndarray:
    """Decoded pixels as packed ARGB uint32 [H, W] (what Android's Bitmap gives)."""
    rgb = to_pixels(load_image(path), "rgb").astype(np.uint32)
    return (0xFF << 24) | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def read_tflite_info(path: Path) -> dict:
    """Op codes and I/O tensors of a .tflite, read with the ``tflite`` package."""
    import tflite

    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    custom = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == tflite.BuiltinOperator.CUSTOM:
            custom.append(code.CustomCode().decode())
    graph = model.Subgraphs(0)
    names = {v: k.lower() for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}

    def tensor(index):
        t = graph.Tensors(index)
        return [int(d) for d in t.ShapeAsNumpy()], names[t.Type()]

    in_shape, in_type = tensor(graph.Inputs(0))
    out_shape, out_type = tensor(graph.Outputs(0))
    return {"custom_ops": custom, "input_shape": in_shape, "input_type": in_type,
            "output_shape": out_shape, "output_type": out_type}


def build_lce_model(path: Path) -> None:
    import bnnkit  # noqa: F401  (Keras-2 environment before TensorFlow)
    import larq as lq
    import tensorflow as tf
    from larq_compute_engine import convert_keras_model

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((8, 8, 1))
    x = tf.keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    x = lq.layers.QuantConv2D(8, 3, padding="same", pad_values=1.0, use_bias=False,
                              input_quantizer="ste_sign", kernel_quantizer="ste_sign")(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.Flatten()(x)
    outputs = tf.keras.layers.Dense(3, activation="softmax")(x)
    path.write_bytes(convert_keras_model(tf.keras.Model(inputs, outputs)))


def demo_scores(tensors: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """The demo model's float32 output on each tensor (tf.lite.Interpreter)."""
    import bnnkit  # noqa: F401
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(DEMO_BUNDLE / "model.tflite"))
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scores = {}
    for name, x in tensors.items():
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        scores[name] = [float(v) for v in interpreter.get_tensor(out["index"])[0]]
    return scores


def make(out: Path, samples: Path, rebuild_lce_model: bool = False,
         lce_model_from: Path | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    (out / "specs.json").write_text(json.dumps(SPECS, indent=1) + "\n")
    cases, grey_tensors = [], {}
    for file_name in IMAGES:
        stem = Path(file_name).stem
        argb = argb_pixels(samples / file_name)
        height, width = argb.shape
        _write_gz(out / f"{stem}.argb.gz",
                  struct.pack(">ii", width, height) + argb.astype(">u4").tobytes())
        image = load_image(samples / file_name)
        for spec_name, spec in SPECS.items():
            tensor = to_input_tensor(image, spec)
            _write_gz(out / f"{stem}.{spec_name}.f32.gz", tensor.astype(">f4").tobytes())
            cases.append({"image": stem, "spec": spec_name,
                          "tensor": f"{stem}.{spec_name}.f32.gz"})
            if spec_name == "grey28" and not stem.startswith(("cifar", "imagenet")):
                grey_tensors[stem] = tensor

    rankings = []
    for stem, scores in demo_scores(grey_tensors).items():
        rankings.append({"name": f"demo:{stem}", "scores": scores, "activation": "softmax",
                         "top3": [[i, p] for i, p in top_k(scores, 3)]})
    logits = [1.5, -0.25, 3.0, 3.0, 0.125, -7.0]
    rankings.append({"name": "logits", "scores": logits, "activation": "linear",
                     "top3": [[i, p] for i, p in top_k(logits, 3, activation="linear")]})

    lce_path = out / "lce_tiny.tflite"
    if lce_model_from is not None and not lce_path.exists():
        lce_path.write_bytes(lce_model_from.read_bytes())
    if rebuild_lce_model or not lce_path.exists():
        build_lce_model(lce_path)
    models = {"lce_tiny.tflite": read_tflite_info(lce_path),
              "demo": read_tflite_info(DEMO_BUNDLE / "model.tflite")}
    manifest = {"cases": cases, "rankings": rankings, "models": models}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(GOLDEN))
    parser.add_argument("--samples", default=str(SAMPLES))
    parser.add_argument("--rebuild-lce-model", action="store_true")
    args = parser.parse_args(argv)
    manifest = make(Path(args.out), Path(args.samples), args.rebuild_lce_model)
    print(f"wrote {len(manifest['cases'])} tensor cases, {len(manifest['rankings'])} rankings "
          f"to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
