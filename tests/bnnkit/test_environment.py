"""bnnkit makes TensorFlow use Keras 2, or says exactly what to do when it is too late."""

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "bnnkit"
# Deployment subcommands of the CLI may import converters (lazily); nothing else in bnnkit may.
CLI_DEPLOYMENT_COMMANDS = {"convert", "evaluate", "demo", "predict", "export_android", "bench",
                           "report"}


def _run_python(code: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)


def test_import_bnnkit_first_makes_tf_keras_keras2():
    result = _run_python(
        "import bnnkit, tensorflow as tf, tf_keras; import larq;"
        "print(tf.keras.layers.Dense is tf_keras.layers.Dense)"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("True")


def test_import_after_tensorflow_with_keras3_raises_actionable_error():
    result = _run_python("import tensorflow; import bnnkit")
    assert result.returncode != 0
    assert "EnvironmentMisconfiguredError" in result.stderr
    assert "TF_USE_LEGACY_KERAS=1" in result.stderr
    assert "Import bnnkit before tensorflow" in result.stderr


def test_import_after_tensorflow_with_legacy_flag_is_accepted():
    result = _run_python("import tensorflow; import bnnkit; print('ok')", TF_USE_LEGACY_KERAS="1")
    assert result.returncode == 0, result.stderr[-2000:]


def test_training_side_never_imports_converters():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "cli" and path.stem in CLI_DEPLOYMENT_COMMANDS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}: {name}" for name in names
                          if name == "converters" or name.startswith("converters.")]
    assert offenders == []
