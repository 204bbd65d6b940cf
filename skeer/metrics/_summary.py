"""Rates at a threshold, HTER, EPC, d′ and the rank-k identification rate."""

import numpy as np

from skeer._validation import check_positive_int
from skeer.metrics._checks import check_comparisons, check_identity_matrix

__all__ = [
    "decidability",
    "expected_performance_curve",
    "half_total_error_rate",
    "identification_rate",
    "rates_at_threshold",
]


def rates_at_threshold(y_true, y_score, threshold, *, labels=None):
    """False-match and false non-match rates of one decision threshold.

    Parameters
    ----------
    y_true, y_score, labels
        As in :func:`~skeer.metrics.equal_error_rate` (so are the errors raised).
    threshold : float
        Accept when the score is at or above it (``-inf`` accepts everyone,
        ``inf`` rejects everyone); ``ValueError`` if not a number.

    Returns
    -------
    fmr, fnmr : float
        Shares of impostor comparisons accepted and genuine ones rejected.

    Examples
    --------
    >>> from skeer.metrics import rates_at_threshold
    >>> rates_at_threshold([1, 1, 1, 0, 0], [0.9, 0.6, 0.3, 0.5, 0.1], 0.5)
    (0.5, 0.3333333333333333)
    """
    if isinstance(threshold, bool) or not isinstance(
        threshold, int | float | np.number
    ):
        raise ValueError(f"threshold must be a number, got {threshold!r}.")
    threshold = float(threshold)
    if np.isnan(threshold):
        raise ValueError("threshold must be a number, got NaN.")
    genuine, impostor, _ = check_comparisons(y_true, y_score, labels)
    return (
        float(np.count_nonzero(impostor >= threshold) / len(impostor)),
        float(np.count_nonzero(genuine < threshold) / len(genuine)),
    )


def half_total_error_rate(y_true, y_score, threshold, *, labels=None):
    """Half total error rate (HTER) at a threshold: ``(FMR + FNMR) / 2``.

    Parameters
    ----------
    y_true, y_score, threshold, labels
        As in :func:`rates_at_threshold`.

    Returns
    -------
    hter : float
        In [0, 1].

    Examples
    --------
    >>> from skeer.metrics import half_total_error_rate
    >>> round(half_total_error_rate([1, 1, 1, 0, 0], [0.9, 0.6, 0.3, 0.5, 0.1], 0.5), 4)
    0.4167
    """
    fmr, fnmr = rates_at_threshold(y_true, y_score, threshold, labels=labels)
    return (fmr + fnmr) / 2


def decidability(y_true, y_score, *, labels=None):
    """Decidability index d′: how far apart the two score distributions are.

    ``d′ = |mean_g − mean_i| / sqrt((var_g + var_i) / 2)`` over the genuine and
    impostor scores, population variances (Daugman; pyeer's ``decidability``).

    Parameters
    ----------
    y_true, y_score, labels
        As in :func:`~skeer.metrics.equal_error_rate`.

    Returns
    -------
    d_prime : float
        Non-negative; ``inf`` when both distributions are constant and differ,
        NaN when they are the same constant.

    Examples
    --------
    >>> from skeer.metrics import decidability
    >>> decidability([1, 1, 0, 0], [3.0, 5.0, 0.0, 2.0])
    3.0
    """
    genuine, impostor, _ = check_comparisons(y_true, y_score, labels)
    genuine, impostor = genuine.astype(np.float64), impostor.astype(np.float64)
    spread = np.sqrt((genuine.var() + impostor.var()) / 2)
    gap = abs(genuine.mean() - impostor.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(gap) / spread)


def _rates_at(genuine, impostor, thresholds):
    """FMR and FNMR at each threshold (accept at or above)."""
    genuine, impostor = np.sort(genuine), np.sort(impostor)
    fmr = 1.0 - np.searchsorted(impostor, thresholds, side="left") / len(impostor)
    return fmr, np.searchsorted(genuine, thresholds, side="left") / len(genuine)


def expected_performance_curve(
    y_dev, score_dev, y_test, score_test, *, n_points=101, labels=None
):
    """Expected performance curve (EPC, Bengio & Mariéthoz 2004; bob.measure).

    For each weight ``alpha``, the threshold minimising ``alpha · FMR + (1 −
    alpha) · FNMR`` on the development comparisons (on ties, the fewest errors,
    then the highest) is applied to the test comparisons.

    Parameters
    ----------
    y_dev, score_dev, y_test, score_test : array-like
        Development and test comparisons (either input layout, the same for both).
    n_points : int, default=101
        Number of weights, evenly spaced over [0, 1] (at least 2).
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column of 2-D scores (both sets).

    Returns
    -------
    alpha, hter, thresholds : ndarray of shape (n_points,)
        The weights of the FMR, the test HTER at each and the development
        thresholds (accept at or above; ``inf`` rejects everyone).

    Examples
    --------
    >>> from skeer.metrics import expected_performance_curve
    >>> y, scores = [1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1]
    >>> expected_performance_curve(y, scores, y, scores, n_points=3)[1].tolist()
    [0.25, 0.25, 0.25]
    """
    n_points = check_positive_int(n_points, "n_points")
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points}.")
    g_dev, i_dev, _ = check_comparisons(y_dev, score_dev, labels)
    g_test, i_test, _ = check_comparisons(y_test, score_test, labels)
    thresholds = np.r_[np.unique(np.r_[g_dev, i_dev]), np.inf]
    fmr, fnmr = _rates_at(g_dev, i_dev, thresholds)
    alpha = np.linspace(0.0, 1.0, n_points)
    chosen = np.empty(n_points)
    total = fmr + fnmr
    for k, a in enumerate(alpha):
        weighted = a * fmr + (1.0 - a) * fnmr
        tied = weighted <= weighted.min() + 1e-12
        # among the minima, the fewest errors in all, then the highest threshold
        best = np.flatnonzero(tied & (total <= total[tied].min() + 1e-12))[-1]
        chosen[k] = thresholds[best]
    test_fmr, test_fnmr = _rates_at(g_test, i_test, chosen)
    return alpha, (test_fmr + test_fnmr) / 2, chosen


def identification_rate(y_true, y_score, *, labels=None, rank=1):
    """Rank-k identification rate: probes whose own subject ranks in the top k.

    A probe counts when fewer than ``k`` other subjects score at least as high
    as its own (ties count against it).

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        The subject of each probe.
    y_score : array-like of shape (n_probes, n_subjects)
        Similarity of each probe to each subject (``ValueError`` if not 2-D).
    labels : array-like of shape (n_subjects,), default=None
        As in :func:`~skeer.metrics.equal_error_rate`.
    rank : int, default=1
        ``k``, a positive integer.

    Returns
    -------
    rate : float
        In [0, 1].

    Examples
    --------
    >>> from skeer.metrics import identification_rate
    >>> identification_rate(["a", "b"], [[0.9, 0.2], [0.5, 0.4]])
    0.5
    """
    rank = check_positive_int(rank, "rank")
    if np.ndim(y_score) != 2:
        raise ValueError(
            "y_score must be 2-D (n_probes, n_subjects): one score per enrolled "
            f"subject, got shape {np.shape(y_score)}."
        )
    _, scores, cols = check_identity_matrix(y_true, y_score, labels)
    own = scores[np.arange(len(cols)), cols]
    # other subjects scoring at least as high as the probe's own
    rivals = (scores >= own[:, None]).sum(axis=1) - 1
    return float(np.mean(rivals < rank))
