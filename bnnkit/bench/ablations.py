"""The measured effect of each option that departs from, or restores, a paper.

    python -m bnnkit.bench.ablations --seeds 3 --data-dir ../shared/datasets
    # -> results/ablations.json and results/ABLATIONS.md

Every comparison runs both sides on MNIST and Fashion-MNIST with the report's LeNet, the
same seeds and the same total budget, through :func:`bnnkit.bench.report.run_one` (train,
convert, evaluate the ``.tflite``). Runs live in the report's runs folder, so a side that
the report already trained (same name) is reused, not retrained.

* ``recipe``: ``--recipe paper`` against ``budget`` for the methods whose paper gives a
  recipe (BWN, XNOR-Net, Bi-Real); both sides trained here for :data:`RECIPE_EPOCHS`
  epochs, enough for every step of Bi-Real's paper chain (ReLU -> clip -> BNN).
* ``bwn-gradient``: BWN's exact gradient against the printed one (the report's ``bwn`` and
  ``bwn-exact`` rows).
* ``bwnh-scale``, ``sbd-latent``, ``sbd-latent-large``, ``bwnh-fit``, ``sbd-fit``: the
  data-driven options. Both sides start from the *same* float network, the report's
  ``float`` row of that dataset and seed, and fine-tune for :data:`FINETUNE_EPOCHS`
  epochs: BWNH's trainable hashed scale against BWN's recomputed one, SBD's latents at
  1e-3 (the default), 1e-2 and the clip limit 1.0 (where no bit can flip), and fitting
  the float network's layer outputs against the partly binarized network's own.
  They compare the accuracy right after binarization and after fine-tuning, and the bits
  that flipped.

Verdicts use :func:`bnnkit.bench.report_stats.compare` (beyond one standard deviation).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bnnkit.bench.report import DEFAULT_DATASETS, RunSpec, Variant, run_one
from bnnkit.bench.report_md import limit_flags

__all__ = [
    "COMPARISONS",
    "VERDICTS",
    "Comparison",
    "Side",
    "command",
    "markdown",
    "run_ablations",
    "summarize",
]

#: An ablation's verdict, from :func:`bnnkit.bench.report_stats.compare`'s on "first > second".
VERDICTS = {
    "holds": "first ahead",
    "does not hold": "within 1 std",
    "does not hold (reversed)": "second ahead",
}

#: Fine-tuning epochs of the data-driven comparisons.
FINETUNE_EPOCHS = 2

#: Epochs of both sides of the recipe comparisons (Bi-Real's paper chain needs 3 at least:
#: a fifth, a fifth and the rest).
RECIPE_EPOCHS = 5


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a variant, a recipe, whether it starts from the report's
    float model, and whether it is a cell of the report (read, never trained, here: the
    report may be training it at the same time)."""

    label: str
    method: str
    options: dict = field(default_factory=dict)
    recipe: str = "budget"
    from_float: bool = False
    in_report: bool = False
    epochs: int | None = None  # None: the run's epochs


@dataclass(frozen=True)
class Comparison:
    id: str
    question: str
    a: Side
    b: Side
    fields: tuple = ("tflite_accuracy",)


def _recipe(method: str, question: str) -> Comparison:
    """``--recipe paper`` against ``budget`` for ``method``, :data:`RECIPE_EPOCHS` each."""
    return Comparison(
        f"recipe-{method}",
        question,
        Side(method, method, recipe="paper", epochs=RECIPE_EPOCHS),
        Side(method, method, epochs=RECIPE_EPOCHS),
    )


def _ft(label, method, **options):
    return Side(label, method, {"finetune_epochs": FINETUNE_EPOCHS, **options}, from_float=True)


