r"""``bnnkit bench --kernels``: bnnkit's x86 binary-convolution kernels, measured on this CPU.

The LCE-kernel delegate (``delegate/``) runs LCE's indirect-BGEMM convolution with bnnkit's
x86 microkernels (``delegate/src/x86_64``: AVX-512 VPOPCNTDQ, AVX-512 BW, AVX2, chosen at run
time) or, with the delegate options ``{"LceBconv2d": "indirect_bgemm", "LceQuantize": "lce"}``,
with LCE's portable C++ kernel. This section measures, in one run:

* **roofline**: this core's throughput of the binary MAC's instructions, XOR + popcount +
  accumulate, on registers, for each instruction set (``x86_kernel_check roofline``), in
  binary MACs per second; the fastest is the roofline. Measured, not taken from a data sheet.
* **layers**: each binary convolution shape of Bi-Real-18 at 224x224, alone (``x86_kernel_check
  bench``): G binary MACs/s and the fraction of the roofline measured in the same rounds, for
  each microkernel family this CPU runs and for LCE's portable kernel. A convolution's binary
  MACs are output pixels x output channels x filter taps x input channels.
* **models**: whole-model latency at 1 and 2 threads, interleaved (:mod:`bnnkit.bench.latency`):
  Bi-Real-18, XNOR-ResNet-18 and the LeNet BNN on ai-edge-litert + the delegate (x86 kernels,
  and LCE's portable kernel) and on LCE's interpreter (indirect BGEMM + XNNPACK), against float
  and int8 (full-integer) versions of the float architecture on ai-edge-litert + XNNPACK.
* **amdahl**: the bound that Bi-Real-18's float layers (stem, downsampling shortcuts, classifier)
  put on its speed-up over float ResNet-18, next to the measurement. With binary convolutions
  at zero cost, :math:`S_{max} = T_{float\,ResNet} / T_{rest}`. Two estimates: from MACs,
  :math:`T_{rest} \propto` Bi-Real's float MACs (each at ResNet-18's cost per MAC; elementwise
  ops left out), and measured, :math:`T_{rest} = T_{Bi-Real} - \sum_{layers} T_{bconv}` with
  the convolutions timed alone (warm caches, so the bound leans low).

Kernel rates use the measuring thread's CPU time at 1 thread (a shared machine's other
processes are left out; see ``delegate/tools/x86_kernel_check.cc``) and wall time at 2
threads; whole-model figures are wall time. Every ratio is formed within a round.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bnnkit.bench.latency import Config, format_spread, measure_latency
from bnnkit.bench.machine import machine_info
from bnnkit.bench.worker import convert_in_worker
from bnnkit.errors import BuildRequirementMissingError, NativeBuildError

__all__ = [
    "BINARY_MODELS",
    "LCE_INTERPRETER_OPTIONS",
    "LCE_PORTABLE_OPTIONS",
    "MODELS",
    "STEM",
    "amdahl",
    "binary_conv_layers",
    "build_kernel_check",
    "convert_models",
    "cpu_flags",
    "delegate_kernel_choice",
    "goal",
    "kernel_check",
    "kernel_section",
    "kernels_markdown",
    "lce_latency_config",
    "machine_load",
    "measure_layers",
    "model_configs",
    "run_kernel_bench",
]

# Delegate options that turn bnnkit's x86 kernels off: LCE's own kernels everywhere.
LCE_PORTABLE_OPTIONS = {"LceBconv2d": "indirect_bgemm", "LceQuantize": "lce"}
LCE_INTERPRETER_OPTIONS = {"use_indirect_bgemm": True, "use_xnnpack": True}

# name -> (arch, method, target, input shape, classes); the baselines are float_* and int8_*.
MODELS = {
    "bireal18": ("bireal18", "bireal", "lce", (224, 224, 3), 1000),
    "xnor_resnet18": ("resnet18", "xnor", "lce", (224, 224, 3), 1000),
    "float_resnet18": ("resnet18", "float", "float", (224, 224, 3), 1000),
    "int8_resnet18": ("resnet18", "float", "int8", (224, 224, 3), 1000),
    "bnn_lenet": ("lenet", "bnn", "lce", (28, 28, 1), 10),
    "float_lenet": ("lenet", "float", "float", (28, 28, 1), 10),
    "int8_lenet": ("lenet", "float", "int8", (28, 28, 1), 10),
}
BINARY_MODELS = {"bireal18": "resnet18", "xnor_resnet18": "resnet18", "bnn_lenet": "lenet"}
# Bi-Real-18's float stem alone, timed to show where the time outside the binary convs goes.
STEM, STEM_END = "bireal18_stem", "stem_pool"


def build_kernel_check(
    sources: str | os.PathLike | None = None, output: str | os.PathLike = "x86_kernel_check"
) -> Path:
    """Build ``x86_kernel_check`` (g++ -O3) from the pinned sources into ``output``.

    ``sources``: as for :func:`converters.delegate.build_delegate` (``None``: $BNNKIT_LCE_SOURCES
    or the download). Raises BuildRequirementMissingError (no g++, no sources, not x86_64)
    or NativeBuildError (the compiler failed).
    """
    from converters.delegate import native_sources_dir, resolve_sources

    if platform.machine() != "x86_64":
        raise BuildRequirementMissingError(
            f"bnnkit's x86 kernels are built on x86_64 only (this is {platform.machine()})"
        )
    compiler = os.environ.get("CXX") or "g++"
    if shutil.which(compiler) is None:
        raise BuildRequirementMissingError(
            f"the C++ compiler {compiler} is not installed (sudo apt-get install g++)"
        )
    output = Path(output)
    script = native_sources_dir() / "tools" / "build-x86-kernel-check.sh"
    done = subprocess.run(
        ["bash", str(script), "--sources", str(resolve_sources(sources)), "-o", str(output)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not output.is_file():
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise NativeBuildError(f"building x86_kernel_check failed: {tail}")
    return output


def kernel_check(binary: str | os.PathLike, mode: str, *args: object, timeout: float = 900) -> dict:
    """Run ``x86_kernel_check MODE ARGS...`` and return its JSON (also when a check fails)."""
    done = subprocess.run(
        [str(binary), mode, *map(str, args)], capture_output=True, text=True, timeout=timeout
    )
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise NativeBuildError(
            f"x86_kernel_check {mode} failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"
        ) from None


def binary_conv_layers(
    arch: str = "bireal18",
    method: str = "bireal",
    input_shape: tuple[int, int, int] = (224, 224, 3),
    classes: int = 1000,
) -> list[dict]:
    """The distinct binary convolution shapes of a model, with how often each occurs."""
    import bnnkit  # noqa: F401  (Keras 2)
    from bnnkit.bench.layers import layer_table
    from bnnkit.models import build_model

    rows = [
        r
        for r in layer_table(build_model(arch, method, tuple(input_shape), classes))
        if r["kind"] == "binary" and r["class"] != "QuantDense"
    ]
    counts = Counter(_spec(r) for r in rows)
    layers, seen = [], set()
    for r in rows:
        spec = _spec(r)
        if spec in seen:
            continue
        seen.add(spec)
        layers.append(
            {
                "name": r["layer"],
                "spec": spec,
                "count": counts[spec],
                "binary_macs": r["binary_macs"],
            }
        )
    return layers


def _spec(row: dict) -> str:
    h, w, c = row["input_shape"]
    return f"{h},{w},{c},{row['filters']},{row['kernel'][0]},{row['strides'][0]},{row['padding']}"


def measure_layers(
    binary: str | os.PathLike,
    layers: list[dict],
    *,
    threads: int = 1,
    rounds: int = 5,
    min_ms: float = 50.0,
) -> dict:
    """Per-layer G binary MACs/s and roofline fraction of every kernel (x86_kernel_check)."""
    args = ["--threads", threads, "--rounds", rounds, "--min-ms", min_ms]
    for layer in layers:
        args += ["--layer", f"{layer['name']}:{layer['spec']}"]
    result = kernel_check(binary, "bench", *args)
    for row, layer in zip(result["layers"], layers, strict=True):
        row["count"] = layer["count"]
    return result


def _convert(name: str, models_dir: Path, nice: int, log) -> dict:
    from bnnkit.bench.convert import convert, load_summary

    out = models_dir / name
    summary = load_summary(out)
    if summary is not None:
        return {"path": summary["path"], "tflite_bytes": summary["tflite_bytes"], "cached": True}
    if name == STEM:
        log(f"converting {name}: Bi-Real-18 up to {STEM_END}, float")
        summary = convert(_stem_model(), out, "float")
        return {"path": summary["path"], "tflite_bytes": summary["tflite_bytes"], "cached": False}
    arch, method, target, shape, classes = MODELS[name]
    log(f"converting {name} ({arch}/{method} -> {target}) in a child process")
    row = convert_in_worker(
        arch,
        method,
        target,
        out,
        input_shape=shape,
        classes=classes,
        calibration=4,
        compare_float=False,
        nice=nice,
        timeout=7200,
    )
    return {
        "path": row["path"],
        "tflite_bytes": row["tflite_bytes"],
        "seconds": row["seconds"],
        "cached": False,
    }


def _stem_model():
    """Bi-Real-18's float stem alone: 7x7 conv, batch norm, ReLU, 3x3 max-pool."""
    import tensorflow as tf

    import bnnkit  # noqa: F401
    from bnnkit.models import build_model

    model = build_model("bireal18", "bireal", (224, 224, 3), 1000)
    return tf.keras.Model(model.input, model.get_layer(STEM_END).output)


