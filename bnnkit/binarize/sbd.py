r"""SBD: semi-binary decomposition of a trained layer (Hu, Li, Wang, Cheng, ECCV 2018).

A layer with \(S\) output filters (here \(S = T\), the conv's kernel count) over input
patches of \(N = c\,d\,d\) values has the weight matrix \(W \in \mathbb{R}^{S \times N}\)
(row \(i\) = filter \(i\)). SBD writes it as a product of two binary matrices and a
non-negative diagonal:

\[ W \approx U D V^\top, \qquad U \in \{-1,+1\}^{S \times K},\;
   V \in \{-1,+1\}^{N \times K},\; D = \operatorname{diag}(d_1..d_K) \ge 0. \tag{1} \]

so a conv with \(T\) kernels \(c \times d \times d\) becomes three layers:
``<name>_v`` (\(K\) binary kernels \(c \times d \times d\), the columns of \(V\)),
``<name>_scale`` (the \(K\) values of \(D\), :class:`ChannelScale`) and ``<name>_u``
(\(T\) binary \(1 \times 1\) kernels over \(K\) channels, the rows of \(U\)).
Costs \(K(S + N)\) bits instead of the binary layer's \(S N\); the user's bit budget
\(\beta\) sets \(K = \lfloor \beta S N / (S + N) \rfloor\) (default \(\beta = 1\)).

The fit is feature-map oriented: with \(X \in \mathbb{R}^{N \times M}\) the layer's real
input patches and \(G = X X^\top\),

\[ \min \; L = \|W X - U D V^\top X\|_F^2
   = \operatorname{tr}\big(E\, G\, E^\top\big), \quad E = W - U D V^\top. \tag{2} \]

Components are learnt greedily. With \(R = W - \sum_{l<k} d_l u_l v_l^\top\) the residual
before component \(k\), and \(u^\top u = S\),

\[ L(u, v, d) = \operatorname{tr}(R G R^\top) - 2 d\, u^\top R G v
   + d^2 S\, v^\top G v, \tag{3} \]

minimized by alternating exact steps (so \(L\) never rises):

* **U step** (\(v, d > 0\) fixed): \(u = \operatorname{sign}(R G v)\). \hfill (4)
* **V step** (\(u, d\) fixed): a binary quadratic in \(v\), solved by discrete cyclic
  coordinate descent, bit \(i\) with the others fixed (\(h = G R^\top u\)):
  \(v_i = \operatorname{sign}\big(h_i - d S ((G v)_i - G_{ii} v_i)\big)\). \hfill (5)
* **D step** (\(u, v\) fixed):
  \(d = \max\big(0, \; u^\top R G v / (S\, v^\top G v)\big)\). \hfill (6)

A component starts from \(v = \operatorname{sign}\) of the leading right singular vector of
\(R\) (power iteration), \(u\) from (4) and \(d\) from (6). A zero argument of a sign keeps
the current bit. Every product with \(R G\) uses \(R G\) kept up to date component by
component, so a component costs \(O(S N + N^2)\) per round. Layers are processed one after
the other, each on inputs from the network whose earlier layers are already decomposed;
then the network is fine-tuned: the binary kernels train with the straight-through sign
from latent weights \(\pm m\) of a small magnitude \(m\) (option ``latent_magnitude``,
default \(10^{-3}\): Adam at the fine-tuning rate \(10^{-4}\) can flip a bit in about 10
steps; at \(m = 1\), the clip limit, it cannot in a few thousand), and \(D\) stays
non-negative. Option ``fit="float"`` fits the float
network's outputs \(W X_f\) instead of the partly decomposed network's own \(W X\): (3)
then starts from \(W C^\top\), \(C = X X_f^\top\), in place of \(W G\)
(:mod:`bnnkit.binarize.calibration`).

Equation numbers are this module's.

# References
- Hu, Li, Wang, Cheng. Training Binary Weight Networks via Semi-Binary Decomposition.
  ECCV 2018.
  https://openaccess.thecvf.com/content_ECCV_2018/html/Qinghao_Hu_Training_Binary_Weight_ECCV_2018_paper.html
"""

