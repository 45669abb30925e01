#!/usr/bin/env python3
"""Run a bnnkit bundle on a Raspberry Pi (or any CPU) with ``ai-edge-litert``.

    python pi/run_litert.py BUNDLE IMAGE... [--top-k 3] [--json] [--threads N] [--delegate SO]
                            [--no-xnnpack]

Same output as ``bnnkit predict`` (text, or the same ``--json`` document), without TensorFlow:
it needs ``ai-edge-litert`` (Google's stock TFLite runtime; ``tflite-runtime`` is used if that
is what is installed), numpy, Pillow, and the ``bnnkit`` package installed with ``--no-deps``,
whose :mod:`bnnkit.imaging` (image -> tensor) and :mod:`converters.predict` (bundle reading,
ranking, output) are reused as they are, so a Pi preprocesses images exactly as the x86 host.
See docs/raspberry-pi.md.

Bundles of the ``lce`` and ``int8`` targets hold Larq Compute Engine ops (``LceBconv2d``...)
that a stock runtime does not have. This runner loads bnnkit's LCE-kernel delegate for them
(``--delegate SO``, else the one ``bnnkit build-delegate`` built: see
:func:`converters.delegate.find_delegate`), which runs those ops with LCE's own kernels
inside ai-edge-litert; without it, it refuses them and says how to build it. Float ops run on
XNNPACK (ai-edge-litert's default), or with ``--no-xnnpack`` on TFLite's builtin kernels, as
LCE's interpreter runs them on the training machine (XNNPACK rounds some ops differently).

Before the runtime reads a model, the runner applies bnnkit's structural guard and checks the
digest bnnkit embeds in every model it writes (:mod:`converters.guard`, no TensorFlow): a
corrupted file is refused with one line instead of running with wrong weights.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

try:
    import bnnkit  # noqa: F401  (no TensorFlow is imported: bnnkit/__init__ only sets a variable)
    from converters import predict as bp
    from bnnkit.cli.quiet import native_stderr_silenced
    from bnnkit.errors import BnnkitError, InvalidModelFileError, UnsupportedModelError
    from converters.flatbuffer import FlatbufferError, read_flatbuffer
    from converters.guard import check_embedded_digest, check_structure
except ImportError as error:  # pragma: no cover - an install problem, reported plainly
    sys.exit(f"run_litert: cannot import bnnkit ({error}); install it without its training "
             "dependencies: pip install --no-deps ./bnnkit (see docs/raspberry-pi.md)")


def load_interpreter_class():
    """``ai_edge_litert``'s Interpreter, else ``tflite_runtime``'s (the same API)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter
        return Interpreter, "tflite-runtime"
    except ImportError:
        raise SystemExit("run_litert: no TFLite runtime; pip install ai-edge-litert") from None


