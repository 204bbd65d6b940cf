"""Loader for the raw files of the Aalto "136M Keystrokes" study.

The study logged 168,000 participants typing 15 sentences each; its download holds
one tab-separated ``<PARTICIPANT_ID>_keystrokes.txt`` per participant. This module
parses such files (a folder, a ``.zip`` or a tar archive of them) into sessions,
in parallel if asked, and keeps an ``.npz`` cache so that a second load is fast.
"""

import csv
import gzip
import hashlib
import io
import lzma
import os
import posixpath
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._base import (
    SESSION_COLUMNS,
    _bunch,
    _check_path,
    _dropped_summary,
    _long_frame,
    _pack_strings,
    _split_sessions,
    _unpack_strings,
    _warn_dropped,
    get_data_home,
)

__all__ = ["load_aalto"]

_COLUMNS = (
    "PARTICIPANT_ID",
    "TEST_SECTION_ID",
    "SENTENCE",
    "USER_INPUT",
    "KEYSTROKE_ID",
    "PRESS_TIME",
    "RELEASE_TIME",
    "LETTER",
    "KEYCODE",
)
_NUMERIC = (
    "PARTICIPANT_ID",
    "TEST_SECTION_ID",
    "PRESS_TIME",
    "RELEASE_TIME",
    "KEYCODE",
)
_TEXT = ("SENTENCE", "USER_INPUT")
_SUFFIX = "_keystrokes.txt"
_CHUNK_BYTES = 32 * 2**20  # text parsed per pandas call
_MIN_CHUNK_BYTES = 2**20  # smallest task handed to a worker
_CACHE_VERSION = 2
_HASH_BLOCK = 1 << 20

_ROW_REASONS = ("malformed", "release before press")
_SESSION_REASONS = ("fewer than 2 keys", "press times going backwards")
_FILE_REASONS = (
    "empty",
    "no Aalto header line",
    "header line only",
    "UTF-16 that does not decode",
)
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tbz", ".tbz2", ".txz", ".gz", ".bz2")
_ARCHIVE_SUFFIXES += (".xz",)
# Raised by a truncated or corrupt archive (bz2 raises OSError without errno).
_CORRUPT = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    gzip.BadGzipFile,
    lzma.LZMAError,
)
_LABELS = {
    "release before press": "with release before press",
    "fewer than 2 keys": "with fewer than 2 keys",
    "press times going backwards": "with press times going backwards",
}

DESCR = """\
Aalto "136M Keystrokes" (desktop study), raw keystroke logs
============================================================

Over 168,000 volunteers took an online typing test and typed 15 sentences each
(about 136 million keystrokes). Each ``<PARTICIPANT_ID>_keystrokes.txt`` holds one
row per key press: PARTICIPANT_ID, TEST_SECTION_ID (one typed sentence), SENTENCE,
USER_INPUT, KEYSTROKE_ID, PRESS_TIME, RELEASE_TIME (epoch ms), LETTER, KEYCODE
(JavaScript key code). The KVC-onGoing desktop benchmark was built from this data.

Here one TEST_SECTION_ID is one session: an (n_keys, 3) float64 array of press
time (ms), release time (ms) and key code, in the order of the file; the target
is the subject: the study's PARTICIPANT_ID.

Terms: non-commercial research use, with attribution. Cite

    Vivek Dhakal, Anna Maria Feit, Per Ola Kristensson, Antti Oulasvirta.
    Observations on Typing from 136 Million Keystrokes. In Proceedings of the
    2018 CHI Conference on Human Factors in Computing Systems (CHI '18), ACM.
    https://doi.org/10.1145/3173574.3174220

Home page: https://userinterfaces.aalto.fi/136Mkeystrokes
"""


# --------------------------------------------------------------------- sources


def _is_member(name):
    base = posixpath.basename(name.replace("\\", "/"))
    return (
        base.endswith(_SUFFIX)
        and not base.startswith("._")  # macOS AppleDouble companions
        and "__MACOSX/" not in name
    )


