#!/usr/bin/env bash
# Installs, from Debian's apt repositories only, what the offline Android checks need:
#   - javac 17 + JUnit 4          -> compile and unit-test the plain-Java core
#   - aapt, zipalign, apksigner   -> package, align and sign the offline APK (bookworm)
#   - android.jar (API 23), dx (dalvik-exchange)-> compile against the Android API and dex the classes;
#                                    they exist only in Debian bullseye
#                                    (libandroid-23-java, dalvik-exchange), so a bullseye
#                                    source is added, pinned low so that nothing else comes
#                                    from it.
# Idempotent: re-running it installs nothing new. Needs root (CI runs as root).
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

have_all() {
    command -v javac >/dev/null && command -v aapt >/dev/null && command -v zipalign >/dev/null \
        && command -v apksigner >/dev/null && command -v dalvik-exchange >/dev/null \
        && [ -f /usr/share/java/junit4.jar ] && [ -f /usr/lib/android-sdk/platforms/android-23/android.jar ]
}

if have_all; then
    echo "android build deps: already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
LIST=/etc/apt/sources.list.d/bnnkit-bullseye.list
PIN=/etc/apt/preferences.d/bnnkit-bullseye
if [ ! -f "$LIST" ]; then
    echo "deb http://deb.debian.org/debian bullseye main" | $SUDO tee "$LIST" >/dev/null
fi
if [ ! -f "$PIN" ]; then
    printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' | $SUDO tee "$PIN" >/dev/null
fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    openjdk-17-jdk-headless junit4 aapt zipalign apksigner
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends -t bullseye \
    libandroid-23-java dalvik-exchange

have_all && echo "android build deps: installed"
