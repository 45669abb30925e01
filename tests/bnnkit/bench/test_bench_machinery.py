"""Benchmark machinery on tiny inputs: labels, interleaved latency records, markdown (no timing
assertions: only structure and invariants)."""

from __future__ import annotations

import json

import pytest

import bnnkit  # noqa: F401
from bnnkit.bench.latency import Config, measure_latency, summarize
from bnnkit.bench.machine import machine_label


def test_machine_label_names_the_host_kind_and_cores():
    label = machine_label()
    assert label.split(":")[0] in ("x86 host", "ARM host") or label.endswith("cores")
    assert "cores" in label


def test_summarize_reports_median_and_spread():
    s = summarize([3.0, 1.0, 2.0, 10.0])
    assert s["min"] == 1.0 and s["max"] == 10.0 and s["n"] == 4
    assert s["min"] <= s["median"] <= s["max"]


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


def test_latency_rounds_are_paired_and_ratios_recorded(tiny_tflite):
    configs = [Config("float", str(tiny_tflite["float"]), "lce", 1, {"use_xnnpack": True}),
               Config("bnn", str(tiny_tflite["bnn"]), "lce", 1, {"use_indirect_bgemm": True})]
    result = measure_latency(configs, rounds=2, invocations=2, baseline={"bnn": "float"})
    assert result["bnn"]["ms"]["n"] == 2 and result["float"]["ms"]["n"] == 2
    assert result["bnn"]["speedup"]["n"] == 2 and result["bnn"]["baseline"] == "float"
    assert result["float"]["speedup"] is None
    assert result["bnn"]["options"]["use_indirect_bgemm"] is True


def test_latency_rejects_duplicate_names(tiny_tflite):
    config = Config("same", str(tiny_tflite["float"]), "lce")
    with pytest.raises(ValueError, match="unique"):
        measure_latency([config, config], rounds=1, invocations=1)


def test_inference_worker_reports_peak_memory_of_its_own_process(tiny_tflite):
    from bnnkit.bench.worker import run_worker

    result = run_worker(["infer", "--path", str(tiny_tflite["bnn"]), "--invocations", "2"])
    # The LCE interpreter alone, without TensorFlow: far below a TensorFlow process.
    assert 0 < result["baseline_rss_mb"] <= result["peak_rss_mb"] < 400


def test_bench_markdown_labels_every_table_with_the_machine():
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
    text = bench_markdown(result)
    assert "x86 host: Test CPU, 2 cores" in text
    assert "| bnn/lce/default | 1 |" in text and "failed: boom" in text
    json.dumps(result)
