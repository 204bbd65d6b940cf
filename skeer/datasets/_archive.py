"""Read the data files of a folder, a zip or tar archive, and tell a truncated one.

A raw dataset comes as a folder of files, an archive of them, or one such file.
This module finds the files whose name ends with a loader's suffix (macOS
``__MACOSX/`` and ``._*`` companions left out), lists them with their sizes in
name order, reads their bytes, and streams the members of a tar archive (one
compressed stream, read once, front to back).

Python's readers accept some damaged archives without a word: :mod:`tarfile`
ends its member loop silently when an archive stops at a block boundary, and
its compressed stream never checks that the compressor's stream ended. Here a
tar archive must end with its end-of-archive marker and a compressed one with
the end of its stream; :data:`CORRUPT_ERRORS` names what a truncated or
corrupt archive or compressed file raises, and :func:`corrupt_as_value_error`
turns it into a one-line ValueError naming the file. Nothing here imports
torch.
"""

import contextlib
import gzip
import lzma
import os
import posixpath
import tarfile
import zipfile
import zlib
from pathlib import Path

from skeer.datasets._base import _check_regular

__all__ = [
    "CORRUPT_ERRORS",
    "batched",
    "corrupt_as_value_error",
    "iter_tar_contents",
    "list_members",
    "read_members",
    "source_kind",
]

#: What a truncated or corrupt archive or compressed file raises (bz2 raises
#: an OSError without errno, handled by :func:`corrupt_as_value_error`).
CORRUPT_ERRORS = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    gzip.BadGzipFile,
    lzma.LZMAError,
)
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tbz", ".tbz2", ".txz", ".gz", ".bz2")
_ARCHIVE_SUFFIXES += (".xz",)
_READ_BLOCK = 1 << 20


def _is_member(name, suffix):
    base = posixpath.basename(name.replace("\\", "/"))
    return (
        base.endswith(suffix)
        and not base.startswith("._")  # macOS AppleDouble companions
        and "__MACOSX/" not in name
    )


def source_kind(path, suffix):
    """Tell what a source is: a folder, a zip or tar archive, or one data file.

    Parameters
    ----------
    path : pathlib.Path
        An existing folder or file.
    suffix : str
        How the name of a data file ends, e.g. ``"_keystrokes.txt"``.

    Returns
    -------
    kind : {"dir", "zip", "tar", "file"}
        ``"tar"`` covers compressed tar archives (``.tar.gz``, ``.tar.xz``...).

    Raises
    ------
    ValueError
        If ``path`` is a truncated or corrupt zip (its central directory is
        missing) or archive (a name of an archive, but not readable as one),
        or none of the four kinds.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets._archive import source_kind
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "1_keystrokes.txt").write_text("data")
    >>> source_kind(folder, "_keystrokes.txt")
    'dir'
    >>> source_kind(folder / "1_keystrokes.txt", "_keystrokes.txt")
    'file'
    """
    if path.is_dir():
        return "dir"
    if zipfile.is_zipfile(path):
        return "zip"
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        raise ValueError(
            f"path {str(path)!r} is a truncated or corrupt zip archive (its "
            "central directory is missing)."
        )
    if tarfile.is_tarfile(path):
        return "tar"
    if path.name.endswith(suffix):
        return "file"
    if path.name.lower().endswith(_ARCHIVE_SUFFIXES):
        raise ValueError(
            f"path {str(path)!r} is a truncated or corrupt archive (not a "
            "readable zip or tar file)."
        )
    raise ValueError(
        f"path {str(path)!r} is neither a folder, a .zip or tar archive of "
        f"'*{suffix}' files, nor such a file."
    )


