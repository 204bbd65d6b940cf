"""Closed- and open-set scorers for scikit-learn model selection (greater is better)."""

import numpy as np

from skeer._validation import check_positive_int, check_real
from skeer.metrics._rates import equal_error_rate, fnmr_at_fmr
from skeer.metrics._sweep import check_method

__all__ = ["eer_scorer", "get_scorer", "get_scorer_names", "make_fnmr_scorer"]
__all__ += ["make_verification_scorer", "VERIFICATION_SCORERS"]


def _classes(estimator):
    """``classes_`` (one per decision column), or None without decision_function."""
    classes = getattr(estimator, "classes_", None)
    if classes is None or not hasattr(estimator, "decision_function"):
        return None
    return np.asarray(classes)


def _enrolled_mask(y, classes):
    """Whether each of ``y`` is among ``classes``."""
    try:
        return np.isin(y, classes)
    except TypeError:  # unorderable mixture: compare one by one
        known = set(classes.tolist())
        return np.array([v in known for v in y.tolist()], dtype=bool)


def _check_enrolled(estimator, y, scorer):
    """``(y, classes_)``; ValueError unless every one of ``y`` is enrolled."""
    if (classes := _classes(estimator)) is None:
        raise ValueError(
            f"{scorer} is a closed-set scorer: it needs a fitted estimator with "
            "classes_ and decision_function (a KeystrokeVerifier, a "
            "skeer.baselines detector or a Pipeline ending in one), got "
            f"{type(estimator).__name__}. For an embedding model, or "
            "identity-disjoint folds, use make_verification_scorer()."
        )
    y = np.asarray(y)
    enrolled = _enrolled_mask(y, classes)
    if enrolled.all():
        return y, classes
    unknown = list(dict.fromkeys(y[~enrolled].tolist()))
    shown = ", ".join(repr(v) for v in unknown[:5]) + (
        ", ..." if len(unknown) > 5 else ""
    )
    raise ValueError(
        f"{scorer} is a closed-set scorer, but {len(unknown)} of the fold's "
        f"{len(dict.fromkeys(y.tolist()))} probe identities ({shown}) are not "
        f"among the estimator's enrolled classes_ ({len(classes)} identities): "
        "a closed-set score of such a fold is meaningless. With "
        "identity-disjoint folds (GroupKFold(groups=y), SubjectKFold), use "
        "the open-set scorer make_verification_scorer() instead."
    )


