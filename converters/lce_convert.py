"""LCE's Keras converter with its native half in a child process.

``larq_compute_engine.convert_keras_model`` is Python around two native calls into LCE's MLIR
converter: it saves the model as a SavedModel and converts that; if anything there fails, it
freezes the model into a GraphDef and converts that instead (LCE's own fallback). A model
that crashes the native converter ends the process that called it: LCE 0.16.0 segfaults on
larq-zoo's DoReFaNet (exit 139, no message).

Here LCE's Python runs unchanged in this process, and each of its two native calls runs in a
child process (``converters/_lce_convert.py``, through :func:`converters.child.run_child`)
with the same arguments, so the bytes are the ones LCE would return. A crash in the child
comes back to LCE as an exception (LCE then tries its fallback), and when no attempt gives
a model, one :class:`~bnnkit.errors.UnsupportedModelError` says what happened to each.

    from converters.lce_convert import convert_keras_model
    data = convert_keras_model(model)
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bnnkit.errors import UnsupportedModelError
from converters.child import run_child

__all__ = ["CHILD", "CONVERT_TIMEOUT_SECONDS", "NATIVE_CALLS", "convert_keras_model"]

#: A 224x224 larq-zoo model takes 2-4 minutes on a shared 2-core machine.
CONVERT_TIMEOUT_SECONDS = 3600
#: LCE's native entry points (module globals of ``larq_compute_engine.mlir.python.converter``)
#: and what each converts.
NATIVE_CALLS = {
    "convert_saved_model_to_tflite_flatbuffer": "its SavedModel",
    "convert_graphdef_to_tflite_flatbuffer": "its GraphDef (LCE's fallback)",
}


_CONVERTER = "LCE's converter"
#: How the child is started (``python CHILD... CALL.json ARGS.bin OUT.tflite``).
CHILD = ["-m", "converters._lce_convert"]


class _NativeCallError(RuntimeError):
    """The child running a native call crashed, failed or timed out (caught by LCE)."""


def _encode(args: tuple) -> tuple[list, bytes]:
    """JSON arguments, bytes ones replaced by their span in one blob (see the child)."""
    encoded: list[Any] = []
    blob = bytearray()
    for arg in args:
        if isinstance(arg, (bytes, bytearray)):
            encoded.append({"bytes": [len(blob), len(blob) + len(arg)]})
            blob += arg
        else:
            encoded.append(list(arg) if isinstance(arg, tuple) else arg)
    return encoded, bytes(blob)


def _in_child(function: str, attempts: list[str]):
    """A stand-in for LCE's native ``function`` that runs it in a child process."""

    def call(*args: Any) -> bytes:
        encoded, blob = _encode(args)
        with tempfile.TemporaryDirectory(prefix="bnnkit-lce-") as tmp:
            folder = Path(tmp)
            (folder / "call.json").write_text(json.dumps({"function": function, "args": encoded}))
            (folder / "args.bin").write_bytes(blob)
            paths = [str(folder / name) for name in ("call.json", "args.bin", "model.tflite")]
            result = run_child([*CHILD, *paths], timeout=CONVERT_TIMEOUT_SECONDS)
            if result.ok:
                return (folder / "model.tflite").read_bytes()
        attempts.append(f"{NATIVE_CALLS[function]} {result.failure(_CONVERTER)}")
        raise _NativeCallError(attempts[-1])

    return call


@contextlib.contextmanager
def _native_calls_in_child(attempts: list[str]) -> Iterator[Any]:
    """LCE's converter module with its native calls replaced for the duration."""
    from larq_compute_engine.mlir.python import converter

    originals = {name: getattr(converter, name) for name in NATIVE_CALLS}
    try:
        for name in NATIVE_CALLS:
            setattr(converter, name, _in_child(name, attempts))
        yield converter
    finally:
        for name, original in originals.items():
            setattr(converter, name, original)


def convert_keras_model(model: Any) -> bytes:
    """``larq_compute_engine.convert_keras_model(model)``, its native calls in a child.

    # Raises
        UnsupportedModelError: every native attempt crashed or failed (the message gives
            each, e.g. ``its SavedModel crashed LCE's converter (SIGSEGV)``).
        Exception: what LCE's Python raises before any native call (e.g. a mixed-precision
            model), unchanged.
    """
    attempts: list[str] = []
    with _native_calls_in_child(attempts) as converter, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Saved-model conversion failed")
        try:
            return bytes(converter.convert_keras_model(model))
        except _NativeCallError:
            pass
        except Exception as error:  # LCE's Python, after a native attempt failed
            if not attempts:
                raise
            attempts.append(f"then {type(error).__name__}: {str(error).strip()[:200]}")
    raise UnsupportedModelError(
        f"the lce converter could not convert this model: {'; '.join(attempts)}"
    )
