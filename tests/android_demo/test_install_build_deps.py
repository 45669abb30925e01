"""The Android build-deps installer finds the machine's Debian mirror on any apt layout.

A fresh Debian 12 image has only ``sources.list.d/debian.sources`` (deb822); older images have
``sources.list`` one-line entries. The lookup must work on both, and on neither it must say so
instead of dying inside ``set -o pipefail``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "android_demo" / "tools" / "install-build-deps.sh"

DEB822 = ("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
          "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
          "Suites: bookworm-security\nComponents: main\n")
ONE_LINE = ("deb [arch=amd64] http://one.example/debian bookworm main\n"
            "deb http://one.example/debian-security bookworm-security main\n")


def print_mirror(apt_etc: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", str(SCRIPT), "--print-mirror"],
                          env={"BNNKIT_APT_ETC": str(apt_etc), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("files, expected", [
    ({"sources.list.d/debian.sources": DEB822}, "http://mirror.example/debian"),
    ({"sources.list": ONE_LINE}, "http://one.example/debian"),
    ({"sources.list.d/extra.list": ONE_LINE}, "http://one.example/debian"),
], ids=["deb822-only (fresh Debian 12)", "sources.list only", "a .list in sources.list.d"])
def test_install_build_deps_finds_the_debian_mirror(tmp_path, files, expected):
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = print_mirror(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_install_build_deps_reports_no_mirror_without_failing(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    result = print_mirror(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
