"""A content-hashed ``.npz`` cache (arrays only, no pickle) of a loader's sessions."""

import contextlib
import hashlib
import math
import os
import warnings
import zipfile

import numpy as np

from skeer.datasets._base import _atomic_file, _pack_strings, _unpack_strings
from skeer.datasets._safe_pickle import _HEADER_READERS

__all__ = ["content_key", "load_sessions", "save_sessions"]

_HASH_BLOCK = 1 << 20
_PACKED = ("codes", "blob", "offsets")
# What np.load and a cache of another layout raise: rebuild, never fail.
_UNREADABLE = (OSError, KeyError, IndexError, TypeError, ValueError, EOFError)
_UNREADABLE += (zipfile.BadZipFile,)


def _hash_file(h, file):
    """``h`` updated with the bytes of ``file``."""
    with open(file, "rb") as f:
        while chunk := f.read(_HASH_BLOCK):
            h.update(chunk)
    return h


def content_key(path, tag, members=None):
    """BLAKE2b (32 hex digits) of ``tag`` and the bytes of ``path`` or its members."""
    h = hashlib.blake2b(digest_size=16)
    h.update(tag.encode())
    if members is None:
        _hash_file(h, path)
    else:
        for name, size in members:
            h.update(name.encode("utf-8", "surrogatepass") + b"\0")
            h.update(size.to_bytes(8, "little"))
            _hash_file(h, path / name)
    return h.hexdigest()


def save_sessions(file, result, counts, *, loader, stacklevel=3):
    """Write a loader's ``result`` (arrays, and ``dropped`` keyed by ``counts``)."""
    arrays, texts = {}, {}
    for name, value in result.items():
        if name != "dropped":
            (texts if value.dtype == object else arrays)[name] = value
    arrays["dropped"] = np.array([result["dropped"][k] for k in counts], np.int64)
    for name, strings in texts.items():
        for part, array in zip(_PACKED, _pack_strings(strings)):
            arrays[f"{name}_{part}"] = array
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with _atomic_file(file, ".tmp") as f:
            np.savez(f, **arrays)
    except OSError as exc:
        warnings.warn(
            f"{loader} could not write its cache to {str(file.parent)!r} "
            f"({exc.strerror or exc}); the data loaded, uncached (pass "
            "cache=False, or a writable data_home, to silence this).",
            UserWarning,
            stacklevel=stacklevel,
        )


def _check_sizes(f):
    """Refuse members ``numpy.load`` would inflate or over-allocate."""
    size = os.fstat(f.fileno()).st_size
    with zipfile.ZipFile(f) as zf:
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > size:
                raise ValueError("not a cache save_sessions writes")
            with zf.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = _HEADER_READERS.get(version)
                if read_header is None:
                    raise ValueError(f".npy format version {version}")
                shape, _, dtype = read_header(member)
                declared = math.prod(shape) * dtype.itemsize
                if declared > info.file_size - member.tell():
                    raise ValueError("an array larger than its member")


def _read_npz(file, fields, counts):
    with open(file, "rb") as f:
        _check_sizes(f)
        f.seek(0)
        with np.load(f, allow_pickle=False) as z:
            result = {k: z[k] for k in ("keys", "offsets")}
            for name in fields:
                if f"{name}_codes" in z.files:
                    packed = (z[f"{name}_{p}"] for p in _PACKED)
                    result[name] = _unpack_strings(*packed)
                else:
                    result[name] = z[name]
            dropped = z["dropped"]
    if dropped.shape != (len(counts),):
        raise ValueError("cache of another layout")
    result["dropped"] = dict(zip(counts, (int(v) for v in dropped)))
    keys, offsets = result["keys"], result["offsets"]
    n = len(offsets) - 1
    if not (
        keys.ndim == 2
        and keys.shape[1] == 3
        and n >= 1
        and offsets[0] == 0
        and offsets[-1] == len(keys)
        and (np.diff(offsets) > 0).all()
        and all(len(result[k]) == n for k in fields)
    ):
        raise ValueError("inconsistent cache")
    return result


def load_sessions(file, fields, counts):
    """A loader's cached result as saved, or None if missing or unreadable."""
    with contextlib.suppress(*_UNREADABLE):
        if file.is_file():
            return _read_npz(file, fields, counts)
    return None
