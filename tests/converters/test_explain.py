"""``bnnkit explain``: layer-by-layer comparison, sign-tie counts, the first divergence."""

from __future__ import annotations

import json

import numpy as np

import bnnkit  # noqa: F401
from bnnkit.cli.main import main
from bnnkit.serialization import save_model
from converters.convert import convert_submodel
from converters.explain import _sign_ties, explain_model
from converters_support import tiny_model


def test_sign_flips_at_values_near_zero_are_counted_as_ties():
    expected = np.array([0.0, 0.0, 1.0, -1.0, 2.0], np.float32)
    actual = np.array([-1e-6, 0.0, 1.0, 1.0, 2.0], np.float32)  # a tie flip and a real flip
    counts = _sign_ties(expected, actual, tolerance=1e-3)
    assert counts == {"keras_zeros": 2, "tflite_zeros": 1, "sign_flips": 2, "tie_flips": 1,
                      "values": 5}


def test_explain_compares_every_layer_of_a_faithful_conversion_without_divergence():
    model = tiny_model("bnn")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    result = explain_model(model, x, convert=convert_submodel)
    compared = [row["layer"] for row in result["layers"] if "chained" in row]
    assert compared[-1] == model.layers[-1].name and len(compared) >= 8
    assert result["first_divergence"] is None
    ops = {row["layer"]: row["op"] for row in result["layers"] if "op" in row}
    binary = [layer.name for layer in model.layers if type(layer).__name__ == "QuantConv2D"
              and layer.input_quantizer is not None]
    assert all("LceBconv2d" in ops[name] for name in binary)
    assert any("pre_sign" in row for row in result["layers"])


def test_explain_cli_finds_the_keras_model_of_a_converted_tflite(tmp_path, capsys):
    path = save_model(tiny_model("bnn"), tmp_path / "model.keras")
    assert main(["convert", str(path), "-o", str(tmp_path / "lce")]) == 0
    capsys.readouterr()
    assert main(["explain", str(tmp_path / "lce" / "model.tflite"), "--images", "2"]) == 0
    out = capsys.readouterr().out
    assert "no layer diverges" in out and "random images (no dataset known)" in out
    written = json.loads((tmp_path / "lce" / "explain.json").read_text())
    assert written["source_model"] == str(path) and written["target"] == "lce"
