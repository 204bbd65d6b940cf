"""Loader of the KVC-onGoing keystroke verification challenge's release."""

import ast
import re

import numpy as np

from skeer._validation import check_one_kind
from skeer.datasets._base import (
    SESSION_COLUMNS,
    _bunch,
    _check_path,
    _check_regular,
    _session_frame,
)
from skeer.datasets._safe_pickle import load_npy

__all__ = ["load_kvc"]

_SCENARIOS = ("desktop", "mobile")

DESCR = """\
KVC-onGoing: Keystroke Verification Challenge
=============================================

Free-text keystroke data in two scenarios, desktop (built from the Aalto "136M
Keystrokes" desktop study) and mobile (from the Aalto mobile typing study). Per
scenario the release holds:

- ``{scenario}_dev_set.npy``: development users, a dict user -> dict session ->
  (n_keys, 3) array of press time (ms), release time (ms), ASCII code;
- ``{scenario}_test_sessions.npy``: a dict session id -> (n_keys, 3) array of an
  unlabelled session;
- ``{scenario}_comparisons.txt``: the pairs of test sessions to score, one line
  holding a Python list of session-id pairs.

A submission is a zip of ``desktop_predictions.txt`` and/or
``mobile_predictions.txt``, each one line holding the Python list of scores, one
per comparison in the comparisons' order, higher meaning the same person.

Cite: G. Stragapede, R. Vera-Rodriguez, R. Tolosana, A. Morales, I. DeAndres-Tame,
N. Damer, J. Fierrez, J. Ortega-Garcia et al., "KVC-onGoing: Keystroke Verification
Challenge", Pattern Recognition 161, 111287 (2025),
https://doi.org/10.1016/j.patcog.2024.111287 . The underlying data keeps the terms of
the Aalto studies (non-commercial research use with attribution).
"""


def _find(folder, name):
    """``folder/name`` or ``folder/<scenario>/name`` (checked regular), or None."""
    for candidate in (folder / name, folder / name.split("_", 1)[0] / name):
        if candidate.exists():
            _check_regular(candidate, f"path {str(folder)!r}: file")
            return candidate
    return None


def _load_pickled_dict(file):
    """The dict a release's ``.npy`` file holds, read without running code."""
    obj = load_npy(file)
    if obj.dtype == object and obj.ndim == 0:
        obj = obj.item()
    if not isinstance(obj, dict):
        what = (
            f"an array of shape {obj.shape} and dtype {obj.dtype}"
            if isinstance(obj, np.ndarray)
            else type(obj).__name__
        )
        raise ValueError(
            f"{file.name} must hold a dict saved with numpy.save, got {what}."
        )
    return obj


def _as_session(arr, where):
    try:
        arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: a session must be a numeric array: {exc}") from None
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(
            f"{where}: a session must be an (n_keys, 3) array of press, release "
            f"and key code, got shape {arr.shape}."
        )
    return arr


# The kit's [['1234_5', '987_2'], ...] is matched pair by pair (ast.literal_eval
# on a million pairs takes 20 s and 3 GB); anything else is literal_eval'd, capped.
_ID = r"""'[^'\\\n]*'|"[^"\\\n]*"|[+-]?(?:0|[1-9]\d*)"""  # 007: not Python
_PAIR = re.compile(
    rf"\s*(?:\[\s*({_ID})\s*,\s*({_ID})\s*,?\s*\]|\(\s*({_ID})\s*,\s*({_ID})\s*,?\s*\))"
    r"\s*(?:,|\Z)"
)
_MAX_COMPARISONS_BYTES = 1 << 30  # the real files are tens of MB
_MAX_LITERAL_EVAL_BYTES = 8 << 20  # ast.literal_eval needs ~150x this in memory


def _id_text(token):
    """The id a token names, as text (``+7`` is ``7``, ``-0`` is ``0``)."""
    if token[0] in "'\"":
        return token[1:-1]
    digits = token.lstrip("+")
    return "0" if digits == "-0" else digits