def convert_models(
    models_dir: str | os.PathLike,
    *,
    names: Sequence[str] = (*MODELS, STEM),
    nice: int = 10,
    log: Callable[[str], object] = print,
) -> dict:
    """Convert (or reuse from ``models_dir``) every model of :data:`MODELS`, and the stem."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    converted = {}
    for name in names:
        try:
            converted[name] = _convert(name, models_dir, nice, log)
        except Exception as error:  # recorded: the section reports what it could measure
            converted[name] = {"error": str(error)[:500]}
    return converted


def _binary_variants(delegate) -> list[tuple[str, str, dict]]:
    return [
        ("delegate-x86", "litert", {"delegate": str(delegate)}),
        (
            "delegate-lce-portable",
            "litert",
            {"delegate": str(delegate), "delegate_options": LCE_PORTABLE_OPTIONS},
        ),
        ("lce-interpreter", "lce", dict(LCE_INTERPRETER_OPTIONS)),
    ]


def model_configs(
    converted: dict, delegate: str | os.PathLike, threads: Sequence[int] = (1, 2)
) -> tuple[list, dict]:
    """The latency configurations, and ``{config: the float model's config}`` (same threads)."""
    ok = {k: v["path"] for k, v in converted.items() if "path" in v}
    configs, baseline = [], {}

    def add(name, model, runtime, threads_, options, float_arch=None):
        configs.append(Config(name, ok[model], runtime, threads_, options))
        base = f"float_{float_arch}/litert-xnnpack/t{threads_}"
        if f"float_{float_arch}" in ok and base != name:
            baseline[name] = base

    for t in threads:
        for float_arch in dict.fromkeys(BINARY_MODELS.values()):
            for kind in ("float", "int8"):
                if f"{kind}_{float_arch}" in ok:
                    add(
                        f"{kind}_{float_arch}/litert-xnnpack/t{t}",
                        f"{kind}_{float_arch}",
                        "litert",
                        t,
                        {},
                        float_arch,
                    )
        for name, float_arch in BINARY_MODELS.items():
            if name in ok:
                for variant, runtime, options in _binary_variants(delegate):
                    add(f"{name}/{variant}/t{t}", name, runtime, t, options, float_arch)
        if STEM in ok:
            add(f"{STEM}/litert-xnnpack/t{t}", STEM, "litert", t, {})  # a part: no ratio
    return configs, baseline


def lce_latency_config(
    name: str,
    path: str | os.PathLike,
    threads: int = 1,
    delegate: str | os.PathLike | None = None,
) -> Config:
    """How to time an ``lce`` model on this machine with bnnkit's fastest binary kernels.

    ai-edge-litert + the LCE-kernel delegate (``delegate``, else
    :func:`converters.delegate.find_delegate`), which picks its x86 kernels from the CPU
    features it reads at run time (XNNPACK runs the float ops). Without a built delegate:
    LCE's interpreter with its indirect-BGEMM kernels. The config's ``runtime`` and
    ``options`` say which one was used. For :func:`bnnkit.bench.latency.measure_latency`.
    """
    from converters.delegate import find_delegate

    delegate = delegate or find_delegate()
    if delegate is None:
        return Config(name, str(path), "lce", int(threads), {"use_indirect_bgemm": True})
    return Config(name, str(path), "litert", int(threads), {"delegate": str(delegate)})


def cpu_flags() -> dict:
    """The x86 features the kernels use, as /proc/cpuinfo lists them on this machine."""
    wanted = ("popcnt", "avx2", "avx512f", "avx512bw", "avx512_vpopcntdq", "avx512_bitalg")
    try:
        with open("/proc/cpuinfo") as handle:
            flags = next(
                (line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), []
            )
    except OSError:
        flags = []
    return {flag: flag in flags for flag in wanted}


def delegate_kernel_choice(delegate: str | os.PathLike, model_path: str | os.PathLike) -> list[str]:
    """The delegate's own log of the kernel it picks for each LceBconv2d of a model (run in a
    child process with ``$BNNKIT_X86_KERNELS_LOG``)."""
    code = (
        "import sys; from ai_edge_litert.interpreter import Interpreter, load_delegate; "
        "i = Interpreter(model_path=sys.argv[2], experimental_delegates="
        "[load_delegate(sys.argv[1])]); i.allocate_tensors(); i.invoke()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(delegate), str(model_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BNNKIT_X86_KERNELS_LOG": "1"},
    )
    return [
        line.split(": ", 1)[1]
        for line in done.stderr.splitlines()
        if line.startswith("bnnkit x86 kernels: ")
    ]


