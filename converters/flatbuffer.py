"""Read a ``.tflite`` flatbuffer with the TFLite schema reader (the ``tflite`` package).

    from converters.flatbuffer import read_flatbuffer
    info = read_flatbuffer(open("model.tflite", "rb").read())
    info.op_histogram        # {"CONV_2D": 1, "LceBconv2d": 2, "LceQuantize": 2, ...}
    info.custom_ops          # ["LceBconv2d", "LceQuantize"]
    info.metadata            # {"min_runtime_version": 37, ...}: metadata name -> buffer index
    info.buffer_data(data, 37)   # that buffer's bytes

The histogram counts *operators* (the nodes of the graph), not operator codes: a model's
``operator_codes`` table lists ``LceBconv2d`` once however many operators use it.

Every table the reader touches is bounds-checked first (its position and its vtable), because
the generated Python reader follows offsets blindly: a corrupt signed vtable offset would
otherwise read from the end of the buffer instead of failing. Structural validation of a
whole model (shapes against buffer sizes, indices, ...) is :mod:`converters.guard`'s job; this
module only reads.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tflite

__all__ = [
    "BUILTIN_NAMES",
    "FILE_IDENTIFIER",
    "LCE_CUSTOM_OPS",
    "SCHEMA_VERSION",
    "TENSOR_TYPE_ITEMSIZE",
    "TENSOR_TYPE_NAMES",
    "FlatbufferError",
    "FlatbufferInfo",
    "OperatorInfo",
    "TensorInfo",
    "op_histogram",
    "operator_name",
    "read_flatbuffer",
]


FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3

BUILTIN_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
TENSOR_TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
# Bytes per element of the tensor types whose constant buffers have a fixed size per element.
TENSOR_TYPE_ITEMSIZE = {
    "FLOAT32": 4,
    "FLOAT16": 2,
    "INT32": 4,
    "UINT8": 1,
    "INT64": 8,
    "BOOL": 1,
    "INT16": 2,
    "COMPLEX64": 8,
    "INT8": 1,
    "FLOAT64": 8,
    "COMPLEX128": 16,
    "UINT64": 8,
    "UINT32": 4,
    "UINT16": 2,
    "BFLOAT16": 2,
}
LCE_CUSTOM_OPS = ("LceQuantize", "LceDequantize", "LceBconv2d", "LceBMaxPool2d")


class FlatbufferError(ValueError):
    """The bytes cannot be read as a TFLite model (internal; the guard turns it into
    :class:`bnnkit.errors.InvalidModelFileError` naming the file)."""


@dataclass
class TensorInfo:
    name: str
    type: str
    shape: list
    buffer: int
    buffer_bytes: int
    quantized: bool
    quantization: tuple | None = None  # (number of scales, number of zero points, axis)


@dataclass
class OperatorInfo:
    op: str
    opcode_index: int
    inputs: list
    outputs: list


@dataclass
class FlatbufferInfo:
    """What a ``.tflite`` holds, read through the schema."""

    size_bytes: int
    version: int
    operator_codes: list
    operators: list = field(default_factory=list)
    tensors: list = field(default_factory=list)
    buffer_sizes: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    num_subgraphs: int = 1
    # (start, length) of each buffer's bytes in the file ((0, 0) for an empty buffer)
    buffer_spans: list = field(default_factory=list)
    # the model's ``metadata`` table: entry name -> index of the buffer holding its value
    metadata: dict = field(default_factory=dict)

    def buffer_data(self, data: bytes, index: int) -> bytes:
        """The bytes of buffer ``index`` of the model ``data`` this info was read from."""
        start, length = self.buffer_spans[index]
        return bytes(data[start : start + length])

    @property
    def op_histogram(self) -> dict:
        """Operator name -> number of operators using it (all subgraphs), sorted by name."""
        counts: dict = {}
        for op in self.operators:
            counts[op.op] = counts.get(op.op, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def custom_ops(self) -> list:
        """Names of the custom operators the graph uses (each once)."""
        return sorted({op.op for op in self.operators if op.op not in BUILTIN_NAMES.values()})

    @property
    def lce_ops(self) -> list:
        return [name for name in self.custom_ops if name in LCE_CUSTOM_OPS]

    @property
    def input_tensors(self) -> list:
        return [self.tensors[i] for i in self.inputs]

    @property
    def output_tensors(self) -> list:
        return [self.tensors[i] for i in self.outputs]

    def summary(self) -> dict:
        return {
            "size_bytes": self.size_bytes,
            "op_histogram": self.op_histogram,
            "custom_ops": self.custom_ops,
            "num_operators": len(self.operators),
            "num_tensors": len(self.tensors),
            "num_buffers": len(self.buffer_sizes),
        }


def _check_table(obj, size: int, what: str):
    """Check that a generated-reader table and its vtable lie inside the buffer."""
    if obj is None:
        raise FlatbufferError(f"missing {what}")
    pos = obj._tab.Pos
    if not 0 <= pos <= size - 4:
        raise FlatbufferError(f"{what} at offset {pos} is outside the file ({size} bytes)")
    vtable = pos - struct.unpack_from("<i", obj._tab.Bytes, pos)[0]
    if not 0 <= vtable <= size - 4:
        raise FlatbufferError(f"{what} has its vtable outside the file")
    vtable_len, object_len = struct.unpack_from("<HH", obj._tab.Bytes, vtable)
    if vtable_len < 4 or vtable_len % 2 or vtable + vtable_len > size or pos + object_len > size:
        raise FlatbufferError(f"{what} has an inconsistent vtable")
    return obj


def _ints(array) -> list:
    return [] if isinstance(array, int) else [int(v) for v in np.asarray(array).ravel()]


def _decode(name) -> str:
    if name is None:
        return ""
    return name.decode("utf-8", errors="replace")


def operator_name(code: Any) -> str:
    """The name of an ``OperatorCode``: its custom code, or the builtin's enum name."""
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == tflite.BuiltinOperator.CUSTOM:
        return _decode(code.CustomCode()) or "CUSTOM"
    if builtin not in BUILTIN_NAMES:
        raise FlatbufferError(f"unknown builtin operator code {builtin}")
    return BUILTIN_NAMES[builtin]