def _shown(text, limit=40):
    """``text`` quoted for a message, cut to ``limit`` characters."""
    return (
        repr(text)
        if len(text) <= limit
        else f"{text[:limit]!r}... ({len(text):,} characters)"
    )


def _pairs_fast(body):
    """Pairs of ``body`` (the list without its brackets), or None."""
    pairs, end = [], 0
    for m in _PAIR.finditer(body):
        if m.start() != end:
            return None
        end = m.end()
        a, b = (m[1], m[2]) if m[1] is not None else (m[3], m[4])
        pairs.append((_id_text(a), _id_text(b)))
    return pairs if end == len(body) else None


def _pairs_literal(text, name):
    """Pairs of a Python list literal, parsed with ast.literal_eval."""
    if len(text) > _MAX_LITERAL_EVAL_BYTES:
        raise ValueError(
            f"{name}: not a list of session-id pairs in the challenge kit's "
            "format (quoted ids or integers), and too large "
            f"({len(text):,} characters) to parse as a general Python literal."
        )
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        value = None
    ok = isinstance(value, list | tuple) and all(
        isinstance(p, list | tuple)
        and len(p) == 2
        and all(isinstance(v, str | int) and not isinstance(v, bool) for v in p)
        for p in value
    )
    if not ok:
        raise ValueError(
            f"{name}: expected a Python list of session-id pairs on one line, "
            "e.g. [['t0', 't1'], ['t0', 't2']] (the challenge kit's format), or "
            f"one pair a line; got {text[:60]!r}{'...' if len(text) > 60 else ''}."
        )
    return [(str(a), str(b)) for a, b in value]


def _pairs_lines(text, name):
    """Pairs written one a line; separators: whitespace , or ;."""
    pairs = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tokens = [t.strip("()[]{}'\"") for t in re.split(r"[\s,;]+", line)]
        tokens = [t for t in tokens if t]
        if len(tokens) != 2:
            raise ValueError(
                f"{name}, line {lineno}: expected two session ids, got "
                f"{line[:60]!r}{'...' if len(line) > 60 else ''}."
            )
        pairs.append(tokens)
    return pairs


def _read_comparisons(file):
    """Session-id pairs of a comparisons file, as an (n, 2) str array."""
    size = file.stat().st_size
    if size > _MAX_COMPARISONS_BYTES:
        raise ValueError(
            f"{file.name}: {size:,} bytes, more than the {_MAX_COMPARISONS_BYTES:,} "
            "a comparisons file may have."
        )
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(
            f"{file.name}: not UTF-8 or ASCII text (a UTF-16 file?); the "
            "comparisons file is a Python list of session-id pairs."
        ) from None
    stripped = text.strip()
    if re.match(r"\[\s*[\[(\]]", stripped):  # a list of pairs (or empty)
        pairs = _pairs_fast(stripped[1:-1]) if stripped.endswith("]") else None
        if pairs is None:
            pairs = _pairs_literal(stripped, file.name)
    else:
        pairs = _pairs_lines(text, file.name)
    return np.array(pairs, dtype=str).reshape(-1, 2)


