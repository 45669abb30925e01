r"""Training recipes: optimizer, learning-rate schedule and epoch budget.

A :class:`Recipe` is a value; each method carries its own (``Method.recipes``, by name) and
``bnnkit train --recipe NAME`` picks one:

* ``budget`` (the default), the same for every method so that their accuracies compare
  like for like: Adam, a learning rate of \(10^{-2}\) (\(10^{-3}\) for the float
  baseline) with cosine decay to 0 over each training stage, 5 epochs. It is Larq's recipe
  for binary networks (Larq Zoo trains its binary models with Adam), chosen because it
  converges in the few epochs an MNIST-sized comparison of eight methods can afford.
  **No paper here trains this way**: Bi-Real and BWN use SGD, XNOR-Net Adam with a step
  schedule, and all train for tens of ImageNet epochs.
* ``paper``: each method's own recipe, from its paper or its official code (the
  ``source`` of every recipe says which). Methods whose paper gives no recipe we could
  check fall back to ``budget`` and say so in ``source``.

**Scaling the papers' epochs to the dataset.** The papers train on ImageNet for 20
(Bi-Real-18) to 55 (XNOR-Net's code: 55 "epochs" of 2,500 or 1,500 batches) epochs. bnnkit
keeps each paper's optimizer, learning rates, momentum and weight decay, and the *positions*
of its learning-rate steps as fractions of the training stage (Bi-Real: 10/20 and 15/20;
XNOR-Net's code: 18/55, 29/55, 43/55, 52/55), and runs them over the dataset's epoch budget
(``epochs``, 5 for MNIST and Fashion-MNIST, the same as ``budget``; ``--epochs`` changes
it). So the scale factor is ``epochs / paper epochs`` (5/20 for Bi-Real on MNIST), and a
comparison of ``paper`` against ``budget`` is at an equal number of epochs.

Departures, each a deliberate simplification: weight decay is Keras' decoupled form
(``w -= lr * wd * w`` each step) instead of the L2 term of Caffe/Torch, and it stays on for
the whole stage (XNOR-Net's code turns its 5e-4 off after epoch 29 of 55).

# References
- Liu et al. Bi-Real Net. ECCV 2018 (Sec. 4, "Implementation details"), and the official
  release https://github.com/liuzechun/Bi-Real-net (README "Training Procedure").
- Rastegari et al. XNOR-Net. ECCV 2016, and the official code
  https://github.com/allenai/XNOR-Net (``train.lua`` regimes, ``README.md`` commands).
- He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. CVPR 2016 (Sec. 3.4:
  SGD, lr 0.1 divided by 10 twice, momentum 0.9, weight decay 1e-4), the ReLU network of
  Bi-Real's initialization chain.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bnnkit.errors import InvalidConfigError

#: The recipe names every method answers to.
RECIPE_NAMES = ("budget", "paper")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("cosine", "steps", "constant")


@dataclass(frozen=True)
class Recipe:
    r"""How one training stage runs.

    # Attributes
        name: ``budget`` or ``paper``.
        optimizer: ``adam`` or ``sgd`` (SGD with ``momentum``).
        learning_rate: the initial learning rate.
        schedule: ``cosine`` (decay to 0 over the stage), ``steps`` (multiply the rate by
            ``factors[i]`` from the fraction ``boundaries[i]`` of the stage on) or
            ``constant``.
        boundaries, factors: the step schedule (fractions of the stage's steps, and the
            rate multipliers that start there).
        momentum: SGD momentum.
        weight_decay: decoupled weight decay per step (0: none).
        epochs: the default epoch budget on MNIST-sized data.
        source: where the recipe comes from.
    """

    name: str = "budget"
    optimizer: str = "adam"
    learning_rate: float = 1e-2
    schedule: str = "cosine"
    boundaries: tuple = ()
    factors: tuple = ()
    momentum: float = 0.9
    weight_decay: float = 0.0
    epochs: int = 5
    source: str = "bnnkit's budget recipe (Adam + cosine, Larq's recipe for binary networks)"

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise InvalidConfigError(
                f"recipe optimizer {self.optimizer!r} is not supported ({', '.join(OPTIMIZERS)})"
            )
        if self.schedule not in SCHEDULES:
            raise InvalidConfigError(
                f"recipe schedule {self.schedule!r} is not supported ({', '.join(SCHEDULES)})"
            )
        if self.schedule == "steps" and len(self.factors) != len(self.boundaries):
            raise InvalidConfigError("a step schedule needs one factor per boundary")

    def with_rate(self, learning_rate: float) -> Recipe:
        """The same recipe with another initial learning rate."""
        return replace(self, learning_rate=float(learning_rate))

    def learning_rate_schedule(self, initial: float, total_steps: int):
        """The Keras learning rate (a float or a schedule) of a stage of ``total_steps``."""
        import tensorflow as tf

        total_steps = max(1, int(total_steps))
        if self.schedule == "cosine":
            return tf.keras.optimizers.schedules.CosineDecay(initial, total_steps)
        if self.schedule == "steps" and self.boundaries:
            steps = [max(1, round(b * total_steps)) for b in self.boundaries]
            values = [initial] + [initial * f for f in self.factors]
            return tf.keras.optimizers.schedules.PiecewiseConstantDecay(steps, values)
        return initial

    def make_optimizer(self, initial: float, total_steps: int):
        """A new Keras optimizer running this recipe for ``total_steps`` steps."""
        import tensorflow as tf

        rate = self.learning_rate_schedule(initial, total_steps)
        decay = self.weight_decay or None
        if self.optimizer == "sgd":
            return tf.keras.optimizers.SGD(rate, momentum=self.momentum, weight_decay=decay)
        return tf.keras.optimizers.Adam(rate, weight_decay=decay)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "schedule": self.schedule,
            "boundaries": list(self.boundaries),
            "factors": list(self.factors),
            "momentum": self.momentum if self.optimizer == "sgd" else None,
            "weight_decay": self.weight_decay,
            "epochs": self.epochs,
            "source": self.source,
        }


#: The binary networks' budget recipe.
BUDGET = Recipe()
#: The float baseline's budget recipe (a binary network's 1e-2 is too high for it).
FLOAT_BUDGET = Recipe(learning_rate=1e-3)

BIREAL_SOURCE = (
    "Liu et al., Bi-Real Net, ECCV 2018, Sec. 4 and the official README: SGD, "
    "momentum 0.9, weight decay 0, lr 0.01 x0.1 at epochs 10 and 15 of 20"
)
#: Bi-Real's binary step (and its clip-network fine-tuning step).
BIREAL_PAPER = Recipe(
    "paper",
    "sgd",
    1e-2,
    "steps",
    (0.5, 0.75),
    (0.1, 0.01),
    momentum=0.9,
    weight_decay=0.0,
    source=BIREAL_SOURCE,
)
#: The ReLU network that starts Bi-Real's initialization chain: ResNet's recipe.
RESNET_PAPER = Recipe(
    "paper",
    "sgd",
    1e-1,
    "steps",
    (1 / 3, 2 / 3),
    (0.1, 0.01),
    momentum=0.9,
    weight_decay=1e-4,
    source="He et al., ResNet, CVPR 2016, Sec. 3.4 (Bi-Real's step 1 "
    "'follows the hyper-parameter settings in ResNet'); the paper "
    "divides the rate 'when the error plateaus': at 1/3 and 2/3 of "
    "the stage here, our reading",
)
#: XNOR-Net's code: the rate regimes of its 55 epochs (1e-2 from epoch 1, 5e-3 from 19,
#: 1e-3 from 30, 5e-4 from 44, 1e-4 from 53), as fractions of the stage and factors.
XNOR_BOUNDARIES = (18 / 55, 29 / 55, 43 / 55, 52 / 55)
XNOR_FACTORS = (0.5, 0.1, 0.05, 0.01)
#: BWN: SGD with the code's 55-epoch regime (lr 1e-2, 5e-3, 1e-3, 5e-4, 1e-4).
BWN_PAPER = Recipe(
    "paper",
    "sgd",
    1e-2,
    "steps",
    momentum=0.9,
    weight_decay=5e-4,
    source="Rastegari et al., XNOR-Net, ECCV 2016; allenai/XNOR-Net train.lua "
    "regimes and README (BWN: default SGD, momentum 0.9)",
    boundaries=XNOR_BOUNDARIES,
    factors=XNOR_FACTORS,
)
#: XNOR-Net: Adam with the same regime at a tenth of the rate (train.lua: 'adam' x 0.1).
XNOR_PAPER = Recipe(
    "paper",
    "adam",
    1e-3,
    "steps",
    weight_decay=5e-4,
    source="Rastegari et al., XNOR-Net, ECCV 2016; allenai/XNOR-Net README "
    "(-optimType adam) and train.lua (Adam rate = regime x 0.1)",
    boundaries=XNOR_BOUNDARIES,
    factors=XNOR_FACTORS,
)


def no_paper_recipe(budget: Recipe, why: str) -> Recipe:
    """The ``paper`` entry of a method whose paper gives no recipe we could check."""
    return replace(budget, name="paper", source=f"{why}; the budget recipe")


def check_recipe_name(name: str) -> str:
    if name not in RECIPE_NAMES:
        raise InvalidConfigError(
            f"unknown recipe {name!r}; choose one of {', '.join(RECIPE_NAMES)}"
        )
    return name


__all__ = [
    "BIREAL_PAPER",
    "BUDGET",
    "BWN_PAPER",
    "FLOAT_BUDGET",
    "RECIPE_NAMES",
    "RESNET_PAPER",
    "XNOR_PAPER",
    "Recipe",
    "check_recipe_name",
    "no_paper_recipe",
]