def read_flatbuffer(data: bytes) -> FlatbufferInfo:
    """Parse a TFLite model; raise :class:`FlatbufferError` when it cannot be read.

    # Arguments
        data: the bytes of a ``.tflite`` file.

    # Returns
        A :class:`FlatbufferInfo`.
    """
    data = bytes(data)
    size = len(data)
    if size < 8:
        raise FlatbufferError(f"{size} bytes is too short to be a TFLite model")
    if data[4:8] != FILE_IDENTIFIER:
        raise FlatbufferError(
            f"file identifier is {data[4:8]!r}, not {FILE_IDENTIFIER!r} (not a TFLite model)"
        )
    try:
        return _read(data, size)
    except FlatbufferError:
        raise
    except (
        struct.error,
        ValueError,
        IndexError,
        TypeError,
        OverflowError,
        UnicodeDecodeError,
        MemoryError,
    ) as error:
        raise FlatbufferError(f"corrupt flatbuffer ({type(error).__name__}: {error})") from None


def _read_buffer_spans(model, size: int) -> list:
    """``(start, length)`` of every buffer's bytes, each checked to lie inside the file."""
    spans = []
    for i in range(model.BuffersLength()):
        buffer = _check_table(model.Buffers(i), size, f"buffer {i}")
        if buffer.Offset() > 1:  # buffers stored after the flatbuffer (models > 2 GB)
            if buffer.Offset() + buffer.Size() > size:
                raise FlatbufferError(f"buffer {i} points outside the file")
            spans.append((int(buffer.Offset()), int(buffer.Size())))
            continue
        length = buffer.DataLength()
        start = buffer._tab.Vector(buffer._tab.Offset(4)) if length else 0
        if start + length > size:
            raise FlatbufferError(f"buffer {i} ({length} bytes) runs past the end of the file")
        spans.append((int(start), int(length)))
    return spans


