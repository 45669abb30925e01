"""``bnnkit bench``: latency (float XNNPACK, int8, litert, LCE with each kernel option; 1 and 2
threads), training throughput, conversion time and peak memory, on this host, in one run."""

from __future__ import annotations

import argparse
import json

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench", help="benchmark targets, kernels and training speed", description=__doc__
    )
    parser.add_argument(
        "--out", default="results", help="folder for bench.json and bench.md (default: results)"
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument(
        "--invocations",
        type=int,
        default=20,
        help="single-image inferences per configuration and round",
    )
    parser.add_argument(
        "--methods", nargs="+", help="methods to time as LCE models (default: bnn xnor horq bireal)"
    )
    parser.add_argument("--throughput-steps", type=int, default=5)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--nice", type=int, default=10, help="niceness of conversion processes")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bnnkit.bench.bench import DEFAULT_LCE_METHODS, run_bench

    result = run_bench(
        args.out,
        threads=tuple(args.threads),
        rounds=args.rounds,
        invocations=args.invocations,
        lce_methods=tuple(args.methods or DEFAULT_LCE_METHODS),
        throughput_steps=args.throughput_steps,
        skip_throughput=args.skip_throughput,
        nice=args.nice,
    )
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        from bnnkit.bench.bench import bench_markdown

        print(bench_markdown(result))
    return 0
