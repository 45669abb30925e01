r"""Bi-Real Net: a real-valued shortcut around every binary convolution.

Block (paper, Fig. 1 and Sec. 3.1):

    x ─┬─ ApproxSign -> binary conv (magnitude-aware sign weights) -> [max-pool] -> BN ─(+)─>
       └───────────────────── shortcut ───────────────────────────────────────────────┘

The shortcut is the identity when the block keeps the shape. When it changes the shape
it is the paper's downsampling shortcut: average pooling over the same window as the
conv's stride (and the block's pool) -> real 1x1 conv -> BN. (In Bi-Real-18/34 that only
happens at stage transitions; in LeNet both hidden blocks change the shape, so both get
the downsampling shortcut; the hidden "fc" block's avg-pool covers the whole map.)

Training (Sec. 3.4), :meth:`BiReal.training_stages`, over the run's total epochs:

* ``--recipe budget`` (default): 1. a real-valued network of the same architecture, with
  the activation \(\operatorname{clip}(-1, x, 1)\) in place of the sign and real weights
  (option ``real_valued=True``), a third of the epochs; 2. the binary network, initialized
  from it layer by layer ("clip init"), the rest; both with the budget recipe.
* ``--recipe paper``: the official chain, 1. the real-valued network with ReLU (ResNet's
  SGD recipe), 2. the same network fine-tuned with clip(-1, x, 1), 3. the binary network
  initialized from it, SGD with momentum 0.9, weight decay 0, the learning rate divided by
  10 at 1/2 and 3/4 of the stage (:data:`bnnkit.recipes.BIREAL_PAPER`); a fifth, a fifth
  and three fifths of the epochs (at least one each). Departures: the official step 2
  goes through a leaky clip (slope 0.1) before the clip, and the release retrains the
  batch norms for one more epoch with the weights fixed to +-1; both are left out.

Deployment: the ApproxSign feeds the conv directly and the weights are +-1 times one
scale per output channel, so LCE makes each binary conv an ``LceBconv2d``.

# References
- Liu, Wu, Luo, Yang, Liu, Cheng. Bi-Real Net: Enhancing the Performance of 1-bit CNNs
  with Improved Representational Capability and Advanced Training Algorithm. ECCV 2018.
  https://arxiv.org/abs/1808.00278
"""

from __future__ import annotations

import larq as lq
import tensorflow as tf

from bnnkit.layers import binary_pad_values
from bnnkit.methods.base import Method, Stage, register_method
from bnnkit.quantizers.bireal import BiRealApproxSign, BiRealWeightQuantizer
from bnnkit.recipes import BIREAL_PAPER, BUDGET, RESNET_PAPER
from bnnkit.shapes import pair

__all__ = ["REAL_ACTIVATIONS", "BiReal", "copy_weights_by_name"]

#: Activation of the real-valued initialization networks (option ``real_activation``).
REAL_ACTIVATIONS = ("clip", "relu")