COMPARISONS = (
    _recipe("bwn", "BWN: --recipe paper (SGD, step decay) vs budget (Adam, cosine)"),
    _recipe("xnor", "XNOR-Net: --recipe paper (Adam, step decay) vs budget"),
    _recipe(
        "bireal",
        "Bi-Real: --recipe paper (ReLU -> clip -> BNN, SGD) vs budget (clip -> BNN, Adam)",
    ),
    Comparison(
        "bwn-gradient",
        "BWN: gradient=exact vs gradient=paper (the printed erratum)",
        Side("bwn-exact", "bwn", {"gradient": "exact"}, in_report=True),
        Side("bwn", "bwn", in_report=True),
    ),
    Comparison(
        "bwnh-scale",
        "BWNH fine-tuning: trainable hashed scale vs BWN's recomputed mean|W|",
        _ft("bwnh-ft", "bwnh"),
        _ft("bwnh-ft-bwnscale", "bwnh", finetune_scale="bwn"),
        ("binarized_accuracy", "tflite_accuracy", "flipped_bits"),
    ),
    Comparison(
        "sbd-latent",
        "SBD fine-tuning: latents at 1e-3 (the default) vs at the clip limit 1.0",
        _ft("sbd-ft", "sbd"),
        _ft("sbd-ft-latent1", "sbd", latent_magnitude=1.0),
        ("tflite_accuracy", "flipped_bits"),
    ),
    Comparison(
        "sbd-latent-large",
        "SBD fine-tuning: latents at 1e-3 (the default) vs at 1e-2",
        _ft("sbd-ft", "sbd"),
        _ft("sbd-ft-latent1e-2", "sbd", latent_magnitude=1e-2),
        ("tflite_accuracy", "flipped_bits"),
    ),
    Comparison(
        "bwnh-fit",
        "BWNH: fit the float network's layer outputs vs the partly binarized network's own",
        _ft("bwnh-ft-fitfloat", "bwnh", fit="float"),
        _ft("bwnh-ft", "bwnh"),
        ("binarized_accuracy", "tflite_accuracy"),
    ),
    Comparison(
        "sbd-fit",
        "SBD: fit the float network's layer outputs vs the partly decomposed network's own",
        _ft("sbd-ft-fitfloat", "sbd", fit="float"),
        _ft("sbd-ft", "sbd"),
        ("binarized_accuracy", "tflite_accuracy"),
    ),
)


def _spec(
    side: Side, dataset: str, seed: int, runs_dir: Path, epochs: int, limits=(None, None)
) -> RunSpec | None:
    """The run of one side, or None when its float model is not trained yet."""
    options = dict(side.options)
    if side.from_float:
        float_run = RunSpec(
            dataset,
            Variant("float", "float", role="baseline"),
            seed,
            runs_dir,
            epochs,
            train_limit=limits[0],
            test_limit=limits[1],
        ).run_dir
        if not (float_run / "metrics.json").is_file():
            return None
        options["float_model"] = str(float_run / "model.keras")
        epochs = FINETUNE_EPOCHS
    elif side.epochs is not None:
        epochs = side.epochs
    return RunSpec(
        dataset,
        Variant(side.label, side.method, options),
        seed,
        runs_dir,
        epochs,
        train_limit=limits[0],
        test_limit=limits[1],
        recipe=side.recipe,
    )


def run_ablations(
    out_dir="results",
    *,
    comparisons=None,
    datasets=DEFAULT_DATASETS,
    seeds: int = 3,
    epochs: int = 5,
    data_dir=None,
    runs_dir=None,
    train_limit=None,
    test_limit=None,
    log=print,
) -> dict:
    """Run the comparisons called ``comparisons`` (default: all); write the results.

    ``train_limit``/``test_limit`` (first N images) are for quick checks of the machinery.
    """
    import bnnkit  # noqa: F401
    from bnnkit.bench.machine import machine_info
    from bnnkit.data import load_arrays

    out_dir = Path(out_dir)
    runs_dir = Path(runs_dir) if runs_dir else out_dir / "runs"
    chosen = [c for c in COMPARISONS if not comparisons or c.id in comparisons]
    limits = (train_limit, test_limit)
    started = time.perf_counter()
    cells, skipped = {}, []
    for seed in range(seeds):
        for name in datasets:
            dataset = load_arrays(name, data_dir)
            if train_limit or test_limit:
                dataset = dataset.subset(train_limit, test_limit)
            for comparison in chosen:
                for side in (comparison.a, comparison.b):
                    spec = _spec(side, name, seed, runs_dir, epochs, limits)
                    if spec is None:
                        skipped.append(f"{name}/{side.label}/s{seed}: no float model yet")
                        continue
                    key = str(spec.run_dir)
                    if side.in_report and not (spec.run_dir / "metrics.json").is_file():
                        skipped.append(
                            f"{name}/{side.label}/s{seed}: not trained by the report yet"
                        )
                        continue
                    if key not in cells:
                        row = run_one(spec, dataset, log)
                        cells[key] = {k: v for k, v in row.items() if k != "layers"}
    data = {
        "machine": machine_info(),
        "epochs": epochs,
        "finetune_epochs": FINETUNE_EPOCHS,
        "recipe_epochs": RECIPE_EPOCHS,
        "train_limit": train_limit,
        "test_limit": test_limit,
        "seeds": list(range(seeds)),
        "datasets": list(datasets),
        "cells": list(cells.values()),
        "skipped": skipped,
        "comparisons": summarize(
            chosen, list(cells.values()), runs_dir, datasets, seeds, epochs, limits
        ),
        "seconds": round(time.perf_counter() - started, 1),
    }
    from bnnkit.serialization import atomic_write_json

    atomic_write_json(out_dir / "ablations.json", json.loads(json.dumps(data, default=str)))
    (out_dir / "ABLATIONS.md").write_text(markdown(data))
    return data


