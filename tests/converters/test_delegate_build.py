"""Building the LCE-kernel delegate: the .so, its sources, and the errors when inputs lack."""

from __future__ import annotations

import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from bnnkit.errors import BuildRequirementMissingError, InvalidInputError, NativeBuildError
from converters import delegate as delegate_build

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_delegate_builds_self_contained_and_exports_only_the_plugin_entry_points(lce_delegate):
    exported = subprocess.run(["nm", "-D", "--defined-only", str(lce_delegate)],
                              capture_output=True, text=True, check=True).stdout.split()
    assert sorted(name for name in exported if not name[0].isdigit() and len(name) > 1) == [
        "tflite_plugin_create_delegate", "tflite_plugin_destroy_delegate"]
    needed = subprocess.run(["readelf", "-d", str(lce_delegate)], capture_output=True,
                            text=True, check=True).stdout
    assert "libstdc++" not in needed and "libgcc_s" not in needed
    info = json.loads(lce_delegate.with_name(lce_delegate.name + ".json").read_text())
    assert info["size_bytes"] == lce_delegate.stat().st_size < 1_000_000
    assert info["pinned"]["larq-compute-engine"].endswith(
        delegate_build.PINNED_SOURCES[0].commit)


def test_missing_compiler_is_named_with_the_package_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("CXX", "no-such-g++")
    with pytest.raises(BuildRequirementMissingError, match=r"no-such-g\+\+.*apt-get install g\+\+"):
        delegate_build.build_delegate("native", sources=tmp_path, output=tmp_path / "x.so")
    monkeypatch.delenv("CXX")
    monkeypatch.setenv("PATH", str(tmp_path))  # no aarch64-linux-gnu-g++ there
    with pytest.raises(BuildRequirementMissingError, match="g\\+\\+-aarch64-linux-gnu"):
        delegate_build.build_delegate("aarch64", sources=tmp_path, output=tmp_path / "x.so")
    assert not (tmp_path / "x.so").exists()


