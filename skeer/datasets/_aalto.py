"""Loader for the raw files of the Aalto "136M Keystrokes" study.

The study logged 168,000 participants typing 15 sentences each; its download holds
one tab-separated ``<PARTICIPANT_ID>_keystrokes.txt`` per participant. This module
parses such files (a folder, a ``.zip`` or a tar archive of them, read by
:mod:`._archive`) into sessions, in parallel if asked, and keeps them in an
``.npz`` cache (:mod:`._cache`) so that a second load is fast.
"""

import csv
import io
import tempfile  # noqa: F401 (tests patch _aalto.tempfile.mkstemp)

import numpy as np

from skeer.datasets import _archive, _cache
from skeer.datasets._base import (
    SESSION_COLUMNS,
    _bunch,
    _check_path,
    _dropped_summary,
    _long_frame,
    _split_sessions,
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

_ROW_REASONS = ("malformed", "release before press")
_SESSION_REASONS = ("fewer than 2 keys", "press times going backwards")
_FILE_REASONS = (
    "empty",
    "no Aalto header line",
    "header line only",
    "UTF-16 that does not decode",
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
    return _parse_raw_files(_archive.read_members(path, kind, names))


def _parse_source(path, kind, n_jobs):
    """All (parts, counts) of a source, serially or with joblib workers."""
    from joblib import Parallel, delayed, effective_n_jobs

    n_jobs = effective_n_jobs(n_jobs)
    if kind == "tar":
        contents = _archive.iter_tar_contents(path, _SUFFIX)
        batches = _archive.batched(contents, len, _CHUNK_BYTES)
        if n_jobs == 1:
            results = (_parse_raw_files(b) for b in batches)
        else:  # this thread decompresses (zlib frees the GIL) while others parse
            results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
                delayed(_parse_raw_files)(b) for b in batches
            )
    else:
        members = _archive.list_members(path, kind, _SUFFIX)
        if not members:
            results = iter(())
        else:
            total = sum(s for _, s in members)
            limit = max(min(_CHUNK_BYTES, total // (4 * n_jobs)), _MIN_CHUNK_BYTES)
            if n_jobs == 1:
                limit = _CHUNK_BYTES
            batches = [
                [n for n, _ in b]
                for b in _archive.batched(members, lambda m: m[1], limit)
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
_CACHE_FIELDS = ("target", "session", "sentence", "user_input")


def _cache_file(path, kind, data_home):
    """The cache file of a source: named by the hash of its content alone, so
    the same data anywhere (copied, moved, renamed) shares one file."""
    members = _archive.list_members(path, kind, _SUFFIX) if kind == "dir" else None
    tag = f"skeer-aalto-cache|v{_CACHE_VERSION}|{kind}|"
    key = _cache.content_key(path, tag, members)
    return get_data_home(data_home) / "aalto" / f"{key}.npz"


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
    with _archive.corrupt_as_value_error(path, "source"):
        kind = _archive.source_kind(path, _SUFFIX)
    result = cache_file = None
    if cache:
        cache_file = _cache_file(path, kind, data_home)
        result = _cache.load_sessions(cache_file, _CACHE_FIELDS, _DROP_FIELDS)
    if result is None:
        with _archive.corrupt_as_value_error(path, kind):
            parts, counts = _parse_source(path, kind, n_jobs)
        result = _assemble(parts, counts)
        if len(result["offsets"]) <= 1:
            raise ValueError(
                f"path {str(path)!r}: no session could be loaded; "
                + _dropped_summary(**_drop_specs(result["dropped"]))
            )
        if cache_file is not None:
            _cache.save_sessions(cache_file, result, _DROP_FIELDS, loader="load_aalto")

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
