"""Run a ``.tflite`` with the right runtime and the best correct kernel options.

    from converters import open_runner
    runner = open_runner("model.tflite")          # guard first, then the right interpreter
    probabilities = runner.predict(x)              # x: float32 NHWC batch
    runner.runtime, runner.options                 # "lce", {"num_threads": 1, ...}

The runtimes are :class:`Runtime` objects in one registry, :data:`RUNTIMES`. Each knows the
custom ops it can run, whether it is available on this machine (and why not), and how to
open a :class:`Runner`:

* ``tflite``: TensorFlow's stock ``tf.lite.Interpreter``; builtin ops only.
* ``litert``: the ``ai-edge-litert`` package's interpreter (what a Raspberry Pi installs);
  builtin ops only.
* ``lce``: the Larq Compute Engine interpreter, a TFLite runtime with ``LceBconv2d``,
  ``LceQuantize``, ``LceDequantize`` and ``LceBMaxPool2d`` registered. It is loaded straight
  from LCE's extension module, without importing TensorFlow.
* ``litert-lce``: the ``ai-edge-litert`` interpreter with bnnkit's LCE-kernel delegate
  (:mod:`converters.litert_lce`, built by ``bnnkit build-delegate``): the same LCE ops from
  LCE's own kernels, XNNPACK for the float ops. It runs where LCE has no wheel (aarch64).

``auto`` (:func:`choose_runtime`) takes the first runtime, in the registry's order, that is
available here and has every custom op the model uses: a stock interpreter for a model of
builtin ops, the LCE interpreter for a model with LCE ops, and where LCE's interpreter is
missing (Linux aarch64, or no ``larq-compute-engine`` wheel) ``litert-lce`` when the
delegate is built.

Kernel options of the LCE x86_64 interpreter, for the MNIST LeNet BNN (1 thread, ms per
image, best of 3 over 300 images on a shared machine): default 5.5, reference bconv 7.3,
indirect BGEMM 1.6, XNNPACK 7.8, indirect BGEMM + XNNPACK 1.4, all with identical argmax
(max abs diff <= 4e-7). :data:`LCE_KERNEL_OPTIONS` picks the indirect BGEMM kernels, and
the agreement check of every conversion (:mod:`converters.verify`) runs with exactly these
options.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bnnkit.errors import InvalidInputError, UnsupportedModelError
from bnnkit.registry import Registry
from converters._trial import find_lite_interpreter, load_lite_interpreter
from converters.flatbuffer import LCE_CUSTOM_OPS, FlatbufferInfo
from converters.guard import check_model, trial_run

__all__ = [
    "AUTO",
    "LCE_KERNEL_OPTIONS",
    "RUNTIMES",
    "LceRunner",
    "LiteRtRunner",
    "Runner",
    "Runtime",
    "TfLiteRunner",
    "check_input",
    "choose_runtime",
    "find_lite_interpreter",
    "load_lite_interpreter",
    "open_runner",
    "runtime_choices",
]

LCE_KERNEL_OPTIONS = {
    "use_reference_bconv": False,
    "use_indirect_bgemm": True,
    "use_xnnpack": False,
}
AUTO = "auto"


def check_input(x: Any, input_shape: Iterable[int]) -> np.ndarray:
    """Return ``x`` as a float32 batch matching ``input_shape`` (NHWC); raise otherwise."""
    x = np.asarray(x)
    expected = tuple(int(d) for d in list(input_shape)[1:])
    if x.ndim == len(expected):
        x = x[None]
    if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        raise InvalidInputError(
            f"input of shape {tuple(x.shape)} does not match the model's "
            f"input (N, {', '.join(map(str, expected))})"
        )
    if x.dtype.kind not in "fiu":
        raise InvalidInputError(f"input dtype {x.dtype} is not numeric")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise InvalidInputError("input contains NaN or Inf values")
    return x


class Runner:
    """A loaded model. ``predict(x)`` takes a float32 NHWC batch, returns the outputs.

    Subclasses open one interpreter in :meth:`_open`. ``requires`` names the Python modules
    they import;
    :meth:`unavailable_reason` says why the runtime cannot be used on this machine;
    :meth:`trial` runs a model once in a child process on the same kind of interpreter
    (``trial_runtime`` is the mode of ``converters/_trial.py``).
    """

    requires: tuple[str, ...] = ()
    trial_runtime = "stock"

    def __init__(
        self,
        data: bytes,
        info: FlatbufferInfo,
        *,
        runtime: str,
        num_threads: int = 1,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.info = info
        self.runtime = runtime
        self.num_threads = int(num_threads)
        inputs = info.input_tensors
        if len(inputs) != 1 or len(info.output_tensors) != 1:
            raise UnsupportedModelError(
                "only models with one input and one output are "
                f"supported (this one has {len(inputs)} and "
                f"{len(info.output_tensors)})"
            )
        if inputs[0].type != "FLOAT32" or info.output_tensors[0].type != "FLOAT32":
            raise UnsupportedModelError(
                f"the model's input/output are {inputs[0].type}/{info.output_tensors[0].type};"
                " bnnkit runners expect float32 (convert with bnnkit's targets)"
            )
        self.input_shape = tuple(inputs[0].shape)
        self.options: dict[str, Any] = {"num_threads": self.num_threads}
        self._open(data, dict(options or {}))

    def _open(self, data: bytes, options: dict[str, Any]) -> None:
        """Load ``data`` into this runner's interpreter; record the options it runs with."""
        raise NotImplementedError

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when this runner can be opened here, else why not (one line)."""
        for module in cls.requires:
            if importlib.util.find_spec(module) is None:
                return f"the {module} package is not installed"
        return None

    @classmethod
    def trial(cls, data: bytes, name: str, options: Mapping[str, Any] | None = None) -> None:
        """The guard's trial run (:func:`converters.guard.trial_run`) on this runtime."""
        trial_run(data, name, runtime=cls.trial_runtime)

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        x = check_input(x, self.input_shape)
        outputs = [self._predict(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class LceRunner(Runner):
    """LCE's interpreter, with :data:`LCE_KERNEL_OPTIONS` unless ``options`` override them."""

    requires = ("larq_compute_engine",)
    trial_runtime = "lce"

    def _open(self, data: bytes, options: dict[str, Any]) -> None:
        kernel_options = {**LCE_KERNEL_OPTIONS, **options}
        self.options.update(kernel_options)
        self._interpreter = load_lite_interpreter()(
            data,
            self.num_threads,
            bool(kernel_options["use_reference_bconv"]),
            bool(kernel_options["use_indirect_bgemm"]),
            bool(kernel_options["use_xnnpack"]),
        )

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            find_lite_interpreter()
        except ImportError as error:
            return str(error)
        return None

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [np.asarray(self._interpreter.predict([x[i : i + 1]])[0]) for i in range(len(x))]
        )


class _StockRunner(Runner):
    """A stock TFLite interpreter (``tf.lite`` or ``ai_edge_litert``): builtin ops only."""

    def _open(self, data: bytes, options: dict[str, Any]) -> None:
        self._interpreter = self._interpreter_class()(
            model_content=data, num_threads=self.num_threads
        )
        self._batch: int | None = None

    @staticmethod
    def _interpreter_class() -> Any:
        raise NotImplementedError

    def _predict(self, x: np.ndarray) -> np.ndarray:
        interpreter = self._interpreter
        input_index = interpreter.get_input_details()[0]["index"]
        if self._batch != len(x):
            interpreter.resize_tensor_input(input_index, [len(x), *self.input_shape[1:]])
            interpreter.allocate_tensors()
            self._batch = len(x)
        interpreter.set_tensor(input_index, x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))


