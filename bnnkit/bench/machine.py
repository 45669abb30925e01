"""The machine label that every measured figure carries.

Only x86 host numbers are measured by these benchmarks; ARM latency is reported only where it
was measured on ARM (see docs/raspberry-pi.md), never extrapolated from this host.
"""

from __future__ import annotations

import os
import platform

__all__ = ["cpu_count", "cpu_model", "host_kind", "machine_info", "machine_label"]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


#: The SIMD features that matter for float and binary kernels, in the order printed.
SIMD_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vpopcntdq",
    "avx512_bitalg",
    "asimd",
    "sve",
)


def cpu_flags() -> list[str]:
    """The :data:`SIMD_FLAGS` this CPU reports (``flags``/``Features`` in /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key = line.split(":", 1)[0].strip().lower()
                if key in ("flags", "features"):
                    present = set(line.split(":", 1)[1].split())
                    return [flag for flag in SIMD_FLAGS if flag in present]
    except OSError:
        pass
    return []


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def host_kind() -> str:
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64", "i386", "i686"):
        return "x86 host"
    if machine in ("aarch64", "arm64") or machine.startswith("arm"):
        return "ARM host"
    return f"{machine} host"


def machine_label() -> str:
    """E.g. ``"x86 host: AMD EPYC, 2 cores"``."""
    return f"{host_kind()}: {cpu_model()}, {cpu_count()} cores"


def machine_info() -> dict:
    return {
        "label": machine_label(),
        "kind": host_kind(),
        "cpu": cpu_model(),
        "cores": cpu_count(),
        "simd": cpu_flags(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "system": platform.platform(),
    }
