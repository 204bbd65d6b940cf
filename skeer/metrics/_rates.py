"""Exact EER, FNMR at a fixed FMR, FMR at a fixed FNMR and DET points (NumPy only)."""

import numpy as np

from skeer.metrics._checks import (
    check_binary,
    check_comparisons,
    check_identity_matrix,
    check_layout,
)
from skeer.metrics._sweep import (
    UnreliableMetricWarning,
    check_method,
    det_sorted,
    eer_by_method,
    fmr_at_fnmr_sorted,
    fnmr_at_fmr_by_method,
    rates_at_targets,
    warn_few_genuine,
)

__all__ = [
    "UnreliableMetricWarning",
    "det_points",
    "equal_error_rate",
    "fmr_at_fnmr",
    "fnmr_at_fmr",
    "verification_pairs",
]


def _sorted_scores(y_true, y_score, labels):
    """Genuine and impostor scores, sorted, as one run each, and their counts."""
    genuine, impostor, _ = check_comparisons(y_true, y_score, labels)
    genuine.sort()
    impostor.sort()
    return [genuine], [impostor], len(genuine), len(impostor)


def verification_pairs(y_true, y_score, *, labels=None):
    """Either input layout as binary labels and 1-D scores.

    Parameters
    ----------
    y_true, y_score, labels
        As in :func:`equal_error_rate` (so are the errors raised).

    Returns
    -------
    y_binary, scores : ndarray of shape (n_comparisons,)
        1 (int8) for a genuine comparison, 0 for an impostor one; the scores (a
        matrix's in row-major order).

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics._rates import verification_pairs
    >>> y_score = np.array([[0.9, 0.2], [0.3, 0.8], [0.7, 0.4]])
    >>> y_binary, scores = verification_pairs(["ann", "bob", "ann"], y_score)
    >>> y_binary.tolist(), scores.tolist()
    ([1, 0, 0, 1, 1, 0], [0.9, 0.2, 0.3, 0.8, 0.7, 0.4])
    """
    if check_layout(y_score, labels) == 2:
        _, scores, cols = check_identity_matrix(y_true, y_score, labels)
        y_binary = np.zeros(scores.shape, dtype=np.int8)
        y_binary[np.arange(scores.shape[0]), cols] = 1
        return y_binary.ravel(), scores.ravel()
    genuine, scores, _ = check_binary(y_true, y_score)
    return genuine.astype(np.int8), scores


def equal_error_rate(
    y_true, y_score, *, labels=None, method="interpolate", return_threshold=False
):
    """Equal error rate: where the false match and false non-match rates meet.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        With 1-D ``y_score``: binary labels, 1 or True = genuine, 0, False or -1
        = impostor. With 2-D ``y_score``: the identity of each sample.
    y_score : array-like of shape (n_samples,) or (n_samples, n_subjects)
        Similarity scores, higher = same person (float16 is computed in
        float32). In the 2-D layout (e.g. a ``decision_function``) column ``j``
        scores each sample against identity ``labels[j]``: a row's own column is
        genuine, the others impostor.
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column of a 2-D ``y_score`` (e.g. ``classes_``);
        default: the sorted distinct values of ``y_true`` (binary ``y_true``
        with 2 columns is then ambiguous, refused). None with 1-D scores.
    method : {"interpolate", "nearest", "pyeer", "bob"}, default="interpolate"
        Convention for reading the EER off the empirical curve (see Notes).
    return_threshold : bool, default=False
        Also return the (finite) threshold at the EER, accept when ``score >=
        threshold``.

    Returns
    -------
    eer : float or tuple
        The EER in [0, 1], or ``(eer, threshold)``.

    Raises
    ------
    ValueError
        On invalid or one-class inputs, ``labels`` or ``method``.

    Warns
    -----
    UnreliableMetricWarning
        With fewer than 10 genuine comparisons.

    Notes
    -----
    ``"interpolate"``: Killourhy & Maxion's definition (DSN 2009), exact (see
    :ref:`operating_points`). The others give the mean of FMR and FNMR at one
    curve point, as the KVC-onGoing kit's ``compute_eer`` (``"nearest"``),
    pyeer's ``get_eer_values`` and bob.measure's ``eer``, tie rules included.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics._rates import equal_error_rate
    >>> y, s = np.repeat([0, 1, 1, 1, 0], 4), np.repeat([0.1, 0.2, 0.3, 0.4, 0.5], 4)
    >>> equal_error_rate(y, s, return_threshold=True)
    (0.5, 0.35)
    >>> methods = ("nearest", "pyeer", "bob")
    >>> [round(equal_error_rate(y, s, method=m), 4) for m in methods]
    [0.75, 0.4167, 0.5833]
    """
    method = check_method(method)
    runs = _sorted_scores(y_true, y_score, labels)
    warn_few_genuine(runs[2])
    eer, threshold = eer_by_method(*runs, method)
    return (eer, threshold) if return_threshold else eer


