#!/usr/bin/env bash
# Installs, from Debian's apt repositories, what building the LCE-kernel delegate needs:
#   - g++ and patch                -> `bnnkit build-delegate` (native)
#   - g++-aarch64-linux-gnu        -> `bnnkit build-delegate --arch aarch64` (for a Pi)
# Idempotent: installs nothing when all are there. Needs root or sudo (CI runs as root).
# The qemu check's own tools (qemu-user-static, mmdebstrap) come from tools/qemu/setup.sh.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if command -v g++ >/dev/null && command -v patch >/dev/null \
        && command -v aarch64-linux-gnu-g++ >/dev/null; then
    echo "delegate build deps: already installed"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    g++ patch g++-aarch64-linux-gnu >/dev/null
echo "delegate build deps: $(g++ --version | head -1); $(aarch64-linux-gnu-g++ --version | head -1)"
