"""Verification metrics: EER, FNMR at a fixed FMR, FMR at a fixed FNMR, DET points.

Scores are similarities (higher = same person) and a comparison is accepted when
its score is at or above the threshold. Two input layouts are accepted, like
:func:`sklearn.metrics.roc_auc_score`:

- binary labels (1 or True = genuine, 0, False or -1 = impostor) with 1-D scores;
- identities ``y_true`` of shape ``(n,)`` with a score matrix of shape
  ``(n, n_identities)`` whose columns follow ``labels`` (default: the sorted
  distinct identities), such as a verifier's ``decision_function``: each row's
  own column is a genuine comparison, every other column an impostor one.

Everything is computed exactly on the empirical error rates (ISO/IEC 19795
names: false match rate FMR, false non-match rate FNMR) from the genuine and
impostor scores sorted once each; no threshold grid, no Python loop over scores.
NumPy only: importing this module never imports torch.
"""

import math
import warnings

import numpy as np

from ._validation import check_binary, check_scores, check_target_rates

__all__ = [
    "UnreliableMetricWarning",
    "det_points",
    "equal_error_rate",
    "fmr_at_fnmr",
    "fnmr_at_fmr",
    "verification_pairs",
]

#: Fewer genuine comparisons than this trigger :class:`UnreliableMetricWarning`.
_MIN_GENUINE = 10


class UnreliableMetricWarning(UserWarning):
    """Warn that an error rate rests on too few genuine comparisons to be reliable.

    Issued by :func:`equal_error_rate`, :func:`fnmr_at_fmr` and
    :func:`fmr_at_fnmr` when fewer than 10 genuine comparisons are scored: each
    one then moves the FNMR by more than 10 percentage points.

    Examples
    --------
    >>> import warnings
    >>> from skeer.metrics import UnreliableMetricWarning, equal_error_rate
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     eer = equal_error_rate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> eer, caught[0].category is UnreliableMetricWarning
    (0.5, True)
    """


# --------------------------------------------------------------------------
# input handling


def _identity_columns(y, labels, n_columns):
    """Column of ``labels`` holding each identity of ``y``."""
    if labels is None:
        labels = np.unique(y)
        if len(labels) != n_columns:
            raise ValueError(
                f"y_score has {n_columns} columns but y_true has {len(labels)} "
                "distinct identities; pass labels (the identity of each column, "
                "e.g. the estimator's classes_) when they differ."
            )
        return np.searchsorted(labels, y)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}.")
    if len(labels) != n_columns:
        raise ValueError(
            f"y_score has {n_columns} columns but labels has {len(labels)} "
            "entries: one label per column is needed."
        )
    try:
        sorter = np.argsort(labels, kind="stable")
        ordered = labels[sorter]
        if len(ordered) > 1 and np.any(ordered[1:] == ordered[:-1]):
            dup = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
            raise ValueError(f"labels must be distinct, got duplicates {dup[:5]}.")
        pos = np.searchsorted(ordered, y).clip(0, len(ordered) - 1)
        found = ordered[pos] == y
    except TypeError:
        raise ValueError(
            f"y_true ({y.dtype}) and labels ({labels.dtype}) cannot be compared."
        ) from None
    found = np.asarray(found, dtype=bool)
    if found.shape != y.shape or not found.all():
        missing = y[~found] if found.shape == y.shape else y
        raise ValueError(
            f"y_true has {len(missing)} sample(s) whose identity is not in labels "
            f"(e.g. {np.unique(missing)[:5].tolist()}); every row's identity must "
            "name a column of y_score."
        )
    return sorter[pos]


def _check_identity_matrix(y_true, y_score, labels):
    """(identities, score matrix, column of each row's own identity)."""
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}.")
    scores = np.asarray(y_score)
    if len(y) != scores.shape[0]:
        raise ValueError(
            f"y_true has {len(y)} samples but y_score has {scores.shape[0]} rows."
        )
    if scores.size == 0:
        raise ValueError(f"y_true and y_score are empty (shape {scores.shape}).")
    scores = check_scores(scores, ndim=(2,))
    if scores.shape[1] < 2:
        raise ValueError(
            "y_score has a single column: with one identity there is no impostor "
            "comparison, and the error rates need both."
        )
    return y, scores, _identity_columns(y, labels, scores.shape[1])


