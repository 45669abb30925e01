"""Train any method on any dataset with ``model.fit``, safely resumable.

    from bnnkit.training import TrainConfig, train
    metrics = train(TrainConfig(method="bnn", dataset="mnist", epochs=3), "runs/mnist-bnn")

A run folder holds::

    config.json        what was asked (used again by --resume)
    checkpoint/        a tf.train checkpoint written at the end of every epoch
                       (model weights, optimizer state, epoch, history)
    stage<i>_<name>.keras   the model at the end of each finished stage
    model.keras        the final model (reloads with bnnkit.serialization.load_model)
    history.json       per-epoch loss/accuracy of every stage
    metrics.json       final test metrics, parameter count, timing, the input transform

Every file is written through a temporary file and an atomic rename, so a killed process
leaves either the previous or the new version, never half of one. The data order depends
only on (seed, epoch) (:class:`bnnkit.data.TrainingData`), so a resumed run sees exactly the
batches an uninterrupted one would.

A run is a few steps: validate the configuration (:func:`check_config`), then for each stage
of the method (:meth:`bnnkit.methods.Method.training_stages`) compile (:func:`_compile`),
resume from its checkpoint (:func:`_resume`) and fit (:func:`_fit`); then finalize
(:func:`_finalize`: evaluate, save, write the metrics).
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bnnkit.data import InputOptions, Shard, TrainingData, load_dataset
from bnnkit.data.augment import AUGMENTATIONS
from bnnkit.data.base import ONE_SHARD
from bnnkit.distribute import (
    STRATEGIES,
    accelerators,
    all_workers_ok,
    check_strategy,
    is_chief,
    make_strategy,
)
from bnnkit.errors import (
    InvalidConfigError,
    InvalidDatasetError,
    InvalidInputError,
    OutputExistsError,
)
from bnnkit.methods import get_method
from bnnkit.methods.base import Method, Stage
from bnnkit.models import ARCHITECTURES, build_model
from bnnkit.recipes import Recipe, check_recipe_name
from bnnkit.serialization import atomic_write_json, load_model, save_model

CONFIG_FILE = "config.json"
#: metrics.json lists the files a worker read when there are at most this many.
LISTED_FILES = 4096


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``config.json``)."""

    method: str = "bnn"
    dataset: str = "mnist"
    arch: str = "lenet"
    epochs: int | None = None  # None: the method's recipe budget
    batch_size: int = 128
    learning_rate: float | None = None  # None: the recipe's
    recipe: str = "budget"  # or "paper" (bnnkit.recipes)
    seed: int = 0
    deterministic: bool = True
    data_dir: str | None = None
    allow_subset: bool = False
    train_limit: int | None = None
    test_limit: int | None = None
    method_options: dict = field(default_factory=dict)
    strategy: str = "default"
    steps_per_epoch: int | None = None  # None: one pass over the training images
    max_steps: int | None = None  # None: no cap; else each stage stops after this many
    augment: str = "auto"  # bnnkit.data.augment recipe, or auto (by dataset)
    image_size: int | None = None  # streaming datasets: square model input side
    cache: str | None = None  # streaming datasets: "memory" or a file prefix
    shuffle_buffer: int = InputOptions.shuffle_buffer

    @classmethod
    def from_json(cls, path: Path) -> TrainConfig:
        data = json.loads(Path(path).read_text())
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def input_options(self) -> InputOptions:
        size = (self.image_size, self.image_size) if self.image_size else None
        return InputOptions(size, self.augment, self.cache, self.shuffle_buffer)


def check_config(config: TrainConfig) -> Method:
    """Check every name and number of ``config`` once; return the method it names.

    # Raises
        InvalidConfigError: an unknown method, option, architecture, strategy or
            augmentation, or recipe, or a count that is not positive.
    """
    check_strategy(config.strategy)
    if config.arch not in ARCHITECTURES:
        raise InvalidConfigError(
            f"unknown architecture {config.arch!r}; choose one of: "
            f"{', '.join(sorted(ARCHITECTURES))}"
        )
    if config.augment != "auto" and config.augment not in AUGMENTATIONS:
        raise InvalidConfigError(
            f"unknown augmentation {config.augment!r}; choose one of: "
            f"auto, {', '.join(AUGMENTATIONS)}"
        )
    for name in (
        "epochs",
        "batch_size",
        "steps_per_epoch",
        "max_steps",
        "train_limit",
        "test_limit",
        "image_size",
        "shuffle_buffer",
    ):
        value = getattr(config, name)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < (0 if name == "epochs" else 1)
        ):
            raise InvalidConfigError(f"{name} must be a positive integer, got {value!r}")
    check_recipe_name(config.recipe)
    return get_method(config.method, **config.method_options)


