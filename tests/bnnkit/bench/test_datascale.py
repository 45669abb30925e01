"""The data-scale figures: docs/training.md says what results/data_*.json hold, and the
committed measurements meet what they were taken to show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bnnkit.bench.datascale import (
    MEASURED_BEGIN,
    MEASURED_END,
    disjoint_shards,
    measured_markdown,
)

REPO = Path(__file__).resolve().parents[3]
RESULTS = REPO / "results"
#: The benchmarks whose results/data_<name>.json is committed and checked below.
CHECKED = {"memory", "path224", "resume", "throughput", "workers"}


def _result(name: str) -> dict:
    path = RESULTS / f"data_{name}.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run python -m bnnkit.bench.datascale {name}")
    return json.loads(path.read_text())


def test_training_doc_shows_the_committed_measurements():
    text = (REPO / "docs" / "training.md").read_text()
    start, end = text.index(MEASURED_BEGIN), text.index(MEASURED_END) + len(MEASURED_END)
    assert text[start:end] == measured_markdown(RESULTS), (
        "run: python -m bnnkit.bench.datascale doc"
    )


def test_every_committed_data_result_is_checked():
    committed = {path.stem.removeprefix("data_") for path in RESULTS.glob("data_*.json")}
    assert committed == CHECKED


def test_peak_memory_does_not_grow_with_the_folder():
    after = _result("memory")["after"]
    assert after["images"] == [2000, 20000]
    assert not any(run.get("killed_at_cap") for run in after["runs"].values())
    assert not after["growth_is_lower_bound"] and abs(after["growth"]) <= 0.10


def test_the_in_memory_loader_it_replaced_grew_with_the_folder():
    memory = _result("memory")
    before = memory["before"]
    assert before["images"] == [2000, 20000]
    assert not before["runs"]["2000"].get("killed_at_cap")
    # by more than half, or past the memory cap
    assert before["growth"] > 0.5 or before["runs"]["20000"].get("killed_at_cap")
    assert before["growth"] > memory["after"]["growth"]


def test_the_input_pipeline_outpaces_bireal18_training():
    speed = _result("throughput")["throughput"]
    assert speed["batch"] == 32 and speed["input_shape"] == [224, 224, 3]
    assert speed["pipeline_over_training"] >= 1.5


def test_workers_read_disjoint_file_sets():
    workers = _result("workers")["workers"]
    assert workers["workers"] == 2 and workers["disjoint"] and workers["union_is_all"]
    files = [set(shard["files"]) for shard in workers["shards"]]
    assert files[0] and files[1] and not files[0] & files[1]


def test_a_killed_streaming_run_resumes_to_identical_weights():
    resumed = _result("resume")["resume"]
    assert resumed["weights_identical"] and resumed["history_identical"]
    assert resumed["max_abs_weight_difference"] == 0.0
    assert 1 <= resumed["killed_after_epoch"] < resumed["epochs"]


def test_the_224_path_converts_with_at_least_99_5_percent_agreement():
    path = _result("path224")["path224"]
    assert path["top1_agreement"] >= 0.995 and path["agreement_images"] >= 200
    assert len(path["predicted"]) == 20
    assert path["bundle_input"]["resize_shorter_side"] == 256


def test_disjoint_shards_spots_overlap_and_missing_files():
    def result(*files):
        return {"metrics": {"input_shard": {"files": list(files)}}}

    assert disjoint_shards([result("a", "c"), result("b")], ["a", "b", "c"]) == {
        "files_per_worker": [2, 1],
        "overlap": 0,
        "union_is_all": True,
        "disjoint": True,
    }
    check = disjoint_shards([result("a", "b"), result("b")], ["a", "b", "c"])
    assert check["overlap"] == 1 and not check["union_is_all"]


def _measured(tmp_path: Path, code: str, cap_mb: float | None = None) -> dict:
    """run_measured of ``python -c CODE``, called from a fresh small process: Linux counts
    the caller's resident size at the fork in the child's ru_maxrss (as the benchmarks,
    run as ``python -m bnnkit.bench.datascale``, do)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    call = (
        "import json, sys; from pathlib import Path; "
        "from bnnkit.bench.datascale import run_measured; "
        f"print(json.dumps(run_measured([sys.executable, '-c', {code!r}], "
        f"dict(__import__('os').environ), Path({str(tmp_path / 'child.log')!r}), "
        f"cap_mb={cap_mb!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", call], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_peak_rss_is_that_of_the_child_process(tmp_path):
    small = _measured(tmp_path, "pass")
    fill = "b = bytearray(400 * 2**20); b[::4096] = b'x' * len(b[::4096])"
    large = _measured(tmp_path, fill)
    # under a cap it does not reach, the same run ends normally with the same measurement
    capped = _measured(tmp_path, fill, cap_mb=2000)
    assert small["returncode"] == large["returncode"] == capped["returncode"] == 0
    assert "killed_at_cap" not in capped
    assert min(large["peak_rss_mb"], capped["peak_rss_mb"]) - small["peak_rss_mb"] > 250


def test_a_run_past_the_memory_cap_is_stopped_and_marked(tmp_path):
    grow = (
        "import time\nb = []\nfor _ in range(60):\n    b.append(bytearray(20 * 2**20))\n"
        "    b[-1][::4096] = b'x' * len(b[-1][::4096])\n    time.sleep(0.05)\n"
    )
    result = _measured(tmp_path, grow, cap_mb=300)
    assert result["killed_at_cap"] and result["returncode"] != 0
    assert 300 <= result["peak_rss_mb"] < 1000
