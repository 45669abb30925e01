#!/usr/bin/env bash
# Check that the Raspberry Pi runner on aarch64 (pi/run_litert.py on ai-edge-litert, under
# qemu-aarch64) predicts what `bnnkit predict` predicts on this x86 host, on the shared samples.
#
#   bash tools/qemu/verify.sh [--out DIR] [--top-k K] [--atol A]
#
# 1. tools/qemu/setup.sh (idempotent);
# 2. two small `litert` bundles (float LeNet trained briefly on MNIST and on Fashion-MNIST;
#    tools/qemu/make_test_bundle.py), or the bundles in $BNNKIT_QEMU_BUNDLES
#    ("mnist=DIR fashion_mnist=DIR");
# 3. x86: `python -m bnnkit.cli.predict BUNDLE IMAGES --json` (tf.lite.Interpreter or LCE);
# 4. aarch64: bnnkit installed with `pip install --no-deps` (as on a Pi) next to the aarch64
#    wheels, then `python3.11 run_litert.py BUNDLE IMAGES --json` in the chroot under qemu;
# 5. tools/qemu/compare_predictions.py: same ranking, probabilities within --atol.
# Writes x86-*.json, aarch64-*.json and timings.json into --out (default: a temporary folder).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${BNNKIT_HOST_PYTHON:-$REPO/.venv/bin/python}"
QEMU_DIR="${BNNKIT_QEMU_DIR:-$HOME/.cache/bnnkit-qemu}"
ROOTFS="$QEMU_DIR/rootfs"
SAMPLES="${BNNKIT_SHARED_DATASETS:-$REPO/../shared/datasets}/samples"
OUT=""
TOP_K=10        # every class: compares the whole probability vector
ATOL=1e-5
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --top-k) TOP_K="$2"; shift 2 ;;
        --atol) ATOL="$2"; shift 2 ;;
        *) echo "verify.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$OUT" ] || OUT="$(mktemp -d -t bnnkit-qemu-verify.XXXXXX)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
log() { echo "[qemu-verify] $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

t=$(now); bash "$HERE/setup.sh"; t_setup=$(elapsed "$t")

declare -A IMAGES=([mnist]="mnist_*.png" [fashion_mnist]="fashionMNIST_*.png")
declare -A BUNDLES=()
if [ -n "${BNNKIT_QEMU_BUNDLES:-}" ]; then
    for pair in $BNNKIT_QEMU_BUNDLES; do BUNDLES[${pair%%=*}]="${pair#*=}"; done
fi
t=$(now)
for dataset in mnist fashion_mnist; do
    if [ -z "${BUNDLES[$dataset]:-}" ]; then
        log "making a litert test bundle for $dataset"
        nice "$PY" "$HERE/make_test_bundle.py" "$OUT/bundles/$dataset" --dataset "$dataset" \
            --data-dir "$(dirname "$SAMPLES")" >/dev/null 2> "$OUT/make_bundle_$dataset.log"
        BUNDLES[$dataset]="$OUT/bundles/$dataset"
    fi
done
t_bundles=$(elapsed "$t")

# Stage everything the chroot needs inside it; removed on exit.
STAGE="$(mktemp -d "$ROOTFS/tmp/verify.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
SRC="$(mktemp -d)"
trap 'rm -rf "$STAGE" "$SRC"' EXIT
cp -r "$REPO/pyproject.toml" "$REPO/README.md" "$REPO/bnnkit" "$REPO/converters" "$SRC/"
t=$(now)
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
    --target "$STAGE/site" "$SRC" 2> >(grep -v '^WARNING: Location' >&2)
t_install=$(elapsed "$t")
cp "$REPO/pi/run_litert.py" "$STAGE/"
INSIDE="/tmp/$(basename "$STAGE")"

status=0
declare -A T_X86=() T_ARM=()
for dataset in mnist fashion_mnist; do
    images=( $SAMPLES/${IMAGES[$dataset]} )
    mkdir -p "$STAGE/images/$dataset" "$STAGE/bundles"
    cp "${images[@]}" "$STAGE/images/$dataset/"
    cp -r "${BUNDLES[$dataset]}" "$STAGE/bundles/$dataset"
    inside_images=()
    for image in "${images[@]}"; do inside_images+=("$INSIDE/images/$dataset/$(basename "$image")"); done

    t=$(now)
    "$PY" -m bnnkit.cli.predict "${BUNDLES[$dataset]}" "${images[@]}" --json --top-k "$TOP_K" \
        > "$OUT/x86-$dataset.json" 2> "$OUT/x86-$dataset.log"
    T_X86[$dataset]=$(elapsed "$t")

    t=$(now)
    BNNKIT_QEMU_PYTHONPATH="$INSIDE/site" bash "$HERE/run.sh" "$INSIDE/run_litert.py" \
        "$INSIDE/bundles/$dataset" "${inside_images[@]}" --json --top-k "$TOP_K" \
        > "$OUT/aarch64-$dataset.json" 2> "$OUT/aarch64-$dataset.log"
    T_ARM[$dataset]=$(elapsed "$t")
    kernels="built-in kernels"
    grep -q "XNNPACK delegate" "$OUT/aarch64-$dataset.log" && kernels="XNNPACK"
    log "$dataset: ${#images[@]} images, x86 ${T_X86[$dataset]} s, aarch64 under qemu ${T_ARM[$dataset]} s ($kernels)"
    python3 "$HERE/compare_predictions.py" "$OUT/x86-$dataset.json" "$OUT/aarch64-$dataset.json" \
        --atol "$ATOL" || status=1
done

cat > "$OUT/timings.json" <<JSON
{"machine": "x86 host running aarch64 under qemu-user (qemu-aarch64-static $(qemu-aarch64-static --version | head -1 | awk '{print $3}'))",
 "setup_s": $t_setup, "make_bundles_s": $t_bundles, "pip_install_no_deps_s": $t_install,
 "x86_predict_s": {"mnist": ${T_X86[mnist]}, "fashion_mnist": ${T_X86[fashion_mnist]}},
 "aarch64_qemu_run_s": {"mnist": ${T_ARM[mnist]}, "fashion_mnist": ${T_ARM[fashion_mnist]}}}
JSON
log "setup ${t_setup} s, bundles ${t_bundles} s; results in $OUT"
[ $status = 0 ] && log "OK: aarch64 predictions match x86" || log "FAILED: see MISMATCH lines"
exit $status