from __future__ import annotations

from dataclasses import dataclass, field

import larq as lq
import numpy as np
import tensorflow as tf

from bnnkit.binarize import _graph
from bnnkit.binarize.bwnh import FITS, BinarizedModel
from bnnkit.binarize.calibration import check_images, fit_gram, kernel_matrix
from bnnkit.errors import InvalidInputError
from bnnkit.graph import rebuild
from bnnkit.layers import ChannelScale

__all__ = ["DecompositionResult", "binarize_sbd", "components_for_budget", "sbd_decompose"]


@dataclass
class DecompositionResult:
    r"""One layer's semi-binary decomposition and its loss curve.

    # Attributes
        layer: the replaced layer's name.
        u: \(U\), int8 {-1,+1}, shape (S, K) (S = output filters).
        v: \(V\), int8 {-1,+1}, shape (N, K) (N = c d d inputs per patch).
        d: \(D\)'s diagonal, float64 >= 0, shape (K,).
        objective: \(L\) of (2) after every step of every component (non-increasing).
        steps: what each ``objective`` entry follows: "start" (float weights, K = 0),
            "init k", "U k", "V k", "D k".
        component_error: \(L\) after each finished component (index k-1 holds K = k).
        reference: \(\|W X\|_F^2\) (loss of K = 0), for relative errors.
        bits: \(K (S + N)\), the binary weights of the decomposition.
        patches: number of calibration patches behind \(G\).
    """

    layer: str
    u: np.ndarray
    v: np.ndarray
    d: np.ndarray
    objective: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    component_error: list = field(default_factory=list)
    reference: float = 0.0
    bits: int = 0
    patches: int = 0

    @property
    def components(self) -> int:
        return int(self.d.shape[0])

    @property
    def relative_error(self) -> float:
        return self.objective[-1] / self.reference

    @property
    def weights(self) -> np.ndarray:
        r"""\(U D V^\top\), shape (S, N)."""
        return (self.u * self.d[None, :]) @ self.v.T.astype(np.float64)


def components_for_budget(filters: int, inputs: int, bit_budget: float, *, layer: str = "") -> int:
    r"""\(K = \lfloor \beta S N / (S + N) \rfloor\): the most components within the budget.

    # Raises
        InvalidInputError: the budget is not positive, or too small for even K = 1.
    """
    where = f" of layer {layer!r}" if layer else ""
    if (
        isinstance(bit_budget, bool)
        or not isinstance(bit_budget, (int, float))
        or not np.isfinite(bit_budget)
        or bit_budget <= 0
    ):
        raise InvalidInputError(f"bit_budget must be a positive fraction of S*N, got {bit_budget}")
    k = int(np.floor(bit_budget * filters * inputs / (filters + inputs) + 1e-9))
    if k < 1:
        raise InvalidInputError(
            f"bit budget {bit_budget} x S*N{where} = {bit_budget * filters * inputs:.0f} bits "
            f"is too small for even one component, which needs S+N = {filters + inputs} bits "
            f"(S={filters} filters, N={inputs} inputs); use bit_budget >= "
            f"{(filters + inputs) / (filters * inputs):.4g}"
        )
    return k


def _sign_keep(score, current):
    return np.where(score > 0, 1.0, np.where(score < 0, -1.0, current))