def amdahl(layers: dict, latency: dict) -> dict:
    """Bi-Real-18's speed-up over float ResNet-18 (1 thread) and its Amdahl bounds.

    ``cpu``: from the invoking thread's CPU time (whole models) and the kernels' CPU-time
    rates (layers): what the machine's other processes cannot inflate. ``wall``: wall time.
    """
    import bnnkit  # noqa: F401
    from bnnkit.bench.layers import layer_table, mac_summary
    from bnnkit.models import build_model

    def macs(arch, method):
        return mac_summary(layer_table(build_model(arch, method, (224, 224, 3), 1000)))

    bireal, resnet = macs("bireal18", "bireal"), macs("resnet18", "float")
    float_macs = bireal["macs"] - bireal["binary_macs"] - bireal["binary_weight_macs"]
    out = {
        "bireal_float_macs": float_macs,
        "bireal_binary_macs": bireal["binary_macs"],
        "resnet18_macs": resnet["macs"],
        "bound_from_macs": round(resnet["macs"] / float_macs, 2),
    }
    model = latency.get("bireal18/delegate-x86/t1")
    base = latency.get("float_resnet18/litert-xnnpack/t1")
    if not model or not base:
        return out
    out["kernel"] = best = _best_kernel(layers)
    rows = layers["layers"]
    bconv = {
        "wall": sum(r["count"] * r["kernels"][best]["wall_ms"] for r in rows),
        "cpu": sum(r["count"] * r["binary_macs"] / r["kernels"][best]["gmacs_per_s"] for r in rows)
        * 1e-6,
    }
    stem = latency.get(f"{STEM}/litert-xnnpack/t1", {})
    for clock, ms, speedup in (("wall", "ms", "speedup"), ("cpu", "cpu_ms", "cpu_speedup")):
        if ms not in model or ms not in base:
            continue
        rest = model[ms]["median"] - bconv[clock]
        out[clock] = {
            "bireal_ms": model[ms]["median"],
            "float_resnet18_ms": base[ms]["median"],
            "binary_convs_alone_ms": round(bconv[clock], 3),
            "rest_ms": round(rest, 3),
            "measured_speedup": model[speedup]["median"],
            "bound_measured": round(base[ms]["median"] / rest, 2) if rest > 0 else None,
        }
        if ms in stem:
            out[clock]["stem_alone_ms"] = stem[ms]["median"]
    return out