def list_members(path, kind, suffix):
    """The data files of a folder, zip or file source, with their sizes.

    Parameters
    ----------
    path : pathlib.Path
        The source.
    kind : {"dir", "zip", "file"}
        Its kind, from :func:`source_kind`. A tar archive is one stream, read
        once: see :func:`iter_tar_contents`.
    suffix : str
        How the name of a data file ends; other files are left out, as are
        macOS ``__MACOSX/`` and ``._*`` companions.

    Returns
    -------
    members : list of (str, int)
        ``(name, size in bytes)`` sorted by name: for a folder the path
        relative to it (searched recursively), for a zip the member's name,
        for a file its own name.

    Raises
    ------
    ValueError
        If a data file of a folder is a FIFO, a device or a socket (reading
        it could block forever).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets._archive import list_members
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "2_keystrokes.txt").write_text("data")
    >>> _ = (folder / "readme.txt").write_text("notes")
    >>> list_members(folder, "dir", "_keystrokes.txt")
    [('2_keystrokes.txt', 4)]
    """
    if kind == "dir":
        out = []
        for root, _, files in os.walk(path):
            for f in files:
                if _is_member(f, suffix):
                    p = os.path.join(root, f)
                    size = _check_regular(p, f"path {str(path)!r}: member").st_size
                    out.append((os.path.relpath(p, path), size))
        out.sort()
        return out
    if kind == "zip":
        with zipfile.ZipFile(path) as zf:
            return sorted(
                (i.filename, i.file_size)
                for i in zf.infolist()
                if not i.is_dir() and _is_member(i.filename, suffix)
            )
    if kind == "file":
        return [(path.name, path.stat().st_size)]
    raise ValueError(f"kind must be 'dir', 'zip' or 'file', got {kind!r}.")


def read_members(path, kind, names):
    """The bytes of the named data files of a folder, zip or file source.

    Parameters
    ----------
    path : str or path-like
        The source.
    kind : {"dir", "zip", "file"}
        Its kind, from :func:`source_kind`.
    names : list of str
        Names from :func:`list_members` (a file source reads itself).

    Returns
    -------
    contents : list of bytes
        One entry a name, in order. A zip member is checked against its CRC
        (a corrupt one raises :class:`zipfile.BadZipFile` or
        :class:`zlib.error`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets._archive import read_members
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "2_keystrokes.txt").write_bytes(b"data")
    >>> read_members(folder, "dir", ["2_keystrokes.txt"])
    [b'data']
    """
    if kind == "zip":
        with zipfile.ZipFile(path) as zf:
            return [zf.read(n) for n in names]
    if kind == "dir":
        return [(Path(path) / n).read_bytes() for n in names]
    return [Path(path).read_bytes()]  # a single file


class _CheckedTarInfo(tarfile.TarInfo):
    """Records on the archive why tarfile stopped reading headers.

    tarfile ends its member loop silently on a missing or partial header
    (an archive truncated at a block boundary) as on the end-of-archive
    marker (a zero block): only the latter is a complete archive.
    """

    @classmethod
    def fromtarfile(cls, tarfile_):
        try:
            return super().fromtarfile(tarfile_)
        except tarfile.HeaderError as exc:
            tarfile_.skeer_stop = exc
            raise


