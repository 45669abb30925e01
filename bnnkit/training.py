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
    metrics.json       final test metrics, parameter count, timing

Every file is written through a temporary file and an atomic rename, so a killed process
leaves either the previous or the new version, never half of one. The data order depends
only on (seed, epoch), so a resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bnnkit.data import Dataset, load_dataset
from bnnkit.errors import InvalidInputError, OutputExistsError, UnsupportedModelError
from bnnkit.methods import get_method
from bnnkit.models import ARCHITECTURES, build_model
from bnnkit.recipes import recipe_for
from bnnkit.serialization import atomic_write_json, load_model, save_model

CONFIG_FILE = "config.json"
STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``config.json``)."""

    method: str = "bnn"
    dataset: str = "mnist"
    arch: str = "lenet"
    epochs: int | None = None  # None: the method's recipe budget
    batch_size: int = 128
    learning_rate: float | None = None  # None: the recipe's
    seed: int = 0
    deterministic: bool = True
    data_dir: str | None = None
    allow_subset: bool = False
    train_limit: int | None = None
    test_limit: int | None = None
    method_options: dict = field(default_factory=dict)
    strategy: str = "default"

    @classmethod
    def from_json(cls, path: Path) -> TrainConfig:
        data = json.loads(Path(path).read_text())
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def make_strategy(name: str):
    """The ``tf.distribute`` strategy: one device, all local devices, or several workers.

    ``multiworker`` reads the cluster from ``$TF_CONFIG`` (see docs/distributed.md).
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UnsupportedModelError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def is_chief(strategy) -> bool:
    """True on the one process that writes the run folder (always, without several workers).

    With ``MultiWorkerMirroredStrategy`` the chief is task ``chief``, or ``worker`` 0 when
    the cluster has no ``chief`` task (TensorFlow's convention).
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type is None:
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "chief" or (
        task_type == "worker" and not has_chief and resolver.task_id == 0
    )


def _all_workers_ok(strategy, ok: bool) -> bool:
    """A barrier: False on every worker when any worker passes ``ok=False``."""
    import tensorflow as tf

    if strategy.num_replicas_in_sync == 1 or getattr(strategy, "cluster_resolver", None) is None:
        return ok
    flags = strategy.run(lambda: tf.constant(1.0 if ok else 0.0))
    return bool(
        strategy.reduce(tf.distribute.ReduceOp.SUM, flags, axis=None).numpy()
        >= strategy.num_replicas_in_sync
    )


def epoch_batches(dataset: Dataset, batch_size: int, seed: int, first_epoch: int, last_epoch: int):
    """Training batches for epochs ``first_epoch..last_epoch-1`` as one ``tf.data`` pipeline.

    Epoch ``e`` visits the images in the order ``permutation(seed, e)``, dropping the last
    partial batch, so the order does not depend on where a run was resumed.
    Returns (pipeline, steps_per_epoch).
    """
    import tensorflow as tf

    count = len(dataset.x_train)
    steps = max(1, count // batch_size)
    used = min(count, steps * batch_size)
    order = (
        np.concatenate(
            [
                np.random.default_rng([seed, epoch]).permutation(count)[:used]
                for epoch in range(first_epoch, last_epoch)
            ]
        )
        if last_epoch > first_epoch
        else np.zeros([0], np.int64)
    )
    images = tf.constant(dataset.x_train)
    labels = tf.constant(dataset.y_train.astype(np.int64))
    mean = tf.constant(dataset.mean, tf.float32)
    std = tf.constant(dataset.std, tf.float32)

    def gather(indices):
        batch = tf.cast(tf.gather(images, indices), tf.float32)
        return (batch / 255.0 - mean) / std, tf.gather(labels, indices)

    pipeline = (
        tf.data.Dataset.from_tensor_slices(order)
        .batch(min(batch_size, used))
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return pipeline, steps


def _learning_rate(recipe: dict, initial: float, total_steps: int):
    import tensorflow as tf

    if recipe.get("schedule", "cosine") == "cosine":
        return tf.keras.optimizers.schedules.CosineDecay(initial, max(1, total_steps))
    return initial


def _optimizer(recipe: dict, learning_rate):
    import tensorflow as tf

    name = recipe.get("optimizer", "adam")
    if name == "adam":
        return tf.keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return tf.keras.optimizers.SGD(learning_rate, momentum=recipe.get("momentum", 0.9))
    raise UnsupportedModelError(f"recipe optimizer {name!r} is not supported (adam, sgd)")


class _EpochCheckpoint:
    """Keras callback factory: checkpoint + history after every epoch (both atomic)."""

    @staticmethod
    def create(manager, epoch_variable, history_path: Path, history: dict, stage_name: str):
        import tensorflow as tf

        class EpochCheckpoint(tf.keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                record = {
                    "stage": stage_name,
                    "epoch": epoch + 1,
                    **{k: float(v) for k, v in (logs or {}).items()},
                }
                history.setdefault(stage_name, []).append(record)
                atomic_write_json(history_path, history)
                epoch_variable.assign(epoch + 1)
                manager.save(checkpoint_number=epoch + 1)

        return EpochCheckpoint()


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


def load_run_dataset(config: TrainConfig) -> Dataset:
    dataset = load_dataset(config.dataset, config.data_dir, allow_subset=config.allow_subset)
    if config.train_limit or config.test_limit:
        dataset = dataset.subset(config.train_limit, config.test_limit)
    return dataset


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    verbose: int | None = None,
    dataset: Dataset | None = None,
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
        DatasetNotFoundError, UnsupportedModelError: from data loading and model building.
    """
    run_dir = Path(run_dir)
    if resume:
        config = _prepare_run_dir(run_dir, config, resume, overwrite)
    # Validate everything before the run folder is created or replaced.
    if config.strategy not in STRATEGIES:
        raise UnsupportedModelError(
            f"unknown strategy {config.strategy!r}; choose one of {', '.join(STRATEGIES)}"
        )
    # Multi-worker collectives must be configured before TensorFlow runs anything.
    strategy = make_strategy(config.strategy)
    chief = is_chief(strategy)
    method = get_method(config.method, **config.method_options)
    if config.arch not in ARCHITECTURES:
        raise UnsupportedModelError(
            f"unknown architecture {config.arch!r}; choose one of: "
            f"{', '.join(sorted(ARCHITECTURES))}"
        )
    if dataset is None:
        dataset = load_run_dataset(config)
    # Only the chief writes the run folder; other workers write the same files (saving
    # may need every worker) into a temporary folder that is deleted at the end.
    out_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="bnnkit-worker-"))
    if not resume:
        error = None
        if chief:
            try:
                _prepare_run_dir(run_dir, config, resume, overwrite)
            except OutputExistsError as refused:
                error = refused
        if not _all_workers_ok(strategy, error is None):
            raise error or OutputExistsError(
                f"the chief worker refused to write {run_dir}; see its error"
            )
    try:
        return _train_stages(config, run_dir, out_dir, strategy, method, dataset, verbose, log)
    finally:
        if not chief:
            shutil.rmtree(out_dir, ignore_errors=True)