def steps_per_epoch(config: TrainConfig, dataset: TrainingData) -> int:
    """Batches per epoch: ``config.steps_per_epoch``, else one pass over the training set."""
    return config.steps_per_epoch or dataset.steps_per_epoch(config.batch_size)


def load_run_dataset(config: TrainConfig) -> TrainingData:
    """The dataset ``config`` names, with its input options and limits."""
    dataset = load_dataset(
        config.dataset,
        config.data_dir,
        allow_subset=config.allow_subset,
        options=config.input_options(),
    )
    if config.train_limit or config.test_limit:
        dataset = dataset.subset(config.train_limit, config.test_limit)
    return dataset


def epoch_checkpoint(
    manager, epoch_variable, history_path: Path, history: dict, stage_name: str
) -> Any:
    """A Keras callback that writes the history and a checkpoint after every epoch (both
    atomic: ``atomic_write_json`` and ``tf.train.CheckpointManager``)."""
    import tensorflow as tf

    def on_epoch_end(epoch, logs=None):
        record = {
            "stage": stage_name,
            "epoch": epoch + 1,
            **{k: float(v) for k, v in (logs or {}).items()},
        }
        history.setdefault(stage_name, []).append(record)
        atomic_write_json(history_path, history)
        epoch_variable.assign(epoch + 1)
        manager.save(checkpoint_number=epoch + 1)

    return tf.keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)


def stop_after_steps(total: int) -> Any:
    """A Keras callback that ends training once the optimizer has taken ``total`` steps."""
    import tensorflow as tf

    def on_train_batch_end(batch, logs=None):
        if int(callback.model.optimizer.iterations.numpy()) >= total:
            callback.model.stop_training = True

    callback = tf.keras.callbacks.LambdaCallback(on_train_batch_end=on_train_batch_end)
    return callback


@dataclass
class _Run:
    """What the steps of one run share."""

    config: TrainConfig
    run_dir: Path  # where earlier outputs are read
    out_dir: Path  # where this process writes (a temporary folder off the chief)
    strategy: Any
    method: Method
    dataset: TrainingData
    recipe: Recipe
    steps_per_epoch: int
    verbose: int
    log: Callable
    history: dict = field(default_factory=dict)
    timings: list = field(default_factory=list)
    shards: list = field(default_factory=list)

    def stage_steps(self, stage: Stage) -> int:
        """Optimizer steps of ``stage``: its epochs, capped by ``max_steps``."""
        steps = stage.epochs * self.steps_per_epoch
        return min(steps, self.config.max_steps) if self.config.max_steps else steps

    def stage_epochs(self, stage: Stage) -> int:
        return min(stage.epochs, math.ceil(self.stage_steps(stage) / self.steps_per_epoch))


def _prepare_run_dir(
    run_dir: Path, config: TrainConfig, resume: bool, overwrite: bool
) -> TrainConfig:
    config_path = run_dir / CONFIG_FILE
    if resume:
        if not config_path.is_file():
            raise InvalidInputError(
                f"cannot resume: {run_dir} holds no {CONFIG_FILE}; start a new run without --resume"
            )
        return TrainConfig.from_json(config_path)
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise OutputExistsError(
                f"{run_dir} already holds a run; pass --resume to continue it, --overwrite to "
                "replace it, or choose another --name"
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(config_path, asdict(config))
    return config


def _claim_run_dir(strategy, run_dir: Path, config: TrainConfig, overwrite: bool) -> None:
    """The chief creates (or replaces) the run folder; every worker stops if it refuses."""
    error = None
    if is_chief(strategy):
        try:
            _prepare_run_dir(run_dir, config, False, overwrite)
        except OutputExistsError as refused:
            error = refused
    if not all_workers_ok(strategy, error is None):
        raise error or OutputExistsError(
            f"the chief worker refused to write {run_dir}; see its error"
        )


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    verbose: int | None = None,
    dataset: TrainingData | None = None,
    log=print,
) -> dict:
    """Train ``config`` into ``run_dir`` and return the final metrics (also in metrics.json).

    # Arguments
        config: the run's definition; with ``resume=True`` the saved config.json wins.
        run_dir: the run folder (created).
        resume: continue an interrupted run from its last epoch checkpoint.
        overwrite: replace an existing run folder.
        verbose: Keras verbosity (default: a progress bar on a terminal, a line per epoch
            otherwise).
        dataset: an already loaded dataset (default: loaded from the config).

    # Raises
        OutputExistsError: ``run_dir`` holds a run and neither resume nor overwrite was given.
        InvalidConfigError: a name or number of ``config`` is wrong (before anything is written).
        DatasetNotFoundError, InvalidDatasetError: from data loading and reading.
    """
    run_dir = Path(run_dir)
    if resume:
        config = _prepare_run_dir(run_dir, config, resume, overwrite)
    method = check_config(config)
    # Multi-worker collectives must be configured before TensorFlow runs anything.
    strategy = make_strategy(config.strategy)
    chief = is_chief(strategy)
    if dataset is None:
        dataset = load_run_dataset(config)
    # Only the chief writes the run folder; other workers write the same files (saving
    # may need every worker) into a temporary folder that is deleted at the end.
    out_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="bnnkit-worker-"))
    if not resume:
        _claim_run_dir(strategy, run_dir, config, overwrite)
    run = _Run(
        config,
        run_dir,
        out_dir,
        strategy,
        method,
        dataset,
        method.recipe(config.recipe),
        steps_per_epoch(config, dataset),
        verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
        log,
    )
    try:
        with _dataset_errors(dataset):
            return _train_stages(run)
    finally:
        if not chief:
            shutil.rmtree(out_dir, ignore_errors=True)


