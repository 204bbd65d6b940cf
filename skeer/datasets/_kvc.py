"""Loader and prediction writer for the KVC-onGoing keystroke verification challenge.

The challenge (Stragapede et al., Pattern Recognition 2025) releases, per scenario
(``desktop`` or ``mobile``), a development set, unlabelled test sessions, and the
list of test comparisons whose scores a participant submits.
"""

import ast
import os
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from skeer.datasets._base import SESSION_COLUMNS, _bunch, _check_path, _long_frame
from skeer.datasets._safe_pickle import load_npy

__all__ = [
    "load_kvc",
    "make_kvc_submission",
    "read_kvc_predictions",
    "write_kvc_predictions",
]

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


# The challenge kit's comparisons file: ONE line, a Python list of id pairs,
# e.g. [['1234_5', '987_2'], ...]. The common case (quoted ids without escapes
# or integer ids) is matched pair by pair: ast.literal_eval on a million pairs
# takes 20 s and 3 GB. Anything else goes to ast.literal_eval, size-limited.
_ID = r"""'[^'\\\n]*'|"[^"\\\n]*"|[+-]?\d+"""
_PAIR = re.compile(
    rf"\s*(?:\[\s*({_ID})\s*,\s*({_ID})\s*,?\s*\]|\(\s*({_ID})\s*,\s*({_ID})\s*,?\s*\))"
    r"\s*(?:,|\Z)"
)
_MAX_COMPARISONS_BYTES = 1 << 30  # the real files are tens of MB
_MAX_LITERAL_EVAL_BYTES = 8 << 20  # ast.literal_eval needs ~150x this in memory


