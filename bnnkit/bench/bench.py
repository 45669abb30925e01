"""``bnnkit bench``: latency, kernel options, threads, training throughput, conversion time
and peak memory, side by side in one run, as JSON and a markdown table.

All figures are measured on this machine and labelled with :func:`bnnkit.bench.machine.
machine_label` ("x86 host: ..."); nothing here is an ARM figure.

What is compared (same LeNet-style architecture, 28x28x1, 10 classes, untrained weights:
latency does not depend on the weight values):

* ``float``: the float architecture, stock converter, run with XNNPACK (stock
  ``tf.lite.Interpreter``, and LCE's interpreter with ``use_xnnpack``) - the baseline of
  every ratio, at the same thread count;
* ``bnn`` (plain ``ste_sign`` BNN) as ``lce`` (with each LCE kernel option), ``int8`` and
  ``litert`` targets; the other binary-activation methods as ``lce``;
* each binary layer alone (float conv vs binary conv of the same shape), next to XNOR-Net's
  predicted per-layer speed-up;
* training images/s of each method's LeNet against the plain ``ste_sign`` BNN;
* conversion time and peak resident memory, each conversion in its own process.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bnnkit.bench.latency import Config, format_spread, measure_latency, summarize
from bnnkit.bench.machine import machine_info
from bnnkit.bench.worker import run_worker

__all__ = [
    "DEFAULT_LCE_METHODS",
    "LCE_KERNEL_VARIANTS",
    "bench_markdown",
    "run_bench",
    "training_throughput",
]


LCE_KERNEL_VARIANTS = {
    "default": {},
    "indirect_bgemm": {"use_indirect_bgemm": True},
    "reference_bconv": {"use_reference_bconv": True},
    "indirect_bgemm+xnnpack": {"use_indirect_bgemm": True, "use_xnnpack": True},
}
DEFAULT_LCE_METHODS = ("bnn", "xnor", "horq", "bireal")


def _conversions(work: Path, methods, nice: int, log) -> dict:
    jobs = [("float", "float"), ("bnn", "lce"), ("bnn", "int8"), ("bnn", "litert")]
    jobs += [(m, "lce") for m in methods if m != "bnn"]
    results = {}
    for method, target in jobs:
        key = f"{method}-{target}"
        log(f"converting {key} in a child process")
        try:
            results[key] = run_worker(
                ["convert", "--method", method, "--target", target, "--out", str(work / key)],
                nice=nice,
                timeout=900,
            )
        except Exception as error:  # recorded, not fatal: the bench reports what it could
            results[key] = {"error": str(error)}
    return results


def _layer_models(work: Path, log) -> list[dict]:
    """Each binary layer of the BNN LeNet alone, as a float conv and as an LCE binary conv."""
    import larq as lq
    import tensorflow as tf

    import bnnkit  # noqa: F401
    from bnnkit.bench.layers import layer_table
    from bnnkit.models import build_model
    from converters.targets import convert_float, convert_lce

    rows = [
        r
        for r in layer_table(build_model("lenet", "bnn", (28, 28, 1), 10))
        if r["kind"] == "binary"
    ]
    out = []
    for row in rows:
        shape, kernel = tuple(row["input_shape"]), tuple(row["kernel"])
        inputs = tf.keras.Input(shape)
        float_model = tf.keras.Model(
            inputs,
            tf.keras.layers.Conv2D(row["filters"], kernel, padding=row["padding"], use_bias=False)(
                inputs
            ),
        )
        inputs = tf.keras.Input(shape)
        binary_model = tf.keras.Model(
            inputs,
            lq.layers.QuantConv2D(
                row["filters"],
                kernel,
                padding=row["padding"],
                use_bias=False,
                pad_values=1.0 if row["padding"] == "same" else 0.0,
                input_quantizer="ste_sign",
                kernel_quantizer="ste_sign",
            )(inputs),
        )
        paths = {}
        for kind, model, fn in (
            ("float", float_model, convert_float),
            ("binary", binary_model, convert_lce),
        ):
            path = work / f"layer-{row['layer']}-{kind}.tflite"
            path.write_bytes(fn(model))
            paths[kind] = str(path)
        log(f"layer {row['layer']}: float and binary single-layer models converted")
        out.append({**row, "paths": paths})
    return out


def _latency(conversions: dict, layers: list[dict], threads, rounds, invocations, log):
    configs, baseline = [], {}
    ok = {k: v for k, v in conversions.items() if "path" in v}
    for t in threads:
        base = f"float/tflite-xnnpack/t{t}"
        if "float-float" in ok:
            configs.append(Config(base, ok["float-float"]["path"], "tflite", t))
            name = f"float/lce-interp-xnnpack/t{t}"
            configs.append(Config(name, ok["float-float"]["path"], "lce", t, {"use_xnnpack": True}))
            baseline[name] = base
        for key, entry in ok.items():
            method, target = key.rsplit("-", 1)
            if target == "float":
                continue
            if target == "lce" and method == "bnn":
                for variant, options in LCE_KERNEL_VARIANTS.items():
                    name = f"bnn/lce/{variant}/t{t}"
                    configs.append(Config(name, entry["path"], "lce", t, options))
                    baseline[name] = base
            elif target == "litert":
                name = f"{method}/litert/stock-tflite/t{t}"
                configs.append(Config(name, entry["path"], "tflite", t))
                baseline[name] = base
            else:
                name = f"{method}/{target}/indirect_bgemm/t{t}"
                configs.append(Config(name, entry["path"], "lce", t, {"use_indirect_bgemm": True}))
                baseline[name] = base
    for row in layers:
        fname = f"layer:{row['layer']}/float-xnnpack/t1"
        configs.append(Config(fname, row["paths"]["float"], "lce", 1, {"use_xnnpack": True}))
        for variant in ("default", "indirect_bgemm"):
            name = f"layer:{row['layer']}/binary-lce/{variant}/t1"
            configs.append(
                Config(name, row["paths"]["binary"], "lce", 1, LCE_KERNEL_VARIANTS[variant])
            )
            baseline[name] = fname
    if not any(c.name in baseline.values() for c in configs):
        baseline = {k: v for k, v in baseline.items() if any(c.name == v for c in configs)}
    return measure_latency(
        configs, rounds=rounds, invocations=invocations, baseline=baseline, log=log
    )


def training_throughput(
    methods: Iterable[str],
    *,
    batch_size: int = 64,
    steps: int = 5,
    rounds: int = 3,
    baseline: str = "bnn",
    log: Callable[[str], object] = print,
) -> dict:
    """Training images/s of each method's LeNet (``train_on_batch``), interleaved rounds.

    The ratio is images/s of the method over images/s of the plain ``ste_sign`` BNN of the
    same shape, computed per round. Methods whose model needs a trained float model first
    (BWNH, SBD: their fine-tuning model) are built through their stages on random data.
    """
    import numpy as np
    import tensorflow as tf

    import bnnkit  # noqa: F401
    from bnnkit.models import build_model

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch_size, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, batch_size)
    models, errors = {}, {}
    for method in dict.fromkeys([baseline, *methods]):
        try:
            model = _trainable_model(method, build_model)
            model.compile(tf.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
            for _ in range(2):
                model.train_on_batch(x, y)  # warm-up: tracing
            models[method] = model
        except Exception as error:  # the table says why a method is missing
            errors[method] = f"{type(error).__name__}: {error}"[:300]
    per_round: dict[str, list[float]] = {m: [] for m in models}
    order_rng = random.Random(0)
    for index in range(rounds):
        order = list(models)
        order_rng.shuffle(order)
        for method in order:
            started = time.perf_counter()
            for _ in range(steps):
                models[method].train_on_batch(x, y)
            per_round[method].append(steps * batch_size / (time.perf_counter() - started))
        log(f"training throughput round {index + 1}/{rounds} done")
    result: dict[str, dict[str, Any]] = {}
    for method, values in per_round.items():
        entry = {"images_per_s": summarize(values), "ratio_vs_" + baseline: None}
        if baseline in per_round:
            entry["ratio_vs_" + baseline] = summarize(
                [v / b for v, b in zip(values, per_round[baseline], strict=False)]
            )
        result[method] = entry
    for method, message in errors.items():
        result[method] = {"error": message}
    return {
        "batch_size": batch_size,
        "steps_per_round": steps,
        "rounds": rounds,
        "baseline": baseline,
        "methods": result,
    }


def _trainable_model(method, build_model):
    from bnnkit.methods import get_method

    instance = get_method(method)
    try:
        return build_model("lenet", instance, (28, 28, 1), 10)
    except Exception:
        pass
    # Multi-stage methods: build each stage's model on a tiny random dataset, no training.
    from bnnkit.data import Dataset  # noqa: F401

    stages = instance.training_stages(lambda m: build_model("lenet", m, (28, 28, 1), 10), 1)
    dataset = _tiny_dataset()
    previous = None
    for stage in stages:
        previous = stage.build(previous, dataset)
    return previous


def _tiny_dataset():

    from bnnkit.data import load_bundled_mnist_subset

    try:
        return load_bundled_mnist_subset().subset(256, 64)
    except Exception:  # pragma: no cover
        raise


def _memory(conversions: dict, nice: int) -> dict:
    out = {}
    for key, runtime, extra in (
        ("float-float", "tflite", []),
        ("float-float", "lce", ["--xnnpack"]),
        ("bnn-lce", "lce", []),
        ("bnn-int8", "lce", []),
        ("bnn-litert", "tflite", []),
    ):
        entry = conversions.get(key, {})
        if "path" not in entry:
            continue
        try:
            out[f"{key}/{runtime}"] = run_worker(
                ["infer", "--path", entry["path"], "--runtime", runtime, *extra], nice=nice
            )
        except Exception as error:
            out[f"{key}/{runtime}"] = {"error": str(error)}
    return out


def run_bench(
    out_dir: str | os.PathLike = "results",
    *,
    threads: Sequence[int] = (1, 2),
    rounds: int = 5,
    invocations: int = 20,
    lce_methods: Sequence[str] = DEFAULT_LCE_METHODS,
    throughput_methods: Iterable[str] | None = None,
    throughput_steps: int = 5,
    skip_throughput: bool = False,
    nice: int = 10,
    work_dir: str | os.PathLike | None = None,
    log: Callable[[str], object] = print,
) -> dict:
    """Run every benchmark and write ``bench.json`` and ``bench.md`` into ``out_dir``.

    The converted models go to ``work_dir`` (default: a temporary folder, kept out of git).
    """
    import tempfile

    from bnnkit.methods import available_methods

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(work_dir or tempfile.mkdtemp(prefix="bnnkit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "machine": machine_info(),
        "arch": "lenet",
        "input_shape": [28, 28, 1],
        "settings": {"threads": list(threads), "rounds": rounds, "invocations": invocations},
    }
    result["conversions"] = _conversions(work, lce_methods, nice, log)
    layers = _layer_models(work, log)
    result["latency"] = _latency(result["conversions"], layers, threads, rounds, invocations, log)
    result["layers"] = [{k: v for k, v in row.items() if k != "paths"} for row in layers]
    result["memory"] = _memory(result["conversions"], nice)
    if not skip_throughput:
        methods = throughput_methods or available_methods()
        result["training_throughput"] = training_throughput(
            methods, steps=throughput_steps, log=log
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    (out_dir / "bench.json").write_text(json.dumps(result, indent=2, default=str))
    (out_dir / "bench.md").write_text(bench_markdown(result))
    return result


def bench_markdown(result: dict) -> str:
    """The bench result as markdown tables (median [min-max] over rounds)."""
    label = result["machine"]["label"]
    s = result["settings"]
    lines = [
        f"# bnnkit bench ({label})",
        "",
        f"Measured on **{label}** (every figure below; no ARM figure here). LeNet-style "
        f"net, 28x28x1, batch 1. Median [min-max] over {s['rounds']} interleaved rounds "
        f"of {s['invocations']} invocations; speed-up = float XNNPACK ms / this ms at the "
        "same thread count, paired per round.",
        "",
        "## Latency",
        "",
        "| configuration | threads | ms/image | speed-up vs float |",
        "|---|---|---|---|",
    ]
    for name, entry in result["latency"].items():
        if name.startswith("layer:"):
            continue
        lines.append(
            f"| {name.rsplit('/', 1)[0]} | {entry['threads']} | {format_spread(entry['ms'], 3)} "
            f"| {format_spread(entry['speedup'])} |"
        )
    lines += [
        "",
        "## Binary layers alone vs XNOR-Net's prediction",
        "",
        "| layer | c | N_W | positions | filters | float ms | LCE default ms | LCE indirect "
        "ms | measured speed-up (indirect) | XNOR-Net S = 64cN_W/(cN_W+64) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result.get("layers", []):
        lat = result["latency"]
        f = lat.get(f"layer:{row['layer']}/float-xnnpack/t1", {})
        d = lat.get(f"layer:{row['layer']}/binary-lce/default/t1", {})
        i = lat.get(f"layer:{row['layer']}/binary-lce/indirect_bgemm/t1", {})
        lines.append(
            f"| {row['layer']} | {row['c']} | {row['n_w']} | {row['positions']} | "
            f"{row['filters']} | {format_spread(f.get('ms'), 3)} | "
            f"{format_spread(d.get('ms'), 3)} | "
            f"{format_spread(i.get('ms'), 3)} | {format_spread(i.get('speedup'))} | "
            f"{row['prediction']['xnor']} |"
        )
    lines += [
        "",
        "## Conversion (each in its own process)",
        "",
        "| model | target | seconds | peak RSS MB | RSS before conversion MB | .tflite bytes |",
        "|---|---|---|---|---|---|",
    ]
    for key, entry in result["conversions"].items():
        method, target = key.rsplit("-", 1)
        if "error" in entry:
            lines.append(f"| {method} | {target} | failed: {entry['error'][:120]} | | | |")
            continue
        lines.append(
            f"| {method} | {target} | {entry['seconds']} | {entry['peak_rss_mb']} | "
            f"{entry['baseline_rss_mb']} | {entry['tflite_bytes']:,} |"
        )
    lines += [
        "",
        "## Inference peak memory (own process, 20 invocations)",
        "",
        "| model/runtime | peak RSS MB | RSS before loading MB |",
        "|---|---|---|",
    ]
    for key, entry in result.get("memory", {}).items():
        if "error" in entry:
            lines.append(f"| {key} | failed | |")
        else:
            lines.append(f"| {key} | {entry['peak_rss_mb']} | {entry['baseline_rss_mb']} |")
    tp = result.get("training_throughput")
    if tp:
        lines += [
            "",
            f"## Training throughput (batch {tp['batch_size']}, "
            f"{tp['steps_per_round']} steps x {tp['rounds']} rounds, interleaved)",
            "",
            f"| method | images/s | ratio vs plain ste_sign ({tp['baseline']}) |",
            "|---|---|---|",
        ]
        for method, entry in tp["methods"].items():
            if "error" in entry:
                lines.append(f"| {method} | n/a: {entry['error'][:100]} | |")
            else:
                lines.append(
                    f"| {method} | {format_spread(entry['images_per_s'], 0)} | "
                    f"{format_spread(entry['ratio_vs_' + tp['baseline']])} |"
                )
    lines += ["", f"Total bench time: {result.get('seconds')} s.", ""]
    return "\n".join(lines)
