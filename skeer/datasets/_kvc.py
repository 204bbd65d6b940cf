"""Loader and prediction writer for the KVC-onGoing keystroke verification challenge.

The challenge (Stragapede et al., Pattern Recognition 2025) releases, per scenario
(``desktop`` or ``mobile``), a development set, unlabelled test sessions, and the
list of test comparisons whose scores a participant submits.
"""

import re
from pathlib import Path

import numpy as np

from ._base import SESSION_COLUMNS, _bunch, _check_path, _long_frame

__all__ = ["load_kvc", "write_kvc_predictions"]

_SCENARIOS = ("desktop", "mobile")

DESCR = """\
KVC-onGoing: Keystroke Verification Challenge
=============================================

Free-text keystroke data in two scenarios, desktop (built from the Aalto "136M
Keystrokes" desktop study) and mobile (from the Aalto mobile typing study). Per
scenario the release holds:

- ``{scenario}_dev_set.npy``: development users, a dict user -> dict session ->
  (n_keys, 3) array of press time (ms), release time (ms), ASCII code;
- ``{scenario}_test_sessions.npy``: a dict session -> array of unlabelled sessions;
- ``{scenario}_comparisons.txt``: the pairs of test sessions to score.

Scores are submitted one per comparison, in order, higher meaning the same person.

Cite: G. Stragapede, R. Vera-Rodriguez, R. Tolosana, A. Morales, I. DeAndres-Tame,
N. Damer, J. Fierrez, J. Ortega-Garcia et al., "KVC-onGoing: Keystroke Verification
Challenge", Pattern Recognition 161, 111287 (2025),
https://doi.org/10.1016/j.patcog.2024.111287 . The underlying data keeps the terms of
the Aalto studies (non-commercial research use with attribution).
"""


def _check_scenario(scenario):
    if scenario not in _SCENARIOS:
        raise ValueError(
            f"scenario must be one of {list(_SCENARIOS)}, got {scenario!r}."
        )


def _find(folder, name):
    """``folder/name`` or ``folder/<scenario>/name`` (the release's layout)."""
    for candidate in (folder / name, folder / name.split("_", 1)[0] / name):
        if candidate.is_file():
            return candidate
    return None


def _load_pickled_dict(file):
    # The release stores Python dicts with np.save: loading them UNPICKLES,
    # which can execute code. Only use files from the official release.
    obj = np.load(file, allow_pickle=True)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.ndim == 0:
        obj = obj.item()
    if not isinstance(obj, dict):
        raise ValueError(
            f"{file.name} must hold a dict saved with numpy.save, got "
            f"{type(obj).__name__}."
        )
    return obj


def _as_session(arr, where):
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(
            f"{where}: a session must be an (n_keys, 3) array of press, release "
            f"and key code, got shape {arr.shape}."
        )
    return arr


def _read_comparisons(file):
    """Pairs of session ids, one pair a line; separators: whitespace , or ;."""
    pairs = []
    text = file.read_text(encoding="utf-8", errors="replace")
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tokens = [t.strip("()[]{}'\"") for t in re.split(r"[\s,;]+", line)]
        tokens = [t for t in tokens if t]
        if len(tokens) != 2:
            raise ValueError(
                f"{file.name}, line {lineno}: expected two session ids, got {line!r}."
            )
        pairs.append(tokens)
    return np.array(pairs, dtype=str).reshape(-1, 2)


