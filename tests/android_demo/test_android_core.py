"""The Android app's plain-Java core: compiled with javac, unit-tested with JUnit 4.

The JUnit suite includes the golden-vector tests (Java preprocessing and top-k equal
bnnkit.imaging's to 1e-6) and the flatbuffer/flavor checks against real .tflite files.
Needs a JDK and Debian's junit4 (android_demo/tools/install-build-deps.sh installs both);
without them the suite is skipped, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ci_support import require

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "android_demo" / "core"
DEMO_BUNDLE = ROOT / "android_demo" / "app" / "src" / "main" / "assets" / "bundle"
JUNIT = [Path("/usr/share/java/junit4.jar"), Path("/usr/share/java/hamcrest-core.jar")]


def _require_java():
    missing = [tool for tool in ("javac", "java") if shutil.which(tool) is None]
    missing += [str(jar) for jar in JUNIT if not jar.exists()]
    if missing:
        require(f"Java core tests need {', '.join(missing)}: run "
                "android_demo/tools/install-build-deps.sh (CI does)")


def _compile(tmp_path: Path) -> tuple[Path, Path]:
    main_out, test_out = tmp_path / "main", tmp_path / "test"
    main_sources = sorted(str(p) for p in (CORE / "src" / "main" / "java").rglob("*.java"))
    test_sources = sorted(str(p) for p in (CORE / "src" / "test" / "java").rglob("*.java"))
    subprocess.run(["javac", "-Xlint:all", "-Xlint:-options", "-Werror", "--release", "8",
                    "-d", str(main_out), *main_sources], check=True, capture_output=True,
                   text=True)
    classpath = ":".join([str(main_out), *map(str, JUNIT)])
    subprocess.run(["javac", "--release", "8", "-cp", classpath, "-d", str(test_out),
                    *test_sources], check=True, capture_output=True, text=True)
    return main_out, test_out


def test_core_uses_no_android_classes():
    for source in (CORE / "src" / "main" / "java").rglob("*.java"):
        text = source.read_text()
        assert "import android." not in text and "androidx." not in text, source


def test_java_core_compiles_and_passes_its_junit_suite(tmp_path):
    _require_java()
    try:
        main_out, test_out = _compile(tmp_path)
    except subprocess.CalledProcessError as error:
        pytest.fail(f"javac failed:\n{error.stdout}\n{error.stderr}")
    test_classes = sorted(
        "org.bnnkit.demo.core." + p.stem
        for p in (CORE / "src" / "test" / "java").rglob("*Test.java"))
    assert len(test_classes) >= 4
    classpath = ":".join([str(main_out), str(test_out), str(CORE / "src" / "test" / "resources"),
                          *map(str, JUNIT)])
    result = subprocess.run(
        ["java", f"-Ddemo.bundle={DEMO_BUNDLE}", "-cp", classpath,
         "org.junit.runner.JUnitCore", *test_classes],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "OK (" in result.stdout
