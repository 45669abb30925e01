"""Native code runs in a child process: how it ended (exit, signal, timeout) comes back as one
line, and the caller lives on."""

from __future__ import annotations

import pytest

from bnnkit.bench.worker import run_worker
from converters.child import run_child

SEGFAULT = ["-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]


def test_a_child_killed_by_a_segfault_is_named_by_its_signal():
    result = run_child(SEGFAULT, timeout=60)
    assert not result.ok and result.crashed
    assert result.failure("the converter") == "crashed the converter (SIGSEGV)"


def test_a_child_that_reports_an_error_gives_its_last_stderr_line():
    result = run_child(["-c", "import sys; sys.exit('first\\nbad model')"], timeout=60)
    assert result.returncode == 1 and not result.crashed
    assert result.failure("the converter") == "failed: bad model"


def test_a_child_that_runs_too_long_is_stopped_and_said_to_be():
    result = run_child(["-c", "import time; time.sleep(30)"], timeout=1)
    assert result.returncode is None and not result.ok
    assert result.failure("the converter") == "did not finish within 1 s"


def test_a_child_imports_this_copy_of_the_packages_and_can_be_niced():
    code = "import os, converters; print(converters.__file__, os.nice(0))"
    result = run_child(["-c", code], timeout=60, nice=5)
    path, niceness = result.stdout.split()
    assert result.ok and path == __import__("converters").__file__
    assert int(niceness) >= 5


def test_a_crashing_benchmark_worker_is_a_one_line_error(monkeypatch):
    import converters.child as child

    real = child.run_child
    monkeypatch.setattr(child, "run_child", lambda _argv, **kw: real(SEGFAULT, **kw))
    with pytest.raises(RuntimeError, match=r"^worker infer crashed the worker \(SIGSEGV\)"):
        run_worker(["infer", "--path", "x.tflite"], timeout=60)