def _source_kind(path):
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
    if path.name.endswith(_SUFFIX):
        return "file"
    if path.name.lower().endswith(_ARCHIVE_SUFFIXES):
        raise ValueError(
            f"path {str(path)!r} is a truncated or corrupt archive (not a "
            "readable zip or tar file)."
        )
    raise ValueError(
        f"path {str(path)!r} is neither a folder, a .zip or tar archive of "
        f"'*{_SUFFIX}' files, nor such a file."
    )


def _dir_members(path):
    """Sorted (relative name, size) of the participant files under a folder."""
    out = []
    for root, _, files in os.walk(path):
        for f in files:
            if _is_member(f):
                p = os.path.join(root, f)
                out.append((os.path.relpath(p, path), os.path.getsize(p)))
    out.sort()
    return out


def _hash_file(h, file):
    with open(file, "rb") as f:
        while chunk := f.read(_HASH_BLOCK):
            h.update(chunk)


def _cache_key(path, kind):
    """BLAKE2b of the source's content: the bytes the loader reads.

    A file or archive: its bytes. A folder: the relative name, size and bytes
    of each participant file, in name order (other files are never read, so
    they do not count). The path and modification times do not count: a
    copied or touched source hits the cache; changed content misses it.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(f"skeer-aalto-cache|v{_CACHE_VERSION}|{kind}|".encode())
    if kind == "dir":
        for name, size in _dir_members(path):
            h.update(name.encode("utf-8", "surrogatepass") + b"\0")
            h.update(size.to_bytes(8, "little"))
            _hash_file(h, path / name)
    else:
        _hash_file(h, path)
    return h.hexdigest()


# --------------------------------------------------------------------- parsing


def _split_header(raw):
    """-> (columns tuple or None, body bytes ending with a newline)."""
    nl = raw.find(b"\n")
    first, body = (raw, b"") if nl < 0 else (raw[:nl], raw[nl + 1 :])
    first = first.rstrip(b"\r")
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    columns = tuple(c.strip() for c in first.decode("latin-1").split("\t"))
    if not set(_NUMERIC + _TEXT) <= set(columns):
        return None, b""
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return columns, body


def _fix_text(s):
    """Latin-1 decoded text: re-decode as UTF-8 when it was UTF-8 after all."""
    if s.isascii():
        return s
    try:
        return s.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return s


def _empty_part():
    return {
        "keys": np.empty((0, 3)),
        "pid": np.empty(0, np.int64),
        "sid": np.empty(0, np.int64),
        "length": np.empty(0, np.int64),
        "sentence": np.empty(0, object),
        "user_input": np.empty(0, object),
    }


def _parse_buffer(buf, columns):
    """Parse concatenated bodies sharing one header -> (runs part, row counts)."""
    import pandas as pd

    n_fields = len(columns)
    counts = dict.fromkeys(_ROW_REASONS, 0)
    if b"\r" in buf:
        buf = buf.replace(b"\r\n", b"\n")
    n_lines = buf.count(b"\n")
    if buf.count(b"\t") != (n_fields - 1) * n_lines:
        # Some line has a tab inside a text field or lost fields: keep only the
        # lines with exactly n_fields fields (blank lines hold no data).
        kept = []
        for line in buf.split(b"\n")[:-1]:
            if line.count(b"\t") == n_fields - 1:
                kept.append(line)
            elif line.strip():
                counts["malformed"] += 1
        buf = b"\n".join(kept) + b"\n" if kept else b""
    if not buf:
        return _empty_part(), counts

    idx = {c: columns.index(c) for c in _NUMERIC + _TEXT}
    df = pd.read_csv(
        io.BytesIO(buf),
        sep="\t",
        header=None,
        names=range(n_fields),
        usecols=sorted(idx.values()),
        dtype={idx[c]: "category" for c in _TEXT},
        quoting=csv.QUOTE_NONE,
        encoding="latin-1",
        engine="c",
        lineterminator="\n",
        skip_blank_lines=False,
        keep_default_na=False,
        na_values=[""],
    )
    num = {}
    for c in _NUMERIC:
        col = df[idx[c]]
        if not pd.api.types.is_numeric_dtype(col.dtype):
            col = pd.to_numeric(col, errors="coerce")
        num[c] = col.to_numpy(np.float64, na_value=np.nan)
    pid, sid = num["PARTICIPANT_ID"], num["TEST_SECTION_ID"]
    press, release = num["PRESS_TIME"], num["RELEASE_TIME"]
    ok = np.isfinite(np.column_stack(list(num.values()))).all(axis=1)
    ok &= (pid == np.floor(pid)) & (sid == np.floor(sid))
    counts["malformed"] += int(np.count_nonzero(~ok))
    backwards = ok & (release < press)
    counts["release before press"] += int(np.count_nonzero(backwards))
    ok &= ~backwards
    rows = np.flatnonzero(ok)
    if not len(rows):
        return _empty_part(), counts

    pid, sid = pid[rows].astype(np.int64), sid[rows].astype(np.int64)
    keys = np.column_stack([press[rows], release[rows], num["KEYCODE"][rows]])
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (pid[1:] != pid[:-1]) | (sid[1:] != sid[:-1])
    starts = np.flatnonzero(new)
    part = {
        "keys": keys,
        "pid": pid[starts],
        "sid": sid[starts],
        "length": np.diff(np.append(starts, len(rows))),
    }
    for c, name in zip(_TEXT, ("sentence", "user_input")):
        cat = df[idx[c]]
        cats = np.array([_fix_text(s) for s in cat.cat.categories] + [""], object)
        part[name] = cats[cat.cat.codes.to_numpy()[rows[starts]]]
    return part, counts


def _new_counts():
    return {**dict.fromkeys(_ROW_REASONS, 0), **dict.fromkeys(_FILE_REASONS, 0)}


def _decode_utf16(raw):
    """UTF-16 text (with a byte-order mark) as UTF-8 bytes; None if invalid."""
    try:
        return raw.decode("utf-16").encode("utf-8", "surrogatepass")
    except UnicodeError:
        return None


def _parse_raw_files(raws):
    """Parse raw file contents (header + body each) -> (parts, counts)."""
    groups = {}
    counts = _new_counts()
    counts["files read"] = 0
    for raw in raws:
        counts["files read"] += 1
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raw = _decode_utf16(raw)
            if raw is None:
                counts["UTF-16 that does not decode"] += 1
                continue
        if not raw or raw.isspace():
            counts["empty"] += 1
            continue
        columns, body = _split_header(raw)
        if columns is None:
            counts["no Aalto header line"] += 1
        elif not body or body.isspace():
            counts["header line only"] += 1
        else:
            groups.setdefault(columns, []).append(body)
    parts = []
    for columns, bodies in groups.items():
        part, c = _parse_buffer(b"".join(bodies), columns)
        parts.append(part)
        for k, v in c.items():
            counts[k] += v
    return parts, counts


def _read_members(path, kind, names):
    """Worker task: read the named members of a folder/zip/file and parse them."""
    if kind == "zip":
        with zipfile.ZipFile(path) as zf:
            raws = [zf.read(n) for n in names]
    elif kind == "dir":
        raws = [(Path(path) / n).read_bytes() for n in names]
    else:  # single file
        raws = [Path(path).read_bytes()]
    return _parse_raw_files(raws)


def _batched(items, size_of, limit):
    batch, total = [], 0
    for item in items:
        batch.append(item)
        total += size_of(item)
        if total >= limit:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


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


def _tar_batches(path, limit):
    with tarfile.open(path, "r|*", tarinfo=_CheckedTarInfo) as tf:
        tf.skeer_stop = None
        raws = (
            tf.extractfile(m).read() for m in tf if m.isfile() and _is_member(m.name)
        )
        yield from _batched(raws, len, limit)
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
        while stream.read(_HASH_BLOCK):
            pass
        decompressor = getattr(stream, "cmp", None)
        if decompressor is not None and not getattr(decompressor, "eof", True):
            raise EOFError("the compressed stream ends early: it is truncated")


def _parse_source(path, kind, n_jobs):
    """All (parts, counts) of a source, serially or with joblib workers."""
    from joblib import Parallel, delayed, effective_n_jobs

    n_jobs = effective_n_jobs(n_jobs)
    if kind == "tar":
        batches = _tar_batches(path, _CHUNK_BYTES)
        if n_jobs == 1:
            results = (_parse_raw_files(b) for b in batches)
        else:  # this thread decompresses (zlib frees the GIL) while others parse
            results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
                delayed(_parse_raw_files)(b) for b in batches
            )
    else:
        if kind == "zip":
            with zipfile.ZipFile(path) as zf:
                members = sorted(
                    (i.filename, i.file_size)
                    for i in zf.infolist()
                    if not i.is_dir() and _is_member(i.filename)
                )
        elif kind == "dir":
            members = _dir_members(path)
        else:
            members = [(path.name, path.stat().st_size)]
        if not members:
            results = iter(())
        else:
            total = sum(s for _, s in members)
            limit = max(min(_CHUNK_BYTES, total // (4 * n_jobs)), _MIN_CHUNK_BYTES)
            if n_jobs == 1:
                limit = _CHUNK_BYTES
            batches = [
                [n for n, _ in b] for b in _batched(members, lambda m: m[1], limit)
            ]
            if n_jobs == 1 or len(batches) == 1:
                results = (_read_members(path, kind, b) for b in batches)
            else:
                results = Parallel(n_jobs=n_jobs, return_as="generator")(
                    delayed(_read_members)(path, kind, b) for b in batches
                )
    parts = []
    counts = _new_counts()
    counts["files read"] = 0
    n_batches = 0
    for p, c in results:
        n_batches += 1
        parts.extend(p)
        for k, v in c.items():
            counts[k] += v
    if not n_batches:
        raise ValueError(f"path {str(path)!r} holds no '*{_SUFFIX}' file.")
    return parts, counts


def _assemble(parts, counts):
    """Concatenate parsed runs into sessions sorted by (participant, session)."""
    parts = [p for p in parts if len(p["pid"])] or [_empty_part()]
    keys = np.concatenate([p["keys"] for p in parts])
    pid = np.concatenate([p["pid"] for p in parts])
    sid = np.concatenate([p["sid"] for p in parts])
    length = np.concatenate([p["length"] for p in parts])
    texts = {
        name: np.concatenate([p[name] for p in parts])
        for name in ("sentence", "user_input")
    }
    del parts
    n_rows = len(keys) + sum(counts[r] for r in _ROW_REASONS)

    # Sessions ordered by (participant, session id); rows keep file order. A
    # session whose rows are split into several runs is joined (stable sort).
    order = np.lexsort((sid, pid))
    if np.any(order[1:] < order[:-1]):
        starts = np.concatenate([[0], np.cumsum(length)[:-1]])
        length, pid, sid = length[order], pid[order], sid[order]
        texts = {k: v[order] for k, v in texts.items()}
        new_starts = np.concatenate([[0], np.cumsum(length)[:-1]])
        gather = np.arange(len(keys)) + np.repeat(starts[order] - new_starts, length)
        keys = keys[gather]
        del gather
    first = np.ones(len(pid), dtype=bool)
    first[1:] = (pid[1:] != pid[:-1]) | (sid[1:] != sid[:-1])
    if not first.all():
        heads = np.flatnonzero(first)
        length = np.add.reduceat(length, heads)
        pid, sid = pid[heads], sid[heads]
        texts = {k: v[heads] for k, v in texts.items()}

    # Sessions the feature transformer cannot use.
    n_sessions = len(length)
    too_short = length < 2
    session_of_row = np.repeat(np.arange(n_sessions), length)
    step_back = np.flatnonzero(np.diff(keys[:, 0]) < 0)
    step_back = step_back[session_of_row[step_back] == session_of_row[step_back + 1]]
    backwards = np.zeros(n_sessions, dtype=bool)
    backwards[session_of_row[step_back]] = True
    backwards &= ~too_short
    keep = ~(too_short | backwards)
    if not keep.all():
        keys = keys[np.repeat(keep, length)]
        length, pid, sid = length[keep], pid[keep], sid[keep]
        texts = {k: v[keep] for k, v in texts.items()}
    offsets = np.zeros(len(length) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    dropped = {
        "rows": n_rows,
        "malformed": counts["malformed"],
        "release before press": counts["release before press"],
        "sessions": n_sessions,
        "fewer than 2 keys": int(too_short.sum()),
        "press times going backwards": int(backwards.sum()),
        "files read": counts["files read"],
        "files": sum(counts[r] for r in _FILE_REASONS),
        **{r: counts[r] for r in _FILE_REASONS},
    }
    return {
        "keys": np.ascontiguousarray(keys, dtype=np.float64),
        "offsets": offsets,
        "target": pid,
        "session": sid,
        **texts,
        "dropped": dropped,
    }


# ----------------------------------------------------------------------- cache

_DROP_FIELDS = (
    "rows",
    "malformed",
    "release before press",
    "sessions",
    "fewer than 2 keys",
    "press times going backwards",
    "files read",
    "files",
    *_FILE_REASONS,
)


def _save_cache(file, result):
    arrays = {
        "keys": result["keys"],
        "offsets": result["offsets"],
        "target": result["target"],
        "session": result["session"],
        "dropped": np.array([result["dropped"][k] for k in _DROP_FIELDS], np.int64),
    }
    for name in ("sentence", "user_input"):
        codes, blob, offsets = _pack_strings(result[name])
        arrays[f"{name}_codes"] = codes
        arrays[f"{name}_blob"] = blob
        arrays[f"{name}_offsets"] = offsets
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


def _load_cache(file):
    """The cached result; ValueError (rebuild it) if it is inconsistent."""
    with np.load(file, allow_pickle=False) as z:
        result = {k: z[k] for k in ("keys", "offsets", "target", "session")}
        dropped = z["dropped"]
        if dropped.shape != (len(_DROP_FIELDS),):
            raise ValueError("cache of another layout")
        result["dropped"] = dict(zip(_DROP_FIELDS, (int(v) for v in dropped)))
        for name in ("sentence", "user_input"):
            result[name] = _unpack_strings(
                z[f"{name}_codes"], z[f"{name}_blob"], z[f"{name}_offsets"]
            )
    keys, offsets = result["keys"], result["offsets"]
    n = len(offsets) - 1
    if not (
        keys.ndim == 2
        and keys.shape[1] == 3
        and n >= 1
        and offsets[0] == 0
        and offsets[-1] == len(keys)
        and (np.diff(offsets) > 0).all()
        and all(len(result[k]) == n for k in ("target", "session", "sentence"))
    ):
        raise ValueError("inconsistent cache")
    return result


def _cache_file(path, kind, data_home):
    """The cache file of a source: named by the hash of its content alone, so
    the same data anywhere (copied, moved, renamed) shares one file."""
    return get_data_home(data_home) / "aalto" / f"{_cache_key(path, kind)}.npz"


def _try_load_cache(file):
    try:
        if not file.is_file():
            return None
        return _load_cache(file)
    except (
        OSError,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,
    ):
        return None  # unreadable, inconsistent or of another version: rebuild


def _try_save_cache(file, result):
    try:
        _save_cache(file, result)
    except OSError as exc:
        warnings.warn(
            f"load_aalto could not write its cache to {str(file.parent)!r} "
            f"({exc.strerror or exc}); the data loaded, uncached (pass "
            "cache=False, or a writable data_home, to silence this).",
            UserWarning,
            stacklevel=3,
        )


def _corrupt_error(path, kind, exc):
    what = {"zip": "zip archive", "tar": "tar archive"}.get(kind, "source")
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return ValueError(f"path {str(path)!r}: truncated or corrupt {what} ({msg}).")


def _drop_specs(d):
    """Arguments of _warn_dropped / _dropped_summary from a ``dropped`` dict."""
    return {
        "rows": (d["rows"], {_LABELS.get(r, r): d[r] for r in _ROW_REASONS}),
        "sessions": (d["sessions"], {_LABELS[r]: d[r] for r in _SESSION_REASONS}),
        "files": (d["files read"], {r: d[r] for r in _FILE_REASONS}),
    }


# ----------------------------------------------------------------------- public


def load_aalto(
    path,
    *,
    data_home=None,
    n_jobs=None,
    cache=True,
    as_frame=False,
    return_X_y=False,
):
    """Load raw files of the Aalto "136M Keystrokes" study as sessions.

    Reads the study's ``<PARTICIPANT_ID>_keystrokes.txt`` files (tab-separated,
    one row a key press) from a folder (searched recursively), a ``.zip``, a tar
    archive (``.tar``, ``.tar.gz``, ...) or a single such file. One
    ``TEST_SECTION_ID`` (one typed sentence) is one session; the target is the
    subject (the study's ``PARTICIPANT_ID``). Other files in the source
    (readme, metadata) are ignored.

    Parameters
    ----------
    path : str or path-like
        Folder, archive or file holding the raw ``*_keystrokes.txt`` files.
    data_home : str or path-like, default=None
        Folder of the on-disk cache; see :func:`get_data_home` (``SKEER_DATA``
        or ``~/skeer_data``). The cache goes to its ``aalto/`` sub-folder.
    n_jobs : int, default=None
        Number of joblib workers parsing chunks of files. ``None`` means 1
        unless in a :func:`joblib.parallel_config` context; -1 means all cores.
        For a folder or a zip, worker processes read and parse their own
        files; for a tar archive (one compressed stream) this thread
        decompresses while worker threads parse. Worth it for the full study
        on a machine with idle cores; on a small or busy machine ``n_jobs=1``
        is as fast.
    cache : bool, default=True
        Read and write the cache: arrays in an ``.npz`` file (read with
        ``allow_pickle=False``) named by a BLAKE2b hash of the source's
        content (for a folder: the names, sizes and bytes of its participant
        files), so that any change of the data misses the cache while a
        moved, copied or touched source hits it. Hashing reads the source
        once more: about 25 ms for the 15 MB development archive (a cache
        hit takes about 65 ms, a parse about 1 s). False reads the source
        every time and writes nothing. A ``data_home`` that cannot be written
        (read-only) loads the data uncached, with a warning.
    as_frame : bool, default=False
        If True, ``data`` (and ``frame``) is a long-format
        :class:`pandas.DataFrame`, one row a key, with columns ``subject``
        (the ``PARTICIPANT_ID``), ``session``, ``press``, ``release``,
        ``keycode``, and ``target`` is a :class:`pandas.Series` named
        ``subject``, one entry a session. :class:`~skeer.KeystrokeFeatures`
        takes this frame as it is.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : list of ndarray of shape (n_keys, 3), or DataFrame
            Sessions: float64 press time (ms), release time (ms), JavaScript
            key code, rows in file order. Sessions are ordered by
            (subject, session id).
        target : ndarray of shape (n_sessions,), int64, or Series
            Subject (``PARTICIPANT_ID``) of each session.
        session : ndarray of shape (n_sessions,), int64
            ``TEST_SECTION_ID`` of each session.
        sentence : ndarray of shape (n_sessions,), object
            The sentence presented (``SENTENCE``).
        user_input : ndarray of shape (n_sessions,), object
            What the participant submitted (``USER_INPUT``).
        feature_names : list of str
            ``["press", "release", "keycode"]``, the columns of a session.
        dropped : dict
            Counts of what was read and dropped: ``"rows"`` (rows read),
            ``"malformed"``, ``"release before press"``, ``"sessions"``
            (sessions formed), ``"fewer than 2 keys"``, ``"press times going
            backwards"``, ``"files read"`` (participant files read),
            ``"files"`` (files skipped) and the reasons files were skipped:
            ``"empty"``, ``"no Aalto header line"``, ``"header line only"``,
            ``"UTF-16 that does not decode"``.
        frame : DataFrame or None
            The long-format frame when ``as_frame=True``.
        DESCR : str
            Description, citation and terms of the dataset.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a folder, archive or file of the format, holds no
        ``*_keystrokes.txt`` file, or no session could be loaded from it (the
        message counts what was dropped, and why); if the archive is
        truncated or corrupt (one line naming the file: a tar archive must
        end with its end-of-archive marker and a compressed one with the end
        of its stream, and a zip's members must decompress with their CRC).

    Warns
    -----
    UserWarning
        One warning summarising what was dropped, with counts per reason
        (also on a cache hit); and one if the cache cannot be written.

    Notes
    -----
    Reading: bytes are decoded as latin-1 (the files are not pure UTF-8; text
    that is valid UTF-8 is re-decoded as such), quote characters are literal
    (the files contain unbalanced ``"``), and numbers may be written in
    scientific notation (``1.472007e+12``), which is parsed exactly. A file
    starting with a UTF-16 byte-order mark (as some editors save text) is
    decoded as UTF-16.

    Dropped, with counts in one warning:

    - rows that do not have exactly the header's number of fields (a tab or
      newline inside a text field), or whose participant, session, press,
      release or key code is missing, non-numeric or non-finite
      (``"malformed"``);
    - rows whose release time precedes their press time (``"release before
      press"``): only that key is removed, the session keeps its other keys;
    - then sessions with fewer than 2 keys, and sessions whose press times
      decrease anywhere (typing order is kept as given, never re-sorted);
    - files that are empty, whose first line is not a header naming the
      columns, that hold the header line only, or that are UTF-16 text that
      does not decode (``"files"``, with the count of each reason).

    Terms: non-commercial research use with attribution; cite Dhakal, Feit,
    Kristensson and Oulasvirta, "Observations on Typing from 136 Million
    Keystrokes", CHI 2018 (see ``DESCR``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import load_aalto
    >>> from skeer.datasets._testing import write_aalto_files
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_aalto_files(folder, n_participants=3, n_sessions=2)
    >>> bunch = load_aalto(folder, data_home=folder / "cache")
    >>> len(bunch.data), sorted(set(bunch.target.tolist()))
    (6, [1, 2, 3])
    >>> bunch.data[0].shape[1], bunch.feature_names
    (3, ['press', 'release', 'keycode'])
    """
    path = _check_path(path, "path")
    if not isinstance(cache, bool | np.bool_):
        raise ValueError(f"cache must be True or False, got {cache!r}.")
    kind = _source_kind(path)
    result = cache_file = None
    if cache:
        cache_file = _cache_file(path, kind, data_home)
        result = _try_load_cache(cache_file)
    if result is None:
        try:
            parts, counts = _parse_source(path, kind, n_jobs)
        except _CORRUPT as exc:
            raise _corrupt_error(path, kind, exc) from None
        except OSError as exc:
            if exc.errno is not None:  # a real I/O error, e.g. permission
                raise
            raise _corrupt_error(path, kind, exc) from None  # bz2's bad data
        result = _assemble(parts, counts)
        if len(result["offsets"]) <= 1:
            raise ValueError(
                f"path {str(path)!r}: no session could be loaded; "
                + _dropped_summary(**_drop_specs(result["dropped"]))
            )
        if cache_file is not None:
            _try_save_cache(cache_file, result)

    d = result["dropped"]
    _warn_dropped("load_aalto", **_drop_specs(d))
    keys, offsets = result["keys"], result["offsets"]
    target, session = result["target"], result["session"]
    frame = None
    if as_frame:
        import pandas as pd

        frame = _long_frame(keys, offsets, (target, session), ("subject", "session"))
        data = frame
        target = pd.Series(target, name="subject")
    else:
        data = _split_sessions(keys, offsets)
    if return_X_y:
        return data, target
    return _bunch(
        data=data,
        target=target,
        session=session,
        sentence=result["sentence"],
        user_input=result["user_input"],
        feature_names=list(SESSION_COLUMNS),
        dropped=d,
        frame=frame,
        DESCR=DESCR,
    )
