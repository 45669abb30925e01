"""Read the CIFAR python-pickle batches *without unpickling them*.

``pickle.load`` on a downloaded file can run arbitrary code. The CIFAR-10/100 "python
version" batches only hold dicts, lists, ints, strings and numpy arrays, so this module
walks the pickle opcode stream with :func:`pickletools.genops` (a parser that never
imports or calls anything) and rebuilds just those types. Any other global than numpy's
array/dtype reconstructors is refused, so a crafted file can at worst fail to load.
"""

from __future__ import annotations

import pickletools
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bnnkit.errors import InvalidDatasetError

__all__ = ["read_pickle_safely"]


_ARRAY_RECONSTRUCTORS = {"_reconstruct", "_frombuffer"}
_ALLOWED_GLOBALS = {
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.ndarray",
    "numpy.dtype",
    "_codecs.encode",  # how Python 3 writes bytes in protocol 2: encode(latin-1 str)
}


class _Global:
    def __init__(self, qualified_name: str):
        if qualified_name not in _ALLOWED_GLOBALS:
            raise InvalidDatasetError(
                f"refusing pickle global {qualified_name!r}: CIFAR batches only hold "
                "numpy arrays, lists, ints and strings"
            )
        self.name = qualified_name.rsplit(".", 1)[-1]


class _Call:
    """A REDUCE/NEWOBJ whose evaluation is deferred to :func:`_materialize`."""

    def __init__(self, func: _Global, args: tuple):
        self.func, self.args, self.state = func, args, None


class _Mark:
    pass


def _as_bytes(value) -> bytes:
    value = _materialize(value)
    return value.encode("latin-1") if isinstance(value, str) else bytes(value)


# numpy's pickled byte orders; "|" (not applicable) and "=" (native) are read as little-endian
_BYTE_ORDERS: dict[str, Literal["<", ">"]] = {"<": "<", ">": ">", "|": "<", "=": "<"}


def _dtype(value) -> np.dtype:
    if isinstance(value, _Call) and value.func.name == "dtype":
        code = value.args[0]
        code = code.decode() if isinstance(code, bytes) else code
        byteorder = value.state[1] if value.state else "|"
        byteorder = byteorder.decode() if isinstance(byteorder, bytes) else byteorder
        if byteorder not in _BYTE_ORDERS:
            raise InvalidDatasetError(f"unsupported byte order {byteorder!r} in pickle")
        return np.dtype(code).newbyteorder(_BYTE_ORDERS[byteorder])
    raise InvalidDatasetError("unsupported dtype in pickle")


def _materialize(value):
    if isinstance(value, list):
        return [_materialize(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_materialize(item) for item in value)
    if isinstance(value, dict):
        return {_materialize(k): _materialize(v) for k, v in value.items()}
    if isinstance(value, _Call):
        if value.func.name == "encode":
            text, encoding = (_materialize(arg) for arg in value.args)
            if encoding not in ("latin1", "latin-1"):
                raise InvalidDatasetError(f"unsupported string encoding {encoding!r}")
            return text.encode("latin-1")
        if value.func.name == "_reconstruct":
            if not value.state:
                raise InvalidDatasetError("numpy array in pickle has no state")
            _, shape, dtype, fortran_order, raw = value.state[:5]
            array = np.frombuffer(_as_bytes(raw), dtype=_dtype(dtype))
            return array.reshape(shape, order="F" if fortran_order else "C").copy()
        if value.func.name == "_frombuffer":
            raw, dtype, shape, order = value.args
            array = np.frombuffer(_as_bytes(raw), dtype=_dtype(dtype))
            return array.reshape(shape, order=order).copy()
        raise InvalidDatasetError(f"unsupported object {value.func.name} in pickle")
    return value


def _pop_to_mark(stack: list) -> list:
    for index in range(len(stack) - 1, -1, -1):
        if isinstance(stack[index], _Mark):
            items = stack[index + 1 :]
            del stack[index:]
            return items
    raise InvalidDatasetError("malformed pickle: MARK not found")


def read_pickle_safely(path: str | Path) -> Any:
    """Return the object in a pickle of plain containers and numpy arrays, executing nothing."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidDatasetError(f"cannot read {path}: {error}") from error
    stack: list = []
    memo: dict = {}
    try:
        for opcode, arg, _ in pickletools.genops(data):
            name = opcode.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                return _materialize(stack.pop())
            if name == "MARK":
                stack.append(_Mark())
            elif name in ("EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE"):
                stack.append({"EMPTY_DICT": {}, "EMPTY_LIST": [], "EMPTY_TUPLE": ()}[name])
            elif name == "DICT":
                items = _pop_to_mark(stack)
                stack.append(dict(zip(items[::2], items[1::2], strict=False)))
            elif name == "LIST":
                stack.append(_pop_to_mark(stack))
            elif name == "TUPLE":
                stack.append(tuple(_pop_to_mark(stack)))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                count = int(name[-1])
                group = tuple(stack[-count:])
                del stack[-count:]
                stack.append(group)
            elif name == "APPEND":
                item = stack.pop()
                stack[-1].append(item)
            elif name == "APPENDS":
                items = _pop_to_mark(stack)
                stack[-1].extend(items)
            elif name == "SETITEM":
                value, key = stack.pop(), stack.pop()
                stack[-1][key] = value
            elif name == "SETITEMS":
                items = _pop_to_mark(stack)
                stack[-1].update(zip(items[::2], items[1::2], strict=False))
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                stack.append(memo[arg])
            elif name == "GLOBAL":
                module, qualname = str(arg).split(" ", 1)
                stack.append(_Global(f"{module}.{qualname}"))
            elif name == "STACK_GLOBAL":
                qualname, module = stack.pop(), stack.pop()
                stack.append(_Global(f"{module}.{qualname}"))
            elif name in ("REDUCE", "NEWOBJ"):
                args, func = stack.pop(), stack.pop()
                stack.append(_Call(func, tuple(args)))
            elif name == "BUILD":
                state = stack.pop()
                if not isinstance(stack[-1], _Call):
                    raise InvalidDatasetError("malformed pickle: BUILD on a non-object")
                stack[-1].state = state
            elif name == "NONE":
                stack.append(None)
            elif name in ("NEWTRUE", "NEWFALSE"):
                stack.append(name == "NEWTRUE")
            elif opcode.arg is not None and name not in (
                "INST",
                "OBJ",
                "EXT1",
                "EXT2",
                "EXT4",
                "PERSID",
                "BINPERSID",
            ):
                # Literals: ints, floats, strings and bytes.
                stack.append(arg)
            else:
                raise InvalidDatasetError(f"unsupported pickle opcode {name}")
    except InvalidDatasetError as error:
        raise InvalidDatasetError(f"{path}: {error}") from error
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as error:
        raise InvalidDatasetError(f"{path} is not a valid CIFAR pickle batch: {error}") from error
    raise InvalidDatasetError(f"{path} is truncated: no STOP opcode")