def _best_kernel(layers: dict) -> str:
    """The family the delegate picks here: the last (best) instruction set of the run."""
    return layers["isas"][-1] if layers.get("isas") else "lce_portable"


def goal(layers: dict, amdahl_result: dict) -> dict:
    """The goal: Bi-Real-18 >= 3x float ResNet-18 (XNNPACK, 1 thread) with the binary
    convolutions at >= 25% of the measured roofline (MAC-weighted over the layers).

    Judged on the CPU-time ratio when there is one (a busy machine inflates the wall time of
    a long inference more than that of a short one), else on wall time; both are reported.
    """
    best = _best_kernel(layers)
    rows = layers["layers"]
    total = sum(r["count"] * r["binary_macs"] for r in rows)
    fraction = (
        sum(
            r["count"] * r["binary_macs"] * r["kernels"][best]["fraction_of_roofline"] for r in rows
        )
        / total
    )
    clock = "cpu" if "cpu" in amdahl_result else "wall"
    speedup = amdahl_result.get(clock, {}).get("measured_speedup")
    return {
        "speedup_target": 3.0,
        "clock": clock,
        "speedup": speedup,
        "wall_speedup": amdahl_result.get("wall", {}).get("measured_speedup"),
        "roofline_fraction_target": 0.25,
        "roofline_fraction": round(fraction, 4),
        "min_layer_fraction": round(
            min(r["kernels"][best]["fraction_of_roofline"] for r in rows), 4
        ),
        "met": bool(speedup is not None and speedup >= 3.0 and fraction >= 0.25),
    }


