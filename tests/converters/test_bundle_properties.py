"""Property (hypothesis): a bundle written with any class names reads back with the same names,
exactly when every name is one non-empty line; otherwise writing refuses them with a clear
error and writes nothing. Never a bundle that cannot be read back."""

from __future__ import annotations

import shutil

import pytest

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bnnkit.errors import InvalidInputError  # noqa: E402

CLASSES = 3


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory):
    import bnnkit  # noqa: F401
    import tensorflow as tf

    inputs = tf.keras.Input((4, 4, 1))
    outputs = tf.keras.layers.Dense(CLASSES, activation="softmax")(
        tf.keras.layers.Flatten()(inputs))
    path = tmp_path_factory.mktemp("tiny") / "tiny.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(
        tf.keras.Model(inputs, outputs)).convert())
    return path


#: Characters ``str.splitlines`` (the reader) breaks lines on; write_bundle refuses them all.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

names = st.lists(st.text(st.characters() | st.sampled_from(LINE_BREAKS), max_size=6),
                 min_size=CLASSES, max_size=CLASSES)


def usable(name: str) -> bool:
    """The rule, stated independently of the writer: not empty, no line-breaking character."""
    return name != "" and not any(ch in LINE_BREAKS for ch in name)


def _write_then_read(tiny_tflite, out, classes):
    from converters.bundle import read_bundle, write_bundle

    shutil.rmtree(out, ignore_errors=True)
    if all(usable(name) for name in classes):
        write_bundle(out, tiny_tflite, classes=classes)
        assert read_bundle(out).classes == classes
    else:
        with pytest.raises(InvalidInputError, match="class names must be non-empty"):
            write_bundle(out, tiny_tflite, classes=classes)
        assert not out.exists()


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(classes=names)
@example(classes=["cat", "dog", "bird"])
@example(classes=[" a", "b ", "\u00e9t\u00e9"])
@example(classes=["", "a", "b"])
@example(classes=["a\nb", "c", "d"])
def test_bundle_class_names_round_trip_or_are_refused(tiny_tflite, tmp_path, classes):
    _write_then_read(tiny_tflite, tmp_path / "bundle", classes)


@pytest.mark.parametrize("classes", [
    ["a\u2028b", "c", "d"],   # Unicode line separator
    ["a\x0cb", "c", "d"],     # form feed
    ["a", "b", "c\x85"],      # NEL: silently renamed to "c"
    ["a", "b", ""],           # empty last name
], ids=["u2028", "formfeed", "nel", "empty-last"])
def test_bundle_names_the_reader_would_split_are_refused(tiny_tflite, tmp_path, classes):
    assert not all(usable(name) for name in classes)
    _write_then_read(tiny_tflite, tmp_path / "bundle", classes)