@register_method
class BiReal(Method):
    name = "bireal"
    title = "Bi-Real Net"
    reference = (
        "Liu, Wu, Luo, Yang, Liu, Cheng. Bi-Real Net: Enhancing the Performance "
        "of 1-bit CNNs with Improved Representational Capability and Advanced "
        "Training Algorithm. ECCV 2018"
    )
    binary_activations = True
    binary_weights = True
    conv_shortcut = True
    recipes = (BUDGET, BIREAL_PAPER)

    @classmethod
    def option_defaults(cls):
        return {"real_valued": False, "real_activation": "clip", "init_fraction": 1 / 3}

    def __init__(self, **options):
        super().__init__(**options)
        if self.options["real_activation"] not in REAL_ACTIVATIONS:
            from bnnkit.errors import InvalidConfigError

            raise InvalidConfigError(
                f"bireal: real_activation must be one of {', '.join(REAL_ACTIVATIONS)}, got "
                f"{self.options['real_activation']!r}"
            )
        if self.options["real_valued"]:
            self.binary_activations = False
            self.binary_weights = False

    def conv_block(self, x, filters, kernel_size, *, strides=1, padding="same", pool=False, name):
        shortcut = x
        real = self.options["real_valued"]
        if real and self.options["real_activation"] == "relu":
            x = tf.keras.layers.Activation("relu", name=f"{name}_relu")(x)
        elif real:
            x = tf.keras.layers.Activation(lq.activations.hard_tanh, name=f"{name}_clip")(x)
        x = lq.layers.QuantConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            pad_values=binary_pad_values(padding),
            input_quantizer=None if real else BiRealApproxSign(),
            kernel_quantizer=None if real else BiRealWeightQuantizer(),
            kernel_constraint="weight_clip",
            use_bias=False,
            name=f"{name}_conv",
        )(x)
        if pool:
            x = tf.keras.layers.MaxPool2D(2, name=f"{name}_pool")(x)
        x = tf.keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        shortcut = self.shortcut(
            shortcut, x, kernel_size, strides=strides, padding=padding, pool=pool, name=name
        )
        return tf.keras.layers.Add(name=f"{name}_add")([x, shortcut])

    @staticmethod
    def shortcut(x, block_output, kernel_size, *, strides=1, padding="same", pool=False, name):
        """Identity, or avg-pool -> real 1x1 conv -> BN when the block changes the shape."""
        s = pair(strides)
        downsampled = pool or s != (1, 1) or (padding == "valid" and pair(kernel_size) != (1, 1))
        if padding == "valid" and pair(kernel_size) != (1, 1):
            x = tf.keras.layers.AveragePooling2D(
                pair(kernel_size), strides=s, padding="valid", name=f"{name}_shortcut_pool"
            )(x)
        elif s != (1, 1):
            x = tf.keras.layers.AveragePooling2D(
                s, strides=s, padding="same", name=f"{name}_shortcut_pool"
            )(x)
        if pool:
            x = tf.keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool2")(x)
        if x.shape[1:3] != block_output.shape[1:3]:
            from bnnkit.errors import UnsupportedModelError

            raise UnsupportedModelError(
                f"Bi-Real block {name!r}: cannot match the shortcut {tuple(x.shape[1:])} "
                f"to the block output {tuple(block_output.shape[1:])}"
            )
        if downsampled or x.shape[-1] != block_output.shape[-1]:
            x = tf.keras.layers.Conv2D(
                int(block_output.shape[-1]), 1, use_bias=False, name=f"{name}_shortcut_conv"
            )(x)
            x = tf.keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_shortcut_bn")(x)
        return x

    def training_stages(self, build_model, epochs, recipe=BUDGET):
        """The real-valued initialization network(s), then the BNN initialized from them.

        ``budget``: the clip network gets ``round(init_fraction * epochs)`` epochs (at
        least 1), the binary step the rest. ``paper``: ReLU network, clip network, binary
        network, with a fifth, a fifth and the rest of the epochs. With too few epochs for
        every step, the first steps are dropped (1 epoch: only the binary step).
        """
        if recipe.name == "paper":
            first = max(1, round(epochs / 5))
            plan = [
                ("real_relu", "relu", first, RESNET_PAPER),
                ("real_clip", "clip", first, recipe),
            ]
        else:
            first = max(1, round(self.options["init_fraction"] * epochs))
            plan = [("real_clip", "clip", first, recipe)]
        while plan and epochs - sum(step[2] for step in plan) < 1:
            plan.pop(0)
        stages = [self._real_stage(build_model, *step) for step in plan]
        stages.append(
            Stage(
                "binary",
                epochs - sum(step[2] for step in plan),
                self._initialized(build_model, self),
                recipe=recipe,
            )
        )
        return stages

    def _real_stage(self, build_model, name, activation, epochs, recipe):
        real = type(self)(**{**self.options, "real_valued": True, "real_activation": activation})
        return Stage(name, epochs, self._initialized(build_model, real), recipe=recipe)

    @staticmethod
    def _initialized(build_model, method):
        def build(previous, dataset):
            model = build_model(method)
            if previous is not None:
                copy_weights_by_name(previous, model)
            return model

        return build


def copy_weights_by_name(source, target) -> int:
    """Copy the weights of every layer of ``target`` that ``source`` has under the same
    name and with the same shapes (the clip init); returns the number of layers copied."""
    copied = 0
    by_name = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        src = by_name.get(layer.name)
        if src is None or not layer.weights:
            continue
        weights = src.get_weights()
        if [w.shape for w in weights] == [w.shape for w in layer.get_weights()]:
            layer.set_weights(weights)
            copied += 1
    return copied
