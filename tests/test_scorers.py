"""Closed-set scorers: real scorer objects that know the estimator's classes_."""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skeer.baselines import Euclidean, Manhattan, ScaledManhattan
from skeer.evaluation import (
    VERIFICATION_SCORERS,
    eer_scorer,
    make_fnmr_scorer,
    make_verification_scorer,
)
from skeer.metrics import UnreliableMetricWarning, equal_error_rate, fnmr_at_fmr

quiet = pytest.mark.filterwarnings(
    "ignore::skeer.metrics.UnreliableMetricWarning",
    "ignore:Fewer than 2 training subjects:UserWarning",
)


def _data(n_subjects=8, n_reps=12, seed=0, noise=0.6):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_subjects), n_reps)
    X = rng.normal(size=(n_subjects, 6))[y] + noise * rng.normal(size=(len(y), 6))
    return X, y


# --------------------------------------------------------------------------
# the attack: identity-disjoint folds with a closed-set scorer


def test_unenrolled_probe_identities_are_refused_not_scored():
    X, y = _data(n_subjects=10)
    enrolled, probed = y < 5, y >= 5  # 5 enrolled, 5 others probed
    det = Manhattan().fit(X[enrolled], y[enrolled])
    scores = det.decision_function(X[probed])
    # the metric alone cannot tell: 5 distinct identities, 5 columns, and the
    # sorted-position mapping makes a number of it
    assert 0 <= equal_error_rate(y[probed], scores) <= 1
    with pytest.raises(ValueError, match="make_verification_scorer"):
        eer_scorer(det, X[probed], y[probed])
    # the ready-made dict scores a fold of new subjects open set instead
    open_eer = make_verification_scorer("eer", n_probe=None)(det, X[probed], y[probed])
    assert VERIFICATION_SCORERS["neg_eer"](det, X[probed], y[probed]) == open_eer
    # one unknown identity among known ones is enough to refuse
    mixed = (y == 0) | (y == 7)
    with pytest.raises(ValueError, match=r"1 of the fold's 2 probe identities \(7\)"):
        eer_scorer(det, X[mixed], y[mixed])
    for scorer in VERIFICATION_SCORERS.values():
        with pytest.raises(ValueError, match="never enrolled and the others"):
            scorer(det, X[mixed], y[mixed])


@quiet
def test_group_kfold_with_a_closed_set_scorer_fails_loudly():
    X, y = _data(n_subjects=10)
    with pytest.raises(ValueError, match="not among the estimator's enrolled"):
        cross_validate(
            Manhattan(),
            X,
            y,
            groups=y,
            cv=GroupKFold(2),
            scoring=eer_scorer,
            error_score="raise",
        )
    # the open-set scorer is the one for such folds
    result = cross_validate(
        Manhattan(),
        X,
        y,
        groups=y,
        cv=GroupKFold(2),
        scoring=make_verification_scorer("eer"),
        error_score="raise",
    )
    assert np.all(result["test_score"] <= 0)


def test_estimator_without_classes_is_refused():
    class Embedder:
        def transform(self, X):
            return X

    X, y = _data()
    with pytest.raises(ValueError, match="classes_ and decision_function.*Embedder"):
        eer_scorer(Embedder(), X, y)


# --------------------------------------------------------------------------
# the columns are the estimator's classes_


class _FixedScores:
    """A fitted 'estimator' whose classes_ are not in sorted order."""

    classes_ = np.array(["zoe", "amy", "max"])

    def __init__(self, scores):
        self.scores = scores

    def decision_function(self, X):  # X: row numbers
        return self.scores[X]


