"""The Android app's route to the LCE-kernel delegate: LceDelegate.java, the JNI bridge
(delegate/src/android/jni_bridge.cc) and ``build.sh --arch android-arm64``.

No Android NDK or device here, so each part is run where it can be: the JNI bridge, linked
against the x86 delegate, is called from LceDelegate.java on this JDK (the real signatures);
the android-arm64 build runs with aarch64-linux-gnu-g++ standing in for the NDK's clang++
(sources, flags, link, exported symbols; not Bionic nor the NDK's libc++).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ci_support import require

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "android_demo" / "app" / "src" / "main" / "java" / "org" / "bnnkit" / "demo"
STUBS = REPO / "android_demo" / "offline" / "stubs"
PROBE = """package org.bnnkit.demo;

public final class Probe {
    public static void main(String[] args) {
        LceDelegate delegate = LceDelegate.loadIfPresent();
        if (delegate == null) {
            System.out.println("absent");
            return;
        }
        System.out.println(delegate.getNativeHandle() != 0 ? "handle" : "zero");
        delegate.close();
        System.out.println(delegate.getNativeHandle() == 0 ? "closed" : "open");
    }
}
"""


def _jni_include() -> Path:
    headers = sorted(Path("/usr/lib/jvm").glob("*/include/jni.h"))
    if not headers or shutil.which("javac") is None:
        require("needs a JDK with jni.h and javac (android_demo/tools/install-build-deps.sh)")
    return headers[0].parent


def test_lce_delegate_java_class_creates_and_frees_the_delegate_through_the_jni_bridge(
        tmp_path, lce_delegate):
    include = _jni_include()
    library = tmp_path / "lib" / "libbnnkit_lce_delegate.so"
    library.parent.mkdir()
    subprocess.run(["g++", "-std=c++17", "-shared", "-fPIC", "-o", str(library),
                    str(REPO / "delegate" / "src" / "android" / "jni_bridge.cc"),
                    f"-I{include}", f"-I{include / 'linux'}", str(lce_delegate)],
                   check=True, capture_output=True)
    classes = tmp_path / "classes"
    (tmp_path / "Probe.java").write_text(PROBE)
    sources = [APP / "LceDelegate.java", STUBS / "org/tensorflow/lite/Delegate.java",
               tmp_path / "Probe.java"]
    subprocess.run(["javac", "-d", str(classes), *map(str, sources)], check=True)
    run = ["java", "-cp", str(classes), "org.bnnkit.demo.Probe"]
    found = subprocess.run([run[0], f"-Djava.library.path={library.parent}", *run[1:]],
                           capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["handle", "closed"]
    missing = subprocess.run([run[0], f"-Djava.library.path={tmp_path / 'none'}", *run[1:]],
                             capture_output=True, text=True, check=True)
    assert missing.stdout.split() == ["absent"]


@pytest.mark.slow
def test_android_arm64_build_exports_the_plugin_and_jni_entry_points(tmp_path, lce_sources):
    """build.sh's android-arm64 path, aarch64-linux-gnu-g++ standing in for the NDK."""
    include = _jni_include()
    if shutil.which("aarch64-linux-gnu-g++") is None:
        require("needs aarch64-linux-gnu-g++ (tools/delegate/install-build-deps.sh)")
    bin_dir = tmp_path / "ndk" / "toolchains" / "llvm" / "prebuilt" / "linux-x86_64" / "bin"
    bin_dir.mkdir(parents=True)
    clang = bin_dir / "aarch64-linux-android24-clang++"
    clang.write_text(f'#!/bin/sh\nexec aarch64-linux-gnu-g++ -I{include} -I{include}/linux "$@"\n')
    clang.chmod(0o755)
    out = tmp_path / "libbnnkit_lce_delegate.so"
    subprocess.run(["bash", str(REPO / "delegate" / "build.sh"), "--sources", str(lce_sources),
                    "--arch", "android-arm64", "-o", str(out)], check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "ANDROID_NDK_HOME": str(tmp_path / "ndk")})
    symbols = subprocess.run(["readelf", "--dyn-syms", "-W", str(out)], capture_output=True,
                             text=True, check=True).stdout
    exported = sorted(line.split()[-1] for line in symbols.splitlines()
                      if " GLOBAL " in line and " UND " not in line)
    assert exported == ["Java_org_bnnkit_demo_LceDelegate_nativeCreate",
                        "Java_org_bnnkit_demo_LceDelegate_nativeDestroy",
                        "tflite_plugin_create_delegate", "tflite_plugin_destroy_delegate"]
