"""Per-group error rates and the KVC-onGoing kit's fairness measures.

A comparison belongs to its template owner's group; the measures follow the kit's
``utils/metrics.py`` (github.com/gstrag/Keystroke-Verification-Challenge).
"""

import math
import warnings

import numpy as np
import pandas as pd

from skeer._validation import check_real
from skeer.metrics._checks import check_binary, check_target_rates
from skeer.metrics._groups import _factorize, _group_frame, subject_groups
from skeer.metrics._kit_measures import (
    _impostor_matrix,
    _kit_fdr,
    _kit_garbe,
    _kit_ir,
    _kit_ser,
    _kit_sir,
    _kit_std,
    _kit_threshold,
)
from skeer.metrics._rates import equal_error_rate, fnmr_at_fmr
from skeer.metrics._sweep import UnreliableMetricWarning, allowed_count, search

__all__ = ["FairnessReport", "fairness_report", "subject_groups"]


class FairnessReport(dict):
    """A fairness report: a plain ``dict`` of numbers, plus two tables.

    Parameters
    ----------
    *args
        As for ``dict``: the measures (keys in :func:`fairness_report`).
    by_group, impostor_scores : pandas.DataFrame, default=None
        Per-group counts and rates; mean impostor scores between groups.
    **kwargs
        As for ``dict``.

    Attributes
    ----------
    by_group, impostor_scores : pandas.DataFrame or None
        As given.

    Examples
    --------
    >>> from skeer.metrics._fairness import FairnessReport
    >>> report = FairnessReport({"fdr": 0.95})
    >>> report["fdr"], report.by_group is None
    (0.95, True)
    """

    def __init__(self, *args, by_group=None, impostor_scores=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.by_group = by_group
        self.impostor_scores = impostor_scores


def _is_threshold(value):
    if isinstance(value, str):
        return value == "eer"
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and not np.isnan(value)
    )


def _labels(groups):
    """A flat list or tuple as object array: ``1``, ``1.0``, ``True`` stay apart."""
    if not isinstance(groups, list | tuple) or any(
        isinstance(g, list | tuple | np.ndarray) for g in groups
    ):
        return groups  # nested lists: _group_frame names their shape
    out = np.empty(len(groups), dtype=object)
    out[:] = groups
    return out