def sbd_decompose(
    weights: np.ndarray,
    gram: np.ndarray,
    components: int,
    *,
    iterations: int = 10,
    layer: str = "",
    patches: int = 0,
    seed: int = 0,
    cross: np.ndarray | None = None,
    reference_gram: np.ndarray | None = None,
) -> DecompositionResult:
    r"""Greedy semi-binary decomposition (1) of ``weights`` under the objective (2).

    # Arguments
        weights: \(W\), shape (S, N), row i = filter i.
        gram: \(G = X X^\top\), shape (N, N).
        components: \(K\).
        iterations: U/V/D rounds per component at most (stops early when U and V settle).
        seed: seed of the power iteration's start vector.
        cross, reference_gram: \(C = X X_f^\top\) and \(G_f = X_f X_f^\top\), to fit the
            float network's outputs \(W X_f\) (both or none).
    """
    w = np.asarray(weights, np.float64)
    g = np.asarray(gram, np.float64)
    g = (g + g.T) / 2
    s, n = w.shape
    rng = np.random.default_rng(seed)
    residual = w.copy()
    if cross is None:
        rg = w @ g  # R G, updated per component
        loss = float(np.sum(w * rg))  # tr(R G R^T)
    else:  # float target: W C^T and tr(W G_f W^T)
        rg = w @ np.asarray(cross, np.float64).T
        loss = float(np.sum(w * (w @ np.asarray(reference_gram, np.float64))))
    diagonal = np.diag(g).tolist()
    g_columns = np.asfortranarray(g)
    us = np.zeros((s, components))
    vs = np.zeros((n, components))
    ds = np.zeros(components)
    result = DecompositionResult(
        layer, us, vs, ds, reference=loss, bits=components * (s + n), patches=patches
    )
    result.objective.append(loss)
    result.steps.append("start")

    for k in range(components):
        # start: leading right singular vector of R (power iteration), then (4) and (6)
        x = rng.standard_normal(n)
        for _ in range(8):
            x = residual.T @ (residual @ x)
            x /= np.linalg.norm(x) or 1.0
        v = _sign_keep(x, 1.0)
        gv = g @ v
        rgv = rg @ v
        u = _sign_keep(rgv, 1.0)
        linear = float(u @ rgv)  # u^T R G v
        quad = s * float(v @ gv)  # S v^T G v

        # record and d_step run within this iteration and read the current d, linear, quad
        def record(step):
            result.objective.append(loss - 2 * d * linear + d * d * quad)  # noqa: B023
            result.steps.append(f"{step} {k + 1}")  # noqa: B023

        def d_step():  # (6)
            return max(0.0, linear / quad) if quad > 0 else 0.0  # noqa: B023

        d = d_step()
        record("init")
        for _ in range(iterations):
            changed = False
            if d > 0:  # (4)
                rgv = rg @ v
                new_u = _sign_keep(rgv, u)
                changed |= bool(np.any(new_u != u))
                u = new_u
                linear = float(u @ rgv)
            record("U")
            if d > 0:  # (5), bit by bit
                h = rg.T @ u
                bits = v.tolist()
                weight = d * s
                for i, h_i in enumerate(h.tolist()):
                    score = h_i - weight * (gv[i] - diagonal[i] * bits[i])
                    if (score > 0 and bits[i] < 0) or (score < 0 and bits[i] > 0):
                        bits[i] = -bits[i]
                        gv += (2.0 * bits[i]) * g_columns[:, i]
                        changed = True
                v = np.asarray(bits)
                linear = float(h @ v)
                quad = s * float(v @ gv)
            record("V")
            d = d_step()
            record("D")
            if not changed:
                break
        loss = result.objective[-1]
        us[:, k], vs[:, k], ds[k] = u, v, d
        residual -= d * np.outer(u, v)
        rg -= d * np.outer(u, gv)
        result.component_error.append(loss)
    result.u = us.astype(np.int8)
    result.v = vs.astype(np.int8)
    result.d = ds
    return result


