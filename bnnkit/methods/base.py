"""What a binarization method contributes to an architecture, and the method registry.

An architecture (``bnnkit.models``) decides the layer sizes and keeps its first and last
layers real-valued, as every paper here does. A :class:`Method` decides what one hidden
"conv block" is: which quantizers, in which order, with which shortcut. That split lets the
same LeNet/VGG/ResNet be built for every method, so their results compare like for like.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bnnkit.recipes import BUDGET, Recipe, check_recipe_name, no_paper_recipe

__all__ = ["REGISTRY", "Method", "Stage", "get_method", "register_method"]


REGISTRY: dict[str, type[Method]] = {}


class Method:
    """Base class of a binarization method.

    Subclasses set the class attributes and implement :meth:`conv_block`.

    # Attributes
        name: the CLI name (``bnnkit train --method NAME``).
        title: human-readable name.
        reference: the paper, as a citation.
        binary_activations: True when hidden convs take binary inputs *and* weights, so LCE
            must turn each of them into an ``LceBconv2d``.
        binary_weights: True when hidden conv weights are binary.
        conv_shortcut: True when :meth:`conv_block` adds its own shortcut around the conv
            (Bi-Real), so an architecture must not add another one per conv.
        recipes: the method's training recipes (:mod:`bnnkit.recipes`), one per name:
            ``budget`` (the default, shared by every method) and ``paper`` (its paper's).
    """

    name = ""
    title = ""
    reference = ""
    binary_activations = False
    binary_weights = False
    conv_shortcut = False
    recipes: tuple[Recipe, ...] = (
        BUDGET,
        no_paper_recipe(BUDGET, "no recipe in the paper"),
    )

    def __init__(self, **options):
        unknown = set(options) - set(self.option_defaults())
        if unknown:
            from bnnkit.errors import InvalidConfigError

            raise InvalidConfigError(
                f"method {self.name!r} has no option(s) {sorted(unknown)}; "
                f"it takes {sorted(self.option_defaults()) or 'none'}"
            )
        self.options = {**self.option_defaults(), **options}

    @classmethod
    def option_defaults(cls) -> dict:
        """The method's options and their defaults (the paper's configuration)."""
        return {}

    def conv_block(
        self,
        x,
        filters: int,
        kernel_size: int,
        *,
        strides: int = 1,
        padding: str = "same",
        pool: bool = False,
        name: str,
    ):
        """Apply one hidden conv block (functional API) and return its output tensor.

        ``pool`` adds a 2x2 max-pool at the place the method's paper puts it.
        """
        raise NotImplementedError

    def recipe(self, name: str = "budget") -> Recipe:
        """The method's recipe called ``name`` (``budget`` or ``paper``)."""
        check_recipe_name(name)
        return next(recipe for recipe in self.recipes if recipe.name == name)

    def training_stages(
        self, build_model: Callable[..., object], epochs: int, recipe: Recipe = BUDGET
    ) -> list[Stage]:
        """The training procedure as stages run one after the other with ``model.fit``.

        ``epochs`` is the total over every stage (multi-stage methods split it), so every
        method of a comparison gets the same budget. The default is one stage that trains
        ``build_model(self)`` for ``epochs`` with ``recipe``. Multi-step procedures
        (Bi-Real's initialization from a real-valued network, BWNH/SBD's
        train-float-then-binarize) return several; see :class:`Stage`.
        """
        return [Stage("train", epochs, lambda previous, dataset: build_model(self), recipe=recipe)]

    def describe(self) -> dict:
        return {
            "method": self.name,
            "title": self.title,
            "reference": self.reference,
            "binary_activations": self.binary_activations,
            "binary_weights": self.binary_weights,
            "options": self.options,
        }


@dataclass
class Stage:
    """One step of a training procedure.

    # Attributes
        name: shown in logs and used to name the stage's checkpoint folder.
        epochs: epochs to train in this stage (0: only build, e.g. a pure conversion step).
        build: ``build(previous_model_or_None, dataset) -> tf.keras.Model``: the model this
            stage trains, e.g. a new binary model initialized from the previous stage's.
        learning_rate: initial learning rate of this stage (None: the recipe's, or the
            run's ``--lr``).
        recipe: the stage's optimizer and schedule (None: the run's recipe).
        report: ``report(trained_model) -> dict``, measurements recorded with the stage in
            ``metrics.json`` (e.g. the bits that flipped during fine-tuning).
    """

    name: str
    epochs: int
    build: Callable[[object, object], object]
    learning_rate: float | None = None
    recipe: Recipe | None = None
    report: Callable[[object], dict] | None = None


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: make a method available by its ``name``."""
    REGISTRY[cls.name] = cls
    return cls


def get_method(name: str | Method, **options) -> Method:
    """Instantiate a registered method by name (a Method instance is returned as is)."""
    if isinstance(name, Method):
        return name
    if name not in REGISTRY:
        from bnnkit.errors import InvalidConfigError

        raise InvalidConfigError(
            f"unknown method {name!r}; choose one of: {', '.join(sorted(REGISTRY))}"
        )
    return REGISTRY[name](**options)
