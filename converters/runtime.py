"""Run a ``.tflite`` with the right runtime and the best correct kernel options.

    from converters import open_runner
    runner = open_runner("model.tflite")          # guard first, then the right interpreter
    probabilities = runner.predict(x)              # x: float32 NHWC batch
    runner.runtime, runner.options                 # "lce", {"num_threads": 1, ...}

Runtimes:

* ``lce``: the Larq Compute Engine interpreter (a TFLite runtime with ``LceBconv2d``,
  ``LceQuantize``, ``LceDequantize``, ``LceBMaxPool2d`` registered). Needed for the ``lce`` and
  ``int8`` targets. It is loaded straight from LCE's extension module, without importing
  TensorFlow.
* ``tflite``: TensorFlow's stock ``tf.lite.Interpreter``; ``litert``: the ``ai-edge-litert``
  package's interpreter (what a Raspberry Pi installs). Both run only builtin ops: the
  ``litert`` target.

``auto`` picks ``lce`` when the model uses LCE ops, else ``tflite``.

Kernel options of the LCE x86_64 interpreter (1 thread, ms per image). Measured earlier by the
team on a larger BNN: default 77, ``use_indirect_bgemm=True`` 12, float+XNNPACK 21. Measured
for the MNIST LeNet BNN (``/tmp/bench_opts.py``, best of 3 over 300 images, machine shared
and loaded): default 5.5, reference bconv 7.3, indirect BGEMM 1.6, XNNPACK 7.8, indirect
BGEMM + XNNPACK 1.4, all with identical argmax (max |diff| <= 4e-7).
:data:`LCE_KERNEL_OPTIONS` picks the indirect BGEMM kernels on purpose, and the agreement
check of every conversion (:mod:`converters.verify`) runs with exactly these options.
"""

from __future__ import annotations

import numpy as np

from bnnkit.errors import InvalidInputError, UnsupportedModelError
from converters.guard import guard_model

LCE_KERNEL_OPTIONS = {"use_reference_bconv": False, "use_indirect_bgemm": True,
                      "use_xnnpack": False}
RUNTIMES = ("auto", "lce", "tflite", "litert")


def check_input(x, input_shape) -> np.ndarray:
    """Return ``x`` as a float32 batch matching ``input_shape`` (NHWC); raise otherwise."""
    x = np.asarray(x)
    expected = tuple(int(d) for d in input_shape[1:])
    if x.ndim == len(expected):
        x = x[None]
    if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        raise InvalidInputError(f"input of shape {tuple(x.shape)} does not match the model's "
                                f"input (N, {', '.join(map(str, expected))})")
    if x.dtype.kind not in "fiu":
        raise InvalidInputError(f"input dtype {x.dtype} is not numeric")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise InvalidInputError("input contains NaN or Inf values")
    return x


class Runner:
    """A loaded model. ``predict(x)`` takes a float32 NHWC batch, returns the outputs."""

    runtime = ""

    def __init__(self, data: bytes, info, num_threads: int):
        self.info = info
        self.num_threads = int(num_threads)
        inputs = info.input_tensors
        if len(inputs) != 1 or len(info.output_tensors) != 1:
            raise UnsupportedModelError("only models with one input and one output are "
                                        f"supported (this one has {len(inputs)} and "
                                        f"{len(info.output_tensors)})")
        if inputs[0].type != "FLOAT32" or info.output_tensors[0].type != "FLOAT32":
            raise UnsupportedModelError(
                f"the model's input/output are {inputs[0].type}/{info.output_tensors[0].type};"
                " bnnkit runners expect float32 (convert with bnnkit's targets)")
        self.input_shape = tuple(inputs[0].shape)
        self.options = {"num_threads": self.num_threads}

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        x = check_input(x, self.input_shape)
        outputs = [self._predict(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)

    def _predict(self, x):
        raise NotImplementedError


class LceRunner(Runner):
    runtime = "lce"

    def __init__(self, data, info, num_threads, kernel_options=None):
        super().__init__(data, info, num_threads)
        from converters._trial import load_lite_interpreter

        options = {**LCE_KERNEL_OPTIONS, **(kernel_options or {})}
        self.options.update(options)
        self._interpreter = load_lite_interpreter()(
            data, self.num_threads, bool(options["use_reference_bconv"]),
            bool(options["use_indirect_bgemm"]), bool(options["use_xnnpack"]))

    def _predict(self, x):
        return np.concatenate([np.asarray(self._interpreter.predict([x[i:i + 1]])[0])
                               for i in range(len(x))])


class StockRunner(Runner):
    """``tf.lite.Interpreter`` (runtime ``tflite``) or ``ai_edge_litert`` (``litert``)."""

    def __init__(self, data, info, num_threads, runtime="tflite"):
        super().__init__(data, info, num_threads)
        if info.custom_ops:
            lce = info.lce_ops
            hint = (" They are Larq Compute Engine ops: run it with the LCE interpreter "
                    "(runtime 'lce' / 'auto'), or convert with `--target litert` for a stock "
                    "runtime." if lce else "")
            raise UnsupportedModelError(
                f"the model uses custom ops {', '.join(info.custom_ops)} that the stock "
                f"TFLite runtime does not have.{hint}")
        self.runtime = runtime
        if runtime == "litert":
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError:
                raise UnsupportedModelError("runtime 'litert' needs the ai-edge-litert "
                                            "package: pip install ai-edge-litert") from None
        else:
            import warnings

            import bnnkit  # noqa: F401  (Keras 2 before TensorFlow)
            import tensorflow as tf

            Interpreter = tf.lite.Interpreter
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        self._interpreter = Interpreter(model_content=data, num_threads=self.num_threads)
        self._batch = None

    def _predict(self, x):
        interpreter = self._interpreter
        input_index = interpreter.get_input_details()[0]["index"]
        if self._batch != len(x):
            interpreter.resize_tensor_input(input_index, [len(x), *self.input_shape[1:]])
            interpreter.allocate_tensors()
            self._batch = len(x)
        interpreter.set_tensor(input_index, x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))


def open_runner(model, *, runtime: str = "auto", num_threads: int = 1,
                expected_sha256: str | None = None, kernel_options: dict | None = None,
                trial: bool = True) -> Runner:
    """Guard a model, then load it in the right interpreter.

    # Arguments
        model: path to a ``.tflite`` (or a folder holding ``model.tflite``), or its bytes.
        runtime: ``auto``, ``lce``, ``tflite`` or ``litert`` (see the module docstring).
        num_threads: interpreter threads.
        expected_sha256: checked against the file (default: the recorded one, if any).
        kernel_options: override :data:`LCE_KERNEL_OPTIONS` (LCE runtime only).
        trial: run once in a child process first (the crash guard).

    # Returns
        A :class:`Runner` with ``predict``, ``runtime`` and ``options``.

    # Raises
        InvalidModelFileError: the file is missing, corrupt, tampered with or crashes.
        UnsupportedModelError: e.g. an LCE model asked to run on a stock runtime.
    """
    if runtime not in RUNTIMES:
        raise UnsupportedModelError(f"unknown runtime {runtime!r}; choose one of: "
                                    f"{', '.join(RUNTIMES)}")
    if int(num_threads) < 1:
        raise InvalidInputError(f"num_threads must be >= 1, got {num_threads}")
    data, info = guard_model(model, expected_sha256=expected_sha256, trial=trial)
    if runtime == "auto":
        runtime = "lce" if info.lce_ops else "tflite"
    if runtime == "lce":
        return LceRunner(data, info, num_threads, kernel_options)
    return StockRunner(data, info, num_threads, runtime)
