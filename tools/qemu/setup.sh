#!/usr/bin/env bash
# Build (once) an arm64 Debian root with Python 3.11, ai-edge-litert, numpy and Pillow, to run
# the Raspberry Pi runner (pi/run_litert.py) under qemu-aarch64 on an x86 host.
#
#   bash tools/qemu/setup.sh            # idempotent: a second run only checks
#   BNNKIT_QEMU_DIR=/somewhere bash tools/qemu/setup.sh
#
# What it does:
#   1. apt-get installs qemu-user-static and mmdebstrap (needs root, as on this project's machines);
#   2. extracts Debian 12 (bookworm) arm64 packages python3.11 + libstdc++6 into
#      $BNNKIT_QEMU_DIR/rootfs (default ~/.cache/bnnkit-qemu, outside the repository).
#      `--variant=extract` unpacks the .debs without running their maintainer scripts, so no
#      binfmt_misc registration is needed: qemu-aarch64-static is copied into the root and
#      binaries run as `chroot ROOTFS /usr/bin/qemu-aarch64-static /usr/bin/python3.11 ...`
#      (see run.sh). A chroot, not `qemu-aarch64-static -L ROOTFS`: with -L, paths missing in the
#      root fall through to the x86 host's, and ai-edge-litert 2.3.0 then segfaults while
#      creating its Interpreter (measured here); inside the chroot it runs;
#   3. installs the aarch64 wheels of pi/requirements.txt into ROOTFS/opt/bnnkit-site with the host's
#      pip (`--platform manylinux_*_aarch64 --target`), Pillow pinned to the host venv's version so
#      that images decode identically on both sides.
# tools/qemu/verify.sh then runs the Pi runner there and compares with `bnnkit predict` on x86.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    echo "[qemu-setup] needs root (apt-get, mmdebstrap --mode=root, chroot)" >&2
    exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
QEMU_DIR="${BNNKIT_QEMU_DIR:-$HOME/.cache/bnnkit-qemu}"
ROOTFS="$QEMU_DIR/rootfs"
SITE="$ROOTFS/opt/bnnkit-site"
SUITE="${BNNKIT_QEMU_SUITE:-bookworm}"          # Debian 12: Python 3.11, like Raspberry Pi OS 12
MIRROR="${BNNKIT_QEMU_MIRROR:-http://deb.debian.org/debian}"
HOST_PYTHON="${BNNKIT_HOST_PYTHON:-$REPO/.venv/bin/python}"
[ -x "$HOST_PYTHON" ] || HOST_PYTHON="$(command -v python3)"

log() { echo "[qemu-setup] $*" >&2; }
start=$(date +%s)

# 1. host tools
if ! command -v qemu-aarch64-static >/dev/null || ! command -v mmdebstrap >/dev/null; then
    log "installing qemu-user-static and mmdebstrap with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        qemu-user-static mmdebstrap >/dev/null
fi

# 2. arm64 root with Python 3.11
if [ ! -x "$ROOTFS/usr/bin/python3.11" ]; then
    log "extracting Debian $SUITE arm64 (python3.11, libstdc++6) into $ROOTFS"
    mkdir -p "$QEMU_DIR"
    rm -rf "$ROOTFS.partial"
    mmdebstrap --quiet --mode=root --architectures=arm64 --variant=extract \
        --include=python3.11,libstdc++6,libgcc-s1 "$SUITE" "$ROOTFS.partial" "$MIRROR"
    mv "$ROOTFS.partial" "$ROOTFS"
else
    log "arm64 root already in $ROOTFS"
fi

# 3. aarch64 wheels
PLATFORMS=()
for tag in manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_27_aarch64 \
           manylinux_2_28_aarch64 manylinux_2_31_aarch64 manylinux_2_34_aarch64 \
           manylinux_2_35_aarch64 manylinux_2_36_aarch64; do
    PLATFORMS+=(--platform "$tag")
done
PILLOW_PIN=()
if host_pillow="$("$HOST_PYTHON" -c 'import PIL; print(PIL.__version__)' 2>/dev/null)"; then
    PILLOW_PIN=("pillow==$host_pillow")
fi
stamp="$SITE/.bnnkit-requirements"
wanted="$(cat "$REPO/pi/requirements.txt"; echo "${PILLOW_PIN[*]:-}")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    log "installing aarch64 wheels (pi/requirements.txt ${PILLOW_PIN[*]:-}) into $SITE"
    rm -rf "$SITE"
    # pip warns about the host venv's own packages (numpy<2 for TF): irrelevant for --target.
    "$HOST_PYTHON" -m pip install --quiet --disable-pip-version-check --target "$SITE" \
        "${PLATFORMS[@]}" --only-binary=:all: --python-version 3.11 --implementation cp \
        -r "$REPO/pi/requirements.txt" "${PILLOW_PIN[@]}" 2> >(grep -v -e '^WARNING: Location' \
        -e 'dependency resolver' -e 'requires numpy' -e 'which is incompatible' >&2)
    printf '%s' "$wanted" > "$stamp"
else
    log "aarch64 wheels already installed in $SITE"
fi

install -m 755 "$(command -v qemu-aarch64-static)" "$ROOTFS/usr/bin/qemu-aarch64-static"

# 4. a Raspberry Pi 4's CPU description. Nothing is mounted in the chroot, so without these
#    files XNNPACK's cpuinfo fails ("failed to parse the list of possible processors") and
#    ai-edge-litert silently runs its built-in kernels instead of XNNPACK, unlike a real Pi.
#    With them (4 Cortex-A72 cores, as run.sh also tells qemu with QEMU_CPU=cortex-a72) the
#    XNNPACK delegate is created as on a Pi 4.
mkdir -p "$ROOTFS/sys/devices/system/cpu" "$ROOTFS/proc"
echo 0-3 > "$ROOTFS/sys/devices/system/cpu/possible"
echo 0-3 > "$ROOTFS/sys/devices/system/cpu/present"
for cpu in 0 1 2 3; do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n' "$cpu"
    printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n'
    printf 'CPU part\t: 0xd08\nCPU revision\t: 3\n\n'
done > "$ROOTFS/proc/cpuinfo"

# check
chroot "$ROOTFS" /usr/bin/qemu-aarch64-static -cpu cortex-a72 -E PYTHONPATH=/opt/bnnkit-site \
    /usr/bin/python3.11 -c '
import platform, numpy, PIL
from ai_edge_litert.interpreter import Interpreter
print("[qemu-setup] ok:", platform.machine(), "python", platform.python_version(),
      "numpy", numpy.__version__, "pillow", PIL.__version__)' >&2
log "done in $(( $(date +%s) - start )) s"
