"""Helpers shared by the dataset loaders: data home, path checks, warnings, Bunches."""

import contextlib
import os
import stat
import tempfile
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["get_data_home"]

#: Column names of one session array: press time (ms), release time (ms), key code.
SESSION_COLUMNS = ("press", "release", "keycode")


def get_data_home(data_home=None):
    """Return the folder where skeer keeps downloaded data and caches.

    ``data_home``, else the ``SKEER_DATA`` environment variable, else
    ``~/skeer_data`` (``~`` expanded); created only when a loader writes to it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit folder; overrides the environment variable.

    Returns
    -------
    data_home : pathlib.Path
        The resolved folder.

    Examples
    --------
    >>> from skeer.datasets import get_data_home
    >>> get_data_home("/tmp/skeer_cache").as_posix()
    '/tmp/skeer_cache'
    """
    if data_home is None:
        data_home = os.environ.get("SKEER_DATA") or Path("~") / "skeer_data"
    return Path(data_home).expanduser()


_NOT_REGULAR = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(path, name="path", *, folder=False):
    """``os.stat(path)``; ValueError unless a regular file (or ``folder``)."""
    info = os.stat(path)
    if stat.S_ISREG(info.st_mode) or (folder and stat.S_ISDIR(info.st_mode)):
        return info
    what = next((w for test, w in _NOT_REGULAR if test(info.st_mode)), "no file")
    other = " nor a folder" if folder else ""
    raise ValueError(
        f"{name} {str(path)!r} is {what}, not a regular file{other}: skeer reads "
        "regular files only (a FIFO or a device could block the read forever)."
    )


def _check_path(path, name="path"):
    """``path`` as a Path: an existing regular file or folder, else an error."""
    if path is None or not isinstance(path, str | os.PathLike):
        raise ValueError(f"{name} must be a str or path-like, got {path!r}.")
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{name}: no such file or folder: {str(path)!r}.")
    _check_regular(path, name, folder=True)
    return path


def _read_csv(path, **kwargs):
    """``(path, pandas.read_csv(path))`` of a CSV file; one-line ValueErrors."""
    import pandas as pd

    from skeer.datasets._archive import CORRUPT_ERRORS

    path = _check_path(path, "path")
    if not path.is_file():
        raise ValueError(f"path must be a CSV file, got the folder {str(path)!r}.")
    try:
        return path, pd.read_csv(path, **kwargs)
    except (ValueError, OSError, *CORRUPT_ERRORS) as exc:
        msg = " ".join(str(exc).split())
        raise ValueError(
            f"path {str(path)!r} is not a readable CSV (truncated, corrupt, or "
            f"not UTF-8?): {msg}"
        ) from None


@contextlib.contextmanager
def _atomic_file(dest, suffix, *, prefix=None, mode=0o644):
    """A binary file beside ``dest``, replacing it (chmod ``mode``) on success."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _dropped_summary(rows=None, sessions=None, files=None):
    """``"3 of 40 rows (2 malformed, 1 ...); ..."`` from ``(total, {reason: n})``."""
    parts = []
    for noun, spec in (("rows", rows), ("sessions", sessions), ("files", files)):
        if spec is None:
            continue
        total, reasons = spec
        reasons = {k: int(v) for k, v in reasons.items() if v}
        n = sum(reasons.values())
        if not n:
            continue
        why = ", ".join(f"{v:,} {k}" for k, v in reasons.items())
        of = f" of {total:,}" if total is not None else ""
        noun = noun[:-1] if n == 1 and total is None else noun
        parts.append(f"{n:,}{of} {noun} ({why})")
    return "; ".join(parts)


def _warn_dropped(loader, rows=None, sessions=None, files=None, stacklevel=3):
    """One warning summarising what ``loader`` dropped, if anything."""
    summary = _dropped_summary(rows, sessions, files)
    if summary:
        warnings.warn(
            f"{loader} dropped {summary}.", UserWarning, stacklevel=stacklevel
        )


def _session_frame(keys, offsets, target, session):
    """``(long-format frame, one row a key; target as a Series named subject)``."""
    import pandas as pd

    lengths = np.diff(offsets)
    ids = (("subject", target), ("session", session))
    cols = {name: np.repeat(np.asarray(v), lengths) for name, v in ids}
    keys = np.asarray(keys, dtype=np.float64).reshape(-1, 3)
    for j, name in enumerate(SESSION_COLUMNS):
        cols[name] = keys[:, j]
    return pd.DataFrame(cols), pd.Series(target, name="subject")


def _pack_strings(strings):
    """Strings -> (codes int64, utf-8 bytes uint8, offsets int64): no pickle."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(strings, dtype=object))
    encoded = [str(s).encode("utf-8", "surrogatepass") for s in uniques]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return codes.astype(np.int64), blob, offsets


def _unpack_strings(codes, blob, offsets):
    raw = blob.tobytes()
    uniques = [raw[a:b].decode("utf-8", "surrogatepass") for a, b in pairwise(offsets)]
    return np.array(uniques + [""], dtype=object)[codes]  # code -1 (missing): ""


def _bunch(return_X_y=False, **fields):
    """``(data, target)`` if ``return_X_y``, else a Bunch of ``fields``."""
    return (fields["data"], fields["target"]) if return_X_y else Bunch(**fields)
