"""``bnnkit report``: train every method on MNIST and Fashion-MNIST (same LeNet, same
budget), convert and evaluate each, and write ``results/REPORT.md``, plots and JSON.

    from bnnkit.bench.report import run_report
    run_report("results", datasets=["mnist"], methods=["float", "bnn"], epochs=1,
               train_limit=500)

It resumes: a run folder with a finished run (:func:`bnnkit.training.run_is_complete`) is not
trained again, an interrupted one resumes from its last epoch checkpoint, and a conversion or
evaluation whose outputs exist is not redone. Run folders are named after the budget
(``<runs>/<dataset>-<method>-e<epochs>-n<train images>``), so a different budget never
reuses a run trained with another.

Targets: ``lce`` for the methods with binary activations (BNN, XNOR, HORQ, Bi-Real),
``litert`` (stock ops, binary weights stored exactly as int8) for binary-weight methods with
real inputs (BWN, BWNH, SBD), and the stock float converter for ``float``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bnnkit.bench.machine import machine_info
from bnnkit.serialization import atomic_write_json

if TYPE_CHECKING:
    from bnnkit.data import Dataset
    from bnnkit.methods import Method

__all__ = ["DEFAULT_DATASETS", "run_one", "run_report", "target_for"]


DEFAULT_DATASETS = ("mnist", "fashion_mnist")


def target_for(method: Method) -> str:
    """The deployment target of a method instance: ``float``, ``lce`` or ``litert``."""
    if method.binary_activations:
        return "lce"
    if method.binary_weights:
        return "litert"
    return "float"


def _run_name(dataset: str, method: str, epochs, train_limit) -> str:
    return (
        f"{dataset}-{method}-e{epochs if epochs is not None else 'recipe'}-n{train_limit or 'all'}"
    )


def run_one(
    dataset_name: str,
    method_name: str,
    *,
    runs_dir: Path,
    epochs: int | None,
    train_limit: int | None,
    test_limit: int | None,
    data_dir: str | None,
    seed: int,
    dataset: Dataset,
    log: Callable[[str], object] = print,
) -> dict:
    """Train (or resume, or skip), convert and evaluate one method on one dataset."""

    from bnnkit.methods import get_method
    from bnnkit.serialization import load_model
    from bnnkit.training import TrainConfig, run_is_complete, train

    method = get_method(method_name)
    run_dir = runs_dir / _run_name(dataset_name, method_name, epochs, train_limit)
    if run_is_complete(run_dir):
        log(f"[{dataset_name}/{method_name}] trained earlier: {run_dir}")
    else:
        config = TrainConfig(
            method=method_name,
            dataset=dataset_name,
            arch="lenet",
            epochs=epochs,
            data_dir=data_dir,
            seed=seed,
            train_limit=train_limit,
            test_limit=test_limit,
        )
        resume = (run_dir / "config.json").is_file()
        log(f"[{dataset_name}/{method_name}] {'resuming' if resume else 'training'} -> {run_dir}")
        train(
            config,
            run_dir,
            resume=resume,
            overwrite=not resume and run_dir.exists(),
            dataset=dataset,
            verbose=0,
            log=log,
        )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    target = target_for(method)
    out = run_dir / f"tflite-{target}"
    from bnnkit.bench.convert import load_summary

    summary = load_summary(out)
    model = None
    x_test = dataset.normalize(dataset.x_test)
    y_test = dataset.y_test
    if summary is None:
        log(f"[{dataset_name}/{method_name}] converting ({target})")
        from bnnkit.bench.convert import convert

        model = load_model(run_dir / "model.keras")
        calibration = slice(0, min(500, len(x_test)))
        summary = convert(
            model, out, target, calibration_x=x_test[calibration], calibration_y=y_test[calibration]
        )
    else:
        log(f"[{dataset_name}/{method_name}] converted earlier: {out}")
    eval_path = out / "evaluation.json"
    if eval_path.is_file():
        evaluation = json.loads(eval_path.read_text())
    else:
        from converters import compare_keras_tflite, evaluate_tflite

        model = model or load_model(run_dir / "model.keras")
        started = time.perf_counter()
        tflite = evaluate_tflite(summary["path"], x_test, y_test)
        agreement = compare_keras_tflite(model, summary["path"], x_test)
        evaluation = {
            "tflite_accuracy": tflite["accuracy"],
            "n": tflite["n"],
            "runtime": tflite["runtime"],
            "options": tflite["options"],
            "agreement": agreement["top1_agreement"],
            "max_abs_diff": agreement["max_abs_diff"],
            "seconds": round(time.perf_counter() - started, 2),
        }
        atomic_write_json(eval_path, evaluation, default=str)
    from bnnkit.bench.convert import report_field
    from bnnkit.bench.layers import layer_table, mac_summary, whole_model_prediction

    rows_path = out / "layers.json"
    if rows_path.is_file():
        rows = json.loads(rows_path.read_text())
    else:
        model = model or load_model(run_dir / "model.keras")
        rows = layer_table(model)
        atomic_write_json(rows_path, rows, default=str)
    macs = mac_summary(rows)
    converter_fraction = report_field(summary, "macs", "binary_fraction")
    size = report_field(summary, "size") or {}
    return {
        "dataset": dataset_name,
        "method": method_name,
        "title": method.title,
        "reference": method.reference,
        "run_dir": str(run_dir),
        "target": target,
        "keras_accuracy": metrics["test_accuracy"],
        "tflite_accuracy": evaluation["tflite_accuracy"],
        "agreement": evaluation["agreement"],
        "test_images": metrics["test_images"],
        "train_images": metrics["train_images"],
        "epochs": metrics["epochs"],
        "parameters": metrics["parameters"],
        "train_seconds": sum(s.get("seconds", 0) for s in metrics.get("stages", [])),
        "tflite_path": summary["path"],
        "tflite_bytes": summary["tflite_bytes"],
        "float_tflite_bytes": size.get("float_tflite_bytes"),
        "conversion_seconds": summary["seconds"],
        "binary_fraction": converter_fraction
        if converter_fraction is not None
        else macs["binary_fraction"],
        "binary_weight_fraction": macs["binary_weight_fraction"],
        "macs": macs["macs"],
        "layers": rows,
        "predicted_speedup": {
            f: round(whole_model_prediction(rows, f), 2) for f in ("xnor", "horq", "bwn", "sbd")
        },
    }


def _latencies(results: list[dict], rounds: int, invocations: int, log) -> None:
    """Interleaved latency of every converted model (1 thread), ratio vs the float model."""
    from bnnkit.bench.latency import Config, measure_latency

    configs, baseline = [], {}
    for dataset in dict.fromkeys(r["dataset"] for r in results):
        rows = [r for r in results if r["dataset"] == dataset]
        float_rows = [r for r in rows if r["target"] == "float"]
        for r in rows:
            runtime = "tflite" if r["target"] in ("float", "litert") else "lce"
            options = {"use_indirect_bgemm": True} if runtime == "lce" else {}
            name = f"{dataset}/{r['method']}"
            configs.append(Config(name, r["tflite_path"], runtime, 1, options))
            if float_rows and r is not float_rows[0]:
                baseline[name] = f"{dataset}/{float_rows[0]['method']}"
    if not configs:
        return
    measured = measure_latency(
        configs, rounds=rounds, invocations=invocations, baseline=baseline, log=log
    )
    for r in results:
        entry = measured[f"{r['dataset']}/{r['method']}"]
        r["latency_ms"] = entry["ms"]
        r["speedup_vs_float"] = entry["speedup"]
        r["latency_runtime"] = {
            "runtime": entry["runtime"],
            "options": entry["options"],
            "threads": entry["threads"],
        }


def run_report(
    out_dir: str | os.PathLike = "results",
    *,
    datasets: Sequence[str] = DEFAULT_DATASETS,
    methods: Sequence[str] | None = None,
    epochs: int | None = None,
    train_limit: int | None = None,
    test_limit: int | None = None,
    data_dir: str | None = None,
    runs_dir: str | os.PathLike | None = None,
    seed: int = 0,
    latency_rounds: int = 5,
    latency_invocations: int = 50,
    plots: bool = True,
    log: Callable[[str], object] = print,
) -> dict:
    """Train, convert, evaluate and time every method; write the report. Returns its data.

    # Arguments
        out_dir: receives ``REPORT.md``, ``report.json`` and the PNG plots.
        datasets, methods: what to run (default: MNIST and Fashion-MNIST, all methods).
        epochs: the same epoch budget for every method (None: each method's recipe).
        train_limit, test_limit: use only the first N images (a reduced, faster run).
        runs_dir: where the runs live (default ``<out_dir>/runs``; not meant for git).
    """
    import bnnkit  # noqa: F401
    from bnnkit.data import load_arrays
    from bnnkit.errors import UnsupportedModelError
    from bnnkit.methods import REGISTRY, available_methods

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs_dir = Path(runs_dir) if runs_dir else out_dir / "runs"
    known = available_methods()
    methods = list(methods) if methods else list(REGISTRY)  # every method, registry order
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise UnsupportedModelError(
            f"unknown method(s) {', '.join(unknown)}; available: {', '.join(known)}"
        )
    started = time.perf_counter()
    results, failures = [], []
    for dataset_name in datasets:
        dataset = load_arrays(dataset_name, data_dir)
        if train_limit or test_limit:
            dataset = dataset.subset(train_limit, test_limit)
        for method in methods:
            try:
                results.append(
                    run_one(
                        dataset_name,
                        method,
                        runs_dir=runs_dir,
                        epochs=epochs,
                        train_limit=train_limit,
                        test_limit=test_limit,
                        data_dir=data_dir,
                        seed=seed,
                        dataset=dataset,
                        log=log,
                    )
                )
            except Exception as error:  # one failing method must not lose the others
                log(f"[{dataset_name}/{method}] FAILED: {type(error).__name__}: {error}")
                failures.append(
                    {
                        "dataset": dataset_name,
                        "method": method,
                        "error": f"{type(error).__name__}: {error}"[:500],
                    }
                )
    _latencies(results, latency_rounds, latency_invocations, log)
    data = {
        "machine": machine_info(),
        "budget": {
            "epochs": epochs if epochs is not None else "recipe",
            "train_limit": train_limit,
            "test_limit": test_limit,
            "seed": seed,
            "arch": "lenet",
            "datasets": list(datasets),
            "methods": methods,
        },
        "results": results,
        "failures": failures,
        "seconds": round(time.perf_counter() - started, 1),
    }
    bench_path = Path("results/bench.json")
    if bench_path.is_file():
        data["bench"] = json.loads(bench_path.read_text())
    imagenet_path = out_dir / "imagenet.json"
    if imagenet_path.is_file():
        data["imagenet"] = json.loads(imagenet_path.read_text())
    if plots and results:
        from bnnkit.bench.plots import plot_report

        data["plots"] = plot_report(data, out_dir)
    atomic_write_json(
        out_dir / "report.json",
        {**data, "results": [{k: v for k, v in r.items() if k != "layers"} for r in results]},
        default=str,
    )
    from bnnkit.bench.report_md import report_markdown

    (out_dir / "REPORT.md").write_text(report_markdown(data))
    return data
