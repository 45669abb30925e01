"""Where a ``.tflite`` starts to disagree with its Keras model, layer by layer, and why.

    import bnnkit
    from converters.explain import explain_model
    result = explain_model(model, x, target="lce")   # the explain.json content
    result["first_divergence"]                        # a layer, its op, its differences

For each layer in order, the model is cut after that layer (a Keras sub-model with the same
input and weights), the sub-model is converted for the target and run on the same inputs as
the Keras sub-model. Two comparisons per layer, both with
:func:`converters.verify.elementwise_disagreement` (the fraction of output elements that
differ by more than ``tolerance`` times the layer's output scale):

* **chained**: Keras sub-model vs ``.tflite`` sub-model on the images: what a user sees at
  that depth, including every difference carried from earlier layers;
* **local**: the Keras layer applied to the ``.tflite``'s own outputs of the layers feeding
  it, vs the ``.tflite`` sub-model: the layer's conversion alone, with nothing carried over.

Where a layer's output feeds a binary input quantizer (``sign``), its values are *pre-sign*
values and three counts are kept: values exactly 0 in Keras and in the ``.tflite``, sign flips
between the two (``sign(0) = +1`` as in Larq and LCE), and how many of those flips are
*sign ties*, a value within the tolerance of 0 on either side. Random-init binary networks
have many exactly-0 pre-activations (a sum of an even number of +-1 terms is 0 with
probability about ``sqrt(2 / (pi n))``), so a rounding-sized difference before a ``sign``
flips a bit, and the flip travels on through later ties.

The first layer whose chained disagreement exceeds ``max_fraction`` is reported with the op
it became and a verdict: ``sign ties`` when its local comparison agrees and every sign flip
before it is a tie; ``conversion fault`` when the layer's conversion alone disagrees.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bnnkit.errors import UnsupportedModelError
from converters.flatbuffer import read_flatbuffer
from converters.macs import layer_bits
from converters.verify import Bounds, elementwise_disagreement

__all__ = ["explain_model", "format_explanation"]


def _cut_layers(model) -> list:
    """Layers whose single float output can end a sub-model, in topological order."""
    import tensorflow as tf

    layers = []
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        output = layer.output
        if isinstance(output, (list, tuple)) or not output.dtype.is_floating:
            continue
        layers.append(layer)
    return layers


def _inbound(layer) -> list:
    """The layers whose outputs ``layer`` takes (first call of the layer)."""
    inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    return [tensor._keras_history.layer for tensor in inputs]


def _feeds_sign(model) -> set:
    """Names of the layers whose output some layer binarizes (a 1-bit input quantizer)."""
    names: set[str] = set()
    for layer in model.layers:
        if getattr(layer, "input_quantizer", None) is None or layer_bits(layer)[0] != 1:
            continue
        names.update(inbound.name for inbound in _inbound(layer))
    return names


def _output_op(data: bytes) -> str:
    """The op that produces the model's output (with the one before an ``LceDequantize``)."""
    info = read_flatbuffer(data)
    producers = {out: op.op for op in info.operators for out in op.outputs}
    previous = {out: op for op in info.operators for out in op.outputs}
    output = info.outputs[0]
    op = producers.get(output, "(input)")
    if op == "LceDequantize":
        inner = previous[output].inputs[0]
        op = f"{producers.get(inner, '(input)')} -> {op}"
    return op


def _sign_ties(expected: np.ndarray, actual: np.ndarray, tolerance: float) -> dict:
    """Exact zeros, sign flips and tie flips of pre-sign values (``sign(0) = +1``)."""
    scale = float(np.sqrt(np.mean(np.square(expected, dtype=np.float64)))) or 1.0
    flips = (expected >= 0) != (actual >= 0)
    near = np.minimum(np.abs(expected), np.abs(actual)) <= tolerance * scale
    return {
        "keras_zeros": int(np.sum(expected == 0)),
        "tflite_zeros": int(np.sum(actual == 0)),
        "sign_flips": int(np.sum(flips)),
        "tie_flips": int(np.sum(flips & near)),
        "values": int(expected.size),
    }


@dataclass
class _Comparison:
    """What every layer's comparison shares: the model, the images, how to convert a cut, the
    tolerance, the ``.tflite`` outputs so far (by layer name) and the pre-sign layers."""

    model: Any
    x: np.ndarray
    convert: Callable[[Any, str], bytes]
    target: str
    tolerance: float
    outputs: dict
    feeds_sign: set


def _layer_row(run: _Comparison, layer: Any) -> dict:
    """Convert the sub-model ending at ``layer`` and compare it both ways."""
    import tensorflow as tf

    from converters.runtime import open_runner

    submodel = tf.keras.Model(run.model.inputs, layer.output)
    row = {"layer": layer.name, "class": type(layer).__name__}
    started = time.perf_counter()
    try:
        data = run.convert(submodel, run.target)
    except UnsupportedModelError as error:
        row["skipped"] = f"not convertible alone: {error}"
        return row
    expected = np.asarray(submodel.predict(run.x, batch_size=32, verbose=0), np.float32)
    actual = open_runner(data, trial=False).predict(run.x)
    run.outputs[layer.name] = actual
    row["op"] = _output_op(data)
    row["chained"] = elementwise_disagreement(expected, actual, tolerance=run.tolerance)
    inbound = _inbound(layer)
    if all(getattr(i, "name", None) in run.outputs for i in inbound):
        fed = [run.outputs[i.name] for i in inbound]
        local = np.asarray(layer(fed if len(fed) > 1 else fed[0], training=False))
        row["local"] = elementwise_disagreement(local, actual, tolerance=run.tolerance)
    if layer.name in run.feeds_sign:
        row["pre_sign"] = _sign_ties(expected, actual, run.tolerance)
    row["seconds"] = round(time.perf_counter() - started, 2)
    return row


