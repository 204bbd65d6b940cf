"""Read the data files of a folder, a zip or tar archive, and tell a truncated one
(a tar must reach its end-of-archive marker and the end of its compressed stream)."""

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

__all__ = ["CORRUPT_ERRORS", "batched", "corrupt_as_value_error", "iter_tar_contents"]
__all__ += ["list_members", "read_members", "source_kind"]

#: What a truncated or corrupt archive or compressed file raises (and bz2 an OSError).
CORRUPT_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError)
CORRUPT_ERRORS += (gzip.BadGzipFile, lzma.LZMAError)
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
    """``"dir"``, ``"zip"``, ``"tar"`` or ``"file"``; ValueError for anything else."""
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
    """Sorted ``[(name, size in bytes)]`` of the data files of a dir, zip or file."""
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
    """The bytes of the named data files of a dir, zip (CRC-checked) or file."""
    if kind == "zip":
        with zipfile.ZipFile(path) as zf:
            return [zf.read(n) for n in names]
    if kind == "dir":
        return [(Path(path) / n).read_bytes() for n in names]
    return [Path(path).read_bytes()]  # a single file


class _CheckedTarInfo(tarfile.TarInfo):
    """Records on the archive why tarfile stopped reading headers (truncation?)."""

    @classmethod
    def fromtarfile(cls, tarfile_):
        try:
            return super().fromtarfile(tarfile_)
        except tarfile.HeaderError as exc:
            tarfile_.skeer_stop = exc
            raise


def iter_tar_contents(path, suffix):
    """Yield the bytes of a tar archive's data files; raise if it is truncated."""
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
        # read the padding, then ask the decompressor whether its stream ended
        stream = tf.fileobj
        while stream.read(_READ_BLOCK):
            pass
        decompressor = getattr(stream, "cmp", None)
        if decompressor is not None and not getattr(decompressor, "eof", True):
            raise EOFError("the compressed stream ends early: it is truncated")


def batched(items, size_of, limit):
    """Group ``items`` lazily into lists whose ``size_of`` sum reaches ``limit``."""
    batch, total = [], 0
    for item in items:
        batch.append(item)
        total += size_of(item)
        if total >= limit:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


@contextlib.contextmanager
def corrupt_as_value_error(path, kind):
    """Re-raise corrupt-data errors as a one-line ValueError naming ``path``."""
    try:
        yield
    except (*CORRUPT_ERRORS, OSError) as exc:
        if not isinstance(exc, CORRUPT_ERRORS) and exc.errno is not None:
            raise
        what = {"zip": "zip archive", "tar": "tar archive"}.get(kind, "source")
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(
            f"path {str(path)!r}: truncated or corrupt {what} ({msg})."
        ) from None
