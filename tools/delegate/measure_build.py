"""Measure the LCE-kernel delegate's builds: time, size, exports and glibc needs.

    .venv/bin/python tools/delegate/measure_build.py --sources ../shared/third_party \
        [--out results/delegate_build.json]

Builds the native (x86_64 here) and the cross-compiled aarch64 delegate with
:func:`converters.delegate.build_delegate` into a temporary folder, one after the other,
and records for each: wall time with the machine's cores, compiler CPU time (user + sys of
the compiler processes: steadier than wall time on a shared machine), the .so's size, its
exported symbols and the newest glibc symbol version it needs (``readelf -V``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bnnkit.bench.machine import machine_info  # noqa: E402
from converters.delegate import DELEGATE_FILE, build_delegate  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _glibc_needed(path: Path) -> str:
    text = subprocess.run(["readelf", "-V", "-W", str(path)], capture_output=True, text=True,
                          check=True).stdout
    versions = {tuple(int(p) for p in v.split(".")) for v in re.findall(r"GLIBC_(\d+\.\d+)", text)}
    return "GLIBC_" + ".".join(map(str, max(versions)))


def _exports(path: Path) -> list[str]:
    text = subprocess.run(["readelf", "--dyn-syms", "-W", str(path)], capture_output=True,
                          text=True, check=True).stdout
    return sorted(line.split()[-1] for line in text.splitlines()
                  if " GLOBAL " in line and " UND " not in line)


def measure(arch: str, sources: Path, folder: Path) -> dict:
    output = folder / arch / DELEGATE_FILE
    cpu, start = _children_cpu(), time.perf_counter()
    build_delegate(arch, sources=sources, output=output)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    info = json.loads(output.with_name(output.name + ".json").read_text())
    return {"arch": arch, "target_cpu": info["target_cpu"], "compiler": info["compiler"],
            "wall_s": round(wall, 1), "compiler_cpu_s": round(cpu, 1),
            "size_bytes": output.stat().st_size, "exports": _exports(output),
            "glibc_needed": _glibc_needed(output)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", required=True)
    parser.add_argument("--out", default=str(REPO / "results" / "delegate_build.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        builds = [measure(arch, Path(args.sources), Path(folder))
                  for arch in ("native", "aarch64")]
    result = {"script": "tools/delegate/measure_build.py", "machine": machine_info(),
              "jobs": os.cpu_count(), "builds": builds}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