def machine_load() -> dict:
    """Load average and the busiest other processes: how quiet the machine was."""
    ps = subprocess.run(
        ["ps", "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True, text=True
    ).stdout.splitlines()[1:8]
    return {
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "top_processes": [" ".join(line.split())[:120] for line in ps],
    }


def _tools(sources, delegate, work: Path, log) -> tuple[Path, Path, Path]:
    """The sources folder, x86_kernel_check and the delegate (built when not given)."""
    from converters.delegate import DELEGATE_FILE, build_delegate, resolve_sources

    sources = resolve_sources(sources)
    log("building x86_kernel_check")
    binary = build_kernel_check(sources, work / "x86_kernel_check")
    if delegate is None:
        log("building the delegate")
        delegate = build_delegate("native", sources=sources, output=work / DELEGATE_FILE)
    return sources, binary, Path(delegate)


def kernel_section(
    binary: str | os.PathLike, *, rounds: int, min_ms: float, log: Callable[[str], object]
) -> dict:
    """Features, a short bit-exactness check, the roofline and Bi-Real-18's layers."""
    out = {"features": kernel_check(binary, "features"), "cpuinfo_flags": cpu_flags()}
    log("bit-exactness check and roofline")
    out["check"] = kernel_check(binary, "check", "--cases", 100, "--seed", 7)
    out["roofline"] = {f"t{t}": kernel_check(binary, "roofline", "--threads", t) for t in (1, 2)}
    layers = binary_conv_layers()
    log(f"Bi-Real-18: {len(layers)} binary convolution shapes, each alone")
    out["layers"] = measure_layers(binary, layers, rounds=rounds, min_ms=min_ms)
    return out


def run_kernel_bench(
    out_dir: str | os.PathLike = "results",
    *,
    sources: str | os.PathLike | None = None,
    delegate: str | os.PathLike | None = None,
    models_dir: str | os.PathLike | None = None,
    threads: Sequence[int] = (1, 2),
    rounds: int = 5,
    invocations: int = 20,
    min_ms: float = 50.0,
    nice: int = 10,
    log: Callable[[str], object] = print,
) -> dict:
    """Run the kernel section and write ``kernels.json`` and ``kernels.md`` into ``out_dir``.

    ``models_dir`` caches the converted models (a 224x224 conversion takes minutes).
    """
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bnnkit-kernels-"))
    models_dir = Path(models_dir or work / "models")
    result: dict[str, Any] = {
        "machine": machine_info(),
        "load_before": machine_load(),
        "settings": {
            "threads": list(threads),
            "rounds": rounds,
            "invocations": invocations,
            "layer_min_ms": min_ms,
        },
    }
    _, binary, delegate = _tools(sources, delegate, work, log)
    result.update(kernel_section(binary, rounds=rounds, min_ms=min_ms, log=log))
    result["conversions"] = convert_models(models_dir, nice=nice, log=log)
    if "path" in result["conversions"].get("bireal18", {}):
        result["delegate_choice"] = delegate_kernel_choice(
            delegate, result["conversions"]["bireal18"]["path"]
        )
    configs, baseline = model_configs(result["conversions"], delegate, threads)
    log(f"whole models: {len(configs)} configurations, {rounds} interleaved rounds")
    result["latency"] = measure_latency(
        configs, rounds=rounds, invocations=invocations, baseline=baseline, log=log
    )
    result["amdahl"] = amdahl(result["layers"], result["latency"])
    result["goal"] = goal(result["layers"], result["amdahl"])
    result["load_after"] = machine_load()
    result["seconds"] = round(time.perf_counter() - started, 1)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "kernels.json").write_text(json.dumps(result, indent=2, default=str))
    (out_dir / "kernels.md").write_text(kernels_markdown(result))
    return result


