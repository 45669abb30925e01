"""``bnnkit convert`` / ``bnnkit evaluate`` on bad input: one line, the error's exit code."""

from __future__ import annotations

from bnnkit.cli.main import main


def test_evaluate_empty_tflite_is_one_line_and_exit_5(tmp_path, capsys):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"")
    assert main(["evaluate", str(path)]) == 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "empty" in err[0] and str(path) in err[0]


def test_evaluate_truncated_tflite_is_exit_5(tmp_path, capsys):
    from converters_support import tiny_lce_flatbuffer

    path = tmp_path / "model.tflite"
    path.write_bytes(tiny_lce_flatbuffer()[:1000])
    assert main(["evaluate", str(path)]) == 5
    assert "not a valid TFLite model" in capsys.readouterr().err


def test_convert_non_model_file_is_exit_5_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "notes.keras"
    path.write_text("not a model")
    assert main(["convert", str(path), "-o", str(tmp_path / "out")]) == 5
    assert "not a Keras model" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
