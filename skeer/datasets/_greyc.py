"""Loader of the GREYC-NISLAB fixed-text keystroke benchmark (Syed Idrus et al., 2013).

110 subjects typed five passphrases 20 times each; the release is one CSV table,
one row a typing sample, whose ``Keystroke Template Vector`` holds four blocks of
latencies between consecutive keys. This module turns one passphrase's vectors
into CMU-like timing vectors in seconds (holds, press-press and release-press
latencies). Nothing here imports torch.
"""

import re

import numpy as np

from skeer.datasets._archive import CORRUPT_ERRORS
from skeer.datasets._base import _bunch, _check_path, _warn_dropped

__all__ = ["load_greyc_nislab"]

_COLUMNS = (
    "Sheet",
    "User_ID",
    "Gender",
    "Age",
    "Handedness",
    "Password",
    "Class",
    "Keystroke Template Vector",
)
_VECTOR = "Keystroke Template Vector"
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


def _key_names(text):
    """Unique key labels: character (``space`` for " ") and 1-based position."""
    return [f"{'space' if c == ' ' else c}{i}" for i, c in enumerate(text, 1)]


def _feature_names(text):
    keys = _key_names(text)
    names = []
    for a, b in zip(keys[:-1], keys[1:]):
        names += [f"H.{a}", f"DD.{a}.{b}", f"UD.{a}.{b}"]
    return names + [f"H.{keys[-1]}"]


def _normalise(text):
    return " ".join(str(text).split()).casefold()


