"""The ``litert-lce`` runtime: ai-edge-litert with bnnkit's LCE-kernel delegate.

    from converters import open_runner
    runner = open_runner("bundle/", runtime="litert-lce")     # or "auto" where LCE is missing
    runner.options    # {"num_threads": 1, "delegate": ".../libbnnkit_lce_delegate.so", ...}

The stock ``ai-edge-litert`` interpreter (wheels for x86_64 and Linux aarch64, no TensorFlow
import) runs the builtin ops, with XNNPACK for the float ones (its default delegate); the
delegate (``delegate/``, built by ``bnnkit build-delegate``, found by
:func:`converters.delegate.find_delegate`) runs ``LceQuantize``, ``LceBconv2d``,
``LceDequantize`` and ``LceBMaxPool2d`` with LCE's own kernels. So ``lce`` and ``int8``
models run where LCE's interpreter has no wheel, such as a Raspberry Pi.

The runtime is available when a delegate is built where
:func:`~converters.delegate.find_delegate` looks (``$BNNKIT_LCE_DELEGATE``, else the per-user
cache). Options (``open_runner(..., kernel_options=...)``): ``"delegate"``, the path of
another build of the ``.so`` to load instead; ``"xnnpack"``, False to run the float ops on
TFLite's builtin kernels instead of XNNPACK; any other key is passed to the delegate, e.g.
``{"LceBconv2d": "reference"}`` (``delegate/README.md``).

XNNPACK rounds some float ops differently from TFLite's builtin kernels (measured: up to
4e-7 on LeNet's float layers), so a float value within that of zero can binarize to the
other sign, and the outputs of that image then differ by more than rounding. With
``xnnpack=False`` the float ops match LCE's interpreter (which bnnkit runs without XNNPACK).

The interpreter runs one image per invoke, like LCE's runner: LCE's kernels keep state for
the first input shape (the delegate refuses a resize after the first invoke) and
``LceDequantize`` has no other batch size than the model's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bnnkit.errors import UnsupportedModelError
from converters.delegate import default_delegate_path, find_delegate
from converters.guard import trial_run
from converters.runtime import Runner

__all__ = ["LiteRtLceRunner", "load_lce_delegate"]


def _delegate_path(options: Mapping[str, Any] | None) -> Path:
    given = (options or {}).get("delegate")
    path = Path(given) if given else find_delegate()
    if path is None or not path.is_file():
        where = path if path is not None else default_delegate_path()
        raise UnsupportedModelError(
            f"the LCE-kernel delegate is not at {where}; build it with `bnnkit build-delegate` "
            "(or set $BNNKIT_LCE_DELEGATE to a built one)"
        )
    return path


def load_lce_delegate(path: str | Path | None = None, options: Mapping[str, str] | None = None):
    """ai-edge-litert's ``load_delegate`` of the LCE-kernel delegate (``None``: the built one).

    # Raises
        UnsupportedModelError: the delegate is missing, does not load on this system (e.g. a
            glibc older than it needs), or refuses ``options``; the message says which.
    """
    from ai_edge_litert.interpreter import load_delegate

    path = _delegate_path({"delegate": path} if path else None)
    try:
        return load_delegate(str(path), {k: str(v) for k, v in (options or {}).items()})
    except (ValueError, RuntimeError, OSError) as error:
        detail = " ".join(str(error).split())
        raise UnsupportedModelError(
            f"the LCE-kernel delegate {path} did not load: {detail}"
        ) from None


class LiteRtLceRunner(Runner):
    """ai-edge-litert + the LCE-kernel delegate (+ XNNPACK for float ops)."""

    requires = ("ai_edge_litert",)
    trial_runtime = "litert-lce"

    def _open(self, data: bytes, options: dict[str, Any]) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        path = _delegate_path(options)
        xnnpack = bool(options.pop("xnnpack", True))
        kernels = {k: v for k, v in options.items() if k != "delegate"}
        delegate = load_lce_delegate(path, kernels)
        self.options.update({"delegate": str(path), "xnnpack": xnnpack, **kernels})
        resolver = (
            OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
        self._interpreter = Interpreter(
            model_content=data,
            num_threads=self.num_threads,
            experimental_delegates=[delegate],
            experimental_op_resolver_type=resolver,
        )
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = super().unavailable_reason()
        if reason is None and find_delegate() is None:
            reason = (
                f"the LCE-kernel delegate is not built (looked for "
                f"{default_delegate_path()}); run `bnnkit build-delegate`"
            )
        return reason

    @classmethod
    def trial(cls, data: bytes, name: str, options: Mapping[str, Any] | None = None) -> None:
        trial_run(data, name, runtime=cls.trial_runtime, delegate=str(_delegate_path(options)))

    def _predict(self, x: np.ndarray) -> np.ndarray:
        outputs = []
        for image in x:
            self._interpreter.set_tensor(self._input, image[None])
            self._interpreter.invoke()
            outputs.append(np.array(self._interpreter.get_tensor(self._output)))
        return np.concatenate(outputs)