def _roofline_lines(result: dict) -> list[str]:
    roof = result["roofline"]
    lines = [
        "## Roofline: XOR + popcount + accumulate on registers",
        "",
        "| loop | G binary MACs/s, 1 thread | 2 threads |",
        "|---|---|---|",
    ]
    for loop, rate in roof["t1"]["loops"].items():
        lines.append(f"| {loop} | {rate:.0f} | {roof['t2']['loops'].get(loop, 0):.0f} |")
    lines += [
        "",
        f"Roofline (the fastest loop): **{roof['t1']['roofline_gmacs_per_s']:.0f} G "
        f"binary MACs/s** per core ({roof['t1']['roofline_loop']}; thread CPU time).",
        "",
    ]
    return lines


def _layer_lines(result: dict) -> list[str]:
    layers = result["layers"]
    kernels = list(layers["layers"][0]["kernels"])
    lines = [
        "## Bi-Real-18's binary convolutions, each alone (1 thread, float output)",
        "",
        "G binary MACs/s (fraction of the roofline measured in the same rounds); "
        f"median of {layers['rounds']} interleaved rounds.",
        "",
        "| layer (H,W,Cin,Cout,K,stride,padding) | x | G binary MACs | "
        + " | ".join(kernels)
        + " | speed-up vs LCE portable |",
        "|---|---|---|" + "---|" * (len(kernels) + 1),
    ]
    best = kernels[-1]
    for row in layers["layers"]:
        cells = [
            f"{k['gmacs_per_s']:.0f} ({100 * k['fraction_of_roofline']:.1f}%)"
            for k in row["kernels"].values()
        ]
        lines.append(
            f"| {row['name']} ({row['shape']['height']},{row['shape']['width']},"
            f"{row['shape']['cin']},{row['shape']['cout']},{row['shape']['kernel']},"
            f"{row['shape']['stride']},{row['shape']['padding']}) | {row['count']} | "
            f"{row['binary_macs'] / 1e9:.3f} | " + " | ".join(cells) + " | "
            f"{row['kernels'][best]['speedup_vs_lce_portable']:.1f}x |"
        )
    return lines + [""]


