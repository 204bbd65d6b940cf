import pickle
import warnings

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

#: The cosine geometry these tests were written for (2-D input defaults to
#: scaled Manhattan over [embedding, input], tested on its own).
COSINE = {"geometry": "cosine", "template_input": False}
FAST = dict(
    max_epochs=3,
    n_subjects_per_batch=6,
    n_samples_per_subject=4,
    random_state=0,
)


@pytest.fixture(scope="module")
def sequences():
    X, y = make_keystrokes(n_subjects=12, n_sessions=8, random_state=0)
    return KeystrokeFeatures(max_len=30).fit_transform(X), y


def test_fit_fixed_text_defaults_to_mlp(fixed_text_data):
    X, y = fixed_text_data
    defaults = {k: v for k, v in FAST.items() if not k.startswith("geometry")}
    clf = KeystrokeVerifier(**defaults).fit(X, y)
    assert isinstance(clf.module_, MLPEmbedder)
    assert isinstance(clf.criterion_, EERLoss)
    assert clf.n_features_in_ == 6
    np.testing.assert_array_equal(clf.classes_, np.arange(8))
    # fixed text: scaled Manhattan over [embedding, standardised input]
    assert clf.geometry_ == "scaled_manhattan"
    assert clf.templates_.shape == clf.template_scales_.shape == (8, 128 + 6)
    assert np.isfinite(clf.threshold_)
    cos = KeystrokeVerifier(**FAST, **COSINE).fit(X, y)
    assert cos.geometry_ == "cosine" and cos.templates_.shape == (8, 128)
    np.testing.assert_allclose(np.linalg.norm(cos.templates_, axis=1), 1, atol=1e-5)
    assert len(clf.history) == 3
    assert all(np.isfinite(clf.history[:, "valid_eer"]))
    assert all(np.isfinite(clf.history[:, "train_loss"]))
    scores = clf.decision_function(X)
    assert scores.shape == (96, 8)
    assert clf.predict(X).shape == (96,)
    emb = cos.transform(X)
    np.testing.assert_allclose(
        emb @ cos.templates_.T, cos.decision_function(X), atol=1e-6
    )


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
        max_epochs=15, validation_size=0, n_subjects_per_batch=8, random_state=0
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
    clf = KeystrokeVerifier(**FAST, **COSINE).fit(X, y)
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


def test_clone_and_pickle_round_trip(fixed_text_data):
    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST, operating_point=0.1, module__dropout=0.2).fit(X, y)
    params = clone(clf).get_params()
    assert params["operating_point"] == 0.1
    assert params["module__dropout"] == 0.2
    expected = clf.decision_function(X)

    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(X), expected)
    # save / load: tests/test_persistence.py


def test_string_identities(fixed_text_data):
    X, y = fixed_text_data
    names = np.array([f"user{i:02d}" for i in y])
    clf = KeystrokeVerifier(**FAST).fit(X, names)
    assert clf.classes_[0] == "user00"
    assert clf.predict(X[:1]).dtype.kind == "U"


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
            n_subjects_per_batch=5,
            n_samples_per_subject=3,
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
    import skeer.templates._templates as enrol_module

    X, y = fixed_text_data
    clf = KeystrokeVerifier(**FAST, **COSINE).fit(X, y)
    full = clf.transform(X) @ clf.templates_.T
    calls = []
    real = enrol_module.np.matmul

    def counting_matmul(a, b, **kwargs):
        calls.append(len(a))
        return real(a, b, **kwargs)

    monkeypatch.setattr(enrol_module, "_BLOCK", 16)  # 2 rows of 8 templates
    monkeypatch.setattr(enrol_module.np, "matmul", counting_matmul)
    scores = clf.decision_function(X)
    monkeypatch.undo()
    assert max(calls) == 2 and len(calls) == 48
    np.testing.assert_allclose(scores, full, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[full.argmax(1)])


