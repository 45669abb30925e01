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

from bnnkit.errors import InvalidInputError, UnsupportedModelError
from converters.flatbuffer import read_flatbuffer
from converters.macs import layer_bits
from converters.verify import Bounds, elementwise_disagreement

__all__ = ["CUTS", "explain_model", "format_explanation"]

#: Where :func:`explain_model` may cut a model (its ``cuts`` argument).
CUTS = ("every", "quantizer_inputs")


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


def _node(model, layer):
    """The call of ``layer`` that belongs to ``model``'s graph (as a rule its only one)."""
    keys: set[str] = getattr(model, "_network_nodes", set())
    for index, node in enumerate(layer.inbound_nodes):
        if f"{layer.name}_ib-{index}" in keys:
            return node
    return layer.inbound_nodes[0]


def _inbound(model, layer) -> list:
    """The layers whose outputs ``layer`` takes in ``model``."""
    return [tensor._keras_history.layer for tensor in _node(model, layer).keras_inputs]


def _feeds_quantizer(model, bits: int | None = None) -> set:
    """Names of the layers whose output an input quantizer rounds: to ``bits`` bits, or to
    any precision below 32 when None."""
    names: set[str] = set()
    for layer in model.layers:
        if getattr(layer, "input_quantizer", None) is None:
            continue
        precision = layer_bits(layer)[0]
        if precision < 32 and (bits is None or precision == bits):
            names.update(inbound.name for inbound in _inbound(model, layer))
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
    tolerance, the ``.tflite`` outputs so far (by layer name; the input layer's are the
    images) and the pre-sign layers."""

    model: Any
    x: np.ndarray
    convert: Callable[[Any, str], bytes]
    target: str
    tolerance: float
    outputs: dict
    feeds_sign: set


def _local(run: _Comparison, layer: Any) -> tuple[Any, list]:
    """``layer``'s Keras output computed from the nearest ``.tflite`` outputs: each input is
    the ``.tflite``'s output of the layer feeding it when that layer was converted, else that
    layer's own :func:`_local` value (Keras all the way back to converted outputs).

    # Returns
        The value, and the layers computed in Keras on the way (the region it covers).
    """
    import tensorflow as tf

    memo: dict = {}

    def value(source: Any) -> Any:
        if source.name in run.outputs:
            return run.outputs[source.name]
        if source.name not in memo:
            memo[source.name] = (source, compute(source))
        return memo[source.name][1]

    def compute(target: Any) -> Any:
        node = _node(run.model, target)
        tensors: dict = {}
        for tensor in node.keras_inputs:
            source, _, index = tensor._keras_history
            flat = tf.nest.flatten(value(source))
            tensors.setdefault(str(id(tensor)), []).append(flat[index])
        args, kwargs = node.map_arguments(tensors)
        return target(*args, **{**kwargs, "training": False})

    result = compute(layer)
    return result, [source for source, _ in memo.values()]


def _layer_row(run: _Comparison, layer: Any) -> tuple[dict, list]:
    """Convert the sub-model ending at ``layer`` and compare it both ways.

    # Returns
        The row, and the layers its local comparison computed in Keras besides ``layer``.
    """
    import tensorflow as tf

    from converters.runtime import open_runner

    submodel = tf.keras.Model(run.model.inputs, layer.output)
    row = {"layer": layer.name, "class": type(layer).__name__}
    started = time.perf_counter()
    try:
        data = run.convert(submodel, run.target)
    except UnsupportedModelError as error:
        row["skipped"] = f"not convertible alone: {error}"
        return row, []
    expected = np.asarray(submodel.predict(run.x, batch_size=32, verbose=0), np.float32)
    actual = open_runner(data, trial=False).predict(run.x)
    row["op"] = _output_op(data)
    row["chained"] = elementwise_disagreement(expected, actual, tolerance=run.tolerance)
    local, region = _local(run, layer)
    run.outputs[layer.name] = actual
    row["local"] = elementwise_disagreement(np.asarray(local), actual, tolerance=run.tolerance)
    if region:
        row["local"]["from_layers"] = len(region) + 1
    if layer.name in run.feeds_sign:
        row["pre_sign"] = _sign_ties(expected, actual, run.tolerance)
    row["seconds"] = round(time.perf_counter() - started, 2)
    return row, region


def _verdict(rows: list, index: int, max_fraction: float) -> str:
    row = rows[index]
    if row.get("local") and row["local"]["fraction_beyond"] > max_fraction:
        return (
            f"conversion fault: layer {row['layer']} ({row['op']}) disagrees with Keras "
            "even on the .tflite's own inputs"
        )
    flips = [r["pre_sign"] for r in rows[:index] if "pre_sign" in r]  # the flips feeding it
    total = sum(f["sign_flips"] for f in flips)
    ties = sum(f["tie_flips"] for f in flips)
    if total and ties == total:
        zeros = sum(f["keras_zeros"] for f in flips)
        return (
            f"sign ties: every one of the {total} sign flips before it is a pre-sign "
            f"value within the tolerance of 0 ({zeros} are exactly 0 in Keras), and the "
            "layer agrees on the .tflite's own inputs"
        )
    if total:
        return (
            f"sign flips that are not ties: {total - ties} of {total} flips at values away from 0"
        )
    return "carried difference: the layer agrees on its own inputs; an earlier difference grows"


def _beyond(comparison: dict | None, bounds: Bounds) -> bool:
    return comparison is not None and comparison["fraction_beyond"] > bounds.max_fraction


def _cut_plan(model, cuts: str) -> tuple[list, list]:
    """Every layer the model can be cut after, in order, and the ones to compare first."""
    if cuts not in CUTS:
        raise InvalidInputError(f"cuts must be one of {', '.join(CUTS)}, got {cuts!r}")
    layers = _cut_layers(model)
    if cuts == "every":
        return layers, layers
    rounded = _feeds_quantizer(model)
    output = model.outputs[0]._keras_history.layer
    return layers, [layer for layer in layers if layer.name in rounded or layer is output]


def _compare(run: _Comparison, plan: tuple[list, list], bounds: Bounds, stop_after) -> list:
    """The rows of the compared layers, in the model's order (see :func:`explain_model`)."""
    every, chosen = plan
    order = {layer.name: index for index, layer in enumerate(every)}
    rows: dict[str, dict] = {}
    first = None
    for count, layer in enumerate(chosen):
        rows[layer.name], region = _layer_row(run, layer)
        if _beyond(rows[layer.name].get("local"), bounds):  # name the layer at fault
            inner = [other for other in region if other.name in order and other.name not in rows]
            for other in sorted(inner, key=lambda other: order[other.name]):
                rows[other.name], _ = _layer_row(run, other)
        if first is None and any(_beyond(row.get("chained"), bounds) for row in rows.values()):
            first = count
        if first is not None and stop_after is not None and count - first >= stop_after:
            break
    return sorted(rows.values(), key=lambda row: order[row["layer"]])


