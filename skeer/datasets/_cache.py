"""A content-hashed ``.npz`` cache of the sessions a loader parsed.

A loader that parses for long (:func:`~skeer.datasets.load_aalto`: a second
for the 15 MB development archive) keeps its result in
``data_home/<loader>/<key>.npz``, where the key is a BLAKE2b hash of the bytes
the loader reads (:func:`content_key`): changed data misses the cache, while
the same data copied, moved, renamed or touched hits it.

The file holds arrays only and is read with ``allow_pickle=False``: the
sessions' rows ``keys`` (n_keys, 3) and their ``offsets``, per-session arrays
(numbers as they are; strings packed as codes, a UTF-8 blob and offsets), and
the loader's counts of what it dropped, stored uncompressed. Before anything
is allocated, each array's declared size is checked against the bytes its
member holds (a hostile header could declare terabytes). It is written
atomically (a temporary file in the same folder, then a rename). A cache
that cannot be read, is inconsistent or declares more than it holds reads
as missing (the loader parses again); one that cannot be written warns, and
the loader returns its data uncached. Nothing here imports torch.
"""

import hashlib
import math
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from skeer.datasets._base import _pack_strings, _unpack_strings

__all__ = ["content_key", "load_sessions", "save_sessions"]

_HASH_BLOCK = 1 << 20
_PACKED = ("codes", "blob", "offsets")
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
# What np.load and a cache of another layout raise: rebuild, never fail.
_UNREADABLE = (
    OSError,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    EOFError,
    zipfile.BadZipFile,
)


def _hash_file(h, file):
    with open(file, "rb") as f:
        while chunk := f.read(_HASH_BLOCK):
            h.update(chunk)


def content_key(path, tag, members=None):
    """BLAKE2b (128 bits, hex) of a source's content: the bytes a loader reads.

    The path and modification times do not count: a copied or touched source
    gets the same key, changed content another one.

    Parameters
    ----------
    path : pathlib.Path
        A file or archive (its bytes are hashed), or a folder (with
        ``members``).
    tag : str
        Hashed first: the loader, its cache version and the source's kind, so
        that a change of any of them changes every key.
    members : list of (str, int), default=None
        For a folder: ``(relative name, size)`` of the files the loader reads,
        in order; the name, size and bytes of each are hashed (other files
        are never read, so they do not count).

    Returns
    -------
    key : str
        32 hexadecimal digits.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets._cache import content_key
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("same bytes")
    >>> _ = (folder / "b.txt").write_text("same bytes")
    >>> content_key(folder / "a.txt", "v1|") == content_key(folder / "b.txt", "v1|")
    True
    >>> content_key(folder / "a.txt", "v1|") == content_key(folder / "a.txt", "v2|")
    False
    """
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


def _write_npz(file, arrays):
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_sessions(file, result, counts, *, loader, stacklevel=3):
    """Write a loader's result to its cache file; warn if it cannot.

    Parameters
    ----------
    file : pathlib.Path
        The cache file; its folder is created. Replaced atomically.
    result : dict
        ``keys`` (n_keys, 3) and ``offsets`` (n_sessions + 1,) arrays, then
        per-session arrays (numeric, or object arrays of str), and
        ``dropped``: a dict of int counts.
    counts : tuple of str
        The keys of ``result["dropped"]``, in a fixed order (stored as one
        int64 array).
    loader : str
        The loader's name, for the warning.
    stacklevel : int, default=3
        Of the warning: 3 points at the caller of a loader that calls this.

    Warns
    -----
    UserWarning
        If the file cannot be written (a read-only ``data_home``, a file in
        the way): the data stays uncached.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from skeer.datasets._cache import load_sessions, save_sessions
    >>> result = {
    ...     "keys": np.arange(12.0).reshape(4, 3),
    ...     "offsets": np.array([0, 2, 4]),
    ...     "target": np.array([1, 2]),
    ...     "sentence": np.array(["hello", "world"], dtype=object),
    ...     "dropped": {"rows": 5, "malformed": 1},
    ... }
    >>> file = Path(tempfile.mkdtemp()) / "loader" / "key.npz"
    >>> save_sessions(file, result, ("rows", "malformed"), loader="load_x")
    >>> cached = load_sessions(file, ("target", "sentence"), ("rows", "malformed"))
    >>> cached["sentence"].tolist(), cached["dropped"]
    (['hello', 'world'], {'rows': 5, 'malformed': 1})
    """
    arrays, texts = {}, {}
    for name, value in result.items():
        if name != "dropped":
            (texts if value.dtype == object else arrays)[name] = value
    arrays["dropped"] = np.array([result["dropped"][k] for k in counts], np.int64)
    for name, strings in texts.items():
        for part, array in zip(_PACKED, _pack_strings(strings)):
            arrays[f"{name}_{part}"] = array
    try:
        _write_npz(file, arrays)
    except OSError as exc:
        warnings.warn(
            f"{loader} could not write its cache to {str(file.parent)!r} "
            f"({exc.strerror or exc}); the data loaded, uncached (pass "
            "cache=False, or a writable data_home, to silence this).",
            UserWarning,
            stacklevel=stacklevel,
        )


def _check_sizes(f):
    """Refuse a cache whose arrays would need more bytes than it holds.

    ``numpy.load`` allocates what a member's ``.npy`` header declares
    before it reads the data: a few hostile bytes could ask for terabytes.
    :func:`save_sessions` stores its members uncompressed, so every array's
    bytes lie in the file: a deflated member, one larger than the file, or a
    header declaring more bytes than its member holds is not such a cache.
    """
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
        return _read_arrays(f, fields, counts)


def _read_arrays(file, fields, counts):
    with np.load(file, allow_pickle=False) as z:
        result = {k: z[k] for k in ("keys", "offsets")}
        for name in fields:
            if f"{name}_codes" in z.files:
                result[name] = _unpack_strings(*(z[f"{name}_{p}"] for p in _PACKED))
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
    """A loader's cached result, or None when it must parse again.

    Parameters
    ----------
    file : pathlib.Path
        The cache file, written by :func:`save_sessions`.
    fields : tuple of str
        The per-session arrays to read (strings come back as object arrays).
    counts : tuple of str
        The keys of ``dropped``, as given to :func:`save_sessions`.

    Returns
    -------
    result : dict or None
        As saved: ``keys``, ``offsets``, the ``fields`` and ``dropped``.
        None if the file is missing, unreadable, of another layout,
        inconsistent (at least one session, offsets rising from 0 to the
        number of keys, one entry a session in every field), or declares an
        array larger than the bytes it holds for it (nothing is allocated
        for it).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets._cache import load_sessions
    >>> broken = Path(tempfile.mkdtemp()) / "key.npz"
    >>> _ = broken.write_bytes(b"not a zip")
    >>> print(load_sessions(broken, ("target",), ("rows",)))
    None
    """
    try:
        if not file.is_file():
            return None
        return _read_npz(file, fields, counts)
    except _UNREADABLE:
        return None  # unreadable, inconsistent or of another version: rebuild
