"""Build and find bnnkit's LCE-kernel delegate (``delegate/`` in the repository).

The delegate is an external TFLite delegate built with g++ from Larq Compute Engine's own
kernel sources. Loaded into the stock ``ai-edge-litert`` runtime, it runs ``LceQuantize``,
``LceBconv2d``, ``LceDequantize`` and ``LceBMaxPool2d``, so ``lce`` models run where LCE's
interpreter has no wheel (Linux aarch64: Raspberry Pi).

    from converters.delegate import build_delegate, find_delegate
    build_delegate()                       # native build into the per-user cache
    build_delegate("aarch64", output="libbnnkit_lce_delegate.so")   # cross-build for a Pi
    find_delegate()                        # Path of the native build, or None

Sources, in this order: ``sources=`` (``--sources DIR``), ``$BNNKIT_LCE_SOURCES``, the
per-user cache of an earlier download, then a download of the pinned commits
(:data:`PINNED_SOURCES`) from their public repositories (``$BNNKIT_LCE_SOURCES_URL``
replaces ``https://github.com`` for a mirror; ``$BNNKIT_OFFLINE=1`` turns the download
off). The folder is laid out like ``../shared/third_party``.

Where a build goes without ``output``, and where :func:`find_delegate` looks:
``$BNNKIT_LCE_DELEGATE`` when set, else
``~/.cache/bnnkit/delegate/<cpu>/libbnnkit_lce_delegate.so`` (``$XDG_CACHE_HOME`` honoured),
with ``<cpu>`` the machine's (``x86_64``, ``aarch64``) for ``native`` and ``aarch64`` for
the cross build.

The glue source, the patch and ``build.sh`` ship inside the package
(``converters/_delegate_src``, a link to ``delegate/`` in a checkout), so an installed
wheel builds the same delegate.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bnnkit.errors import BuildRequirementMissingError, InvalidInputError, NativeBuildError

__all__ = [
    "ARCHES",
    "COMPILERS",
    "COMPILER_PACKAGES",
    "DELEGATE_FILE",
    "GITHUB",
    "PINNED_SOURCES",
    "PinnedSource",
    "build_delegate",
    "cache_dir",
    "check_sources",
    "default_delegate_path",
    "download_sources",
    "find_delegate",
    "native_sources_dir",
    "resolve_sources",
]


DELEGATE_FILE = "libbnnkit_lce_delegate.so"
ARCHES = ("native", "aarch64")
COMPILERS = {"native": "g++", "aarch64": "aarch64-linux-gnu-g++"}
COMPILER_PACKAGES = {"native": "g++", "aarch64": "g++-aarch64-linux-gnu"}
GITHUB = "https://github.com"


@dataclass(frozen=True)
class PinnedSource:
    """One repository of the delegate's sources, at the commit the build is tested with."""

    folder: str  # its folder in the sources folder
    repository: str  # owner/name on GitHub
    commit: str
    keep: tuple  # top-level paths of the repository that the build uses
    probe: str  # a file the build needs, relative to ``folder``


# Checked here against the public repositories' history: each commit exists and the files of
# ``../shared/third_party`` are identical to it (gemmlowp: fixedpoint/ and internal/, the
# only parts the build includes, equal those of the copy in the tensorflow 2.21.0 wheel).
PINNED_SOURCES = (
    PinnedSource(
        "larq-compute-engine",
        "larq/compute-engine",
        "e6860fcfda03a21eef157a181cc2351cef7a22bc",
        ("larq_compute_engine", "LICENSE"),
        "larq_compute_engine/tflite/kernels/bconv2d.cc",
    ),
    PinnedSource(
        "litert",
        "google-ai-edge/LiteRT",
        "f67457790c9c2ab67347d6fe53270e8d3df20868",
        ("tflite", "LICENSE"),
        "tflite/core/c/common.cc",
    ),
    PinnedSource(
        "flatbuffers",
        "google/flatbuffers",
        "187240970746d00bbd26b0f5873ed54d2477f9f3",
        ("include", "LICENSE"),
        "include/flatbuffers/flexbuffers.h",
    ),
    PinnedSource(
        "ruy",
        "google/ruy",
        "2af88863614a8298689cc52b1a47b3fcad7be835",
        ("ruy", "LICENSE"),
        "ruy/profiler/instrumentation.h",
    ),
    PinnedSource(
        "gemmlowp",
        "google/gemmlowp",
        "16e8662c34917be0065110bfcd9cc27d30f52fdf",
        ("fixedpoint", "internal", "LICENSE"),
        "fixedpoint/fixedpoint.h",
    ),
)


