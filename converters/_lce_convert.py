"""LCE's native converter in a child process (used by :mod:`converters.lce_convert`).

Imports only LCE's converter extension (``larq_compute_engine.mlir._tf_tfl_flatbuffer``, the
MLIR converter compiled with what it needs of TensorFlow), not TensorFlow's Python package,
so it starts in about a second. It calls one of the extension's two functions with the
arguments the parent wrote, and writes the flatbuffer it returns. A model that crashes the
converter kills this process, not the caller.

    python -m converters._lce_convert CALL.json ARGS.bin OUT.tflite

``CALL.json`` is ``{"function": NAME, "args": [...]}``; an argument ``{"bytes": [start,
end]}`` stands for that slice of ``ARGS.bin`` (a serialized GraphDef). Exit 0 with
``OUT.tflite`` written, or exit 1 with the converter's error as the last line on stderr.
"""

import json
import sys
from pathlib import Path

from converters._trial import find_extension, load_extension

CONVERTER = "larq_compute_engine.mlir._tf_tfl_flatbuffer"
FUNCTIONS = ("convert_saved_model_to_tflite_flatbuffer", "convert_graphdef_to_tflite_flatbuffer")


def main(call_path: str, args_path: str, out_path: str) -> int:
    call = json.loads(Path(call_path).read_text())
    if call["function"] not in FUNCTIONS:
        print(f"unknown converter function {call['function']}", file=sys.stderr)
        return 2
    blob = Path(args_path).read_bytes()
    args = [
        blob[arg["bytes"][0] : arg["bytes"][1]] if isinstance(arg, dict) else arg
        for arg in call["args"]
    ]
    converter = load_extension(CONVERTER, find_extension("mlir", "_tf_tfl_flatbuffer"))
    try:
        data = getattr(converter, call["function"])(*args)
    except Exception as error:  # the converter reports failures as RuntimeError/ValueError
        print(str(error).strip() or type(error).__name__, file=sys.stderr)
        return 1
    Path(out_path).write_bytes(bytes(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
