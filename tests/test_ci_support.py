"""A missing prerequisite skips a test on a user's machine and fails it in CI (``CI=true``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ci_support

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("value,expected", [("true", True), ("1", True), ("", False),
                                            ("false", False)])
def test_ci_is_read_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert ci_support.in_ci() is expected


def test_require_skips_outside_ci_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs the moon"):
        ci_support.require("needs the moon")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needs the moon.*CI=true"):
        ci_support.require("needs the moon")


def test_full_datasets_come_from_bnnkit_data_then_shared(monkeypatch, tmp_path):
    monkeypatch.setattr(ci_support, "SHARED_DATASETS", tmp_path / "no-shared")
    monkeypatch.delenv("BNNKIT_DATA", raising=False)
    assert ci_support.full_datasets_dir() is None
    for name in ci_support.FULL_SETS:
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv("BNNKIT_DATA", str(tmp_path / "data"))
    assert ci_support.full_datasets_dir() == tmp_path / "data"


@pytest.mark.parametrize("ci,outcome", [("", "1 skipped"), ("true", "1 failed")])
def test_junit_suite_without_a_jdk_is_skipped_outside_ci_and_fails_in_ci(tmp_path, ci, outcome):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PATH=str(tmp_path), **({"CI": ci} if ci else {}))  # no javac, no java
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/android_demo/test_android_core.py::"
         "test_java_core_compiles_and_passes_its_junit_suite"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert outcome in result.stdout, result.stdout[-2000:]
    assert "javac" in result.stdout
