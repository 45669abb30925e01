"""bnnkit makes TensorFlow use Keras 2, or says exactly what to do when it is too late."""

import os
import subprocess
import sys


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
