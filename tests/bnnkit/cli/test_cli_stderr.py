"""In a real process, a failing command prints exactly one line on stderr: bnnkit's error.

The native runtimes (TensorFlow, tf-keras, LCE, TFLite) write start-up notices to descriptor 2
(absl, oneDNN, CUDA stub, cuInit) before bnnkit can report anything; the CLI drops those and
keeps everything written from Python. ``BNNKIT_DEBUG=1`` shows everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def run(*argv, env_extra=None, cwd=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("BNNKIT_DEBUG", "TF_CPP_MIN_LOG_LEVEL")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "bnnkit.cli.main", *map(str, argv)],
                          cwd=cwd or REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "text.keras").write_text("not a model\n")
    return folder


# Each command imports TensorFlow or a TFLite runtime before it fails.
CASES = {
    "convert a text file named .keras": (
        ("convert", "{bad}/text.keras"), 5, "is not a Keras model file"),
    "train on an unknown dataset": (
        ("train", "--dataset", "nosuchset", "--runs-dir", "{bad}/runs"), 4, "unknown dataset"),
    "train with a missing --data-dir": (
        ("train", "--data-dir", "{bad}/none", "--runs-dir", "{bad}/runs", "--train-limit",
         "10"), 4, "not found"),
    "evaluate a .tflite that is a text file": (
        ("evaluate", "{bad}/text.keras", "--runtime", "tflite"), 5, "not a valid TFLite"),
}
# predict and evaluate of an empty .tflite: tests/bnnkit/cli/test_cli_bad_input.py


@pytest.mark.parametrize("case", CASES)
def test_a_failing_command_prints_exactly_one_line_on_stderr(case, bad_files):
    argv, code, fragment = CASES[case]
    result = run(*(a.format(bad=bad_files) for a in argv),
                 env_extra={"BNNKIT_OFFLINE": "1", "HOME": str(bad_files)})
    assert result.returncode == code, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("bnnkit: error: ") and fragment in lines[0]


# A stand-in subcommand that writes to descriptor 2 as a native library does, then prints a
# note and a warning from Python and fails the bnnkit way.
_NATIVE_THEN_ERROR = r"""
import os, sys, warnings
import bnnkit.cli.main as cli
from bnnkit.errors import InvalidModelFileError

def fake(args):
    os.write(2, b"I0000 native start-up notice\n")
    print("note: from python", file=sys.stderr)
    warnings.warn("a warning from python")
    raise InvalidModelFileError("the error")

import bnnkit.cli.convert as convert
convert.run = fake      # register() binds the module's run when main builds the parser
sys.exit(cli.main(["convert", "x.keras"]))
"""


def _run_fake(debug: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BNNKIT_DEBUG"}
    if debug:
        env["BNNKIT_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-c", _NATIVE_THEN_ERROR], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_native_writes_are_dropped_and_python_messages_kept():
    result = _run_fake(debug=False)
    assert result.returncode == 5, result.stderr
    assert "native start-up notice" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "note: from python"
    assert any("a warning from python" in line for line in lines)
    assert lines[-1] == "bnnkit: error: the error"


def test_bnnkit_debug_shows_native_writes_and_the_traceback():
    result = _run_fake(debug=True)
    assert result.returncode != 0
    assert "I0000 native start-up notice" in result.stderr
    assert "Traceback" in result.stderr and "InvalidModelFileError: the error" in result.stderr


def test_stderr_is_restored_after_the_command(capsys):
    """In-process callers (tests, notebooks) get their stderr back."""
    from bnnkit.cli.quiet import native_stderr_silenced

    before = os.fstat(2)
    stream = sys.stderr
    with native_stderr_silenced():
        print("kept", file=sys.stderr)
    assert sys.stderr is stream
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
    assert capsys.readouterr().err == "kept\n"