class TfLiteRunner(_StockRunner):
    """TensorFlow's ``tf.lite.Interpreter``."""

    requires = ("tensorflow",)

    @staticmethod
    def _interpreter_class() -> Any:
        import warnings

        import tensorflow as tf

        import bnnkit  # noqa: F401  (Keras 2 before TensorFlow)

        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        return tf.lite.Interpreter


class LiteRtRunner(_StockRunner):
    """The ``ai-edge-litert`` package's interpreter (no TensorFlow import)."""

    requires = ("ai_edge_litert",)

    @staticmethod
    def _interpreter_class() -> Any:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter


@dataclass(frozen=True)
class Runtime:
    """A TFLite runtime bnnkit can run models on.

    # Arguments
        name: what ``--runtime`` and ``open_runner(runtime=...)`` call it.
        description: one line for ``--help`` and error messages.
        runner: ``"module:Class"`` of its :class:`Runner` subclass, imported when first used
            (so listing the runtimes imports no interpreter).
        custom_ops: the custom ops it can run besides TFLite's builtin ops.
    """

    name: str
    description: str
    runner: str
    custom_ops: frozenset[str] = frozenset()

    def runner_class(self) -> type[Runner]:
        module, _, attribute = self.runner.partition(":")
        runner_class: type[Runner] = getattr(importlib.import_module(module), attribute)
        return runner_class

    def unavailable_reason(self) -> str | None:
        """None when this runtime can be used on this machine, else why not."""
        return self.runner_class().unavailable_reason()

    def can_run(self, custom_ops: Iterable[str]) -> bool:
        """Whether it has every one of ``custom_ops``."""
        return set(custom_ops) <= self.custom_ops

    def open(
        self,
        data: bytes,
        info: FlatbufferInfo,
        *,
        num_threads: int = 1,
        options: Mapping[str, Any] | None = None,
    ) -> Runner:
        """Load checked model ``data`` (``info`` from :func:`converters.guard.guard_model`).

        # Raises
            UnsupportedModelError: the model uses ops this runtime lacks, or the runtime is
                not available here.
        """
        self.check(info)
        return self.runner_class()(
            data, info, runtime=self.name, num_threads=num_threads, options=options
        )

    def check(self, info: FlatbufferInfo) -> None:
        """Raise UnsupportedModelError unless this runtime can run ``info``'s model here."""
        missing = sorted(set(info.custom_ops) - self.custom_ops)
        if missing:
            capable = [
                f"{r.name!r} ({r.description})" for r in RUNTIMES if r.can_run(info.custom_ops)
            ]
            hint = (
                f" Run it on runtime {' or '.join(capable)}, or 'auto'; or convert it "
                "with `--target litert` for a stock runtime."
                if capable
                else ""
            )
            raise UnsupportedModelError(
                f"the model uses custom ops {', '.join(missing)} that the {self.name!r} "
                f"runtime does not have.{hint}"
            )
        reason = self.unavailable_reason()
        if reason is not None:
            raise UnsupportedModelError(f"runtime {self.name!r} is not available here: {reason}")


