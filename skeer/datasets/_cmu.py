"""Loader of the CMU keystroke dynamics benchmark (Killourhy & Maxion, DSN 2009)."""

import hashlib
import shutil
import urllib.request

import numpy as np

from skeer.datasets._base import _atomic_file, _bunch, _read_csv, get_data_home
from skeer.datasets._cache import _hash_file

__all__ = ["load_cmu", "fetch_cmu"]

CMU_URL = "https://www.cs.cmu.edu/~keystroke/DSL-StrongPasswordData.csv"
CMU_FILENAME = "DSL-StrongPasswordData.csv"
CMU_MD5 = "470235f96568f28f9ea0da62234ec857"


def _timing_names(keys):
    """``H.k1, DD.k1.k2, UD.k1.k2, H.k2, ..., H.kn``: the CMU layout's names."""
    names = []
    for a, b in zip(keys[:-1], keys[1:]):
        names += [f"H.{a}", f"DD.{a}.{b}", f"UD.{a}.{b}"]
    return names + [f"H.{keys[-1]}"]


_KEYS = ("period", "t", "i", "e", "five", "Shift.r", "o", "a", "n", "l", "Return")
#: The 31 timing features (hold, keydown-keydown, keyup-keydown), in seconds.
FEATURE_NAMES = _timing_names(_KEYS)
_ID_COLUMNS = ["subject", "sessionIndex", "rep"]

DESCR = """\
CMU keystroke dynamics benchmark (DSL-StrongPasswordData)
=========================================================

51 subjects typed the password ".tie5Roanl" followed by Return 400 times each,
in 8 sessions of 50 repetitions at least one day apart: 20,400 rows. Each row
holds the subject ("s002", ...), sessionIndex (1-8), rep (1-50) and 31 timing
features in seconds: H.<key> (hold time), DD.<key1>.<key2> (keydown to keydown)
and UD.<key1>.<key2> (keyup to keydown, negative when keys overlap).

Source: https://www.cs.cmu.edu/~keystroke/

Cite: Kevin S. Killourhy and Roy A. Maxion. "Comparing Anomaly-Detection
Algorithms for Keystroke Dynamics". In International Conference on Dependable
Systems & Networks (DSN-09), pages 125-134, IEEE, 2009.
"""


def load_cmu(path, *, as_frame=False, return_X_y=False):
    """Load the CMU benchmark file ``DSL-StrongPasswordData.csv``.

    Parameters
    ----------
    path : str or path-like
        The CSV file (columns ``subject``, ``sessionIndex``, ``rep``, then the
        31 timing features).
    as_frame : bool, default=False
        If True, ``data`` is a :class:`pandas.DataFrame` of the features,
        ``target`` a Series named ``subject``, and ``frame`` the whole table
        (``subject``, ``session`` = ``sessionIndex``, ``rep``, the features).
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` or tuple
        ``data`` (n_samples, 31) float64 timings in seconds, or DataFrame;
        ``target`` (``"s002"``, ...); ``session`` (1-8) and ``rep`` (1-50),
        int64; ``feature_names`` (``H.period``, ``DD.period.t``, ...);
        ``frame`` (None unless ``as_frame``); ``DESCR``. ``(data, target)``
        if ``return_X_y``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a CSV of the benchmark's layout with numeric timings.

    Notes
    -----
    Its protocol is :func:`~skeer.evaluation.evaluate_fixed_text`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import load_cmu
    >>> from skeer.datasets._testing import write_cmu_csv
    >>> csv = write_cmu_csv(Path(tempfile.mkdtemp()) / "cmu.csv", n_subjects=3)
    >>> cmu = load_cmu(csv)
    >>> cmu.data.shape, cmu.target[0], cmu.feature_names[:2]
    ((30, 31), 's002', ['H.period', 'DD.period.t'])
    """
    import pandas as pd

    path, df = _read_csv(path, dtype={"subject": str})
    missing = [c for c in _ID_COLUMNS + FEATURE_NAMES if c not in df.columns]
    if missing:
        raise ValueError(
            f"path {str(path)!r} lacks the CMU benchmark columns {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}."
        )
    if not len(df):
        raise ValueError(f"path {str(path)!r} holds the header line only, no rows.")
    features = df[FEATURE_NAMES].apply(pd.to_numeric, errors="coerce")
    ids = df[["sessionIndex", "rep"]].apply(pd.to_numeric, errors="coerce")
    bad = ~np.isfinite(features.to_numpy(np.float64)).all(axis=1)
    bad |= ~np.isfinite(ids.to_numpy(np.float64)).all(axis=1)
    bad |= df["subject"].isna().to_numpy()
    if bad.any():
        rows = (np.flatnonzero(bad) + 2)[:5].tolist()  # file line numbers
        raise ValueError(
            f"path {str(path)!r}: {int(bad.sum())} rows have a missing or "
            f"non-numeric value (file lines {rows}...)."
        )
    X = features.to_numpy(np.float64)
    target = df["subject"].to_numpy(dtype=object)
    session = ids["sessionIndex"].to_numpy(np.int64)
    rep = ids["rep"].to_numpy(np.int64)
    frame = None
    if as_frame:
        frame = pd.concat(
            [
                df[["subject"]],
                ids.astype(np.int64).rename(columns={"sessionIndex": "session"}),
                features.astype(np.float64),
            ],
            axis=1,
        )
        X = frame[FEATURE_NAMES]
        target = frame["subject"]
    return _bunch(
        return_X_y,
        data=X,
        target=target,
        session=session,
        rep=rep,
        feature_names=list(FEATURE_NAMES),
        frame=frame,
        DESCR=DESCR,
    )


