"""Interleaved, repeated latency measurement of ``.tflite`` models on this host.

Every configuration (a model, a runtime, its kernel options, a thread count) is loaded once.
Then, for ``rounds`` rounds, the configurations run one after another in a shuffled order,
``invocations`` single-image inferences each; a round's figure is the median ms/image. Ratios
are computed inside each round (paired), so a slow moment of the shared CPU hits both sides
of a ratio; the result gives the median over rounds and the spread (min, max, IQR).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Config", "format_spread", "measure_latency", "summarize"]


@dataclass
class Config:
    """One thing to time: ``name``, a ``.tflite`` path, the interpreter and its options.

    ``runtime``: ``lce`` (LCE's TFLite interpreter with LCE ops; takes ``use_reference_bconv``,
    ``use_indirect_bgemm``, ``use_xnnpack``), ``tflite`` (stock ``tf.lite.Interpreter``,
    which applies XNNPACK to float graphs by default) or ``litert`` (``ai-edge-litert``'s
    interpreter, XNNPACK by default; ``delegate``: the path of an external delegate such as
    bnnkit's LCE-kernel delegate, loaded with ``delegate_options``).
    """

    name: str
    path: str
    runtime: str = "lce"
    threads: int = 1
    options: dict = field(default_factory=dict)


def _lce_interpreter(data: bytes, threads: int, options: dict):
    from converters.runtime import load_lite_interpreter

    return load_lite_interpreter()(
        data,
        int(threads),
        bool(options.get("use_reference_bconv", False)),
        bool(options.get("use_indirect_bgemm", False)),
        bool(options.get("use_xnnpack", False)),
    )


def _stock_interpreter(data: bytes, config: Config):
    if config.runtime == "tflite":
        import tensorflow as tf

        import bnnkit  # noqa: F401

        return tf.lite.Interpreter(model_content=data, num_threads=config.threads)
    from ai_edge_litert.interpreter import Interpreter, load_delegate

    delegates = []
    if config.options.get("delegate"):
        delegates.append(
            load_delegate(
                str(config.options["delegate"]), dict(config.options.get("delegate_options") or {})
            )
        )
    return Interpreter(
        model_content=data, num_threads=config.threads, experimental_delegates=delegates
    )


def _stock_run(interpreter):
    """One single-image inference of random input in [-1, 1] (quantized if the input is)."""
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    shape = [1] + [int(d) for d in detail["shape"][1:]]
    x = np.random.default_rng(0).uniform(-1, 1, shape)
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if np.issubdtype(detail["dtype"], np.integer) and scale:
        info = np.iinfo(detail["dtype"])
        x = np.clip(np.round(x / scale + zero_point), info.min, info.max)
    x = x.astype(detail["dtype"])
    index = detail["index"]

    def run():
        interpreter.set_tensor(index, x)
        interpreter.invoke()

    return run


class _Timed:
    def __init__(self, config: Config):
        self.config = config
        data = Path(config.path).read_bytes()
        if config.runtime == "lce":
            self.interpreter = _lce_interpreter(data, config.threads, config.options)
            shape = [1] + [int(d) for d in list(self.interpreter.input_shapes[0])[1:]]
            self.x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
            self.run = lambda: self.interpreter.predict([self.x])
        elif config.runtime in ("tflite", "litert"):
            self.run = _stock_run(_stock_interpreter(data, config))
        else:
            raise ValueError(f"unknown runtime {config.runtime!r} (lce, tflite, litert)")
        for _ in range(3):
            self.run()  # warm-up: allocation, packing of weights

    def measure(self, invocations: int) -> tuple[float, float]:
        """Median wall time and median CPU time of this thread, ms per inference."""
        times, cpu = [], []
        for _ in range(invocations):
            start, start_cpu = time.perf_counter(), time.thread_time()
            self.run()
            times.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
        return statistics.median(times) * 1000.0, statistics.median(cpu) * 1000.0


def summarize(values: list[float]) -> dict:
    values = sorted(values)
    q = statistics.quantiles(values, n=4) if len(values) >= 2 else [values[0]] * 3
    return {
        "median": round(statistics.median(values), 4),
        "min": round(values[0], 4),
        "max": round(values[-1], 4),
        "iqr": [round(q[0], 4), round(q[2], 4)],
        "n": len(values),
    }


def format_spread(summary: dict | None, digits: int = 2) -> str:
    """``median [min-max]`` of a :func:`summarize` result, ``-`` when there is none."""
    if not summary:
        return "-"
    low, high = summary["min"], summary["max"]
    return f"{summary['median']:.{digits}f} [{low:.{digits}f}-{high:.{digits}f}]"


def measure_latency(
    configs: list[Config],
    *,
    rounds: int = 5,
    invocations: int = 20,
    baseline: dict[str, str] | None = None,
    seed: int = 0,
    log: Callable[[str], object] | None = None,
) -> dict:
    """Time every config in interleaved rounds.

    # Arguments
        configs: the configurations (names unique).
        rounds: rounds; each runs every config once, in a shuffled order.
        invocations: single-image inferences per config and round.
        baseline: ``{config name: baseline config name}``; the ratio baseline/config
            (a speed-up, > 1 is faster) is computed per round.

    # Returns
        ``{name: {"ms": summary, "speedup": summary or None, **config}}`` where a summary has
        median, min, max, iqr and n. One-thread configs also get ``cpu_ms`` and
        ``cpu_speedup``: the same from the CPU time of the invoking thread, which runs the
        whole inference at 1 thread; on a shared machine it leaves out the time other
        processes held the core (``cpu_speedup`` only when the baseline is 1-thread too).
    """
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ValueError("configuration names must be unique")
    timed = {c.name: _Timed(c) for c in configs}
    per_round: dict[str, list[float]] = {name: [] for name in names}
    cpu_round: dict[str, list[float]] = {name: [] for name in names}
    rng = random.Random(seed)
    for index in range(rounds):
        order = list(names)
        rng.shuffle(order)
        for name in order:
            wall, cpu = timed[name].measure(invocations)
            per_round[name].append(wall)
            cpu_round[name].append(cpu)
        if log:
            log(f"latency round {index + 1}/{rounds} done")
    threads = {c.name: c.threads for c in configs}
    results = {}
    for config in configs:
        entry = {
            "path": str(config.path),
            "runtime": config.runtime,
            "threads": config.threads,
            "options": dict(config.options),
            "ms": summarize(per_round[config.name]),
            "speedup": None,
            "baseline": None,
        }
        base = (baseline or {}).get(config.name)
        if base:
            entry["speedup"] = _ratios(per_round[base], per_round[config.name])
            entry["baseline"] = base
        if config.threads == 1:
            entry["cpu_ms"] = summarize(cpu_round[config.name])
            if base and threads[base] == 1:
                entry["cpu_speedup"] = _ratios(cpu_round[base], cpu_round[config.name])
        results[config.name] = entry
    return results


def _ratios(base: list[float], values: list[float]) -> dict:
    """base / value per round (a speed-up), summarized."""
    return summarize([b / t for b, t in zip(base, values, strict=False) if t > 0])
