"""``bnnkit report``: train every method on MNIST and Fashion-MNIST with the same LeNet and
budget, convert and evaluate each, and write REPORT.md, plots and report.json. Resumes."""

from __future__ import annotations

import argparse
import json

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="the reproduction report (trains, converts, evaluates every method)",
        description=__doc__,
    )
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion_mnist"])
    parser.add_argument("--methods", nargs="+", help="default: every method")
    parser.add_argument(
        "--epochs", type=int, help="the same epoch budget for every method (default: each recipe's)"
    )
    parser.add_argument("--train-limit", type=int, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, help="use only the first N test images")
    parser.add_argument("--data-dir", help="look for dataset files here first")
    parser.add_argument("--out", default="results")
    parser.add_argument("--runs-dir", help="where the runs live (default: <out>/runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bnnkit.bench.report import run_report

    data = run_report(
        args.out,
        datasets=args.datasets,
        methods=args.methods,
        epochs=args.epochs,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        data_dir=args.data_dir,
        runs_dir=args.runs_dir,
        seed=args.seed,
        latency_rounds=args.latency_rounds,
    )
    summary = [
        {
            k: r[k]
            for k in (
                "dataset",
                "method",
                "target",
                "keras_accuracy",
                "tflite_accuracy",
                "agreement",
                "tflite_bytes",
            )
        }
        for r in data["results"]
    ]
    if args.json:
        print(json.dumps({"results": summary, "failures": data["failures"]}, indent=2))
    else:
        for r in summary:
            print(
                f"{r['dataset']:>14} {r['method']:>7} {r['target']:>6}  keras "
                f"{r['keras_accuracy']:.4f}  tflite {r['tflite_accuracy']:.4f}  agreement "
                f"{r['agreement']:.4f}  {r['tflite_bytes']:,} B"
            )
        print(f"-> {args.out}/REPORT.md")
    return 1 if data["failures"] and not data["results"] else 0
