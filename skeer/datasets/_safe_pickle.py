"""Read ``.npy`` files, pickled payloads included, without running any code.

A restricted unpickler builds only plain data, numeric or object arrays and
numeric or str scalars (a dtype's byte order alone is taken from the file);
anything else is a one-line ValueError naming the file.
"""

import io
import math
import pickle
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

__all__ = ["load_npy", "loads_restricted"]

_RECONSTRUCT_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMERIC_KINDS = frozenset("biufc")
_SCALAR_KINDS = _NUMERIC_KINDS | {"U"}
_ARRAY_KINDS = _NUMERIC_KINDS | {"O"}  # object: a container of plain data
_DTYPE_KINDS = _ARRAY_KINDS | _SCALAR_KINDS
_MAX_HEADER_SIZE = 10_000  # numpy's own default limit
_HEADER_READERS = {
    (1, 0): npy_format.read_array_header_1_0,
    (2, 0): npy_format.read_array_header_2_0,
}
_OVERVIEW = (
    "only dicts, lists, tuples, str, int, float, bool, None and numeric numpy "
    "arrays are loaded, since unpickling anything else can run code"
)


class _Refused(pickle.UnpicklingError):
    """The payload asked for something outside the allowed plain data."""


class _NdarrayClass:
    """Stands in for ``numpy.ndarray``: only ``_reconstruct`` accepts it."""

    __slots__ = ()

    def __setstate__(self, state):
        raise _Refused("refusing to set the state of numpy.ndarray itself")


_NDARRAY = _NdarrayClass()


def _refuse_opcode(name):
    def load(self):
        raise _Refused(f"refusing the pickle opcode {name}")

    return load


class _RestrictedUnpickler(pickle._Unpickler):
    """Pure-Python unpickler checking globals and intercepting BUILD."""

    dispatch = dict(pickle._Unpickler.dispatch)
    for _name in (
        *("PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4", "INST", "OBJ", "NEWOBJ"),
        *("NEWOBJ_EX", "EMPTY_SET", "ADDITEMS", "FROZENSET", "BYTEARRAY8"),
        *("NEXT_BUFFER", "READONLY_BUFFER"),
    ):
        if hasattr(pickle, _name):
            dispatch[getattr(pickle, _name)[0]] = _refuse_opcode(_name)
    del _name

    def __init__(self, file):
        super().__init__(file, fix_imports=False, encoding="ASCII")
        # id -> object: objects made by the stand-ins, awaiting their BUILD;
        # keeping the object keeps its id from being reused.
        self._new_dtypes = {}
        self._built_dtypes = {}
        self._new_arrays = {}

    # ------------------------------------------------------------ globals

    def find_class(self, module, name):
        if module in _RECONSTRUCT_MODULES and name == "_reconstruct":
            return self._reconstruct
        if module in _RECONSTRUCT_MODULES and name == "scalar":
            return self._scalar
        if module == "numpy" and name == "ndarray":
            return _NDARRAY
        if module == "numpy" and name == "dtype":
            return self._dtype
        if module == "_codecs" and name == "encode":
            return self._latin1  # protocols 0-2 write bytes this way
        if module in ("builtins", "__builtin__") and name == "bytes":
            return self._empty_bytes  # ... and b"" this way
        raise _Refused(f"refusing to load the global {module}.{name}")

    @staticmethod
    def _empty_bytes():
        return b""

    @staticmethod
    def _latin1(text, encoding):
        if not isinstance(text, str) or encoding != "latin1":
            raise _Refused("unexpected arguments to _codecs.encode")
        return text.encode("latin1")

    def _reconstruct(self, subtype, shape, typecode):
        if subtype is not _NDARRAY:
            raise _Refused("refusing to reconstruct an array of another class")
        if tuple(shape) != (0,) or typecode not in (b"b", "b"):
            raise _Refused("unexpected arguments to numpy's array reconstruction")
        arr = np.empty(0, dtype=np.int8)
        self._new_arrays[id(arr)] = arr
        return arr

    def _dtype(self, spec, align=False, copy=False):
        if not isinstance(spec, str) or not all(
            isinstance(v, bool) for v in (align, copy)
        ):
            raise _Refused("unexpected arguments to numpy.dtype")
        try:
            probe = np.dtype(spec)
        except (TypeError, ValueError):
            raise _Refused(f"refusing the dtype {spec!r}") from None
        if (
            probe.kind not in _DTYPE_KINDS
            or probe.fields is not None
            or probe.subdtype is not None
            or probe.metadata
        ):
            raise _Refused(f"refusing the non-numeric dtype {spec!r}")
        # copy=True: a BUILD must never alter numpy's shared dtype singletons
        dtype = np.dtype(spec, False, True)
        self._new_dtypes[id(dtype)] = dtype
        return dtype

    def _scalar(self, dtype, data):
        dtype = self._checked_dtype(dtype)
        if dtype.kind not in _SCALAR_KINDS:
            raise _Refused(f"refusing a numpy scalar of dtype {dtype}")
        if not isinstance(data, bytes) or len(data) != dtype.itemsize:
            raise _Refused("malformed numpy scalar")
        value = np.frombuffer(data, dtype=dtype)[0]
        return str(value) if dtype.kind == "U" else value

    def _checked_dtype(self, dtype):
        if self._built_dtypes.get(id(dtype)) is not dtype:
            raise _Refused("an array or scalar refers to an unchecked dtype")
        return dtype

    # -------------------------------------------------------------- BUILD

    def _load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        key = id(inst)
        if self._new_dtypes.get(key) is inst:
            del self._new_dtypes[key]
            self._build_dtype(inst, state)
            self._built_dtypes[key] = inst
        elif self._new_arrays.get(key) is inst:
            del self._new_arrays[key]
            self._build_array(inst, state)
        else:
            raise _Refused(f"refusing to set the state of a {type(inst).__name__}")

    dispatch[pickle.BUILD[0]] = _load_build

    @staticmethod
    def _build_dtype(dtype, state):
        ok = (
            isinstance(state, tuple)
            and len(state) in (8, 9)
            and state[0] in (3, 4)
            and state[1] in ("<", ">", "|", "=")
            and state[2:5] == (None, None, None)
            and (
                state[5:7] == (-1, -1)
                or (dtype.kind == "U" and state[5:7] == (dtype.itemsize, 4))
            )
            and isinstance(state[7], int)
            and (len(state) == 8 or state[8] is None)
        )
        if not ok:
            raise _Refused(f"refusing an unexpected state of the dtype {dtype}")
        # only the byte order is taken from the file, flags never
        if state[1] in "<>" and dtype.itemsize > 1 and dtype.kind != "O":
            own = dtype.__reduce__()[2]
            dtype.__setstate__((own[0], state[1], *own[2:]))

    def _build_array(self, arr, state):
        if isinstance(state, tuple) and len(state) == 5 and state[0] == 1:
            state = state[1:]
        if not (isinstance(state, tuple) and len(state) == 4):
            raise _Refused("refusing an unexpected array state")
        shape, dtype, fortran, data = state
        if not (
            isinstance(shape, tuple)
            and all(type(n) is int and n >= 0 for n in shape)
            and isinstance(fortran, bool)
        ):
            raise _Refused("refusing an unexpected array state")
        dtype = self._checked_dtype(dtype)
        if dtype.kind not in _ARRAY_KINDS:
            raise _Refused(f"refusing an array of the non-numeric dtype {dtype}")
        size = math.prod(shape)
        if dtype.kind == "O":
            if type(data) is not list or len(data) != size:
                raise _Refused("malformed object array")
        elif not isinstance(data, bytes) or len(data) != size * dtype.itemsize:
            raise _Refused("array data of the wrong size (a truncated file?)")
        arr.__setstate__((1, shape, dtype, fortran, data))

    def load(self):
        obj = super().load()
        if self._new_arrays or self._new_dtypes:
            raise _Refused("an array or dtype was left without its state")
        return obj


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


