"""bnnkit's LCE runner and LCE's own public interpreter live side by side in one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from converters_support import tiny_lce_flatbuffer

REPO_ROOT = Path(__file__).resolve().parents[2]

BNNKIT_RUN = """
import bnnkit
from converters import open_runner
outputs.append(open_runner(path).predict(x).tolist())
"""
LCE_RUN = """
from larq_compute_engine.tflite.python.interpreter import Interpreter
outputs.append(Interpreter(open(path, "rb").read()).predict(x).tolist())
"""


def _run_in_fresh_process(path: Path, first: str, second: str) -> list:
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        path = sys.argv[1]
        x = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
        outputs = []
        """) + first + second + "\nprint(json.dumps(outputs))\n"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_USE_LEGACY_KERAS": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("order", ["bnnkit_then_lce", "lce_then_bnnkit"])
def test_lce_public_interpreter_works_beside_bnnkit_runner_in_either_order(tmp_path, order):
    path = tmp_path / "model.tflite"
    path.write_bytes(tiny_lce_flatbuffer())
    first, second = (BNNKIT_RUN, LCE_RUN) if order == "bnnkit_then_lce" else (LCE_RUN, BNNKIT_RUN)
    outputs = _run_in_fresh_process(path, first, second)
    assert len(outputs) == 2
    assert outputs[0] == outputs[1]  # same extension, same kernels, same numbers


def test_trial_loader_registers_the_extension_under_its_own_name():
    script = ("import sys; from converters._trial import load_lite_interpreter, LITE_WRAPPER;"
              "cls = load_lite_interpreter();"
              "assert sys.modules[LITE_WRAPPER].LiteInterpreter is cls;"
              "assert load_lite_interpreter() is cls;"
              "assert 'tensorflow' not in sys.modules; print('ok')")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
