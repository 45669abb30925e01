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


def _convert_in_subprocess(folder, *argv):
    import subprocess
    import sys

    from custom_objects_support import subprocess_env

    return subprocess.run([sys.executable, "-m", "bnnkit.cli.main", "convert", *map(str, argv)],
                          capture_output=True, text=True, cwd=folder, timeout=600,
                          env=subprocess_env(folder))


def test_convert_without_custom_objects_names_the_missing_ones_and_writes_nothing(tmp_path):
    from custom_objects_support import third_party_models

    folder = third_party_models(tmp_path / "third_party")
    result = _convert_in_subprocess(folder, folder / "model.h5", "-o", tmp_path / "out")
    assert result.returncode == 5, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("bnnkit: error: cannot load a Keras model from")
    assert "function 'half_sign'" in last and "my_objects>Scale" in last
    assert "--custom-objects MODULE" in last
    assert not (tmp_path / "out").exists()

    result = _convert_in_subprocess(folder, folder / "model.h5", "-o", tmp_path / "out",
                                    "--custom-objects", "my_objects", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "out" / "model.tflite").is_file()
