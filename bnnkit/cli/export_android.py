"""``bnnkit export-android BUNDLE``: put a model bundle into the Android app's assets.

    bnnkit export-android runs/mnist/bundle-litert            # both flavors (stock TFLite)
    bnnkit export-android runs/mnist/bundle-lce --flavor lce  # the lce flavor only
    bnnkit export-android BUNDLE --flavor litert --overwrite  # replace what is there

The checks and the copy are :func:`converters.android.export_android`.
"""

from __future__ import annotations

import argparse

from bnnkit.cli.command import add_command, call, respond
from converters.android import FLAVORS

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "export-android", __doc__)
    parser.add_argument("bundle", metavar="BUNDLE", help="a bundle folder")
    parser.add_argument(
        "--app", default="android_demo", help="the Android project folder (default: android_demo)"
    )
    parser.add_argument(
        "--flavor",
        choices=FLAVORS,
        default=None,
        help="only this flavor's assets (default: main assets, both flavors; "
        "LCE bundles need --flavor lce)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a bundle already in the assets"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from converters.android import export_android

    dest = call(export_android, args)
    result = {"bundle": args.bundle, "destination": str(dest), "flavor": args.flavor}
    variant = args.flavor or "litert or lce"
    return respond(
        args,
        result,
        lambda r: (
            f"exported {r['bundle']} -> {r['destination']}; build the {variant} variant of the app"
        ),
    )
