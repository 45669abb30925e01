"""``bnnkit train``: train one method on one dataset into ``runs/<name>/``."""

from __future__ import annotations

import json
from pathlib import Path

from bnnkit.errors import InvalidInputError

# Listed here for --help only; tests/bnnkit/cli/test_cli_train.py checks they match the registries.
METHOD_NAMES = ("float", "bnn", "bwn", "xnor", "horq", "bireal", "bwnh", "sbd")
ARCHITECTURE_NAMES = ("lenet", "vgg_small", "alexnet", "resnet18", "bireal18", "bireal34")


def parse_options(pairs: list[str]) -> dict:
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


def add_data_arguments(parser) -> None:
    parser.add_argument(
        "--dataset",
        default="mnist",
        help="mnist, fashion_mnist, cifar10 or folder:PATH (default: mnist)",
    )
    parser.add_argument("--data-dir", help="look for dataset files here first")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a binary (or float) network", description=__doc__
    )
    # Names are checked when the run starts (bnnkit.methods.get_method / build_model), so
    # that `bnnkit --help` and the other subcommands do not have to import TensorFlow.
    parser.add_argument("--method", default="bnn", help=f"one of: {', '.join(METHOD_NAMES)}")
    parser.add_argument(
        "--arch", default="lenet", help=f"one of: {', '.join(ARCHITECTURE_NAMES)} (default: lenet)"
    )
    add_data_arguments(parser)
    parser.add_argument("--epochs", type=int, help="default: the method's recipe budget")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, help="initial learning rate (default: recipe)")
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
        choices=["default", "mirrored", "multiworker"],
        help="tf.distribute strategy (multiworker reads $TF_CONFIG)",
    )
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from bnnkit.training import TrainConfig, train

    config = TrainConfig(
        method=args.method,
        dataset=args.dataset,
        arch=args.arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seed=args.seed,
        data_dir=args.data_dir,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        method_options=parse_options(args.option),
        strategy=args.strategy,
    )
    name = args.name or f"{args.dataset.replace(':', '_').replace('/', '_')}-{args.method}"
    run_dir = Path(args.runs_dir) / name
    metrics = train(config, run_dir, resume=args.resume, overwrite=args.overwrite)
    if args.json:
        print(json.dumps({"run_dir": str(run_dir), **metrics}, indent=2))
    else:
        print(
            f"test accuracy {metrics['test_accuracy']:.4f} ({metrics['test_images']} images), "
            f"{metrics['parameters']:,} parameters -> {run_dir}/model.keras"
        )
    return 0
