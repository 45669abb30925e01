"""``bnnkit report``: the reproduction report, every method trained, converted and evaluated.

Every variant on MNIST and Fashion-MNIST with the same LeNet and total budget (every stage's
epochs counted), several seeds; writes REPORT.md, plots and report.json (mean and standard
deviation per cell, the papers' orderings). An interrupted report resumes where it stopped.
"""

from __future__ import annotations

import argparse

from bnnkit.cli.command import add_command, call, respond
from bnnkit.recipes import RECIPE_NAMES

__all__ = ["format_summary", "register", "run", "summary_rows"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "report", __doc__)
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion_mnist"])
    parser.add_argument(
        "--methods",
        nargs="+",
        help="rows: variant labels (e.g. horq-sample) or method names (default: every variant)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=5,
        help="the total epochs of every method, all stages counted (default: 5)",
    )
    parser.add_argument("--recipe", default="budget", choices=list(RECIPE_NAMES))
    parser.add_argument("--train-limit", type=int, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, help="use only the first N test images")
    parser.add_argument("--data-dir", help="look for dataset files here first")
    parser.add_argument("--out", dest="out_dir", metavar="OUT", default="results")
    parser.add_argument("--runs-dir", help="where the runs live (default: <out>/runs)")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument(
        "--seeds", type=int, default=1, help="seeds per cell: --seed, --seed + 1, ... (default: 1)"
    )
    parser.add_argument("--latency-rounds", type=int, default=5)
    parser.set_defaults(func=run)


def summary_rows(data: dict) -> list[dict]:
    """One line per report row: its accuracy's mean and std over the seeds, and its size."""
    return [
        {
            "dataset": r["dataset"],
            "row": r["label"],
            "target": r["target"],
            "tflite_accuracy": r["tflite_accuracy"]["mean"],
            "std": r["tflite_accuracy"]["std"],
            "seeds": len(r["seeds"]),
            "tflite_bytes": r["tflite_bytes"]["mean"],
        }
        for r in data["summary"]
    ]


def format_summary(summary: dict) -> str:
    lines = [
        f"{r['dataset']:>14} {r['row']:>12} {r['target']:>6}  tflite "
        f"{r['tflite_accuracy']:.4f} ± {r['std']:.4f} ({r['seeds']} seeds)  "
        f"{r['tflite_bytes']:,.0f} B"
        for r in summary["summary"]
    ]
    return "\n".join([*lines, f"-> {summary['out_dir']}/REPORT.md"])


def run(args: argparse.Namespace) -> int:
    from bnnkit.bench.report import run_report

    data = call(run_report, args)
    summary = {
        "summary": summary_rows(data),
        "orderings": data["orderings"],
        "failures": data["failures"],
        "out_dir": str(args.out_dir),
    }
    respond(args, summary, format_summary)
    return 1 if data["failures"] and not data["results"] else 0
