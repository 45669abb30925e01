"""Convert a Keras model for one target and time it (thin layer over :mod:`converters`).

Targets: ``lce``, ``int8``, ``litert`` (``converters.convert_model``) and ``float`` (the stock
TFLite converter without optimization: the float reference run with XNNPACK).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["MODEL_FILE", "RESULT_FILE", "convert", "load_summary", "report_field"]


MODEL_FILE = "model.tflite"
RESULT_FILE = "bench_conversion.json"


def convert(
    model: Any,
    out_dir: str | os.PathLike,
    target: str,
    *,
    calibration_x: Any = None,
    calibration_y: Any = None,
    compare_float: bool = True,
) -> dict:
    """Write ``out_dir/model.tflite`` and return a summary with the conversion time.

    The summary has ``target``, ``path``, ``tflite_bytes``, ``seconds`` and, for the
    converters' targets, ``report`` (the full ``conversion.json`` content).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if target == "float":
        from converters.targets import convert_float

        data = convert_float(model)
        (out_dir / MODEL_FILE).write_bytes(data)
        report = None
    else:
        from converters import convert_model

        report = convert_model(
            model,
            out_dir,
            target=target,
            calibration_x=calibration_x,
            calibration_y=calibration_y,
            allow_float=True,
            overwrite=True,
            compare_float=compare_float,
            allow_disagreement=True,
        )  # timed and sized here; agreement is
        # measured by the report itself (bench.report), so a failed check must not stop it
    seconds = time.perf_counter() - started
    path = out_dir / MODEL_FILE
    summary = {
        "target": target,
        "path": str(path),
        "tflite_bytes": path.stat().st_size,
        "seconds": round(seconds, 3),
        "report": _jsonable(report),
    }
    (out_dir / RESULT_FILE).write_text(json.dumps(summary, indent=2, default=str))
    return summary


def load_summary(out_dir: str | os.PathLike) -> dict | None:
    """The summary written by :func:`convert` in ``out_dir`` (None when absent)."""
    path = Path(out_dir) / RESULT_FILE
    if path.is_file() and (Path(out_dir) / MODEL_FILE).is_file():
        return json.loads(path.read_text())
    return None


def _jsonable(value):
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


def report_field(summary: dict, *keys: str, default: Any = None) -> Any:
    """``summary["report"][k1][k2]...`` or ``default`` when any level is missing."""
    node = (summary or {}).get("report")
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node