def _split_scores(y_true, y_score, labels):
    """Genuine and impostor scores as fresh 1-D arrays (safe to sort in place)."""
    ndim = np.ndim(y_score)
    if ndim == 1:
        if labels is not None:
            raise ValueError(
                "labels names the columns of a 2-D y_score; it must be None with "
                "binary y_true and 1-D y_score."
            )
        genuine, scores, _ = check_binary(y_true, y_score)
        return scores[genuine], scores[~genuine]
    if ndim == 2:
        _, scores, cols = _check_identity_matrix(y_true, y_score, labels)
        rows = np.arange(scores.shape[0])
        mask = np.ones(scores.shape, dtype=bool)
        mask[rows, cols] = False
        return scores[rows, cols], scores[mask]
    raise ValueError(
        "y_score must be 1-D (with binary y_true) or 2-D (n_samples, n_identities) "
        f"(with identities), got shape {np.shape(y_score)}."
    )


def _sorted_scores(y_true, y_score, labels):
    genuine, impostor = _split_scores(y_true, y_score, labels)
    genuine.sort()
    impostor.sort()
    return genuine, impostor


def _warn_few_genuine(n_genuine, stacklevel=3):
    if n_genuine < _MIN_GENUINE:
        warnings.warn(
            f"Only {n_genuine} genuine comparison(s) (fewer than {_MIN_GENUINE}): "
            "each one moves the FNMR by more than 10 points, so this error rate "
            "(the EER in particular) is unreliable.",
            UnreliableMetricWarning,
            stacklevel=stacklevel,
        )


def verification_pairs(y_true, y_score, *, labels=None):
    """Either input layout as binary labels and 1-D scores.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels (1 or True = genuine; 0, False or -1 = impostor) when
        ``y_score`` is 1-D, identities when it is 2-D.
    y_score : array-like of shape (n_samples,) or (n_samples, n_identities)
        Similarity scores (higher = same person). In the 2-D layout, column
        ``j`` holds the comparisons with identity ``labels[j]``.
    labels : array-like of shape (n_identities,), default=None
        Identity of each column of a 2-D ``y_score``; default: the sorted
        distinct values of ``y_true``. Must be None with 1-D scores.

    Returns
    -------
    y_binary : ndarray of int8, shape (n_comparisons,)
        1 for a genuine comparison, 0 for an impostor one.
    scores : ndarray of shape (n_comparisons,)
        The scores, floating point (float32 stays float32). For a matrix, the
        comparisons in row-major order (``n_comparisons = n_samples *
        n_identities``); for 1-D input, the scores themselves.

    Raises
    ------
    ValueError
        On the bad inputs listed in :func:`equal_error_rate`.

    See Also
    --------
    equal_error_rate : Takes either layout directly.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics import verification_pairs
    >>> y_true = ["ann", "bob", "ann"]
    >>> y_score = np.array([[0.9, 0.2], [0.3, 0.8], [0.7, 0.4]])
    >>> y_binary, scores = verification_pairs(y_true, y_score)
    >>> y_binary.tolist(), scores.tolist()
    ([1, 0, 0, 1, 1, 0], [0.9, 0.2, 0.3, 0.8, 0.7, 0.4])
    >>> verification_pairs([-1, 1, 1], [0.2, 0.5, 0.9])[0].tolist()
    [0, 1, 1]
    """
    ndim = np.ndim(y_score)
    if ndim == 2:
        _, scores, cols = _check_identity_matrix(y_true, y_score, labels)
        y_binary = np.zeros(scores.shape, dtype=np.int8)
        y_binary[np.arange(scores.shape[0]), cols] = 1
        return y_binary.ravel(), scores.ravel()
    if ndim == 1 and labels is not None:
        raise ValueError(
            "labels names the columns of a 2-D y_score; it must be None with "
            "binary y_true and 1-D y_score."
        )
    if ndim != 1:
        raise ValueError(
            "y_score must be 1-D (with binary y_true) or 2-D (n_samples, "
            f"n_identities) (with identities), got shape {np.shape(y_score)}."
        )
    genuine, scores, _ = check_binary(y_true, y_score)
    return genuine.astype(np.int8), scores


