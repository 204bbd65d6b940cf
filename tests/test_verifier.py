import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from skorch.callbacks import EpochScoring

from skeer import (
    EERLoss,
    KeystrokeFeatures,
    KeystrokeVerifier,
    MLPEmbedder,
    TypeNet,
    eer_scorer,
    equal_error_rate,
    make_verification_scorer,
)
from skeer.datasets import make_keystrokes

FAST = dict(
    max_epochs=3,
    n_identities_per_batch=6,
    n_samples_per_identity=4,
    random_state=0,
)


@pytest.fixture(scope="module")
def sequences():
    X, y = make_keystrokes(n_subjects=12, n_sessions=8, random_state=0)
    return KeystrokeFeatures(max_len=30).fit_transform(X), y


def test_fit_fixed_text_defaults_to_mlp(fixed_text_data):
    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST).fit(X, y)
    assert isinstance(clf.module_, MLPEmbedder)
    assert isinstance(clf.criterion_, EERLoss)
    assert clf.n_features_in_ == 6
    np.testing.assert_array_equal(clf.classes_, np.arange(8))
    assert clf.templates_.shape == (8, 128)
    np.testing.assert_allclose(np.linalg.norm(clf.templates_, axis=1), 1, atol=1e-5)
    assert np.isfinite(clf.threshold_)
    assert len(clf.history) == 3
    assert all(np.isfinite(clf.history[:, "valid_eer"]))
    assert all(np.isfinite(clf.history[:, "train_loss"]))
    scores = clf.decision_function(X)
    assert scores.shape == (96, 8)
    assert clf.predict(X).shape == (96,)
    emb = clf.transform(X)
    np.testing.assert_allclose(emb @ clf.templates_.T, scores, atol=1e-6)


def test_fit_sequences_defaults_to_typenet(sequences):
    X, y = sequences
    clf = KeystrokeVerifier(**FAST).fit(X, y)
    assert isinstance(clf.module_, TypeNet)
    assert clf.transform(X).shape == (len(X), 128)
    assert -1 <= clf.score(X, y) <= 0


def test_training_lowers_the_error(fixed_text_data):
    X, y = fixed_text_data
    untrained = KeystrokeVerifier(max_epochs=0, validation_size=0, random_state=0)
    trained = KeystrokeVerifier(
        max_epochs=15, validation_size=0, n_identities_per_batch=8, random_state=0
    )
    assert trained.fit(X, y).score(X, y) > untrained.fit(X, y).score(X, y)
    assert trained.score(X, y) > -0.05


def test_random_state_makes_training_bit_for_bit_repeatable(sequences):
    X, y = sequences
    a = KeystrokeVerifier(**FAST).fit(X, y)
    b = KeystrokeVerifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert a.threshold_ == b.threshold_
    c = KeystrokeVerifier(**{**FAST, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.decision_function(X), c.decision_function(X))


def test_global_torch_rng_is_left_alone(fixed_text_data):
    X, y = fixed_text_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    KeystrokeVerifier(**FAST).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_scores_rank_pairs_exactly_as_the_loss_distances(fixed_text_data):
    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST).fit(X, y)
    emb = clf.transform(X)
    # one identity per sample: its template is its own embedding
    clf.enroll(X, np.arange(len(X)) + 100)
    scores = clf.decision_function(X)[:, -len(X) :]
    dist = torch.cdist(torch.from_numpy(emb), torch.from_numpy(emb)).numpy()
    np.testing.assert_allclose(scores, 1 - dist**2 / 2, atol=1e-5)
    iu = np.triu_indices(len(X), 1)
    assert (np.diff(scores[iu][np.argsort(dist[iu], kind="stable")]) <= 1e-6).all()


def test_enroll_adds_and_replaces_without_dropping(fixed_text_data):
    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST).fit(X, y)
    before = clf.templates_.copy()
    clf.enroll(X[:12] * 2 + 1, np.full(12, 42))
    assert clf.classes_.tolist() == [*range(8), 42]
    np.testing.assert_array_equal(clf.templates_[:8], before)
    clf.enroll(X[12:24], np.full(12, 0))  # replace identity 0
    assert len(clf.classes_) == 9
    assert not np.allclose(clf.templates_[0], before[0])
    np.testing.assert_array_equal(clf.templates_[1:8], before[1:8])
    assert clf.verify(X[12:24], 0).mean() >= 0.5