@contextlib.contextmanager
def _dataset_errors(dataset: TrainingData):
    """Errors TensorFlow raises while reading the data (a file that is not an image, a label
    out of range) become :class:`InvalidDatasetError` with TensorFlow's first line."""
    import tensorflow as tf

    try:
        yield
    except (
        tf.errors.InvalidArgumentError,
        tf.errors.DataLossError,
        tf.errors.NotFoundError,
    ) as error:
        message = " ".join(str(error.message).split("\n")[0].split())
        raise InvalidDatasetError(f"reading {dataset.name} failed: {message[:400]}") from None


def _train_stages(run: _Run) -> dict:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(run.config.seed)
    if run.config.deterministic:
        tf.config.experimental.enable_op_determinism()
    epochs = run.config.epochs if run.config.epochs is not None else run.recipe.epochs

    def builder(method_instance):
        return build_model(
            run.config.arch, method_instance, run.dataset.input_shape, run.dataset.num_classes
        )

    stages = run.method.training_stages(builder, epochs, run.recipe)
    if not stages:
        raise InvalidConfigError(f"method {run.method.name!r} defined no training stage")
    read_history = run.run_dir / "history.json"
    run.history = json.loads(read_history.read_text()) if read_history.is_file() else {}
    device = ", ".join(accelerators()) or "the CPU"
    run.log(
        f"training on {device}; {run.steps_per_epoch} step(s) of {run.config.batch_size} "
        f"images per epoch"
    )
    model = None
    for index, stage in enumerate(stages):
        model = _run_stage(run, index, len(stages), stage, model)
    return _finalize(run, model, epochs)


def _run_stage(run: _Run, index: int, count: int, stage: Stage, previous):
    """One stage: load it when an earlier process finished it, else compile, resume, fit."""
    import tensorflow as tf

    stage_file = run.run_dir / f"stage{index}_{stage.name}.keras"
    if stage_file.is_file():
        run.log(f"stage {index + 1}/{count} '{stage.name}': finished earlier, loading it")
        return load_model(stage_file)
    started = time.perf_counter()
    tf.keras.utils.set_random_seed(run.config.seed + index)
    model, checkpoint, epoch_variable = _compile(run, stage, previous)
    first_epoch = _resume(run, index, count, stage, checkpoint, epoch_variable)
    manager = tf.train.CheckpointManager(
        checkpoint, run.out_dir / "checkpoint" / f"stage{index}", max_to_keep=1
    )
    _fit(
        run,
        stage,
        model,
        first_epoch,
        epoch_checkpoint(
            manager, epoch_variable, run.out_dir / "history.json", run.history, stage.name
        ),
    )
    save_model(model, run.out_dir / stage_file.name)
    run.timings.append(
        {
            "stage": stage.name,
            "epochs": stage.epochs,
            "images_seen": run.stage_steps(stage) * run.config.batch_size,
            "seconds": round(time.perf_counter() - started, 2),
            "recipe": (stage.recipe or run.recipe).describe(),
            "learning_rate": _learning_rate(run, stage),  # the rate used: the recipe's or not
            **(stage.report(model) if stage.report else {}),
        }
    )
    return model


def _learning_rate(run: _Run, stage: Stage) -> float:
    """The stage's initial learning rate: its own, else the run's, else its recipe's."""
    recipe = stage.recipe or run.recipe
    return stage.learning_rate or run.config.learning_rate or recipe.learning_rate


def _compile(run: _Run, stage: Stage, previous):
    """The stage's model, compiled with the recipe's optimizer, and its checkpoint."""
    import tensorflow as tf

    with run.strategy.scope():
        model: Any = stage.build(previous, run.dataset)
        recipe = stage.recipe or run.recipe
        optimizer = recipe.make_optimizer(_learning_rate(run, stage), run.stage_steps(stage))
        model.compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"])
        optimizer.build(model.trainable_variables)
        epoch_variable = tf.Variable(0, dtype=tf.int64, trainable=False)
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_variable)
    return model, checkpoint, epoch_variable


