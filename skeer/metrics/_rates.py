"""Verification metrics: EER, FNMR at a fixed FMR, FMR at a fixed FNMR, DET points.

Scores are similarities (higher = same person) and a comparison is accepted when
its score is at or above the threshold. Two input layouts are accepted, like
:func:`sklearn.metrics.roc_auc_score`:

- binary labels (1 or True = genuine, 0, False or -1 = impostor) with 1-D scores;
- identities ``y_true`` of shape ``(n,)`` with a score matrix of shape
  ``(n, n_subjects)`` whose columns follow ``labels``, such as a verifier's
  ``decision_function``: each row's own column is a genuine comparison, every
  other column an impostor one. Pass ``labels`` (e.g. the estimator's
  ``classes_``) whenever you can. Without it the columns are taken to be the
  sorted distinct values of ``y_true``, which needs exactly one column per
  distinct identity (such as identities ``0 .. n_subjects - 1``); binary
  ``y_true`` with two columns is refused as ambiguous.

Everything is computed exactly on the empirical error rates (ISO/IEC 19795
names: false match rate FMR, false non-match rate FNMR) from the genuine and
impostor scores sorted once each; no threshold grid, no Python loop over scores.
float16 scores are computed in float32 (NumPy's float16 sort is not reliable on
every CPU). NumPy only: importing this module never imports torch.

The EER and the FNMR at a fixed FMR follow skeer's convention by default
(``method="interpolate"``); ``method=`` also reproduces the conventions of the
KVC-onGoing evaluation kit (``"nearest"``), of pyeer and of bob.measure, so
that numbers can be compared with results computed by those tools.
"""

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
    y_true : array-like of shape (n_samples,)
        Binary labels (1 or True = genuine; 0, False or -1 = impostor) when
        ``y_score`` is 1-D, identities when it is 2-D.
    y_score : array-like of shape (n_samples,) or (n_samples, n_subjects)
        Similarity scores (higher = same person). In the 2-D layout, column
        ``j`` holds the comparisons with identity ``labels[j]``.
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column of a 2-D ``y_score``; default: the sorted
        distinct values of ``y_true`` (see :func:`equal_error_rate`). Must be
        None with 1-D scores.

    Returns
    -------
    y_binary : ndarray of int8, shape (n_comparisons,)
        1 for a genuine comparison, 0 for an impostor one.
    scores : ndarray of shape (n_comparisons,)
        The scores, floating point (float32 stays float32, float16 becomes
        float32). For a matrix, the
        comparisons in row-major order (``n_comparisons = n_samples *
        n_subjects``); for 1-D input, the scores themselves.

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
    >>> from skeer.metrics._rates import verification_pairs
    >>> y_true = ["ann", "bob", "ann"]
    >>> y_score = np.array([[0.9, 0.2], [0.3, 0.8], [0.7, 0.4]])
    >>> y_binary, scores = verification_pairs(y_true, y_score)
    >>> y_binary.tolist(), scores.tolist()
    ([1, 0, 0, 1, 1, 0], [0.9, 0.2, 0.3, 0.8, 0.7, 0.4])
    >>> verification_pairs([-1, 1, 1], [0.2, 0.5, 0.9])[0].tolist()
    [0, 1, 1]
    """
    if check_layout(y_score, labels) == 2:
        _, scores, cols = check_identity_matrix(y_true, y_score, labels)
        y_binary = np.zeros(scores.shape, dtype=np.int8)
        y_binary[np.arange(scores.shape[0]), cols] = 1
        return y_binary.ravel(), scores.ravel()
    genuine, scores, _ = check_binary(y_true, y_score)
    return genuine.astype(np.int8), scores


# --------------------------------------------------------------------------
# public metrics


def equal_error_rate(
    y_true, y_score, *, labels=None, method="interpolate", return_threshold=False
):
    """Equal error rate: where the false match and false non-match rates meet.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        With 1-D ``y_score``: binary labels, 1 or True for a genuine comparison
        and 0, False or -1 for an impostor one. With 2-D ``y_score``: the
        identity of each sample.
    y_score : array-like of shape (n_samples,) or (n_samples, n_subjects)
        Similarity scores, higher = same person. In the 2-D layout (e.g. a
        verifier's ``decision_function``), column ``j`` compares each sample
        with identity ``labels[j]``: each row's own column is a genuine
        comparison, every other column an impostor comparison. float32 scores
        are kept in float32 (float16 are computed in float32).
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column of a 2-D ``y_score``, e.g. the estimator's
        ``classes_``. Default: the sorted distinct values of ``y_true``, which
        needs exactly one column per distinct identity; binary ``y_true``
        (0/1, -1/1 or booleans) with a 2-column ``y_score`` is refused then,
        as it may be binary labels with ``predict_proba``-like scores. Must
        be None with 1-D scores.
    method : {"interpolate", "nearest", "pyeer", "bob"}, default="interpolate"
        Convention for reading the EER off the empirical curve (see Notes):
        ``"interpolate"`` interpolates between the two operating points
        around the crossing (Killourhy & Maxion); ``"nearest"`` reproduces the
        KVC-onGoing evaluation kit; ``"pyeer"`` and ``"bob"`` reproduce those
        libraries.
    return_threshold : bool, default=False
        Also return the threshold at the EER (interpolated like the EER with
        ``method="interpolate"``, that of the chosen operating point
        otherwise).

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
        match, a 2-D ``y_score``'s columns do not match ``labels`` (or a row's
        identity is not among them, or, without ``labels``, the columns cannot
        be told apart from the identities), or ``method`` is unknown.

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
    Definition (Killourhy & Maxion, DSN 2009), ``method="interpolate"``. Sort
    all distinct scores ``t_1 < ... < t_m`` and add ``t_{m+1} = +inf`` (reject
    everything). A comparison is accepted when its score is ``>= t``, so

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

    The other conventions take one operating point of the curve, not
    interpolated, and report the mean of its FMR and FNMR. They need the
    whole curve in memory (a few times 8 bytes per distinct score).

    - ``"nearest"``: the KVC-onGoing kit (``utils/metrics.py``,
      ``compute_eer``): the ROC curve of :func:`sklearn.metrics.roc_curve`
      (with its default ``drop_intermediate=True``, which drops an interior
      point when both error counts change by the same amounts on either side
      of it, and with the reject-all point), the point where ``|FNMR - FMR|``
      is smallest (the first in sklearn's order, i.e. the highest threshold,
      on ties), computed with the kit's floating-point operations, so the
      value is the kit's to the last bit.
    - ``"pyeer"``: pyeer's ``get_eer_values`` (Maio et al., FVC2000): over
      the distinct scores, the first threshold where FNMR >= FMR and the one
      before it (unless FNMR = FMR there); of the two, the point with the
      smaller FMR + FNMR (the lower threshold on ties). Where pyeer finds no
      such threshold (impostors tied at the highest score) it warns and
      returns 1; skeer takes the reject-all point as the first one instead.
    - ``"bob"``: bob.measure's ``eer``: the point where ``|FMR - FNMR|`` is
      smallest (the higher threshold on ties), over the distinct scores.
      bob.measure accumulates the rates in floating point, so on an exact
      tie between the two points around the crossing its choice may differ;
      skeer compares the exact counts.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics._rates import equal_error_rate
    >>> rng = np.random.default_rng(0)
    >>> y_true = np.r_[np.ones(100), np.zeros(1000)]
    >>> y_score = np.r_[rng.normal(2, 1, 100), rng.normal(0, 1, 1000)]
    >>> round(equal_error_rate(y_true, y_score), 3)
    0.149
    >>> eer, threshold = equal_error_rate(y_true, y_score, return_threshold=True)
    >>> round(threshold, 3)
    0.993

    Identities with a score matrix (one row per probe, one column per
    enrolled identity, in the order of ``labels``):

    >>> identities = np.repeat([0, 1, 2], 5)
    >>> matrix = rng.normal(0, 1, (15, 3))
    >>> matrix[np.arange(15), identities] += 2
    >>> round(equal_error_rate(identities, matrix, labels=[0, 1, 2]), 3)
    0.067

    The conventions of other tools differ when no threshold equalises the
    rates (genuine scores 0.2, 0.3, 0.4 and impostor scores 0.1, 0.5, each
    four times):

    >>> y = np.repeat([0, 1, 1, 1, 0], 4)
    >>> s = np.repeat([0.1, 0.2, 0.3, 0.4, 0.5], 4)
    >>> for method in ("interpolate", "nearest", "pyeer", "bob"):
    ...     print(method, round(equal_error_rate(y, s, method=method), 4))
    interpolate 0.5
    nearest 0.75
    pyeer 0.4167
    bob 0.5833
    """
    method = check_method(method)
    runs = _sorted_scores(y_true, y_score, labels)
    warn_few_genuine(runs[2])
    eer, threshold = eer_by_method(*runs, method)
    if return_threshold:
        return eer, threshold
    return eer


def fnmr_at_fmr(y_true, y_score, *, fmr, labels=None, method="interpolate"):
    """False non-match rate at a target false-match rate.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels with 1-D ``y_score``, identities with 2-D ``y_score``; see
        :func:`equal_error_rate`.
    y_score : array-like of shape (n_samples,) or (n_samples, n_subjects)
        Similarity scores, higher = same person.
    fmr : float or array-like of float in [0, 1]
        Target false-match rate(s).
    labels : array-like of shape (n_subjects,), default=None
        Identity of each column of a 2-D ``y_score``; see
        :func:`equal_error_rate`.
    method : {"interpolate", "nearest", "pyeer", "bob"}, default="interpolate"
        Convention (see Notes). ``"interpolate"`` (the default, also
        bob.measure's) never overshoots the target; ``"nearest"`` reproduces
        the KVC-onGoing kit and ``"pyeer"`` pyeer, which take the operating
        point whose FMR is nearest the target, above or below it. The name
        is shared with :func:`equal_error_rate`; nothing is interpolated at a
        fixed FMR.

    Returns
    -------
    fnmr : float or ndarray of float
        The FNMR at the target(s) (the shape of ``fmr``: a float for a
        scalar).

    Raises
    ------
    ValueError
        If an input is empty, ``y_true`` is not binary with 1-D scores, only
        one class is present (no genuine or no impostor comparison), scores
        are NaN or infinite, the shapes of ``y_true`` and ``y_score`` do not
        match, or a 2-D ``y_score``'s columns do not match ``labels`` (or a
        row's identity is not among them).
        Also if ``fmr`` is outside [0, 1] or ``method`` is unknown.

    Warns
    -----
    UnreliableMetricWarning
        With fewer than 10 genuine comparisons, and (once per call) when a
        target in (0, 1/n_impostor) is finer than the impostor comparisons
        can resolve.

    See Also
    --------
    fmr_at_fnmr : The mirror image.
    equal_error_rate : Definitions of FMR and FNMR.

    Notes
    -----
    ``method="interpolate"`` and ``"bob"`` (bob.measure's ``far_threshold``
    then ``farfrr``): the lowest FNMR among the thresholds whose FMR does not
    exceed ``fmr``; the reported FNMR is that of an operating point whose FMR
    is at most ``fmr``.

    ``"nearest"`` (the KVC-onGoing kit's ``compute_fnmr``): on the ROC curve
    of :func:`sklearn.metrics.roc_curve` (``drop_intermediate=True``, with
    the reject-all point; see :func:`equal_error_rate`), the FNMR (``1 -
    TPR``) of the point whose FMR is nearest ``fmr``, the highest threshold
    on ties. Its FMR may exceed the target.

    ``"pyeer"`` (pyeer's ``get_fmr_op``): over the distinct scores (no
    reject-all point), the FNMR of the point whose FMR is nearest ``fmr``,
    the lowest threshold on ties.

    With ``n`` impostor comparisons, a target below ``1 / n`` can only be met
    by rejecting every impostor (the warning says so), so FMR targets are
    meaningful only with many more than ``1 / fmr`` impostor comparisons.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics._rates import fnmr_at_fmr
    >>> y_true = np.r_[np.ones(10), np.zeros(10)]
    >>> y_score = np.r_[np.arange(10, 20), np.arange(0, 20, 2)]  # 0, 2, ..., 18
    >>> fnmr_at_fmr(y_true, y_score, fmr=0.1)  # accept >= 17: one impostor (18)
    0.7
    >>> fnmr_at_fmr(y_true, y_score, fmr=[0.0, 0.1, 0.5]).tolist()
    [0.9, 0.7, 0.0]

    The KVC-onGoing kit's point nearest 19 % FMR has an FMR of 20 %:

    >>> fnmr_at_fmr(y_true, y_score, fmr=0.19, method="nearest")
    0.6
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
    y_true : array-like of shape (n_samples,)
        Binary labels with 1-D ``y_score``, identities with 2-D ``y_score``; see
        :func:`equal_error_rate`.
    y_score : array-like of shape (n_samples,) or (n_samples, n_subjects)
        Similarity scores, higher = same person.
    fnmr : float or array-like of float in [0, 1]
        Target false non-match rate(s).
    labels : array-like of shape (n_subjects,), default=None
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
        With fewer than 10 genuine comparisons, and (once per call) when a
        target in (0, 1/n_genuine) is finer than the genuine comparisons can
        resolve.

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
    >>> from skeer.metrics._rates import fmr_at_fnmr
    >>> y_true = np.r_[np.ones(10), np.zeros(10)]
    >>> y_score = np.r_[np.arange(10, 20), np.arange(0, 20, 2)]  # 0, 2, ..., 18
    >>> fmr_at_fnmr(y_true, y_score, fnmr=0.0)  # accept >= 10: impostors 10-18
    0.5
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
    y_true : array-like of shape (n_samples,)
        Binary labels with 1-D ``y_score``, identities with 2-D ``y_score``; see
        :func:`equal_error_rate`.
    y_score : array-like of shape (n_samples,) or (n_samples, n_subjects)
        Similarity scores, higher = same person.
    labels : array-like of shape (n_subjects,), default=None
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
    >>> from skeer.metrics._rates import det_points
    >>> fmr, fnmr, thresholds = det_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fmr.tolist(), fnmr.tolist()
    ([1.0, 0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5, 1.0])
    >>> thresholds.tolist()
    [0.1, 0.35, 0.4, 0.8, inf]
    """
    return det_sorted(*_sorted_scores(y_true, y_score, labels))