def _select(df, passphrase, path):
    """Boolean mask of the chosen passphrase's rows, its sheet and its text."""
    sheets = df["Sheet"].fillna("").str.strip()
    texts = df["Password"].fillna("").str.strip()
    available = (
        df.assign(Sheet=sheets, Password=texts)
        .drop_duplicates(["Sheet", "Password"])[["Sheet", "Password"]]
        .to_numpy()
        .tolist()
    )
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

    Reads the benchmark's CSV table (plain or compressed, e.g.
    ``greyc-nislab-fixed-text.csv.gz``) and returns the chosen passphrase's
    samples as fixed-length timing vectors in seconds, in the layout of the
    CMU benchmark (:func:`load_cmu`): ``[H.k1, DD.k1.k2, UD.k1.k2, H.k2, ...,
    H.kn]``, every key's hold time, then between consecutive keys the
    press-press (DD) and release-press (UD) latencies.

    Parameters
    ----------
    path : str or path-like
        The CSV file (columns ``Sheet``, ``User_ID``, ``Gender``, ``Age``,
        ``Handedness``, ``Password``, ``Class``, ``Keystroke Template
        Vector``). Required: skeer ships no data and knows no default place.
    passphrase : str, default="P1"
        Which passphrase: a sheet name (``"P1"`` to ``"P5"``, any case) or the
        passphrase's text (``"leonardo dicaprio"``, compared ignoring case and
        repeated spaces). The five passphrases have vectors of different
        lengths, so one call loads one of them; to load all, call once per
        sheet.
    as_frame : bool, default=False
        If True, ``data`` is a :class:`pandas.DataFrame` with columns
        ``feature_names``, ``target`` a :class:`pandas.Series` named
        ``subject``, and ``frame`` the whole table (per-row columns and
        features).
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (n_samples, 3 * n_keys - 2), float64, or \
                DataFrame
            Timing vectors in seconds; for the real file 2,200 rows of 49
            (P1), 52 (P2, P3), 64 (P4) or 70 (P5) features.
        target : ndarray of shape (n_samples,), int64, or Series
            Subject of each sample (the file's ``User_ID``, the same person on
            every sheet).
        rep : ndarray of shape (n_samples,), int64
            Repetition: position (from 1) of the sample among its subject's
            rows of this passphrase in the file, counted before any row is
            dropped.
        condition : ndarray of shape (n_samples,), int64
            The file's ``Class`` (1 or 2): the typing condition.
        passphrase : str
            The passphrase's text, e.g. ``"leonardo dicaprio"``.
        sheet : str
            Its sheet, e.g. ``"P1"``.
        feature_names : list of str
            ``H.<key>``, ``DD.<key>.<next key>``, ``UD.<key>.<next key>``;
            a key is named by its character (``space`` for a space) and its
            position from 1, e.g. ``H.l1``, ``DD.l1.e2``, ``UD.o8.space9``.
        frame : DataFrame
            One row a sample: ``subject``, ``rep``, ``condition``, ``gender``
            (``"M"``/``"F"``), ``age`` (nullable integer), ``handedness``
            (``"R"``/``"L"``); with ``as_frame=True`` also the features.
        dropped : dict
            ``"rows"``: rows of this passphrase read, then the number dropped
            per reason (see Warns).
        DESCR : str
            Description, format and citation.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is None, a folder or not a regular file (a FIFO, device
        or socket), is not a readable CSV (truncated or corrupt ``.gz``, not
        UTF-8), lacks a column of the benchmark's layout, holds no row, if
        ``passphrase`` is not a string or matches no row (the message lists
        the file's sheets and passphrases), or if every row of the passphrase
        is dropped.

    Warns
    -----
    UserWarning
        One warning counting the rows dropped, per reason: a missing or
        non-integer ``User_ID`` or ``Class``; a vector whose length is not
        ``4 * (len(passphrase) - 1)``; a vector holding anything but
        integers; inconsistent latencies (the four latencies of a key pair
        must satisfy PP + RR = RP + PR, and the hold of a key derived from
        the pair before it, PR - PP, must equal the one derived from the pair
        after it, PP - RP); a negative hold time.

    Notes
    -----
    Rows are grouped by subject (ascending ``User_ID``); each subject's
    samples keep the file's order, which is the order they were typed in, as
    protocols such as Killourhy and Maxion's (enrol with the first samples)
    require. In the real file Class 1 samples come first (reps 1-10).

    The real file (sha256 ``fa189c00...``) has 110 subjects x 20 samples per
    passphrase, vectors of 64, 68, 68, 84 and 92 integers, all whole
    milliseconds. Two P1 rows (subjects 55 and 67, Class 1) break the
    identity PP + RR = RP + PR and would give every hold negative (down to
    -1.5 s); they are dropped, so those two subjects keep 19 P1 samples
    (subject 55 lacks rep 10, subject 67 rep 3). Every other derived hold is
    >= 0 (10 to 125 a passphrase are exactly 0 at the file's 1 ms resolution;
    median 72 ms), and 4-6 % of the release-press latencies are negative
    (overlapping keys).

    Cite Syed Idrus, Cherrier, Rosenberger and Bours, "Soft Biometrics
    Database: A Benchmark for Keystroke Dynamics Biometric Systems", BIOSIG
    2013 (see ``DESCR``).

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
    >>> greyc.target[:5].tolist(), greyc.rep[:5].tolist()
    ([1, 1, 1, 1, 2], [1, 2, 3, 4, 1])
    >>> greyc.frame.columns.tolist()
    ['subject', 'rep', 'condition', 'gender', 'age', 'handedness']
    """
    import pandas as pd

    path = _check_path(path, "path")
    if not path.is_file():
        raise ValueError(f"path must be a CSV file, got the folder {str(path)!r}.")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, OSError, *CORRUPT_ERRORS) as exc:
        raise ValueError(f"path {str(path)!r} is not a readable CSV: {exc}") from None
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

    # Ids, and the repetition index in file order (before anything is dropped).
    subject = pd.to_numeric(df["User_ID"].str.strip(), errors="coerce")
    condition = pd.to_numeric(df["Class"].str.strip(), errors="coerce")
    rep = subject.fillna(-1).groupby(subject.fillna(-1)).cumcount() + 1
    ids = np.column_stack([subject.to_numpy(float), condition.to_numpy(float)])
    ok_ids = np.isfinite(ids).all(axis=1)
    ok_ids[ok_ids] = (ids[ok_ids] == np.round(ids[ok_ids])).all(axis=1)

    # The vectors: 4 blocks of m integers.
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

    # Subjects ascending, file order within a subject (stable sort).
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
    names = _feature_names(text)
    data = X
    if as_frame:
        data = pd.DataFrame(X, columns=names)
        frame = pd.concat([frame, data], axis=1)
        target = frame["subject"]
    if return_X_y:
        return data, target
    return _bunch(
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
