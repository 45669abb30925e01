"""Subprocess entry points, so that time and peak memory are those of one job alone.

    python -m bnnkit.bench.worker convert --arch lenet --method bnn --target lce --out DIR \
        [--input-shape 28,28,1] [--classes 10] [--model-keras PATH]
    python -m bnnkit.bench.worker infer --path MODEL.tflite --runtime lce|tflite [--threads 1]

Each prints one JSON line: ``seconds``, ``peak_rss_mb`` (``VmHWM`` of this process: the peak
resident memory over its whole life) and ``baseline_rss_mb`` (the peak before the measured
step: Python,
TensorFlow, the built model), so ``peak - baseline`` is what the step itself added.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["convert_in_worker", "main", "run_worker"]


def _rss_mb() -> float:
    """Peak resident memory of this process so far, MB.

    ``VmHWM`` from /proc/self/status: unlike ``ru_maxrss``, which Linux carries over from
    the parent through fork and exec, it starts afresh with the new program.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _convert(args) -> dict:
    import numpy as np

    import bnnkit  # noqa: F401  (Keras 2)
    from bnnkit.models import build_model

    shape = tuple(int(d) for d in args.input_shape.split(","))
    if args.model_keras:
        from bnnkit.serialization import load_model

        model = load_model(args.model_keras)
    else:
        import tensorflow as tf

        tf.keras.utils.set_random_seed(0)
        model = build_model(args.arch, args.method, shape, args.classes)
    x = np.random.default_rng(0).uniform(-1, 1, (args.calibration, *shape)).astype(np.float32)
    baseline = _rss_mb()
    from bnnkit.bench.convert import convert
    from bnnkit.bench.layers import layer_table, mac_summary

    macs = mac_summary(layer_table(model))
    started = time.perf_counter()
    summary = convert(
        model, args.out, args.target, calibration_x=x, compare_float=not args.no_compare_float
    )
    seconds = time.perf_counter() - started
    report = summary.get("report") or {}
    return {
        "arch": args.arch,
        "method": args.method,
        "target": args.target,
        "input_shape": list(shape),
        "classes": args.classes,
        "parameters": int(model.count_params()),
        "keras_macs": macs,
        "tflite_bytes": summary["tflite_bytes"],
        "path": summary["path"],
        "seconds": round(seconds, 2),
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "op_histogram": report.get("op_histogram"),
        "report_macs": report.get("macs"),
        "size": report.get("size"),
    }


def _infer(args) -> dict:
    import numpy as np

    data = Path(args.path).read_bytes()
    if args.runtime == "lce":
        from converters.runtime import load_lite_interpreter

        baseline = _rss_mb()
        interpreter = load_lite_interpreter()(data, args.threads, False, True, args.xnnpack)
        shape = [1] + [int(d) for d in list(interpreter.input_shapes[0])[1:]]
        x = np.zeros(shape, np.float32)
        run = lambda: interpreter.predict([x])  # noqa: E731
    elif args.runtime == "litert":
        import ai_edge_litert.interpreter  # noqa: F401  (the runtime, before the baseline)

        from bnnkit.bench.latency import Config, _stock_interpreter, _stock_run

        baseline = _rss_mb()
        options = {}
        if args.delegate:
            pairs = dict(option.split("=", 1) for option in args.delegate_option)
            options = {"delegate": args.delegate, "delegate_options": pairs}
        config = Config("infer", args.path, "litert", args.threads, options)
        run = _stock_run(_stock_interpreter(data, config))
    else:
        import tensorflow as tf

        import bnnkit  # noqa: F401

        baseline = _rss_mb()
        interpreter = tf.lite.Interpreter(model_content=data, num_threads=args.threads)
        interpreter.allocate_tensors()
        detail = interpreter.get_input_details()[0]
        x = np.zeros([1, *detail["shape"][1:]], np.float32)

        def run():
            interpreter.set_tensor(detail["index"], x)
            interpreter.invoke()

    started = time.perf_counter()
    for _ in range(args.invocations):
        run()
    seconds = time.perf_counter() - started
    return {
        "path": args.path,
        "runtime": args.runtime,
        "threads": args.threads,
        "invocations": args.invocations,
        "seconds": round(seconds, 3),
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "imports_tensorflow": "tensorflow" in sys.modules,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bnnkit.bench.worker")
    sub = parser.add_subparsers(dest="job", required=True)
    c = sub.add_parser("convert")
    c.add_argument("--arch", default="lenet")
    c.add_argument("--method", default="bnn")
    c.add_argument("--target", default="lce")
    c.add_argument("--out", required=True)
    c.add_argument("--input-shape", default="28,28,1")
    c.add_argument("--classes", type=int, default=10)
    c.add_argument("--calibration", type=int, default=16)
    c.add_argument("--model-keras")
    c.add_argument("--no-compare-float", action="store_true")
    i = sub.add_parser("infer")
    i.add_argument("--path", required=True)
    i.add_argument("--runtime", default="lce", choices=["lce", "tflite", "litert"])
    i.add_argument("--delegate", help="litert: an external delegate's .so")
    i.add_argument("--delegate-option", action="append", default=[], metavar="KEY=VALUE")
    i.add_argument("--threads", type=int, default=1)
    i.add_argument("--xnnpack", action="store_true")
    i.add_argument("--invocations", type=int, default=20)
    args = parser.parse_args(argv)
    result = _convert(args) if args.job == "convert" else _infer(args)
    print("BENCH_RESULT " + json.dumps(result, default=str))
    return 0


def run_worker(argv: list[str], *, nice: int = 0, timeout: float | None = None) -> dict:
    """Run the worker in a child process (:func:`converters.child.run_child`, optionally
    ``nice``'d) and return its JSON; RuntimeError with its last lines when it gives none."""
    from converters.child import run_child

    done = run_child(["-m", "bnnkit.bench.worker", *argv], timeout=timeout, nice=nice)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT ") :])
    tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
    raise RuntimeError(
        f"worker {' '.join(argv[:1])} {done.failure('the worker')}: " + " | ".join(tail)
    )


if __name__ == "__main__":
    sys.exit(main())


def convert_in_worker(
    arch: str,
    method: str,
    target: str,
    out: str | os.PathLike,
    *,
    input_shape: Sequence[int],
    classes: int,
    calibration: int,
    compare_float: bool = True,
    nice: int = 0,
    timeout: float | None = None,
) -> dict:
    """Build ``arch`` for ``method``, convert it for ``target`` into ``out`` in a child process
    (:func:`run_worker`), and return its row (``tflite_bytes``, ``seconds``, peak RSS...)."""
    argv = ["convert", "--arch", arch, "--method", method, "--target", target]
    argv += ["--input-shape", ",".join(map(str, input_shape)), "--classes", str(classes)]
    argv += ["--calibration", str(calibration), "--out", str(out)]
    if not compare_float:
        argv.append("--no-compare-float")
    return run_worker(argv, nice=nice, timeout=timeout)