def native_sources_dir() -> Path:
    """The folder with ``build.sh``, ``src/`` and ``patches/`` (package data or checkout)."""
    return Path(__file__).resolve().parent / "_delegate_src"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bnnkit"


def _target_cpu(arch: str) -> str:
    return platform.machine() if arch == "native" else arch


def default_delegate_path(arch: str = "native") -> Path:
    """Where a build without ``output`` goes and :func:`find_delegate` looks."""
    _check_arch(arch)
    if arch == "native" and os.environ.get("BNNKIT_LCE_DELEGATE"):
        return Path(os.environ["BNNKIT_LCE_DELEGATE"]).expanduser()
    return cache_dir() / "delegate" / _target_cpu(arch) / DELEGATE_FILE


def find_delegate(arch: str | None = None) -> Path | None:
    """The built delegate for ``arch`` (default: this machine's), or None when absent."""
    path = default_delegate_path(arch or "native")
    return path if path.is_file() else None


def _check_arch(arch: str) -> None:
    if arch not in ARCHES:
        raise InvalidInputError(
            f"unknown delegate arch {arch!r}; choose one of: {', '.join(ARCHES)}"
        )


def check_sources(folder: Path, origin: str) -> Path:
    """``folder`` if it holds every pinned source the build needs; raise naming what lacks."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise BuildRequirementMissingError(
            f"LCE sources folder {folder} ({origin}) does not exist; give a folder laid out "
            "like ../shared/third_party with --sources DIR, or leave it out to download "
            "the pinned sources"
        )
    for pin in PINNED_SOURCES:
        if not (folder / pin.folder / pin.probe).is_file():
            raise BuildRequirementMissingError(
                f"LCE sources folder {folder} ({origin}) lacks {pin.folder}/{pin.probe} "
                f"(github.com/{pin.repository} at {pin.commit[:12]})"
            )
    return folder.resolve()


def _pins_digest() -> str:
    text = "\n".join(f"{p.repository}@{p.commit}:{','.join(p.keep)}" for p in PINNED_SOURCES)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _extract(archive: tarfile.TarFile, pin: PinnedSource, dest: Path) -> None:
    """Regular files under ``pin.keep`` (archive's top folder stripped) into ``dest``."""
    for member in archive:
        parts = PurePosixPath(member.name).parts[1:]
        if not member.isfile() or not parts or parts[0] not in pin.keep:
            continue
        if any(part in ("..", "") for part in parts) or PurePosixPath(member.name).is_absolute():
            raise NativeBuildError(f"unsafe path {member.name!r} in the {pin.repository} archive")
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = archive.extractfile(member)
        if source is None:
            continue
        with source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)


