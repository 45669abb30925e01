"""``bnnkit predict``: the top-k classes of real image files, on a bundle or a bare ``.tflite``.

    bnnkit predict runs/mnist-bnn/bundle digit.png photo.jpg           # top 3 per image
    bnnkit predict runs/mnist-bnn/bundle digit.png --top-k 5 --json    # for machines
    bnnkit predict model.tflite digit.png --threads 2                  # no metadata

The work is :func:`converters.predict.predict_images` (the library the Raspberry Pi runner
uses too); a bare ``.tflite``'s assumptions are printed as notes.
"""

from __future__ import annotations

import argparse
import sys

from bnnkit.cli.command import add_command, add_runtime_argument, call, respond

__all__ = ["main", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "predict", __doc__)
    parser.add_argument(
        "model",
        metavar="BUNDLE_OR_TFLITE",
        help="a bundle folder (from bnnkit convert) or a .tflite file",
    )
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    parser.add_argument(
        "--top-k", type=int, default=3, metavar="K", help="classes to print per image (default 3)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="interpreter threads (default: the runtime's)",
    )
    add_runtime_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from converters.predict import format_text, predict_images

    report = call(predict_images, args)
    if not args.json:
        for note in report["notes"]:
            print(f"note: {note}", file=sys.stderr)
    return respond(args, report, lambda result: format_text(result["predictions"]))


def main(argv: list[str] | None = None) -> int:
    """``python -m bnnkit.cli.predict ...``: the subcommand alone, same errors and exit codes."""
    from bnnkit.cli.main import run_parsed

    parser = argparse.ArgumentParser(prog="bnnkit")
    register(parser.add_subparsers(dest="command", required=True))
    return run_parsed(parser.parse_args(["predict", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
