r"""Per-layer MACs of a Keras model, and the papers' speed-up predictions for each layer.

Notation of XNOR-Net (Rastegari et al. 2016, Sec. 3.2 / 4.2 "Efficiency analysis"): a
convolution with \(c\) input channels, a filter of \(N_W = w \times h\) taps and \(N_I\)
output positions costs \(c N_W N_I\) multiply-accumulates per output channel.

* **XNOR-Net** (binary inputs and weights): \(c N_W N_I\) binary operations, 64 per clock
  on a 64-bit CPU, plus \(N_I\) non-binary operations (the scaling), so
  \[ S = \frac{64\, c N_W}{c N_W + 64}. \]
  (The paper: 62.27x for a typical ResNet-18 layer, c = 256, N_W = 3x3; 58x measured.)
* **HORQ** (Li et al. 2017), *our reading* of the paper's complexity analysis: order
  \(K\) runs \(K\) binary convolutions (one per residual sign \(H_i\)), and per output
  position \(K\) scalings by \(\beta_i\) plus one more non-binary operation (the sum of the
  terms, or the residual's scale), \(K + 1\) non-binary operations in all:
  \[ S_K = \frac{c N_W N_I}{K\, c N_W N_I / 64 + (K + 1) N_I}
        = \frac{64\, c N_W}{K\, c N_W + 64\,(K + 1)}. \]
  :func:`horq_speedup` takes the binary operations per cycle and the non-binary count as
  parameters (``non_binary=order`` gives the plain \(S / K\)). The residuals
  \(R_i = R_{i-1} - \beta_i H_i\) and, with ``beta="map"``, the box filters
  \(A_i * k\) add \(O(c\,N_{in})\) float operations per order that neither formula counts.
* **BWN** (binary weights, real inputs; XNOR-Net Sec. 3.1): each multiply-accumulate
  becomes an addition or subtraction, plus one multiplication by \(\alpha\) per output.
  With \(T_m\), \(T_a\) the costs of a multiplication and an addition,
  \( S_{BWN} = c N_W (T_m + T_a) / (c N_W T_a + T_m) \) (\(\approx 2\) when
  \(T_m = T_a\), the paper's "~2x").
* **SBD** (Hu et al. 2018, its cost model): \(W \in R^{S \times N}\) (S = c N_W, N output
  channels) becomes \(U D V^T\) with K binary components: per output position \(K S\)
  additions (conv_v), K multiplications (D) and \(K N\) additions (conv_u), against
  \(S N\) multiply-accumulates:
  \[ S_{SBD} = \frac{S N (T_m + T_a)}{K (S + N)\, T_a + K\, T_m}. \]
  :func:`sbd_speedup` takes \(T_m\) and \(T_a\) (default 1 and 1: the ratio is the
  hardware's, and we have not measured it). At \(T_m = T_a\) and the default bit budget
  \(K(S+N) \le S N\) it is about 2, the same as BWN; the larger \(T_m / T_a\), the closer
  both get to \(S N / (K (S + N))\) and \(c N_W\).

These are operation counts, not latencies; :mod:`bnnkit.bench.bench` measures the real ratios
and the report explains the distance between the two.

# References
- Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net. ECCV 2016. https://arxiv.org/abs/1603.05279
- Li, Ni, Zhang, Yang, Gao. Performance Guaranteed Network Acceleration via High-Order
  Residual Quantization. ICCV 2017. https://arxiv.org/abs/1708.08687
- Hu, Li, Wang, Cheng. Training Binary Weight Networks via Semi-Binary Decomposition.
  ECCV 2018.
"""

from __future__ import annotations

import math
from typing import Any

from bnnkit.shapes import pair
from converters.macs import iter_layers, layer_macs

__all__ = [
    "bwn_speedup",
    "horq_speedup",
    "layer_table",
    "mac_summary",
    "sbd_default_components",
    "sbd_speedup",
    "whole_model_prediction",
    "xnor_speedup",
]


def xnor_speedup(c: int, n_w: int) -> float:
    """XNOR-Net's predicted speed-up of one binary convolution."""
    return 64.0 * c * n_w / (c * n_w + 64.0)


def horq_speedup(
    c: int, n_w: int, order: int, *, non_binary: int | None = None, binary_per_cycle: float = 64.0
) -> float:
    """HORQ's order-k prediction (our reading): k binary convolutions and ``non_binary``
    (default k + 1) non-binary operations per output position."""
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    extra = order + 1 if non_binary is None else non_binary
    return binary_per_cycle * c * n_w / (order * c * n_w + binary_per_cycle * extra)


