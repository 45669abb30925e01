"""Keep native libraries' chatter off the CLI's stderr, and bnnkit's own messages on it.

TensorFlow, tf-keras, Larq Compute Engine and the TFLite runtimes each load a native runtime
that writes start-up notices straight to file descriptor 2 (absl's "All log messages before
absl::InitializeLog() ...", oneDNN and CUDA-stub notices, "failed call to cuInit", XNNPACK
delegate notices), several lines before any error bnnkit reports. ``TF_CPP_MIN_LOG_LEVEL``
hides only some of them.

:func:`native_stderr_silenced` points descriptor 2 at ``/dev/null`` for the duration of a
command and gives Python's ``sys.stderr`` a descriptor of its own on the real stderr, so that
everything written from Python (bnnkit's one-line errors and notes, warnings, tracebacks)
still reaches the user and only native writes are dropped. Child processes inherit the
silenced descriptor; bnnkit captures the output of the ones it starts. With
``BNNKIT_DEBUG=1`` nothing is silenced.

Only the standard library is used, so the Raspberry Pi runner can use it too.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator

__all__ = ["native_stderr_silenced"]


def _writes_to_descriptor_2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Within the block, native writes to stderr are dropped; ``sys.stderr`` still works."""
    if os.environ.get("BNNKIT_DEBUG"):
        yield
        return
    python_stderr = sys.stderr
    with contextlib.suppress(Exception):
        python_stderr.flush()
    original = os.dup(2)
    # Python keeps writing to the real stderr through its own descriptor (when sys.stderr is
    # the process's stderr; a replaced sys.stderr, e.g. pytest's capsys, is left alone).
    if _writes_to_descriptor_2(python_stderr):
        sys.stderr = open(  # noqa: SIM115 - kept open after the block, see below
            os.dup(original),
            "w",
            buffering=1,
            encoding=getattr(python_stderr, "encoding", None) or "utf-8",
            errors="backslashreplace",
        )
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(original, 2)
        os.close(original)
        # The stream opened above is not closed: a logging handler created inside the block
        # may still hold it, and it writes to the real stderr.
        sys.stderr = python_stderr