class _ClosedSetScorer:
    """A negated closed-set metric over ``decision_function``, columns ``classes_``."""

    def __init__(self, metric, name, **kwargs):
        self.metric = metric
        self.name = name
        self.kwargs = kwargs

    def __repr__(self):
        return self.name

    def __call__(self, estimator, X, y_true, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(
                f"{self.name} does not support sample_weight: every comparison "
                "counts once."
            )
        if y_true is None:
            raise ValueError(f"y (identities) is required by {self.name}.")
        y, classes = _check_enrolled(estimator, y_true, self.name)
        scores = estimator.decision_function(X)
        return -self.metric(y, scores, labels=classes, **self.kwargs)


#: Closed-set negative EER: ``-equal_error_rate(y, decision_function(X),
#: labels=classes_)``. Refuses a fold whose identities are not all among the
#: estimator's ``classes_`` (use :func:`make_verification_scorer` then).
eer_scorer = _ClosedSetScorer(equal_error_rate, "eer_scorer")


def make_fnmr_scorer(fmr, *, method="interpolate"):
    """Closed-set scorer of the negative FNMR at a target false-match rate.

    Parameters
    ----------
    fmr : float in (0, 1)
        Target false-match rate.
    method : {"interpolate", "nearest", "pyeer", "bob"}, default="interpolate"
        Convention of :func:`~skeer.metrics.fnmr_at_fmr` (``"nearest"``: the
        KVC-onGoing kit's).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``: minus the closed-set FNMR at ``fmr``.

    Examples
    --------
    >>> from skeer.evaluation import make_fnmr_scorer
    >>> make_fnmr_scorer(0.01, method="nearest")
    make_fnmr_scorer(0.01, method='nearest')
    """
    fmr = check_real(fmr, "fmr", low=0, high=1)
    method = check_method(method)
    name = f"make_fnmr_scorer({fmr!r}"
    name += ")" if method == "interpolate" else f", method={method!r})"
    return _ClosedSetScorer(fnmr_at_fmr, name, fmr=fmr, method=method)


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
        from skeer.evaluation._protocols import evaluate_verification

        if y is None:
            raise ValueError("y (identities) is required by an open-set scorer.")
        report = evaluate_verification(
            estimator,
            X,
            y,
            n_enroll=self.n_enroll,
            n_probe=self.n_probe,
            fmr_levels=() if self.fmr is None else (self.fmr,),
            n_bootstraps=0,  # a scorer returns one number: no intervals
            verbose=False,  # inside a search: no bar per fold
        )
        if self.metric == "fnmr_at_fmr":
            return -report[f"fnmr_at_fmr_{self.fmr:g}"]
        return report["auc"] if self.metric == "auc" else -report[self.metric]


def make_verification_scorer(metric="eer", *, fmr=None, n_enroll=5, n_probe=5):
    """Open-set scorer for identity-disjoint cross-validation.

    Runs :func:`~skeer.evaluation.evaluate_verification` on the held-out fold
    (in skorch's ``EpochScoring``: ``use_caching=False, lower_is_better=False``).

    Parameters
    ----------
    metric : {"eer", "mean_subject_eer", "fnmr_at_fmr", "auc"}, default="eer"
        What to report. Error rates are negated (greater is better).
    fmr : float in (0, 1) or None, default=None
        Target false-match rate; required for ``metric="fnmr_at_fmr"``.
    n_enroll, n_probe : int, default=5
        As in :func:`~skeer.evaluation.evaluate_verification`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, for ``scoring=``.

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
    if metric == "fnmr_at_fmr" and fmr is None:
        raise ValueError("fmr is required when metric='fnmr_at_fmr'.")
    if fmr is not None:
        fmr = check_real(fmr, "fmr", low=0, high=1)
    n_enroll = check_positive_int(n_enroll, "n_enroll")
    n_probe = check_positive_int(n_probe, "n_probe", allow_none=True)
    return _OpenSetScorer(metric, fmr, n_enroll, n_probe)


class _FoldScorer:
    """Closed set on a fold of enrolled subjects, open set on one of new subjects."""

    def __init__(self, name, closed, open_set):
        self.name, self.closed, self.open_set = name, closed, open_set

    def __repr__(self):
        return self.name

    def __call__(self, estimator, X, y_true, sample_weight=None):
        if y_true is None:
            raise ValueError(f"y (identities) is required by {self.name}.")
        classes = _classes(estimator)
        if classes is None:
            return self.open_set(estimator, X, y_true)
        y = np.asarray(y_true)
        enrolled = _enrolled_mask(y, classes)
        if enrolled.all():
            return self.closed(estimator, X, y_true, sample_weight)
        if not enrolled.any():
            return self.open_set(estimator, X, y_true)
        raise ValueError(
            f"{self.name}: {int((~enrolled).sum())} of the fold's {len(y)} samples "
            "belong to subjects the estimator never enrolled and the others to "
            "enrolled ones; split by subject (SubjectKFold) for an open-set score, "
            "or stratify by subject (StratifiedKFold) for a closed-set one."
        )


def _fnmr_fold_scorer(name, fmr):
    open_set = make_verification_scorer("fnmr_at_fmr", fmr=fmr, n_probe=None)
    return _FoldScorer(name, make_fnmr_scorer(fmr), open_set)


#: Named scorers for multimetric ``scoring`` dicts: closed set on a fold of enrolled
#: subjects, open set (:func:`make_verification_scorer`) on one of new subjects.
VERIFICATION_SCORERS = {
    "neg_eer": _FoldScorer(
        "neg_eer", eer_scorer, make_verification_scorer("eer", n_probe=None)
    ),
    **{
        f"neg_fnmr_at_fmr_{fmr:g}": _fnmr_fold_scorer(f"neg_fnmr_at_fmr_{fmr:g}", fmr)
        for fmr in (0.001, 0.01, 0.1)
    },
}

_PREFIX = "skeer:"


def get_scorer_names():
    """The names :func:`get_scorer` knows, like scikit-learn's.

    Returns
    -------
    names : list of str
        The keys of :data:`VERIFICATION_SCORERS` (any
        ``"neg_fnmr_at_fmr_<rate>"``, and a ``"skeer:"`` prefix, work too).

    Examples
    --------
    >>> from skeer.evaluation import get_scorer_names
    >>> get_scorer_names()
    ['neg_eer', 'neg_fnmr_at_fmr_0.001', 'neg_fnmr_at_fmr_0.01', 'neg_fnmr_at_fmr_0.1']
    """
    return sorted(VERIFICATION_SCORERS)


def get_scorer(scoring):
    """A scorer from its name, like :func:`sklearn.metrics.get_scorer`.

    Parameters
    ----------
    scoring : str or callable
        ``"neg_eer"``, ``"neg_fnmr_at_fmr_<rate>"`` (any rate in (0, 1)),
        optionally prefixed ``"skeer:"``; any other string is scikit-learn's,
        and a callable is returned as it is.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, greater is better.

    Raises
    ------
    ValueError
        For an unknown name or a rate outside (0, 1).

    Examples
    --------
    >>> from skeer.evaluation import get_scorer
    >>> get_scorer("skeer:neg_fnmr_at_fmr_0.05")
    neg_fnmr_at_fmr_0.05
    """
    if callable(scoring):
        return scoring
    if not isinstance(scoring, str):
        raise ValueError(f"scoring must be a name or a callable, got {scoring!r}.")
    name = scoring.removeprefix(_PREFIX)
    if name in VERIFICATION_SCORERS:
        return VERIFICATION_SCORERS[name]
    stem = "neg_fnmr_at_fmr_"
    if name.startswith(stem):
        try:
            fmr = float(name[len(stem) :])
        except ValueError:
            fmr = None
        if fmr is None or not 0 < fmr < 1:
            raise ValueError(
                f"{scoring!r}: the rate after {stem!r} must be a number in (0, 1)."
            )
        return _fnmr_fold_scorer(name, fmr)
    known = ", ".join(get_scorer_names())
    if scoring.startswith(_PREFIX):
        raise ValueError(
            f"Unknown skeer scorer {scoring!r}; valid names are {known} and "
            f"{stem}<rate>."
        )
    from sklearn.metrics import get_scorer as sklearn_get_scorer

    try:
        return sklearn_get_scorer(scoring)
    except ValueError:
        raise ValueError(
            f"{scoring!r} is neither a skeer scorer ({known}, {stem}<rate>) nor "
            "a scikit-learn one (sklearn.metrics.get_scorer_names())."
        ) from None
