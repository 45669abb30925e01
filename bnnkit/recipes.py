"""Training recipes: optimizer, learning rate, schedule and epoch budget per method.

``recipe_for(name)`` returns a dict with keys ``optimizer`` ("adam"), ``learning_rate``,
``schedule`` ("cosine": cosine decay to 0 over each stage's steps, or "constant") and
``epochs`` (default budget on MNIST-sized data).

Every method shares the same epoch budget, so that their accuracies compare like for
like. Multi-step methods split it into stages (Bi-Real: a third of it for the real-valued
clip network, the rest for the binary network initialized from it, each stage with its
own cosine decay from ``learning_rate``; see ``Method.training_stages``).

All binary methods use Adam with a cosine-decayed learning rate of 1e-2, the recipe of
Larq's binary networks (Adam is what Bi-Real uses; XNOR-Net and HORQ trained with SGD/Adam
on ImageNet for many more epochs than a 5-epoch MNIST budget allows).
"""

from __future__ import annotations

__all__ = ["DEFAULT_RECIPE", "RECIPES", "recipe_for"]


DEFAULT_RECIPE = {"optimizer": "adam", "learning_rate": 1e-2, "schedule": "cosine", "epochs": 5}

RECIPES = {
    "float": {**DEFAULT_RECIPE, "learning_rate": 1e-3},
    "bnn": dict(DEFAULT_RECIPE),
    # BWN keeps real activations (ReLU after BN), like the float net, but its weights move
    # through the sign: the binary networks' larger rate.
    "bwn": dict(DEFAULT_RECIPE),
    "xnor": dict(DEFAULT_RECIPE),
    "horq": dict(DEFAULT_RECIPE),
    "bireal": dict(DEFAULT_RECIPE),
}


def recipe_for(method_name: str) -> dict:
    """The recipe of ``method_name`` (the default binary-network recipe when unlisted)."""
    return dict(RECIPES.get(method_name, DEFAULT_RECIPE))
