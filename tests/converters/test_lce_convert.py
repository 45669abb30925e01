"""LCE's converter runs its native part in a child process: the same bytes as LCE gives in
process, and a model that crashes the converter is refused with the reason while the caller
lives on (LCE 0.16.0's converter segfaults on larq-zoo's DoReFaNet)."""

from __future__ import annotations

import pytest
from converters_support import tiny_model

import bnnkit  # noqa: F401
import converters.lce_convert as lce_convert
from bnnkit.cli.main import main
from bnnkit.errors import UnsupportedModelError
from bnnkit.serialization import save_model
from converters.lce_convert import convert_keras_model

#: A child that dies as the converter does on DoReFaNet.
SEGFAULT = ["-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]
CRASH_MESSAGE = (
    "the lce converter could not convert this model: its SavedModel crashed LCE's "
    "converter (SIGSEGV); its GraphDef (LCE's fallback) crashed LCE's converter (SIGSEGV)"
)


def test_conversion_in_a_child_gives_the_bytes_lce_gives_in_process():
    import larq_compute_engine as lce

    model = tiny_model("bnn")
    assert convert_keras_model(model) == bytes(lce.convert_keras_model(model))


def test_lce_keeps_its_own_native_functions_after_a_conversion():
    from larq_compute_engine.mlir.python import converter

    before = {name: getattr(converter, name) for name in lce_convert.NATIVE_CALLS}
    convert_keras_model(tiny_model("bnn"))
    assert {name: getattr(converter, name) for name in lce_convert.NATIVE_CALLS} == before


def test_a_converter_crash_is_refused_with_the_signal_for_each_attempt(monkeypatch):
    monkeypatch.setattr(lce_convert, "CHILD", SEGFAULT)
    with pytest.raises(UnsupportedModelError) as raised:
        convert_keras_model(tiny_model("bnn"))
    assert str(raised.value) == CRASH_MESSAGE


def test_convert_refuses_a_model_that_crashes_the_converter_in_one_line(
    tmp_path, monkeypatch, capsys
):
    path = save_model(tiny_model("bnn"), tmp_path / "model.keras")
    monkeypatch.setattr(lce_convert, "CHILD", SEGFAULT)
    out = tmp_path / "out"
    code = main(["convert", str(path), "-o", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == UnsupportedModelError.exit_code
    assert err == [f"bnnkit: error: {CRASH_MESSAGE}"]
    assert not out.exists()
