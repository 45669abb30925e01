#!/usr/bin/env bash
# Set up a Raspberry Pi 4 or 5 on 64-bit Raspberry Pi OS to run bnnkit bundles.
#
#   git clone <your bnnkit repository> bnnkit && cd bnnkit
#   bash pi/setup.sh                 # venv in ~/.venvs/bnnkit-pi (or: bash pi/setup.sh DIR)
#   ~/.venvs/bnnkit-pi/bin/python pi/run_litert.py BUNDLE IMAGE...
#
# What it installs, and only that (no TensorFlow, no Larq: they have no Pi wheels and are not
# needed to run a model):
#   - a Python venv with pi/requirements.txt: ai-edge-litert (Google's stock TFLite runtime),
#     numpy, Pillow, tflite (the flatbuffer schema, pure Python, to validate bundles);
#   - bnnkit itself with `pip install --no-deps`, so that pi/run_litert.py reuses
#     bnnkit.imaging, converters.predict and converters.bundle (image -> tensor, ranking, bundle
#     validation) unchanged:
#     a Pi preprocesses images exactly as `bnnkit predict` on the training machine.
# `lce`/`int8` bundles also need bnnkit's LCE-kernel delegate (`bnnkit build-delegate` on the Pi,
# or cross-built on x86): see docs/raspberry-pi.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$HOME/.venvs/bnnkit-pi}"
PYTHON="${PYTHON:-python3}"
log() { echo "[bnnkit-pi] $*" >&2; }

arch="$(uname -m)"
if [ "$arch" != aarch64 ] && [ -z "${BNNKIT_PI_ANY_ARCH:-}" ]; then
    log "this machine is $arch, not aarch64."
    [ "$arch" = armv7l ] && log "That is a 32-bit OS: ai-edge-litert has no 32-bit ARM wheel and" \
        "LCE's optimized kernels are 64-bit. Install the 64-bit Raspberry Pi OS."
    log "(set BNNKIT_PI_ANY_ARCH=1 to go on anyway)"
    exit 2
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    log "$PYTHON is missing or older than 3.9; Raspberry Pi OS 12 (bookworm) ships 3.11"
    exit 2
fi
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    log "Python's venv module is missing: sudo apt install python3-venv"
    exit 2
fi

if [ ! -x "$VENV/bin/python" ]; then
    log "creating the venv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
log "installing ai-edge-litert, numpy, Pillow, tflite (pi/requirements.txt)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REPO/pi/requirements.txt"
log "installing bnnkit without its training dependencies (--no-deps)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$REPO"

"$VENV/bin/python" - <<'PY'
import platform, sys
import numpy, PIL
from ai_edge_litert.interpreter import Interpreter  # noqa: F401
import bnnkit, bnnkit.imaging, converters.predict, converters.bundle  # noqa: F401
import converters.litert_lce  # noqa: F401
heavy = [m for m in ("tensorflow", "larq") if m in sys.modules]
assert not heavy, f"unexpected imports: {heavy}"
print(f"[bnnkit-pi] ok: {platform.machine()} Python {platform.python_version()}, "
      f"numpy {numpy.__version__}, Pillow {PIL.__version__}, bnnkit {bnnkit.__version__}",
      file=sys.stderr)
PY
log "run a bundle:  $VENV/bin/python $REPO/pi/run_litert.py BUNDLE IMAGE... [--json]"
delegate="$("$VENV/bin/python" -c 'from converters.delegate import find_delegate; print(find_delegate() or "")')"
if [ -n "$delegate" ]; then
    log "LCE-kernel delegate found ($delegate): lce and int8 bundles run too"
else
    log "for lce/int8 bundles, build the LCE-kernel delegate: sudo apt install g++ patch;" \
        "$VENV/bin/bnnkit build-delegate (or copy a cross-built one; docs/raspberry-pi.md)"
fi