def _read_metadata(model, size: int, buffers: int) -> dict:
    """The ``metadata`` table: entry name -> buffer index (the first entry of a name wins)."""
    entries: dict = {}
    for i in range(model.MetadataLength()):
        entry = _check_table(model.Metadata(i), size, f"metadata entry {i}")
        name, buffer = _decode(entry.Name()), int(entry.Buffer())
        if not 0 <= buffer < buffers:
            raise FlatbufferError(
                f"metadata entry {name!r} refers to buffer {buffer}, but the model has "
                f"{buffers} buffers"
            )
        entries.setdefault(name, buffer)
    return entries


def _read(data: bytes, size: int) -> FlatbufferInfo:
    root = struct.unpack_from("<I", data, 0)[0]
    if not 8 <= root <= size - 4:
        raise FlatbufferError(f"root table offset {root} is outside the file")
    model = _check_table(tflite.Model.GetRootAsModel(data, 0), size, "model table")
    codes = []
    for i in range(model.OperatorCodesLength()):
        codes.append(
            operator_name(_check_table(model.OperatorCodes(i), size, f"operator code {i}"))
        )
    spans = _read_buffer_spans(model, size)
    buffer_sizes = [length for _, length in spans]
    info = FlatbufferInfo(
        size_bytes=size,
        version=int(model.Version()),
        operator_codes=codes,
        buffer_sizes=buffer_sizes,
        num_subgraphs=model.SubgraphsLength(),
        buffer_spans=spans,
        metadata=_read_metadata(model, size, len(spans)),
    )
    for s in range(model.SubgraphsLength()):
        graph = _check_table(model.Subgraphs(s), size, f"subgraph {s}")
        base = len(info.tensors)
        count = graph.TensorsLength()

        def _index(i, what, count=count, base=base, subgraph=s):
            if i == -1:
                return -1
            if not 0 <= i < count:
                raise FlatbufferError(
                    f"{what} refers to tensor {i}, but subgraph {subgraph} has {count} tensors"
                )
            return i + base

        for t in range(count):
            tensor = _check_table(graph.Tensors(t), size, f"tensor {t}")
            type_name = TENSOR_TYPE_NAMES.get(tensor.Type(), f"UNKNOWN({tensor.Type()})")
            buffer = tensor.Buffer()
            quant = tensor.Quantization()
            quantized = False
            if quant is not None:
                _check_table(quant, size, f"quantization of tensor {t}")
                quantized = quant.ScaleLength() > 0
            if not 0 <= buffer < len(buffer_sizes):
                raise FlatbufferError(
                    f"tensor {t} refers to buffer {buffer}, but the model "
                    f"has {len(buffer_sizes)} buffers"
                )
            qinfo = None
            if quantized:
                qinfo = (quant.ScaleLength(), quant.ZeroPointLength(), quant.QuantizedDimension())
            info.tensors.append(
                TensorInfo(
                    name=_decode(tensor.Name()),
                    type=type_name,
                    shape=_ints(tensor.ShapeAsNumpy()),
                    buffer=int(buffer),
                    buffer_bytes=buffer_sizes[buffer],
                    quantized=quantized,
                    quantization=qinfo,
                )
            )
        for o in range(graph.OperatorsLength()):
            op = _check_table(graph.Operators(o), size, f"operator {o}")
            index = op.OpcodeIndex()
            if not 0 <= index < len(codes):
                raise FlatbufferError(
                    f"operator {o} uses opcode index {index}, but the model "
                    f"has {len(codes)} operator codes"
                )
            info.operators.append(
                OperatorInfo(
                    op=codes[index],
                    opcode_index=int(index),
                    inputs=[_index(i, f"operator {o}") for i in _ints(op.InputsAsNumpy())],
                    outputs=[_index(i, f"operator {o}") for i in _ints(op.OutputsAsNumpy())],
                )
            )
        inputs = [_index(i, f"subgraph {s} input") for i in _ints(graph.InputsAsNumpy())]
        outputs = [_index(i, f"subgraph {s} output") for i in _ints(graph.OutputsAsNumpy())]
        if s == 0:
            if not inputs or not outputs or -1 in inputs + outputs:
                raise FlatbufferError("the main subgraph has no valid inputs/outputs")
            info.inputs, info.outputs = inputs, outputs
    return info


def op_histogram(data: bytes) -> dict:
    """Operator name -> count, parsed from the flatbuffer."""
    return read_flatbuffer(data).op_histogram
