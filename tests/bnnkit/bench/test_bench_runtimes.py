"""``bnnkit bench --runtimes``: LCE's interpreter vs ai-edge-litert + the LCE-kernel delegate vs
float XNNPACK, and each runtime's peak memory in its own process."""

from __future__ import annotations

import json
from pathlib import Path

from bnnkit.bench.runtimes import PAIRS, runtime_configs, runtimes_markdown
from bnnkit.bench.worker import run_worker
from converters_support import tiny_lce_flatbuffer

REPO = Path(__file__).resolve().parents[3]


def test_each_binary_model_runs_on_three_runtimes_against_its_float_architecture():
    paths = {name: f"{name}.tflite" for pair in PAIRS.items() for name in pair}
    configs, baseline = runtime_configs(paths, Path("d.so"))
    names = [c.name for c in configs]
    assert names == [f"{binary}/{variant}" for binary in PAIRS for variant in (
        "float-xnnpack", "lce-interpreter", "delegate-lce-portable", "delegate-x86")]
    for config in configs:
        assert config.threads == 1
        binary, variant = config.name.split("/")
        assert config.path == f"{PAIRS[binary] if variant == 'float-xnnpack' else binary}.tflite"
        if variant != "float-xnnpack":
            assert baseline[config.name] == f"{binary}/float-xnnpack"
    portable = next(c for c in configs if c.name == "bnn_lenet/delegate-lce-portable")
    assert portable.options["delegate_options"] == {"LceBconv2d": "indirect_bgemm",
                                                    "LceQuantize": "lce"}


def test_memory_of_the_stock_runtime_with_the_delegate_is_measured_without_tensorflow(
        tmp_path, lce_delegate):
    model = tmp_path / "bnn.tflite"
    model.write_bytes(tiny_lce_flatbuffer())
    row = run_worker(["infer", "--path", str(model), "--runtime", "litert", "--delegate",
                      str(lce_delegate), "--delegate-option", "LceBconv2d=indirect_bgemm",
                      "--invocations", "5"])
    assert row["imports_tensorflow"] is False
    assert row["peak_rss_mb"] >= row["baseline_rss_mb"] > 0
    lce = run_worker(["infer", "--path", str(model), "--runtime", "lce", "--invocations", "5"])
    assert lce["imports_tensorflow"] is False


def test_committed_runtimes_tables_are_those_of_the_committed_json():
    result = json.loads((REPO / "results" / "runtimes.json").read_text())
    assert set(result["latency"]) == set(result["memory"]) and len(result["latency"]) == 8
    assert runtimes_markdown(result) in (REPO / "results" / "runtimes.md").read_text()
    assert result["threads"] == 1 and not any(m.get("imports_tensorflow")
                                              for m in result["memory"].values())
