"""The other figures biometrics papers quote: rates at a threshold, HTER, EPC,
d′ and the rank-1 identification rate.

Users of bob.measure (HTER at a threshold, the expected performance curve),
pyeer (the decidability index d′; its ZeroFMR is
``fnmr_at_fmr(y_true, y_score, fmr=0)``) and the KVC-onGoing kit (rank-1)
find them here, on skeer's two input layouts (see :mod:`skeer.metrics`).
Scores are similarities; a comparison is accepted when its score is at or
above the threshold. NumPy only.
"""

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


def _threshold(value):
    """A finite threshold as a float (``±inf``: accept or reject everyone)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"threshold must be a number, got {value!r}.")
    value = float(value)
    if np.isnan(value):
        raise ValueError("threshold must be a number, got NaN.")
    return value


def rates_at_threshold(y_true, y_score, threshold, *, labels=None):
    """False-match and false non-match rates of one decision threshold.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels with 1-D ``y_score``, identities with 2-D ``y_score``
        (see :func:`~skeer.metrics.equal_error_rate`).
    y_score : array-like of shape (n_samples,) or (n_samples, n_subjects)
        Similarity scores, higher = same person.
    threshold : float
        A comparison is accepted when its score is at or above it (e.g. a
        verifier's ``threshold_``, calibrated on other people). ``-inf``
        accepts everyone, ``inf`` rejects everyone.
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column of a 2-D ``y_score``.

    Returns
    -------
    fmr : float
        Share of impostor comparisons accepted.
    fnmr : float
        Share of genuine comparisons rejected.

    Raises
    ------
    ValueError
        If the inputs are invalid (see :func:`~skeer.metrics.equal_error_rate`)
        or ``threshold`` is not a number.

    See Also
    --------
    half_total_error_rate : Their mean.

    Examples
    --------
    >>> from skeer.metrics import rates_at_threshold
    >>> rates_at_threshold([1, 1, 1, 0, 0], [0.9, 0.6, 0.3, 0.5, 0.1], 0.5)
    (0.5, 0.3333333333333333)
    """
    threshold = _threshold(threshold)
    genuine, impostor, _ = check_comparisons(y_true, y_score, labels)
    return (
        float(np.count_nonzero(impostor >= threshold) / len(impostor)),
        float(np.count_nonzero(genuine < threshold) / len(genuine)),
    )


def half_total_error_rate(y_true, y_score, threshold, *, labels=None):
    """Half total error rate (HTER) at a threshold: ``(FMR + FNMR) / 2``.

    The figure bob.measure reports on a test set at a threshold chosen on a
    development set (at its EER, or from
    :func:`expected_performance_curve`): unlike the EER, it pays for a
    threshold that does not transfer.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels with 1-D ``y_score``, identities with 2-D ``y_score``.
    y_score : array-like of shape (n_samples,) or (n_samples, n_subjects)
        Similarity scores, higher = same person.
    threshold : float
        Accept at or above it.
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column of a 2-D ``y_score``.

    Returns
    -------
    hter : float
        In [0, 1].

    See Also
    --------
    rates_at_threshold : The two rates.

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

    ``d′ = |mean_g − mean_i| / sqrt((var_g + var_i) / 2)`` over the genuine
    (g) and impostor (i) scores, with population variances (Daugman; pyeer's
    ``decidability``). It summarises the separation in one number but assumes
    roughly Gaussian scores: quote it beside the EER, not instead of it.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels with 1-D ``y_score``, identities with 2-D ``y_score``.
    y_score : array-like of shape (n_samples,) or (n_samples, n_subjects)
        Similarity scores, higher = same person.
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column of a 2-D ``y_score``.

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
    genuine = genuine.astype(np.float64)
    impostor = impostor.astype(np.float64)
    spread = np.sqrt((genuine.var() + impostor.var()) / 2)
    gap = abs(genuine.mean() - impostor.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(gap) / spread)


def _sorted_rates(genuine, impostor):
    """Candidate thresholds (distinct scores, then +inf) and their FMR, FNMR."""
    genuine, impostor = np.sort(genuine), np.sort(impostor)
    thresholds = np.r_[np.unique(np.r_[genuine, impostor]), np.inf]
    fmr = 1.0 - np.searchsorted(impostor, thresholds, side="left") / len(impostor)
    fnmr = np.searchsorted(genuine, thresholds, side="left") / len(genuine)
    return thresholds, fmr, fnmr


def expected_performance_curve(
    y_dev, score_dev, y_test, score_test, *, n_points=101, labels=None
):
    """Expected performance curve (EPC, Bengio & Mariéthoz 2004; bob.measure).

    For each weight ``alpha`` in [0, 1], the threshold that minimises the
    weighted error ``alpha · FMR + (1 − alpha) · FNMR`` on the development
    comparisons is applied to the test comparisons, and their HTER reported:
    the error a system really gets when its threshold is chosen beforehand,
    for every trade-off between the two errors.

    Parameters
    ----------
    y_dev, score_dev : array-like
        Development comparisons (labels and scores, either input layout),
        where the thresholds are chosen.
    y_test, score_test : array-like
        Test comparisons (the same layout), where they are judged.
    n_points : int, default=101
        Number of weights, evenly spaced over [0, 1].
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column of 2-D scores (both sets).

    Returns
    -------
    alpha : ndarray of shape (n_points,)
        The weights of the false-match rate.
    hter : ndarray of shape (n_points,)
        The test HTER at each weight's development threshold.
    thresholds : ndarray of shape (n_points,)
        The development thresholds (accept at or above; ``inf`` rejects
        everyone).

    Notes
    -----
    Among thresholds with the same weighted error, the one with the fewest
    errors in all (``FMR + FNMR``) is taken, then the highest: at
    ``alpha = 1`` the threshold just above the highest impostor score, not
    one that rejects everyone. bob.measure places its threshold between two
    scores; the rates it reaches are the same unless a test score falls in
    between.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics import expected_performance_curve
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(200), np.zeros(200)]
    >>> dev, test = (np.r_[rng.normal(1, 1, 200), rng.normal(-1, 1, 200)]
    ...              for _ in range(2))
    >>> alpha, hter, _ = expected_performance_curve(y, dev, y, test, n_points=3)
    >>> alpha.tolist(), bool(hter[1] < hter[0] and hter[1] < hter[2])
    ([0.0, 0.5, 1.0], True)
    """
    n_points = check_positive_int(n_points, "n_points")
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points}.")
    g_dev, i_dev, _ = check_comparisons(y_dev, score_dev, labels)
    g_test, i_test, _ = check_comparisons(y_test, score_test, labels)
    thresholds, fmr, fnmr = _sorted_rates(g_dev, i_dev)
    alpha = np.linspace(0.0, 1.0, n_points)
    chosen = np.empty(n_points)
    total = fmr + fnmr
    for k, a in enumerate(alpha):
        weighted = a * fmr + (1.0 - a) * fnmr
        tied = weighted <= weighted.min() + 1e-12
        # among the minima, the fewest errors in all, then the highest threshold
        best = np.flatnonzero(tied & (total <= total[tied].min() + 1e-12))[-1]
        chosen[k] = thresholds[best]
    g_test, i_test = np.sort(g_test), np.sort(i_test)
    test_fmr = 1.0 - np.searchsorted(i_test, chosen, side="left") / len(i_test)
    test_fnmr = np.searchsorted(g_test, chosen, side="left") / len(g_test)
    return alpha, (test_fmr + test_fnmr) / 2, chosen


def identification_rate(y_true, y_score, *, labels=None, rank=1):
    """Rank-k identification rate: probes whose own subject ranks in the top k.

    Each row of ``y_score`` scores one probe against every enrolled subject
    (a verifier's ``decision_function``); the probe is identified at rank
    ``k`` when fewer than ``k`` other subjects score at least as high as its
    own (ties count against it). ``rank=1`` is the rank-1 accuracy of
    closed-set identification (the KVC-onGoing kit reports it).

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        The subject of each probe.
    y_score : array-like of shape (n_probes, n_subjects)
        Similarity of each probe to each subject (columns follow ``labels``).
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column (e.g. the estimator's ``classes_``); None:
        the sorted distinct values of ``y_true``.
    rank : int, default=1
        ``k``.

    Returns
    -------
    rate : float
        In [0, 1].

    Raises
    ------
    ValueError
        If ``y_score`` is not 2-D, a probe's subject names no column, or
        ``rank`` is not a positive integer.

    Examples
    --------
    >>> from skeer.metrics import identification_rate
    >>> scores = [[0.9, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.2, 0.8]]
    >>> identification_rate([0, 1, 2], scores)
    0.6666666666666666
    >>> identification_rate([0, 1, 2], scores, rank=2)
    1.0
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