def bwn_speedup(c: int, n_w: int, *, t_m: float = 1.0, t_a: float = 1.0) -> float:
    """Binary weights, real inputs: additions instead of multiply-accumulates."""
    return c * n_w * (t_m + t_a) / (c * n_w * t_a + t_m)


def sbd_default_components(patch: int, filters: int) -> int:
    """The largest K with K (S + N) <= S N bits (a binary layer's budget), at least 1."""
    return max(1, (patch * filters) // (patch + filters))


def sbd_speedup(
    patch: int, filters: int, components: int | None = None, *, t_m: float = 1.0, t_a: float = 1.0
) -> float:
    """SBD's cost model for an S x N layer decomposed into K components."""
    k = components or sbd_default_components(patch, filters)
    return patch * filters * (t_m + t_a) / (k * (patch + filters) * t_a + k * t_m)


def layer_table(model: Any) -> list[dict]:
    """One row per conv/dense layer: shape, MACs, precision, and each paper's prediction.

    ``kind`` is ``binary`` (binary inputs and weights: XNOR/LCE-style), ``binary-weight``
    (binary weights, real inputs: BWN/BWNH/SBD) or ``float``. ``order`` is HORQ's k (1 for
    every other layer); a HORQ layer's binary MACs count k convolutions.
    """
    import tensorflow as tf

    rows = []
    for layer in iter_layers(model):
        if isinstance(layer, tf.keras.layers.DepthwiseConv2D):
            continue
        if isinstance(layer, tf.keras.layers.Conv2D):
            kh, kw = pair(layer.kernel_size)
            c = int(layer.input.shape[-1])
            out = layer.output.shape
            positions = int(out[1]) * int(out[2])
            filters = int(layer.filters)
        elif isinstance(layer, tf.keras.layers.Dense):
            kh = kw = 1
            c = int(layer.input.shape[-1])
            positions = int(math.prod(int(d) for d in layer.input.shape[1:-1]))
            filters = int(layer.units)
        else:
            continue
        # Precision and binary terms come from the converters' one definition of them.
        counted = layer_macs(layer)
        kind = {"binary_weight": "binary-weight"}.get(counted.kind, counted.kind)
        order = counted.binary_terms
        n_w = kh * kw
        macs = c * n_w * positions * filters
        patch = c * n_w
        rows.append(
            {
                "layer": layer.name,
                "class": type(layer).__name__,
                "kind": kind,
                "input_shape": [int(d) for d in layer.input.shape[1:]],
                "padding": getattr(layer, "padding", "valid"),
                "strides": list(pair(getattr(layer, "strides", 1))),
                "c": c,
                "kernel": [kh, kw],
                "n_w": n_w,
                "positions": positions,
                "filters": filters,
                "order": order,
                "macs": macs,
                "binary_macs": macs * order if kind == "binary" else 0,
                "prediction": {
                    "xnor": round(xnor_speedup(c, n_w), 2),
                    "horq": round(horq_speedup(c, n_w, order if kind == "binary" else 2), 2),
                    "horq_order": order if kind == "binary" else 2,
                    "bwn": round(bwn_speedup(c, n_w), 3),
                    "sbd": round(sbd_speedup(patch, filters), 3),
                    "sbd_k": sbd_default_components(patch, filters),
                },
            }
        )
    return rows


def mac_summary(rows: list[dict]) -> dict:
    """Total MACs, binary MACs and the binary fraction of a :func:`layer_table`."""
    total = sum(r["macs"] for r in rows)
    binary = sum(r["macs"] for r in rows if r["kind"] == "binary")
    binary_weight = sum(r["macs"] for r in rows if r["kind"] == "binary-weight")
    return {
        "macs": total,
        "binary_macs": binary,
        "binary_weight_macs": binary_weight,
        "binary_fraction": binary / total if total else 0.0,
        "binary_weight_fraction": binary_weight / total if total else 0.0,
    }


def whole_model_prediction(rows: list[dict], formula: str = "xnor") -> float:
    """Amdahl's law over the layers: float layers at 1x, the others at the paper's S.

    ``formula``: ``xnor`` / ``horq`` for binary layers, ``bwn`` / ``sbd`` for binary-weight
    layers (binary layers count as XNOR in the latter).
    """
    total = sum(r["macs"] for r in rows)
    if not total:
        return 1.0
    cost = 0.0
    for r in rows:
        speed = 1.0
        if r["kind"] == "binary":
            speed = r["prediction"]["horq"] if formula == "horq" else r["prediction"]["xnor"]
        elif r["kind"] == "binary-weight":
            speed = r["prediction"]["sbd"] if formula == "sbd" else r["prediction"]["bwn"]
        cost += r["macs"] / speed
    return total / cost
