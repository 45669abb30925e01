#!/usr/bin/env bash
# Run a command with the arm64 Python of tools/qemu/setup.sh, under qemu-aarch64, in its chroot.
#
#   bash tools/qemu/run.sh -c 'import platform; print(platform.machine())'     # -> aarch64
#   bash tools/qemu/run.sh /stage/run_litert.py ...      # paths are inside the root
#
# PYTHONPATH inside is /opt/bnnkit-site (the aarch64 wheels) plus $BNNKIT_QEMU_PYTHONPATH.
set -euo pipefail
QEMU_DIR="${BNNKIT_QEMU_DIR:-$HOME/.cache/bnnkit-qemu}"
ROOTFS="$QEMU_DIR/rootfs"
if [ ! -x "$ROOTFS/usr/bin/qemu-aarch64-static" ]; then
    echo "run.sh: no arm64 root in $ROOTFS; run tools/qemu/setup.sh first" >&2
    exit 2
fi
PYPATH="/opt/bnnkit-site${BNNKIT_QEMU_PYTHONPATH:+:$BNNKIT_QEMU_PYTHONPATH}"
# The CPU of a Raspberry Pi 4 (setup.sh writes the matching /proc/cpuinfo for XNNPACK).
exec chroot "$ROOTFS" /usr/bin/qemu-aarch64-static -cpu "${BNNKIT_QEMU_CPU:-cortex-a72}" -E PYTHONPATH="$PYPATH" \
    -E PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3.11 "$@"
