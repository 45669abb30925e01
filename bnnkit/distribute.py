"""``tf.distribute`` strategies by name, and what one process needs to know about its cluster.

    from bnnkit.distribute import make_strategy, is_chief
    strategy = make_strategy("multiworker")     # reads $TF_CONFIG; create it before any op runs

The names (``STRATEGIES``) need no TensorFlow import, so the CLI can offer them as choices.
See docs/distributed.md.
"""

from __future__ import annotations

from typing import Any

from bnnkit.errors import InvalidConfigError

#: ``--strategy`` name -> what it runs on.
STRATEGIES = {
    "default": "one device: the GPU when there is one, else the CPU",
    "mirrored": "every GPU of this machine (tf.distribute.MirroredStrategy)",
    "multiworker": "several processes or machines, cluster from $TF_CONFIG "
    "(tf.distribute.MultiWorkerMirroredStrategy)",
}


def check_strategy(name: str) -> str:
    """``name`` when it is a known strategy, else an :class:`InvalidConfigError`."""
    if name not in STRATEGIES:
        raise InvalidConfigError(
            f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}"
        )
    return name


def make_strategy(name: str) -> Any:
    """The ``tf.distribute`` strategy called ``name`` (see :data:`STRATEGIES`).

    ``multiworker`` reads the cluster from ``$TF_CONFIG`` and must be created before
    TensorFlow runs any operation.
    """
    import tensorflow as tf

    factories = {
        "default": tf.distribute.get_strategy,
        "mirrored": tf.distribute.MirroredStrategy,
        "multiworker": tf.distribute.MultiWorkerMirroredStrategy,
    }
    return factories[check_strategy(name)]()


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


def all_workers_ok(strategy, ok: bool) -> bool:
    """A barrier: False on every worker when any worker passes ``ok=False``."""
    import tensorflow as tf

    if strategy.num_replicas_in_sync == 1 or getattr(strategy, "cluster_resolver", None) is None:
        return ok
    flags = strategy.run(lambda: tf.constant(1.0 if ok else 0.0))
    return bool(
        strategy.reduce(tf.distribute.ReduceOp.SUM, flags, axis=None).numpy()
        >= strategy.num_replicas_in_sync
    )


def accelerators() -> list[str]:
    """The GPUs/TPUs TensorFlow sees (empty: training runs on the CPU)."""
    import tensorflow as tf

    return [d.name for d in tf.config.list_logical_devices() if d.device_type in ("GPU", "TPU")]


__all__ = [
    "STRATEGIES",
    "accelerators",
    "all_workers_ok",
    "check_strategy",
    "is_chief",
    "make_strategy",
]