# -- parameters refused at fit, faults reported (hostile inputs)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_enroll": 0}, "n_enroll"),
        ({"n_enroll": -2}, "n_enroll"),
        ({"n_enroll": None}, "n_enroll"),
        ({"n_enroll": True}, "n_enroll"),
        ({"max_epochs": -1}, "max_epochs"),
        ({"max_epochs": 2.5}, "max_epochs"),
        ({"patience": 0}, "patience"),
        ({"batches_per_epoch": 0}, "batches_per_epoch"),
        ({"n_subjects_per_batch": 1.0}, "n_subjects_per_batch"),
        ({"lr": float("inf")}, "lr"),
        ({"lr": -1e-3}, "lr"),
        ({"validation_size": 1.0}, "validation_size"),
        ({"geometry": "mahalanobis"}, "geometry"),
        ({"amp": "yes"}, "amp"),
        ({"device": "cuda:99"}, "device"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters_are_refused_before_training(fixed_text_data, params, match):
    X, y = fixed_text_data
    with pytest.raises(ValueError, match=match):
        KeystrokeVerifier(**{**FAST, **params}).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error(fixed_text_data):
    X, y = fixed_text_data
    with pytest.raises(ValueError, match="CUDA is not available"):
        KeystrokeVerifier(**FAST, device="cuda").fit(X, y)


def test_a_diverging_run_says_so_with_the_epoch(fixed_text_data):
    from skeer.verifier import TrainingDivergedError

    X, y = fixed_text_data
    net = KeystrokeVerifier(**{**FAST, "lr": 1e30}, optimizer=torch.optim.SGD)
    with pytest.raises(TrainingDivergedError, match="Training diverged at epoch 1"):
        net.fit(X, y)


def test_an_interrupted_fit_is_marked_and_still_usable(fixed_text_data):
    from skorch.callbacks import Callback

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    X, y = fixed_text_data
    net = KeystrokeVerifier(**{**FAST, "max_epochs": 5}, callbacks=[Interrupt()])
    with pytest.warns(UserWarning, match="interrupted after 2 epoch"):
        net.fit(X, y)
    assert net.interrupted_ is True and len(net.history) == 2
    assert np.isfinite(net.threshold_)
    assert KeystrokeVerifier(**FAST).fit(X, y).interrupted_ is False


def test_enrolment_never_merges_or_retypes_identities(fixed_text_data):
    X, y = fixed_text_data
    net = KeystrokeVerifier(**FAST).fit(X, y)
    before = net.templates_.copy()
    for bad in ([True] * 4, [7.0] * 4, ["alice"] * 4):
        with pytest.raises(ValueError, match="different kinds"):
            net.enroll(X[:4], bad)
    np.testing.assert_array_equal(net.templates_, before)
    assert net.classes_.dtype.kind == "i"
    with pytest.raises(ValueError, match="claimed identities are strings"):
        net.verify(X[:1], "0")
    with pytest.raises(ValueError, match="got None"):
        net.verify(X[:1], None)
    # a uint64 id beyond 2**53 stays distinct from its float neighbour
    big = np.array([2**53 + 1] * 4, dtype=np.uint64)
    net.enroll(X[:4], big)
    assert 2**53 + 1 in net.classes_.tolist() and net.classes_.dtype.kind in "iu"
    assert net.verify(X[:1], 0).shape == (1,)


def test_unenroll_and_reset(fixed_text_data):
    X, y = fixed_text_data
    net = KeystrokeVerifier(**FAST).fit(X, y)
    net.unenroll([0, 1])
    assert 0 not in net.classes_ and len(net.classes_) == len(np.unique(y)) - 2
    with pytest.raises(ValueError, match="not enrolled"):
        net.unenroll(0)
    net.enroll(X[:4], ["a"] * 4, reset=True)
    assert net.classes_.tolist() == ["a"]


def test_empty_input_is_a_clear_error(fixed_text_data):
    X, y = fixed_text_data
    net = KeystrokeVerifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="0 samples"):
        net.decision_function(X[:0])


def test_sklearn_conventions_feature_names_and_sample_weight(fixed_text_data):
    import pandas as pd
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = fixed_text_data
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    pipe = make_pipeline(StandardScaler(), KeystrokeVerifier(**FAST)).fit(frame, y)
    pipe.set_output(transform="pandas")
    out = pipe.transform(frame)
    assert list(out.columns) == [f"embedding{i}" for i in range(out.shape[1])]
    net = KeystrokeVerifier(**FAST).fit(frame, y)
    assert net.feature_names_in_.tolist() == list(frame.columns)
    with pytest.raises(ValueError, match="sample_weight is not supported"):
        KeystrokeVerifier(**FAST).fit(X, y, sample_weight=np.ones(len(y)))


def test_pytorch_metric_learning_losses_as_class_or_instance(fixed_text_data):
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    X, y = fixed_text_data
    for criterion in (pml.MultiSimilarityLoss, pml.MultiSimilarityLoss()):
        net = KeystrokeVerifier(**{**FAST, "max_epochs": 2}, criterion=criterion)
        net.fit(X, y)
        assert np.isfinite(net.history[-1, "train_loss"])


def test_free_text_defaults_to_the_cosine_geometry(sequences):
    X, y = sequences
    defaults = {k: v for k, v in FAST.items() if not k.startswith("geometry")}
    clf = KeystrokeVerifier(**defaults).fit(X, y)
    assert clf.geometry_ == "cosine" and clf.input_mean_ is None
    np.testing.assert_allclose(np.linalg.norm(clf.templates_, axis=1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="template_input=True needs 2-D"):
        KeystrokeVerifier(**defaults, template_input=True).fit(X, y)


# -- found in review


def test_one_sample_enrolment_borrows_the_enrolled_spread():
    from skeer.baselines import ScaledManhattan

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(20), 20)
    centers = rng.normal(size=(21, 10)) * 0.1
    X = centers[y] + 0.02 * rng.normal(size=(400, 10))
    for est in (
        ScaledManhattan(),
        KeystrokeVerifier(max_epochs=1, validation_size=0, random_state=0),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X.astype(np.float32), y)
        new = centers[20] + 0.02 * rng.normal(size=(1, 10))
        est.enroll(new.astype(np.float32), [99])
        assert not np.allclose(est.template_scales_[-1], 1.0)
        assert est.verify(X.astype(np.float32), 99).mean() < 0.5


