"""``bnnkit bench``: benchmark targets, kernels and training speed on this host.

Latency (float XNNPACK, int8, litert, LCE with each kernel option; 1 and 2 threads), training
throughput, conversion time and peak memory, in one run.

``bnnkit bench --kernels``: the x86 binary kernels of the LCE-kernel delegate instead (this
CPU's popcount roofline, Bi-Real-18's binary convolutions, whole ImageNet-size and LeNet
models against float and int8 XNNPACK and LCE's interpreter): kernels.json and kernels.md."""

from __future__ import annotations

import argparse

from bnnkit.cli.command import add_command, call, respond

__all__ = ["register", "run", "run_kernels"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "bench", __doc__)
    parser.add_argument(
        "--out",
        dest="out_dir",
        metavar="OUT",
        default="results",
        help="folder for bench.json and bench.md (default: results)",
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
        "--methods",
        dest="lce_methods",
        metavar="METHOD",
        nargs="+",
        help="methods to time as LCE models (default: bnn xnor horq bireal)",
    )
    parser.add_argument("--throughput-steps", type=int, default=5)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--nice", type=int, default=10, help="niceness of conversion processes")
    kernels = parser.add_argument_group("the x86 kernel section (--kernels)")
    kernels.add_argument(
        "--kernels",
        action="store_true",
        help="run the x86 kernel section instead (kernels.json, kernels.md)",
    )
    kernels.add_argument(
        "--sources",
        help="the delegate's pinned third-party sources "
        "(default: $BNNKIT_LCE_SOURCES or a download)",
    )
    kernels.add_argument("--delegate", help="a built delegate .so (default: build one)")
    kernels.add_argument(
        "--models-dir",
        help="cache of the converted models (224x224 "
        "conversions take minutes; reused when present)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.kernels:
        return run_kernels(args)
    from bnnkit.bench.bench import DEFAULT_LCE_METHODS, bench_markdown, run_bench

    methods = tuple(args.lce_methods or DEFAULT_LCE_METHODS)
    return respond(args, call(run_bench, args, lce_methods=methods), bench_markdown)


def run_kernels(args: argparse.Namespace) -> int:
    from bnnkit.bench.kernels import kernels_markdown, run_kernel_bench

    return respond(args, call(run_kernel_bench, args), kernels_markdown)
