"""``bnnkit train``: outputs of a run, and one-line errors that overwrite nothing."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bnnkit.errors import InvalidConfigError


def bnnkit_cli(*args, cwd=None, env=None):
    environment = {**os.environ, **(env or {})}
    environment.pop("BNNKIT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "bnnkit.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=environment, timeout=600)


def assert_one_line_error(result, code, *fragments):
    """Exit ``code`` and stderr exactly one line, bnnkit's error holding ``fragments``."""
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bnnkit: error:"), result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mnist_dir):
    runs = tmp_path_factory.mktemp("runs")
    result = bnnkit_cli("train", "--method", "bnn", "--data-dir", mnist_dir, "--epochs", 1,
                        "--train-limit", 512, "--test-limit", 256, "--runs-dir", runs,
                        "--name", "tiny", "--lr", 3e-3, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    return runs / "tiny", json.loads(result.stdout[result.stdout.index("{"):])


def test_train_writes_a_reloadable_run(tiny_run, mnist_small, tmp_path):
    """The saved model, loaded in a new process, is the one the run evaluated."""
    from reload_support import reload_in_fresh_process

    run_dir, printed = tiny_run
    for name in ("config.json", "history.json", "metrics.json", "model.keras"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics == {k: v for k, v in printed.items() if k != "run_dir"}
    assert metrics["train_images"] == 512 and metrics["test_images"] == 256
    (stage,) = metrics["stages"]
    assert stage["learning_rate"] == 3e-3 != stage["recipe"]["learning_rate"]  # the rate used
    history = json.loads((run_dir / "history.json").read_text())
    assert [record["epoch"] for record in history["train"]] == [1]
    x = mnist_small.normalize(mnist_small.x_test[:256])
    (reloaded,) = reload_in_fresh_process([run_dir / "model.keras"], x, tmp_path)
    accuracy = np.mean(reloaded.outputs.argmax(-1) == mnist_small.y_test[:256])
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)


def test_existing_run_is_not_overwritten(tiny_run, mnist_dir):
    run_dir, _ = tiny_run
    before = (run_dir / "metrics.json").read_bytes()
    result = bnnkit_cli("train", "--data-dir", mnist_dir, "--runs-dir", run_dir.parent,
                        "--name", run_dir.name, "--epochs", 1)
    assert_one_line_error(result, 8, "already holds a run", "--resume")
    assert (run_dir / "metrics.json").read_bytes() == before


def test_unknown_dataset_is_one_line(tmp_path):
    result = bnnkit_cli("train", "--dataset", "nosuchset", "--runs-dir", tmp_path)
    assert_one_line_error(result, 4, "unknown dataset 'nosuchset'")


def test_missing_dataset_files_name_the_places(tmp_path):
    result = bnnkit_cli("train", "--dataset", "cifar10", "--runs-dir", tmp_path,
                        env={"BNNKIT_OFFLINE": "1", "HOME": str(tmp_path),
                             "BNNKIT_DATA": str(tmp_path / "env")})
    assert_one_line_error(result, 4, "not found", "$BNNKIT_DATA", "Keras cache", "download")


def test_a_missing_data_dir_is_an_error_even_with_data_elsewhere(tmp_path, mnist_dir):
    result = bnnkit_cli("train", "--data-dir", tmp_path / "none", "--runs-dir", tmp_path,
                        env={"BNNKIT_OFFLINE": "1", "BNNKIT_DATA": str(mnist_dir)})
    assert_one_line_error(result, 4, f"--data-dir {tmp_path / 'none'} is not an existing folder")
    assert not (tmp_path / "default").exists() and list(tmp_path.iterdir()) == []


def test_bad_method_option_is_one_line(tmp_path, mnist_dir):
    result = bnnkit_cli("train", "--method", "bnn", "--option", "order=2", "--data-dir",
                        mnist_dir, "--runs-dir", tmp_path, "--train-limit", 256)
    assert_one_line_error(result, InvalidConfigError.exit_code, "has no option(s)")


def test_help_lists_exactly_the_registered_methods_and_architectures(capsys):
    import re

    from bnnkit.cli.main import build_parser
    from bnnkit.methods import available_methods
    from bnnkit.models import ARCHITECTURES
    from bnnkit.training import STRATEGIES

    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())

    def listed(option):
        return re.search(rf"{option} [A-Z]+ .*?one of: (.*?) \(", text).group(1).split(", ")

    assert sorted(listed("--method")) == available_methods()
    assert sorted(listed("--arch")) == sorted(ARCHITECTURES)
    assert listed("--strategy") == list(STRATEGIES)


def test_unknown_method_is_one_line(tmp_path):
    result = bnnkit_cli("train", "--method", "xnr", "--runs-dir", tmp_path)
    assert_one_line_error(result, InvalidConfigError.exit_code, "unknown method 'xnr'", "xnor")