def _sbd_replacement(result: DecompositionResult, latent_magnitude: float = 1.0):
    def replace(old, inputs):
        config = old.get_config()
        k = result.components
        binary = dict(kernel_quantizer="ste_sign", kernel_constraint="weight_clip")
        if isinstance(old, tf.keras.layers.Dense):
            first = lq.layers.QuantDense(k, use_bias=False, name=f"{old.name}_v", **binary)
            last = lq.layers.QuantDense(
                config["units"],
                activation=config["activation"],
                use_bias=config["use_bias"],
                name=f"{old.name}_u",
                **binary,
            )
            v_kernel = latent_magnitude * result.v.astype(np.float32)
            u_kernel = latent_magnitude * result.u.T.astype(np.float32)
        else:
            first = lq.layers.QuantConv2D(
                k,
                config["kernel_size"],
                strides=config["strides"],
                padding=config["padding"],
                dilation_rate=config["dilation_rate"],
                use_bias=False,
                name=f"{old.name}_v",
                **binary,
            )
            last = lq.layers.QuantConv2D(
                config["filters"],
                1,
                activation=config["activation"],
                use_bias=config["use_bias"],
                name=f"{old.name}_u",
                **binary,
            )
            kh, kw = config["kernel_size"]
            v_kernel = latent_magnitude * result.v.reshape(kh, kw, -1, k).astype(np.float32)
            u_kernel = latent_magnitude * result.u.T.reshape(1, 1, k, -1).astype(np.float32)
        scale = ChannelScale(name=f"{old.name}_scale")
        output = last(scale(first(inputs)))
        first.set_weights([v_kernel])
        scale.set_weights([result.d.astype(np.float32)])
        last.set_weights([u_kernel] + old.get_weights()[1:])
        return output

    return replace


def binarize_sbd(
    model,
    images,
    *,
    layers=None,
    bit_budget: float = 1.0,
    components: int | None = None,
    iterations: int = 10,
    patches_per_image: int | None = 16,
    seed: int = 0,
    latent_magnitude: float = 1e-3,
    fit: str = "binarized",
) -> BinarizedModel:
    r"""Replace ``model``'s hidden conv/dense layers one by one by SBD's three layers.

    # Arguments
        model: a trained functional Keras model (not modified).
        images: calibration inputs, float32 of shape (n,) + the model's input shape.
        layers: names of the layers to decompose (default: every Conv2D/Dense layer but the
            first and the last).
        bit_budget: \(\beta\): the decomposition may use \(\beta S N\) binary weights per
            layer (1.0: as many as the plain binary layer).
        components: a fixed \(K\) for every layer instead of the budget.
        iterations: U/V/D rounds per component.
        patches_per_image: conv patches sampled per image (None: all).
        seed: seed of the patch sampling and of the power iterations.
        latent_magnitude: \(m\), the magnitude of the latent weights behind U and V.
        fit: ``"binarized"`` (each layer's own outputs in the partly decomposed network)
            or ``"float"`` (the float network's outputs).

    # Returns
        :class:`~bnnkit.binarize.bwnh.BinarizedModel` with one
        :class:`DecompositionResult` per replaced layer.

    # Raises
        InvalidInputError: bad calibration images, or a budget too small for K = 1.
        UnsupportedModelError: no conv/dense layer, or a layer that cannot be decomposed.
    """
    if fit not in FITS:
        raise InvalidInputError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    names = _graph.target_layers(model, layers)
    images = check_images(model, images)
    if components is None:  # fail before any work
        for name in names:
            n, s = kernel_matrix(model.get_layer(name)).shape
            components_for_budget(s, n, bit_budget, layer=name)
    elif int(components) < 1:
        raise InvalidInputError(f"components must be >= 1, got {components}")
    current = rebuild(model, {})
    results = []
    for name in names:
        matrix = kernel_matrix(current.get_layer(name)).T  # (S filters, N inputs)
        s, n = matrix.shape
        k = (
            int(components)
            if components is not None
            else components_for_budget(s, n, bit_budget, layer=name)
        )
        stats = fit_gram(
            current, model, name, images, fit=fit, patches_per_image=patches_per_image, seed=seed
        )
        result = sbd_decompose(
            matrix,
            stats.gram,
            k,
            iterations=iterations,
            layer=name,
            patches=stats.patches,
            seed=seed,
            cross=stats.cross,
            reference_gram=stats.reference_gram,
        )
        current = rebuild(current, {name: _sbd_replacement(result, latent_magnitude)})
        results.append(result)
    return BinarizedModel(current, results)