def download_sources(dest: Path | None = None) -> Path:
    """Download the pinned commits' archives and keep what the build needs in ``dest``.

    # Arguments
        dest: target folder (default: ``~/.cache/bnnkit/lce-sources/<pins digest>``; reused
            when complete).

    # Returns
        The sources folder, laid out like ``../shared/third_party``.
    """
    dest = Path(dest) if dest else cache_dir() / "lce-sources" / _pins_digest()
    if (dest / ".complete").is_file():
        return dest
    if os.environ.get("BNNKIT_OFFLINE", "") not in ("", "0"):
        raise BuildRequirementMissingError(
            "no LCE sources given, and downloading them is off ($BNNKIT_OFFLINE is set): "
            "pass --sources DIR or set $BNNKIT_LCE_SOURCES"
        )
    base = os.environ.get("BNNKIT_LCE_SOURCES_URL", GITHUB).rstrip("/")
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=_mkdir(dest.parent)))
    try:
        for pin in PINNED_SOURCES:
            url = f"{base}/{pin.repository}/archive/{pin.commit}.tar.gz"
            try:
                with (
                    urllib.request.urlopen(url, timeout=120) as response,
                    tempfile.TemporaryFile() as spool,
                ):
                    shutil.copyfileobj(response, spool)
                    spool.seek(0)
                    with tarfile.open(fileobj=spool, mode="r:gz") as archive:
                        _extract(archive, pin, partial / pin.folder)
            except (urllib.error.URLError, OSError, tarfile.TarError) as error:
                raise BuildRequirementMissingError(
                    f"could not download the LCE sources from {url} ({error}); pass "
                    "--sources DIR with a copy of the pinned sources"
                ) from None
        check_sources(partial, f"downloaded from {base}")
        (partial / ".complete").write_text(
            json.dumps(
                {p.folder: f"{base}/{p.repository} {p.commit}" for p in PINNED_SOURCES}, indent=1
            )
        )
        shutil.rmtree(dest, ignore_errors=True)
        partial.rename(dest)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return dest


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_sources(sources: str | os.PathLike | None = None) -> Path:
    """The sources folder: ``sources``, ``$BNNKIT_LCE_SOURCES``, else a (cached) download."""
    if sources is not None:
        return check_sources(Path(sources), "given")
    if os.environ.get("BNNKIT_LCE_SOURCES"):
        return check_sources(Path(os.environ["BNNKIT_LCE_SOURCES"]), "$BNNKIT_LCE_SOURCES")
    return download_sources()


def _check_tools(arch: str) -> str:
    compiler = os.environ.get("CXX") or COMPILERS[arch]
    if shutil.which(compiler) is None:
        origin = " ($CXX)" if os.environ.get("CXX") else ""
        raise BuildRequirementMissingError(
            f"the C++ compiler {compiler}{origin} is not installed; building the {arch} "
            f"delegate needs it (Debian/Ubuntu/Raspberry Pi OS: sudo apt-get install "
            f"{COMPILER_PACKAGES[arch]})"
        )
    for tool, package in (("bash", "bash"), ("patch", "patch")):
        if shutil.which(tool) is None:
            raise BuildRequirementMissingError(
                f"the '{tool}' program is not installed; building the delegate needs it "
                f"(sudo apt-get install {package})"
            )
    return compiler


def build_delegate(
    arch: str = "native",
    sources: str | os.PathLike | None = None,
    output: str | os.PathLike | None = None,
    *,
    jobs: int | None = None,
) -> Path:
    """Compile the delegate with g++ and return the path of the ``.so``.

    # Arguments
        arch: ``native`` (this machine; x86_64 gets ``-mpopcnt``) or ``aarch64``
            (cross-compiled with ``aarch64-linux-gnu-g++ -march=armv8-a``).
        sources: folder of the pinned sources (see the module docstring for the fallbacks).
        output: the ``.so`` to write (default: :func:`default_delegate_path`).
        jobs: parallel compiler processes (default: the CPU count).

    # Raises
        BuildRequirementMissingError: no compiler, ``patch`` or sources.
        NativeBuildError: the compiler or linker failed (its last lines are in the message).
    """
    _check_arch(arch)
    compiler = _check_tools(arch)
    folder = resolve_sources(sources)
    output = Path(output).expanduser() if output else default_delegate_path(arch)
    script = native_sources_dir() / "build.sh"
    command = [
        "bash",
        str(script),
        "--sources",
        str(folder),
        "--arch",
        arch,
        "-o",
        str(output),
        "--jobs",
        str(jobs or os.cpu_count() or 1),
    ]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not output.is_file():
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise NativeBuildError(f"building the {arch} delegate failed:\n{tail}")
    _write_build_info(output, arch, compiler, folder, time.perf_counter() - start)
    return output


def _write_build_info(output: Path, arch: str, compiler: str, folder: Path, seconds: float) -> None:
    version = subprocess.run(
        [compiler, "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[:1]
    info = {
        "arch": arch,
        "target_cpu": _target_cpu(arch),
        "compiler": version[0] if version else compiler,
        "sources": str(folder),
        "build_seconds": round(seconds, 1),
        "size_bytes": output.stat().st_size,
        "pinned": {p.folder: f"{p.repository}@{p.commit}" for p in PINNED_SOURCES},
    }
    output.with_name(output.name + ".json").write_text(json.dumps(info, indent=1) + "\n")
