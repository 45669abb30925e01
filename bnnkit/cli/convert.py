"""``bnnkit convert``: a trained Keras model -> a verified ``.tflite`` + ``conversion.json``.

    bnnkit convert runs/mnist-bnn                      # -> runs/mnist-bnn/lce/
    bnnkit convert runs/mnist-bnn --target litert -o out/litert
    bnnkit convert model.keras --target int8 --qat-epochs 1 --dataset mnist

The input is a run folder (``model.keras`` + ``config.json`` naming the dataset) or a
``.keras``/``.h5``/SavedModel path; the work is :func:`converters.runs.convert_run`. Prints a
short table; ``--json`` prints the whole report.
"""

from __future__ import annotations

import argparse

from bnnkit.cli.command import add_command, call, respond
from converters.report import format_table
from converters.targets import TARGETS

# The targets as the registry describes them, for ``bnnkit convert --help``.
TARGETS_EPILOG = "targets:\n" + "\n".join(f"  {t.name:8} {t.description}" for t in TARGETS)

__all__ = ["add_custom_objects_argument", "format_result", "module_list", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "convert", __doc__, TARGETS_EPILOG)
    parser.add_argument(
        "model",
        metavar="RUN_DIR_OR_MODEL_FILE",
        help="a runs/<name>/ folder, a .keras/.h5 file or a SavedModel folder",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output folder (default: <run folder>/<target>, or "
        "<model file stem>-<target> beside the model file)",
    )
    parser.add_argument("--target", choices=TARGETS.names(), default=TARGETS.names()[0])
    parser.add_argument(
        "--allow-float",
        action="store_true",
        help="accept binary layers that stay float (listed in the report)",
    )
    parser.add_argument(
        "--dataset", help="dataset for calibration data (default: the run's config.json)"
    )
    parser.add_argument("--data-dir", help="look for the dataset here first")
    parser.add_argument(
        "--qat-epochs",
        type=int,
        default=0,
        metavar="N",
        help="int8 target: epochs of QAT fine-tuning on training images "
        "(default 0: calibrate the int8 ranges only)",
    )
    parser.add_argument(
        "--bundle",
        metavar="DIR",
        help="also write a deployment bundle (model.tflite, labels.txt, metadata.json) to DIR",
    )
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=0.99,
        metavar="FRACTION",
        help="top-1 agreement with the original model required on the "
        "dataset's images (default 0.99); the max output difference "
        "must also stay within the output scale. Without a dataset the "
        "check is elementwise on random images (see docs/converters.md)",
    )
    parser.add_argument(
        "--allow-disagreement",
        action="store_true",
        help="write the model even if it fails that check (the report "
        "says so); by default nothing is written and the exit code is "
        "non-zero",
    )
    add_custom_objects_argument(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.set_defaults(func=run)


def module_list(text: str) -> list[str]:
    """``"a.b,c"`` -> ``["a.b", "c"]`` (the value of ``--custom-objects``)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def add_custom_objects_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--custom-objects",
        metavar="MODULE[,MODULE]",
        type=module_list,
        default=[],
        help="import these Python modules before loading the model, so that the custom "
        "layers, quantizers and functions they define are known (larq_zoo's are known "
        "whenever larq-zoo is installed). Importing a module runs its code: name only "
        "modules you trust. The model file itself is still loaded in Keras' safe mode.",
    )


def format_result(report: dict) -> str:
    """The conversion table and where the files went."""
    return (
        format_table(report)
        + f"\nwrote {report['model_path']} and {report['output']}/conversion.json"
        + (f"; bundle {report['bundle']}" if report["bundle"] else "")
    )


def run(args: argparse.Namespace) -> int:
    from converters.runs import convert_run

    verification = {
        "min_agreement": args.min_agreement,
        "allow_disagreement": args.allow_disagreement,
    }
    return respond(args, call(convert_run, args, verification=verification), format_result)