def _id_text(token):
    return token[1:-1] if token[0] in "'\"" else str(int(token))


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
    """Session-id pairs of a comparisons file, as an (n, 2) str array.

    The kit's one-line list literal (``[[a, b], ...]``, pairs as lists or
    tuples) or one pair a line.
    """
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
        Folder of the release: it holds ``{scenario}_dev_set.npy`` (directly or
        in a ``{scenario}/`` sub-folder) and, when available,
        ``{scenario}_test_sessions.npy`` and ``{scenario}_comparisons.txt``.
    scenario : {"desktop", "mobile"}, default="desktop"
        Which scenario to load.
    as_frame : bool, default=False
        If True, ``data`` (and ``frame``) is the development set as a
        long-format :class:`pandas.DataFrame`, one row a key, with columns
        ``subject`` (the release's user), ``session``, ``press``, ``release``,
        ``keycode``; ``target`` is then a :class:`pandas.Series` named
        ``subject``. :class:`~skeer.KeystrokeFeatures` takes this frame as it
        is.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` of the development set.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : list of ndarray of shape (n_keys, 3), or DataFrame
            Development sessions, float64 press (ms), release (ms), key code,
            in the release's order (subject by subject).
        target : ndarray of shape (n_sessions,)
            The subject of each development session (the release's user
            keys).
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
    The ``.npy`` files hold pickled Python dicts. They are read without
    running any code: the header is parsed with :mod:`numpy.lib.format` and
    the pickle by a restricted unpickler that builds only dicts, lists,
    tuples, str, int, float, bool, None and numeric numpy arrays. A file
    pickling anything else (which ``numpy.load(allow_pickle=True)`` would
    execute) is refused with a ValueError naming it, as is a truncated file.

    Sessions are returned as released (nothing is dropped), since every test
    session may be part of a comparison.

    The comparisons file is read in the challenge kit's format, one line
    holding a Python list of pairs (``[['t0', 't1'], ['t0', 't2']]``; pairs
    may be tuples), parsed as a literal, never evaluated. One pair a line is
    accepted too: the two ids separated by whitespace, a comma or a
    semicolon, surrounding quotes or brackets stripped, blank lines and lines
    starting with ``#`` skipped. Anything else is refused. Ids are matched
    against the test sessions' keys as strings.

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
        frame = _long_frame(keys, offsets, (target, session), ("subject", "session"))
        target = pd.Series(target, name="subject")
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


def _check_scores(scores, name="scores"):
    try:
        scores = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if scores.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {scores.shape}.")
    if scores.size == 0:
        raise ValueError(f"{name} is empty.")
    bad = np.count_nonzero(~np.isfinite(scores))
    if bad:
        raise ValueError(f"{name} must be finite, got {bad} NaN or infinite values.")
    return scores


def _format_scores(scores):
    """The kit's line: ``str`` of the Python list of floats (full precision)."""
    return str(scores.tolist())


def write_kvc_predictions(scores, path):
    """Write comparison scores in the challenge kit's prediction format.

    The file holds one line, the Python list of the scores (``str`` of a list
    of floats, each at full precision), in the order of
    ``{scenario}_comparisons.txt``: what the kit's
    ``generate_submission_files.py`` writes to ``{scenario}_predictions.txt``.
    Higher means more likely the same person.

    Parameters
    ----------
    scores : array-like of shape (n_comparisons,)
        Finite similarity scores, one per comparison.
    path : str or path-like
        File to write (overwritten). Its folder must exist. The challenge
        expects the name ``desktop_predictions.txt`` or
        ``mobile_predictions.txt``.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If ``scores`` is not 1-D, is empty, is not numeric or holds NaN or
        infinite values.

    See Also
    --------
    make_kvc_submission : Zip the prediction files into the archive submitted.
    read_kvc_predictions : Read such a file back.

    Notes
    -----
    The challenge scores a submission by position, so keep the order of the
    comparisons file (``load_kvc(...).comparisons``). Floats are written with
    ``repr`` (17 significant digits at most), so they read back exactly.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import write_kvc_predictions
    >>> out = Path(tempfile.mkdtemp()) / "desktop_predictions.txt"
    >>> _ = write_kvc_predictions([0.9, 0.25, 1 / 3], out)
    >>> out.read_text()
    '[0.9, 0.25, 0.3333333333333333]'
    """
    scores = _check_scores(scores)
    path = Path(path)
    path.write_text(_format_scores(scores), encoding="ascii")
    return path


def read_kvc_predictions(path):
    """Read a prediction file: the kit's one-line list, or one score a line.

    Parameters
    ----------
    path : str or path-like
        A ``{scenario}_predictions.txt`` file.

    Returns
    -------
    scores : ndarray of shape (n_comparisons,), float64
        The scores, in file order.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is neither a Python list of numbers on one line nor one
        number a line, or holds no score or a NaN or infinite one.

    See Also
    --------
    write_kvc_predictions : Writes the kit's format.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import read_kvc_predictions, write_kvc_predictions
    >>> out = Path(tempfile.mkdtemp()) / "mobile_predictions.txt"
    >>> read_kvc_predictions(write_kvc_predictions([0.5, -1.25], out))
    array([ 0.5 , -1.25])
    """
    path = _check_path(path, "path")
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if text.startswith("[") and text.endswith("]"):
        tokens = text[1:-1].split(",")
        if tokens and not tokens[-1].strip():
            tokens.pop()  # a trailing comma
    else:
        tokens = text.split()
    number = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
    bad = [t.strip() for t in tokens if not number.fullmatch(t.strip())]
    if bad:
        raise ValueError(
            f"{path.name}: expected a Python list of numbers on one line (or one "
            f"number a line), found {bad[0][:30]!r} ({len(bad)} invalid value(s))."
        )
    return _check_scores([float(t) for t in tokens], f"the scores of {path.name}")


def make_kvc_submission(predictions, path):
    """Zip KVC-onGoing predictions into the archive the challenge accepts.

    The archive holds ``desktop_predictions.txt`` and/or
    ``mobile_predictions.txt`` at its root, each in the format of
    :func:`write_kvc_predictions`.

    Parameters
    ----------
    predictions : dict
        Scenario (``"desktop"`` or ``"mobile"``) -> the scores of its
        comparisons (array-like of shape (n_comparisons,)) or the path of a
        prediction file already written (read with
        :func:`read_kvc_predictions` and rewritten in the kit's format).
    path : str or path-like
        The zip file to write (replaced atomically if it exists). Its folder
        must exist.

    Returns
    -------
    path : pathlib.Path
        The archive written.

    Raises
    ------
    ValueError
        If ``predictions`` is not a non-empty dict keyed by scenario, or
        holds invalid scores.
    FileNotFoundError
        If a prediction file named in ``predictions`` does not exist.

    See Also
    --------
    write_kvc_predictions : One scenario's prediction file.
    load_kvc : Its ``comparisons`` fix the order of the scores.

    Examples
    --------
    >>> import tempfile
    >>> import zipfile
    >>> from pathlib import Path
    >>> from skeer.datasets import make_kvc_submission
    >>> out = Path(tempfile.mkdtemp()) / "submission.zip"
    >>> _ = make_kvc_submission({"desktop": [0.9, 0.1], "mobile": [0.5]}, out)
    >>> with zipfile.ZipFile(out) as zf:
    ...     zf.namelist(), zf.read("mobile_predictions.txt")
    (['desktop_predictions.txt', 'mobile_predictions.txt'], b'[0.5]')
    """
    if not isinstance(predictions, dict) or not predictions:
        raise ValueError(
            "predictions must be a non-empty dict scenario -> scores (or a "
            f"prediction file), got {type(predictions).__name__}."
        )
    unknown = [k for k in predictions if k not in _SCENARIOS]
    if unknown:
        raise ValueError(
            f"predictions keys must be scenarios {list(_SCENARIOS)}, got {unknown}."
        )
    members = {}
    for scenario in _SCENARIOS:  # a fixed member order
        if scenario not in predictions:
            continue
        value = predictions[scenario]
        if isinstance(value, str | os.PathLike):
            scores = read_kvc_predictions(value)
        else:
            scores = _check_scores(value, f"predictions[{scenario!r}]")
        members[f"{scenario}_predictions.txt"] = _format_scores(scores)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".zip.tmp")
    try:
        with (
            os.fdopen(fd, "wb") as f,
            zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf,
        ):
            for name, text in members.items():
                zf.writestr(name, text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
