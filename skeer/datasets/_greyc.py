"""Loader of the GREYC-NISLAB fixed-text keystroke benchmark (Syed Idrus et al.)."""

import re

import numpy as np

from skeer.datasets._base import _bunch, _read_csv, _warn_dropped
from skeer.datasets._cmu import _timing_names

__all__ = ["load_greyc_nislab"]

_VECTOR = "Keystroke Template Vector"
_COLUMNS = ("Sheet", "User_ID", "Gender", "Age", "Handedness", "Password", "Class")
_COLUMNS += (_VECTOR,)
#: The vector's unit is 100 ns: 10**7 ticks a second (10**4 a millisecond).
_TICKS_PER_SECOND = 10**7
_SHEET = re.compile(r"[Pp]\d+")
_INTEGERS = r"\s*[+-]?\d{1,18}(?:\s+[+-]?\d{1,18})*\s*"  # fits in int64
_REASONS = (
    "with a missing or non-integer User_ID or Class",
    "with a vector of the wrong length",
    "with a non-integer value in the vector",
    "with inconsistent latencies (PP + RR != RP + PR, or a hold that differs "
    "between two key pairs)",
    "with a negative hold time",
)

DESCR = """\
GREYC-NISLAB keystroke benchmark (fixed text, soft biometrics)
==============================================================

110 subjects (User_ID 1-110, the same person on every sheet) typed five
passphrases 20 times each, 11,000 samples in all:

- P1 "leonardo dicaprio"         - P4 "red hot chilli peppers"
- P2 "the rolling stones"        - P5 "united states of america"
- P3 "michael schumacher"

Each row also gives the subject's gender (M/F), age and handedness (R/L), and
a Class (1 or 2, ten samples each: two typing conditions as released by the
authors, reportedly typing with one hand and with two hands).

The released ``Keystroke Template Vector`` holds, for the n - 1 pairs of
consecutive keys of an n-character passphrase, four blocks of n - 1 integers
in units of 100 ns: press-press (PP), release-release (RR), release-press (RP,
negative when keys overlap) and press-release (PR: press of key i to release
of key i + 1). Hence hold(i) = PP - RP and hold(i + 1) = PR - PP.

skeer's vectors (``load_greyc_nislab``), in seconds, in the layout of the CMU
benchmark: [H.k1, DD.k1.k2, UD.k1.k2, H.k2, DD.k2.k3, UD.k2.k3, ..., H.kn],
i.e. every key's hold time (H), then between keys i and i + 1 the press-press
(DD) and release-press (UD) latencies: 3 (n - 1) + 1 features (49, 52, 52, 64
and 70 for P1-P5). RR and PR are implied by these (RR = DD + H(i+1) - H(i),
PR = DD + H(i+1)), so no information is lost.

Terms: the authors released the data as a research benchmark (no other terms
are stated in the public copy); cite

    Syed Zulkarnain Syed Idrus, Estelle Cherrier, Christophe Rosenberger,
    Patrick Bours. Soft Biometrics Database: A Benchmark for Keystroke
    Dynamics Biometric Systems. International Conference of the Biometrics
    Special Interest Group (BIOSIG), 2013.
"""


def _normalise(text):
    return " ".join(str(text).split()).casefold()


