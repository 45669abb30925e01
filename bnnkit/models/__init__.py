"""Architecture builders, each taking a method, an input shape and a class count.

    from bnnkit.models import build_model
    model = build_model("lenet", "bnn", input_shape=(28, 28, 1), num_classes=10)

:data:`ARCHITECTURES` maps each name to its builder.
"""

from __future__ import annotations

from bnnkit.errors import InvalidConfigError
from bnnkit.models.alexnet import alexnet
from bnnkit.models.bireal import bireal18, bireal34
from bnnkit.models.lenet import lenet
from bnnkit.models.resnet import resnet18
from bnnkit.models.vgg_small import vgg_small

ARCHITECTURES = {
    "lenet": lenet,
    "vgg_small": vgg_small,
    "alexnet": alexnet,
    "resnet18": resnet18,
    "bireal18": bireal18,
    "bireal34": bireal34,
}


def build_model(arch: str, method="bnn", input_shape=(28, 28, 1), num_classes=10, **options):
    """Build architecture ``arch`` for ``method``; extra options go to the method/builder."""
    if arch not in ARCHITECTURES:
        raise InvalidConfigError(
            f"unknown architecture {arch!r}; choose one of: {', '.join(sorted(ARCHITECTURES))}"
        )
    return ARCHITECTURES[arch](
        method, input_shape=tuple(input_shape), num_classes=num_classes, **options
    )


__all__ = ["ARCHITECTURES", "build_model"]
