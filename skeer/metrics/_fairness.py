"""Demographic fairness of a verifier: per-group error rates and KVC measures.

A verification comparison belongs to the group of its *enrolled subject*
(the template owner): a subject's genuine comparisons and the impostor
attempts against its template decide how well the system serves that
subject. :func:`subject_groups` maps each comparison's subject to its
attribute (gender, age band, handedness, or several at once for their
intersection) and :func:`fairness_report` computes, per group and across
groups:

- per-group error rates at each group's own threshold (EER, FNMR at given
  FMR levels), and at one global threshold shared by every group (the
  group's FNMR and FMR where the pooled FMR is at each level);
- the fairness measures of the KVC-onGoing benchmark, exactly as its
  scoring kit computes them: STD, SER, FDR, IR, GARBE at one global
  threshold, and SIR (skewed impostor ratio) from the impostor scores
  between and within groups.

Sources: the measures and their parameters follow ``utils/metrics.py`` of
the KVC-onGoing kit (github.com/gstrag/Keystroke-Verification-Challenge,
functions ``compute_eer``, ``compute_std``, ``compute_ser``,
``compute_fdr``, ``compute_ir``, ``compute_Gini_coeffs``,
``compute_garbe``, ``compute_sir``), described in G. Stragapede et al.,
"Keystroke Verification Challenge (KVC): Biometric and Fairness Benchmark
Evaluation", IEEE Access 12, 2024, and "KVC-onGoing: Keystroke Verification
Challenge", Pattern Recognition 161, 111287, 2025. Checked against the
kit's published desktop and mobile results (the STD and SER in its README
follow from its per-group accuracies exactly).

Why not fairlearn's ``MetricFrame``: it would fit the grouping itself (the
group of each comparison is an ordinary per-row sensitive feature, and
skeer's metrics have the ``(y_true, y_score)`` signature it calls; see the
example below), but it supplies none of the measures needed here: its only
aggregates are the between-group difference and ratio, while the KVC
measures need rates at a threshold chosen on all comparisons pooled, a Gini
coefficient, a sample standard deviation and, for SIR, impostor scores
grouped by the groups of *both* sides of a comparison. What is left for it
is a pandas ``groupby``, which skeer already depends on, and depending on
fairlearn (its current release needs Python >= 3.11, skeer supports 3.10)
would buy nothing.

NumPy, pandas and scikit-learn only: importing this module never imports
torch.

Examples
--------
>>> import numpy as np
>>> from skeer.metrics._fairness import fairness_report
>>> rng = np.random.default_rng(0)
>>> groups = np.repeat(["F", "M"], 1100)
>>> y = np.tile(np.r_[np.ones(100), np.zeros(1000)], 2)
>>> shift = np.where(groups == "F", 2.0, 3.0)  # the system serves M better
>>> scores = rng.normal(0, 1, 2200) + y * shift
>>> report = fairness_report(y, scores, groups=groups)
>>> report.by_group["eer"].round(3).tolist()
[0.149, 0.059]
>>> round(report["fdr"], 3), round(report["garbe"], 3)
(0.908, 0.423)

Any per-group table of skeer's metrics can also come from fairlearn, for
those who use it (not a dependency of skeer):

>>> from fairlearn.metrics import MetricFrame  # doctest: +SKIP
>>> from skeer.metrics._rates import equal_error_rate
>>> MetricFrame(metrics=equal_error_rate, y_true=y, y_pred=scores,
...             sensitive_features=groups).by_group  # doctest: +SKIP
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

    It is a ``dict`` (JSON-serialisable as is) of the measures across groups,
    with two :class:`pandas.DataFrame` attributes:

    - ``by_group``: one row per group, its counts and error rates;
    - ``impostor_scores``: the mean impostor score of each pair of groups
      (template owner's group x probe subject's group, both directions
      pooled, as the KVC kit's SIR heat map), or None without probe groups.

    See :func:`fairness_report` for the keys and columns.

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


# --------------------------------------------------------------------------
# groups


# --------------------------------------------------------------------------
# the report


def _comparisons_frame(frame, attribute, groups, probe_groups):
    if groups is not None or probe_groups is not None:
        raise ValueError(
            "With a comparisons DataFrame, pass the attribute as the second "
            "argument, not groups= or probe_groups=."
        )
    if attribute is None:
        raise ValueError(
            "fairness_report(comparisons, attribute) needs the attribute: each "
            "subject's group."
        )
    needed = {"subject", "genuine", "score"}
    if not needed <= set(frame.columns):
        raise ValueError(
            "A comparisons DataFrame needs the columns 'subject' (template owner), "
            f"'genuine' and 'score'; missing {sorted(needed - set(frame.columns))}."
        )
    groups = subject_groups(frame["subject"].to_numpy(), attribute)
    probe = None
    if "probe_subject" in frame.columns:
        probe = subject_groups(frame["probe_subject"].to_numpy(), attribute)
    y_true = frame["genuine"].to_numpy()
    return y_true, frame["score"].to_numpy(), groups, probe, frame["subject"]


def _is_threshold(value):
    if isinstance(value, str):
        return value == "eer"
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and not np.isnan(value)
    )


def _labels(groups):
    """A flat list or tuple of labels as an object array, each value as it is.

    ``np.asarray([1, 1.0, True])`` would make them one group (1.0 thrice)
    before the check that refuses mixed kinds could see them.
    """
    if not isinstance(groups, list | tuple) or any(
        isinstance(g, list | tuple | np.ndarray) for g in groups
    ):
        return groups  # nested lists: _group_frame names their shape
    out = np.empty(len(groups), dtype=object)
    out[:] = groups
    return out


def _key(level):
    return f"{level:g}"


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

    Two ways to call it:

    - ``fairness_report(y_true, y_score, groups=...)``: binary labels,
      scores and the group of each comparison (its template owner's, e.g.
      from :func:`subject_groups`);
    - ``fairness_report(comparisons, attribute)``: a protocol's comparisons
      (the DataFrame of ``report.comparisons`` from
      :func:`~skeer.evaluation.evaluate_verification` with
      ``return_comparisons=True``: columns ``subject`` (template owner),
      ``genuine``, ``score`` and optionally ``probe_subject``) and each
      subject's attribute, as :func:`subject_groups` takes it.

    Parameters
    ----------
    y_true : array-like of shape (n_comparisons,) or pandas.DataFrame
        1 or True for a genuine comparison, 0, False or -1 for an impostor
        one; or a comparisons DataFrame (see above).
    y_score : array-like of shape (n_comparisons,), or attribute
        Similarity scores, higher = same person; with a comparisons
        DataFrame, each subject's attribute (dict, Series or DataFrame).
    groups : array-like, pandas.Series or pandas.DataFrame of length \
            n_comparisons
        The group of each comparison's enrolled subject (template owner);
        with a DataFrame (one column an attribute) the group is the
        combination of its columns. Comparisons whose group is missing (NaN)
        are left out, with a warning.
    probe_groups : same as ``groups``, default=None
        The group of each comparison's probe subject. Only the SIR needs it
        (from the impostor comparisons); without it ``"sir"`` is None.
    fmr_levels : sequence of float in [0, 1], default=(0.01,)
        False-match rates at which to report each group's FNMR, at its own
        threshold and at the global one.
    threshold : "eer" or float, default="eer"
        The one global threshold of the KVC measures (and of the
        ``*_at_threshold`` columns). ``"eer"`` is the kit's: over all the
        comparisons pooled, the threshold of
        :func:`sklearn.metrics.roc_curve` where ``|FNMR - FMR|`` is
        smallest. As in the kit, a comparison is accepted at this threshold
        when its score is strictly above it.
    alpha : float in [0, 1], default=0.5
        The weight of the FNMR against the FMR in FDR, IR and GARBE (the
        kit's default, 0.5, weighs them equally).

    Returns
    -------
    report : FairnessReport
        A dict of plain Python numbers:

        - ``"std"``: sample standard deviation (``ddof=1``) of the groups'
          accuracies at the global threshold (a fraction; the kit shows it
          in percent);
        - ``"ser"``: highest over lowest group accuracy at the global
          threshold (1 = equal);
        - ``"fdr"``: fairness discrepancy rate, in [0, 1], 1 = fair;
        - ``"ir"``: inequity rate, >= 1, 1 = fair;
        - ``"garbe"``: Gini aggregation rate for biometric equitability, in
          [0, 1], 0 = fair;
        - ``"sir"``: skewed impostor ratio, in percent (as the kit returns
          it): how much higher impostor scores are within groups than
          between groups, 0 = no difference; None without ``probe_groups``;
        - ``"threshold"``: the global threshold of these measures;
        - ``"threshold_at_fmr_{level}"``: for each level, the global
          threshold where the pooled FMR is at most ``level`` (accept when
          ``score >= threshold``, as :mod:`skeer.metrics`);
        - ``"eer"``: the EER of all comparisons pooled
          (:func:`~skeer.metrics.equal_error_rate`);
        - ``"alpha"``, ``"n_groups"``, ``"n_genuine"``, ``"n_impostor"``.

        ``report.by_group`` is a DataFrame indexed by group (one index level
        per attribute) with the columns ``n_subjects`` (comparisons
        DataFrame only), ``n_genuine``, ``n_impostor``, then

        - at each group's own threshold: ``eer`` and, per level,
          ``fnmr_at_fmr_{level}``;
        - at one global threshold per level: ``fnmr_at_global_fmr_{level}``
          and ``fmr_at_global_fmr_{level}`` (the group's rates where the
          pooled FMR is ``level``);
        - at the global threshold of the KVC measures:
          ``fnmr_at_threshold``, ``fmr_at_threshold`` and
          ``accuracy_at_threshold`` (the inputs of STD, SER, FDR, IR and
          GARBE).

        ``report.impostor_scores`` is the DataFrame of mean impostor scores
        behind SIR (None without ``probe_groups``).

    Raises
    ------
    ValueError
        If the labels or scores are invalid (see
        :func:`~skeer.metrics.equal_error_rate`), the groups do not match
        them or mix kinds of labels (``1``, ``1.0``, ``True`` and ``"1"``
        are never merged), fewer than 2 groups are left, a group has no genuine or no
        impostor comparison (the KVC measures need both rates of every
        group), or ``alpha``, ``fmr_levels`` or ``threshold`` is invalid.

    Warns
    -----
    UserWarning
        Counting the comparisons left out for a missing group.
    UnreliableMetricWarning
        Once, naming the groups with fewer than 10 genuine comparisons.

    See Also
    --------
    subject_groups : The group of each comparison from its subject.
    skeer.metrics.equal_error_rate : Each group's EER.
    skeer.evaluation.evaluate_verification : Comparisons of a verifier.

    Notes
    -----
    With ``n`` groups, per-group rates ``FNMR_g``, ``FMR_g`` and accuracies
    ``ACC_g`` at the global threshold ``t`` (accept when ``score > t``)::

        STD   = std(ACC_g, ddof=1)
        SER   = max(ACC_g) / min(ACC_g)
        FDR   = 1 - (alpha * (max FNMR_g - min FNMR_g)
                     + (1 - alpha) * (max FMR_g - min FMR_g))
        IR    = (max FNMR_g / min FNMR_g) ** alpha
                * (max FMR_g / min FMR_g) ** (1 - alpha)
        GARBE = alpha * G(FNMR_g) + (1 - alpha) * G(FMR_g),
        G(x)  = n / (n - 1) * sum_ij |x_i - x_j| / (2 n^2 mean(x))
        SIR   = 100 * (mean_a M[a, a] / mean_{a > b} M[a, b] - 1)

    where ``M[a, b]`` is the mean impostor score of the comparisons between
    groups ``a`` and ``b`` in either direction (template of one, probe of
    the other). These are the kit's formulas, including two of its choices
    that the literature sometimes makes otherwise: STD and SER are computed
    on accuracies at one global threshold (not on per-group EERs; the
    per-group EERs are in ``by_group["eer"]``, whose spread is, e.g.,
    ``by_group["eer"].std()``), and SER divides the highest accuracy by the
    lowest (Wang & Deng's SER divides the highest error by the lowest). IR
    is infinite when a group's FNMR or FMR is 0 (NaN when it is 0 for every
    group) and GARBE is NaN when every group's FNMR or FMR is 0, as in the
    kit. SIR averages the pairs of groups that have impostor comparisons
    (the kit requires all of them). FDR is from de Freitas Pereira & Marcel
    (IEEE T-BIOM 2021), GARBE from Howard et al. (2022), IR from NIST's
    FRVT demographic summaries (Grother, NISTIR 8429), SIR from the KVC
    paper.

    The FNMR at a FMR level at one global threshold shows how the groups
    fare under the single threshold a deployed system uses; at each group's
    own threshold it shows how separable each group's scores are.

    Examples
    --------
    From labels, scores and each comparison's group: in group A, 2 of 10
    genuine comparisons score below the threshold and 2 of 10 impostor ones
    above it; group B makes no error.

    >>> import numpy as np
    >>> from skeer.metrics._fairness import fairness_report
    >>> y = np.tile(np.r_[np.ones(10), np.zeros(10)], 2)
    >>> scores = np.r_[[0.9] * 8, 0.4, 0.3, 0.6, 0.7, [0.1] * 8,  # group A
    ...                [0.8] * 10, [0.2] * 10]                    # group B
    >>> groups = ["A"] * 20 + ["B"] * 20
    >>> report = fairness_report(y, scores, groups=groups, threshold=0.5)
    >>> report.by_group["fnmr_at_threshold"].to_dict()
    {'A': 0.2, 'B': 0.0}
    >>> report.by_group["accuracy_at_threshold"].to_dict()
    {'A': 0.8, 'B': 1.0}
    >>> report["ser"], round(report["fdr"], 6), report["garbe"], report["ir"]
    (1.25, 0.8, 1.0, inf)

    From a protocol's comparisons and each subject's attribute:

    >>> from skeer.evaluation._protocols import evaluate_verification
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(20), 10)
    >>> embeddings = rng.normal(size=(20, 8))[y] + 0.5 * rng.normal(size=(200, 8))
    >>> protocol = evaluate_verification(
    ...     embeddings, None, y, fmr_levels=(0.1,), n_bootstraps=0,
    ...     return_comparisons=True)
    >>> gender = {s: "F" if s % 2 else "M" for s in range(20)}
    >>> report = fairness_report(protocol.comparisons, gender)
    >>> report.by_group[["n_subjects", "n_genuine", "n_impostor"]]
    ... # doctest: +NORMALIZE_WHITESPACE
           n_subjects  n_genuine  n_impostor
    group
    F              10         50         190
    M              10         50         190
    >>> report["sir"] is not None
    True
    """
    subjects = None
    if isinstance(y_true, pd.DataFrame):
        y_true, y_score, groups, probe_groups, subjects = _comparisons_frame(
            y_true, y_score, groups, probe_groups
        )
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
        for g in range(k):
            rows = order[bounds[g] : bounds[g + 1]]
            eer[g] = equal_error_rate(genuine[rows], scores[rows])
            if levels:
                own[g] = fnmr_at_fmr(genuine[rows], scores[rows], fmr=levels)
    table["eer"] = eer
    for j, level in enumerate(levels):
        table[f"fnmr_at_fmr_{_key(level)}"] = own[:, j]

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
        thresholds[f"threshold_at_fmr_{_key(level)}"] = t
        accept = scores >= t
        table[f"fnmr_at_global_fmr_{_key(level)}"] = (
            np.bincount(codes[genuine & ~accept], minlength=k) / n_gen
        )
        table[f"fmr_at_global_fmr_{_key(level)}"] = (
            np.bincount(codes[~genuine & accept], minlength=k) / n_imp
        )

    # the KVC measures' global threshold (accept > t, as the kit)
    t = _kit_threshold(genuine, scores) if threshold == "eer" else float(threshold)
    accept = scores > t
    fnmr_t = np.bincount(codes[genuine & ~accept], minlength=k) / n_gen
    fmr_t = np.bincount(codes[~genuine & accept], minlength=k) / n_imp
    correct = np.bincount(codes[genuine == accept], minlength=k)
    accuracy = correct / (n_gen + n_imp)
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

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableMetricWarning)  # warned above
        pooled_eer = float(equal_error_rate(genuine, scores))
    measures = {
        "std": _kit_std(accuracy),
        "ser": _kit_ser(accuracy),
        "fdr": _kit_fdr(fnmr_t, fmr_t, alpha),
        "ir": _kit_ir(fnmr_t, fmr_t, alpha),
        "garbe": _kit_garbe(fnmr_t, fmr_t, alpha),
        "sir": sir,
    }
    _warn_undefined(measures, index, fnmr_t, fmr_t, matrix)
    report = FairnessReport(
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
    return report


def _warn_undefined(measures, index, fnmr, fmr, matrix):
    """Say why a KVC measure is NaN or infinite (the kit returns it bare)."""
    names = [str(g) for g in index]

    def groups(mask):
        return ", ".join(repr(n) for n, m in zip(names, mask) if m) or "none"

    reasons = []
    for rate, what in ((fnmr, "FNMR"), (fmr, "FMR")):
        if np.all(rate == 0):
            reasons.append(f"every group's {what} at the threshold is 0")
        elif np.any(rate == 0):
            reasons.append(
                f"{what} at the threshold is 0 for group(s) {groups(rate == 0)}"
            )
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
