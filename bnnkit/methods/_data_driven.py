"""Training stages shared by the data-driven methods (BWNH, SBD): float -> binarize -> fine-tune.

Stage 1 trains the float network of the same architecture (or loads one given by the
``float_model`` option and trains it for 0 epochs). Stage 2 binarizes it layer by layer
with calibration images drawn from the training set and fine-tunes the result.
"""

from __future__ import annotations

from bnnkit.methods.base import Method, Stage

#: Options every data-driven method takes, with their defaults.
COMMON_OPTIONS = {
    "float_model": None,          # path of a trained float model to start from
    "finetune_epochs": None,      # None: the same number of epochs as the float stage
    "finetune_learning_rate": 1e-4,
    "float_learning_rate": 1e-3,  # the float baseline's recipe
    "calibration_images": 1024,
    "patches_per_image": 16,
    "iterations": 10,
    "seed": 0,
}


def float_block(x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
    """The float baseline's block: data-driven methods start from a float network."""
    from bnnkit.methods import get_method

    return get_method("float").conv_block(x, filters, kernel_size, strides=strides,
                                          padding=padding, pool=pool, name=name)


def data_driven_stages(method: Method, build_model, epochs: int, binarize) -> list[Stage]:
    """``[float stage, binarize+fine-tune stage]``; ``binarize(model, images)`` returns a
    :class:`bnnkit.binarize.BinarizedModel`."""
    from bnnkit.methods import get_method

    options = method.options

    def build_float(previous, dataset):
        if options["float_model"]:
            from bnnkit.serialization import load_model

            return load_model(options["float_model"])
        return build_model(get_method("float"))

    def build_binary(previous, dataset):
        from bnnkit.binarize import calibration_images

        images = calibration_images(dataset, options["calibration_images"], seed=options["seed"])
        result = binarize(previous, images)
        method.last_binarization = result        # per-layer errors, for reports and tests
        return result.model

    finetune = options["finetune_epochs"]
    return [
        Stage("float", 0 if options["float_model"] else epochs, build_float,
              options["float_learning_rate"]),
        Stage("binarize", epochs if finetune is None else int(finetune), build_binary,
              options["finetune_learning_rate"]),
    ]
