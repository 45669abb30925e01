#!/usr/bin/env bash
# Offline APK build of the `litert` flavor, with Debian's Android tools only (no Gradle, no
# Maven, no network): aapt (resources, manifest, assets), javac (against android.jar API 23),
# dx (dalvik-exchange) to dex, zipalign, apksigner with a generated debug key; then
# `apksigner verify` and `aapt dump badging`.
#
#   android_demo/tools/build_apk.sh [OUT_DIR]        (default: android_demo/build/offline)
#
# What the APK holds, honestly: the real app (activity, layouts, the plain-Java core) and the
# demo bundle, with model.tflite STORED (uncompressed, so the app can memory-map it). It does
# NOT hold the TensorFlow Lite runtime: no TFLite AAR can be had offline, so the app is
# compiled against a compile-only stand-in of org.tensorflow.lite.Interpreter
# (offline/stubs/, not dexed) and, on a device, loads and checks the bundle, preprocesses
# images and then says "TFLite runtime not bundled in this offline build". Build it in
# Android Studio (README.md) for a working classifier.
#
# Install the tools with android_demo/tools/install-build-deps.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$HERE/build/offline}"
ANDROID_JAR="${ANDROID_JAR:-/usr/lib/android-sdk/platforms/android-23/android.jar}"
FLAVOR=litert
PACKAGE=org.bnnkit.demo

DX=""
for candidate in d8 dx dalvik-exchange; do
    if command -v "$candidate" >/dev/null; then DX="$candidate"; break; fi
done
missing=()
for tool in aapt javac zipalign apksigner keytool unzip; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -n "$DX" ] || missing+=("d8/dx")
[ -f "$ANDROID_JAR" ] || missing+=("android.jar ($ANDROID_JAR)")
if [ "${#missing[@]}" -gt 0 ]; then
    echo "build_apk.sh: missing ${missing[*]}; run android_demo/tools/install-build-deps.sh" >&2
    exit 2
fi

rm -rf "$OUT/work"
mkdir -p "$OUT/work/gen" "$OUT/work/classes" "$OUT/work/stubs" "$OUT/work/assets" "$OUT/work/dex"
W="$OUT/work"

# 1. Manifest as Gradle would merge it: package, version and SDK levels come from build.gradle.
sed -e "s|<manifest xmlns:android=\"http://schemas.android.com/apk/res/android\">|<manifest xmlns:android=\"http://schemas.android.com/apk/res/android\" package=\"$PACKAGE\" android:versionCode=\"1\" android:versionName=\"0.1.0-$FLAVOR-offline\">\n    <uses-sdk android:minSdkVersion=\"23\" android:targetSdkVersion=\"23\" />|" \
    "$HERE/app/src/main/AndroidManifest.xml" > "$W/AndroidManifest.xml"
grep -q "package=\"$PACKAGE\"" "$W/AndroidManifest.xml"

# 2. Assets: main, overlaid by the flavor's own (as Gradle merges them).
cp -R "$HERE/app/src/main/assets/." "$W/assets/"
if [ -d "$HERE/app/src/$FLAVOR/assets" ]; then cp -R "$HERE/app/src/$FLAVOR/assets/." "$W/assets/"; fi
[ -f "$W/assets/bundle/model.tflite" ] || { echo "build_apk.sh: no assets/bundle/model.tflite" >&2; exit 1; }

# 3. Resources -> R.java and the unaligned package; .tflite stored uncompressed (-0 tflite).
aapt package -f -m -J "$W/gen" -M "$W/AndroidManifest.xml" \
    -S "$HERE/app/src/$FLAVOR/res" -S "$HERE/app/src/main/res" --auto-add-overlay \
    -I "$ANDROID_JAR" -A "$W/assets" -0 tflite -F "$W/unaligned.apk"

# 4. Java -> classes. The Interpreter stand-in is compiled apart and only put on the classpath.
javac -nowarn -Xlint:-options -source 8 -target 8 -bootclasspath "$ANDROID_JAR" \
    -d "$W/stubs" $(find "$HERE/offline/stubs" -name '*.java')
javac -Xlint:-options -source 8 -target 8 -bootclasspath "$ANDROID_JAR" -cp "$W/stubs" \
    -d "$W/classes" $(find "$W/gen" "$HERE/core/src/main/java" "$HERE/app/src/main/java" -name '*.java')

# 5. Dex (only the app's classes: no stub, no runtime).
case "$DX" in
    d8) d8 --min-api 23 --lib "$ANDROID_JAR" --output "$W/dex" $(find "$W/classes" -name '*.class') ;;
    *) "$DX" --dex --min-sdk-version=23 --output="$W/dex/classes.dex" "$W/classes" ;;
esac
(cd "$W/dex" && aapt add -f "$W/unaligned.apk" classes.dex >/dev/null)

# 6. Align, sign with a debug key, verify.
zipalign -f -p 4 "$W/unaligned.apk" "$W/aligned.apk"
KEYSTORE="$OUT/debug.keystore"
if [ ! -f "$KEYSTORE" ]; then
    keytool -genkeypair -keystore "$KEYSTORE" -storepass android -keypass android \
        -alias androiddebugkey -keyalg RSA -keysize 2048 -validity 10000 \
        -dname "CN=Android Debug,O=Android,C=US" >/dev/null 2>&1
fi
APK="$OUT/bnnkit-classifier-$FLAVOR-offline.apk"
apksigner sign --ks "$KEYSTORE" --ks-pass pass:android --key-pass pass:android \
    --ks-key-alias androiddebugkey --out "$APK" "$W/aligned.apk"
rm -f "$APK.idsig"

echo "== apksigner verify"
apksigner verify --verbose "$APK"
echo "== zipalign -c"
zipalign -c -p 4 "$APK" && echo "aligned"
echo "== aapt dump badging"
aapt dump badging "$APK"
echo "== model.tflite in the APK"
unzip -v "$APK" | grep 'assets/bundle/model.tflite'
if ! unzip -v "$APK" | grep 'assets/bundle/model.tflite' | grep -q ' Stored '; then
    echo "build_apk.sh: model.tflite is compressed in the APK" >&2
    exit 1
fi
echo "== APK: $APK ($(stat -c %s "$APK") bytes)"