def _verdict(rows: list, index: int, max_fraction: float) -> str:
    row = rows[index]
    if row.get("local") and row["local"]["fraction_beyond"] > max_fraction:
        return (
            f"conversion fault: layer {row['layer']} ({row['op']}) disagrees with Keras "
            "even on the .tflite's own inputs"
        )
    flips = [r["pre_sign"] for r in rows[: index + 1] if "pre_sign" in r]
    total = sum(f["sign_flips"] for f in flips)
    ties = sum(f["tie_flips"] for f in flips)
    if total and ties == total:
        zeros = sum(f["keras_zeros"] for f in flips)
        return (
            f"sign ties: every one of the {total} sign flips up to here is a pre-sign "
            f"value within the tolerance of 0 ({zeros} are exactly 0 in Keras), and the "
            "layer agrees on the .tflite's own inputs"
        )
    if total:
        return (
            f"sign flips that are not ties: {total - ties} of {total} flips at values away from 0"
        )
    return "carried difference: the layer agrees on its own inputs; an earlier difference grows"


def explain_model(
    model: Any,
    x: np.ndarray,
    *,
    convert: Callable[[Any, str], bytes],
    target: str = "lce",
    bounds: Bounds | None = None,
    stop_after: int | None = 1,
) -> dict:
    """Compare ``model`` and its conversion for ``target`` layer by layer on ``x``.

    # Arguments
        model: a functional or sequential ``tf.keras`` model.
        x: float32 images, normalized as the model expects.
        convert: ``convert(sub_model, target) -> .tflite bytes`` (the CLI and the pipeline
            pass :func:`converters.convert.convert_submodel`).
        target: the conversion target.
        bounds: its ``tolerance`` and ``max_fraction`` say when a layer diverges (default:
            :meth:`converters.verify.Bounds.for_target`).
        stop_after: layers to compare after the first divergent one (None: all).

    # Returns
        The content of ``explain.json``: ``{"layers": [...], "first_divergence": ..., ...}``.
    """
    bounds = bounds or Bounds.for_target(target)
    x = np.asarray(x, np.float32)
    run = _Comparison(
        model,
        x,
        convert,
        target,
        bounds.tolerance,
        {model.inputs[0]._keras_history.layer.name: x},
        _feeds_sign(model),
    )
    rows: list = []
    first = None
    for layer in _cut_layers(model):
        rows.append(_layer_row(run, layer))
        chained = rows[-1].get("chained")
        if first is None and chained and chained["fraction_beyond"] > bounds.max_fraction:
            first = len(rows) - 1
        if first is not None and stop_after is not None and len(rows) - 1 - first >= stop_after:
            break
    divergence = None
    if first is not None:
        divergence = {
            key: rows[first].get(key)
            for key in ("layer", "class", "op", "chained", "local", "pre_sign")
        }
        divergence["verdict"] = _verdict(rows, first, bounds.max_fraction)
    return {
        "target": target,
        "tolerance": bounds.tolerance,
        "max_fraction": bounds.max_fraction,
        "images": len(x),
        "layers": rows,
        "first_divergence": divergence,
        "sign_ties": {
            "keras_zeros": sum(r["pre_sign"]["keras_zeros"] for r in rows if "pre_sign" in r),
            "sign_flips": sum(r["pre_sign"]["sign_flips"] for r in rows if "pre_sign" in r),
            "tie_flips": sum(r["pre_sign"]["tie_flips"] for r in rows if "pre_sign" in r),
        },
    }


def format_explanation(result: dict) -> str:
    """A short table: one line per compared layer, then the first divergence."""
    lines = [
        f"{'layer':28} {'op':30} {'max diff':>9} {'rel':>8} {'beyond':>8} {'local':>8} "
        f"{'zeros':>7} {'flips':>6} {'ties':>6}"
    ]
    for row in result["layers"]:
        if "skipped" in row:
            lines.append(f"{row['layer'][:28]:28} {row['skipped'][:80]}")
            continue
        chained, local, pre = row["chained"], row.get("local"), row.get("pre_sign") or {}
        lines.append(
            f"{row['layer'][:28]:28} {row['op'][:30]:30} {chained['max_abs_diff']:9.2e} "
            f"{chained['relative_max_diff']:8.1e} {chained['fraction_beyond']:8.2%} "
            + (f"{local['fraction_beyond']:8.2%}" if local else f"{'-':>8}")
            + (
                f" {pre['keras_zeros']:7d} {pre['sign_flips']:6d} {pre['tie_flips']:6d}"
                if pre
                else ""
            )
        )
    divergence = result["first_divergence"]
    if divergence is None:
        lines.append(
            f"no layer diverges (tolerance {result['tolerance']:g} of each layer's "
            f"scale, at most {result['max_fraction']:.2%} of elements beyond it)"
        )
    else:
        lines.append(
            f"first divergence: {divergence['layer']} ({divergence['class']} -> "
            f"{divergence['op']}): {divergence['verdict']}"
        )
    return "\n".join(lines)