def test_verify_at_threshold(fixed_text_data):
    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST).fit(X, y)
    accepted = clf.verify(X, y)
    scores = clf.decision_function(X)[np.arange(len(X)), y]
    np.testing.assert_array_equal(accepted, scores >= clf.threshold_)
    with pytest.raises(ValueError, match="not enrolled"):
        clf.verify(X[:2], [0, 99])
    with pytest.raises(ValueError, match="claimed"):
        clf.verify(X[:2], [0, 1, 2])


def test_operating_point_reaches_criterion_and_threshold(fixed_text_data):
    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST).set_params(operating_point=0.05).fit(X, y)
    assert clf.criterion_.operating_point == 0.05
    assert KeystrokeVerifier(**FAST).fit(X, y).criterion_.operating_point == "eer"
    explicit = KeystrokeVerifier(**FAST, criterion__operating_point=0.2).fit(X, y)
    assert explicit.criterion_.operating_point == 0.2
    for bad in ["far", 0.0, 1.0, -0.1, True]:
        with pytest.raises(ValueError, match="operating_point"):
            KeystrokeVerifier(operating_point=bad).fit(X, y)


@pytest.mark.parametrize("fmr", [0.001, 0.01, 0.1, 0.3])
def test_threshold_at_fmr_is_the_lowest_that_meets_the_target(fmr):
    from skeer.verifier import _threshold_at

    rng = np.random.default_rng(0)
    y_bin = np.r_[np.ones(200), np.zeros(2000)].astype(int)
    scores = np.r_[rng.normal(1, 1, 200), rng.normal(0, 1, 2000)].round(2)  # ties
    t = _threshold_at(y_bin, scores, fmr)
    impostor = scores[y_bin == 0]
    assert np.mean(impostor >= t) <= fmr
    # any lower threshold admitting one more distinct score overshoots
    below = impostor[impostor < t].max()
    assert np.mean(impostor >= below) > fmr


def test_threshold_at_eer_balances_the_error_rates():
    from skeer.verifier import _threshold_at

    rng = np.random.default_rng(1)
    y_bin = np.r_[np.ones(500), np.zeros(5000)].astype(int)
    scores = np.r_[rng.normal(2, 1, 500), rng.normal(0, 1, 5000)]
    t = _threshold_at(y_bin, scores, "eer")
    fnmr = np.mean(scores[y_bin == 1] < t)
    fmr = np.mean(scores[y_bin == 0] >= t)
    assert abs(fnmr - fmr) < 0.01
    assert abs(fnmr - equal_error_rate(y_bin, scores)) < 0.01


def test_baseline_criterion_can_replace_eerloss(fixed_text_data):
    from skeer.losses import Set2SetLoss

    X, y = fixed_text_data
    clf = KeystrokeVerifier(criterion=Set2SetLoss, **FAST).fit(X, y)
    assert isinstance(clf.criterion_, Set2SetLoss)
    assert np.isfinite(clf.history[-1, "train_loss"])


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.ones((10, 3), np.float32), np.zeros(10), "1 class"),
        (np.ones((10, 3), np.float32), np.arange(9) % 2, "inconsistent lengths"),
        (np.full((10, 3), np.nan, np.float32), np.arange(10) % 2, "NaN"),
        (np.ones(10, np.float32), np.arange(10) % 2, "2-D"),
        ([np.ones((3, 3)), np.ones((5, 3))], [0, 1], "KeystrokeFeatures"),
    ],
)
def test_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        KeystrokeVerifier(**FAST).fit(X, y)


def test_feature_mismatch_after_fit(fixed_text_data):
    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="expecting 6 features"):
        clf.transform(X[:, :4])


def test_unfitted_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    X = np.ones((4, 3), np.float32)
    for method in ("transform", "decision_function", "predict"):
        with pytest.raises(NotFittedError):
            getattr(KeystrokeVerifier(), method)(X)


