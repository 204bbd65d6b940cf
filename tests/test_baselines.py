"""Non-learned detectors (skeer.baselines): sklearn compatibility, the
Killourhy & Maxion formulas, enrolment, calibration and model selection."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
    parametrize_with_checks,
)

import skeer
from skeer import KeystrokeFeatures, equal_error_rate, make_verification_scorer
from skeer.baselines import (
    Cosine,
    Euclidean,
    MahalanobisNearestNeighbor,
    Manhattan,
    OneClassSVMDetector,
    ScaledManhattan,
    TemplateDetector,
    TimingStatistics,
    make_timing_baseline,
)
from skeer.datasets import make_keystrokes
from skeer.evaluation import eer_scorer, evaluate_fixed_text, evaluate_verification
from skeer.templates import make_templates, threshold_at
from skeer.templates._open_set import (
    impostor_scores,
    judge,
    open_set_scores,
    open_set_split,
)

DETECTORS = [ScaledManhattan, Manhattan, Euclidean, Cosine]
GEOMETRY_OF = {
    ScaledManhattan: "scaled_manhattan",
    Manhattan: "manhattan",
    Euclidean: "euclidean",
    Cosine: "cosine",
}

# --------------------------------------------------------------------------
# scikit-learn compatibility (house rule 6)

# The verifier contract (see docs/DESIGN): decision_function is the
# (n_samples, n_classes_) similarity of each sample to each enrolled subject,
# also for two subjects, where sklearn's binary classifiers return 1-D.
DETECTOR_EXPECTED_FAILED = {
    "check_classifiers_train": (
        "decision_function returns (n_samples, n_classes_) similarities also for "
        "two subjects (the verifier contract: one column per enrolled subject), "
        "where sklearn expects a 1-D binary decision."
    ),
    "check_classifiers_classes": (
        "as check_classifiers_train: 2-D decision_function for two subjects."
    ),
}


def _make(det, X, codes, n_codes):
    """A detector's templates of rows ``X``, as the protocols make them."""
    return det._new_templates(det._template_features(X), codes, n_codes)


def _score(det, X, templates, cols=None):
    """Scores of rows ``X`` against ``templates`` (a matrix, or claims)."""
    F = det._template_features(X)
    return templates.matrix(F) if cols is None else templates.claims(F, cols)


@parametrize_with_checks(
    [
        TemplateDetector(),
        TemplateDetector("cosine", operating_point=0.1, n_enroll=2),
        ScaledManhattan(),
        Manhattan(),
        Euclidean(),
        Cosine(),
    ],
    expected_failed_checks=lambda est: DETECTOR_EXPECTED_FAILED,
)
def test_detectors_sklearn_compatible(estimator, check):
    check(estimator)


# TimingStatistics takes the 3-D output of KeystrokeFeatures (its tags say so:
# two_d_array=False, three_d_array=True), and parametrize_with_checks only
# feeds 2-D arrays: for such an estimator it yields no check at all. These are
# the API checks that need no data; the data contract (fit returns self,
# statelessness, pickling, read-only input, feature names) is tested below on
# 3-D input.
TIMING_API_CHECKS = [
    check_estimator_cloneable,
    check_estimator_tags_renamed,
    check_valid_tag_types,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_do_not_raise_errors_in_init_or_set_params,
    check_mixin_order,
    check_get_params_invariance,
    check_set_params,
    check_parameters_default_constructible,
]


@pytest.mark.parametrize("check", TIMING_API_CHECKS, ids=lambda c: c.__name__)
def test_timing_statistics_sklearn_api(check):
    check("TimingStatistics", TimingStatistics())


# --------------------------------------------------------------------------
# helpers