def fairness_report(
    y_true,
    y_score=None,
    *,
    groups=None,
    probe_groups=None,
    fmr_levels=(0.01,),
    threshold="eer",
    alpha=0.5,
):
    """Per-group error rates and the KVC-onGoing fairness measures.

    Call it with binary labels, scores and ``groups=`` (e.g. from
    :func:`subject_groups`), or as ``fairness_report(comparisons, attribute)``
    with the ``report.comparisons`` of
    :func:`~skeer.evaluation.evaluate_verification` (columns ``subject``,
    ``genuine``, ``score``, optionally ``probe_subject``).

    Parameters
    ----------
    y_true : array-like of shape (n_comparisons,) or pandas.DataFrame
        Binary labels (as :func:`~skeer.metrics.equal_error_rate`), or the
        comparisons DataFrame.
    y_score : array-like of shape (n_comparisons,), or attribute
        Similarity scores, or with a comparisons DataFrame the attribute.
    groups : array-like, pandas.Series or pandas.DataFrame, default=None
        The group of each comparison's enrolled subject (a DataFrame's columns
        combined); comparisons with a missing (NaN) group are left out.
    probe_groups : same as ``groups``, default=None
        The group of each comparison's probe subject; only SIR needs it.
    fmr_levels : sequence of float in [0, 1], default=(0.01,)
        FMRs at which each group's FNMR is reported (own and global threshold).
    threshold : "eer" or float, default="eer"
        The KVC measures' global threshold (accept when ``score > threshold``);
        ``"eer"``: the kit's, the pooled ROC point with the smallest ``|FNMR - FMR|``.
    alpha : float in [0, 1], default=0.5
        Weight of the FNMR against the FMR in FDR, IR and GARBE.

    Returns
    -------
    report : FairnessReport
        A dict of Python numbers: ``"std"`` and ``"ser"`` (of the groups'
        accuracies at the global threshold), ``"fdr"`` (1 = fair), ``"ir"`` (1
        = fair), ``"garbe"`` (0 = fair), ``"sir"`` (percent; None without
        ``probe_groups``), ``"threshold"``, ``"threshold_at_fmr_{level}"`` (where
        the pooled FMR is at most ``level``, accept when ``score >=``),
        ``"eer"`` (pooled), ``"alpha"``, ``"n_groups"``, ``"n_genuine"``,
        ``"n_impostor"``. ``report.by_group`` has one row per group:
        ``n_subjects`` (comparisons DataFrame only), ``n_genuine``,
        ``n_impostor``, ``eer``, ``fnmr_at_fmr_{level}`` (own thresholds),
        ``fnmr_at_global_fmr_{level}``, ``fmr_at_global_fmr_{level}``,
        ``fnmr_at_threshold``, ``fmr_at_threshold``, ``accuracy_at_threshold``;
        ``report.impostor_scores`` the mean impostor scores behind SIR.

    Raises
    ------
    ValueError
        On invalid inputs or groups, or fewer than 2 groups with both classes.

    Warns
    -----
    UserWarning
        Counting the comparisons left out for a missing group.
    UnreliableMetricWarning
        Naming the groups with fewer than 10 genuine comparisons; saying why a
        KVC measure is undefined (NaN or infinite, as the kit returns it).

    Notes
    -----
    The kit's formulas, with per-group rates at the global threshold and
    ``M[a, b]`` the mean impostor score between groups ``a`` and ``b``::

        STD   = std(ACC_g, ddof=1)
        SER   = max(ACC_g) / min(ACC_g)
        FDR   = 1 - (alpha * (max FNMR_g - min FNMR_g)
                     + (1 - alpha) * (max FMR_g - min FMR_g))
        IR    = (max FNMR_g / min FNMR_g) ** alpha
                * (max FMR_g / min FMR_g) ** (1 - alpha)
        GARBE = alpha * G(FNMR_g) + (1 - alpha) * G(FMR_g),
        G(x)  = n / (n - 1) * sum_ij |x_i - x_j| / (2 n^2 mean(x))
        SIR   = 100 * (mean_a M[a, a] / mean_{a > b} M[a, b] - 1)

    SIR averages the pairs of groups that have impostor comparisons.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics._fairness import fairness_report
    >>> y = np.tile(np.r_[np.ones(10), np.zeros(10)], 2)
    >>> scores = np.r_[[0.9] * 8, 0.4, 0.3, 0.6, 0.7, [0.1] * 8,  # group A
    ...                [0.8] * 10, [0.2] * 10]                    # group B
    >>> report = fairness_report(y, scores, groups=["A"] * 20 + ["B"] * 20,
    ...                          threshold=0.5)
    >>> report["ser"], round(report["fdr"], 6), report["garbe"]
    (1.25, 0.8, 1.0)
    """
    subjects = None
    if isinstance(y_true, pd.DataFrame):
        if groups is not None or probe_groups is not None:
            raise ValueError(
                "With a comparisons DataFrame, pass the attribute as the second "
                "argument, not groups= or probe_groups=."
            )
        if y_score is None:
            raise ValueError(
                "fairness_report(comparisons, attribute) needs the attribute: each "
                "subject's group."
            )
        needed = {"subject", "genuine", "score"}
        if not needed <= set(y_true.columns):
            raise ValueError(
                "A comparisons DataFrame needs the columns 'subject' (template "
                "owner), 'genuine' and 'score'; missing "
                f"{sorted(needed - set(y_true.columns))}."
            )
        subjects = y_true["subject"]
        groups = subject_groups(subjects.to_numpy(), y_score)
        if "probe_subject" in y_true.columns:
            probe_groups = subject_groups(y_true["probe_subject"].to_numpy(), y_score)
        y_true, y_score = y_true["genuine"].to_numpy(), y_true["score"].to_numpy()
    elif groups is None:
        raise ValueError(
            "fairness_report needs the group of each comparison: groups=, or a "
            "comparisons DataFrame and an attribute."
        )
    genuine, scores, _ = check_binary(y_true, y_score)
    n = len(scores)
    alpha = check_real(alpha, "alpha", low=0, high=1, low_open=False, high_open=False)
    levels = []
    if fmr_levels is not None and np.size(fmr_levels):
        levels = check_target_rates(np.ravel(fmr_levels), "fmr_levels")[0].tolist()
    if not _is_threshold(threshold):
        raise ValueError(f"threshold must be 'eer' or a number, got {threshold!r}.")

    frames = [_group_frame(_labels(groups), n, "groups")]
    if probe_groups is not None:
        frames.append(_group_frame(_labels(probe_groups), n, "probe_groups"))
    codes_list, names = _factorize(frames)
    codes = codes_list[0]
    probe_codes = codes_list[1] if probe_groups is not None else None

    keep = codes >= 0
    if not keep.all():
        warnings.warn(
            f"fairness_report left out {int((~keep).sum())} of {n} comparisons "
            "whose group is missing.",
            UserWarning,
            stacklevel=2,
        )
        genuine, scores, codes = genuine[keep], scores[keep], codes[keep]
        if probe_codes is not None:
            probe_codes = probe_codes[keep]
        if subjects is not None:
            subjects = subjects[keep]
    present = np.unique(codes)
    if len(present) < 2:
        raise ValueError(
            f"At least 2 groups are needed to measure fairness, got {len(present)}."
        )
    # groups seen only on the probe side have no row
    remap = np.full(len(names), -1, dtype=np.intp)
    remap[present] = np.arange(len(present))
    codes = remap[codes]
    index = names[present]
    k = len(index)

    n_gen = np.bincount(codes[genuine], minlength=k)
    n_imp = np.bincount(codes[~genuine], minlength=k)
    lacking = (n_gen == 0) | (n_imp == 0)
    if lacking.any():
        raise ValueError(
            "Every group needs genuine and impostor comparisons; groups "
            f"{index[lacking].tolist()} lack one kind."
        )
    few = n_gen < 10
    if few.any():
        warnings.warn(
            f"Groups {index[few].tolist()} have fewer than 10 genuine comparisons: "
            "their error rates are unreliable.",
            UnreliableMetricWarning,
            stacklevel=2,
        )

    table = {}
    if subjects is not None:
        table["n_subjects"] = pd.Series(subjects.to_numpy()).groupby(codes).nunique()
        table["n_subjects"] = table["n_subjects"].reindex(range(k)).to_numpy()
    table["n_genuine"] = n_gen
    table["n_impostor"] = n_imp

    # each group at its own thresholds
    eer = np.empty(k)
    own = np.empty((k, len(levels)))
    order = np.argsort(codes, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=k))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableMetricWarning)  # warned above
        pooled_eer = float(equal_error_rate(genuine, scores))
        for g in range(k):
            rows = order[bounds[g] : bounds[g + 1]]
            eer[g] = equal_error_rate(genuine[rows], scores[rows])
            if levels:
                own[g] = fnmr_at_fmr(genuine[rows], scores[rows], fmr=levels)
    table["eer"] = eer
    for j, level in enumerate(levels):
        table[f"fnmr_at_fmr_{level:g}"] = own[:, j]

    # every group at the one global threshold of each level (accept >= t)
    gen_sorted = np.sort(scores[genuine])
    imp_sorted = np.sort(scores[~genuine])
    thresholds = {}
    for level in levels:
        allowed = allowed_count(level, len(imp_sorted))
        _, hi = search(
            [gen_sorted], [imp_sorted], len(imp_sorted), lambda g, i, c=allowed: i <= c
        )
        t = math.inf if hi is None else float(hi[0])
        thresholds[f"threshold_at_fmr_{level:g}"] = t
        accept = scores >= t
        table[f"fnmr_at_global_fmr_{level:g}"] = (
            np.bincount(codes[genuine & ~accept], minlength=k) / n_gen
        )
        table[f"fmr_at_global_fmr_{level:g}"] = (
            np.bincount(codes[~genuine & accept], minlength=k) / n_imp
        )

    # the KVC measures' global threshold (accept > t, as the kit)
    t = _kit_threshold(genuine, scores) if threshold == "eer" else float(threshold)
    accept = scores > t
    fnmr_t = np.bincount(codes[genuine & ~accept], minlength=k) / n_gen
    fmr_t = np.bincount(codes[~genuine & accept], minlength=k) / n_imp
    accuracy = np.bincount(codes[genuine == accept], minlength=k) / (n_gen + n_imp)
    table["fnmr_at_threshold"] = fnmr_t
    table["fmr_at_threshold"] = fmr_t
    table["accuracy_at_threshold"] = accuracy
    by_group = pd.DataFrame(table, index=index)

    sir, matrix = None, None
    if probe_codes is not None:
        probe = np.where(probe_codes >= 0, remap[probe_codes], -1)
        matrix = _impostor_matrix(
            scores[~genuine], codes[~genuine], probe[~genuine], index
        )
        sir = _kit_sir(matrix.to_numpy())

    measures = {
        "std": _kit_std(accuracy),
        "ser": _kit_ser(accuracy),
        "fdr": _kit_fdr(fnmr_t, fmr_t, alpha),
        "ir": _kit_ir(fnmr_t, fmr_t, alpha),
        "garbe": _kit_garbe(fnmr_t, fmr_t, alpha),
        "sir": sir,
    }
    _warn_undefined(measures, index, fnmr_t, fmr_t, matrix)
    return FairnessReport(
        {
            **measures,
            "threshold": t,
            "eer": pooled_eer,
            "alpha": alpha,
            "n_groups": int(k),
            "n_genuine": int(n_gen.sum()),
            "n_impostor": int(n_imp.sum()),
            **thresholds,
        },
        by_group=by_group,
        impostor_scores=matrix,
    )


def _warn_undefined(measures, index, fnmr, fmr, matrix):
    """Say why a KVC measure is NaN or infinite (the kit returns it bare)."""
    reasons = []
    for rate, what in ((fnmr, "FNMR"), (fmr, "FMR")):
        if np.all(rate == 0):
            reasons.append(f"every group's {what} at the threshold is 0")
        elif np.any(rate == 0):
            zero = ", ".join(repr(str(g)) for g in index[rate == 0])
            reasons.append(f"{what} at the threshold is 0 for group(s) {zero}")
    if matrix is not None:
        m = matrix.to_numpy()
        if (
            np.isnan(np.diag(m)).all()
            or np.isnan(m[np.tril_indices(len(m), k=-1)]).all()
        ):
            reasons.append("no same-group or no cross-group impostor comparison")
    bad = [k for k, v in measures.items() if v is not None and not np.isfinite(v)]
    if bad:
        values = ", ".join(f"{k}={measures[k]}" for k in bad)
        why = "; ".join(reasons) or "a ratio of zero rates"
        warnings.warn(
            f"fairness_report: {', '.join(bad)} undefined ({values}), the KVC "
            f"kit's value: {why}.",
            UnreliableMetricWarning,
            stacklevel=3,
        )