#: Every runtime, in the order ``auto`` prefers them.
RUNTIMES: Registry[Runtime] = Registry(
    "runtime",
    [
        Runtime(
            "tflite",
            "TensorFlow's tf.lite.Interpreter (builtin ops)",
            "converters.runtime:TfLiteRunner",
        ),
        Runtime(
            "litert",
            "the ai-edge-litert interpreter (builtin ops, no TensorFlow)",
            "converters.runtime:LiteRtRunner",
        ),
        Runtime(
            "lce",
            "the LCE interpreter (builtin ops and Larq Compute Engine's binary ops)",
            "converters.runtime:LceRunner",
            custom_ops=frozenset(LCE_CUSTOM_OPS),
        ),
        Runtime(
            "litert-lce",
            "ai-edge-litert with bnnkit's LCE-kernel delegate (LCE's binary "
            "ops; XNNPACK for float ops)",
            "converters.litert_lce:LiteRtLceRunner",
            custom_ops=frozenset(LCE_CUSTOM_OPS),
        ),
    ],
)


def runtime_choices() -> tuple[str, ...]:
    """``auto`` and every registered runtime: the values ``--runtime`` accepts."""
    return (AUTO, *RUNTIMES.names())


def choose_runtime(custom_ops: Iterable[str], runtimes: Registry[Runtime] | None = None) -> Runtime:
    """``auto``: the first runtime, in registry order, available here with all ``custom_ops``.

    # Raises
        UnsupportedModelError: none fits; the message says why for each runtime.
    """
    custom_ops = sorted(set(custom_ops))
    reasons = []
    for runtime in RUNTIMES if runtimes is None else runtimes:
        if not runtime.can_run(custom_ops):
            missing = sorted(set(custom_ops) - runtime.custom_ops)
            reasons.append(f"{runtime.name} lacks {', '.join(missing)}")
            continue
        reason = runtime.unavailable_reason()
        if reason is None:
            return runtime
        reasons.append(f"{runtime.name}: {reason}")
    raise UnsupportedModelError(
        f"no runtime available here can run this model "
        f"(custom ops: {', '.join(custom_ops) or 'none'}): "
        f"{'; '.join(reasons)}"
    )


def open_runner(
    model: str | Path | bytes,
    *,
    runtime: str = AUTO,
    num_threads: int = 1,
    expected_sha256: str | None = None,
    kernel_options: Mapping[str, Any] | None = None,
    trial: bool = True,
) -> Runner:
    """Guard a model, then load it in the right interpreter.

    # Arguments
        model: path to a ``.tflite`` (or a folder holding ``model.tflite``), or its bytes.
        runtime: ``auto`` or a name in :data:`RUNTIMES`.
        num_threads: interpreter threads.
        expected_sha256: checked against the file (default: the recorded one, if any).
        kernel_options: the runner's options: for ``lce``, overrides of
            :data:`LCE_KERNEL_OPTIONS`; for ``litert-lce``, the delegate's path and kernels
            (:class:`converters.litert_lce.LiteRtLceRunner`).
        trial: run once in a child process first, on the chosen runtime (the crash guard).

    # Returns
        A :class:`Runner` with ``predict``, ``runtime`` and ``options``.

    # Raises
        InvalidModelFileError: the file is missing, corrupt, tampered with or crashes.
        UnsupportedModelError: an unknown runtime, or one that cannot run this model here.
    """
    chosen = None if runtime == AUTO else RUNTIMES.get(runtime)
    if int(num_threads) < 1:
        raise InvalidInputError(f"num_threads must be >= 1, got {num_threads}")
    data, info, name = check_model(model, expected_sha256=expected_sha256)
    if trial and not any(r.can_run(info.custom_ops) for r in RUNTIMES):
        # Custom ops no runtime has, e.g. a flipped bit in an op name: a corrupt file is
        # reported as one (the guard's default trial) before "no runtime can run this".
        trial_run(data, name, runtime="lce" if info.lce_ops else "stock")
    if chosen is None:
        chosen = choose_runtime(info.custom_ops)
    chosen.check(info)
    if trial:
        chosen.runner_class().trial(data, name, kernel_options)
    return chosen.open(data, info, num_threads=num_threads, options=kernel_options)
