r"""``bnnkit bench --runtimes``: LCE models on LCE's interpreter vs the stock runtime with the
LCE-kernel delegate, against float XNNPACK; x86, 1 thread, and each runtime's peak memory.

Models (:data:`bnnkit.bench.kernels.MODELS`, converted once and cached in ``models_dir``):
the LeNet BNN (28x28x1) and Bi-Real-18 (224x224x3), each beside its float architecture (LeNet,
ResNet-18) on XNNPACK. Configurations, all at 1 thread:

* ``lce-interpreter``: LCE's own interpreter (indirect BGEMM, XNNPACK for float ops), which has
  a Python wheel for x86_64 only;
* ``delegate-lce-portable``: stock ai-edge-litert + the LCE-kernel delegate with LCE's own
  kernels (``{"LceBconv2d": "indirect_bgemm", "LceQuantize": "lce"}``: the delegate's kernels
  on a Pi), XNNPACK for float ops;
* ``delegate-x86``: the same delegate with its default kernels on x86_64 (bnnkit's AVX2 /
  AVX-512 microkernels, ``delegate/src/x86_64``), XNNPACK for float ops;
* ``float-xnnpack``: the float architecture on ai-edge-litert + XNNPACK.

Latency: :func:`bnnkit.bench.latency.measure_latency`, interleaved rounds; ``speedup`` = float
XNNPACK ms / this ms, formed within each round (paired); ``vs_lce_interpreter`` = the LCE
interpreter's median ms / this median ms (a ratio of medians). Memory: every configuration
again in its own process (``python -m bnnkit.bench.worker infer``): peak resident memory
(``VmHWM``) after its invocations, the resident memory before the interpreter was created, and
whether TensorFlow was imported (no: neither LCE's interpreter nor ai-edge-litert needs it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from bnnkit.bench.kernels import LCE_PORTABLE_OPTIONS, convert_models
from bnnkit.bench.latency import Config, measure_latency
from bnnkit.bench.machine import machine_info
from bnnkit.bench.worker import run_worker

__all__ = [
    "PAIRS",
    "measure_memory",
    "run_runtimes",
    "runtime_configs",
    "runtimes_markdown",
    "without_paths",
    "write_runtimes",
]

# binary model -> its float architecture's model (kernels.MODELS names)
PAIRS = {"bnn_lenet": "float_lenet", "bireal18": "float_resnet18"}


def _variants(delegate: Path) -> dict[str, tuple[str, dict]]:
    return {
        "lce-interpreter": ("lce", {"use_indirect_bgemm": True, "use_xnnpack": True}),
        "delegate-lce-portable": (
            "litert",
            {"delegate": str(delegate), "delegate_options": dict(LCE_PORTABLE_OPTIONS)},
        ),
        "delegate-x86": ("litert", {"delegate": str(delegate)}),
    }


def runtime_configs(paths: dict[str, str], delegate: Path) -> tuple[list[Config], dict]:
    """The 1-thread configurations and ``{config: its float XNNPACK config}``."""
    configs, baseline = [], {}
    for binary, floating in PAIRS.items():
        if binary not in paths or floating not in paths:
            continue
        base = f"{binary}/float-xnnpack"
        configs.append(Config(base, paths[floating], "litert", 1, {}))
        for variant, (runtime, options) in _variants(delegate).items():
            name = f"{binary}/{variant}"
            configs.append(Config(name, paths[binary], runtime, 1, options))
            baseline[name] = base
    return configs, baseline


def _worker_argv(config: Config, invocations: int) -> list[str]:
    argv = [
        "infer",
        "--path",
        config.path,
        "--runtime",
        config.runtime,
        "--invocations",
        str(invocations),
    ]
    if config.runtime == "lce" and config.options.get("use_xnnpack"):
        argv.append("--xnnpack")
    if config.options.get("delegate"):
        argv += ["--delegate", config.options["delegate"]]
        for key, value in config.options.get("delegate_options", {}).items():
            argv += ["--delegate-option", f"{key}={value}"]
    return argv


def measure_memory(configs: list[Config], *, invocations: int = 20, nice: int = 0) -> dict:
    """Each configuration in its own process: peak RSS, RSS before loading, TF imported."""
    memory = {}
    for config in configs:
        try:
            memory[config.name] = run_worker(_worker_argv(config, invocations), nice=nice)
        except Exception as error:  # recorded: the section reports what it could measure
            memory[config.name] = {"error": str(error)[:300]}
    return memory


def _vs_lce_interpreter(latency: dict) -> None:
    """LCE interpreter's median ms / this median ms, for each configuration of its model."""
    for name, entry in latency.items():
        lce = latency.get(f"{name.split('/')[0]}/lce-interpreter")
        if lce:
            entry["vs_lce_interpreter"] = round(lce["ms"]["median"] / entry["ms"]["median"], 3)


