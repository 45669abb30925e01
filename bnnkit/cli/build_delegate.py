"""``bnnkit build-delegate``: compile the LCE-kernel delegate for stock TFLite runtimes.

    bnnkit build-delegate                                  # this machine, into the user cache
    bnnkit build-delegate --sources DIR                    # from a local copy of the sources
    bnnkit build-delegate --arch aarch64 -o libbnnkit_lce_delegate.so   # cross-build for a Pi

Without ``-o`` the native build goes where ``--runtime litert-lce`` looks for it
(``$BNNKIT_LCE_DELEGATE``, else ``~/.cache/bnnkit/delegate/<cpu>/``). See
:mod:`converters.delegate` for the sources (``--sources``, ``$BNNKIT_LCE_SOURCES``, or a
download of the pinned commits) and ``delegate/README.md`` for what is built.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build-delegate",
        help="compile the LCE-kernel delegate (g++)",
        description="Compile bnnkit's LCE-kernel delegate: an external TFLite delegate that "
        "lets the stock ai-edge-litert runtime run LCE models (lce bundles), "
        "e.g. on a Raspberry Pi.",
    )
    parser.add_argument(
        "--arch",
        choices=("native", "aarch64"),
        default="native",
        help="native (default) or aarch64 (cross-compile for a 64-bit Pi)",
    )
    parser.add_argument(
        "--sources",
        metavar="DIR",
        help="folder of the pinned third-party sources (default: "
        "$BNNKIT_LCE_SOURCES, else download them)",
    )
    parser.add_argument(
        "-o", "--output", metavar="PATH", help="the .so to write (default: where the runtime looks)"
    )
    parser.add_argument("--json", action="store_true", help="print the build info as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from converters.delegate import build_delegate

    path = build_delegate(args.arch, sources=args.sources, output=args.output)
    info = json.loads(path.with_name(path.name + ".json").read_text())
    if args.json:
        print(json.dumps({"path": str(path), **info}, indent=1))
    else:
        print(
            f"built {path} ({info['size_bytes'] / 1024:.0f} KB, {info['target_cpu']}, "
            f"{info['build_seconds']:.1f} s)"
        )
    return 0