def summarize(chosen, cells, runs_dir, datasets, seeds, epochs, limits) -> list[dict]:
    from bnnkit.bench.report_stats import compare, mean_std

    by_dir = {c["run_dir"]: c for c in cells}
    out = []
    for comparison in chosen:
        for name in datasets:
            sides = []
            for side in (comparison.a, comparison.b):
                found = [
                    by_dir.get(str(spec.run_dir))
                    for spec in (
                        _spec(side, name, s, runs_dir, epochs, limits) for s in range(seeds)
                    )
                    if spec
                ]
                sides.append([c for c in found if c])
            for key in comparison.fields:
                a = mean_std(c.get(key) for c in sides[0])
                b = mean_std(c.get(key) for c in sides[1])
                verdict = compare(a, b) if a and b else None
                out.append(
                    {
                        "id": comparison.id,
                        "question": comparison.question,
                        "dataset": name,
                        "field": key,
                        "a": a,
                        "b": b,
                        "a_side": comparison.a.label + f" ({comparison.a.recipe})",
                        "b_side": comparison.b.label + f" ({comparison.b.recipe})",
                        **(
                            {
                                "margin": verdict["margin"],
                                "noise": verdict["noise"],
                                "verdict": VERDICTS.get(verdict["verdict"], verdict["verdict"]),
                            }
                            if verdict
                            else {}
                        ),
                    }
                )
    return out


def _cell(stat, key):
    if not stat:
        return "-"
    scale = 1.0 if key == "flipped_bits" else 100.0
    digits = 0 if key == "flipped_bits" else 2
    return f"{scale * stat['mean']:,.{digits}f} ± {scale * stat['std']:,.{digits}f} (n={stat['n']})"


def command(data: dict) -> str:
    """The command line that reproduces ``data`` (the report's runs are reused)."""
    words = ["python -m bnnkit.bench.ablations", "--datasets", *data["datasets"]]
    words += ["--seeds", str(len(data["seeds"])), "--epochs", str(data["epochs"])]
    return " ".join(words + limit_flags(data))


def markdown(data: dict) -> str:
    lines = [
        "# Ablations: the measured effect of bnnkit's options",
        "",
        f"Machine: {data['machine']['label']}. LeNet, training images: "
        f"{data['train_limit'] or 'all'}, seeds "
        f"{data['seeds']}; {data['epochs']} epochs in total per run as in the report "
        f"(recipe comparisons: {data['recipe_epochs']} epochs each side; data-driven "
        f"comparisons: {data['finetune_epochs']} fine-tuning epochs from the report's "
        "float model of the same dataset and seed). Produced by "
        f"`{command(data)}`; the data is in `ablations.json`. Mean ± sample "
        "std over the seeds; 'first ahead' / 'second ahead' = by more than one standard "
        "deviation of the difference, sqrt(s1^2 + s2^2); 'within 1 std' = no difference "
        "beyond the seed-to-seed spread.",
        "",
        "| comparison | dataset | measure | first | second | margin | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in data["comparisons"]:
        scale = 1.0 if c["field"] == "flipped_bits" else 100.0
        margin = f"{scale * c['margin']:+,.2f}" if "margin" in c else "-"
        lines.append(
            f"| {c['question']} | {c['dataset']} | {c['field']} | "
            f"{c['a_side']}: {_cell(c['a'], c['field'])} | "
            f"{c['b_side']}: {_cell(c['b'], c['field'])} | {margin} | "
            f"{c.get('verdict', 'not run')} |"
        )
    if data["skipped"]:
        lines += [
            "",
            "Not run (their float model was not trained yet): " + ", ".join(data["skipped"]),
        ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=[c.id for c in COMPARISONS])
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data-dir")
    parser.add_argument("--out", default="results")
    parser.add_argument("--runs-dir")
    parser.add_argument("--train-limit", type=int)
    parser.add_argument("--test-limit", type=int)
    args = parser.parse_args(argv)
    run_ablations(
        args.out,
        comparisons=args.only,
        datasets=args.datasets,
        seeds=args.seeds,
        epochs=args.epochs,
        data_dir=args.data_dir,
        runs_dir=args.runs_dir,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