def iter_tar_contents(path, suffix):
    """Stream the bytes of a tar archive's data files, then check its end.

    Parameters
    ----------
    path : str or path-like
        A tar archive, plain or compressed (gzip, bz2, xz).
    suffix : str
        How the name of a data file ends; other members are skipped.

    Yields
    ------
    content : bytes
        The bytes of each data file, in archive order.

    Raises
    ------
    tarfile.ReadError
        After the last member, if the archive ends without its end-of-archive
        marker (it is truncated).
    EOFError
        After the last member, if a compressed archive's stream ends before
        the compressor's end-of-stream (it is truncated).

    Examples
    --------
    >>> import io
    >>> import tarfile
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets._archive import iter_tar_contents
    >>> tar = Path(tempfile.mkdtemp()) / "a.tar"
    >>> with tarfile.open(tar, "w") as tf:
    ...     info = tarfile.TarInfo("data/1_keystrokes.txt")
    ...     info.size = 4
    ...     tf.addfile(info, io.BytesIO(b"data"))
    >>> list(iter_tar_contents(tar, "_keystrokes.txt"))
    [b'data']
    >>> _ = tar.write_bytes(tar.read_bytes()[:1024])  # header + data, no marker
    >>> list(iter_tar_contents(tar, "_keystrokes.txt"))
    Traceback (most recent call last):
    ...
    tarfile.ReadError: the archive ends without its end-of-archive marker ...
    """
    with tarfile.open(path, "r|*", tarinfo=_CheckedTarInfo) as tf:
        tf.skeer_stop = None
        for m in tf:
            if m.isfile() and _is_member(m.name, suffix):
                yield tf.extractfile(m).read()
        if not isinstance(tf.skeer_stop, tarfile.EOFHeaderError):
            why = tf.skeer_stop or "no end-of-archive marker"
            raise tarfile.ReadError(
                f"the archive ends without its end-of-archive marker ({why}): "
                "it is truncated"
            )
        # A compressed stream must also reach its own end (tarfile's stream
        # does not check): read the padding after the marker, then ask the
        # decompressor (zlib, bz2 and lzma objects all have ``eof``).
        stream = tf.fileobj
        while stream.read(_READ_BLOCK):
            pass
        decompressor = getattr(stream, "cmp", None)
        if decompressor is not None and not getattr(decompressor, "eof", True):
            raise EOFError("the compressed stream ends early: it is truncated")


def batched(items, size_of, limit):
    """Group items into lists whose sizes add up to at least ``limit``.

    Parameters
    ----------
    items : iterable
        Consumed lazily.
    size_of : callable
        ``size_of(item)`` -> a number.
    limit : int
        A batch is closed once its items' sizes reach it; the last batch may
        be smaller.

    Yields
    ------
    batch : list
        Consecutive items, in order.

    Examples
    --------
    >>> from skeer.datasets._archive import batched
    >>> list(batched([b"ab", b"c", b"def", b"g"], len, 3))
    [[b'ab', b'c'], [b'def'], [b'g']]
    """
    batch, total = [], 0
    for item in items:
        batch.append(item)
        total += size_of(item)
        if total >= limit:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def _corrupt_error(path, kind, exc):
    what = {"zip": "zip archive", "tar": "tar archive"}.get(kind, "source")
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return ValueError(f"path {str(path)!r}: truncated or corrupt {what} ({msg}).")


@contextlib.contextmanager
def corrupt_as_value_error(path, kind):
    """Turn the errors of a truncated or corrupt source into one ValueError.

    Inside the block, an exception of :data:`CORRUPT_ERRORS`, or an OSError
    without errno (bz2's "Invalid data stream"), is raised again as a
    one-line ValueError naming ``path`` (its chained cause suppressed); an
    OSError with an errno (a real I/O error, e.g. permission denied) passes.

    Parameters
    ----------
    path : pathlib.Path
        The source, named in the message.
    kind : str
        Its kind, from :func:`source_kind`: the message says "zip archive",
        "tar archive" or "source".

    Examples
    --------
    >>> import zlib
    >>> from skeer.datasets._archive import corrupt_as_value_error
    >>> try:
    ...     with corrupt_as_value_error("a.zip", "zip"):
    ...         zlib.decompress(b"not zlib")
    ... except ValueError as exc:
    ...     print(exc)
    path 'a.zip': truncated or corrupt zip archive (Error -3 while decompressing \
data: incorrect header check).
    """
    try:
        yield
    except CORRUPT_ERRORS as exc:
        raise _corrupt_error(path, kind, exc) from None
    except OSError as exc:
        if exc.errno is not None:  # a real I/O error, e.g. permission
            raise
        raise _corrupt_error(path, kind, exc) from None  # bz2's bad data
