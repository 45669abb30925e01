"""Run native code that may crash in a child process: a crash becomes a message, not an exit.

TFLite interpreters and LCE's MLIR converter are C++ and trust their input. Measured: of 40
bit-flipped copies of a small LCE model, LCE's interpreter segfaulted on 16; LCE 0.16.0's
converter segfaults on larq-zoo's DoReFaNet. In the caller's process either would end the
process (exit 139) with no word of what happened. bnnkit runs both in a child process
instead: the guard's trial run (``converters/_trial.py``, :func:`converters.guard.trial_run`)
and LCE's conversion (``converters/_lce_convert.py``, :mod:`converters.lce_convert`). The
benchmarks' measured jobs (:func:`bnnkit.bench.worker.run_worker`) start the same way.

    result = run_child([script, "model.tflite", "lce"], timeout=120)
    if not result.ok:
        raise InvalidModelFileError(f"model.tflite {result.failure('the TFLite interpreter')}")

The child runs with this Python, with the folder holding the ``converters`` package first on
``PYTHONPATH`` (so ``-m converters._lce_convert`` finds this copy), and TensorFlow's C++
logging off; its output is captured.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ChildResult", "run_child"]

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ChildResult:
    """How a child process ended.

    # Arguments
        returncode: its exit code (negative: killed by that signal); None when it timed out.
        stdout, stderr: what it printed.
        timeout: the seconds it was given (None: no limit).
    """

    returncode: int | None
    stdout: str
    stderr: str
    timeout: float | None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def crashed(self) -> bool:
        """Killed by a signal (a segfault, an abort), not ended by an error it reported."""
        return self.returncode is not None and self.returncode < 0

    @property
    def signal_name(self) -> str:
        """The name of the signal that killed it (``SIGSEGV``), or ``""``."""
        if not self.crashed or self.returncode is None:
            return ""
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"

    @property
    def last_error(self) -> str:
        """The last line it printed on stderr (at most 300 characters), or ``""``."""
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return lines[-1].strip()[:300] if lines else ""

    def failure(self, what: str) -> str:
        """One line for a failed child: ``crashed <what> (SIGSEGV)``, ``did not finish within
        N s``, or ``failed: <the last line it printed on stderr>``."""
        if self.returncode is None:
            return f"did not finish within {self.timeout or 0:.0f} s"
        if self.crashed:
            return f"crashed {what} ({self.signal_name})"
        if self.last_error:
            return f"failed: {self.last_error}"
        return f"failed (exit {self.returncode})"


def run_child(arguments: Sequence[str], *, timeout: float | None, nice: int = 0) -> ChildResult:
    """Run ``python ARGUMENTS...`` (a script path or ``-m module``, then its arguments), under
    ``nice -n NICE`` when ``nice`` is not 0, for at most ``timeout`` seconds (None: no limit).

    # Returns
        A :class:`ChildResult`; nothing is raised for a crash, an error or a timeout.
    """
    path = os.environ.get("PYTHONPATH")
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=os.pathsep.join([str(_PACKAGE_ROOT)] + ([path] if path else [])),
    )
    command = [sys.executable, *arguments]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired as expired:
        return ChildResult(None, _text(expired.stdout), _text(expired.stderr), expired.timeout)
    return ChildResult(result.returncode, result.stdout, result.stderr, timeout)


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""