class LiteRTRunner:
    """One ``.tflite`` on the stock runtime: ``predict(float32 [1,H,W,C]) -> float scores``.

    An int8/uint8 input or output is (de)quantized with the tensor's scale and zero point:
    ``q = round(x / scale) + zero_point``, ``x = (q - zero_point) * scale``. A model with
    LCE ops gets the LCE-kernel delegate (``delegate``: its path, default the built one).
    """

    def __init__(self, model_path, num_threads: int | None = None, delegate=None,
                 xnnpack: bool = True):
        interpreter_class, self.runtime = load_interpreter_class()
        with open(model_path, "rb") as handle:
            content = handle.read()
        options = self._lce_delegates(model_path, content, delegate)
        if not xnnpack:  # OpResolverType lives beside each runtime's Interpreter class
            options["experimental_op_resolver_type"] = sys.modules[
                interpreter_class.__module__].OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            self.interpreter = interpreter_class(model_content=content, num_threads=num_threads,
                                                 **options)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            message = str(error)
            raise InvalidModelFileError(f"{model_path}: not a model {self.runtime} can load "
                                        f"({message.splitlines()[0] if message else error})") \
                from None
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.input_shape = [int(d) for d in self.input["shape"]]

    def _lce_delegates(self, model_path, content: bytes, delegate) -> dict:
        """``{"experimental_delegates": [...]}`` for a model with LCE ops, else ``{}``."""
        try:
            lce_ops = read_flatbuffer(content).lce_ops
        except FlatbufferError:
            lce_ops = []  # not readable: the interpreter says what is wrong with it
        if not lce_ops:
            return {}
        if self.runtime != "ai-edge-litert":
            raise UnsupportedModelError(
                f"{model_path} holds Larq Compute Engine ops ({', '.join(lce_ops)}): they run "
                f"on ai-edge-litert with bnnkit's LCE-kernel delegate, not on {self.runtime}; "
                "pip install ai-edge-litert (docs/raspberry-pi.md)")
        from converters.litert_lce import load_lce_delegate

        loaded = load_lce_delegate(delegate)
        self.runtime = "ai-edge-litert + LCE-kernel delegate"
        return {"experimental_delegates": [loaded]}

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        dtype = np.dtype(self.input["dtype"])
        if dtype.kind in "iu":
            scale, zero_point = self.input["quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self.output["index"])
        if np.dtype(y.dtype).kind in "iu":
            scale, zero_point = self.output["quantization"]
            y = (y.astype(np.float32) - zero_point) * scale
        return np.asarray(y, dtype=np.float32).reshape(-1)


def check_model_file(model_path) -> None:
    """bnnkit's structural guard and, for a model bnnkit wrote, its embedded digest
    (:mod:`converters.guard`, without TensorFlow): a corrupted file is refused before the
    runtime, which trusts its input, ever reads it."""
    data = Path(model_path).read_bytes()
    check_embedded_digest(data, check_structure(data, str(model_path)), str(model_path))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="run_litert.py", description="Top-k classes of images on a bnnkit bundle (or a "
                                          ".tflite) with ai-edge-litert; lce and int8 bundles "
                                          "with bnnkit's LCE-kernel delegate.")
    parser.add_argument("model", metavar="BUNDLE_OR_TFLITE")
    parser.add_argument("images", metavar="IMAGE", nargs="+")
    parser.add_argument("--top-k", type=int, default=3, metavar="K")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--threads", type=int, default=None, metavar="N")
    parser.add_argument("--delegate", metavar="SO", default=None,
                        help="the LCE-kernel delegate for lce/int8 bundles (default: the one "
                             "`bnnkit build-delegate` built, or $BNNKIT_LCE_DELEGATE)")
    parser.add_argument("--no-xnnpack", action="store_true",
                        help="float ops on TFLite's builtin kernels instead of XNNPACK")
    args = parser.parse_args(argv)
    try:
        with native_stderr_silenced():  # the runtime's "INFO: Created ... delegate" lines
            return _run(args)
    except BnnkitError as error:
        if os.environ.get("BNNKIT_DEBUG"):
            raise
        print(f"run_litert: error: {error}", file=sys.stderr)
        return error.exit_code


def _run(args) -> int:
    model_path, spec = bp.resolve_model(args.model)
    bp.check_images_exist(args.images)
    check_model_file(model_path)
    runner = LiteRTRunner(model_path, args.threads, args.delegate, not args.no_xnnpack)
    if spec is None:
        spec = bp.bare_model_spec(model_path, runner.input_shape)
    elif runner.input_shape[1:] != list(spec.input["shape"])[1:]:
        raise InvalidModelFileError(
            f"{args.model}: metadata.json says input shape {spec.input['shape']} but the "
            f"model takes {runner.input_shape}")
    results = bp.predict_files(runner.predict, spec, args.images, args.top_k)
    if args.json:
        print(json.dumps(bp.to_report(spec, results, runner.runtime), indent=2))
    else:
        for note in spec.notes:
            print(f"note: {note}", file=sys.stderr)
        print(bp.format_text(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
