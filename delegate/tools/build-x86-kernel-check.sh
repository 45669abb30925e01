#!/usr/bin/env bash
# Build x86_kernel_check, the bit-exactness test and benchmark of the x86 binary kernels
# (src/x86_64) against LCE's portable kernel, with g++ -O3, from the pinned sources.
#
#   bash delegate/tools/build-x86-kernel-check.sh --sources DIR [-o OUT]
#
#   --sources DIR   the pinned third-party sources (as ../shared/third_party)
#   -o OUT          the program (default: ./x86_kernel_check)
#   $CXX            overrides the compiler (default g++)
#
# The x86 units get the per-file flags of src/x86_64/FLAGS, as in build.sh; the rest
# (LCE's portable kernel included) gets build.sh's flags for x86_64 (-O3 -mpopcnt).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCES="" OUT="$PWD/x86_kernel_check"
while [ $# -gt 0 ]; do
    case "$1" in
        --sources) SOURCES="$2"; shift 2 ;;
        -o|--output) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-x86-kernel-check.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
die() { echo "build-x86-kernel-check.sh: $*" >&2; exit 2; }
[ "$(uname -m)" = x86_64 ] || die "x86_64 only (this machine is $(uname -m))"
[ -n "$SOURCES" ] || die "--sources DIR is required (the pinned third-party sources)"
SOURCES="$(cd "$SOURCES" 2>/dev/null && pwd)" || die "no such sources folder"
for need in larq-compute-engine/larq_compute_engine/core/indirect_bgemm/kernel.h \
            litert/tflite/kernels/internal/types.h flatbuffers/include/flatbuffers/base.h \
            ruy/ruy/profiler/instrumentation.h gemmlowp/fixedpoint/fixedpoint.h; do
    [ -f "$SOURCES/$need" ] || die "the sources folder $SOURCES lacks $need"
done
CXX="${CXX:-g++}"
command -v "$CXX" >/dev/null || die "compiler $CXX not found"

WORK="$(mktemp -d -t bnnkit-x86-check.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/include/tensorflow"
ln -s "$SOURCES/litert/tflite" "$WORK/include/tensorflow/lite"
CXXFLAGS=(-std=c++17 -O3 -DNDEBUG -Wno-attributes -mpopcnt -pthread
          -I"$HERE/src/x86_64" -I"$SOURCES/larq-compute-engine" -I"$WORK/include"
          -I"$SOURCES/litert" -I"$SOURCES/flatbuffers/include" -I"$SOURCES/ruy"
          -I"$SOURCES/gemmlowp")
extra_flags() { awk -v f="$(basename "$1")" '$1 == f { $1 = ""; print }' "$HERE/src/x86_64/FLAGS"; }
OBJECTS=() pids=()
# registration.cc (TFLite registrations) needs LCE's kernels and TFLite's C API: left out.
UNITS=()
for unit in "$HERE"/src/x86_64/*.cc; do
    [ "$(basename "$unit")" = registration.cc ] || UNITS+=("$unit")
done
for unit in "${UNITS[@]}" "$HERE/tools/x86_kernel_check.cc" \
            "$SOURCES/litert/tflite/kernels/internal/runtime_shape.cc"; do
    obj="$WORK/$(basename "${unit%.cc}").o"
    OBJECTS+=("$obj")
    # shellcheck disable=SC2046  # the extra flags are meant to split into words
    "$CXX" "${CXXFLAGS[@]}" $(extra_flags "$unit") -c "$unit" -o "$obj" 2> "$obj.log" &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if [ "$failed" = 1 ]; then cat "$WORK"/*.log >&2; die "compiling failed"; fi
mkdir -p "$(dirname "$OUT")"
"$CXX" -pthread -o "$OUT" "${OBJECTS[@]}"
echo "built $OUT" >&2
