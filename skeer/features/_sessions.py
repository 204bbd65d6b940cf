"""Long-format keystroke frames to sessions; pandas is imported only to read a frame."""

import numpy as np


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _missing_columns(frame, named):
    """``arg=col`` of each named column (None: not wanted) that ``frame`` lacks."""
    return [
        f"{arg}={col!r}"
        for arg, col in named.items()
        if col is not None and col not in frame.columns
    ]


def sessions_from_frame(
    df,
    *,
    subject="subject",
    session="session",
    press="press",
    release="release",
    keycode="keycode",
):
    """Split a long-format keystroke DataFrame into session arrays.

    Rows are grouped by (subject, session); groups come in the order of their
    first row and rows keep their order within a group.

    Parameters
    ----------
    df : pandas.DataFrame
        One row a key.
    subject : str or None, default="subject"
        Column of subject identities. None groups by ``session`` alone.
    session : str, default="session"
        Column of session identifiers (unique within a subject).
    press, release, keycode : str, default="press", "release", "keycode"
        Columns of press time (ms), release time (ms) and key code.

    Returns
    -------
    sessions : list of ndarray of shape (n_keys, 3), dtype float64
        Press, release, key code of each session.
    subjects : ndarray of shape (n_sessions,) or None
        Subject of each session (None when ``subject`` is None).
    session_ids : ndarray of shape (n_sessions,)
        Session identifier of each session.

    Raises
    ------
    ValueError
        If a named column is missing or invalid, or ``df`` is no DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from skeer.features import sessions_from_frame
    >>> df = pd.DataFrame({
    ...     "subject": [7, 7, 7, 9, 9],
    ...     "session": [1, 1, 2, 1, 1],
    ...     "press": [0, 120, 0, 0, 200],
    ...     "release": [80, 210, 95, 70, 260],
    ...     "keycode": [72, 73, 32, 65, 66],
    ... })
    >>> sessions, subjects, session_ids = sessions_from_frame(df)
    >>> [s.shape for s in sessions]
    [(2, 3), (1, 3), (2, 3)]
    >>> subjects.tolist(), session_ids.tolist()
    ([7, 7, 9], [1, 2, 1])
    """
    import pandas as pd

    if not _is_frame(df):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}.")
    names = {"subject": subject, "session": session}
    names.update(press=press, release=release, keycode=keycode)
    missing = _missing_columns(df, names)
    if session is None:
        raise ValueError("session must name a column, got None.")
    if missing:
        raise ValueError(
            f"df has no column(s) {', '.join(missing)}; available columns: "
            f"{list(df.columns)}."
        )
    for arg in ("subject", "session"):
        col = names[arg]
        if col is not None and df[col].isna().any():
            raise ValueError(
                f"df column {col!r} ({arg}) has {int(df[col].isna().sum())} missing "
                "value(s)."
            )
    try:
        values = df[[press, release, keycode]].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"df columns {press!r}, {release!r}, {keycode!r} must be numeric: {exc}"
        ) from exc
    if subject is None:
        codes, uniques = pd.factorize(df[session], sort=False)
        subjects = None
        session_ids = np.asarray(uniques)
    else:
        index = pd.MultiIndex.from_arrays([df[subject], df[session]])
        codes, uniques = pd.factorize(index, sort=False)
        subjects = uniques.get_level_values(0).to_numpy()
        session_ids = uniques.get_level_values(1).to_numpy()
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(uniques))
    return np.split(values[order], np.cumsum(counts)[:-1]), subjects, session_ids


#: Column-name fragments (case-insensitive) and names of keystroke or id columns.
_KEYSTROKE_NAMES = ("press", "release", "keycode", "key_code", "subject", "session")
_ID_NAMES = ("user", "participant", "sid", "uid")


def _is_fixed_text_frame(X, feats):
    """Numeric, with no keystroke or id column (configured or named like one)."""
    configured = set(feats._columns().values()) - {None}
    for col in X.columns:
        name = str(col).lower()
        if col in configured or any(k in name for k in _KEYSTROKE_NAMES):
            return False
        if name in _ID_NAMES:
            return False
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return len(X.columns) > 0 and all(
        is_numeric_dtype(dtype) and not is_bool_dtype(dtype) for dtype in X.dtypes
    )


def _session_list(X):
    """Sequence of sessions -> list of float64 (n_keys, 3) arrays (shape checked)."""
    out = []
    for i, s in enumerate(X):
        try:
            a = np.asarray(s, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"X[{i}] is not a numeric session array of shape (n_keys, 3): {exc}"
            ) from exc
        if a.ndim != 2 or a.shape[1] != 3:
            raise ValueError(
                f"X[{i}] must be a session of shape (n_keys, 3) (press ms, release "
                f"ms, key code), got shape {a.shape}."
            )
        out.append(a)
    if not out:
        raise ValueError("X contains no sessions; at least one is required.")
    return out
