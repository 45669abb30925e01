r"""BWNH: binary weights by inner-product-preserving hashing (Hu, Wang, Cheng, AAAI 2018).

A trained float layer computes inner products \(X^\top W\) between its input patches
\(X \in \mathbb{R}^{S \times M}\) (\(M\) im2col patches of \(S = d\,d\,c\) values) and its
filters \(W \in \mathbb{R}^{S \times N}\). BWNH looks for binary codes
\(B \in \{-1, +1\}^{S \times N}\) and one scale per filter, \(A = \operatorname{diag}(\alpha)\),
that preserve those inner products on real data (the paper's hashing objective):

\[ \min_{B, A} \; L(B, A) = \|X^\top W - X^\top B A\|_F^2
   = \sum_j \big( w_j^\top G w_j - 2 \alpha_j b_j^\top G w_j + \alpha_j^2 b_j^\top G b_j \big),
   \qquad G = X X^\top. \tag{1} \]

The paper solves (1) by alternating two exact steps, so \(L\) never rises:

* **alpha step** (B fixed), closed form, one value per filter:
  \[ \alpha_j = \frac{b_j^\top G w_j}{b_j^\top G b_j}. \tag{2} \]
  A negative \(\alpha_j\) is made positive by flipping \(b_j\) (same product \(\alpha_j b_j\)).
* **B step** (A fixed): discrete cyclic coordinate descent, one bit (one row \(k\) of
  \(B\), for all filters at once) at a time with every other bit fixed. Expanding (1) in
  \(b_{kj}\) and using \(b_{kj}^2 = 1\) gives the exact minimizer
  \[ b_{kj} = \operatorname{sign}\Big( (G W)_{kj}
     - \alpha_j \big( (G B)_{kj} - G_{kk} b_{kj} \big) \Big) \tag{3} \]
  (a zero argument keeps the bit: both values give the same loss).

The start is BWN's solution of the weight-space problem \(\min \|W - BA\|^2\):
\(B = \operatorname{sign}(W)\), \(\alpha_j = \operatorname{mean}|w_j|\) (Rastegari et al.).
Layers are binarized one after the other. With ``fit="binarized"`` (default) the \(X\) of
a layer comes from the network whose earlier layers are already binary, and the target is
that network's own \(X^\top W\). With ``fit="float"`` the target is the *float* network's
output \(X_f^\top W\) (\(X_f\): the float network's patches at the same positions),
\(\|X_f^\top W - X^\top B A\|^2\), which only changes \(G W\) into \(C W\),
\(C = X X_f^\top\), in (2) and (3) (:mod:`bnnkit.binarize.calibration`). Which of the two
does better on our data is measured in ``results/ablations.json``. Then the whole network
is fine-tuned.

Only \(G\) is needed, accumulated from calibration images by
:func:`bnnkit.binarize.calibration.layer_gram`; all arithmetic is in float64.

    from bnnkit.binarize import binarize_bwnh, calibration_images
    result = binarize_bwnh(float_model, calibration_images(dataset, 1024))
    result.model            # Keras model, hidden layers binary (BWN kernel quantizer)
    result.layers[0].objective   # L after the start and after every step

In the returned model each binarized layer is, with ``finetune_scale="trainable"``
(default), a Larq ``QuantConv2D``/``QuantDense`` with the straight-through sign as kernel
quantizer (the codes \(B\); latent weights \(m\,b_{kj}\) of a small magnitude \(m\),
default \(10^{-3}\), so that fine-tuning can flip bits) followed by a
:class:`~bnnkit.layers.ChannelScale` holding \(\alpha\), which fine-tuning trains (kept
\(\ge 0\)); a bias \(c_j\) becomes \(c_j/\alpha_j\) on the conv and an activation moves after
the scale, so the function is unchanged. With
``finetune_scale="bwn"`` it is one layer with BWN's per-output-channel kernel quantizer
(:class:`bnnkit.quantizers.BWNWeightQuantizer`) and latent kernel \(\alpha_j b_j\): the
quantized kernel is exactly the hashing result at the start, but every fine-tuning step
recomputes \(\alpha_j = \operatorname{mean}|w_j|\) from the latent weights, so the hashed
scales do not survive fine-tuning; it is kept to measure that difference.

Equation numbers are this module's; the paper states (1) as its inner-product-preserving
hashing problem and solves it with the same alternating closed-form / bit-wise steps.

# References
- Hu, Wang, Cheng. From Hashing to CNNs: Training Binary Weight Networks via Hashing.
  AAAI 2018. https://arxiv.org/abs/1802.02733
- Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net. ECCV 2016 (BWN, the start point).
  https://arxiv.org/abs/1603.05279
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bnnkit.binarize import _graph
from bnnkit.binarize.calibration import check_images, fit_gram, kernel_matrix
from bnnkit.errors import InvalidInputError
from bnnkit.graph import rebuild
from bnnkit.layers import ChannelScale
from bnnkit.quantizers import BWNWeightQuantizer

__all__ = [
    "KERNEL_QUANTIZER",
    "BinarizedModel",
    "HashingResult",
    "binarize_bwnh",
    "bwn_codes",
    "bwnh_hash",
    "inner_product_error",
]


#: The kernel quantizer of BWNH's binary layers: BWN's per-output-channel
#: mean|W| * sign(W), registered as "bwn_weight" (:mod:`bnnkit.quantizers.bwn`).
KERNEL_QUANTIZER = "bwn_weight"


@dataclass
class HashingResult:
    r"""Binary codes and scales of one layer, with the loss curve of the alternation.

    # Attributes
        layer: the layer's name.
        codes: \(B\), int8 in {-1, +1}, shape (S, N).
        alpha: \(\alpha\), float64 > 0, shape (N,).
        objective: \(L\) of (1) at the start (BWN) and after every alpha/B step.
        steps: what each entry of ``objective`` follows: "start", "alpha" or "codes".
        reference: \(\|X^\top W\|_F^2\), the loss of the all-zero weights (for relative
            errors).
        patches: number of calibration patches behind \(G\).
    """

    layer: str
    codes: np.ndarray
    alpha: np.ndarray
    objective: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    reference: float = 0.0
    patches: int = 0

    @property
    def bwn_error(self) -> float:
        r"""Relative inner-product error of BWN's start point, \(L_0 / \|X^\top W\|^2\)."""
        return self.objective[0] / self.reference

    @property
    def relative_error(self) -> float:
        r"""Relative inner-product error of the result, \(L / \|X^\top W\|^2\)."""
        return self.objective[-1] / self.reference

    @property
    def kernel(self) -> np.ndarray:
        r"""\(B A\), the binary kernel as an (S, N) float matrix."""
        return self.codes * self.alpha[None, :]