def _model_lines(result: dict) -> list[str]:
    latency, threads = result["latency"], result["settings"]["threads"]
    heads = []
    for t in threads:
        heads += [f"{t} thread(s): ms", "speed-up"] + (["CPU ms", "CPU speed-up"] if t == 1 else [])
    lines = [
        "## Whole models (ms/image; speed-up vs the float model on XNNPACK)",
        "",
        "Median [min-max] over the rounds. At 1 thread the inference runs on the invoking "
        "thread, so its CPU time is also given: it leaves out the time other processes "
        "held the core.",
        "",
        "| model | runtime | " + " | ".join(heads) + " |",
        "|---|---|" + "---|" * len(heads),
    ]
    load = max(result["load_before"]["loadavg"] + result["load_after"]["loadavg"])
    if load > result["machine"]["cores"]:
        lines[4:4] = [
            f"The load average reached {load:.1f} on {result['machine']['cores']} "
            "cores: the wall times, above all at 2 threads (where a thread waits for "
            "the other to get a core), measure the contention as much as the code.",
            "",
        ]
    for name in dict.fromkeys(c.rsplit("/", 1)[0] for c in latency):
        model, runtime = name.split("/", 1)
        cells = []
        for t in threads:
            entry = latency.get(f"{name}/t{t}", {})
            cells += [format_spread(entry.get("ms")), format_spread(entry.get("speedup"))]
            if t == 1:
                cells += [
                    format_spread(entry.get("cpu_ms")),
                    format_spread(entry.get("cpu_speedup")),
                ]
        lines.append(f"| {model} | {runtime} | " + " | ".join(cells) + " |")
    return lines + [""]


def _amdahl_lines(result: dict) -> list[str]:
    a, g = result["amdahl"], result["goal"]
    lines = [
        "## Bi-Real-18 vs float ResNet-18 (1 thread): measured and the Amdahl bound",
        "",
        f"* Bi-Real-18's float MACs (stem, shortcuts, classifier): "
        f"{a['bireal_float_macs'] / 1e6:.0f} M, against {a['resnet18_macs'] / 1e6:.0f} M "
        f"for float ResNet-18: bound from MACs **{a['bound_from_macs']}x**.",
    ]
    for clock, label in (("cpu", "CPU time"), ("wall", "wall time")):
        if clock not in a:
            continue
        c = a[clock]
        lines.append(
            f"* {label}: Bi-Real-18 {c['bireal_ms']:.2f} ms, of which its binary convolutions "
            f"alone ({a['kernel']}) take {c['binary_convs_alone_ms']:.2f} ms, the rest "
            f"{c['rest_ms']:.2f} ms"
            + (
                f" (its float stem alone: {c['stem_alone_ms']:.2f} ms)"
                if "stem_alone_ms" in c
                else ""
            )
            + f"; float ResNet-18 {c['float_resnet18_ms']:.2f} ms. "
            f"Measured speed-up **{c['measured_speedup']:.2f}x**; bound with the binary "
            f"convolutions free **{c['bound_measured']}x**."
        )
    lines += [
        f"* Goal (>= {g['speedup_target']:.0f}x at 1 thread with the binary convolutions "
        f"at >= {100 * g['roofline_fraction_target']:.0f}% of the roofline): speed-up "
        f"{g['speedup']:.2f}x ({g['clock']} time), MAC-weighted roofline fraction "
        f"{100 * g['roofline_fraction']:.1f}% (lowest layer "
        f"{100 * g['min_layer_fraction']:.1f}%): **{'met' if g['met'] else 'not met'}**.",
        "",
    ]
    return lines


def _choices(result: dict) -> str:
    counts = Counter(line.split(": ", 1)[1] for line in result.get("delegate_choice", []))
    return ", ".join(f"{choice} ({n} convolutions)" for choice, n in counts.items()) or "-"


def kernels_markdown(result: dict) -> str:
    """The kernel section as markdown tables."""
    label, load = result["machine"]["label"], result["load_before"]
    check = result["check"]
    lines = [
        f"# bnnkit x86 binary kernels ({label})",
        "",
        f"Measured on **{label}** by `bnnkit bench --kernels` in one run "
        f"({result['seconds']} s). Load average before: {load['loadavg']}, after: "
        f"{result['load_after']['loadavg']} (a shared machine; busiest processes are "
        "in kernels.json).",
        "",
        f"CPU features read at run time: {', '.join(result['features']['isas'])}; the "
        f"delegate's choice for Bi-Real-18's binary convolutions: {_choices(result)}.",
        "",
        f"Bit-exactness in this run: {check['comparisons']} comparisons of "
        f"{check['cases']} random convolutions against LCE's portable kernel, "
        f"{check['failures']} failures.",
        "",
    ]
    lines += _roofline_lines(result) + _layer_lines(result) + _model_lines(result)
    lines += _amdahl_lines(result)
    return "\n".join(lines)
