"""Tiny models for the converters tests (shared by tests/converters/test_*.py)."""

from __future__ import annotations

import functools

import numpy as np

TINY_WIDTH = 0.25  # LeNet widths 8 / 16 / 128


def tiny_model(method: str, seed: int = 0):
    import tensorflow as tf

    from bnnkit.models import build_model

    tf.keras.utils.set_random_seed(seed)
    return build_model("lenet", method, input_shape=(28, 28, 1), num_classes=10,
                       width=TINY_WIDTH)


def trained_tiny_model(method: str, mnist_small, epochs: int = 1):
    """A tiny model fitted for one epoch on 2,000 real MNIST images (a few seconds)."""
    import tensorflow as tf

    model = tiny_model(method)
    model.compile(tf.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(mnist_small.normalize(mnist_small.x_train), mnist_small.y_train,
              batch_size=64, epochs=epochs, verbose=0)
    return model


@functools.lru_cache(maxsize=None)
def tiny_lce_flatbuffer() -> bytes:
    from converters.targets import convert_lce

    return convert_lce(tiny_model("bnn"))


def buffer_data_ranges(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the constant buffers' contents (the weights) in a .tflite."""
    from converters.flatbuffer import read_flatbuffer

    return [(start, start + length) for start, length in read_flatbuffer(data).buffer_spans
            if length]


def flip_bits(data: bytes, seed: int, count: int = 4, *, avoid=(), within=None) -> bytes:
    """``data`` with ``count`` random bits flipped, inside the byte ranges ``within``
    (default: anywhere) and outside those in ``avoid``."""
    rng = np.random.default_rng(seed)
    allowed = np.ones(len(data), bool)
    if within is not None:
        allowed[:] = False
        for start, end in within:
            allowed[start:end] = True
    for start, end in avoid:
        allowed[start:end] = False
    positions = np.flatnonzero(allowed)
    flipped = bytearray(data)
    for position in rng.choice(positions, size=count, replace=False):
        flipped[position] ^= 1 << int(rng.integers(8))
    return bytes(flipped)


def litert_outputs(delegate, data: bytes, x: np.ndarray, options=None,
                   threads: int = 1) -> np.ndarray:
    """ai-edge-litert + the delegate, one image per invoke (as LCE's runner does)."""
    from ai_edge_litert.interpreter import Interpreter, load_delegate

    interpreter = Interpreter(model_content=data, num_threads=threads,
                              experimental_delegates=[load_delegate(str(delegate), options)])
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]
    outputs = []
    for image in x:
        interpreter.set_tensor(source, image[None])
        interpreter.invoke()
        outputs.append(np.array(interpreter.get_tensor(target)))
    return np.concatenate(outputs)


@functools.lru_cache(maxsize=None)
def lce_only_flatbuffer(ending: str) -> bytes:
    """A model made only of Lce ops (tools/qemu/make_test_bundle.py; the qemu check runs it)."""
    from conftest import make_test_bundle

    return make_test_bundle.lce_only_flatbuffer(ending)
