"""Training recipes: optimizer, learning rate, schedule and epoch budget per method.

``recipe_for(name)`` returns a dict with keys ``optimizer`` ("adam"), ``learning_rate``,
``schedule`` ("cosine": cosine decay to 0 over each stage's steps, or "constant") and
``epochs`` (default budget on MNIST-sized data).
"""

from __future__ import annotations

DEFAULT_RECIPE = {"optimizer": "adam", "learning_rate": 1e-2, "schedule": "cosine", "epochs": 5}

RECIPES = {
    "float": {**DEFAULT_RECIPE, "learning_rate": 1e-3},
    "bnn": dict(DEFAULT_RECIPE),
}


def recipe_for(method_name: str) -> dict:
    """The recipe of ``method_name`` (the default binary-network recipe when unlisted)."""
    return dict(RECIPES.get(method_name, DEFAULT_RECIPE))
