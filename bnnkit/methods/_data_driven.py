"""Training stages shared by the data-driven methods (BWNH, SBD): float -> binarize -> fine-tune.

Stage 1 trains the float network of the same architecture (or loads one given by the
``float_model`` option and trains it for 0 epochs). Stage 2 binarizes it layer by layer
with calibration images drawn from the training set and fine-tunes the result.
"""

from __future__ import annotations

from bnnkit.methods.base import Method, Stage, get_method

#: Options every data-driven method takes, with their defaults.
COMMON_OPTIONS = {
    "float_model": None,  # path of a trained float model to start from
    "finetune_epochs": None,  # None: the same number of epochs as the float stage
    "finetune_learning_rate": 1e-4,
    "float_learning_rate": 1e-3,  # the float baseline's recipe
    "calibration_images": 1024,
    "patches_per_image": 16,
    "iterations": 10,
    "seed": 0,
}


class DataDrivenMethod(Method):
    """Base of the methods that binarize a trained float network (BWNH, SBD).

    Hidden conv blocks are the float baseline's (the method starts from a float network);
    subclasses implement ``binarize(model, images) -> bnnkit.binarize.BinarizedModel``.
    """

    binary_weights = True
    binary_activations = False

    @classmethod
    def option_defaults(cls) -> dict:
        return dict(COMMON_OPTIONS)

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        return get_method("float").conv_block(
            x, filters, kernel_size, strides=strides, padding=padding, pool=pool, name=name
        )

    def binarize(self, model, images):
        raise NotImplementedError

    def training_stages(self, build_model, epochs) -> list[Stage]:
        """``[float stage, binarize+fine-tune stage]``."""
        options = self.options

        def build_float(previous, dataset):
            if options["float_model"]:
                from bnnkit.serialization import load_model

                return load_model(options["float_model"])
            return build_model(get_method("float"))

        def build_binary(previous, dataset):
            from bnnkit.binarize import calibration_images

            images = calibration_images(
                dataset, options["calibration_images"], seed=options["seed"]
            )
            result = self.binarize(previous, images)
            self.last_binarization = result  # per-layer errors, for reports and tests
            return result.model

        finetune = options["finetune_epochs"]
        return [
            Stage(
                "float",
                0 if options["float_model"] else epochs,
                build_float,
                options["float_learning_rate"],
            ),
            Stage(
                "binarize",
                epochs if finetune is None else int(finetune),
                build_binary,
                options["finetune_learning_rate"],
            ),
        ]
