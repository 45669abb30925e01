"""The kernel section of ``bnnkit bench``: its layer list, configurations, Amdahl bound, goal
and markdown (no timing here; the kernels themselves are tested in
tests/converters/test_delegate_x86_kernels.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bnnkit  # noqa: F401
from bnnkit.bench import kernels

RESULTS = Path(__file__).resolve().parents[3] / "results"


def test_bireal18_has_sixteen_binary_convolutions_of_seven_shapes():
    layers = kernels.binary_conv_layers()
    assert sum(layer["count"] for layer in layers) == 16
    by_spec = {layer["spec"]: layer for layer in layers}
    assert len(by_spec) == 7
    assert by_spec["56,56,64,64,3,1,same"]["count"] == 4
    assert by_spec["56,56,64,128,3,2,same"]["count"] == 1
    # 28 x 28 outputs x 128 filters x 3 x 3 taps x 64 input channels
    assert by_spec["56,56,64,128,3,2,same"]["binary_macs"] == 28 * 28 * 128 * 9 * 64
    total = sum(layer["count"] * layer["binary_macs"] for layer in layers)
    assert 1.6e9 < total < 1.8e9  # "about 1.7 G binary MACs per image"


def test_model_configs_pair_each_binary_model_with_its_float_architecture():
    converted = {name: {"path": f"/m/{name}.tflite"} for name in (*kernels.MODELS,
                                                                   kernels.STEM)}
    converted["int8_lenet"] = {"error": "failed"}
    configs, baseline = kernels.model_configs(converted, "/d/delegate.so", threads=(1, 2))
    names = {c.name for c in configs}
    assert "int8_lenet/litert-xnnpack/t1" not in names
    assert baseline["bireal18/delegate-x86/t2"] == "float_resnet18/litert-xnnpack/t2"
    assert baseline["bnn_lenet/lce-interpreter/t1"] == "float_lenet/litert-xnnpack/t1"
    assert baseline["int8_resnet18/litert-xnnpack/t1"] == "float_resnet18/litert-xnnpack/t1"
    assert "float_resnet18/litert-xnnpack/t1" not in baseline
    assert f"{kernels.STEM}/litert-xnnpack/t1" in names
    assert f"{kernels.STEM}/litert-xnnpack/t1" not in baseline
    portable = next(c for c in configs if c.name == "xnor_resnet18/delegate-lce-portable/t1")
    assert portable.runtime == "litert"
    assert portable.options["delegate_options"] == kernels.LCE_PORTABLE_OPTIONS


def _layers(fraction: float, wall_ms: float) -> dict:
    row = {"count": 2, "binary_macs": 100, "kernels": {
        "lce_portable": {"fraction_of_roofline": 0.03, "wall_ms": 10.0},
        "avx2": {"fraction_of_roofline": fraction, "wall_ms": wall_ms, "gmacs_per_s": 50.0}}}
    return {"isas": ["avx2"], "layers": [row, {**row, "count": 1}]}


def test_amdahl_bound_subtracts_the_binary_convolutions_from_the_whole_model():
    latency = {"bireal18/delegate-x86/t1": {"ms": {"median": 5.0}, "speedup": {"median": 6.0},
                                            "cpu_ms": {"median": 4.0},
                                            "cpu_speedup": {"median": 7.0}},
               "float_resnet18/litert-xnnpack/t1": {"ms": {"median": 30.0},
                                                    "cpu_ms": {"median": 28.0}}}
    result = kernels.amdahl(_layers(0.5, 1.0), latency)
    wall, cpu = result["wall"], result["cpu"]
    assert wall["binary_convs_alone_ms"] == pytest.approx(3.0)  # 2 x 1 ms + 1 x 1 ms
    assert wall["bound_measured"] == pytest.approx(30.0 / 2.0)
    # CPU time: 3 x 100 binary MACs at 50 G/s
    assert cpu["binary_convs_alone_ms"] == pytest.approx(300 / 50e9 * 1e3, abs=1e-3)
    assert cpu["measured_speedup"] == 7.0
    # Bi-Real-18's float layers: the 7x7 stem dominates; far fewer MACs than ResNet-18
    assert 100e6 < result["bireal_float_macs"] < 160e6
    assert result["bound_from_macs"] == pytest.approx(
        result["resnet18_macs"] / result["bireal_float_macs"], abs=0.01)


@pytest.mark.parametrize("fraction,speedup,met", [(0.5, 3.5, True), (0.2, 3.5, False),
                                                   (0.5, 2.9, False)])
def test_goal_needs_three_times_float_and_a_quarter_of_the_roofline(fraction, speedup, met):
    result = kernels.goal(_layers(fraction, 1.0), {"cpu": {"measured_speedup": speedup},
                                                   "wall": {"measured_speedup": 1.0}})
    assert result["roofline_fraction"] == pytest.approx(fraction)
    assert (result["clock"], result["met"]) == ("cpu", met)


def test_committed_kernel_markdown_is_generated_from_the_committed_json():
    path = RESULTS / "kernels.json"
    if not path.is_file():
        pytest.skip("results/kernels.json is not committed yet")
    result = json.loads(path.read_text())
    assert (RESULTS / "kernels.md").read_text() == kernels.kernels_markdown(result)
    assert result["check"]["failures"] == 0


def test_lce_models_are_timed_through_the_delegate_when_one_is_built(monkeypatch, tmp_path):
    so = tmp_path / "libbnnkit_lce_delegate.so"
    so.write_bytes(b"")
    monkeypatch.setenv("BNNKIT_LCE_DELEGATE", str(so))
    config = kernels.lce_latency_config("mnist/bnn", "m.tflite", 1)
    assert (config.runtime, config.options) == ("litert", {"delegate": str(so)})
    monkeypatch.setenv("BNNKIT_LCE_DELEGATE", str(tmp_path / "absent.so"))
    config = kernels.lce_latency_config("mnist/bnn", "m.tflite", 1)
    assert (config.runtime, config.options) == ("lce", {"use_indirect_bgemm": True})


def test_cpu_flags_name_the_features_the_kernels_choose_by():
    flags = kernels.cpu_flags()
    assert set(flags) == {"popcnt", "avx2", "avx512f", "avx512bw", "avx512_vpopcntdq",
                          "avx512_bitalg"}
    assert all(isinstance(value, bool) for value in flags.values())
