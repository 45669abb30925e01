"""Benchmark machinery on tiny inputs: labels, the summary statistics, the pairing of rounds
into speed-ups (with scripted timings), and the markdown they are printed as."""

from __future__ import annotations


import pytest

import bnnkit  # noqa: F401
from bnnkit.bench import latency
from bnnkit.bench.latency import Config, measure_latency, summarize
from bnnkit.bench.machine import machine_label


def test_machine_label_names_the_host_kind_and_cores():
    label = machine_label()
    assert label.split(":")[0] in ("x86 host", "ARM host") or label.endswith("cores")
    assert "cores" in label


def test_summarize_reports_median_and_spread():
    # quartiles by the "exclusive" method (statistics.quantiles): positions (n + 1) p
    assert summarize([3.0, 1.0, 2.0, 10.0]) == {
        "median": 2.5, "min": 1.0, "max": 10.0, "iqr": [1.25, 8.25], "n": 4}
    assert summarize([7.0, 1.0, 5.0]) == {
        "median": 5.0, "min": 1.0, "max": 7.0, "iqr": [1.0, 7.0], "n": 3}
    assert summarize([0.123456]) == {
        "median": 0.1235, "min": 0.1235, "max": 0.1235, "iqr": [0.1235, 0.1235], "n": 1}


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory):
    import tensorflow as tf

    from converters.targets import convert_float, convert_lce
    from bnnkit.models import build_model

    folder = tmp_path_factory.mktemp("bench")
    paths = {}
    for method, fn in (("float", convert_float), ("bnn", convert_lce)):
        tf.keras.utils.set_random_seed(0)
        model = build_model("lenet", method, (28, 28, 1), 10, width=0.25)
        paths[method] = folder / f"{method}.tflite"
        paths[method].write_bytes(fn(model))
    return paths


def _configs(tiny_tflite):
    return [Config("float", str(tiny_tflite["float"]), "lce", 1, {"use_xnnpack": True}),
            Config("bnn", str(tiny_tflite["bnn"]), "lce", 1, {"use_indirect_bgemm": True})]


def test_latency_rounds_are_paired_and_ratios_recorded(tiny_tflite, monkeypatch):
    """Speed-ups are baseline/config per round, paired by round (not by rank)."""
    scripted = {"float": iter([2.0, 4.0, 9.0]), "bnn": iter([2.0, 1.0, 3.0])}
    # (wall ms, CPU ms of the invoking thread): CPU time scripted as half the wall time
    monkeypatch.setattr(latency._Timed, "measure",
                        lambda self, invocations: (lambda w: (w, w / 2))(
                            next(scripted[self.config.name])))
    result = measure_latency(_configs(tiny_tflite), rounds=3, invocations=2,
                             baseline={"bnn": "float"})
    assert result["float"]["ms"] == summarize([2.0, 4.0, 9.0])
    assert result["bnn"]["ms"] == summarize([2.0, 1.0, 3.0])
    # rounds: 2/2, 4/1, 9/3 (pairing by rank would give 2/1, 4/2, 9/3)
    assert result["bnn"]["speedup"] == summarize([1.0, 4.0, 3.0])
    assert result["bnn"]["baseline"] == "float" and result["float"]["speedup"] is None
    assert result["bnn"]["options"]["use_indirect_bgemm"] is True
    assert result["bnn"]["cpu_ms"] == summarize([1.0, 0.5, 1.5])
    assert result["bnn"]["cpu_speedup"] == summarize([1.0, 4.0, 3.0])


def test_latency_of_real_interpreters_is_positive_for_every_round(tiny_tflite):
    result = measure_latency(_configs(tiny_tflite), rounds=2, invocations=2,
                             baseline={"bnn": "float"})
    for name in ("float", "bnn"):
        assert result[name]["ms"]["n"] == 2 and result[name]["ms"]["min"] > 0
    assert result["bnn"]["speedup"]["n"] == 2


def test_latency_rejects_duplicate_names(tiny_tflite):
    config = Config("same", str(tiny_tflite["float"]), "lce")
    with pytest.raises(ValueError, match="unique"):
        measure_latency([config, config], rounds=1, invocations=1)


def test_inference_worker_reports_peak_memory_of_its_own_process(tiny_tflite):
    from bnnkit.bench.worker import run_worker

    result = run_worker(["infer", "--path", str(tiny_tflite["bnn"]), "--invocations", "2"])
    # The LCE interpreter alone, without TensorFlow: far below a TensorFlow process.
    assert 0 < result["baseline_rss_mb"] <= result["peak_rss_mb"] < 400


def test_bench_markdown_prints_each_figure_with_the_machine():
    from bnnkit.bench.bench import bench_markdown

    ms = summarize([1.0, 2.0])
    result = {"machine": {"label": "x86 host: Test CPU, 2 cores"},
              "settings": {"rounds": 2, "invocations": 3, "threads": [1]},
              "latency": {"float/tflite-xnnpack/t1": {"threads": 1, "ms": ms, "speedup": None},
                          "bnn/lce/default/t1": {"threads": 1, "ms": ms, "speedup": ms}},
              "conversions": {"bnn-lce": {"seconds": 1.0, "peak_rss_mb": 2.0,
                                          "baseline_rss_mb": 1.0, "tflite_bytes": 1234},
                              "bnn-int8": {"error": "boom"}},
              "memory": {}, "layers": []}
    lines = bench_markdown(result).splitlines()
    assert lines[0] == "# bnnkit bench (x86 host: Test CPU, 2 cores)"
    assert "| float/tflite-xnnpack | 1 | 1.500 [1.000-2.000] | - |" in lines
    assert "| bnn/lce/default | 1 | 1.500 [1.000-2.000] | 1.50 [1.00-2.00] |" in lines
    assert "| bnn | lce | 1.0 | 2.0 | 1.0 | 1,234 |" in lines
    assert "| bnn | int8 | failed: boom | | | |" in lines
