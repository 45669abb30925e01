"""The conversion pipeline as steps: the bytes-only function, the report's one size schema,
and checks that happen before any conversion work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bnnkit.errors import InvalidInputError
from converters.convert import convert_keras_model, convert_model
from converters.flatbuffer import read_flatbuffer
from converters.report import REPORT_FORMAT_VERSION, format_table
from converters_support import tiny_model


def test_convert_keras_model_returns_checked_bytes_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = convert_keras_model(tiny_model("bnn"), target="lce")
    assert read_flatbuffer(data).op_histogram["LceBconv2d"] == 2
    assert list(tmp_path.iterdir()) == []


def test_convert_keras_model_options_are_keyword_only():
    with pytest.raises(TypeError):
        convert_keras_model(tiny_model("bnn"), "lce")  # type: ignore[misc]


def test_report_stores_each_size_once_and_the_table_reads_it(tmp_path):
    report = convert_model(tiny_model("bnn"), tmp_path, "lce")
    stored = json.loads((tmp_path / "conversion.json").read_text())
    assert stored["format_version"] == REPORT_FORMAT_VERSION == 3
    size = stored["size"]
    assert size["tflite_bytes"] == (tmp_path / "model.tflite").stat().st_size
    assert size["ratio_vs_float"] == pytest.approx(size["float_tflite_bytes"]
                                                   / size["tflite_bytes"])
    assert not {"size_bytes", "float_size_bytes", "float_size_ratio"} & set(stored)
    assert f"({size['ratio_vs_float']:.1f}x smaller)" in format_table(report)


def test_label_count_mismatch_is_refused_before_converting(tmp_path, monkeypatch):
    from converters import targets

    def must_not_run(*args, **kwargs):
        raise AssertionError("converted although the labels do not match")

    monkeypatch.setattr(targets, "convert_lce", must_not_run)
    x = np.zeros((4, 28, 28, 1), np.float32)
    with pytest.raises(InvalidInputError, match="4 calibration images but 3 labels"):
        convert_model(tiny_model("bnn"), tmp_path, "lce", calibration_x=x,
                      calibration_y=[0, 1, 2])
    assert list(tmp_path.iterdir()) == []