def _train_stages(config, run_dir, out_dir, strategy, method, dataset, verbose, log) -> dict:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    recipe = recipe_for(method.name)
    epochs = config.epochs if config.epochs is not None else recipe["epochs"]

    def builder(method_instance):
        return build_model(config.arch, method_instance, dataset.input_shape, dataset.num_classes)

    stages = method.training_stages(builder, epochs)
    history_path = out_dir / "history.json"
    read_history = run_dir / "history.json"
    history = json.loads(read_history.read_text()) if read_history.is_file() else {}
    test_data = dataset.pipeline("test", 512)
    previous = None
    timings = []
    for index, stage in enumerate(stages):
        stage_file = run_dir / f"stage{index}_{stage.name}.keras"
        if stage_file.is_file():
            log(f"stage {index + 1}/{len(stages)} '{stage.name}': finished earlier, loading it")
            previous = load_model(stage_file)
            continue
        started = time.perf_counter()
        tf.keras.utils.set_random_seed(config.seed + index)
        with strategy.scope():
            model = stage.build(previous, dataset)
            _, steps = epoch_batches(dataset, config.batch_size, config.seed, 0, 0)
            rate = stage.learning_rate or config.learning_rate or recipe["learning_rate"]
            optimizer = _optimizer(recipe, _learning_rate(recipe, rate, steps * stage.epochs))
            model.compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"])
            optimizer.build(model.trainable_variables)
            epoch_variable = tf.Variable(0, dtype=tf.int64, trainable=False)
            checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_variable)
        manager = tf.train.CheckpointManager(
            checkpoint, out_dir / "checkpoint" / f"stage{index}", max_to_keep=1
        )
        first_epoch = 0
        latest = tf.train.latest_checkpoint(run_dir / "checkpoint" / f"stage{index}")
        if latest:
            checkpoint.restore(latest).assert_existing_objects_matched()
            first_epoch = int(epoch_variable.numpy())
            # Epochs after the checkpoint were lost with the process; forget their records.
            history[stage.name] = [
                r for r in history.get(stage.name, []) if r["epoch"] <= first_epoch
            ]
            log(
                f"stage {index + 1}/{len(stages)} '{stage.name}': resuming after epoch "
                f"{first_epoch}/{stage.epochs}"
            )
        else:
            history[stage.name] = []
            log(
                f"stage {index + 1}/{len(stages)} '{stage.name}': training {stage.epochs} "
                f"epoch(s) of {method.title} ({config.arch}) on {dataset.name} "
                f"[{dataset.source}]"
            )
        if first_epoch < stage.epochs:
            train_data, steps = epoch_batches(
                dataset, config.batch_size, config.seed, first_epoch, stage.epochs
            )
            callback = _EpochCheckpoint.create(
                manager, epoch_variable, history_path, history, stage.name
            )
            model.fit(
                train_data,
                epochs=stage.epochs,
                initial_epoch=first_epoch,
                steps_per_epoch=steps,
                validation_data=test_data,
                callbacks=[callback],
                verbose=verbose,
            )
        save_model(model, out_dir / stage_file.name)
        timings.append(
            {
                "stage": stage.name,
                "epochs": stage.epochs,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        previous = model
    model = previous
    if model is None:
        raise UnsupportedModelError(f"method {method.name!r} defined no training stage")
    if not model.optimizer:
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
    loss, accuracy = model.evaluate(test_data, verbose=0)
    save_model(model, out_dir / "model.keras")
    metrics = {
        "method": method.describe(),
        "arch": config.arch,
        "dataset": dataset.name,
        "dataset_source": dataset.source,
        "train_images": len(dataset.x_train),
        "test_images": len(dataset.x_test),
        "test_accuracy": float(accuracy),
        "test_loss": float(loss),
        "parameters": int(model.count_params()),
        "epochs": epochs,
        "stages": timings,
        "input_shape": list(dataset.input_shape),
        "classes": list(dataset.classes),
        "mean": list(dataset.mean),
        "std": list(dataset.std),
        "color_mode": dataset.color_mode,
    }
    atomic_write_json(out_dir / "metrics.json", metrics)
    return metrics


def run_is_complete(run_dir: str | Path) -> bool:
    """True when ``run_dir`` holds a finished run (final model and metrics)."""
    run_dir = Path(run_dir)
    return (run_dir / "metrics.json").is_file() and (run_dir / "model.keras").is_file()


__all__ = [
    "TrainConfig",
    "epoch_batches",
    "load_run_dataset",
    "make_strategy",
    "run_is_complete",
    "train",
]
