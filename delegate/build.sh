#!/usr/bin/env bash
# Build bnnkit's LCE-kernel delegate (an external TFLite delegate, one .so) with g++.
#
#   bash delegate/build.sh --sources DIR [--arch native|aarch64|android-arm64] [-o OUT.so]
#                          [--build-dir DIR] [--jobs N]
#
#   --sources DIR   the pinned third-party sources, laid out as ../shared/third_party
#                   (larq-compute-engine/ litert/ flatbuffers/ ruy/ gemmlowp/; see README.md)
#   --arch          native (default; x86_64 gets -mpopcnt) or aarch64 (cross-compiles with
#                   aarch64-linux-gnu-g++ -march=armv8-a; LCE's NEON kernels are compiled in),
#                   or android-arm64 (the Android NDK's clang++ for API 24 from
#                   $ANDROID_NDK_HOME, plus src/android/ with the app's JNI entry points;
#                   not built where bnnkit is developed: no NDK there)
#   -o OUT.so       output (default: ./libbnnkit_lce_delegate-<arch>.so)
#   --build-dir     objects and the patched copy of LCE's sources (default: a temporary folder,
#                   removed afterwards). The source folder itself is never modified.
#   $CXX            overrides the compiler.
#
# Sources compiled:
#   * this project's own: src/*.cc, and src/<target cpu>/*.cc (x86_64 or aarch64) when that
#     folder exists; a line "<file>.cc <flags...>" in src/<target cpu>/FLAGS adds flags to
#     one file (e.g. -mavx2 for a kernel chosen at run time by CPU feature detection);
#   * LCE's kernels (tflite/kernels/{bconv2d,quantization,bmaxpool}.cc), after applying
#     patches/*.patch in order to a copy of larq_compute_engine/;
#   * six LiteRT .cc files with the TFLite C helpers and kernel utilities they call.
# Linked with -static-libstdc++ -static-libgcc and a version script that exports only
# tflite_plugin_create_delegate / tflite_plugin_destroy_delegate.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCES="" ARCH="native" OUT="" BUILD_DIR="" JOBS="$(nproc 2>/dev/null || echo 2)"
while [ $# -gt 0 ]; do
    case "$1" in
        --sources) SOURCES="$2"; shift 2 ;;
        --arch) ARCH="$2"; shift 2 ;;
        -o|--output) OUT="$2"; shift 2 ;;
        --build-dir) BUILD_DIR="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
die() { echo "build.sh: $*" >&2; exit 2; }
log() { echo "[delegate-build] $*" >&2; }

[ -n "$SOURCES" ] || die "--sources DIR is required (the pinned third-party sources)"
SOURCES="$(cd "$SOURCES" 2>/dev/null && pwd)" || die "no such sources folder"
for need in larq-compute-engine/larq_compute_engine/tflite/kernels/bconv2d.cc \
            litert/tflite/core/c/common.cc flatbuffers/include/flatbuffers/flexbuffers.h \
            ruy/ruy/profiler/instrumentation.h gemmlowp/fixedpoint/fixedpoint.h; do
    [ -f "$SOURCES/$need" ] || die "the sources folder $SOURCES lacks $need"
done

case "$ARCH" in
    native)
        CXX="${CXX:-g++}"
        case "$(uname -m)" in
            x86_64) TARGET=x86_64; ARCH_FLAGS=(-mpopcnt) ;;
            aarch64) TARGET=aarch64; ARCH_FLAGS=(-march=armv8-a) ;;
            *) TARGET="$(uname -m)"; ARCH_FLAGS=() ;;
        esac ;;
    aarch64)
        CXX="${CXX:-aarch64-linux-gnu-g++}"; TARGET=aarch64; ARCH_FLAGS=(-march=armv8-a) ;;
    android-arm64)
        NDK_BIN="${ANDROID_NDK_HOME:-}/toolchains/llvm/prebuilt/linux-x86_64/bin"
        CXX="${CXX:-$NDK_BIN/aarch64-linux-android24-clang++}"
        TARGET=aarch64; ARCH_FLAGS=(-march=armv8-a) ;;
    *) die "--arch must be native, aarch64 or android-arm64, not $ARCH" ;;