def test_missing_or_incomplete_sources_name_what_lacks(tmp_path, monkeypatch):
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    with pytest.raises(BuildRequirementMissingError, match="does not exist"):
        delegate_build.build_delegate(sources=tmp_path / "nowhere", output=tmp_path / "x.so")
    (tmp_path / "larq-compute-engine").mkdir()
    with pytest.raises(BuildRequirementMissingError,
                       match=r"lacks larq-compute-engine/larq_compute_engine/tflite/kernels/"
                             r"bconv2d\.cc \(github\.com/larq/compute-engine at e6860fcfda03\)"):
        delegate_build.build_delegate(sources=tmp_path, output=tmp_path / "x.so")
    # no sources given, none in the environment, downloads off: says how to give them
    monkeypatch.delenv("BNNKIT_LCE_SOURCES", raising=False)
    monkeypatch.setenv("BNNKIT_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(BuildRequirementMissingError, match="--sources DIR"):
        delegate_build.build_delegate(output=tmp_path / "x.so")
    with pytest.raises(InvalidInputError, match="unknown delegate arch 'riscv'"):
        delegate_build.build_delegate("riscv")
    assert not (tmp_path / "x.so").exists()


def test_compiler_errors_are_reported_with_their_last_lines(lce_sources, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "g++"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'fatal error: the compiler said no' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CXX", str(fake))
    with pytest.raises(NativeBuildError, match="the compiler said no"):
        delegate_build.build_delegate(sources=lce_sources, output=tmp_path / "x.so", jobs=1)
    assert not (tmp_path / "x.so").exists()


def test_default_location_is_the_env_path_or_the_per_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("BNNKIT_LCE_DELEGATE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cpu = os.uname().machine
    assert delegate_build.default_delegate_path() == (
        tmp_path / "bnnkit" / "delegate" / cpu / "libbnnkit_lce_delegate.so")
    assert delegate_build.default_delegate_path("aarch64").parent.name == "aarch64"
    assert delegate_build.find_delegate() is None
    built = delegate_build.default_delegate_path()
    built.parent.mkdir(parents=True)
    built.write_bytes(b"\x7fELF")
    assert delegate_build.find_delegate() == built
    monkeypatch.setenv("BNNKIT_LCE_DELEGATE", str(tmp_path / "elsewhere.so"))
    assert delegate_build.find_delegate() is None
    assert delegate_build.default_delegate_path() == tmp_path / "elsewhere.so"


# --- download of the pinned sources (a loopback server stands in for github.com) ----------

def _github_archive(sources: Path, pin) -> bytes:
    """A tarball laid out like GitHub's /archive/<commit>.tar.gz, made from the local copy."""
    top = f"{pin.repository.split('/')[1]}-{pin.commit}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for keep in pin.keep:
            if (sources / pin.folder / keep).exists():
                archive.add(sources / pin.folder / keep, arcname=f"{top}/{keep}")
        archive.add(sources / pin.folder / pin.probe, arcname=f"{top}/unrelated/{pin.probe}")
    return buffer.getvalue()


class _Archives(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    requests: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.requests.append(self.path)
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@pytest.fixture
def github_mirror(lce_sources, monkeypatch, tmp_path):
    _Archives.files = {f"/{pin.repository}/archive/{pin.commit}.tar.gz":
                       _github_archive(lce_sources, pin) for pin in delegate_build.PINNED_SOURCES}
    _Archives.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Archives)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("BNNKIT_LCE_SOURCES_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.delenv("BNNKIT_OFFLINE", raising=False)
    monkeypatch.delenv("BNNKIT_LCE_SOURCES", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield _Archives
    server.shutdown()


def test_download_fetches_each_pinned_commit_and_keeps_only_what_the_build_uses(
        github_mirror, lce_sources):
    folder = delegate_build.resolve_sources()
    assert sorted(github_mirror.requests) == sorted(github_mirror.files)
    for pin in delegate_build.PINNED_SOURCES:
        assert not (folder / pin.folder / "unrelated").exists()
        local = lce_sources / pin.folder
        for path in (folder / pin.folder).rglob("*"):
            if path.is_file():
                assert path.read_bytes() == (local / path.relative_to(folder / pin.folder)
                                             ).read_bytes()
    assert (folder / "larq-compute-engine" / "LICENSE").is_file()
    github_mirror.requests.clear()
    assert delegate_build.resolve_sources() == folder  # cached: no second download
    assert github_mirror.requests == []


def test_failed_download_names_the_url_and_leaves_no_partial_sources(github_mirror):
    pin = delegate_build.PINNED_SOURCES[2]
    del github_mirror.files[f"/{pin.repository}/archive/{pin.commit}.tar.gz"]
    with pytest.raises(BuildRequirementMissingError,
                       match=f"{pin.repository}/archive/{pin.commit}.tar.gz.*--sources DIR"):
        delegate_build.resolve_sources()
    assert not list((delegate_build.cache_dir() / "lce-sources").iterdir())


def test_archive_paths_leaving_the_folder_are_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("top/include/../../../evil.h")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"evil"))
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r:gz") as archive, \
            pytest.raises(NativeBuildError, match="unsafe path"):
        delegate_build._extract(archive, delegate_build.PINNED_SOURCES[2], tmp_path / "out")
    assert not (tmp_path.parent / "evil.h").exists()


# --- the sources of the delegate ship inside the wheel ------------------------------------

def test_wheel_carries_the_delegate_sources_and_the_installed_copy_finds_them(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, project / name)
    for name in ("bnnkit", "converters", "delegate"):
        shutil.copytree(REPO_ROOT / name, project / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(project), "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist")], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("bnnkit-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp_path / "site"),
                    str(wheel)], check=True, capture_output=True)
    found = subprocess.run(
        [sys.executable, "-c", "from converters.delegate import native_sources_dir as d; "
         "print(d())"], env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    installed = Path(found)
    assert installed == tmp_path / "site" / "converters" / "_delegate_src"
    assert not installed.is_symlink()
    checkout = REPO_ROOT / "delegate"
    shipped = sorted(p.relative_to(checkout) for p in checkout.rglob("*") if p.is_file())
    assert shipped and all((installed / p).read_bytes() == (checkout / p).read_bytes()
                           for p in shipped)


def test_delegate_readme_quotes_the_committed_build_measurements():
    import re

    measured = json.loads((REPO_ROOT / "results" / "delegate_build.json").read_text())
    readme = (REPO_ROOT / "delegate" / "README.md").read_text()
    rows = {"native": "native (x86_64)", "aarch64": "aarch64 (cross)"}
    for build in measured["builds"]:
        row = re.search(rf"^\| {re.escape(rows[build['arch']])} \|(.*)$", readme, re.M)
        assert row, f"no README row for the {build['arch']} build"
        cells = [cell.strip() for cell in row.group(1).split("|")]
        assert cells[1:5] == [f"{build['wall_s']} s", f"{build['compiler_cpu_s']} s",
                              f"{build['size_bytes'] / 1024:.0f} KB", build["glibc_needed"]]
        assert build["exports"] == ["tflite_plugin_create_delegate",
                                    "tflite_plugin_destroy_delegate"]
    assert measured["machine"]["label"] in readme.replace("\n", " ")


def test_delegate_readme_quotes_the_committed_agreement_measurement():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "measure_agreement", REPO_ROOT / "tools" / "delegate" / "measure_agreement.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    result = json.loads((REPO_ROOT / "results" / "delegate_agreement.json").read_text())
    readme = (REPO_ROOT / "delegate" / "README.md").read_text()
    quoted = readme.split("<!-- agreement:begin -->\n", 1)[1].split("<!-- agreement:end -->")[0]
    assert quoted == tool.markdown(result)
    assert result["images"] == 2000
    for row in result["models"].values():
        assert row["builtin"]["top1_agreement"] >= 0.999 and row["builtin"]["max_abs_diff"] <= 1e-5