def fnmr_at_fmr(y_true, y_score, *, fmr, labels=None, method="interpolate"):
    """False non-match rate at a target false-match rate.

    Parameters
    ----------
    y_true, y_score, labels
        As in :func:`equal_error_rate`.
    fmr : float or array-like of float in [0, 1]
        Target false-match rate(s).
    method : {"interpolate", "nearest", "pyeer", "bob"}, default="interpolate"
        ``"interpolate"``, ``"bob"``: the lowest FNMR among the thresholds whose
        FMR does not exceed ``fmr``. ``"nearest"`` (KVC kit) and ``"pyeer"``:
        the point whose FMR is nearest ``fmr``, which may exceed it.

    Returns
    -------
    fnmr : float or ndarray of float
        The FNMR at the target(s), in the shape of ``fmr``.

    Raises
    ------
    ValueError
        As :func:`equal_error_rate`, or if ``fmr`` is outside [0, 1].

    Warns
    -----
    UnreliableMetricWarning
        With fewer than 10 genuine comparisons, or a target in (0, 1/n_impostor).

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics._rates import fnmr_at_fmr
    >>> y_true = np.r_[np.ones(10), np.zeros(10)]
    >>> y_score = np.r_[np.arange(10, 20), np.arange(0, 20, 2)]  # 0, 2, ..., 18
    >>> fnmr_at_fmr(y_true, y_score, fmr=[0.0, 0.1, 0.5]).tolist()
    [0.9, 0.7, 0.0]
    """
    method = check_method(method)
    return rates_at_targets(
        lambda *runs: fnmr_at_fmr_by_method(*runs, method),
        fmr,
        "fmr",
        lambda: _sorted_scores(y_true, y_score, labels),
    )


def fmr_at_fnmr(y_true, y_score, *, fnmr, labels=None):
    """False match rate at a target false non-match rate (never overshot).

    Parameters
    ----------
    y_true, y_score, labels
        As in :func:`equal_error_rate`.
    fnmr : float or array-like of float in [0, 1]
        Target false non-match rate(s).

    Returns
    -------
    fmr : float or ndarray of float
        The lowest FMR with an FNMR not above ``fnmr``, in its shape.

    Raises
    ------
    ValueError
        As :func:`equal_error_rate`, or if ``fnmr`` is outside [0, 1].

    Warns
    -----
    UnreliableMetricWarning
        As :func:`fnmr_at_fmr`, the genuine comparisons resolving ``fnmr``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics._rates import fmr_at_fnmr
    >>> y_true = np.r_[np.ones(10), np.zeros(10)]
    >>> y_score = np.r_[np.arange(10, 20), np.arange(0, 20, 2)]  # 0, 2, ..., 18
    >>> fmr_at_fnmr(y_true, y_score, fnmr=[0.0, 0.25, 1.0]).tolist()
    [0.5, 0.4, 0.0]
    """
    return rates_at_targets(
        fmr_at_fnmr_sorted,
        fnmr,
        "fnmr",
        lambda: _sorted_scores(y_true, y_score, labels),
    )


def det_points(y_true, y_score, *, labels=None):
    """Every operating point of the empirical DET curve.

    Parameters
    ----------
    y_true, y_score, labels
        As in :func:`equal_error_rate` (so are the errors raised).

    Returns
    -------
    fmr, fnmr, thresholds : ndarray of float64, shape (n_thresholds,)
        The rates at each threshold: every distinct score, increasing, then
        ``+inf`` (accept when ``score >= threshold``), as
        :func:`sklearn.metrics.det_curve` but untrimmed.

    Examples
    --------
    >>> from skeer.metrics._rates import det_points
    >>> fmr, fnmr, thresholds = det_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fmr.tolist(), fnmr.tolist(), thresholds.tolist()
    ([1.0, 0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5, 1.0], [0.1, 0.35, 0.4, 0.8, inf])
    """
    return det_sorted(*_sorted_scores(y_true, y_score, labels))
