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


def find_extension(folder: str, prefix: str) -> str:
    """The path of LCE's extension module ``prefix*.so`` in the package's ``folder`` (a path
    relative to ``larq_compute_engine/``); ImportError saying why when there is none."""
    spec = importlib.util.find_spec("larq_compute_engine")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the larq_compute_engine package is not installed")
    where = os.path.join(next(iter(spec.submodule_search_locations)), *folder.split("/"))
    names = os.listdir(where) if os.path.isdir(where) else []
    for name in names:
        if name.startswith(prefix) and name.endswith((".so", ".pyd")):
            return os.path.join(where, name)
    raise ImportError(f"no {prefix} extension in {where}")


def find_lite_interpreter() -> str:
    """The path of LCE's interpreter extension; ImportError saying why when there is none."""
    return find_extension("tflite/python", "interpreter_wrapper_lite")


def load_extension(full_name: str, path: str):
    """The extension module at ``path``, loaded under ``full_name`` without importing its
    package (``larq_compute_engine/__init__.py`` imports TensorFlow).

    It is registered in ``sys.modules`` under that full name: a later import of the same
    module by its package (e.g. ``from larq_compute_engine.tflite.python.interpreter import
    Interpreter``) then finds this module object instead of initialising the extension a
    second time (pybind11 refuses that: "type LiteInterpreter is already registered"), and a
    module its package imported first is the one returned here.
    """
    loaded = sys.modules.get(full_name)
    if loaded is not None:
        return loaded
    module_spec = importlib.util.spec_from_file_location(full_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[full_name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[full_name]
        raise
    return module


def load_lite_interpreter():
    """LCE's ``LiteInterpreter`` class, without importing TensorFlow (:func:`load_extension`)."""
    if LITE_WRAPPER in sys.modules:
        return sys.modules[LITE_WRAPPER].LiteInterpreter
    return load_extension(LITE_WRAPPER, find_lite_interpreter()).LiteInterpreter


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