def load_kvc(path, scenario="desktop", *, as_frame=False, return_X_y=False):
    """Load one scenario of the KVC-onGoing release.

    Parameters
    ----------
    path : str or path-like
        Folder of the release: it holds ``{scenario}_dev_set.npy`` (directly or
        in a ``{scenario}/`` sub-folder) and, when available,
        ``{scenario}_test_sessions.npy`` and ``{scenario}_comparisons.txt``.
    scenario : {"desktop", "mobile"}, default="desktop"
        Which scenario to load.
    as_frame : bool, default=False
        If True, ``data`` (and ``frame``) is the development set as a
        long-format :class:`pandas.DataFrame`, one row a key, with columns
        ``user``, ``session``, ``press``, ``release``, ``keycode``; ``target``
        is then a :class:`pandas.Series`.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` of the development set.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : list of ndarray of shape (n_keys, 3), or DataFrame
            Development sessions, float64 press (ms), release (ms), key code,
            in the release's order (user by user).
        target : ndarray of shape (n_sessions,)
            The user of each development session (the release's keys).
        session : ndarray of shape (n_sessions,)
            The id of each development session.
        test_data : list of ndarray, or None
            Test sessions (None when the file is absent).
        test_session : ndarray of shape (n_test,), or None
            Their ids, in the release's order.
        comparisons : ndarray of shape (n_comparisons, 2), str, or None
            The pairs of test-session ids to score, in file order.
        comparison_index : ndarray of shape (n_comparisons, 2), int, or None
            The same pairs as indices into ``test_data``.
        feature_names : list of str
            ``["press", "release", "keycode"]``.
        frame : DataFrame or None
            The long-format development set when ``as_frame=True``.
        DESCR : str
            Description and citation.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        If ``scenario`` is unknown, a file is not in the release's format, or a
        comparison names a session missing from the test sessions.
    FileNotFoundError
        If ``path`` or the development set file is missing.

    Notes
    -----
    The ``.npy`` files hold pickled Python dicts, so they are loaded with
    ``numpy.load(allow_pickle=True)``, which **executes pickle**: only load
    files from the trusted official release.

    Sessions are returned as released (nothing is dropped), since every test
    session may be part of a comparison.

    The comparisons file is read leniently: one pair a line, the two ids
    separated by whitespace, a comma or a semicolon; surrounding quotes or
    brackets are stripped; blank lines and lines starting with ``#`` are
    skipped. Ids are matched against the test sessions' keys as strings.

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
    _check_scenario(scenario)
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
    target, session = np.asarray(users), np.asarray(sessions)

    test_data = test_session = comparisons = comparison_index = None
    test_file = _find(folder, f"{scenario}_test_sessions.npy")
    if test_file is not None:
        test = _load_pickled_dict(test_file)
        test_data = [
            _as_session(a, f"{test_file.name}, session {s!r}") for s, a in test.items()
        ]
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
                    f"{test_file.name}, e.g. {missing[:3]}."
                )
            comparison_index = np.vectorize(position.__getitem__, otypes=[np.int64])(
                comparisons
            ).reshape(-1, 2)

    frame = None
    if as_frame:
        import pandas as pd

        offsets = np.concatenate([[0], np.cumsum([len(s) for s in data])])
        keys = np.concatenate(data) if data else np.empty((0, 3))
        frame = _long_frame(keys, offsets, (target, session), ("user", "session"))
        target = pd.Series(target, name="user")
        data = frame
    if return_X_y:
        return data, target
    return _bunch(
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


def write_kvc_predictions(scores, path):
    """Write comparison scores in the challenge's submission format.

    The file is plain text with one score per line, in the order of
    ``{scenario}_comparisons.txt``; higher means more likely the same person.

    Parameters
    ----------
    scores : array-like of shape (n_comparisons,)
        Finite similarity scores, one per comparison.
    path : str or path-like
        File to write (overwritten). Its folder must exist.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If ``scores`` is not 1-D, is empty, is not numeric or holds NaN or
        infinite values.

    Notes
    -----
    Scores are written with 10 significant digits (``%.10g``). The challenge
    scores submissions by their order, so keep the order of the comparisons
    file (``load_kvc(...).comparisons``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import write_kvc_predictions
    >>> out = Path(tempfile.mkdtemp()) / "desktop_predictions.txt"
    >>> _ = write_kvc_predictions([0.9, 0.25, 0.5], out)
    >>> out.read_text().split()
    ['0.9', '0.25', '0.5']
    """
    try:
        scores = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"scores must be numeric: {exc}") from None
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {scores.shape}.")
    if scores.size == 0:
        raise ValueError("scores is empty.")
    bad = np.count_nonzero(~np.isfinite(scores))
    if bad:
        raise ValueError(f"scores must be finite, got {bad} NaN or infinite values.")
    path = Path(path)
    np.savetxt(path, scores, fmt="%.10g")
    return path