def loads_restricted(data, *, name="data"):
    """Unpickle plain data (no code runs); ValueError naming ``name`` otherwise."""
    return _unpickle(io.BytesIO(data), name)


_MALFORMED = (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError)
_MALFORMED += (IndexError, AttributeError, OverflowError, MemoryError, RecursionError)


def _unpickle(file, name):
    try:
        return _RestrictedUnpickler(file).load()
    except _Refused as exc:
        raise ValueError(f"{name}: {_one_line(exc)}; {_OVERVIEW}.") from None
    except _MALFORMED as exc:
        raise ValueError(
            f"{name}: truncated or malformed pickled data ({_one_line(exc)})."
        ) from None


def load_npy(file):
    """``numpy.load`` of a ``.npy`` file, object arrays unpickled restricted."""
    path = Path(file)
    name = path.name
    with open(path, "rb") as f:
        try:
            version = npy_format.read_magic(f)
            read_header = _HEADER_READERS.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _, dtype = read_header(f, max_header_size=_MAX_HEADER_SIZE)
            if not dtype.hasobject:
                f.seek(0)
                return npy_format.read_array(
                    f, allow_pickle=False, max_header_size=_MAX_HEADER_SIZE
                )
        except (ValueError, EOFError, OSError, MemoryError) as exc:
            raise ValueError(
                f"{name}: not a readable .npy file, or truncated ({_one_line(exc)})."
            ) from None
        if dtype != np.dtype(object):
            raise ValueError(
                f"{name}: refusing the structured dtype {dtype} with object "
                f"fields; {_OVERVIEW}."
            )
        arr = _unpickle(f, name)
    if not isinstance(arr, np.ndarray) or arr.dtype != object or arr.shape != shape:
        raise ValueError(
            f"{name}: the pickled payload does not match the .npy header "
            f"(an object array of shape {shape})."
        )
    return arr
