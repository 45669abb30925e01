#!/usr/bin/env bash
# The aarch64 check: bnnkit bundles on the Raspberry Pi runner (pi/run_litert.py on ai-edge-litert,
# with bnnkit's LCE-kernel delegate for lce/int8 bundles) under qemu-aarch64, against x86.
#
#   bash tools/qemu/verify.sh --out DIR [--sources DIR] [--delegate SO] [--data-dir DIR]
#                             [--results results/qemu_lce_check.json]
#
# Runs tools/qemu/lce_check.py with the host venv's Python (see its docstring for the steps);
# needs root (tools/qemu/setup.sh: apt-get, mmdebstrap, chroot). Writes DIR/summary.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${BNNKIT_HOST_PYTHON:-$REPO/.venv/bin/python}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
exec nice -n 5 "$PY" "$HERE/lce_check.py" "$@"
