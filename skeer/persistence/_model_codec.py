"""Values <-> JSON and tensors in a model file; :func:`decode` returns only plain
data and raises :class:`InvalidFile` on anything :class:`Encoder` does not write."""

import hashlib
import warnings

import numpy as np
import torch

#: Key marking a non-JSON value (array, tensor, tuple, ...) in the configuration.
TAG = "__skeer__"
#: Widest string dtype (in characters) an array of short items may declare.
MAX_STR_WIDTH = 1024


class InvalidFile(Exception):
    """A file's content does not follow the format (corrupt or tampered)."""


class Encoder:
    """Turn a value into JSON, moving numeric arrays into ``self.arrays``."""

    def __init__(self):
        self.arrays = {}

    def _store(self, tensor):
        key = str(len(self.arrays))
        self.arrays[key] = tensor
        return key

    def __call__(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):  # before float: np.float64 is a float
            if value.dtype.kind in "biufU":
                return {TAG: "scalar", "dtype": value.dtype.str, "value": value.item()}
        elif type(value) in (int, float):
            return value
        elif isinstance(value, np.ndarray):
            return self._array(value, where)
        elif isinstance(value, torch.Tensor):
            return {TAG: "tensor", "key": self._store(value.detach().cpu().clone())}
        elif isinstance(value, list):
            return [self(v, where) for v in value]
        elif isinstance(value, tuple):
            return {TAG: "tuple", "items": [self(v, where) for v in value]}
        elif isinstance(value, dict) and all(isinstance(k, str) for k in value):
            items = {k: self(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {TAG: "dict", "items": items}
        raise TypeError(
            f"Cannot save {where}: a {type(value).__qualname__} is not storable. "
            "skeer stores None, bool, int, float, str, numpy arrays and scalars, "
            "tensors, and lists, tuples and str-keyed dicts of them."
        )

    def _array(self, a, where):
        spec = {TAG: "ndarray", "dtype": a.dtype.str, "shape": list(a.shape)}
        if a.dtype.kind in "biufc":
            data = np.ascontiguousarray(a)
            if not data.dtype.isnative:
                data = data.astype(data.dtype.newbyteorder("="))
            if not data.flags.writeable:
                data = data.copy()
            spec["key"] = self._store(torch.from_numpy(data))
            return spec
        if a.dtype.kind in "UO":
            items = [v.item() if isinstance(v, np.generic) else v for v in a.flat]
            if all(v is None or type(v) in (bool, int, float, str) for v in items):
                spec["items"] = items
                return spec
        raise TypeError(
            f"Cannot save {where}: an array of dtype {a.dtype} is not storable "
            "(numeric arrays, and arrays of str, int, float, bool or None are)."
        )


def _dtype(spec, kinds):
    """``np.dtype(spec)`` if its kind is one of ``kinds``, else :class:`InvalidFile`."""
    dtype = np.dtype(spec)
    if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype:
        raise InvalidFile(f"dtype {spec!r} is not allowed here")
    return dtype


def _in_range(values, dtype):
    """Whether numeric ``values`` are finite and within an integer ``dtype``'s range."""
    if dtype.kind not in "biu" or values.dtype.kind == "O" or not values.size:
        return True
    real = values.real
    if not np.isfinite(real).all():
        return False
    info = np.iinfo(dtype) if dtype.kind != "b" else None
    low, high = (info.min, info.max) if info is not None else (0, 1)
    return low <= real.min().item() and real.max().item() <= high


def _exact(values, dtype, where):
    """``values`` cast to ``dtype`` exactly (numpy would truncate, wrap or round)."""
    if not isinstance(values, np.ndarray):
        values = np.array(values, dtype=object)
    if values.dtype == dtype:
        return values
    if dtype.kind == "U":
        # a width read from the file allocates no more than the items hold
        longest = max((len(v) for v in values.flat if isinstance(v, str)), default=0)
        if dtype.itemsize // 4 > max(2 * longest, MAX_STR_WIDTH):
            raise InvalidFile(
                f"{where}'s string dtype {dtype.str} is wider than its items"
            )
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ComplexWarning: checked below
            if not _in_range(values, dtype):
                raise ValueError
            out = values.astype(dtype)
            if not _in_range(out, values.dtype):
                raise ValueError
            back = out.astype(values.dtype)  # object: compared as Python values
    except (TypeError, ValueError, OverflowError):
        back = out = None
    same = None if back is None else np.asarray(back == values, dtype=bool)
    if same is None or not (
        same.all()  # else only NaN where NaN was
        or all(a != a and b != b for a, b in zip(back[~same], values[~same]))
    ):
        raise InvalidFile(
            f"{where} holds a value its declared dtype {dtype.str!r} cannot hold "
            "exactly (out of range, not an integer, rounded, or not a string)"
        )
    return out


def _tensor(arrays, key):
    tensor = arrays.get(key) if isinstance(arrays, dict) else None
    if not isinstance(tensor, torch.Tensor):
        raise InvalidFile(f"missing tensor {key!r}")
    return tensor.cpu()


def decode(node, arrays, where="a value"):
    """Inverse of :class:`Encoder`; ``where`` names the value in messages."""
    if node is None or type(node) in (bool, int, float, str):
        return node
    if isinstance(node, list):
        return [decode(v, arrays, f"{where}[{i}]") for i, v in enumerate(node)]
    tag = node.get(TAG) if isinstance(node, dict) else None
    if tag == "tuple":
        return tuple(
            decode(v, arrays, f"{where}[{i}]") for i, v in enumerate(node["items"])
        )
    if tag == "dict":
        return {
            str(k): decode(v, arrays, f"{where}[{k!r}]")
            for k, v in node["items"].items()
        }
    if tag in ("scalar", "ndarray") and not isinstance(node.get("dtype"), str):
        raise InvalidFile(f"{where}'s dtype is not a string")
    if tag == "scalar":
        value = node["value"]
        if value is None or type(value) not in (bool, int, float, str):
            raise InvalidFile(f"{where} is not a plain value")
        return _exact(value, _dtype(node["dtype"], "biufU"), where)[()]
    if tag == "tensor":
        return _tensor(arrays, node["key"])
    if tag == "ndarray":
        shape = tuple(node["shape"])
        if "key" in node:  # numeric only: at most a few times the tensor's size
            dtype = _dtype(node["dtype"], "biufc")
            data = _tensor(arrays, node["key"]).numpy()
            return _exact(data, dtype, where).reshape(shape)
        dtype = _dtype(node["dtype"], "biufUO")
        items = node["items"]
        if not isinstance(items, list) or not all(
            v is None or type(v) in (bool, int, float, str) for v in items
        ):
            raise InvalidFile(f"an item of {where} is not a plain value")
        if dtype.kind == "O":
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(shape)
        return _exact(items, dtype, where).reshape(shape)
    raise InvalidFile(f"unexpected value {str(node)[:60]!r}")


def decode_mapping(node, arrays, what):
    """A ``{name: encoded value}`` mapping (parameters, fitted state) decoded."""
    if not isinstance(node, dict):
        raise InvalidFile(f"{what} are not a mapping")
    return {str(k): decode(v, arrays, str(k)) for k, v in node.items()}


def history_records(history):
    """``net.history`` as JSON data; values that are not are dropped, with a warning."""
    dropped = set()
    drop = object()

    def clean(value, key):
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            value = value.item()
        elif isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, (list, tuple)):
            items = [clean(v, key) for v in value]
            return [v for v in items if v is not drop]
        if isinstance(value, dict):
            items = {str(k): clean(v, str(k)) for k, v in value.items()}
            return {k: v for k, v in items.items() if v is not drop}
        dropped.add(key)
        return drop

    records = clean(list(history), "history")
    if dropped:
        warnings.warn(
            f"History entries {sorted(dropped)} are not saved (not JSON data).",
            UserWarning,
            stacklevel=5,
        )
    return records


def checksum(blob):
    """SHA-256 (hex) of the config and every tensor's name, dtype, shape and bytes."""
    digest = hashlib.sha256()
    digest.update(str(blob.get("config")).encode())

    def walk(node, where):
        if isinstance(node, torch.Tensor):
            t = node.detach().cpu().reshape(-1).clone()  # contiguous, stride 1
            digest.update(f"{where}|{t.dtype}|{tuple(node.shape)}|".encode())
            if t.numel():
                digest.update(t.view(torch.uint8).numpy().tobytes())
        elif isinstance(node, dict):
            for key in sorted(node, key=str):
                walk(node[key], f"{where}/{key}")
        else:
            digest.update(f"{where}|{node!r}|".encode())

    walk(blob.get("arrays"), "arrays")
    walk(blob.get("module_states"), "module_states")
    return digest.hexdigest()


def check_checksum(blob):
    """Raise :class:`InvalidFile` unless ``blob["checksum"]`` matches its content."""
    if blob.get("checksum") != checksum(blob):
        raise InvalidFile(
            "its content does not match its checksum: a changed weight, array or "
            "setting"
        )