def _resume(run: _Run, index: int, count: int, stage: Stage, checkpoint, epoch_variable) -> int:
    """Restore the stage's last checkpoint, if any; return the first epoch still to train."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(run.run_dir / "checkpoint" / f"stage{index}")
    if not latest:
        run.history[stage.name] = []
        run.log(
            f"stage {index + 1}/{count} '{stage.name}': training {stage.epochs} "
            f"epoch(s) of {run.method.title} ({run.config.arch}) on {run.dataset.name} "
            f"[{run.dataset.source}]"
        )
        return 0
    checkpoint.restore(latest).assert_existing_objects_matched()
    first_epoch = int(epoch_variable.numpy())
    # Epochs after the checkpoint were lost with the process; forget their records.
    run.history[stage.name] = [
        r for r in run.history.get(stage.name, []) if r["epoch"] <= first_epoch
    ]
    run.log(
        f"stage {index + 1}/{count} '{stage.name}': resuming after epoch "
        f"{first_epoch}/{stage.epochs}"
    )
    return first_epoch


def _fit(run: _Run, stage: Stage, model, first_epoch: int, checkpoint_callback) -> None:
    """``model.fit`` from ``first_epoch`` to the stage's last epoch (or ``max_steps``)."""
    last_epoch = run.stage_epochs(stage)
    if first_epoch >= last_epoch:
        return
    callbacks = [checkpoint_callback]
    if run.stage_steps(stage) < last_epoch * run.steps_per_epoch:
        callbacks.append(stop_after_steps(run.stage_steps(stage)))
    model.fit(
        _training_input(run, range(first_epoch, last_epoch)),
        epochs=last_epoch,
        initial_epoch=first_epoch,
        steps_per_epoch=run.steps_per_epoch,
        validation_data=run.dataset.test_batches(),
        callbacks=callbacks,
        verbose=run.verbose,
    )


def _training_input(run: _Run, epochs: range):
    """The training batches of ``epochs``: one pipeline, or under several workers of a
    streaming dataset one pipeline per worker over its own files (``Shard``)."""
    config, dataset = run.config, run.dataset

    def batches(batch_size: int, shard: Shard, steps: int):
        return dataset.train_batches(
            batch_size, seed=config.seed, epochs=epochs, steps_per_epoch=steps, shard=shard
        )

    if not dataset.shards_by_file or config.strategy == "default":
        return batches(config.batch_size, ONE_SHARD, run.steps_per_epoch)

    def per_worker(context):
        shard = Shard(context.input_pipeline_id, context.num_input_pipelines)
        run.shards.append(shard)
        local_replicas = context.num_replicas_in_sync // context.num_input_pipelines
        return batches(
            context.get_per_replica_batch_size(config.batch_size),
            shard,
            run.steps_per_epoch * local_replicas,
        )

    return run.strategy.distribute_datasets_from_function(per_worker)


def _finalize(run: _Run, model, epochs: int) -> dict:
    """Evaluate the final model, save it, and write ``metrics.json``."""
    if not model.optimizer:
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
    loss, accuracy = model.evaluate(run.dataset.test_batches(), verbose=0)
    save_model(model, run.out_dir / "model.keras")
    metrics = {
        "method": run.method.describe(),
        "arch": run.config.arch,
        **run.dataset.describe(),
        "test_accuracy": float(accuracy),
        "test_loss": float(loss),
        "parameters": int(model.count_params()),
        "epochs": epochs,
        "steps_per_epoch": run.steps_per_epoch,
        "recipe": run.config.recipe,
        "images_seen": sum(t["images_seen"] for t in run.timings),
        "stages": run.timings,
    }
    if run.shards:
        shard = run.shards[-1]
        files = run.dataset.train_files(shard)
        metrics["input_shard"] = {
            "index": shard.index,
            "count": shard.count,
            "file_count": len(files),
            "files": files if len(files) <= LISTED_FILES else None,
        }
    atomic_write_json(run.out_dir / "metrics.json", metrics)
    return metrics


def run_is_complete(run_dir: str | Path) -> bool:
    """True when ``run_dir`` holds a finished run (final model and metrics)."""
    run_dir = Path(run_dir)
    return (run_dir / "metrics.json").is_file() and (run_dir / "model.keras").is_file()


__all__ = [
    "STRATEGIES",
    "TrainConfig",
    "check_config",
    "epoch_checkpoint",
    "is_chief",
    "load_run_dataset",
    "make_strategy",
    "run_is_complete",
    "steps_per_epoch",
    "stop_after_steps",
    "train",
]
