"""Training stages shared by the data-driven methods (BWNH, SBD): float -> binarize -> fine-tune.

Stage 1 trains the float network of the same architecture (or loads one given by the
``float_model`` option and trains it for 0 epochs). Stage 2 binarizes it layer by layer
with calibration images drawn from the training set and fine-tunes the result.

The run's epochs are the total of both stages, as for every other method, so that a
comparison gives every method the same budget: the float stage gets
``1 - finetune_fraction`` of them and fine-tuning the rest (5 epochs: 3 + 2). With a
``float_model`` every epoch goes to fine-tuning.

What the fine-tuning stage records in ``metrics.json`` (``stages[1]``):
``float_accuracy`` (test accuracy of the float network it starts from),
``binarized_accuracy`` (test accuracy right after binarization, before any fine-tuning),
the same for BWN's sign/mean binarization of the same float network
(``bwn_binarized_accuracy``), the bits that flipped during fine-tuning (``flipped_bits``
of ``binary_weights``, :mod:`bnnkit.binarize.bits`) and each layer's relative output error.
"""

from __future__ import annotations

from bnnkit.methods.base import Method, Stage, get_method
from bnnkit.recipes import BUDGET, no_paper_recipe

#: Default magnitude \(m\) of the latent weights behind each bit when fine-tuning starts.
#: Adam moves a weight by about its learning rate per step whatever the gradient's size,
#: so a bit whose gradient keeps one sign flips after about \(m / \eta\) steps: 10 steps
#: at the fine-tuning rate \(\eta = 10^{-4}\). At \(m = 10^{-2}\) it takes 100, more than
#: two epochs of 5,000 images give (78 steps), and no bit flips (``results/ABLATIONS.md``).
LATENT_MAGNITUDE = 1e-3

#: Options every data-driven method takes, with their defaults.
COMMON_OPTIONS = {
    "float_model": None,  # path of a trained float model to start from
    "finetune_epochs": None,  # None: finetune_fraction of the run's epochs
    "finetune_fraction": 0.4,
    "finetune_learning_rate": 1e-4,
    "float_learning_rate": 1e-3,  # the float baseline's recipe
    "calibration_images": 1024,
    "patches_per_image": 16,
    "iterations": 10,
    # |latent weight| behind each bit at the start of fine-tuning: 10 Adam steps at the
    # fine-tuning rate (see LATENT_MAGNITUDE)
    "latent_magnitude": LATENT_MAGNITUDE,
    "fit": "binarized",  # or "float": fit the float network's layer outputs
    "seed": 0,
}


class DataDrivenMethod(Method):
    """Base of the methods that binarize a trained float network (BWNH, SBD).

    Hidden conv blocks are the float baseline's (the method starts from a float network);
    subclasses implement ``binarize(model, images) -> bnnkit.binarize.BinarizedModel``.
    """

    binary_weights = True
    binary_activations = False
    recipes = (
        BUDGET,
        no_paper_recipe(BUDGET, "the paper's fine-tuning recipe is not reproduced"),
    )

    @classmethod
    def option_defaults(cls) -> dict:
        return dict(COMMON_OPTIONS)

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        return get_method("float").conv_block(
            x, filters, kernel_size, strides=strides, padding=padding, pool=pool, name=name
        )

    def binarize(self, model, images):
        raise NotImplementedError

    def binarize_options(self) -> dict:
        """The options every binarizer takes (keyword arguments of ``binarize_*``)."""
        keys = ("iterations", "patches_per_image", "seed", "latent_magnitude", "fit")
        return {key: self.options[key] for key in keys}

    def stage_epochs(self, epochs: int) -> tuple[int, int]:
        """``(float epochs, fine-tuning epochs)`` of a run of ``epochs`` in total."""
        options = self.options
        if options["float_model"]:
            finetune = epochs if options["finetune_epochs"] is None else options["finetune_epochs"]
            return 0, int(finetune)
        if options["finetune_epochs"] is not None:
            finetune = int(options["finetune_epochs"])
        else:
            finetune = min(epochs - 1, max(1, round(options["finetune_fraction"] * epochs)))
        return max(0, epochs - finetune), max(0, finetune)

    def training_stages(self, build_model, epochs, recipe=BUDGET) -> list[Stage]:
        """``[float stage, binarize+fine-tune stage]``, ``epochs`` in total."""
        options = self.options
        float_epochs, finetune_epochs = self.stage_epochs(epochs)
        float_recipe = get_method("float").recipe(recipe.name)
        state: dict = {}

        def build_float(previous, dataset):
            if options["float_model"]:
                from bnnkit.serialization import load_model

                return load_model(options["float_model"])
            return build_model(get_method("float"))

        def build_binary(previous, dataset):
            from bnnkit.binarize import binary_kernel_signs, calibration_images

            images = calibration_images(
                dataset, options["calibration_images"], seed=options["seed"]
            )
            result = self.binarize(previous, images)
            self.last_binarization = result  # per-layer errors, for reports and tests
            state["signs"] = binary_kernel_signs(result.model)
            state["start"] = {
                "float_accuracy": evaluate_accuracy(previous, dataset),
                "binarized_accuracy": evaluate_accuracy(result.model, dataset),
                "layer_relative_error": {r.layer: r.relative_error for r in result.layers},
                **self.extra_start_measurements(previous, images, dataset),
            }
            return result.model

        def report(model):
            from bnnkit.binarize import binary_kernel_signs, count_flips

            flips = (
                count_flips(state["signs"], binary_kernel_signs(model)) if "signs" in state else {}
            )
            return {**state.get("start", {}), **flips}

        return [
            Stage(
                "float",
                float_epochs,
                build_float,
                options["float_learning_rate"],
                recipe=float_recipe,
            ),
            Stage(
                "binarize",
                finetune_epochs,
                build_binary,
                options["finetune_learning_rate"],
                recipe=recipe,
                report=report,
            ),
        ]

    def extra_start_measurements(self, float_model, images, dataset) -> dict:
        """BWN's binarization of the same float network (sign and mean|W| per filter, no
        data involved), the baseline both papers compare with."""
        from bnnkit.binarize import binarize_bwnh

        bwn = binarize_bwnh(float_model, images[:1], iterations=0, finetune_scale="bwn")
        return {"bwn_binarized_accuracy": evaluate_accuracy(bwn.model, dataset)}


def evaluate_accuracy(model, dataset, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` on ``dataset``'s test images (no training)."""
    import numpy as np

    x, y = dataset.arrays("test")
    predictions = np.concatenate(
        [
            model(x[i : i + batch_size], training=False).numpy().argmax(axis=-1)
            for i in range(0, len(x), batch_size)
        ]
    )
    return float(np.mean(predictions == y))