def test_columns_follow_classes_not_sorted_identities():
    y = np.array(["zoe", "amy", "max", "amy", "zoe", "max"])
    own = (y[:, None] == _FixedScores.classes_[None, :]).astype(float)
    est = _FixedScores(own + 0.01 * np.arange(18).reshape(6, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableMetricWarning)
        rows = np.arange(6)
        assert eer_scorer(est, rows, y) == -0.0
        # read in sorted order (amy, max, zoe), the same matrix looks bad
        assert equal_error_rate(y, est.scores) > 0.3
        # a fold probing only some enrolled identities is fine
        fold = np.array([1, 3, 4])  # amy, amy, zoe: no probe of max
        assert eer_scorer(est, fold, y[fold]) == -0.0


@quiet
def test_scores_equal_the_metric_with_labels():
    X, y = _data(seed=1)
    det = ScaledManhattan().fit(X[::2], y[::2])
    S = det.decision_function(X[1::2])
    assert eer_scorer(det, X[1::2], y[1::2]) == -equal_error_rate(
        y[1::2], S, labels=det.classes_
    )
    for method in ("interpolate", "nearest", "pyeer", "bob"):
        scorer = make_fnmr_scorer(0.1, method=method)
        assert scorer(det, X[1::2], y[1::2]) == -fnmr_at_fmr(
            y[1::2], S, fmr=0.1, labels=det.classes_, method=method
        )


def test_scorer_arguments_and_repr():
    assert repr(eer_scorer) == "eer_scorer"
    assert repr(make_fnmr_scorer(0.01)) == "make_fnmr_scorer(0.01)"
    assert (
        repr(make_fnmr_scorer(0.01, method="pyeer"))
        == "make_fnmr_scorer(0.01, method='pyeer')"
    )
    with pytest.raises(ValueError, match="fmr"):
        make_fnmr_scorer(1.5)
    with pytest.raises(ValueError, match="method must be one of"):
        make_fnmr_scorer(0.1, method="kvc")
    X, y = _data()
    det = Manhattan().fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        eer_scorer(det, X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match="y .identities. is required"):
        eer_scorer(det, X, None)


# --------------------------------------------------------------------------
# model selection


@quiet
def test_grid_search_on_a_pipeline_with_multimetric_scorers():
    X, y = _data(n_subjects=6, n_reps=20, seed=6)
    pipe = Pipeline([("scale", StandardScaler()), ("detector", ScaledManhattan())])
    grid = GridSearchCV(
        pipe,
        {"detector": [ScaledManhattan(), Manhattan(), Euclidean()]},
        scoring=VERIFICATION_SCORERS,
        refit="neg_eer",
        cv=StratifiedKFold(3),
        error_score="raise",
    ).fit(X, y)
    for name in VERIFICATION_SCORERS:
        values = grid.cv_results_[f"mean_test_{name}"]
        assert len(values) == 3 and np.all((-1 <= values) & (values <= 0))
    # the Pipeline's classes_ are its last step's
    best = grid.best_estimator_
    assert best.classes_ is best[-1].classes_
    expected = -equal_error_rate(y, best.decision_function(X), labels=best.classes_)
    assert eer_scorer(best, X, y) == expected


@quiet
def test_cross_validate_with_a_scorer_dict():
    X, y = _data(n_subjects=5, n_reps=15, seed=2)
    scoring = {"eer": eer_scorer, "kvc": make_fnmr_scorer(0.1, method="nearest")}
    result = cross_validate(
        Manhattan(), X, y, cv=StratifiedKFold(3), scoring=scoring, error_score="raise"
    )
    assert result["test_eer"].shape == result["test_kvc"].shape == (3,)
    assert np.all(result["test_eer"] <= 0) and np.all(result["test_kvc"] <= 0)


@quiet
def test_ready_made_scorers_give_numbers_with_subject_disjoint_folds():
    from sklearn.model_selection import cross_validate

    from skeer.evaluation import SubjectKFold

    X, y = _data(n_subjects=12, n_reps=12, seed=3)
    pipe = Pipeline([("scale", StandardScaler()), ("detector", ScaledManhattan())])
    cv = cross_validate(
        pipe,
        X,
        y,
        cv=SubjectKFold(3),
        scoring=VERIFICATION_SCORERS,
        error_score="raise",
    )
    for name in VERIFICATION_SCORERS:
        values = cv[f"test_{name}"]
        assert len(values) == 3 and np.all(np.isfinite(values)), name
        assert np.all((-1 <= values) & (values <= 0)), name


def test_get_scorer_names_skeers_scorers_and_passes_sklearns_through():
    from sklearn.metrics import accuracy_score, make_scorer

    from skeer.evaluation import SubjectKFold, get_scorer, get_scorer_names

    assert get_scorer_names() == sorted(VERIFICATION_SCORERS)
    for name in get_scorer_names():
        assert get_scorer(name) is VERIFICATION_SCORERS[name]
        assert get_scorer(f"skeer:{name}") is VERIFICATION_SCORERS[name]
    X, y = _data(n_subjects=12, n_reps=12, seed=3)
    pipe = Pipeline([("scale", StandardScaler()), ("detector", ScaledManhattan())])
    # any rate: the same figure as make_verification_scorer's on each fold
    scorer = get_scorer("skeer:neg_fnmr_at_fmr_0.05")
    assert repr(scorer) == "neg_fnmr_at_fmr_0.05"
    direct = make_verification_scorer("fnmr_at_fmr", fmr=0.05, n_probe=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableMetricWarning)
        got = cross_validate(pipe, X, y, cv=SubjectKFold(3), scoring=scorer)
        want = cross_validate(pipe, X, y, cv=SubjectKFold(3), scoring=direct)
    np.testing.assert_allclose(got["test_score"], want["test_score"])
    # scikit-learn's names and callables pass through
    assert get_scorer(eer_scorer) is eer_scorer
    assert repr(get_scorer("accuracy")) == repr(make_scorer(accuracy_score))
    for bad, match in [
        ("skeer:auc", "Unknown skeer scorer"),
        ("neg_fnmr_at_fmr_2", r"in \(0, 1\)"),
        ("neg_fnmr_at_fmr_x", r"in \(0, 1\)"),
        ("not_a_scorer", "neither a skeer scorer"),
        (3, "a name or a callable"),
    ]:
        with pytest.raises(ValueError, match=match):
            get_scorer(bad)