def test_clone_pickle_and_save_load_round_trips(fixed_text_data, tmp_path):
    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST, operating_point=0.1, module__dropout=0.2).fit(X, y)
    params = clone(clf).get_params()
    assert params["operating_point"] == 0.1
    assert params["module__dropout"] == 0.2
    expected = clf.decision_function(X)

    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(X), expected)

    path = clf.save(tmp_path / "model.skeer")
    loaded = KeystrokeVerifier.load(path)
    np.testing.assert_array_equal(loaded.decision_function(X), expected)
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.threshold_ == clf.threshold_
    assert loaded.operating_point == 0.1
    np.testing.assert_array_equal(loaded.verify(X, y), clf.verify(X, y))


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a skeer model"):
        KeystrokeVerifier.load(path)


def test_string_identities(fixed_text_data, tmp_path):
    X, y = fixed_text_data
    names = np.array([f"user{i:02d}" for i in y])
    clf = KeystrokeVerifier(**FAST).fit(X, names)
    assert clf.classes_[0] == "user00"
    assert clf.predict(X[:1]).dtype.kind == "U"
    loaded = KeystrokeVerifier.load(clf.save(tmp_path / "m.skeer"))
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)


def test_amp_on_cpu_trains_in_bfloat16(fixed_text_data):
    X, y = fixed_text_data
    clf = KeystrokeVerifier(amp=True, **FAST).fit(X, y)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert clf.transform(X).dtype == np.float32


def test_epoch_scoring_with_open_set_scorer(fixed_text_data):
    X, y = fixed_text_data
    scoring = EpochScoring(
        make_verification_scorer("eer", n_enroll=3),
        name="valid_open_set",
        lower_is_better=False,
        use_caching=False,
    )
    clf = KeystrokeVerifier(callbacks=[scoring], **FAST).fit(X, y)
    values = clf.history[:, "valid_open_set"]
    assert len(values) == 3 and all(-1 <= v <= 0 for v in values)


def test_grid_search_operating_point_in_pipeline_with_eer_scorer():
    # the DESIGN.md example: closed-set folds, the operating point searched
    X, y = make_keystrokes(n_subjects=10, n_sessions=9, random_state=0)
    pipe = make_pipeline(
        KeystrokeFeatures(max_len=30),
        KeystrokeVerifier(
            max_epochs=2,
            n_identities_per_batch=5,
            n_samples_per_identity=3,
            random_state=0,
        ),
    )
    search = GridSearchCV(
        pipe,
        {"keystrokeverifier__operating_point": ["eer", 0.05]},
        cv=StratifiedKFold(3),
        scoring=eer_scorer,
    )
    search.fit(X, y)
    assert search.best_params_["keystrokeverifier__operating_point"] in ("eer", 0.05)
    assert -1 <= search.best_score_ <= 0
    scores = search.decision_function(X)
    assert scores.shape == (len(X), 10)
    assert eer_scorer(search.best_estimator_, X, y) == pytest.approx(
        -equal_error_rate(y, scores)
    )


def test_cross_validate_open_set_with_group_kfold():
    X, y = make_keystrokes(n_subjects=12, n_sessions=8, random_state=1)
    pipe = make_pipeline(
        KeystrokeFeatures(max_len=30), KeystrokeVerifier(**FAST, validation_size=0)
    )
    result = cross_validate(
        pipe,
        X,
        y,
        groups=y,
        cv=GroupKFold(3),
        scoring={
            "eer": make_verification_scorer("eer", n_enroll=3),
            "fnmr": make_verification_scorer("fnmr_at_fmr", fmr=0.1, n_enroll=3),
        },
    )
    assert result["test_eer"].shape == (3,)
    assert ((result["test_eer"] <= 0) & (result["test_eer"] >= -1)).all()
    assert ((result["test_fnmr"] <= 0) & (result["test_fnmr"] >= -1)).all()


def test_scores_are_computed_in_bounded_blocks(fixed_text_data, monkeypatch):
    import skeer.verifier as verifier_module

    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST).fit(X, y)
    full = clf.transform(X) @ clf.templates_.T
    monkeypatch.setattr(verifier_module, "_SCORE_BLOCK", 20)  # 2 rows a block
    assert len(list(clf._score_blocks(len(X)))) == 48
    np.testing.assert_allclose(clf.decision_function(X), full, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[full.argmax(1)])