def bwn_codes(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""BWN's \(B = \operatorname{sign}(W)\) (0 -> +1) and
    \(\alpha_j = \operatorname{mean}|w_j|\)."""
    weights = np.asarray(weights, np.float64)
    codes = np.where(weights >= 0, 1, -1).astype(np.int8)
    return codes, np.abs(weights).mean(axis=0)


def inner_product_error(gram: np.ndarray, weights: np.ndarray, kernel: np.ndarray) -> float:
    r"""The inner-product error
    \(\|X^\top W - X^\top \hat W\|_F^2 = \operatorname{tr}((W - \hat W)^\top G (W - \hat W))\)."""
    diff = np.asarray(weights, np.float64) - np.asarray(kernel, np.float64)
    return float(np.sum(diff * (np.asarray(gram, np.float64) @ diff)))


def bwnh_hash(
    weights: np.ndarray,
    gram: np.ndarray,
    *,
    iterations: int = 10,
    layer: str = "",
    patches: int = 0,
    cross: np.ndarray | None = None,
    reference_gram: np.ndarray | None = None,
) -> HashingResult:
    r"""Solve (1) for one layer by alternating (2) and (3), starting from BWN.

    # Arguments
        weights: \(W\), shape (S, N) (an im2col kernel matrix).
        gram: \(G = X X^\top\), shape (S, S).
        iterations: alpha/B rounds at most (it stops early when a B sweep changes no bit;
            0 returns BWN's start point).
        cross, reference_gram: \(C = X X_f^\top\) and \(G_f = X_f X_f^\top\), to fit the
            float network's outputs \(X_f^\top W\) instead of \(X^\top W\) (both or none).

    # Returns
        A :class:`HashingResult`; its ``objective`` never rises.
    """
    w = np.asarray(weights, np.float64)
    g = np.asarray(gram, np.float64)
    g = (g + g.T) / 2
    codes, alpha = bwn_codes(w)
    b = codes.astype(np.float64)
    q = (g if cross is None else np.asarray(cross, np.float64)) @ w  # G W (or C W)
    # (G B)^T, kept up to date bit by bit; stored per filter (rows) so that updating the
    # filters whose bit changed touches contiguous memory
    gbt = np.ascontiguousarray((g @ b).T)
    target_gram = g if reference_gram is None else np.asarray(reference_gram, np.float64)
    constant = np.sum(w * (target_gram @ w), axis=0)  # w_j^T G w_j (or G_f)
    diagonal = np.diag(g)

    def loss():
        return float(
            np.sum(
                constant - 2 * alpha * np.sum(b * q, axis=0) + alpha**2 * np.sum(b.T * gbt, axis=1)
            )
        )

    result = HashingResult(layer, codes, alpha, reference=float(constant.sum()), patches=patches)
    result.objective.append(loss())
    result.steps.append("start")

    def alpha_step():
        nonlocal alpha
        numerator = np.sum(b * q, axis=0)
        denominator = np.sum(b.T * gbt, axis=1)
        safe = denominator > 0
        alpha = np.where(safe, numerator / np.where(safe, denominator, 1.0), alpha)
        flip = alpha < 0  # alpha_j b_j == (-alpha_j)(-b_j)
        if np.any(flip):
            b[:, flip] *= -1
            gbt[flip] *= -1
            alpha = np.abs(alpha)
        result.objective.append(loss())
        result.steps.append("alpha")

    for _ in range(iterations):
        alpha_step()
        changed_any = False
        for k in range(w.shape[0]):  # (3), row k = bit k of every filter
            row = b[k]
            score = q[k] - alpha * (gbt[:, k] - diagonal[k] * row)
            new = np.where(score > 0, 1.0, np.where(score < 0, -1.0, row))
            changed = new != row
            if np.any(changed):
                changed_any = True
                delta = new[changed] - row[changed]
                gbt[changed] += delta[:, None] * g[k][None, :]
                b[k, changed] = new[changed]
        result.objective.append(loss())
        result.steps.append("codes")
        if not changed_any:
            break
    if iterations > 0:
        alpha_step()
    result.codes = b.astype(np.int8)
    result.alpha = alpha
    return result


@dataclass
class BinarizedModel:
    """A binarized Keras model and what was measured for each replaced layer."""

    model: object
    layers: list


#: How BWNH's scales fine-tune (see the module docstring).
FINETUNE_SCALES = ("trainable", "bwn")
#: What the alternation fits (see the module docstring).
FITS = ("binarized", "float")


def _bwnh_replacement(result: HashingResult, finetune_scale: str, latent_magnitude: float):
    def replace(old, inputs):
        weights = old.get_weights()
        shape = weights[0].shape
        if finetune_scale == "bwn":
            layer = _graph.like(old, kernel_quantizer=BWNWeightQuantizer())
            output = layer(inputs)
            layer.set_weights([result.kernel.reshape(shape).astype(np.float32)] + weights[1:])
            return output
        layer = _graph.like(old, kernel_quantizer="ste_sign", activation=None)
        scale = ChannelScale(name=f"{old.name}_scale")
        output = scale(layer(inputs))
        kernel = (latent_magnitude * result.codes).reshape(shape).astype(np.float32)
        layer.set_weights([kernel] + [w / result.alpha.astype(np.float32) for w in weights[1:]])
        scale.set_weights([result.alpha.astype(np.float32)])
        return _graph.activation_after(old, output)

    return replace


def binarize_bwnh(
    model,
    images,
    *,
    layers=None,
    iterations: int = 10,
    patches_per_image: int | None = 16,
    seed: int = 0,
    finetune_scale: str = "trainable",
    latent_magnitude: float = 1e-3,
    fit: str = "binarized",
) -> BinarizedModel:
    """Binarize ``model``'s hidden conv/dense layers one by one with BWNH.

    # Arguments
        model: a trained functional Keras model (it is not modified).
        images: calibration inputs, float32 of shape (n,) + the model's input shape.
        layers: names of the layers to binarize (default: every Conv2D/Dense layer but
            the first and the last).
        iterations: alpha/B rounds per layer (0: BWN's sign/mean, no hashing).
        patches_per_image: conv patches sampled per image (None: all).
        seed: seed of the patch sampling.
        finetune_scale: ``"trainable"`` (codes with a trainable per-channel scale) or
            ``"bwn"`` (BWN's quantizer, which recomputes the scale); see the module.
        latent_magnitude: \\(m\\), the magnitude of the latent weights behind the codes
            (``"trainable"`` only; 1.0 pins every bit at the clip limit).
        fit: ``"binarized"`` (each layer's own outputs in the partly binarized network) or
            ``"float"`` (the float network's outputs); see the module docstring.

    # Returns
        :class:`BinarizedModel` with the new Keras model and one :class:`HashingResult`
        per binarized layer.

    # Raises
        InvalidInputError: calibration images of the wrong shape, empty or not finite, or
            an unknown option value.
        UnsupportedModelError: no conv/dense layer, or a layer that cannot be binarized.
    """
    _check_choice("finetune_scale", finetune_scale, FINETUNE_SCALES)
    _check_choice("fit", fit, FITS)
    names = _graph.target_layers(model, layers)
    images = check_images(model, images)
    current = rebuild(model, {})
    results = []
    for name in names:
        stats = fit_gram(
            current, model, name, images, fit=fit, patches_per_image=patches_per_image, seed=seed
        )
        result = bwnh_hash(
            kernel_matrix(current.get_layer(name)),
            stats.gram,
            iterations=iterations,
            layer=name,
            patches=stats.patches,
            cross=stats.cross,
            reference_gram=stats.reference_gram,
        )
        current = rebuild(
            current, {name: _bwnh_replacement(result, finetune_scale, latent_magnitude)}
        )
        results.append(result)
    return BinarizedModel(current, results)


def _check_choice(option, value, allowed):
    if value not in allowed:
        raise InvalidInputError(f"{option} must be one of {', '.join(allowed)}, got {value!r}")