def _select(df, passphrase, path):
    """Boolean mask of the chosen passphrase's rows, its sheet and its text."""
    sheets = df["Sheet"].fillna("").str.strip()
    texts = df["Password"].fillna("").str.strip()
    available = [list(pair) for pair in dict.fromkeys(zip(sheets, texts))]
    if not isinstance(passphrase, str):
        raise ValueError(
            "passphrase must be a sheet name such as 'P1' or the passphrase's "
            f"text; the file holds {available}. Got {passphrase!r} (the five "
            "passphrases have vectors of different lengths: load one at a time)."
        )
    if _SHEET.fullmatch(passphrase.strip()):
        mask = sheets.str.upper() == passphrase.strip().upper()
    else:
        mask = texts.map(_normalise) == _normalise(passphrase)
    mask = mask.to_numpy()
    if not mask.any():
        raise ValueError(
            f"passphrase={passphrase!r} matches no row of {str(path)!r}; the file "
            f"holds (sheet, passphrase) {available}."
        )
    found = sorted({(s, t) for s, t in zip(sheets[mask], texts[mask]) if t})
    if len(found) != 1:
        raise ValueError(
            f"passphrase={passphrase!r} selects rows of several (sheet, "
            f"passphrase) pairs of {str(path)!r}: {found}; the file is not in "
            "the benchmark's layout (one passphrase a sheet)."
        )
    sheet, text = found[0]
    if len(text) < 2:
        raise ValueError(f"passphrase {text!r} of sheet {sheet!r} has < 2 keys.")
    return mask, sheet, text


