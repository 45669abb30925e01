"""The target and runtime registries: one entry makes a name known everywhere, unknown
names list the registered ones, and ``auto`` takes the first available runtime that has the
model's ops."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bnnkit.errors import UnsupportedModelError
from bnnkit.registry import Registry
from converters.flatbuffer import LCE_CUSTOM_OPS
from converters.runtime import (RUNTIMES, LceRunner, LiteRtRunner, Runtime, TfLiteRunner,
                                choose_runtime, open_runner, runtime_choices)
from converters.targets import TARGETS, Converted, convert_lce, convert_litert
from converters_support import tiny_lce_flatbuffer, tiny_model


def _unavailable(monkeypatch, runner_class, reason="simulated: not installed"):
    monkeypatch.setattr(runner_class, "unavailable_reason", classmethod(lambda cls: reason))


@pytest.fixture(scope="module")
def stock_bytes() -> bytes:
    return convert_litert(tiny_model("float"))


@pytest.fixture
def registered():
    """Register entries for one test, then take them out again."""
    added = []

    def add(registry, entry):
        added.append((registry, registry.add(entry)))
        return entry

    yield add
    for registry, entry in added:
        registry.remove(entry.name)


def test_unknown_target_names_the_registered_targets():
    with pytest.raises(UnsupportedModelError,
                       match=f"unknown target 'tpu'; choose one of: {', '.join(TARGETS.names())}"):
        TARGETS.get("tpu")


def test_unknown_runtime_names_the_registered_runtimes(stock_bytes):
    with pytest.raises(UnsupportedModelError,
                       match=f"unknown runtime 'nnapi'; choose one of: "
                             f"{', '.join(RUNTIMES.names())}"):
        open_runner(stock_bytes, runtime="nnapi", trial=False)


def test_registry_refuses_a_second_entry_with_the_same_name():
    with pytest.raises(ValueError, match="already registered"):
        Registry("target", [TARGETS.get("lce"), TARGETS.get("lce")])


def test_every_target_is_verified_on_a_registered_runtime_that_has_its_ops():
    for target in TARGETS:
        runtime = RUNTIMES.get(target.runtime)
        assert runtime.can_run(LCE_CUSTOM_OPS) == target.binary_kernels


def test_lce_runtimes_run_exactly_the_lce_custom_ops():
    assert [r.name for r in RUNTIMES if r.custom_ops] == ["lce", "litert-lce"]
    assert RUNTIMES.get("lce").custom_ops == RUNTIMES.get("litert-lce").custom_ops == \
        frozenset(LCE_CUSTOM_OPS)


def test_every_runtime_is_available_in_the_pinned_stack():
    """All but ``litert-lce``, which needs a built delegate (tests/converters/test_litert_lce.py)."""
    pinned = [r for r in RUNTIMES if r.name != "litert-lce"]
    assert {r.name: r.unavailable_reason() for r in pinned} == {r.name: None for r in pinned}


def test_auto_takes_a_stock_runtime_for_builtin_ops_and_lce_for_lce_ops():
    assert choose_runtime([]).name == "tflite"
    assert choose_runtime(["LceBconv2d", "LceQuantize"]).name == "lce"


def test_auto_skips_an_unavailable_runtime(monkeypatch, stock_bytes):
    _unavailable(monkeypatch, TfLiteRunner)
    assert choose_runtime([]).name == "litert"
    runner = open_runner(stock_bytes)
    assert runner.runtime == "litert"
    assert runner.predict(np.zeros((1, 28, 28, 1), np.float32)).shape == (1, 10)


def test_auto_without_a_runtime_for_the_ops_says_why_for_each(monkeypatch, tmp_path):
    _unavailable(monkeypatch, LceRunner, "simulated: no LCE wheel")
    monkeypatch.setenv("BNNKIT_LCE_DELEGATE", str(tmp_path / "not-built.so"))
    with pytest.raises(UnsupportedModelError, match="no runtime available.*LceBconv2d") as error:
        choose_runtime(["LceBconv2d"])
    assert "tflite lacks LceBconv2d" in str(error.value)
    assert "lce: simulated: no LCE wheel" in str(error.value)
    assert "litert-lce: the LCE-kernel delegate is not built" in str(error.value)


def test_auto_follows_the_registry_order():
    stock_first = Registry("runtime", [RUNTIMES.get("litert"), RUNTIMES.get("tflite")])
    assert choose_runtime([], stock_first).name == "litert"


def test_an_unavailable_runtime_asked_for_by_name_says_why(monkeypatch, stock_bytes):
    _unavailable(monkeypatch, LiteRtRunner)
    with pytest.raises(UnsupportedModelError,
                       match="runtime 'litert' is not available here: simulated"):
        open_runner(stock_bytes, runtime="litert", trial=False)


def test_a_new_runtime_is_one_registry_entry(registered, stock_bytes):
    from bnnkit.cli.main import build_parser

    registered(RUNTIMES, Runtime("tflite-copy", "a second name for tf.lite",
                                 "converters.runtime:TfLiteRunner"))
    assert "tflite-copy" in runtime_choices()
    runner = open_runner(stock_bytes, runtime="tflite-copy", trial=False)
    assert runner.runtime == "tflite-copy"
    assert runner.predict(np.zeros((1, 28, 28, 1), np.float32)).shape == (1, 10)
    args = build_parser().parse_args(["evaluate", "m.tflite", "--runtime", "tflite-copy"])
    assert args.runtime == "tflite-copy"


def test_a_new_target_is_one_registry_entry(registered, tmp_path):
    from bnnkit.cli.main import build_parser
    from converters import convert_model

    lce = TARGETS.get("lce")
    registered(TARGETS, dataclasses.replace(
        lce, name="lce-again", converter=lambda model, inputs: Converted(model,
                                                                         convert_lce(model))))
    report = convert_model(tiny_model("bnn"), tmp_path, "lce-again", compare_float=False)
    assert report["target"] == "lce-again" and report["runtime"] == "lce"
    assert report["op_histogram"]["LceBconv2d"] == 2
    args = build_parser().parse_args(["convert", "runs/x", "--target", "lce-again"])
    assert args.target == "lce-again"


def test_lce_model_asked_on_a_stock_runtime_names_the_runtimes_that_have_its_ops():
    with pytest.raises(UnsupportedModelError, match="LceBconv2d.*'tflite'.*runtime 'lce'"):
        open_runner(tiny_lce_flatbuffer(), runtime="tflite", trial=False)

