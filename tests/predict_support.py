"""An independent reference for what a bundle predicts on an image (not a test module).

Grayscale bundles only (the MNIST test bundle): Pillow's own ``L`` conversion and ``BILINEAR``
resize, ``x = (p / 255 - 0.5) / 0.5``, and TensorFlow's ``tf.lite.Interpreter``, none of
which is the code under test (``bnnkit.imaging``, ``converters.predict``, the runners).
Pillow's resize rounds to 8 bits, so after a resize the input differs by up to 0.006.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def reference_input(image_path: Path, size: int = 28) -> np.ndarray:
    grey = Image.open(image_path)
    grey = (grey.convert("RGB") if grey.mode == "CMYK" else grey).convert("L")
    if grey.size != (size, size):
        grey = grey.resize((size, size), Image.BILINEAR)
    pixels = np.asarray(grey, np.float32)
    return ((pixels / 255.0 - 0.5) / 0.5)[None, ..., None]


def reference_probabilities(model_path: Path, image_path: Path) -> np.ndarray:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(model_path))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], reference_input(image_path))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]


def ranked_to_vector(top_k: list[dict], classes: int = 10) -> np.ndarray:
    """A ``top_k`` list of every class (``--top-k`` >= classes) as a probability vector."""
    vector = np.full(classes, np.nan)
    for entry in top_k:
        vector[entry["index"]] = entry["probability"]
    assert not np.isnan(vector).any(), "every class must be ranked"
    return vector