def load_greyc_nislab(path, *, passphrase="P1", as_frame=False, return_X_y=False):
    """Load one passphrase of the GREYC-NISLAB fixed-text keystroke benchmark.

    Reads the benchmark's CSV table (plain or compressed): the passphrase's
    samples as timing vectors in seconds in the layout of :func:`load_cmu`,
    ``[H.k1, DD.k1.k2, UD.k1.k2, H.k2, ..., H.kn]`` (see ``DESCR``).

    Parameters
    ----------
    path : str or path-like
        The CSV file (columns ``Sheet``, ``User_ID``, ``Gender``, ``Age``,
        ``Handedness``, ``Password``, ``Class``, ``Keystroke Template
        Vector``).
    passphrase : str, default="P1"
        A sheet name (``"P1"`` to ``"P5"``, any case) or the passphrase's text
        (ignoring case and repeated spaces); one call loads one passphrase.
    as_frame, return_X_y : bool, default=False
        As in :func:`load_cmu`; ``frame`` then also holds the features.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` or tuple
        As :func:`load_cmu` (49, 52, 52, 64 or 70 features for P1-P5;
        ``target`` the int64 ``User_ID``), with ``rep`` (position from 1 among
        the subject's rows of this passphrase, before any row is dropped),
        ``condition`` (the file's ``Class``, 1 or 2), ``passphrase`` and
        ``sheet``, ``frame`` (one row a sample: ``subject``, ``rep``,
        ``condition``, ``gender``, ``age`` (nullable integer),
        ``handedness``) and ``dropped`` (``"rows"`` read, then the number
        dropped per reason). A key is named by its character (``space``) and
        position from 1, e.g. ``H.l1``, ``DD.l1.e2``, ``UD.o8.space9``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a CSV of the layout, or no row of ``passphrase`` is kept.

    Warns
    -----
    UserWarning
        Counting the rows dropped per reason (bad ids, a malformed vector,
        inconsistent latencies, a negative hold).

    Notes
    -----
    Rows are sorted by ``User_ID``, then in file order (the order typed).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import load_greyc_nislab
    >>> from skeer.datasets._testing import write_greyc_csv
    >>> csv = write_greyc_csv(Path(tempfile.mkdtemp()) / "greyc.csv.gz")
    >>> greyc = load_greyc_nislab(csv, passphrase="P1")
    >>> greyc.passphrase, greyc.data.shape, greyc.feature_names[:3]
    ('leonardo dicaprio', (12, 49), ['H.l1', 'DD.l1.e2', 'UD.l1.e2'])
    """
    import pandas as pd

    path, df = _read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in _COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"path {str(path)!r} lacks the GREYC-NISLAB columns {missing}; it has "
            f"{list(df.columns)}."
        )
    if not len(df):
        raise ValueError(f"path {str(path)!r} holds the header line only, no rows.")
    mask, sheet, text = _select(df, passphrase, path)
    df = df.loc[mask].reset_index(drop=True)
    n_rows = len(df)
    m = len(text) - 1  # key pairs
    subject = pd.to_numeric(df["User_ID"].str.strip(), errors="coerce")
    condition = pd.to_numeric(df["Class"].str.strip(), errors="coerce")
    rep = subject.fillna(-1).groupby(subject.fillna(-1)).cumcount() + 1
    ids = np.column_stack([subject.to_numpy(float), condition.to_numpy(float)])
    ok_ids = np.isfinite(ids).all(axis=1)
    ok_ids[ok_ids] = (ids[ok_ids] == np.round(ids[ok_ids])).all(axis=1)
    vectors = df[_VECTOR].fillna("")
    n_tokens = vectors.str.split().str.len().to_numpy()
    right_length = n_tokens == 4 * m
    integers = vectors.str.fullmatch(_INTEGERS).fillna(False).to_numpy(bool)
    parse = ok_ids & right_length & integers
    V = np.zeros((n_rows, 4 * m), dtype=np.int64)
    if parse.any():
        V[parse] = np.array(
            [v.split() for v in vectors[parse]], dtype=np.int64
        ).reshape(-1, 4 * m)
    PP, RR, RP, PR = V[:, :m], V[:, m : 2 * m], V[:, 2 * m : 3 * m], V[:, 3 * m :]
    hold_before = PP - RP  # hold of key i, from pair i
    hold_after = PR - PP  # hold of key i + 1, from pair i
    consistent = (PP + RR == RP + PR).all(axis=1)
    consistent &= (hold_before[:, 1:] == hold_after[:, :-1]).all(axis=1)
    holds = np.column_stack([hold_before, hold_after[:, -1:]])
    non_negative = (holds >= 0).all(axis=1)

    checks = (ok_ids, right_length, integers, consistent, non_negative)
    counts = {}
    keep = np.ones(n_rows, dtype=bool)
    for reason, ok in zip(_REASONS, checks):
        counts[reason] = int(np.count_nonzero(keep & ~ok))
        keep &= ok
    _warn_dropped("load_greyc_nislab", rows=(n_rows, counts))
    if not keep.any():
        raise ValueError(
            f"path {str(path)!r}: every one of the {n_rows} rows of passphrase "
            f"{text!r} was dropped ({counts})."
        )
    order = np.flatnonzero(keep)
    order = order[np.argsort(subject.to_numpy(float)[order], kind="stable")]
    X = np.empty((len(order), 3 * m + 1), dtype=np.float64)
    X[:, 0 : 3 * m : 3] = holds[order, :m]
    X[:, 1 : 3 * m : 3] = PP[order]
    X[:, 2 : 3 * m : 3] = RP[order]
    X[:, 3 * m] = holds[order, m]
    X /= _TICKS_PER_SECOND

    target = subject.to_numpy(float)[order].astype(np.int64)
    rep = rep.to_numpy(np.int64)[order]
    condition = condition.to_numpy(float)[order].astype(np.int64)
    age = pd.to_numeric(df["Age"].str.strip(), errors="coerce").iloc[order]
    frame = pd.DataFrame(
        {
            "subject": target,
            "rep": rep,
            "condition": condition,
            "gender": df["Gender"].str.strip().to_numpy(object)[order],
            "age": age.round().astype("Int64").array,
            "handedness": df["Handedness"].str.strip().to_numpy(object)[order],
        }
    )
    keys = [f"{'space' if c == ' ' else c}{i}" for i, c in enumerate(text, 1)]
    names = _timing_names(keys)
    data = X
    if as_frame:
        data = pd.DataFrame(X, columns=names)
        frame = pd.concat([frame, data], axis=1)
        target = frame["subject"]
    return _bunch(
        return_X_y,
        data=data,
        target=target,
        rep=rep,
        condition=condition,
        passphrase=text,
        sheet=sheet,
        feature_names=names,
        frame=frame,
        dropped={"rows": n_rows, **counts},
        DESCR=DESCR,
    )