def _data(n_subjects=6, n_reps=40, d=7, seed=0):
    """Positive timing-like vectors, repetitions in order, subjects grouped."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_subjects), n_reps)
    centers = rng.gamma(2.0, 0.1, size=(n_subjects, d))
    X = centers[y] * rng.lognormal(0.0, 0.35, size=(len(y), d))
    return X, y


def _km_reference(X, y, n_train, n_impostor_reps, detector):
    """Killourhy & Maxion, copied from ``evaluate_fixed_text(None, ...)`` of
    skeer.evaluation before the detectors moved to skeer.baselines.

    Returns per-subject (genuine, impostor) scores and per-subject EERs.
    """
    F = np.asarray(X, dtype=np.float64)
    ids, inverse = np.unique(y, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(ids))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    kept = counts > n_train
    n_imp = np.minimum(counts, n_impostor_reps)
    imp_owner = np.repeat(np.arange(len(ids)), n_imp)
    within = np.arange(int(n_imp.sum())) - np.repeat(np.cumsum(n_imp) - n_imp, n_imp)
    pool = F[order[starts[imp_owner] + within]]
    out, eers = [], []
    for s in np.flatnonzero(kept):
        idx = order[starts[s] : starts[s] + counts[s]]
        train, probe = F[idx[:n_train]], F[idx[n_train:]]
        impostors = pool[imp_owner != s]
        mu = train.mean(axis=0)
        if detector == "scaled_manhattan":
            mad = np.abs(train - mu).mean(axis=0)
            mad = np.maximum(mad, np.finfo(np.float64).eps)
            genuine = -(np.abs(probe - mu) / mad).sum(axis=1)
            impostor = -(np.abs(impostors - mu) / mad).sum(axis=1)
        elif detector == "manhattan":
            genuine = -np.abs(probe - mu).sum(axis=1)
            impostor = -np.abs(impostors - mu).sum(axis=1)
        else:
            genuine = -((probe - mu) ** 2).sum(axis=1)
            impostor = -((impostors - mu) ** 2).sum(axis=1)
        labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eers.append(float(equal_error_rate(labels, np.r_[genuine, impostor])))
        out.append((genuine, impostor))
    return out, eers


def _timing_statistics_reference(F):
    """Copy of ``skeer.cli._timing_statistics`` (HEAD) before it moved here."""
    F = np.asarray(F, dtype=np.float64)
    valid = F[..., -1] > 0
    timings = F[..., :4]
    timings = np.sign(timings) * np.log1p(10 * np.abs(timings))
    timings = np.where(valid[..., None], timings, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        stats = np.concatenate(
            [
                np.nanmean(timings, axis=1),
                np.nanstd(timings, axis=1),
                *np.nanpercentile(timings, [25, 50, 75], axis=1),
            ],
            axis=1,
        )
    return np.nan_to_num(stats)


def _calibration_scores(det, X, y):
    """The open-set scores fit calibrates threshold_ on."""
    split = open_set_split(y, det.n_enroll)
    genuine, S = open_set_scores(judge(det, X), split)
    impostor = impostor_scores(S)
    return genuine, impostor


# --------------------------------------------------------------------------
# Killourhy & Maxion formulas


@pytest.mark.parametrize("cls", [ScaledManhattan, Manhattan, Euclidean])
def test_scores_equal_killourhy_maxion_formulas(cls):
    X, y = _data(n_subjects=5, n_reps=30, d=9, seed=1)
    n_train, n_reps = 20, 5
    reference, _ = _km_reference(X, y, n_train, n_reps, GEOMETRY_OF[cls])
    det = cls()
    imp_rows = np.concatenate([np.flatnonzero(y == s)[:n_reps] for s in range(5)])
    imp_owner = y[imp_rows]
    for s, (genuine_ref, impostor_ref) in enumerate(reference):
        rows = np.flatnonzero(y == s)
        T = _make(det, X[rows[:n_train]], np.zeros(n_train, int), 1)
        probes = X[rows[n_train:]]
        impostors = X[imp_rows[imp_owner != s]]
        # one score per row (claims) and the score matrix: both paths
        genuine = _score(det, probes, T, np.zeros(len(probes), int))
        impostor = _score(det, impostors, T)[:, 0]
        if cls is Euclidean:
            # _enrol sums squares with einsum, the formula with ndarray.sum:
            # the summation order differs in the last bit
            assert_allclose(genuine, genuine_ref, rtol=1e-13)
            assert_allclose(impostor, impostor_ref, rtol=1e-13)
        else:
            assert_array_equal(genuine, genuine_ref)
            assert_array_equal(impostor, impostor_ref)


@pytest.mark.parametrize("cls", [ScaledManhattan, Manhattan, Euclidean])
def test_evaluate_fixed_text_with_a_detector_equals_the_formulas(cls):
    X, y = _data(n_subjects=6, n_reps=30, d=8, seed=2)
    _, eers = _km_reference(X, y, 20, 5, GEOMETRY_OF[cls])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = evaluate_fixed_text(cls(), X, y, n_train=20)
    assert report["subject_eer"] == eers
    # an unfitted detector is judged exactly like a fitted one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = evaluate_fixed_text(cls().fit(X, y), X, y, n_train=20)
    assert fitted["subject_eer"] == eers


@pytest.mark.parametrize("cls", DETECTORS)
def test_named_detectors_equal_template_detector(cls):
    X, y = _data()
    named = cls(n_enroll=3).fit(X, y)
    generic = TemplateDetector(GEOMETRY_OF[cls], n_enroll=3).fit(X, y)
    assert named.geometry == GEOMETRY_OF[cls]
    assert_array_equal(named.decision_function(X), generic.decision_function(X))
    assert named.threshold_ == generic.threshold_
    assert_array_equal(named.templates_, generic.templates_)


@pytest.mark.parametrize("cls", DETECTORS)
def test_named_detectors_fix_their_geometry(cls):
    det = cls()
    assert "geometry" not in det.get_params()
    with pytest.raises(AttributeError):
        det.geometry = "cosine"
    with pytest.raises(ValueError, match="geometry"):
        det.set_params(geometry="cosine")
    assert clone(det).geometry == GEOMETRY_OF[cls]
    assert isinstance(det, TemplateDetector)


# --------------------------------------------------------------------------
# fit, enrol, score


@pytest.mark.parametrize("geometry", ["scaled_manhattan", "manhattan", "cosine"])
def test_fit_enrols_every_subject(geometry):
    X, y = _data()
    names = np.array(["eve", "ann", "dan", "bob", "fay", "cy"])[y]
    det = TemplateDetector(geometry).fit(X, names)
    assert det.classes_.tolist() == sorted(set(names))
    _, codes = np.unique(names, return_inverse=True)
    expected = make_templates(X, codes, len(det.classes_), geometry)
    assert_array_equal(det.templates_, expected.center)
    if geometry == "scaled_manhattan":
        assert_array_equal(det.template_scales_, expected.scale)
    else:
        assert det.template_scales_ is None
    assert det.n_features_in_ == X.shape[1]
    assert det.templates_.dtype == np.float64
    det32 = TemplateDetector(geometry).fit(X.astype(np.float32), names)
    assert det32.templates_.dtype == np.float32


def test_decision_function_predict_claim_scores_agree():
    X, y = _data()
    det = ScaledManhattan().fit(X, y)
    S = det.decision_function(X)
    assert S.shape == (len(X), 6)
    assert_array_equal(det.predict(X), det.classes_[np.argmax(S, axis=1)])
    claimed = np.roll(y, 7)
    assert_array_equal(det.claim_scores(X, claimed), S[np.arange(len(X)), claimed])
    assert_array_equal(det.claim_scores(X[:3], 2), S[:3, 2])  # scalar claim


def test_score_is_negative_closed_set_eer():
    X, y = _data(seed=3)
    det = Manhattan().fit(X, y)
    expected = -equal_error_rate(y, det.decision_function(X), labels=det.classes_)
    assert det.score(X, y) == expected
    assert eer_scorer(det, X, y) == expected


def test_enroll_adds_replaces_and_resets():
    X, y = _data()
    det = ScaledManhattan().fit(X[y < 4], y[y < 4])
    before = det.templates_.copy(), det.template_scales_.copy(), det.threshold_

    det.enroll(X[y == 5], y[y == 5])
    assert det.classes_.tolist() == [0, 1, 2, 3, 5]
    assert_array_equal(det.templates_[:4], before[0])
    assert_array_equal(det.template_scales_[:4], before[1])
    new = make_templates(X[y == 5], np.zeros(40, int), 1, "scaled_manhattan")
    assert_array_equal(det.templates_[4:], new.center)
    assert_array_equal(det.template_scales_[4:], new.scale)
    assert det.threshold_ == before[2]  # enrol never moves the threshold

    # replacing subject 1: the same as Templates.merge
    replacement = X[y == 4][:10]
    rep = make_templates(replacement, np.zeros(10, int), 1, "scaled_manhattan")
    classes, templates = det._templates().merge(det.classes_, np.array([1]), rep)
    det.enroll(replacement, [1] * 10)
    assert_array_equal(det.classes_, classes)
    assert_array_equal(det.templates_, templates.center)
    assert_array_equal(det.template_scales_, templates.scale)

    det.enroll(X[y == 2], ["two"] * 40, reset=True)
    assert det.classes_.tolist() == ["two"]
    assert det.verify(X[y == 2][:2], "two").dtype == bool


def test_enroll_then_verify_new_subject():
    X, y = _data()
    det = Cosine().fit(X[y < 5], y[y < 5])
    with pytest.raises(ValueError, match="not enrolled"):
        det.verify(X[y == 5], 5)
    det.enroll(X[y == 5], y[y == 5])
    assert det.verify(X[y == 5], 5).mean() > 0.8


@pytest.mark.parametrize("cls", DETECTORS)
@pytest.mark.parametrize("target", [0.05, 0.2])
def test_threshold_meets_target_fmr_on_calibration_scores(cls, target):
    X, y = _data(n_subjects=12, n_reps=15, seed=4)
    det = cls(operating_point=target).fit(X, y)
    genuine, impostor = _calibration_scores(det, X, y)
    assert np.mean(impostor >= det.threshold_) <= target
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    scores = np.r_[genuine, impostor]
    assert det.threshold_ == threshold_at(labels, scores, target)
    # the lowest such threshold: one step lower exceeds the target
    below = np.max(impostor[impostor < det.threshold_])
    assert np.mean(impostor >= below) > target


@pytest.mark.parametrize("cls", DETECTORS)
def test_eer_threshold_and_verify(cls):
    X, y = _data(n_subjects=8, n_reps=12, seed=5)
    det = cls().fit(X, y)
    genuine, impostor = _calibration_scores(det, X, y)
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    assert det.threshold_ == threshold_at(labels, np.r_[genuine, impostor], "eer")
    claimed = np.roll(y, 13)
    assert_array_equal(
        det.verify(X, claimed), det.claim_scores(X, claimed) >= det.threshold_
    )


def test_calibration_falls_back_with_a_warning():
    X, y = _data()
    # fewer than 2 subjects with n_enroll + 1 = 6 samples: 3 enrolment samples
    rows = np.r_[np.flatnonzero(y == 0)[:10], np.flatnonzero(y == 1)[:4], 80]
    with pytest.warns(UserWarning, match="calibrated with 3 enrolment"):
        det = Manhattan().fit(X[rows], y[rows])
    split = open_set_split(y[rows], 3)
    genuine, S = open_set_scores(judge(det, X[rows]), split)
    impostor = impostor_scores(S)
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    assert det.threshold_ == threshold_at(labels, np.r_[genuine, impostor], "eer")
    # fewer than 2 subjects with 2 samples: closed set on the training data
    rows = np.r_[np.flatnonzero(y == 0)[:3], 40, 80]
    with pytest.warns(UserWarning, match="optimistic"):
        det = Manhattan().fit(X[rows], y[rows])
    assert np.isfinite(det.threshold_)


def test_protocol_hooks_work_unfitted():
    X, y = _data()
    det = ScaledManhattan()
    T = _make(det, X, y, 6)
    assert_array_equal(T.center, make_templates(X, y, 6, "scaled_manhattan").center)
    assert _score(det, X[:4], T).shape == (4, 6)
    assert det._template_geometry == "scaled_manhattan"
    with pytest.raises(NotFittedError):
        det.decision_function(X)
    with pytest.raises(NotFittedError):
        det.enroll(X, y)


def test_dataframe_input_keeps_feature_names_without_warnings():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    frame = pd.DataFrame(X, columns=[f"t{j}" for j in range(X.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det = ScaledManhattan().fit(frame, y)
        det.enroll(frame.iloc[:5], [9] * 5)
        det.predict(frame)
        # 30 impostor comparisons resolve FMR 0.1 (lower levels warn)
        evaluate_verification(det, frame, y, n_enroll=5, n_probe=5, fmr_levels=(0.1,))
    assert det.feature_names_in_.tolist() == list(frame.columns)
    assert det.threshold_ == ScaledManhattan().fit(X, y).threshold_


def test_pickle_roundtrip():
    X, y = _data()
    det = ScaledManhattan(operating_point=0.01).fit(X, y)
    back = pickle.loads(pickle.dumps(det))
    assert back.geometry == "scaled_manhattan"
    assert_array_equal(back.decision_function(X), det.decision_function(X))
    assert back.threshold_ == det.threshold_


# --------------------------------------------------------------------------
# bad inputs


def test_unknown_or_malformed_claims_are_refused():
    X, y = _data()
    det = Euclidean().fit(X, y)
    with pytest.raises(ValueError, match=r"not enrolled, e\.g\. \[9\]"):
        det.claim_scores(X[:2], [0, 9])
    with pytest.raises(ValueError, match="one identity per sample"):
        det.verify(X[:3], [0, 1])
    with pytest.raises(ValueError, match="claimed identities are strings"):
        det.verify(X[:2], ["a", "b"])
    with pytest.raises(ValueError, match="not enrolled"):
        det.score(X[:2], [0, 7])


def test_feature_count_and_nan_are_refused():
    X, y = _data()
    det = ScaledManhattan().fit(X, y)
    with pytest.raises(ValueError, match="7 features"):
        det.decision_function(X[:, :5])
    with pytest.raises(ValueError, match="7 features"):
        det.enroll(X[:, :5], y)
    with pytest.raises(ValueError, match="7 features"):
        det.claim_scores(X[:2, :5], 0)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ScaledManhattan().fit(bad, y)
    with pytest.raises(ValueError, match="NaN"):
        det.predict(bad)
    with pytest.raises(ValueError, match="NaN"):
        det.enroll(bad, y)
    with pytest.raises(ValueError, match="NaN"):
        _make(ScaledManhattan(), bad, y, 6)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"geometry": "chebyshev"}, "geometry must be one of"),
        ({"operating_point": 1.5}, "operating_point"),
        ({"operating_point": "frr"}, "operating_point"),
        ({"n_enroll": 0}, "n_enroll must be a positive integer"),
        ({"n_enroll": 2.0}, "n_enroll must be a positive integer"),
    ],
)
def test_invalid_parameters_raise_at_fit(params, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        TemplateDetector(**params).fit(X, y)


def test_other_bad_inputs():
    X, y = _data()
    with pytest.raises(ValueError, match="1 class"):
        Cosine().fit(X[:10], np.zeros(10))
    with pytest.raises(ValueError, match="Unknown label type"):
        Cosine().fit(X, y + 0.5)
    det = Cosine().fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        det.score(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match="reset must be True or False"):
        det.enroll(X, y, reset="yes")
    with pytest.raises(ValueError, match="cannot be compared"):
        det.enroll(X[:5], ["a"] * 5)


# --------------------------------------------------------------------------
# free text: timing statistics and the timing baseline


@pytest.fixture(scope="module")
def sessions():
    return make_keystrokes(n_subjects=8, n_sessions=10, random_state=0)


def test_timing_statistics_equals_the_cli_function(sessions):
    X, _ = sessions
    F = KeystrokeFeatures(max_len=40).transform(X)
    stats = TimingStatistics().fit_transform(F)
    assert stats.shape == (len(X), 20)
    assert_array_equal(stats, _timing_statistics_reference(F))
    assert_array_equal(TimingStatistics().transform(F.astype(np.float64)), stats)


def test_timing_statistics_contract(sessions):
    X, _ = sessions
    F = KeystrokeFeatures(max_len=40).transform(X)
    ts = TimingStatistics()
    assert ts.fit(F) is ts
    assert ts.__dict__ == {}  # stateless: fit learns nothing
    assert_array_equal(clone(ts).transform(F), ts.transform(F))  # no fit needed
    assert_array_equal(pickle.loads(pickle.dumps(ts)).transform(F), ts.transform(F))
    readonly = F.copy()
    readonly.flags.writeable = False
    assert_array_equal(ts.transform(readonly), ts.transform(F))
    # an all-padding session gives zeros, not NaN
    empty = np.zeros((1, 40, 5), dtype=np.float32)
    assert_array_equal(ts.transform(empty), np.zeros((1, 20)))
    # padding is ignored (sessions have at most 70 keys)
    short = KeystrokeFeatures(max_len=80).transform(X[:3])
    padded = KeystrokeFeatures(max_len=200).transform(X[:3])
    assert_allclose(ts.transform(padded), ts.transform(short), rtol=1e-12)


def test_timing_statistics_feature_names():
    names = TimingStatistics().get_feature_names_out()
    assert len(names) == 20 and names.dtype == object
    assert names[:4].tolist() == [
        "hold_mean",
        "inter_press_mean",
        "inter_release_mean",
        "inter_key_mean",
    ]
    assert names[4] == "hold_std" and names[-1] == "inter_key_q75"
    custom = TimingStatistics().get_feature_names_out(["a", "b", "c", "d", "key"])
    assert custom[:5].tolist() == ["a_mean", "b_mean", "c_mean", "d_mean", "a_std"]
    with pytest.raises(ValueError, match="5 input channels"):
        TimingStatistics().get_feature_names_out(["a", "b"])


def test_timing_statistics_refuses_other_shapes():
    ts = TimingStatistics()
    with pytest.raises(ValueError, match=r"\(n_sessions, max_len, 5\)"):
        ts.fit(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"\(n_sessions, max_len, 5\)"):
        ts.transform(np.zeros((4, 10, 3)))
    bad = np.zeros((2, 3, 5))
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ts.transform(bad)


def test_make_timing_baseline(sessions):
    X, y = sessions
    pipe = make_timing_baseline(max_len=40)
    assert [type(step) for _, step in pipe.steps] == [
        KeystrokeFeatures,
        TimingStatistics,
        StandardScaler,
        Cosine,
    ]
    assert pipe.get_params()["keystrokefeatures__max_len"] == 40
    pipe.fit(X, y)
    assert pipe[:-1].get_feature_names_out()[0] == "hold_mean"
    assert pipe.decision_function(X).shape == (len(X), 8)
    # the CLI's baseline scored the pipeline's transform by cosine: the same
    report = evaluate_verification(pipe, X, y, n_enroll=5, n_probe=5)
    head = evaluate_verification(pipe[:-1], X, y, n_enroll=5, n_probe=5)
    assert report["eer"] == head["eer"]
    assert report["eer"] < 0.5


# --------------------------------------------------------------------------
# model selection


def test_grid_search_chooses_between_detectors_closed_set():
    X, y = _data(n_subjects=6, n_reps=20, seed=6)
    pipe = Pipeline([("scale", StandardScaler()), ("detector", ScaledManhattan())])
    grid = GridSearchCV(
        pipe,
        {"detector": [ScaledManhattan(), Manhattan(), Euclidean()]},
        scoring=eer_scorer,
        cv=StratifiedKFold(3),
        error_score="raise",
    ).fit(X, y)
    assert len(grid.cv_results_["mean_test_score"]) == 3
    assert grid.best_estimator_.predict(X).shape == (len(X),)


def test_grid_search_chooses_between_detectors_open_set():
    X, y = _data(n_subjects=12, n_reps=12, seed=7)
    pipe = Pipeline([("scale", StandardScaler()), ("detector", ScaledManhattan())])
    scorer = make_verification_scorer("eer", n_enroll=5, n_probe=5)
    grid = GridSearchCV(
        pipe,
        {
            "detector": [ScaledManhattan(), Manhattan()],
            "detector__operating_point": ["eer", 0.01],
        },
        scoring=scorer,
        cv=GroupKFold(3),
        error_score="raise",
    ).fit(X, y, groups=y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all((-1 <= scores) & (scores <= 0))
    # the open-set EER does not depend on the operating point
    assert scores[0] == scores[1] and scores[2] == scores[3]
    assert isinstance(grid.best_estimator_[-1], ScaledManhattan | Manhattan)


# --------------------------------------------------------------------------
# packaging


def test_lazy_submodule_and_public_names():
    assert "baselines" in skeer.__all__
    assert skeer.baselines.ScaledManhattan is ScaledManhattan
    for name in skeer.baselines.__all__:
        obj = getattr(skeer.baselines, name)
        assert obj.__doc__ and "Examples" in obj.__doc__, name


def test_baselines_never_import_torch():
    code = "import sys, skeer.baselines; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# --------------------------------------------------------------------------
# per-subject-model detectors: nearest neighbour (Mahalanobis), one-class SVM

MODEL_DETECTORS = [MahalanobisNearestNeighbor, OneClassSVMDetector]


@parametrize_with_checks(
    [
        MahalanobisNearestNeighbor(),
        MahalanobisNearestNeighbor(shrinkage=None, operating_point=0.1, n_enroll=2),
        MahalanobisNearestNeighbor(shrinkage=0.2),
        OneClassSVMDetector(),
        OneClassSVMDetector(nu=0.2, gamma=0.5, operating_point=0.05),
    ],
    expected_failed_checks=lambda est: DETECTOR_EXPECTED_FAILED,
)
def test_model_detectors_sklearn_compatible(estimator, check):
    check(estimator)


def _mahalanobis_reference(train, probes, precision):
    """-min_t sqrt((x - t)^T P (x - t)), written out for every pair."""
    out = np.empty(len(probes))
    for i, x in enumerate(probes):
        diff = x - train
        out[i] = -np.sqrt(np.einsum("nd,de,ne->n", diff, precision, diff)).min()
    return out


def _subject_split(X, y, s, n_train):
    rows = np.flatnonzero(y == s)
    return X[rows[:n_train]], X[rows[n_train:]]


@pytest.mark.parametrize(
    "shrinkage, n_train",
    [(None, 25), (None, 4), ("auto", 25), ("auto", 4), (0.3, 25)],
)
def test_mahalanobis_scores_equal_the_formula(shrinkage, n_train):
    # n_train=4 < d=7: the plain covariance is singular (pseudo-inverse)
    X, y = _data(n_subjects=3, n_reps=30, d=7, seed=2)
    det = MahalanobisNearestNeighbor(shrinkage=shrinkage)
    others = X[y != 0][:20]
    train, probes = _subject_split(X, y, 0, n_train)
    emp = np.cov(train, rowvar=False, bias=True)
    if shrinkage is None:
        precision = np.linalg.pinv(emp, hermitian=True)
    elif shrinkage == "auto":
        from sklearn.covariance import ledoit_wolf

        precision = np.linalg.inv(ledoit_wolf(train)[0])
    else:
        mu = np.trace(emp) / emp.shape[0]
        precision = np.linalg.inv((1 - shrinkage) * emp + shrinkage * mu * np.eye(7))
    T = _make(det, train, np.zeros(n_train, int), 1)
    genuine = _score(det, probes, T, np.zeros(len(probes), int))
    impostor = _score(det, others, T)[:, 0]
    assert_allclose(genuine, _mahalanobis_reference(train, probes, precision))
    assert_allclose(impostor, _mahalanobis_reference(train, others, precision))
    assert (genuine <= 0).all()


def test_mahalanobis_singular_pinv_ignores_directions_outside_the_span():
    # why the default shrinks: with a pseudo-inverse, a probe that differs
    # from a training vector only outside the training span scores 0 (a
    # perfect match); with shrinkage it does not
    train = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    probe = np.array([[1.0, 5.0, 5.0]])
    codes = np.zeros(3, int)
    plain = MahalanobisNearestNeighbor(shrinkage=None)
    assert _score(plain, probe, _make(plain, train, codes, 1))[0, 0] == pytest.approx(
        0.0, abs=1e-12
    )
    shrunk = MahalanobisNearestNeighbor()
    assert _score(shrunk, probe, _make(shrunk, train, codes, 1))[0, 0] < -1.0


def test_mahalanobis_without_spread_is_euclidean():
    det = MahalanobisNearestNeighbor()
    train = np.array([[1.0, 2.0], [1.0, 2.0]])
    for T_rows in (train, train[:1]):  # identical samples, one sample
        T = _make(det, T_rows, np.zeros(len(T_rows), int), 1)
        assert_allclose(_score(det, [[4.0, 6.0]], T), [[-5.0]])


def test_one_class_svm_scores_equal_sklearn():
    from sklearn.svm import OneClassSVM

    X, y = _data(n_subjects=3, n_reps=30, d=7, seed=3)
    det = OneClassSVMDetector(nu=0.3, gamma="scale")
    train, probes = _subject_split(X, y, 1, 20)
    T = _make(det, train, np.zeros(20, int), 1)
    expected = OneClassSVM(nu=0.3, gamma="scale").fit(train).decision_function(X)
    assert_allclose(_score(det, X, T)[:, 0], expected)
    assert_allclose(
        _score(det, probes, T, np.zeros(len(probes), int)),
        expected[y == 1][20:],
    )


@pytest.mark.parametrize("cls", MODEL_DETECTORS)
def test_model_detector_fit_and_the_api_agree(cls):
    X, y = _data(n_subjects=6, n_reps=20, seed=5)
    names = np.array(["eve", "ann", "dan", "bob", "fay", "cy"])[y]
    det = cls().fit(X, names)
    assert det.classes_.tolist() == sorted(set(names))
    assert len(det.templates_) == 6 and det.n_features_in_ == X.shape[1]
    S = det.decision_function(X)
    assert S.shape == (len(X), 6) and S.dtype == np.float64
    # each column is the subject's own model fitted on all its samples
    for k, name in enumerate(det.classes_):
        T = _make(det, X[names == name], np.zeros(20, int), 1)
        assert_allclose(S[:, k], _score(det, X, T)[:, 0])
    assert_array_equal(det.predict(X), det.classes_[np.argmax(S, axis=1)])
    claimed = np.roll(names, 7)
    cols = np.searchsorted(det.classes_, claimed)
    assert_allclose(det.claim_scores(X, claimed), S[np.arange(len(X)), cols])
    assert_array_equal(
        det.verify(X, claimed), det.claim_scores(X, claimed) >= det.threshold_
    )
    _, codes = np.unique(names, return_inverse=True)
    expected = -equal_error_rate(codes, S, labels=np.arange(6))
    assert det.score(X, names) == expected
    assert (det.predict(X) == names).mean() > 0.8


@pytest.mark.parametrize("cls", MODEL_DETECTORS)
@pytest.mark.parametrize("target", ["eer", 0.1])
def test_model_detector_threshold_on_calibration_scores(cls, target):
    X, y = _data(n_subjects=10, n_reps=12, seed=4)
    det = cls(operating_point=target).fit(X, y)
    genuine, impostor = _calibration_scores(det, X, y)
    assert len(genuine) == 10 * 7 and len(impostor) == 10 * 9
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    assert det.threshold_ == threshold_at(labels, np.r_[genuine, impostor], target)
    # the calibration models are fitted on the first n_enroll samples only
    first = np.flatnonzero(y == 0)
    T = _make(det, X[first[:5]], np.zeros(5, int), 1)
    assert_allclose(genuine[:7], _score(det, X[first[5:]], T, np.zeros(7, int)))


@pytest.mark.parametrize("cls", MODEL_DETECTORS)
def test_model_detector_calibration_fallbacks_warn(cls):
    X, y = _data()
    rows = np.r_[np.flatnonzero(y == 0)[:3], 40, 80]
    with pytest.warns(UserWarning, match="optimistic"):
        det = cls().fit(X[rows], y[rows])
    assert np.isfinite(det.threshold_)


@pytest.mark.parametrize("cls", MODEL_DETECTORS)
def test_model_detector_enroll_unenroll(cls):
    X, y = _data()
    det = cls().fit(X[y < 4], y[y < 4])
    before = det.decision_function(X)
    threshold = det.threshold_
    det.enroll(X[y == 5], y[y == 5])
    assert det.classes_.tolist() == [0, 1, 2, 3, 5]
    after = det.decision_function(X)
    assert_allclose(after[:, :4], before)
    fresh = cls().fit(X[(y == 5) | (y == 0)], y[(y == 5) | (y == 0)])
    assert_allclose(after[:, 4], fresh.decision_function(X)[:, 1])
    assert det.threshold_ == threshold
    # replacing subject 1 with subject 4's samples
    det.enroll(X[y == 4], [1] * 40)
    assert det.classes_.tolist() == [0, 1, 2, 3, 5]
    assert_allclose(det.decision_function(X)[:, 1], _subject_column(cls, X, y, 4))
    det.unenroll([0, 5])
    assert det.classes_.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="not enrolled"):
        det.unenroll(9)
    with pytest.raises(ValueError, match="cannot be compared"):
        det.enroll(X[:5], ["a"] * 5)
    with pytest.raises(ValueError, match="reset must be True or False"):
        det.enroll(X[:5], [1] * 5, reset=1)
    det.enroll(X[y == 2], ["two"] * 40, reset=True)
    assert det.classes_.tolist() == ["two"] and len(det.templates_) == 1


def _subject_column(cls, X, y, s):
    """Scores of every row against subject ``s``'s model alone."""
    det = cls()
    T = _make(det, X[y == s], np.zeros(int((y == s).sum()), int), 1)
    return _score(det, X, T)[:, 0]


