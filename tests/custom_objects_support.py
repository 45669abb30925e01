"""A third-party module of custom objects, and models saved with it in another process.

``third_party_models(folder)`` writes ``my_objects.py`` (a registered Keras layer ``Scale``
and an unregistered Larq quantizer function ``half_sign``) into ``folder``, then saves a model
using both as ``model.keras`` and ``model.h5`` from a fresh Python process, with its outputs on
fixed inputs in ``outputs.npy``: the loading side never ran ``my_objects``' code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

MODULE = '''
import larq as lq
import tensorflow as tf


@tf.keras.utils.register_keras_serializable("my_objects")
class Scale(tf.keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@lq.utils.set_precision(1)
def half_sign(x):
    return 0.5 * lq.quantizers.ste_sign(x)
'''

SAVE = '''
import sys
import numpy as np
import bnnkit
import larq as lq
import tensorflow as tf
import my_objects

tf.keras.utils.set_random_seed(0)
inputs = tf.keras.Input((8, 8, 32))
x = lq.layers.QuantConv2D(32, 3, input_quantizer="ste_sign", kernel_quantizer=my_objects.half_sign,
                          kernel_constraint="weight_clip", padding="same", pad_values=1.0,
                          use_bias=False)(inputs)
x = my_objects.Scale(3.0)(x)
x = tf.keras.layers.GlobalAveragePooling2D()(x)
model = tf.keras.Model(inputs, tf.keras.layers.Dense(4, activation="softmax")(x))
folder = sys.argv[1]
model.save(folder + "/model.keras")
model.save(folder + "/model.h5")
np.save(folder + "/inputs.npy", X := np.random.default_rng(1).uniform(-1, 1, (4, 8, 8, 32)).astype("float32"))
np.save(folder + "/outputs.npy", model(X, training=False).numpy())
'''


def subprocess_env(*paths) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *map(str, paths)]),
            "TF_CPP_MIN_LOG_LEVEL": "3"}


def third_party_models(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my_objects.py").write_text(textwrap.dedent(MODULE))
    result = subprocess.run([sys.executable, "-c", SAVE, str(folder)], capture_output=True,
                            text=True, env=subprocess_env(folder), cwd=folder, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return folder
