"""Make TensorFlow use Keras 2 (tf-keras) before anything imports it.

Larq and Larq Compute Engine are written against Keras 2. From TensorFlow 2.16 on,
``tf.keras`` is Keras 3 unless ``TF_USE_LEGACY_KERAS=1`` is set *before* TensorFlow is
first imported: TensorFlow reads the variable once, in ``tensorflow/__init__.py``.
``import bnnkit`` therefore sets it, and refuses to go on when TensorFlow was already
imported with Keras 3, because the Larq layers would then silently mix two Keras versions.
"""

from __future__ import annotations

import os
import sys

from bnnkit.errors import EnvironmentMisconfiguredError

LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"
_TRUE_VALUES = ("true", "True", "1")


def ensure_legacy_keras() -> None:
    """Set ``TF_USE_LEGACY_KERAS=1`` or fail clearly if it is too late to do so."""
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is None:
        os.environ[LEGACY_KERAS_VARIABLE] = "1"
        return
    # TensorFlow < 2.16 has no such flag and always uses Keras 2.
    uses_legacy = getattr(tensorflow, "_tf_uses_legacy_keras", None)
    if uses_legacy is False:
        raise EnvironmentMisconfiguredError(
            "TensorFlow was imported before bnnkit, with Keras 3, which Larq and LCE do not "
            "support. Import bnnkit before tensorflow, or set the environment variable "
            f"{LEGACY_KERAS_VARIABLE}=1 before starting Python "
            f"(e.g. `export {LEGACY_KERAS_VARIABLE}=1`)."
        )
    os.environ[LEGACY_KERAS_VARIABLE] = "1"
