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
    command -v javac >/dev/null && command -v unzip >/dev/null && command -v aapt >/dev/null && command -v zipalign >/dev/null \
        && command -v apksigner >/dev/null && command -v dalvik-exchange >/dev/null \
        && [ -f /usr/share/java/junit4.jar ] && [ -f /usr/lib/android-sdk/platforms/android-23/android.jar ]
}

APT_ETC="${BNNKIT_APT_ETC:-/etc/apt}"

# The machine's own Debian mirror, from whichever source files exist: one-line `.list` files
# and/or deb822 `.sources` files (a fresh Debian 12 image has only sources.list.d/debian.sources).
debian_mirror() {
    local file
    for file in "$APT_ETC/sources.list" "$APT_ETC"/sources.list.d/*.list \
                "$APT_ETC"/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        case "$file" in
            *.sources) sed -n 's/^URIs:[[:space:]]*//p' "$file" | tr ' ' '\n' ;;
            *) sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$file" ;;
        esac
    done | grep -E '^https?://' | grep -v -- '-security' | head -n 1 || true
}
if [ "${1:-}" = "--print-mirror" ]; then
    debian_mirror
    exit 0
fi
if have_all; then
    echo "android build deps: already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
LIST=/etc/apt/sources.list.d/bnnkit-bullseye.list
PIN=/etc/apt/preferences.d/bnnkit-bullseye
if [ ! -f "$LIST" ]; then
    MIRROR="$(debian_mirror)"
    if [ -z "$MIRROR" ]; then
        echo "install-build-deps.sh: no Debian mirror found in /etc/apt; add a bullseye source" >&2
        exit 1
    fi
    echo "deb $MIRROR bullseye main" | $SUDO tee "$LIST" >/dev/null
fi
if [ ! -f "$PIN" ]; then
    printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' | $SUDO tee "$PIN" >/dev/null
fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    openjdk-17-jdk-headless junit4 aapt zipalign apksigner unzip
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends -t bullseye \
    libandroid-23-java dalvik-exchange

have_all && echo "android build deps: installed"
