"""Loader of the raw Aalto "136M Keystrokes" files (parsed in ``_aalto_files``)."""

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
    _session_frame,
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


_DROP_FIELDS = ("rows", *_ROW_REASONS, "sessions", *_SESSION_REASONS, "files read")
_DROP_FIELDS += ("files", *_FILE_REASONS)
_CACHE_FIELDS = ("target", "session", "sentence", "user_input")


def _drop_specs(d):
    """Arguments of _warn_dropped / _dropped_summary from a ``dropped`` dict."""
    return {
        "rows": (d["rows"], {_LABELS.get(r, r): d[r] for r in _ROW_REASONS}),
        "sessions": (d["sessions"], {_LABELS[r]: d[r] for r in _SESSION_REASONS}),
        "files": (d["files read"], {r: d[r] for r in _FILE_REASONS}),
    }


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

    Reads the study's ``<PARTICIPANT_ID>_keystrokes.txt`` files from a folder
    (recursively), a ``.zip`` or tar archive, or a single such file. One
    ``TEST_SECTION_ID`` is one session; the target is ``PARTICIPANT_ID``.

    Parameters
    ----------
    path : str or path-like
        Folder, archive or file holding the raw ``*_keystrokes.txt`` files.
    data_home : str or path-like, default=None
        Folder of the cache (its ``aalto/`` sub-folder); see
        :func:`get_data_home`.
    n_jobs : int, default=None
        joblib workers parsing chunks of files (-1: all cores).
    cache : bool, default=True
        Use the ``.npz`` cache (no pickle) keyed by a hash of the content; an
        unwritable ``data_home`` loads uncached, with a warning.
    as_frame : bool, default=False
        If True, ``data`` and ``frame`` are a long-format DataFrame, one row a
        key (``subject``, ``session``, ``press``, ``release``, ``keycode``),
        as :class:`~skeer.KeystrokeFeatures` takes it; ``target`` a Series
        named ``subject``, one entry a session.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    verbose : bool, default=True
        Show a progress bar (on stderr) once a parse has run 3 s.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` or tuple
        ``data``: sessions, (n_keys, 3) float64 arrays of press (ms), release
        (ms), JavaScript key code in file order, ordered by (subject, session
        id); ``target`` and ``session``, int64; ``sentence`` and
        ``user_input`` (``SENTENCE``, ``USER_INPUT``); ``feature_names``;
        ``dropped``, counts of what was read (``"rows"``, ``"sessions"``,
        ``"files read"``) and dropped (``"files"`` skipped, and per reason);
        ``frame`` (None unless ``as_frame``); ``DESCR``. ``(data, target)``
        if ``return_X_y``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not of the format, is truncated, or holds no session.

    Warns
    -----
    UserWarning
        Summarising what was dropped (also on a cache hit); if the cache
        cannot be written.

    Notes
    -----
    Bytes are latin-1 (UTF-8 where valid, UTF-16 after a byte-order mark).
    Dropped: malformed rows, keys released before pressed, sessions with < 2
    keys or press times going backwards (never re-sorted), and files empty,
    without the header line or holding it only, or UTF-16 that does not decode.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import load_aalto
    >>> from skeer.datasets._testing import write_aalto_files
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_aalto_files(folder, n_participants=3, n_sessions=2)
    >>> bunch = load_aalto(folder, data_home=folder / "cache")
    >>> len(bunch.data), bunch.feature_names
    (6, ['press', 'release', 'keycode'])
    """
    path = _check_path(path, "path")
    if not isinstance(cache, bool | np.bool_):
        raise ValueError(f"cache must be True or False, got {cache!r}.")
    with _archive.corrupt_as_value_error(path, "source"):
        kind = _archive.source_kind(path, _SUFFIX)
    result = cache_file = None
    if cache:
        # named by the hash of the source's content alone
        members = _archive.list_members(path, kind, _SUFFIX) if kind == "dir" else None
        tag = f"skeer-aalto-cache|v{_CACHE_VERSION}|{kind}|"
        key = _cache.content_key(path, tag, members)
        cache_file = get_data_home(data_home) / "aalto" / f"{key}.npz"
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

    _warn_dropped("load_aalto", **_drop_specs(result["dropped"]))
    keys, offsets = result["keys"], result["offsets"]
    target, session = result["target"], result["session"]
    frame = None
    if as_frame:
        frame, target = _session_frame(keys, offsets, target, session)
    data = frame if as_frame else np.split(keys, offsets[1:-1])
    return _bunch(
        return_X_y,
        data=data,
        target=target,
        session=session,
        sentence=result["sentence"],
        user_input=result["user_input"],
        feature_names=list(SESSION_COLUMNS),
        dropped=result["dropped"],
        frame=frame,
        DESCR=DESCR,
    )
