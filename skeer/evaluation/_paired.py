"""Two systems on the same comparisons: the bootstrap CI of their difference."""

__all__ = ["paired_difference"]

import numpy as np

from skeer._validation import check_real
from skeer.evaluation._protocols import _check_bootstrap
from skeer.metrics import _bootstrap


def paired_difference(
    report_a,
    report_b,
    *,
    metric="eer",
    n_bootstraps=1000,
    confidence=0.95,
    random_state=0,
    return_replicates=False,
):
    """Difference of a metric between two systems on the same comparisons.

    A paired bootstrap over subjects: each replicate draws subjects once for
    both systems, so the interval accounts for their correlation (see
    :ref:`protocols`).

    Parameters
    ----------
    report_a, report_b : VerificationReport
        Reports of a protocol with ``return_comparisons=True``, on the same
        data and protocol.
    metric : str, default="eer"
        ``"eer"`` (pooled), ``"mean_subject_eer"`` or ``"fnmr_at_fmr_{level}"``
        (e.g. ``"fnmr_at_fmr_0.01"``).
    n_bootstraps : int, default=1000
    confidence : float in (0, 1), default=0.95
    random_state : int, Generator or None, default=0
    return_replicates : bool, default=False
        Also return the bootstrap replicates of the difference.

    Returns
    -------
    result : dict
        ``"difference"`` (a - b on all subjects), ``"ci"`` ([low, high]),
        ``"p_a_better"`` (share of replicates where a's metric is lower),
        ``"metric"``, ``"confidence"``, ``"n_bootstraps"``, ``"n_subjects"``,
        and ``"replicates"`` (a list) when asked for.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.evaluation import evaluate_verification, paired_difference
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(30), 10)
    >>> centers = rng.normal(size=(30, 8))[y]
    >>> good = centers + 0.5 * rng.normal(size=(300, 8))
    >>> bad = centers + 1.5 * rng.normal(size=(300, 8))
    >>> a = evaluate_verification(good, None, y, return_comparisons=True)
    >>> b = evaluate_verification(bad, None, y, return_comparisons=True)
    >>> paired_difference(a, b)["ci"][1] < 0
    True
    """
    _check_bootstrap(n_bootstraps, confidence)
    for name, rep in (("report_a", report_a), ("report_b", report_b)):
        if getattr(rep, "comparisons", None) is None:
            raise ValueError(
                f"{name} has no comparisons: run the protocol with "
                "return_comparisons=True."
            )
    ca, cb = report_a.comparisons, report_b.comparisons
    keys = ["subject", "probe_subject", "probe", "genuine"]
    if len(ca) != len(cb) or not all(
        (ca[k].values == cb[k].values).all() for k in keys
    ):
        raise ValueError(
            "report_a and report_b were not computed on the same comparisons (same "
            "data, protocol and settings); a paired difference needs them."
        )
    pooled = metric == "eer" or metric.startswith("fnmr_at_fmr_")
    if metric != "mean_subject_eer" and not pooled:
        raise ValueError(
            "metric must be 'eer', 'mean_subject_eer' or 'fnmr_at_fmr_<level>', "
            f"got {metric!r}."
        )
    if metric.startswith("fnmr_at_fmr_"):
        try:
            check_real(float(metric.rsplit("_", 1)[1]), "metric's level", low=0, high=1)
        except ValueError:
            raise ValueError(
                f"metric {metric!r} does not end in an FMR level."
            ) from None
    subjects, owner = np.unique(ca["subject"].values, return_inverse=True)
    y_true = ca["genuine"].values
    sorted_a, sorted_b = (
        _bootstrap.SortedComparisons(y_true, c["score"].values, owner, len(subjects))
        for c in (ca, cb)
    )
    eer_a, eer_b = (
        r.subjects.set_index("subject")["eer"].reindex(subjects).to_numpy(np.float64)
        for r in (report_a, report_b)
    )
    point, ci, values = _bootstrap.paired_intervals(
        sorted_a, sorted_b, eer_a, eer_b, metric,
        n_bootstraps=int(n_bootstraps), confidence=float(confidence),
        random_state=random_state,
    )  # fmt: skip
    result = {
        "metric": metric,
        "difference": float(point),
        "ci": ci,
        "p_a_better": float(np.mean(values < 0)) if len(values) else float("nan"),
        "confidence": float(confidence),
        "n_bootstraps": int(n_bootstraps),
        "n_subjects": int(len(subjects)),
    }
    if return_replicates:
        result["replicates"] = np.asarray(values, dtype=np.float64).tolist()
    return result
