"""Trial run of a ``.tflite`` in a child process (used by :mod:`converters.guard`).

Standalone on purpose: it imports only numpy and LCE's TFLite interpreter extension (a full
TFLite runtime with the LCE ops registered), not TensorFlow, so it starts in a fraction of a
second. A corrupt model that crashes the interpreter kills this process, not the caller.

    python _trial.py MODEL.tflite [lce|stock]   -> exit 0 and "ok", or a non-zero exit
    python _trial.py MODEL.tflite litert-lce DELEGATE.so

``stock`` (models without LCE ops) uses ``ai_edge_litert``'s interpreter when installed, else
``tf.lite.Interpreter``. ``litert-lce`` uses ``ai_edge_litert``'s interpreter with bnnkit's
LCE-kernel delegate loaded from ``DELEGATE.so``.
"""

import importlib.util
import os
import sys

import numpy as np

LITE_WRAPPER = "larq_compute_engine.tflite.python.interpreter_wrapper_lite"


def find_lite_interpreter() -> str:
    """The path of LCE's interpreter extension; ImportError saying why when there is none."""
    spec = importlib.util.find_spec("larq_compute_engine")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the larq_compute_engine package is not installed")
    folder = os.path.join(next(iter(spec.submodule_search_locations)), "tflite", "python")
    names = os.listdir(folder) if os.path.isdir(folder) else []
    for name in names:
        if name.startswith("interpreter_wrapper_lite") and name.endswith((".so", ".pyd")):
            return os.path.join(folder, name)
    raise ImportError(f"no interpreter_wrapper_lite extension in {folder}")


def load_lite_interpreter():
    """LCE's ``LiteInterpreter`` class, without importing TensorFlow.

    ``larq_compute_engine/__init__.py`` imports LCE's converter and with it TensorFlow, so the
    extension module is loaded straight from its file. It is loaded under its own full name
    and registered in ``sys.modules``: a later ``from larq_compute_engine.tflite.python.interpreter
    import Interpreter`` then finds this module object instead of initialising the extension a
    second time (pybind11 refuses that: "type LiteInterpreter is already registered"), and if
    LCE's interpreter was imported first, its module object is the one used here.
    """
    loaded = sys.modules.get(LITE_WRAPPER)
    if loaded is not None:
        return loaded.LiteInterpreter
    path = find_lite_interpreter()
    module_spec = importlib.util.spec_from_file_location(LITE_WRAPPER, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[LITE_WRAPPER] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[LITE_WRAPPER]
        raise
    return module.LiteInterpreter


def stock_predict(data: bytes, delegate: str | None = None):
    delegates = []
    try:
        from ai_edge_litert.interpreter import Interpreter, load_delegate

        if delegate:
            delegates.append(load_delegate(delegate))
    except ImportError:
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806  (the class, as imported above)
    interpreter = Interpreter(model_content=data, experimental_delegates=delegates)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        shape = [max(1, int(d)) for d in detail["shape"]]
        interpreter.set_tensor(detail["index"], np.zeros(shape, dtype=detail["dtype"]))
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def main(path: str, runtime: str = "lce", delegate: str | None = None) -> int:
    with open(path, "rb") as handle:
        data = handle.read()
    if runtime in ("stock", "litert-lce"):
        return check_outputs(stock_predict(data, delegate))
    interpreter = load_lite_interpreter()(data, 1, False, True, False)
    inputs = []
    for shape, dtype in zip(interpreter.input_shapes, interpreter.input_types, strict=True):
        shape = [1] + [max(1, int(d)) for d in list(shape)[1:]]
        inputs.append(np.zeros(shape, dtype=np.dtype(dtype)))
    return check_outputs(interpreter.predict(inputs))


def check_outputs(outputs) -> int:
    for output in outputs:
        output = np.asarray(output)
        if output.dtype.kind == "f" and not np.all(np.isfinite(output)):
            print("non-finite outputs on a zero input", file=sys.stderr)
            return 3
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