def explain_model(
    model: Any,
    x: np.ndarray,
    *,
    convert: Callable[[Any, str], bytes],
    target: str = "lce",
    bounds: Bounds | None = None,
    stop_after: int | None = 1,
    cuts: str = "every",
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
        stop_after: cuts to compare after the first divergent one (None: all).
        cuts: ``"every"``: cut after every layer. ``"quantizer_inputs"``: cut only where
            values are rounded (the layers whose output an input quantizer takes: the
            pre-sign values of binary layers) and at the output. Between two such cuts
            nothing is rounded, so a local comparison there covers every layer in between
            (Keras from the nearest ``.tflite`` outputs); when one fails, each layer it
            covers is cut and compared, to name the layer at fault. The sign ties counted
            are the same; a 224x224 binary ResNet needs 17 conversions instead of 65.

    # Returns
        The content of ``explain.json``: ``{"layers": [...], "first_divergence": ..., ...}``.
    """
    bounds = bounds or Bounds.for_target(target)
    plan = _cut_plan(model, cuts)
    x = np.asarray(x, np.float32)
    run = _Comparison(
        model,
        x,
        convert,
        target,
        bounds.tolerance,
        {model.inputs[0]._keras_history.layer.name: x},
        _feeds_quantizer(model, bits=1),
    )
    rows = _compare(run, plan, bounds, stop_after)
    first = next((i for i, row in enumerate(rows) if _beyond(row.get("chained"), bounds)), None)
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
        "cuts": cuts,
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