def test_unrelated_errors_are_not_called_divergence(fixed_text_data):
    class Bad(torch.nn.Module):
        def __init__(self, n_features=6):
            super().__init__()
            self.lin = torch.nn.Linear(n_features, 4)

        def forward(self, x):
            raise RuntimeError("could not infer the shape")

    X, y = fixed_text_data
    with pytest.raises(RuntimeError, match="could not infer") as info:
        KeystrokeVerifier(module=Bad, **FAST).fit(X, y)
    assert "diverged" not in str(info.value)


def test_skorch_valid_split_works_as_train_split(fixed_text_data):
    from skorch.dataset import ValidSplit

    X, y = fixed_text_data
    net = KeystrokeVerifier(**FAST, train_split=ValidSplit(4)).fit(X, y)
    assert np.isfinite(net.history[-1, "valid_eer"]) and np.isfinite(net.threshold_)


def test_nothing_enrolled_is_a_clear_error(fixed_text_data):
    X, y = fixed_text_data
    net = KeystrokeVerifier(**FAST).fit(X, y)
    net.unenroll(np.unique(y))
    for call in (
        lambda: net.verify(X[:1], 0),
        lambda: net.predict(X[:1]),
        lambda: net.decision_function(X[:1]),
    ):
        with pytest.raises(ValueError, match="No subject is enrolled"):
            call()


def test_explicit_cosine_on_fixed_text_uses_the_embedding_alone(fixed_text_data):
    X, y = fixed_text_data
    defaults = {k: v for k, v in FAST.items() if not k.startswith("geometry")}
    net = KeystrokeVerifier(**defaults, geometry="cosine").fit(X, y)
    assert net.geometry_ == "cosine" and net.input_mean_ is None


def test_repr_lists_the_changed_parameters_like_scikit_learn():
    assert repr(KeystrokeVerifier()) == "KeystrokeVerifier()"
    net = KeystrokeVerifier(operating_point=0.01, module__hidden_sizes=(32,))
    assert repr(net) == (
        "KeystrokeVerifier(module__hidden_sizes=(32,), operating_point=0.01)"
    )
    assert "[uninitialized]" not in repr(net) and "0x" not in net._repr_html_()


def test_progress_is_shown_by_default_and_verbose_0_silences_everything(
    sequences, capsys
):
    """verbose=None: one epoch bar on stderr (after a delay); 0: nothing."""
    from skeer.verifier import EpochProgress

    X, y = sequences
    assert KeystrokeVerifier().verbose is None
    names = dict(KeystrokeVerifier(**FAST).get_default_callbacks())
    assert isinstance(names["epoch_progress"], EpochProgress)
    assert "progress_bar" not in names
    assert "epoch_progress" not in dict(
        KeystrokeVerifier(verbose=0).get_default_callbacks()
    )
    # the default bar waits 3 s: a quick fit prints nothing on either stream
    net = KeystrokeVerifier(**FAST).fit(X, y)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    # drawn at once: epochs, the loss and the held-out EER, on stderr only
    net.set_params(callbacks__epoch_progress__delay=0)
    net.fit(X, y)
    out, err = capsys.readouterr()
    assert out == ""
    assert "KeystrokeVerifier" in err and "3/3" in err and "valid_eer" in err
    # the fitted net (bar closed) pickles, clones and scores as before
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(
        restored.decision_function(X[:4]), net.decision_function(X[:4])
    )
    clone(net)
    KeystrokeVerifier(**FAST, verbose=0).fit(X, y)
    assert capsys.readouterr() == ("", "")


def test_a_warm_start_fit_restarts_its_schedule_as_documented(sequences):
    """Each warm-start fit runs its own warm-up and decay (a warm restart)
    from the weights it has; the history keeps both fits."""
    X, y = sequences
    net = KeystrokeVerifier(**FAST, warm_start=True, verbose=0).fit(X, y)
    first = [row["lr"] for row in net.history]
    trained = {k: v.clone() for k, v in net.module_.state_dict().items()}
    net.fit(X, y)
    assert len(net.history) == 2 * FAST["max_epochs"]
    assert [row["lr"] for row in net.history[FAST["max_epochs"] :]] == first
    # it starts from the weights it has: with no epoch to run, they stay
    net = KeystrokeVerifier(**FAST, warm_start=True, verbose=0).fit(X, y)
    trained = {k: v.clone() for k, v in net.module_.state_dict().items()}
    net.set_params(max_epochs=0).fit(X, y)
    assert all(torch.equal(v, trained[k]) for k, v in net.module_.state_dict().items())
    with pytest.raises(AttributeError, match="warm_start=True"):
        net.partial_fit  # noqa: B018
