"""``bnnkit report``: the reproduction report, every method trained, converted and evaluated.

Every method on MNIST and Fashion-MNIST with the same LeNet and budget; writes REPORT.md,
plots and report.json. An interrupted report resumes where it stopped.
"""

from __future__ import annotations

import argparse

from bnnkit.cli.command import add_command, call, respond

__all__ = ["SUMMARY_KEYS", "format_summary", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "report", __doc__)
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion_mnist"])
    parser.add_argument("--methods", nargs="+", help="default: every method")
    parser.add_argument(
        "--epochs", type=int, help="the same epoch budget for every method (default: each recipe's)"
    )
    parser.add_argument("--train-limit", type=int, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, help="use only the first N test images")
    parser.add_argument("--data-dir", help="look for dataset files here first")
    parser.add_argument("--out", dest="out_dir", metavar="OUT", default="results")
    parser.add_argument("--runs-dir", help="where the runs live (default: <out>/runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-rounds", type=int, default=5)
    parser.set_defaults(func=run)


SUMMARY_KEYS = (
    "dataset",
    "method",
    "target",
    "keras_accuracy",
    "tflite_accuracy",
    "agreement",
    "tflite_bytes",
)


def format_summary(summary: dict) -> str:
    lines = [
        f"{r['dataset']:>14} {r['method']:>7} {r['target']:>6}  keras "
        f"{r['keras_accuracy']:.4f}  tflite {r['tflite_accuracy']:.4f}  agreement "
        f"{r['agreement']:.4f}  {r['tflite_bytes']:,} B"
        for r in summary["results"]
    ]
    return "\n".join([*lines, f"-> {summary['out_dir']}/REPORT.md"])


def run(args: argparse.Namespace) -> int:
    from bnnkit.bench.report import run_report

    data = call(run_report, args)
    summary = {
        "results": [{k: r[k] for k in SUMMARY_KEYS} for r in data["results"]],
        "failures": data["failures"],
        "out_dir": str(args.out_dir),
    }
    respond(args, summary, format_summary)
    return 1 if data["failures"] and not data["results"] else 0
