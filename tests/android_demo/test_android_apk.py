"""The offline APK build (android_demo/tools/build_apk.sh): signed, aligned, model stored.

Needs Debian's aapt, zipalign, apksigner, dx and android.jar (API 23);
android_demo/tools/install-build-deps.sh installs them (CI does). Takes 15-25 s on a shared
2-core machine, hence marked slow: run with ``-m slow``.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from ci_support import require

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "android_demo" / "tools" / "build_apk.sh"
pytestmark = pytest.mark.slow

ANDROID_JAR = Path("/usr/lib/android-sdk/platforms/android-23/android.jar")


@pytest.fixture(scope="module")
def built_apk(tmp_path_factory):
    tools = ["aapt", "zipalign", "apksigner", "javac", "keytool", "unzip"]
    missing = [t for t in tools if shutil.which(t) is None]
    if not any(shutil.which(t) for t in ("d8", "dx", "dalvik-exchange")):
        missing.append("d8/dx")
    if not ANDROID_JAR.exists():
        missing.append(str(ANDROID_JAR))
    if missing:
        require(f"offline APK build needs {', '.join(missing)}: run "
                "android_demo/tools/install-build-deps.sh (CI does)")
    out = tmp_path_factory.mktemp("apk")
    result = subprocess.run(["bash", str(SCRIPT), str(out)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    apks = list(out.glob("*.apk"))
    assert len(apks) == 1
    return apks[0], result.stdout


def test_apk_is_signed_and_verified(built_apk):
    apk, log = built_apk
    # build_apk.sh ran `apksigner verify --verbose` and stops on failure
    assert "Verified using v2 scheme (APK Signature Scheme v2): true" in log
    assert apk.stat().st_size > 100_000


def test_apk_is_aligned(built_apk):
    apk, _ = built_apk
    assert subprocess.run(["zipalign", "-c", "-p", "4", str(apk)]).returncode == 0


def test_badging_shows_package_launcher_activity_and_min_sdk(built_apk):
    apk, _ = built_apk
    badging = subprocess.run(["aapt", "dump", "badging", str(apk)], capture_output=True,
                             text=True, check=True).stdout
    assert "package: name='org.bnnkit.demo'" in badging
    assert "launchable-activity: name='org.bnnkit.demo.MainActivity'" in badging
    assert "sdkVersion:'23'" in badging


def test_model_is_stored_uncompressed_with_its_bundle(built_apk):
    apk, _ = built_apk
    with zipfile.ZipFile(apk) as archive:
        names = set(archive.namelist())
        assert {"assets/bundle/model.tflite", "assets/bundle/labels.txt",
                "assets/bundle/metadata.json", "classes.dex"} <= names
        model = archive.getinfo("assets/bundle/model.tflite")
        assert model.compress_type == zipfile.ZIP_STORED
        shipped = ROOT / "android_demo" / "app" / "src" / "main" / "assets" / "bundle"
        assert archive.read("assets/bundle/model.tflite") == \
            (shipped / "model.tflite").read_bytes()


def test_dex_holds_the_app_and_core_but_not_the_compile_only_interpreter_stub(built_apk):
    apk, _ = built_apk
    with zipfile.ZipFile(apk) as archive:
        dex = archive.read("classes.dex")
    assert dex[:4] == b"dex\n"
    assert b"Lorg/bnnkit/demo/MainActivity;" in dex
    assert b"Lorg/bnnkit/demo/core/Preprocessor;" in dex
    # the stub throws "compile-only stub"; it must not be in the APK
    assert b"compile-only stub" not in dex
