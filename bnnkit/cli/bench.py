"""``bnnkit bench``: benchmark targets, kernels and training speed on this host.

Latency (float XNNPACK, int8, litert, LCE with each kernel option; 1 and 2 threads), training
throughput, conversion time and peak memory, in one run.

``bnnkit bench --kernels``: the x86 binary kernels of the LCE-kernel delegate instead (this
CPU's popcount roofline, Bi-Real-18's binary convolutions, whole ImageNet-size and LeNet
models against float and int8 XNNPACK and LCE's interpreter): kernels.json and kernels.md.

``bnnkit bench --runtimes``: LCE models (the LeNet BNN, Bi-Real-18 at 224x224) on LCE's
interpreter and on ai-edge-litert + the LCE-kernel delegate, against float XNNPACK, 1 thread,
with each one's peak memory in its own process: runtimes.json and runtimes.md."""

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
    sections = parser.add_argument_group("the delegate sections (--kernels, --runtimes)")
    sections.add_argument(
        "--kernels",
        action="store_true",
        help="run the x86 kernel section instead (kernels.json, kernels.md)",
    )
    sections.add_argument(
        "--runtimes",
        action="store_true",
        help="run the runtime section instead: LCE's interpreter vs ai-edge-litert + the "
        "delegate vs float XNNPACK, 1 thread, peak memory (runtimes.json, runtimes.md)",
    )
    sections.add_argument(
        "--sources",
        help="the delegate's pinned third-party sources "
        "(default: $BNNKIT_LCE_SOURCES or a download)",
    )
    sections.add_argument("--delegate", help="a built delegate .so (default: build one)")
    sections.add_argument(
        "--models-dir",
        help="cache of the converted models (224x224 "
        "conversions take minutes; reused when present)",
    )
    parser.set_defaults(func=run)


def _run_runtimes(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from bnnkit.bench.runtimes import run_runtimes, runtimes_markdown, write_runtimes
    from converters.delegate import DELEGATE_FILE, build_delegate, cache_dir

    with tempfile.TemporaryDirectory() as work:
        delegate = args.delegate or build_delegate(
            sources=args.sources, output=Path(work) / DELEGATE_FILE
        )
        result = run_runtimes(
            delegate,
            args.models_dir or cache_dir() / "bench-models",
            rounds=args.rounds,
            invocations=args.invocations,
            nice=args.nice,
        )
    write_runtimes(result, args.out_dir)
    return respond(args, result, runtimes_markdown)


def run(args: argparse.Namespace) -> int:
    if args.kernels:
        return run_kernels(args)
    if args.runtimes:
        return _run_runtimes(args)
    from bnnkit.bench.bench import DEFAULT_LCE_METHODS, bench_markdown, run_bench

    methods = tuple(args.lce_methods or DEFAULT_LCE_METHODS)
    return respond(args, call(run_bench, args, lce_methods=methods), bench_markdown)


def run_kernels(args: argparse.Namespace) -> int:
    from bnnkit.bench.kernels import kernels_markdown, run_kernel_bench

    return respond(args, call(run_kernel_bench, args), kernels_markdown)
