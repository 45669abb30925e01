"""``bnnkit report``: train every method on MNIST and Fashion-MNIST (same LeNet, same
budget, several seeds), convert and evaluate each, and write ``results/REPORT.md``, plots
and JSON.

    from bnnkit.bench.report import run_report
    run_report("results", datasets=["mnist"], methods=["float", "bnn"], epochs=1,
               train_limit=500, seeds=2)

A row of the report is a :class:`Variant`: a method with options (``horq`` and
``horq-sample`` are HORQ with one beta map per term and with one beta per sample). Every
variant is trained with ``seeds`` seeds, and each cell of the report is the mean and the
standard deviation over them (:mod:`bnnkit.bench.report_stats`).

Every method gets the same total budget: ``epochs`` counts the epochs of all stages
(Bi-Real's real-valued initialization, BWNH/SBD's float network and fine-tuning), and each
row also shows the images seen and the training seconds.

It resumes: a run folder with a finished run (:func:`bnnkit.training.run_is_complete`) is not
trained again, an interrupted one resumes from its last epoch checkpoint, and a conversion or
evaluation whose outputs exist is not redone. Run folders are named after the dataset,
variant, budget, recipe and seed, plus a digest of the method's effective options, so a
different configuration never reuses another's run.

Targets: ``lce`` for the methods with binary activations (BNN, XNOR, HORQ, Bi-Real),
``litert`` (stock ops, binary weights stored exactly as int8) for binary-weight methods with
real inputs (BWN, BWNH, SBD), and the stock float converter for ``float``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bnnkit.bench.machine import machine_info
from bnnkit.serialization import atomic_write_json

if TYPE_CHECKING:
    from bnnkit.data import Dataset
    from bnnkit.methods import Method

__all__ = [
    "DEFAULT_DATASETS",
    "REPORT_VARIANTS",
    "RunSpec",
    "Variant",
    "report_variants",
    "run_one",
    "run_report",
    "target_for",
    "write_report",
]

DEFAULT_DATASETS = ("mnist", "fashion_mnist")


@dataclass(frozen=True)
class Variant:
    """One row of the report: a registered method with options.

    # Attributes
        label: the row's name (``--methods`` takes it).
        method: the registered method name.
        options: method options on top of the method's defaults.
        role: ``"paper"`` when the variant follows its paper, ``"trade-off"`` when it departs
            from it on purpose to be cheaper to deploy, ``"correction"`` when it departs from
            the printed paper to fix an error in it, ``"baseline"`` otherwise.
        note: what the variant changes, for the report (empty for a method's default).
    """

    label: str
    method: str
    options: dict = field(default_factory=dict)
    role: str = "paper"
    note: str = ""


#: The report's rows, in order. Adding a method adds its default variant automatically.
REPORT_VARIANTS = (
    Variant("float", "float", role="baseline"),
    Variant("bnn", "bnn", role="baseline"),
    Variant("bwn", "bwn"),
    Variant(
        "bwn-exact",
        "bwn",
        {"gradient": "exact"},
        role="correction",
        note="BWN with the exact derivative of alpha sign(W) through alpha instead of the "
        "printed backward formula (a known erratum)",
    ),
    Variant("xnor", "xnor"),
    Variant("horq", "horq"),
    Variant(
        "horq-sample",
        "horq",
        {"beta": "sample"},
        role="trade-off",
        note="HORQ-2 with one beta per sample instead of one per receptive field: exact "
        "through the conv and only a scalar multiply after it, coarser than the paper",
    ),
    Variant("bireal", "bireal"),
    Variant("bwnh", "bwnh"),
    Variant("sbd", "sbd"),
)


def report_variants(labels: Sequence[str] | None = None) -> list[Variant]:
    """The variants called ``labels`` (default: every registered method's, in order).

    A label that is not a listed variant but a registered method name is that method with
    its default options.
    """
    from bnnkit.errors import UnsupportedModelError
    from bnnkit.methods import available_methods

    known = available_methods()
    by_label = {v.label: v for v in REPORT_VARIANTS if v.method in known}
    if not labels:
        listed = {v.method for v in by_label.values()}
        return list(by_label.values()) + [Variant(m, m) for m in known if m not in listed]
    unknown = [label for label in labels if label not in by_label and label not in known]
    if unknown:
        raise UnsupportedModelError(
            f"unknown method(s) {', '.join(unknown)}; available: "
            f"{', '.join(list(by_label) + [m for m in known if m not in by_label])}"
        )
    return [by_label.get(label) or Variant(label, label) for label in labels]


def target_for(method: Method) -> str:
    """The deployment target of a method instance: ``float``, ``lce`` or ``litert``."""
    if method.binary_activations:
        return "lce"
    if method.binary_weights:
        return "litert"
    return "float"


def run_name(
    dataset: str,
    variant: Variant,
    epochs: int | None,
    train_limit: int | None,
    recipe: str,
    seed: int,
) -> str:
    """``<dataset>-<label>-e<epochs>-n<images>-<recipe>-s<seed>-<digest>``; the digest is
    of the method and its effective options, so a changed default is a new run."""
    from bnnkit.methods import get_method

    options = get_method(variant.method, **variant.options).options
    digest = hashlib.sha1(
        json.dumps([variant.method, options], sort_keys=True, default=str).encode()
    ).hexdigest()[:6]
    return (
        f"{dataset}-{variant.label}-e{epochs if epochs is not None else 'recipe'}-"
        f"n{train_limit or 'all'}-{recipe}-s{seed}-{digest}"
    )


@dataclass
class RunSpec:
    """Where and how one (dataset, variant, seed) cell is trained."""

    dataset: str
    variant: Variant
    seed: int
    runs_dir: Path
    epochs: int | None = None
    train_limit: int | None = None
    test_limit: int | None = None
    data_dir: str | None = None
    recipe: str = "budget"

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / run_name(
            self.dataset, self.variant, self.epochs, self.train_limit, self.recipe, self.seed
        )


def train_cell(spec: RunSpec, dataset: Dataset, log: Callable[[str], object] = print) -> dict:
    """Train (or resume, or skip) one cell; return its ``metrics.json``."""
    from bnnkit.training import TrainConfig, run_is_complete, train

    run_dir = spec.run_dir
    tag = f"[{spec.dataset}/{spec.variant.label}/s{spec.seed}]"
    if run_is_complete(run_dir):
        log(f"{tag} trained earlier: {run_dir}")
    else:
        config = TrainConfig(
            method=spec.variant.method,
            dataset=spec.dataset,
            arch="lenet",
            epochs=spec.epochs,
            data_dir=spec.data_dir,
            seed=spec.seed,
            train_limit=spec.train_limit,
            test_limit=spec.test_limit,
            method_options=dict(spec.variant.options),
            recipe=spec.recipe,
        )
        resume = (run_dir / "config.json").is_file()
        log(f"{tag} {'resuming' if resume else 'training'} -> {run_dir}")
        train(
            config,
            run_dir,
            resume=resume,
            overwrite=not resume and run_dir.exists(),
            dataset=dataset,
            verbose=0,
            log=log,
        )
    return json.loads((run_dir / "metrics.json").read_text())


def convert_cell(
    run_dir: Path, target: str, dataset: Dataset, log: Callable[[str], object] = print
) -> tuple[dict, dict, list]:
    """Convert (or reuse), evaluate (or reuse) and tabulate the layers of one trained run.

    Returns ``(conversion summary, evaluation, layer rows)``.
    """
    from bnnkit.bench.convert import convert, load_summary
    from bnnkit.bench.layers import layer_table
    from bnnkit.serialization import load_model

    out = run_dir / f"tflite-{target}"
    x_test, y_test = dataset.normalize(dataset.x_test), dataset.y_test
    model = None
    summary = load_summary(out)
    if summary is None:
        log(f"[{run_dir.name}] converting ({target})")
        model = load_model(run_dir / "model.keras")
        calibration = slice(0, min(500, len(x_test)))
        summary = convert(
            model, out, target, calibration_x=x_test[calibration], calibration_y=y_test[calibration]
        )
    else:
        log(f"[{run_dir.name}] converted earlier: {out}")
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
    rows_path = out / "layers.json"
    if rows_path.is_file():
        rows = json.loads(rows_path.read_text())
    else:
        rows = layer_table(model or load_model(run_dir / "model.keras"))
        atomic_write_json(rows_path, rows, default=str)
    return summary, evaluation, rows


#: What the data-driven methods' fine-tuning stage records (bnnkit.methods._data_driven).
STAGE_MEASUREMENTS = (
    "float_accuracy",
    "binarized_accuracy",
    "bwn_binarized_accuracy",
    "flipped_bits",
    "binary_weights",
    "flipped_fraction",
    "layer_relative_error",
)


def run_one(spec: RunSpec, dataset: Dataset, log: Callable[[str], object] = print) -> dict:
    """Train, convert and evaluate one cell; return its result row."""
    from bnnkit.bench.convert import report_field
    from bnnkit.bench.layers import mac_summary, whole_model_prediction
    from bnnkit.methods import get_method

    method = get_method(spec.variant.method, **spec.variant.options)
    metrics = train_cell(spec, dataset, log)
    target = target_for(method)
    summary, evaluation, rows = convert_cell(spec.run_dir, target, dataset, log)
    macs = mac_summary(rows)
    converter_fraction = report_field(summary, "macs", "binary_fraction")
    size = report_field(summary, "size") or {}
    stages = metrics.get("stages", [])
    measured = {key: stage[key] for stage in stages for key in STAGE_MEASUREMENTS if key in stage}
    return {
        "dataset": spec.dataset,
        "label": spec.variant.label,
        "method": method.name,
        "options": method.options,
        "role": spec.variant.role,
        "note": spec.variant.note,
        "seed": spec.seed,
        "title": method.title,
        "reference": method.reference,
        "run_dir": str(spec.run_dir),
        "target": target,
        "recipe": metrics.get("recipe", spec.recipe),
        "keras_accuracy": metrics["test_accuracy"],
        "tflite_accuracy": evaluation["tflite_accuracy"],
        "agreement": evaluation["agreement"],
        "test_images": metrics["test_images"],
        "train_images": metrics["train_images"],
        "epochs": metrics["epochs"],
        "stage_epochs": {s["stage"]: s["epochs"] for s in stages},
        "images_seen": metrics.get("images_seen"),
        "parameters": metrics["parameters"],
        "train_seconds": round(sum(s.get("seconds", 0) for s in stages), 2),
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
        **measured,
        "predicted_speedup": {
            f: round(whole_model_prediction(rows, f), 2) for f in ("xnor", "horq", "bwn", "sbd")
        },
    }


def _latencies(results: list[dict], rounds: int, invocations: int, log) -> None:
    """Interleaved latency of the first seed's model of every row (1 thread), ratio vs the
    float model (latency does not depend on the trained weights' values). Models with LCE ops
    run on bnnkit's fastest binary kernels here (:func:`bnnkit.bench.kernels.lce_latency_config`:
    the LCE-kernel delegate when built, else LCE's interpreter); each row records which."""
    from bnnkit.bench.kernels import lce_latency_config
    from bnnkit.bench.latency import Config, measure_latency

    first_seed = min((r["seed"] for r in results), default=0)
    timed = [r for r in results if r["seed"] == first_seed]
    configs, baseline = [], {}
    for dataset in dict.fromkeys(r["dataset"] for r in timed):
        rows = [r for r in timed if r["dataset"] == dataset]
        float_rows = [r for r in rows if r["target"] == "float"]
        for r in rows:
            name = f"{dataset}/{r['label']}"
            if r["target"] in ("float", "litert"):
                configs.append(Config(name, r["tflite_path"], "tflite", 1, {}))
            else:
                configs.append(lce_latency_config(name, r["tflite_path"]))
            if float_rows and r is not float_rows[0]:
                baseline[name] = f"{dataset}/{float_rows[0]['label']}"
    if not configs:
        return
    measured = measure_latency(
        configs, rounds=rounds, invocations=invocations, baseline=baseline, log=log
    )
    for r in timed:
        entry = measured[f"{r['dataset']}/{r['label']}"]
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
    epochs: int | None = 5,
    train_limit: int | None = None,
    test_limit: int | None = None,
    data_dir: str | None = None,
    runs_dir: str | os.PathLike | None = None,
    seed: int = 0,
    seeds: int = 1,
    recipe: str = "budget",
    latency_rounds: int = 5,
    latency_invocations: int = 50,
    plots: bool = True,
    log: Callable[[str], object] = print,
) -> dict:
    """Train, convert, evaluate and time every variant; write the report. Returns its data.

    # Arguments
        out_dir: receives ``REPORT.md``, ``report.json`` and the PNG plots.
        datasets, methods: what to run (default: MNIST and Fashion-MNIST, every variant of
            :data:`REPORT_VARIANTS`; ``methods`` takes variant labels or method names).
        epochs: the total epoch budget of every method, all stages counted (None: each
            recipe's).
        train_limit, test_limit: use only the first N images (a reduced, faster run).
        runs_dir: where the runs live (default ``<out_dir>/runs``; not meant for git).
        seed, seeds: train every cell with the seeds ``seed .. seed + seeds - 1``.
        recipe: ``budget`` or ``paper`` (:mod:`bnnkit.recipes`).
    """
    import bnnkit  # noqa: F401
    from bnnkit.data import load_arrays
    from bnnkit.recipes import check_recipe_name

    check_recipe_name(recipe)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs_dir = Path(runs_dir) if runs_dir else out_dir / "runs"
    variants = report_variants(methods)
    started = time.perf_counter()
    results: list[dict] = []
    failures: list[dict] = []
    loaded = {}
    for dataset_name in datasets:
        loaded[dataset_name] = load_arrays(dataset_name, data_dir)
        if train_limit or test_limit:
            loaded[dataset_name] = loaded[dataset_name].subset(train_limit, test_limit)
    budget = {
        "epochs": epochs if epochs is not None else "recipe",
        "recipe": recipe,
        "train_limit": train_limit,
        "test_limit": test_limit,
        "seeds": list(range(seed, seed + seeds)),
        "arch": "lenet",
        "datasets": list(datasets),
        "variants": [v.label for v in variants],
    }

    def data():
        return {
            "machine": machine_info(),
            "budget": budget,
            "results": results,
            "failures": failures,
            "seconds": round(time.perf_counter() - started, 1),
        }

    # Seed by seed, so that a report stopped early has every row with fewer seeds; the
    # report is written after each seed (without latencies) and at the end.
    for run_seed in range(seed, seed + seeds):
        for dataset_name, dataset in loaded.items():
            for variant in variants:
                spec = RunSpec(
                    dataset_name,
                    variant,
                    run_seed,
                    runs_dir,
                    epochs,
                    train_limit,
                    test_limit,
                    data_dir,
                    recipe,
                )
                try:
                    results.append(run_one(spec, dataset, log))
                except Exception as error:  # one failing cell must not lose the others
                    log(
                        f"[{dataset_name}/{variant.label}/s{run_seed}] FAILED: "
                        f"{type(error).__name__}: {error}"
                    )
                    failures.append(
                        {
                            "dataset": dataset_name,
                            "label": variant.label,
                            "seed": run_seed,
                            "error": f"{type(error).__name__}: {error}"[:500],
                        }
                    )
        if run_seed < seed + seeds - 1 and results:
            write_report(out_dir, data(), plots=False)
    _latencies(results, latency_rounds, latency_invocations, log)
    return write_report(out_dir, data(), plots=plots)


def write_report(out_dir: str | os.PathLike, data: dict, *, plots: bool = True) -> dict:
    """Add the per-row statistics and orderings to ``data`` and write ``report.json``,
    ``REPORT.md`` and the plots into ``out_dir``."""
    from bnnkit.bench.report_md import layer_rows, report_markdown
    from bnnkit.bench.report_stats import orderings, summarize

    out_dir = Path(out_dir)
    data["layers"] = layer_rows(data["results"])
    data["summary"] = summarize(data["results"])
    data["orderings"] = orderings(data["summary"])
    for name in ("bench.json", "imagenet.json"):
        path = out_dir / name
        if path.is_file():
            data[name.split(".")[0]] = json.loads(path.read_text())
    if (out_dir / "ablations.json").is_file():  # the comparisons the "why" column cites
        ablations = json.loads((out_dir / "ablations.json").read_text())
        data["ablations"] = {k: ablations[k] for k in ("recipe_epochs", "comparisons")}
    if plots and data["results"]:
        from bnnkit.bench.plots import plot_report

        data["plots"] = plot_report(data, out_dir)
    atomic_write_json(
        out_dir / "report.json",
        {
            **data,
            "results": [{k: v for k, v in r.items() if k != "layers"} for r in data["results"]],
        },
    )
    (out_dir / "REPORT.md").write_text(report_markdown(data))
    return data