esac
# Linux: libstdc++ and libgcc linked in, libpthread named (glibc < 2.34 has it apart); Android:
# the NDK's libc++ linked in, pthreads in Bionic's libc, JNI entry points for the app.
EXPORTS="$HERE/exports.map" LINK_LIBS=(-static-libgcc -lm -lpthread) EXTRA_SRC=()
if [ "$ARCH" = android-arm64 ]; then
    EXPORTS="$HERE/exports-android.map" LINK_LIBS=(-lm) EXTRA_SRC=("$HERE"/src/android/*.cc)
fi
if ! command -v "$CXX" >/dev/null; then
    [ "$ARCH" = android-arm64 ] && die "compiler $CXX not found (set \$ANDROID_NDK_HOME to an NDK)"
    die "compiler $CXX not found"
fi
command -v patch >/dev/null || die "the 'patch' program is not installed (apt-get install patch)"
[ -n "$OUT" ] || OUT="$PWD/libbnnkit_lce_delegate-$ARCH.so"
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

if [ -z "$BUILD_DIR" ]; then
    BUILD_DIR="$(mktemp -d -t bnnkit-delegate-build.XXXXXX)"
    trap 'rm -rf "$BUILD_DIR"' EXIT
fi
mkdir -p "$BUILD_DIR"
BUILD_DIR="$(cd "$BUILD_DIR" && pwd)"
start=$(date +%s.%N)

# 1. A patched copy of LCE's sources; an include folder bridging tensorflow/lite -> tflite.
rm -rf "$BUILD_DIR/lce" "$BUILD_DIR/include" "$BUILD_DIR/obj"
mkdir -p "$BUILD_DIR/lce" "$BUILD_DIR/include/tensorflow" "$BUILD_DIR/obj"
cp -r "$SOURCES/larq-compute-engine/larq_compute_engine" "$BUILD_DIR/lce/"
for p in "$HERE"/patches/*.patch; do
    patch --quiet -p1 -d "$BUILD_DIR/lce" < "$p" || die "patch $(basename "$p") does not apply"
done
ln -s "$SOURCES/litert/tflite" "$BUILD_DIR/include/tensorflow/lite"

# 2. Compile, $JOBS at a time.
CXXFLAGS=(-std=c++17 -O3 -DNDEBUG -fPIC -fvisibility=hidden -ffunction-sections
          -fdata-sections -Wno-attributes "${ARCH_FLAGS[@]}"
          -DFLATBUFFERS_LOCALE_INDEPENDENT=0   # flexbuffers without flatbuffers' util.cpp
          -I"$BUILD_DIR/lce" -I"$BUILD_DIR/include" -I"$SOURCES/litert"
          -I"$SOURCES/flatbuffers/include" -I"$SOURCES/ruy" -I"$SOURCES/gemmlowp")
UNITS=("$HERE"/src/*.cc)
[ -d "$HERE/src/$TARGET" ] && UNITS+=("$HERE/src/$TARGET"/*.cc)
UNITS+=("${EXTRA_SRC[@]}")
for f in bconv2d quantization bmaxpool; do
    UNITS+=("$BUILD_DIR/lce/larq_compute_engine/tflite/kernels/$f.cc")
done
for f in array.cc core/c/common.cc kernels/kernel_util.cc kernels/internal/quantization_util.cc \
         kernels/internal/runtime_shape.cc kernels/internal/tensor_ctypes.cc; do
    UNITS+=("$SOURCES/litert/tflite/$f")
done
extra_flags() {  # per-file flags from src/<target>/FLAGS
    local flags_file="$HERE/src/$TARGET/FLAGS"
    [ -f "$flags_file" ] || return 0
    awk -v f="$(basename "$1")" '$1 == f { $1 = ""; print }' "$flags_file"
}
OBJECTS=()
pids=()
failed=0
for i in "${!UNITS[@]}"; do
    unit="${UNITS[$i]}"
    obj="$BUILD_DIR/obj/$i-$(basename "${unit%.cc}").o"
    OBJECTS+=("$obj")
    # shellcheck disable=SC2046  # the extra flags are meant to split into words
    "$CXX" "${CXXFLAGS[@]}" $(extra_flags "$unit") -c "$unit" -o "$obj" \
        2> "$obj.log" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$JOBS" ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if [ "$failed" = 1 ]; then
    for obj in "${OBJECTS[@]}"; do [ -f "$obj" ] || cat "$obj.log" >&2; done
    die "compiling failed"
fi

# 3. Link: self-contained (static C++ library), only the exported entry points, stripped.
"$CXX" -shared -o "$OUT.partial" "${OBJECTS[@]}" -static-libstdc++ "${LINK_LIBS[@]}" \
    -Wl,--version-script="$EXPORTS" -Wl,--gc-sections -Wl,--no-undefined -s
mv "$OUT.partial" "$OUT"
log "built $OUT ($(stat -c %s "$OUT") bytes, $TARGET, $CXX) in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