def run_runtimes(
    delegate: str | os.PathLike,
    models_dir: str | os.PathLike,
    *,
    rounds: int = 5,
    invocations: int = 20,
    nice: int = 10,
    log: Callable[[str], None] = print,
) -> dict:
    """Convert (or reuse) the models, time them interleaved, then measure memory."""
    converted = convert_models(models_dir, names=(*PAIRS, *PAIRS.values()), nice=nice, log=log)
    paths = {name: entry["path"] for name, entry in converted.items() if "path" in entry}
    configs, baseline = runtime_configs(paths, Path(delegate))
    latency = measure_latency(
        configs, rounds=rounds, invocations=invocations, baseline=baseline, log=log
    )
    _vs_lce_interpreter(latency)
    return without_paths(
        {
            "machine": machine_info(),
            "threads": 1,
            "rounds": rounds,
            "invocations": invocations,
            "delegate": str(delegate),
            "models": converted,
            "latency": latency,
            "memory": measure_memory(configs, invocations=invocations, nice=0),
        }
    )


def without_paths(result: dict) -> dict:
    """The result with this machine's file paths reduced to file names (models by name)."""
    out = dict(result, delegate=Path(result["delegate"]).name)
    out["models"] = {
        name: {k: v for k, v in entry.items() if k != "path"}
        for name, entry in result["models"].items()
    }
    for section in ("latency", "memory"):
        out[section] = {
            name: {k: v for k, v in entry.items() if k != "path"}
            for name, entry in result[section].items()
        }
    for entry in out["latency"].values():
        if "delegate" in entry.get("options", {}):
            entry["options"] = dict(entry["options"], delegate=out["delegate"])
    return out


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def runtimes_markdown(result: dict) -> str:
    """The tables of ``runtimes.md`` (docs quote them; a test keeps them in step)."""
    lines = [
        f"Measured on **{result['machine']['label']}**, {result['threads']} thread, batch 1: "
        f"median over {result['rounds']} interleaved rounds of {result['invocations']} "
        "invocations; speed-up = float XNNPACK ms / this ms, paired per round; "
        "vs LCE = LCE interpreter median ms / this median ms.",
        "",
        "| model | runtime | ms/image | speed-up vs float XNNPACK | vs LCE interpreter "
        "| peak RSS MB | TensorFlow imported |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in result["latency"].items():
        model, runtime = name.split("/")
        memory = result["memory"].get(name, {})
        speedup = (entry.get("speedup") or {}).get("median")
        lines.append(
            f"| {model} | {runtime} | {_fmt(entry['ms']['median'], 3)} | {_fmt(speedup)} | "
            f"{_fmt(entry.get('vs_lce_interpreter'))} | {memory.get('peak_rss_mb', 'n/a')} | "
            f"{'yes' if memory.get('imports_tensorflow') else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def write_runtimes(result: dict, out_dir: str | os.PathLike) -> Path:
    """``runtimes.json`` and ``runtimes.md`` in ``out_dir``; returns the JSON's path."""
    from bnnkit.serialization import atomic_write_json, atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "runtimes.json", result)
    atomic_write_text(
        out / "runtimes.md",
        "# LCE models: LCE's interpreter vs ai-edge-litert + the LCE-kernel delegate\n\n"
        "Written by `bnnkit bench --runtimes` (`bnnkit/bench/runtimes.py`).\n\n"
        + runtimes_markdown(result),
    )
    return out / "runtimes.json"
