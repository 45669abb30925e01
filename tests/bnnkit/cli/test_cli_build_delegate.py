"""``bnnkit build-delegate``: a thin command over converters.delegate.build_delegate."""

from __future__ import annotations

import json
import shutil

import pytest

from bnnkit.cli.main import main


def test_build_delegate_passes_its_arguments_and_prints_the_result(monkeypatch, tmp_path, capsys):
    import converters.delegate

    calls = []

    def fake_build(arch, sources=None, output=None):
        calls.append((arch, sources, output))
        path = tmp_path / "out.so"
        path.write_bytes(b"x" * 2048)
        path.with_name("out.so.json").write_text(json.dumps(
            {"size_bytes": 2048, "target_cpu": "aarch64", "build_seconds": 1.25}))
        return path

    monkeypatch.setattr(converters.delegate, "build_delegate", fake_build)
    assert main(["build-delegate", "--arch", "aarch64", "--sources", "src", "-o", "o.so"]) == 0
    assert calls == [("aarch64", "src", "o.so")]
    assert capsys.readouterr().out == f"built {tmp_path / 'out.so'} (2 KB, aarch64, 1.2 s)\n"
    assert main(["build-delegate", "--json"]) == 0
    assert calls[-1] == ("native", None, None)
    assert json.loads(capsys.readouterr().out)["target_cpu"] == "aarch64"


def test_build_delegate_without_sources_is_one_line_and_exit_code_9(tmp_path, capsys):
    if shutil.which("g++") is None or shutil.which("patch") is None:
        pytest.skip("g++ or patch is not installed (checked before the sources)")
    assert main(["build-delegate", "--sources", str(tmp_path / "none"),
                 "-o", str(tmp_path / "x.so")]) == 9
    err = capsys.readouterr().err
    assert err.startswith("bnnkit: error: ") and err.count("\n") == 1
    assert "does not exist" in err and not (tmp_path / "x.so").exists()
