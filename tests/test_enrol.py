"""The one template geometry: enrolment, scoring and thresholds agree everywhere."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skeer
from skeer import KeystrokeVerifier
from skeer.evaluation import evaluate_fixed_text, evaluate_verification
from skeer.metrics import equal_error_rate, fnmr_at_fmr
from skeer.templates import GEOMETRIES, make_templates, threshold_at


@pytest.mark.parametrize("fmr", [0.001, 0.01, 0.1, 0.3])
def test_threshold_at_fmr_is_the_lowest_that_meets_the_target(fmr):
    rng = np.random.default_rng(0)
    y_bin = np.r_[np.ones(200), np.zeros(2000)].astype(int)
    scores = np.r_[rng.normal(1, 1, 200), rng.normal(0, 1, 2000)].round(2)  # ties
    t = threshold_at(y_bin, scores, fmr)
    impostor = scores[y_bin == 0]
    assert np.mean(impostor >= t) <= fmr
    # any lower threshold admitting one more distinct score overshoots
    below = impostor[impostor < t].max()
    assert np.mean(impostor >= below) > fmr
    # the metric counts the allowed false matches the same way
    assert np.mean(scores[y_bin == 1] < t) == fnmr_at_fmr(y_bin, scores, fmr=fmr)


def test_threshold_at_counts_allowed_false_matches_like_the_metrics():
    # 0.58 * 100 = 57.99999999999999 in floating point: floor() allowed 57
    rng = np.random.default_rng(3)
    y_bin = np.r_[np.ones(100), np.zeros(100)].astype(int)
    scores = rng.permutation(200).astype(float)
    t = threshold_at(y_bin, scores, 0.58)
    fmr = np.mean(scores[y_bin == 0] >= t)
    fnmr = np.mean(scores[y_bin == 1] < t)
    assert fmr == 0.58
    assert fnmr == fnmr_at_fmr(y_bin, scores, fmr=0.58)


def test_threshold_at_eer_balances_the_error_rates():
    rng = np.random.default_rng(1)
    y_bin = np.r_[np.ones(500), np.zeros(5000)].astype(int)
    scores = np.r_[rng.normal(2, 1, 500), rng.normal(0, 1, 5000)]
    t = threshold_at(y_bin, scores, "eer")
    fnmr = np.mean(scores[y_bin == 1] < t)
    fmr = np.mean(scores[y_bin == 0] >= t)
    assert abs(fnmr - fmr) < 0.01
    assert abs(fnmr - equal_error_rate(y_bin, scores)) < 0.01


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_geometries_match_their_definitions(geometry):
    rng = np.random.default_rng(0)
    F = rng.normal(size=(30, 4))
    codes = np.repeat(np.arange(3), 10)
    t = make_templates(F, codes, 3, geometry)
    probe = rng.normal(size=(5, 4))
    S = t.matrix(probe)
    for a in range(3):
        own = F[codes == a]
        if geometry == "cosine":
            unit = own / np.linalg.norm(own, axis=1, keepdims=True)
            c = unit.mean(axis=0)
            c /= np.linalg.norm(c)
            ref = probe / np.linalg.norm(probe, axis=1, keepdims=True) @ c
        else:
            mu = own.mean(axis=0)
            if geometry == "scaled_manhattan":
                mad = np.abs(own - mu).mean(axis=0)
                ref = -(np.abs(probe - mu) / mad).sum(axis=1)
            elif geometry == "manhattan":
                ref = -np.abs(probe - mu).sum(axis=1)
            else:
                ref = -((probe - mu) ** 2).sum(axis=1)
        np.testing.assert_allclose(S[:, a], ref, rtol=1e-12)
    cols = np.array([2, 0, 1, 1, 0])
    np.testing.assert_allclose(t.claims(probe, cols), S[np.arange(5), cols], rtol=1e-12)


def test_float32_features_give_float32_templates_and_scores():
    F = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    t = make_templates(F, np.repeat([0, 1], 4), 2)
    assert t.center.dtype == np.float32
    assert t.matrix(F).dtype == np.float32


def test_merge_replaces_and_keeps():
    F = np.eye(3)
    old = make_templates(F, np.arange(3), 3, "scaled_manhattan")
    new = make_templates(F[:1] * 2, np.array([0]), 1, "scaled_manhattan")
    classes, merged = old.merge(np.array([1, 2, 3]), np.array([3]), new)
    assert classes.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(merged.center[2], new.center[0])
    np.testing.assert_array_equal(merged.center[:2], old.center[:2])
    with pytest.raises(ValueError, match="different kinds"):
        old.merge(np.array([1]), np.array(["a"]), new)


# -- the verifier is selected, calibrated and judged in one geometry

FAST = dict(
    max_epochs=3,
    n_subjects_per_batch=6,
    n_samples_per_subject=4,
    module__hidden_sizes=(32,),
    module__embedding_dim=16,
    patience=None,
    validation_size=0.4,
    random_state=0,
)


def _data(n_ids=15, per_id=12, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_ids), per_id)
    X = rng.normal(size=(n_ids, dim))[y] + 0.8 * rng.normal(size=(len(y), dim))
    return X.astype(np.float32), y


@pytest.mark.parametrize("template", ["cosine", "scaled_manhattan"])
def test_valid_eer_is_the_protocol_on_the_held_out_subjects(template):
    X, y = _data()
    clf = KeystrokeVerifier(geometry=template, n_enroll=4, **FAST).fit(X, y)
    _, valid = clf.get_split_datasets(X, np.unique(y, return_inverse=True)[1])
    held = np.isin(y, clf.classes_[np.unique(valid.y)])
    report = evaluate_verification(
        clf, X[held], y[held], n_enroll=4, n_probe=None, fmr_levels=()
    )
    assert clf.history[-1, "valid_eer"] == report["eer"]


@pytest.mark.parametrize("operating_point", [0.05, 0.2, "eer"])
def test_threshold_sits_at_the_operating_point_of_its_calibration(operating_point):
    X, y = _data()
    clf = KeystrokeVerifier(operating_point=operating_point, **FAST).fit(X, y)
    _, valid = clf.get_split_datasets(X, np.unique(y, return_inverse=True)[1])
    held = np.isin(y, clf.classes_[np.unique(valid.y)])
    _, y_bin, scores = evaluate_verification(
        clf, X[held], y[held], n_enroll=5, n_probe=None, return_scores=True
    )
    accept = scores >= clf.threshold_
    if operating_point == "eer":
        assert (
            abs(np.mean(~accept[y_bin == 1]) - equal_error_rate(y_bin, scores))
            <= 1 / y_bin.sum() + 1e-9
        )
        return
    assert np.mean(accept[y_bin == 0]) <= operating_point
    assert np.mean(~accept[y_bin == 1]) == pytest.approx(
        fnmr_at_fmr(y_bin, scores, fmr=operating_point)
    )


def test_protocols_judge_the_estimators_own_geometry():
    X, y = _data(n_ids=10, per_id=30)
    clf = KeystrokeVerifier(geometry="scaled_manhattan", **FAST).fit(X, y)
    X_test, y_test = _data(n_ids=6, per_id=30, seed=1)
    pipe = make_pipeline(StandardScaler().fit(X_test), clf)
    report, y_bin, scores = evaluate_fixed_text(
        pipe, X_test, y_test, n_train=20, return_scores=True
    )
    # by hand: enrol through the verifier's own enroll, score with claim_scores
    Xt = pipe[0].transform(X_test)
    first = np.concatenate([np.flatnonzero(y_test == s)[:20] for s in range(6)])
    clf_copy = skeer.load(skeer.save(clf, _tmp("m.skeer")))
    clf_copy.enroll(Xt[first], y_test[first], reset=True)
    own = np.flatnonzero(y_test == 0)[20:]
    np.testing.assert_allclose(
        scores[: len(own)], clf_copy.claim_scores(Xt[own], 0), rtol=1e-6
    )
    # the fitted estimator itself is not changed by being judged
    assert clf.classes_.tolist() == list(range(10))


def _tmp(name):
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp()) / name


def test_template_input_joins_the_standardised_input_everywhere():
    X, y = _data(n_ids=10, per_id=30)
    clf = KeystrokeVerifier(
        geometry="scaled_manhattan", template_input=True, n_enroll=4, **FAST
    ).fit(X, y)
    F = clf._template_features(X[:3])
    emb = clf.transform(X[:3])
    np.testing.assert_allclose(F[:, : emb.shape[1]], emb)
    np.testing.assert_allclose(
        F[:, emb.shape[1] :], (X[:3] - X.mean(0)) / X.std(0), rtol=1e-5, atol=1e-6
    )
    assert clf.templates_.shape == (10, emb.shape[1] + X.shape[1])
    # valid_eer is still the protocol in this geometry
    _, valid = clf.get_split_datasets(X, np.unique(y, return_inverse=True)[1])
    held = np.isin(y, clf.classes_[np.unique(valid.y)])
    report = evaluate_verification(
        clf, X[held], y[held], n_enroll=4, n_probe=None, fmr_levels=()
    )
    assert clf.history[-1, "valid_eer"] == report["eer"]
    with pytest.raises(ValueError, match="2-D fixed-text"):
        KeystrokeVerifier(template_input=True, **FAST).fit(X[:, None, :], y)


def test_negative_and_huge_integer_ids_are_never_wrapped_onto_each_other():
    # Mallory enrols as 2**64 - 2, which uint64 shares with Alice's -2
    X, y = _data()
    clf = KeystrokeVerifier(**FAST).fit(X, y - 2)  # ids -2, -1, 0, ...
    alice = clf.classes_[0]
    assert alice == -2
    before = clf.templates_.copy()
    with pytest.raises(ValueError, match="no integer dtype holds both"):
        clf.enroll(X[:5], np.full(5, 2**64 - 2, np.uint64))
    np.testing.assert_array_equal(clf.templates_, before)
    with pytest.raises(ValueError, match="no integer dtype holds both|not enrolled"):
        clf.verify(X[:1], np.array([2**64 - 2], np.uint64))
    # ids above 2**63 - 1 alone are fine, and stay exact
    big = KeystrokeVerifier(**FAST).fit(X, y.astype(np.uint64) + np.uint64(2**63))
    assert big.classes_.dtype == np.uint64 and int(big.classes_[0]) == 2**63


def test_ids_beyond_uint64_are_a_clear_error_not_a_recursion():
    X, y = _data()
    clf = KeystrokeVerifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="not enrolled|kind|cannot"):
        clf.verify(X[:2], [2**70, 1])


@pytest.mark.parametrize(
    "ids, match",
    [
        ([1, "1", 1, "1", 1], "mix integers, strings"),
        (["a", None, "a", None, "a"], "contains None"),
        ([True, 1, True, 1, 1], "mix booleans, integers"),
        (np.array([2, "2", 2, "2", 2], dtype=object), "mix integers, strings"),
    ],
)
def test_ids_of_several_kinds_are_refused_before_numpy_merges_them(ids, match):
    """np.asarray([1, "1"]) holds "1" twice: two people would become one."""
    from skeer.baselines import ScaledManhattan

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    detector = ScaledManhattan().fit(X, np.repeat(["a", "b", "c", "d"], 5))
    with pytest.raises(ValueError, match=match):
        detector.enroll(X[:5], ids)
    assert detector.classes_.tolist() == ["a", "b", "c", "d"]  # nothing enrolled
    with pytest.raises(ValueError, match=match):
        ScaledManhattan().fit(X[:10], list(ids) * 2)
    with pytest.raises(ValueError, match=match):
        evaluate_fixed_text(ScaledManhattan(), X[:10], list(ids) * 2, n_train=2)


def test_claims_of_several_kinds_are_refused_before_numpy_merges_them():
    """claim_scores(X, [True, 1]) on integer ids scored True as subject 1."""
    from skeer.baselines import ScaledManhattan

    X = np.random.default_rng(0).normal(size=(20, 4))
    det = ScaledManhattan().fit(X, np.repeat([1, 2, 3, 4], 5))
    for claims in ([True, 1], (1, 1.0), np.array([1, True], dtype=object)):
        with pytest.raises(ValueError, match="claimed mix"):
            det.claim_scores(X[:2], claims)
        with pytest.raises(ValueError, match="claimed mix"):
            det.verify(X[:2], claims)
    assert det.claim_scores(X[:2], [1, 2]).shape == (2,)
    with pytest.raises(ValueError, match="claimed holds bytes"):
        ScaledManhattan().fit(X, np.repeat(["a", "b", "c", "d"], 5)).verify(
            X[:2], [b"a", b"a"]
        )
    with pytest.raises(ValueError, match="y holds bytes"):
        ScaledManhattan().fit(X, np.repeat([b"a", b"b", b"c", b"d"], 5))


def test_a_model_with_nobody_enrolled_takes_ids_of_any_kind():
    """After unenroll of every training subject (a pretrained model), new
    people of another id kind enrol; it raised a TypeError."""
    from skeer.baselines import ScaledManhattan

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    det = ScaledManhattan().fit(X, np.repeat([1, 2, 3, 4], 5))
    det.unenroll(det.classes_)
    assert det.classes_.size == 0
    det.enroll(X[:10], ["ann"] * 5 + ["bob"] * 5)
    assert det.classes_.tolist() == ["ann", "bob"]
    assert det.verify(X[:5], ["ann"] * 5).dtype == bool
    with pytest.raises(ValueError, match="integers but the enrolled ones are strings"):
        det.enroll(X[:5], [7] * 5)
