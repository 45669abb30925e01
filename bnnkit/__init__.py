"""bnnkit: binary neural networks from the papers to phones and Raspberry Pis.

Importing bnnkit first makes TensorFlow use Keras 2 (``TF_USE_LEGACY_KERAS=1``), which
Larq and Larq Compute Engine need; see :mod:`bnnkit._tfenv`.

The training side lives here (quantizers, layers, models, data, training, CLI); the
deployment side is the separate ``converters`` package, which bnnkit's training code
never imports.
"""

from bnnkit._tfenv import ensure_legacy_keras as _ensure_legacy_keras

_ensure_legacy_keras()

from bnnkit.errors import BnnkitError  # noqa: E402

__version__ = "0.1.0"

__all__ = ["BnnkitError", "__version__"]
