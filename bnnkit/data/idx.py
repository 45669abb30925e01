"""Reader for the IDX format used by MNIST and Fashion-MNIST (optionally gzipped).

Layout (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header with a magic
number ``0x0000 <type> <ndim>`` and one uint32 per dimension, then the raw data.
Only unsigned-byte data (type ``0x08``) is used by these datasets.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from bnnkit.errors import InvalidDatasetError

__all__ = ["read_idx", "write_idx"]


_UBYTE = 0x08


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain) into a uint8 array of its declared shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:
        raise InvalidDatasetError(f"cannot read IDX file {path}: {error}") from error
    if len(raw) < 4:
        raise InvalidDatasetError(f"{path} is not an IDX file: only {len(raw)} bytes")
    zero, data_type, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or data_type != _UBYTE or not 1 <= ndim <= 4:
        raise InvalidDatasetError(
            f"{path} is not an unsigned-byte IDX file (magic bytes {raw[:4].hex()})"
        )
    header_size = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected = int(np.prod(shape))
    if len(raw) - header_size != expected:
        raise InvalidDatasetError(
            f"{path} declares shape {shape} ({expected} bytes) but holds "
            f"{len(raw) - header_size} bytes of data: truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in ``.gz``)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, _UBYTE, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as stream:
        stream.write(header + array.tobytes())