def load_kvc(path, scenario="desktop", *, as_frame=False, return_X_y=False):
    """Load one scenario of the KVC-onGoing release.

    Parameters
    ----------
    path : str or path-like
        Folder of the release, holding ``{scenario}_dev_set.npy`` (directly or
        in ``{scenario}/``) and, if available, ``{scenario}_test_sessions.npy``
        and ``{scenario}_comparisons.txt``.
    scenario : {"desktop", "mobile"}, default="desktop"
        Which scenario to load.
    as_frame, return_X_y : bool, default=False
        As in :func:`load_aalto`, for the development set.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` or tuple
        As :func:`load_aalto` for the development set, in the release's
        order (``target`` its user keys, ``session`` its session ids), with
        ``test_data`` and ``test_session`` (the test sessions and their ids),
        ``comparisons`` (the (n_comparisons, 2) str pairs of test-session
        ids to score, in file order) and ``comparison_index`` (the same as
        indices into ``test_data``); each None if its file is absent.

    Raises
    ------
    ValueError
        If ``scenario`` is unknown or a file is not in the release's format.
    FileNotFoundError
        If ``path`` or the development set file is missing.

    Notes
    -----
    The pickled ``.npy`` dicts are read without running code (see
    :ref:`datasets`). The comparisons file is the kit's one-line list of pairs
    or one pair a line; ids are matched as strings. Nothing is dropped.

    Examples
    --------
    >>> import tempfile
    >>> from skeer.datasets import load_kvc
    >>> from skeer.datasets._testing import write_kvc_files
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_kvc_files(folder, "desktop", n_users=3, n_sessions=4, n_test=5)
    >>> kvc = load_kvc(folder, "desktop")
    >>> len(kvc.data), len(kvc.test_data), kvc.comparison_index.shape[1]
    (12, 5, 2)
    """
    if scenario not in _SCENARIOS:
        raise ValueError(
            f"scenario must be one of {list(_SCENARIOS)}, got {scenario!r}."
        )
    folder = _check_path(path, "path")
    if not folder.is_dir():
        raise ValueError(f"path must be the release's folder, got {str(folder)!r}.")
    dev_file = _find(folder, f"{scenario}_dev_set.npy")
    if dev_file is None:
        raise FileNotFoundError(
            f"path {str(folder)!r} has no {scenario}_dev_set.npy (nor "
            f"{scenario}/{scenario}_dev_set.npy)."
        )
    dev = _load_pickled_dict(dev_file)
    data, users, sessions = [], [], []
    for user, user_sessions in dev.items():
        if not isinstance(user_sessions, dict):
            raise ValueError(
                f"{dev_file.name}: user {user!r} must map to a dict of sessions."
            )
        for sid, arr in user_sessions.items():
            data.append(_as_session(arr, f"{dev_file.name}, session {sid!r}"))
            users.append(user)
            sessions.append(sid)
    check_one_kind(list(dev), f"{dev_file.name}: the user ids")
    check_one_kind(sessions, f"{dev_file.name}: the session ids")
    target, session = np.asarray(users), np.asarray(sessions)

    test_data = test_session = comparisons = comparison_index = None
    test_file = _find(folder, f"{scenario}_test_sessions.npy")
    if test_file is not None:
        test = _load_pickled_dict(test_file)
        test_data = [
            _as_session(a, f"{test_file.name}, session {s!r}") for s, a in test.items()
        ]
        check_one_kind(list(test), f"{test_file.name}: the session ids")
        test_session = np.asarray(list(test))
    cmp_file = _find(folder, f"{scenario}_comparisons.txt")
    if cmp_file is not None:
        comparisons = _read_comparisons(cmp_file)
        if test_session is not None:
            position = {str(s): i for i, s in enumerate(test_session.tolist())}
            missing = sorted(set(comparisons.ravel()) - set(position))
            if missing:
                raise ValueError(
                    f"{cmp_file.name}: {len(missing)} session ids are not in "
                    f"{test_file.name}, e.g. "
                    + ", ".join(_shown(str(m)) for m in missing[:3])
                    + "."
                )
            comparison_index = np.vectorize(position.__getitem__, otypes=[np.int64])(
                comparisons
            ).reshape(-1, 2)

    frame = None
    if as_frame:
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in data])])
        keys = np.concatenate(data) if data else np.empty((0, 3))
        frame, target = _session_frame(keys, offsets, target, session)
        data = frame
    return _bunch(
        return_X_y,
        data=data,
        target=target,
        session=session,
        test_data=test_data,
        test_session=test_session,
        comparisons=comparisons,
        comparison_index=comparison_index,
        feature_names=list(SESSION_COLUMNS),
        frame=frame,
        DESCR=DESCR,
    )