# --------------------------------------------------------------------------
# the exact sweep, on sorted runs
#
# The scores of each class are held as one or more sorted 1-D arrays ("runs":
# one per class in memory, several in skeer.streaming). At a threshold t
# (accept when score >= t):
#   g(t) = number of genuine scores  < t   -> FNMR(t) = g(t) / n_genuine
#   i(t) = number of impostor scores >= t  -> FMR(t)  = i(t) / n_impostor
# Both are monotone in t, so every operating point asked for is the boundary
# of a monotone predicate over the distinct scores, found by a selection
# search over the runs in O(log n) steps of O(n_runs) binary searches.


def _count_below(runs, value, side="left"):
    return sum(int(run.searchsorted(value, side=side)) for run in runs)


def _search(genuine, impostor, n_impostor, predicate):
    """Boundary of a monotone predicate over the distinct scores of all runs.

    ``predicate(g, i)`` is evaluated at a score t with ``g = g(t)`` and
    ``i = i(t)``; it must be False then True as t increases, and is taken to be
    True at t = +inf. Returns ``(lo, hi)``: ``(t, g, i)`` at the largest score
    where the predicate is False and at the smallest where it is True (None when
    there is no such score; for ``hi`` that means only +inf).
    """
    runs = [*genuine, *impostor]
    n_gen_runs = len(genuine)
    start = [0] * len(runs)
    stop = [len(run) for run in runs]
    lo = hi = None
    while True:
        # Candidates left: the scores strictly between lo and hi, a window of
        # each run. Probe the weighted median of the windows' middle elements:
        # it removes at least a quarter of the candidates either way.
        live = [k for k in range(len(runs)) if stop[k] > start[k]]
        if not live:
            return lo, hi
        middles = np.array([runs[k][(start[k] + stop[k]) // 2] for k in live])
        weights = np.array([stop[k] - start[k] for k in live])
        order = np.argsort(middles, kind="stable")
        cum = np.cumsum(weights[order])
        pivot = middles[order[np.searchsorted(cum, cum[-1] / 2)]]
        below = [int(run.searchsorted(pivot, side="left")) for run in runs]
        g = sum(below[:n_gen_runs])
        i = n_impostor - sum(below[n_gen_runs:])
        if predicate(g, i):
            hi = (pivot, g, i)
            stop = [max(a, min(b, p)) for a, b, p in zip(start, stop, below)]
        else:
            lo = (pivot, g, i)
            upto = [int(run.searchsorted(pivot, side="right")) for run in runs]
            start = [min(b, max(a, p)) for a, b, p in zip(start, stop, upto)]


def _allowed_count(rate, n):
    """Largest count c in [0, n] with ``c / n <= rate`` (as computed in float)."""
    c = min(n, math.floor(rate * n))
    while c < n and (c + 1) / n <= rate:
        c += 1
    while c > 0 and c / n > rate:
        c -= 1
    return c


def _eer_sorted(genuine, impostor, n_genuine, n_impostor):
    """(EER, threshold) from sorted runs; see :func:`equal_error_rate`."""
    lo, hi = _search(
        genuine,
        impostor,
        n_impostor,
        lambda g, i: g * n_impostor >= i * n_genuine,  # FNMR >= FMR, exactly
    )
    # lo exists: at the lowest score FNMR = 0 < FMR = 1.
    t0, g0, i0 = lo
    t0 = float(t0)
    if hi is None:  # the crossing is towards "reject all" (threshold +inf)
        t1, g1, i1 = math.nextafter(t0, math.inf), n_genuine, 0
    else:
        t1, g1, i1 = float(hi[0]), hi[1], hi[2]
    d0 = g0 * n_impostor - i0 * n_genuine  # < 0 (integers: exact)
    d1 = g1 * n_impostor - i1 * n_genuine  # >= 0
    lam = d0 / (d0 - d1)
    eer = (g0 + lam * (g1 - g0)) / n_genuine
    threshold = t1 if lam == 1 else (1 - lam) * t0 + lam * t1
    return eer, threshold


def _fnmr_at_fmr_sorted(genuine, impostor, n_genuine, n_impostor, fmr):
    allowed = _allowed_count(fmr, n_impostor)
    _, hi = _search(genuine, impostor, n_impostor, lambda g, i: i <= allowed)
    return 1.0 if hi is None else hi[1] / n_genuine


def _fmr_at_fnmr_sorted(genuine, impostor, n_genuine, n_impostor, fnmr):
    allowed = _allowed_count(fnmr, n_genuine)
    if allowed >= n_genuine:  # rejecting everything is allowed: FMR = 0
        return 0.0
    lo, _ = _search(genuine, impostor, n_impostor, lambda g, i: g > allowed)
    return lo[2] / n_impostor  # lo exists: at the lowest score g = 0


def _det_sorted(genuine, impostor, n_genuine, n_impostor):
    merged = np.concatenate([*genuine, *impostor])
    merged.sort()
    first = np.empty(len(merged), dtype=bool)
    first[0] = True
    np.not_equal(merged[1:], merged[:-1], out=first[1:])
    n_below = np.flatnonzero(first)  # number of scores below each distinct score
    scores = merged[n_below]
    del merged, first
    m = len(scores)
    thresholds = np.empty(m + 1)
    thresholds[:m] = scores
    thresholds[m] = np.inf
    g = sum(run.searchsorted(scores, side="left") for run in genuine)
    del scores
    fnmr = np.empty(m + 1)
    np.divide(g, n_genuine, out=fnmr[:m])
    fnmr[m] = 1.0
    n_below -= g  # impostor scores below the threshold
    del g
    np.subtract(n_impostor, n_below, out=n_below)  # ... and at or above it
    fmr = np.empty(m + 1)
    np.divide(n_below, n_impostor, out=fmr[:m])
    fmr[m] = 0.0
    return fmr, fnmr, thresholds


def _at_targets(targets, scalar, one):
    """Apply ``one(target)`` to every target, once per distinct target."""
    if scalar:
        return one(float(targets))
    cache = {}
    out = np.array([cache.setdefault(t, one(t)) for t in targets.ravel().tolist()])
    return out.reshape(targets.shape)


# --------------------------------------------------------------------------
# public metrics


def equal_error_rate(y_true, y_score, *, labels=None, return_threshold=False):
    """Equal error rate: where the false match and false non-match rates meet.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        With 1-D ``y_score``: binary labels, 1 or True for a genuine comparison
        and 0, False or -1 for an impostor one. With 2-D ``y_score``: the
        identity of each sample.
    y_score : array-like of shape (n_samples,) or (n_samples, n_identities)
        Similarity scores, higher = same person. In the 2-D layout (e.g. a
        verifier's ``decision_function``), column ``j`` compares each sample
        with identity ``labels[j]``: each row's own column is a genuine
        comparison, every other column an impostor comparison. float32 scores
        are kept in float32.
    labels : array-like of shape (n_identities,), default=None
        Identity of each column of a 2-D ``y_score``; default: the sorted
        distinct values of ``y_true``. Must be None with 1-D scores.
    return_threshold : bool, default=False
        Also return the threshold at the EER, interpolated like the EER.

    Returns
    -------
    eer : float
        The equal error rate, in [0, 1].
    threshold : float
        Only with ``return_threshold=True``: the decision threshold (accept
        when ``score >= threshold``) at the EER; always finite.

    Raises
    ------
    ValueError
        If an input is empty, ``y_true`` is not binary with 1-D scores, only
        one class is present (no genuine or no impostor comparison), scores
        are NaN or infinite, the shapes of ``y_true`` and ``y_score`` do not
        match, or a 2-D ``y_score``'s columns do not match ``labels`` (or a
        row's identity is not among them).

    Warns
    -----
    UnreliableMetricWarning
        With fewer than 10 genuine comparisons.

    See Also
    --------
    det_points : The whole empirical DET curve.
    fnmr_at_fmr : The FNMR at a fixed false-match rate.
    verification_pairs : Either layout as binary labels and 1-D scores.

    Notes
    -----
    Definition (Killourhy & Maxion, DSN 2009). Sort all distinct scores
    ``t_1 < ... < t_m`` and add ``t_{m+1} = +inf`` (reject everything). A
    comparison is accepted when its score is ``>= t``, so

    - FNMR(t) = share of genuine scores below t,
    - FMR(t) = share of impostor scores at or above t.

    FNMR - FMR is -1 at ``t_1`` and 1 at ``+inf`` and strictly increases from one
    distinct score to the next (tied scores, genuine or impostor, enter
    together, never split by sort order). Take the two consecutive thresholds
    ``t_k < t_{k+1}`` between which it changes sign (FNMR < FMR at ``t_k``,
    FNMR >= FMR at ``t_{k+1}``); the EER is where the straight segment joining
    their operating points (FMR, FNMR) crosses the line FNMR = FMR. When FNMR =
    FMR at ``t_{k+1}``, that common value is the EER. The threshold is
    interpolated with the same weight between ``t_k`` and ``t_{k+1}``; when
    ``t_{k+1} = +inf``, the smallest float above the highest score stands in
    for it, so the threshold stays finite.

    The crossing is located without listing every threshold: genuine and
    impostor scores are sorted once each and the sign change is found by
    binary searches on them (O(n log n) time, two sorted copies of the
    scores in memory). The sign test uses integer counts, so it is exact.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics import equal_error_rate
    >>> rng = np.random.default_rng(0)
    >>> y_true = np.r_[np.ones(100), np.zeros(1000)]
    >>> y_score = np.r_[rng.normal(2, 1, 100), rng.normal(0, 1, 1000)]
    >>> round(equal_error_rate(y_true, y_score), 3)
    0.149
    >>> eer, threshold = equal_error_rate(y_true, y_score, return_threshold=True)
    >>> round(threshold, 3)
    0.993

    Identities with a score matrix (one row per probe, one column per
    enrolled identity):

    >>> identities = np.repeat([0, 1, 2], 5)
    >>> matrix = rng.normal(0, 1, (15, 3))
    >>> matrix[np.arange(15), identities] += 2
    >>> round(equal_error_rate(identities, matrix), 3)
    0.067
    """
    genuine, impostor = _sorted_scores(y_true, y_score, labels)
    _warn_few_genuine(len(genuine))
    eer, threshold = _eer_sorted([genuine], [impostor], len(genuine), len(impostor))
    if return_threshold:
        return eer, threshold
    return eer


def fnmr_at_fmr(y_true, y_score, *, fmr, labels=None):
    """False non-match rate at a target false-match rate (never overshot).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels with 1-D ``y_score``, identities with 2-D ``y_score``; see
        :func:`equal_error_rate`.
    y_score : array-like of shape (n_samples,) or (n_samples, n_identities)
        Similarity scores, higher = same person.
    fmr : float or array-like of float in [0, 1]
        Target false-match rate(s).
    labels : array-like of shape (n_identities,), default=None
        Identity of each column of a 2-D ``y_score``; see
        :func:`equal_error_rate`.

    Returns
    -------
    fnmr : float or ndarray of float
        The lowest FNMR among the thresholds whose FMR does not exceed ``fmr``
        (the shape of ``fmr``: a float for a scalar).

    Raises
    ------
    ValueError
        If an input is empty, ``y_true`` is not binary with 1-D scores, only
        one class is present (no genuine or no impostor comparison), scores
        are NaN or infinite, the shapes of ``y_true`` and ``y_score`` do not
        match, or a 2-D ``y_score``'s columns do not match ``labels`` (or a
        row's identity is not among them).
        Also if ``fmr`` is outside [0, 1].

    Warns
    -----
    UnreliableMetricWarning
        With fewer than 10 genuine comparisons.

    See Also
    --------
    fmr_at_fnmr : The mirror image.
    equal_error_rate : Definitions of FMR and FNMR.

    Notes
    -----
    No interpolation across the target: the reported FNMR is that of an
    operating point whose FMR is at most ``fmr`` (the lowest such threshold).
    With ``n`` impostor comparisons, a target below ``1 / n`` can only be met
    by rejecting every impostor, so FMR targets are meaningful only with many
    more than ``1 / fmr`` impostor comparisons.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics import fnmr_at_fmr
    >>> y_true = np.r_[np.ones(10), np.zeros(10)]
    >>> y_score = np.r_[np.arange(10, 20), np.arange(0, 20, 2)]  # 0, 2, ..., 18
    >>> fnmr_at_fmr(y_true, y_score, fmr=0.1)  # accept >= 17: one impostor (18)
    0.7
    >>> fnmr_at_fmr(y_true, y_score, fmr=[0.0, 0.1, 0.5]).tolist()
    [0.9, 0.7, 0.0]
    """
    targets, scalar = check_target_rates(fmr, "fmr")
    genuine, impostor = _sorted_scores(y_true, y_score, labels)
    _warn_few_genuine(len(genuine))
    runs = ([genuine], [impostor], len(genuine), len(impostor))
    return _at_targets(targets, scalar, lambda t: _fnmr_at_fmr_sorted(*runs, t))


def fmr_at_fnmr(y_true, y_score, *, fnmr, labels=None):
    """False match rate at a target false non-match rate (never overshot).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels with 1-D ``y_score``, identities with 2-D ``y_score``; see
        :func:`equal_error_rate`.
    y_score : array-like of shape (n_samples,) or (n_samples, n_identities)
        Similarity scores, higher = same person.
    fnmr : float or array-like of float in [0, 1]
        Target false non-match rate(s).
    labels : array-like of shape (n_identities,), default=None
        Identity of each column of a 2-D ``y_score``; see
        :func:`equal_error_rate`.

    Returns
    -------
    fmr : float or ndarray of float
        The lowest FMR among the thresholds whose FNMR does not exceed
        ``fnmr`` (the shape of ``fnmr``: a float for a scalar).

    Raises
    ------
    ValueError
        If an input is empty, ``y_true`` is not binary with 1-D scores, only
        one class is present (no genuine or no impostor comparison), scores
        are NaN or infinite, the shapes of ``y_true`` and ``y_score`` do not
        match, or a 2-D ``y_score``'s columns do not match ``labels`` (or a
        row's identity is not among them).
        Also if ``fnmr`` is outside [0, 1].

    Warns
    -----
    UnreliableMetricWarning
        With fewer than 10 genuine comparisons.

    See Also
    --------
    fnmr_at_fmr : The mirror image.

    Notes
    -----
    No interpolation across the target: the reported FMR is that of the
    highest threshold whose FNMR is at most ``fnmr``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics import fmr_at_fnmr
    >>> y_true = np.r_[np.ones(10), np.zeros(10)]
    >>> y_score = np.r_[np.arange(10, 20), np.arange(0, 20, 2)]  # 0, 2, ..., 18
    >>> fmr_at_fnmr(y_true, y_score, fnmr=0.0)  # accept >= 10: impostors 10-18
    0.5
    >>> fmr_at_fnmr(y_true, y_score, fnmr=[0.0, 0.25, 1.0]).tolist()
    [0.5, 0.4, 0.0]
    """
    targets, scalar = check_target_rates(fnmr, "fnmr")
    genuine, impostor = _sorted_scores(y_true, y_score, labels)
    _warn_few_genuine(len(genuine))
    runs = ([genuine], [impostor], len(genuine), len(impostor))
    return _at_targets(targets, scalar, lambda t: _fmr_at_fnmr_sorted(*runs, t))


def det_points(y_true, y_score, *, labels=None):
    """Every operating point of the empirical DET curve.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels with 1-D ``y_score``, identities with 2-D ``y_score``; see
        :func:`equal_error_rate`.
    y_score : array-like of shape (n_samples,) or (n_samples, n_identities)
        Similarity scores, higher = same person.
    labels : array-like of shape (n_identities,), default=None
        Identity of each column of a 2-D ``y_score``; see
        :func:`equal_error_rate`.

    Returns
    -------
    fmr : ndarray of float64, shape (n_thresholds,)
        False match rate at each threshold (decreasing from 1 to 0).
    fnmr : ndarray of float64, shape (n_thresholds,)
        False non-match rate at each threshold (increasing from 0 to 1).
    thresholds : ndarray of float64, shape (n_thresholds,)
        Increasing thresholds (accept when ``score >= threshold``), as in
        :func:`sklearn.metrics.det_curve`: every distinct score, then
        ``+inf``. The first point (lowest score) accepts everything
        (FMR = 1, FNMR = 0) and the last rejects everything (FMR = 0,
        FNMR = 1).

    Raises
    ------
    ValueError
        If an input is empty, ``y_true`` is not binary with 1-D scores, only
        one class is present (no genuine or no impostor comparison), scores
        are NaN or infinite, the shapes of ``y_true`` and ``y_score`` do not
        match, or a 2-D ``y_score``'s columns do not match ``labels`` (or a
        row's identity is not among them).

    See Also
    --------
    sklearn.metrics.det_curve : The same points, trimmed to run from the
        highest threshold with FNMR = 0 to the lowest with FMR = 0.
    skeer.plotting.plot_det : Draws the curve on probit axes.

    Examples
    --------
    >>> from skeer.metrics import det_points
    >>> fmr, fnmr, thresholds = det_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fmr.tolist(), fnmr.tolist()
    ([1.0, 0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5, 1.0])
    >>> thresholds.tolist()
    [0.1, 0.35, 0.4, 0.8, inf]
    """
    genuine, impostor = _sorted_scores(y_true, y_score, labels)
    return _det_sorted([genuine], [impostor], len(genuine), len(impostor))