@pytest.mark.parametrize("cls", MODEL_DETECTORS)
def test_model_detector_in_the_protocols_unfitted_and_in_a_pipeline(cls):
    X, y = _data(n_subjects=8, n_reps=30, seed=6)
    report = evaluate_fixed_text(cls(), X, y, n_train=20, n_bootstraps=0)
    # the protocol's scores are the detector's own, subject by subject
    det = cls()
    rows = np.flatnonzero(y == 3)
    T = _make(det, X[rows[:20]], np.zeros(20, int), 1)
    imp = np.concatenate([np.flatnonzero(y == s)[:5] for s in range(8) if s != 3])
    labels = np.r_[np.ones(10), np.zeros(len(imp))]
    scores = np.r_[
        _score(det, X[rows[20:]], T)[:, 0],
        _score(det, X[imp], T)[:, 0],
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert report["subject_eer"][3] == equal_error_rate(labels, scores)
    pipe = Pipeline([("scale", StandardScaler()), ("det", cls())]).fit(X, y)
    piped = evaluate_fixed_text(pipe, X, y, n_train=20, n_bootstraps=0)
    assert 0 <= piped["mean_subject_eer"] < 0.3
    free = evaluate_verification(cls(), X, y, n_enroll=5, n_probe=5, n_bootstraps=0)
    assert 0 <= free["eer"] < 0.5
    with pytest.raises(NotFittedError):
        cls().decision_function(X)


@pytest.mark.parametrize("cls", MODEL_DETECTORS)
def test_model_detector_pickle_and_dataframe(cls):
    pd = pytest.importorskip("pandas")
    X, y = _data()
    frame = pd.DataFrame(X, columns=[f"t{j}" for j in range(X.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det = cls(operating_point=0.01).fit(frame, y)
        det.predict(frame)
        det.enroll(frame.iloc[:5], [9] * 5)
    assert det.feature_names_in_.tolist() == list(frame.columns)
    back = pickle.loads(pickle.dumps(det))
    assert_array_equal(back.decision_function(X), det.decision_function(X))
    assert back.threshold_ == det.threshold_


@pytest.mark.parametrize(
    "est, match",
    [
        (MahalanobisNearestNeighbor(shrinkage="ledoit"), "shrinkage must be"),
        (MahalanobisNearestNeighbor(shrinkage=1.5), "shrinkage"),
        (MahalanobisNearestNeighbor(shrinkage=True), "shrinkage must be"),
        (MahalanobisNearestNeighbor(operating_point=2.0), "operating_point"),
        (OneClassSVMDetector(nu=0.0), "nu"),
        (OneClassSVMDetector(kernel="cubic"), "kernel"),
        (OneClassSVMDetector(gamma=-1.0), "gamma"),
        (OneClassSVMDetector(n_enroll=0), "n_enroll must be a positive integer"),
    ],
)
def test_model_detector_invalid_parameters_raise_at_fit(est, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


@pytest.mark.parametrize("cls", MODEL_DETECTORS)
def test_model_detector_bad_inputs(cls):
    X, y = _data()
    det = cls().fit(X, y)
    with pytest.raises(ValueError, match="7 features"):
        det.decision_function(X[:, :5])
    with pytest.raises(ValueError, match="7 features"):
        det.claim_scores(X[:2, :5], 0)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cls().fit(bad, y)
    with pytest.raises(ValueError, match="NaN"):
        _make(cls(), bad, y, 6)
    with pytest.raises(ValueError, match="at least one enrolment sample"):
        _make(cls(), X, y, 7)
    with pytest.raises(ValueError, match=r"not enrolled, e\.g\. \[9\]"):
        det.claim_scores(X[:2], [0, 9])
    with pytest.raises(ValueError, match="sample_weight"):
        det.score(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match="1 class"):
        cls().fit(X[:10], np.zeros(10))


def test_grid_search_chooses_among_all_detectors():
    X, y = _data(n_subjects=12, n_reps=12, seed=7)
    pipe = Pipeline([("scale", StandardScaler()), ("detector", ScaledManhattan())])
    scorer = make_verification_scorer("eer", n_enroll=5, n_probe=5)
    grid = GridSearchCV(
        pipe,
        {
            "detector": [
                ScaledManhattan(),
                MahalanobisNearestNeighbor(),
                OneClassSVMDetector(),
            ]
        },
        scoring=scorer,
        cv=GroupKFold(3),
        error_score="raise",
    ).fit(X, y, groups=y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all((-1 <= scores) & (scores <= 0))
