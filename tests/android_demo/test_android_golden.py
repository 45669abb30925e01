"""The golden vectors the Java core is tested against are what bnnkit.imaging gives today.

Regenerates them with android_demo/tools/make_golden.py into a temporary folder and compares
with the committed ones, so they cannot drift silently from the Python pipeline.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "android_demo" / "core" / "src" / "test" / "resources" / "golden"
SAMPLES = ROOT / "tests" / "data" / "samples"


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        "make_golden", ROOT / "android_demo" / "tools" / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_close_json(ours, committed, where="manifest"):
    if isinstance(committed, dict):
        assert sorted(ours) == sorted(committed), where
        for key in committed:
            _assert_close_json(ours[key], committed[key], f"{where}.{key}")
    elif isinstance(committed, list):
        assert len(ours) == len(committed), where
        for i, (a, b) in enumerate(zip(ours, committed)):
            _assert_close_json(a, b, f"{where}[{i}]")
    elif isinstance(committed, float):
        # model scores come from TFLite's CPU kernels, which may round differently on
        # another CPU; the tensors themselves are compared to 1e-6 below
        assert ours == pytest.approx(committed, abs=1e-5), where
    else:
        assert ours == committed, where


def test_committed_golden_vectors_equal_a_fresh_regeneration(tmp_path):
    tool = _load_tool()
    fresh = tool.make(tmp_path, SAMPLES, lce_model_from=GOLDEN / "lce_tiny.tflite")
    committed = json.loads((GOLDEN / "manifest.json").read_text())
    _assert_close_json(json.loads(json.dumps(fresh)), committed)
    assert json.loads((tmp_path / "specs.json").read_text()) == \
        json.loads((GOLDEN / "specs.json").read_text())
    for path in sorted(GOLDEN.glob("*.gz")):
        new, old = gzip.decompress((tmp_path / path.name).read_bytes()), \
            gzip.decompress(path.read_bytes())
        if path.name.endswith(".argb.gz"):
            assert new == old, path.name
        else:
            np.testing.assert_allclose(np.frombuffer(new, ">f4"), np.frombuffer(old, ">f4"),
                                       atol=1e-6, err_msg=path.name)
    assert {p.name for p in tmp_path.iterdir()} == {p.name for p in GOLDEN.iterdir()}


def test_golden_lce_model_has_lce_custom_ops():
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    ops = manifest["models"]["lce_tiny.tflite"]["custom_ops"]
    assert any(op.startswith("Lce") for op in ops)
    assert manifest["models"]["demo"]["custom_ops"] == []
