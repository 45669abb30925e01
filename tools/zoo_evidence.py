"""Why random-init larq-zoo XNORNet and BinaryAlexNet disagree with their ``.tflite``.

    PYTHONPATH=. python tools/zoo_evidence.py [results/zoo_explain.json]

Needs larq-zoo (``pip install --no-deps -r requirements-zoo.txt``). For each model (random
init, seed 0, 4 random 224x224 images): ``converters.explain.explain_model`` up to one layer
after the first divergence, then, at the pre-sign layer feeding the first divergent layer,
where the sign flips are and what values they have on each side: exact zeros in Keras or in
the ``.tflite``, the largest ``|value|`` at a flip, and how many flips sit on the border
pixels of the feature map (where LCE applies its "same" zero-padding correction).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import bnnkit  # noqa: F401  (Keras 2 before TensorFlow)

MODELS = ("XNORNet", "BinaryAlexNet")
IMAGES = 4


def build(name: str):
    import larq_zoo as lqz
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    module = lqz.sota if hasattr(lqz.sota, name) else lqz.literature
    return getattr(module, name)(weights=None, input_shape=(224, 224, 3))


def flips_at(model, layer_name: str, x) -> dict:
    """Where Keras and the ``.tflite`` give pre-sign values of different signs."""
    import tensorflow as tf

    from converters.convert import convert_keras_model
    from converters.runtime import open_runner

    sub = tf.keras.Model(model.inputs, model.get_layer(layer_name).output)
    keras = np.asarray(sub.predict(x, verbose=0))
    tflite = open_runner(convert_keras_model(sub, allow_float=True), trial=False).predict(x)
    flips = (keras >= 0) != (tflite >= 0)
    where = np.argwhere(flips)
    height, width = keras.shape[1:3]
    border = ((where[:, 1] == 0) | (where[:, 1] == height - 1) | (where[:, 2] == 0)
              | (where[:, 2] == width - 1))
    return {"layer": layer_name, "shape": list(keras.shape), "sign_flips": int(flips.sum()),
            "flips_on_border_pixels": int(border.sum()),
            "keras_exact_zeros": int(np.sum(keras == 0)),
            "tflite_exact_zeros": int(np.sum(tflite == 0)),
            "flips_where_keras_is_exactly_0": int(np.sum(flips & (keras == 0))),
            "flips_where_tflite_is_exactly_0": int(np.sum(flips & (tflite == 0))),
            "max_abs_keras_at_flips": float(np.abs(keras[flips]).max()) if flips.any() else 0.0,
            "max_abs_tflite_at_flips": float(np.abs(tflite[flips]).max()) if flips.any() else 0.0}


def evidence(name: str) -> dict:
    from converters.convert import convert_submodel
    from converters.explain import explain_model

    model = build(name)
    x = np.random.default_rng(0).uniform(-1, 1, (IMAGES, 224, 224, 3)).astype(np.float32)
    result = explain_model(model, x, convert=convert_submodel)
    result["data"] = "random images"
    rows = result["layers"]
    first = next(i for i, row in enumerate(rows)
                 if row["layer"] == (result["first_divergence"] or {}).get("layer"))
    pre_sign = [row["layer"] for row in rows[:first] if "pre_sign" in row]
    return {"explain": result, "flips": flips_at(model, pre_sign[-1], x) if pre_sign else None}


def main(out: str = "results/zoo_explain.json") -> None:
    results = {name: evidence(name) for name in MODELS}
    Path(out).write_text(json.dumps(results, indent=1) + "\n")
    for name, result in results.items():
        print(name, result["explain"]["first_divergence"]["verdict"])
        print("  ", result["flips"])


if __name__ == "__main__":
    main(*sys.argv[1:2])
