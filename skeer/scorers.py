"""Scorers for judging verifiers in scikit-learn model selection.

Two settings:

- closed set (the same people enrolled and probed, e.g. ``StratifiedKFold``):
  :data:`eer_scorer` and the FNMR@FMR scorers call ``decision_function`` and
  treat each row's own column as a genuine comparison, the others as impostor
  comparisons;
- open set (new people, ``GroupKFold`` / :class:`~skeer.protocols.IdentityKFold`):
  :func:`make_verification_scorer` enrols part of each held-out subject's
  samples and probes with the rest, through the estimator's own enrolment and
  scoring (a ``Pipeline``'s last step), or cosine over ``transform`` for any
  other embedding model.

Every scorer follows scikit-learn's convention: greater is better, so error
rates are negated.
"""

from sklearn.metrics import make_scorer

from ._validation import check_positive_int, check_real
from .metrics import equal_error_rate, fnmr_at_fmr

__all__ = [
    "eer_scorer",
    "make_fnmr_scorer",
    "make_verification_scorer",
    "VERIFICATION_SCORERS",
]

#: Closed-set negative EER: ``make_scorer(equal_error_rate,
#: response_method="decision_function", greater_is_better=False)``.
eer_scorer = make_scorer(
    equal_error_rate, response_method="decision_function", greater_is_better=False
)


def _check_rate(value, name):
    return check_real(value, name, low=0, high=1)


def make_fnmr_scorer(fmr):
    """Closed-set scorer of the negative FNMR at a target false-match rate.

    Parameters
    ----------
    fmr : float in (0, 1)
        Target false-match rate.

    Returns
    -------
    scorer : callable
        ``make_scorer(fnmr_at_fmr, fmr=fmr, response_method="decision_function",
        greater_is_better=False)``.

    Examples
    --------
    >>> from skeer.scorers import make_fnmr_scorer
    >>> scorer = make_fnmr_scorer(0.01)
    >>> scorer
    make_scorer(fnmr_at_fmr, greater_is_better=False, response_method='decision_function', fmr=0.01)
    """  # noqa: E501
    fmr = _check_rate(fmr, "fmr")
    return make_scorer(
        fnmr_at_fmr,
        greater_is_better=False,
        response_method="decision_function",
        fmr=fmr,
    )


#: Named closed-set scorers for multimetric ``scoring`` dicts.
VERIFICATION_SCORERS = {
    "neg_eer": eer_scorer,
    "neg_fnmr_at_fmr_0.001": make_fnmr_scorer(0.001),
    "neg_fnmr_at_fmr_0.01": make_fnmr_scorer(0.01),
    "neg_fnmr_at_fmr_0.1": make_fnmr_scorer(0.1),
}

_OPEN_SET_METRICS = ("eer", "mean_subject_eer", "fnmr_at_fmr", "auc")


class _OpenSetScorer:
    """Callable ``scorer(estimator, X, y)`` running the open-set protocol."""

    def __init__(self, metric, fmr, n_enroll, n_probe):
        self.metric = metric
        self.fmr = fmr
        self.n_enroll = n_enroll
        self.n_probe = n_probe

    def __repr__(self):
        args = f"metric={self.metric!r}, n_enroll={self.n_enroll}"
        if self.fmr is not None:
            args += f", fmr={self.fmr}"
        return f"make_verification_scorer({args})"

    def __call__(self, estimator, X, y=None):
        from .protocols import evaluate_verification

        if y is None:
            raise ValueError("y (identities) is required by an open-set scorer.")
        levels = (self.fmr,) if self.fmr is not None else ()
        report = evaluate_verification(
            estimator,
            X,
            y,
            n_enroll=self.n_enroll,
            n_probe=self.n_probe,
            fmr_levels=levels,
        )
        if self.metric == "auc":
            return report["auc"]
        key = (
            f"fnmr_at_fmr_{self.fmr:g}" if self.metric == "fnmr_at_fmr" else self.metric
        )
        return -report[key]


def make_verification_scorer(metric="eer", *, fmr=None, n_enroll=5, n_probe=5):
    """Open-set scorer for identity-disjoint cross-validation.

    For each subject of the held-out fold, the first ``n_enroll`` samples
    enrol and the last ``n_probe`` probe; one sample of every other subject
    is an impostor probe (see
    :func:`~skeer.protocols.evaluate_verification`). A
    :class:`~skeer.KeystrokeVerifier`, a :mod:`skeer.baselines` detector or a
    ``Pipeline`` ending in one is judged through its own enrolment and scoring
    (its ``template`` geometry, never changing its enrolled identities); any
    other fitted object producing embeddings with ``transform`` is scored by
    cosine similarity, including the net inside skorch's ``EpochScoring``
    (use ``use_caching=False``, ``lower_is_better=False``).

    Parameters
    ----------
    metric : {"eer", "mean_subject_eer", "fnmr_at_fmr", "auc"}, default="eer"
        What to report. Error rates are negated (greater is better).
    fmr : float in (0, 1) or None, default=None
        Target false-match rate; required for ``metric="fnmr_at_fmr"``.
    n_enroll : int, default=5
        Enrolment samples per identity.
    n_probe : int, default=5
        Genuine probe samples per identity.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, usable as ``scoring=`` in
        ``cross_validate`` / ``GridSearchCV`` and in multimetric dicts.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer import make_verification_scorer
    >>> class Identity:
    ...     def transform(self, X):
    ...         return X
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(8), 10)
    >>> X = rng.normal(size=(8, 4))[y] + 0.1 * rng.normal(size=(80, 4))
    >>> scorer = make_verification_scorer("eer")
    >>> float(scorer(Identity(), X, y))
    -0.0
    """
    if metric not in _OPEN_SET_METRICS:
        raise ValueError(f"metric must be one of {_OPEN_SET_METRICS}, got {metric!r}.")
    if metric == "fnmr_at_fmr":
        if fmr is None:
            raise ValueError("fmr is required when metric='fnmr_at_fmr'.")
        fmr = _check_rate(fmr, "fmr")
    elif fmr is not None:
        fmr = _check_rate(fmr, "fmr")
    n_enroll = check_positive_int(n_enroll, "n_enroll")
    n_probe = check_positive_int(n_probe, "n_probe")
    return _OpenSetScorer(metric, fmr, n_enroll, n_probe)