def _md5(file):
    return _hash_file(hashlib.md5(usedforsecurity=False), file).hexdigest()


def _download(url, dest, timeout=60):
    """Fetch ``url`` into ``dest`` (the whole file, then an atomic rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (
        _atomic_file(dest, ".part", mode=None) as out,
        urllib.request.urlopen(url, timeout=timeout) as response,
    ):
        shutil.copyfileobj(response, out)


def fetch_cmu(
    data_home=None, *, download_if_missing=True, as_frame=False, return_X_y=False
):
    """Load the CMU benchmark, downloading it into ``data_home`` if needed.

    The file is ``data_home/cmu/DSL-StrongPasswordData.csv``; its MD5 checksum
    is verified before every load and after a download.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise an OSError instead of downloading a missing file.
    as_frame, return_X_y : bool, default=False
        As in :func:`load_cmu`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` or tuple
        As :func:`load_cmu`.

    Raises
    ------
    OSError
        If the file is missing and not downloaded, or its checksum is wrong.

    Examples
    --------
    >>> import tempfile
    >>> from skeer.datasets import fetch_cmu
    >>> try:  # no file in an empty data_home, and no download asked
    ...     fetch_cmu(tempfile.mkdtemp(), download_if_missing=False)
    ... except OSError:
    ...     print("not downloaded")
    not downloaded
    """
    folder = get_data_home(data_home) / "cmu"
    file = folder / CMU_FILENAME
    if not file.is_file():
        if not download_if_missing:
            raise OSError(
                f"{CMU_FILENAME} is not in {str(folder)!r} and download_if_missing "
                "is False."
            )
        try:
            _download(CMU_URL, file)
        except OSError as exc:
            raise OSError(f"could not download {CMU_URL}: {exc}") from exc
        if _md5(file) != CMU_MD5:
            file.unlink()
            raise OSError(
                f"the file downloaded from {CMU_URL} does not have the expected "
                f"MD5 checksum {CMU_MD5}; it was deleted."
            )
    elif (md5 := _md5(file)) != CMU_MD5:
        raise OSError(
            f"{str(file)!r} has MD5 {md5}, expected {CMU_MD5}: the file is "
            "corrupt or not the benchmark's; delete it to download it again."
        )
    return load_cmu(file, as_frame=as_frame, return_X_y=return_X_y)
