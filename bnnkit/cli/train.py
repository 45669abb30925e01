"""``bnnkit train``: train one method on one dataset into ``runs/<name>/``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path

from bnnkit.cli.command import add_command, call, respond
from bnnkit.cli.names import RegistryNames, add_listed_argument
from bnnkit.data import DATASETS
from bnnkit.data.augment import AUGMENTATIONS
from bnnkit.errors import InvalidInputError
from bnnkit.recipes import RECIPE_NAMES

__all__ = [
    "ARCHITECTURE_NAMES",
    "METHOD_NAMES",
    "STRATEGY_NAMES",
    "add_data_arguments",
    "add_input_arguments",
    "format_result",
    "parse_options",
    "register",
    "run",
]


def _methods() -> Iterable[str]:
    from bnnkit.methods import REGISTRY

    return REGISTRY


def _architectures() -> Iterable[str]:
    from bnnkit.models import ARCHITECTURES

    return ARCHITECTURES


def _strategies() -> Iterable[str]:
    from bnnkit.distribute import STRATEGIES

    return STRATEGIES


# From the registries, loaded when help is printed or a value is checked (they import TF).
METHOD_NAMES = RegistryNames(_methods)
ARCHITECTURE_NAMES = RegistryNames(_architectures)
STRATEGY_NAMES = RegistryNames(_strategies)


def parse_options(pairs: list[str] | None) -> dict:
    """``["order=2", "k_map=false"]`` -> ``{"order": 2, "k_map": False}`` (JSON values)."""
    options = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise InvalidInputError(f"--option expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        default="mnist",
        help=f"one of: {', '.join(DATASETS)} (default: mnist)",
    )
    parser.add_argument("--data-dir", help="look for dataset files here first")


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """How images become model inputs (bnnkit.data.InputOptions)."""
    parser.add_argument(
        "--augment",
        default="auto",
        choices=("auto", *AUGMENTATIONS),
        help="training augmentation (default auto: none for MNIST, cifar for "
        "CIFAR-10, imagenet for ImageNet and folders of photos)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        metavar="N",
        help="streamed datasets: model input N x N (default: 224 with "
        "--augment imagenet, else the images' own size)",
    )
    parser.add_argument(
        "--cache",
        metavar="memory|PREFIX",
        help="streamed datasets: keep decoded images after the first epoch",
    )
    parser.add_argument(
        "--shuffle-buffer",
        type=int,
        default=4096,
        metavar="N",
        help="streamed TFRecords/cache: records in the shuffle buffer",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "train", __doc__)
    # Method and architecture names are checked when the run starts (get_method /
    # build_model), whose errors list the registered names.
    add_listed_argument(parser, "--method", METHOD_NAMES, default="bnn", help=" (default: bnn)")
    add_listed_argument(
        parser, "--arch", ARCHITECTURE_NAMES, default="lenet", help=" (default: lenet)"
    )
    add_data_arguments(parser)
    add_input_arguments(parser)
    parser.add_argument("--epochs", type=int, help="default: the method's recipe budget")
    parser.add_argument(
        "--steps-per-epoch",
        type=int,
        metavar="N",
        help="batches per epoch (default: one pass over the training images)",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        metavar="N",
        help="stop each training stage after N steps (smoke runs)",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, help="initial learning rate (default: recipe)")
    parser.add_argument(
        "--recipe",
        default="budget",
        choices=list(RECIPE_NAMES),
        help="training recipe: 'budget' (default: the same Adam + cosine "
        "recipe for every method) or 'paper' (each method's paper's; "
        "see bnnkit/recipes.py)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="method option, e.g. --option order=3 (repeatable)",
    )
    parser.add_argument("--name", help="run name (default: <dataset>-<method>)")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its last checkpoint"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run")
    parser.add_argument("--train-limit", type=int, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, help="use only the first N test images")
    parser.add_argument(
        "--strategy",
        default="default",
        choices=STRATEGY_NAMES,
        metavar="STRATEGY",  # a metavar keeps argparse from listing the choices while building
        help="tf.distribute strategy, one of: %(choices)s (multiworker reads $TF_CONFIG)",
    )
    parser.set_defaults(func=run)


def format_result(result: dict) -> str:
    return (
        f"test accuracy {result['test_accuracy']:.4f} ({result['test_images']} images), "
        f"{result['parameters']:,} parameters -> {result['run_dir']}/model.keras"
    )


def run(args: argparse.Namespace) -> int:
    from bnnkit.training import TrainConfig, train

    config = call(
        TrainConfig, args, learning_rate=args.lr, method_options=parse_options(args.option)
    )
    name = args.name or f"{args.dataset.replace(':', '_').replace('/', '_')}-{args.method}"
    run_dir = Path(args.runs_dir) / name
    metrics = train(config, run_dir, resume=args.resume, overwrite=args.overwrite)
    return respond(args, {"run_dir": str(run_dir), **metrics}, format_result)
