"""Loader for the raw files of the Aalto "136M Keystrokes" study.

The study logged 168,000 participants typing 15 sentences each; its download holds
one tab-separated ``<PARTICIPANT_ID>_keystrokes.txt`` per participant. This module
parses such files (a folder, a ``.zip`` or a tar archive of them, read by
:mod:`._archive`) into sessions, in parallel if asked, and keeps them in an
``.npz`` cache (:mod:`._cache`) so that a second load is fast.
"""

import tempfile  # noqa: F401 (tests patch _aalto.tempfile.mkstemp)

import numpy as np

from skeer.datasets import _archive, _cache
from skeer.datasets._aalto_files import (
    _FILE_REASONS,
    _LABELS,
    _ROW_REASONS,
    _SESSION_REASONS,
    _SUFFIX,
    _assemble,
    _parse_source,
)
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

_CACHE_VERSION = 2

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
    verbose=True,
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
    verbose : bool, default=True
        Show a progress bar (files parsed, on stderr) once a parse has run
        3 s: the whole study (168,000 participants) takes minutes, the
        development archive about 1 s (no bar). False shows nothing.

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
        If ``path`` is not a folder, archive or file of the format, or it or
        a data file of the folder is a FIFO, device or socket (not a regular
        file: reading it could block forever), holds no
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
            parts, counts = _parse_source(path, kind, n_jobs, verbose)
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
