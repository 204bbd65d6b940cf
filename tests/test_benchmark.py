"""Tests of :mod:`skeer.evaluation`: the loss ablation as a library function."""

import json
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from skeer import KeystrokeFeatures, KeystrokeVerifier
from skeer.datasets import make_keystrokes
from skeer.evaluation import (
    QUICK_PROFILE,
    LossComparison,
    compare_losses,
    evaluate_verification,
    train_test_split_subjects,
)
from skeer.registry import get_loss


@pytest.fixture(scope="module")
def data():
    X, y = make_keystrokes(n_subjects=9, n_sessions=12, random_state=0)
    return KeystrokeFeatures(max_len=12).fit_transform(X, y), y


@pytest.fixture(scope="module")
def net():
    return KeystrokeVerifier(
        max_epochs=2, n_subjects_per_batch=3, n_samples_per_subject=4, patience=None
    )


PROTOCOL = {"n_enroll": 3, "n_probe": 3}


def _run(label, seed, eer, curve, seconds=1.0):
    return {
        "seed": seed,
        "metrics": {"eer": eer, "mean_subject_eer": eer, "fnmr_at_fmr_0.01": 0.5},
        "valid_eer": curve,
        "seconds_per_epoch": seconds,
    }


def test_compare_losses_equals_a_hand_written_run(data, net):
    """Each run is the template with its loss, operating point and seed, fitted
    on the seed's subject-disjoint split and judged on the held-out subjects."""
    X, y = data
    result = compare_losses(
        X,
        y,
        losses=["eer-area"],
        operating_points=["eer", 0.05],
        estimator=net,
        n_seeds=2,
        random_state=3,
        **PROTOCOL,
    )
    assert list(result.runs) == ["eer-area", "eer-area@0.05"]
    run = result.runs["eer-area@0.05"][1]
    assert run["seed"] == 4 and run["operating_point"] == 0.05 and run["epochs"] == 2
    cls, kwargs = get_loss("eer-area")
    expected = clone(net).set_params(
        criterion=cls,
        operating_point=0.05,
        random_state=4,
        **{f"criterion__{k}": v for k, v in kwargs.items()},
    )
    X_tr, X_te, y_tr, y_te = train_test_split_subjects(
        X, y, test_size=1 / 3, random_state=4
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected.fit(X_tr, y_tr)
    assert run["metrics"] == evaluate_verification(expected, X_te, y_te, **PROTOCOL)
    assert run["valid_eer"] == [h.get("valid_eer") for h in expected.history]
    assert run["train_loss"] == [h["train_loss"] for h in expected.history]


def test_compare_losses_featurises_raw_sessions_once(data, net):
    X_raw, y = make_keystrokes(n_subjects=9, n_sessions=12, random_state=0)
    kw = {"losses": ["triplet"], "estimator": net, "n_seeds": 1, **PROTOCOL}
    from_raw = compare_losses(X_raw, y, features=KeystrokeFeatures(max_len=12), **kw)
    from_features = compare_losses(*data, **kw)
    assert (
        from_raw.runs["triplet"][0]["metrics"]
        == from_features.runs["triplet"][0]["metrics"]
    )


def test_compare_losses_replaces_the_templates_criterion(data, net):
    # criterion__variant suits EERLoss only; a triplet run must not receive it
    template = clone(net).set_params(criterion__variant="direct")
    result = compare_losses(
        *data, losses=["triplet"], estimator=template, n_seeds=1, **PROTOCOL
    )
    assert result.runs["triplet"][0]["epochs"] == 2


def test_compare_losses_runs_a_proxy_loss(data, net):
    """ArcFace's proxies are sized for each run's training subjects."""
    pytest.importorskip("pytorch_metric_learning")
    result = compare_losses(
        *data, losses=["arcface"], estimator=net, n_seeds=1, **PROTOCOL
    )
    (run,) = result.runs["arcface"]
    assert run["epochs"] == 2 and 0 <= run["metrics"]["eer"] <= 1


def test_compare_losses_skips_an_unavailable_loss(data, net, monkeypatch):
    monkeypatch.setitem(sys.modules, "pytorch_metric_learning", None)
    with pytest.warns(UserWarning, match="skipping loss contrastive"):
        result = compare_losses(
            *data,
            losses=["eer", "contrastive"],
            estimator=clone(net).set_params(max_epochs=1),
            n_seeds=1,
            **PROTOCOL,
        )
    assert list(result.runs) == ["eer"] and list(result.skipped) == ["contrastive"]
    # no triplet run: nothing to race to
    assert result.summary["eer"]["epochs_to_baseline_best"]["n"] == 0
    assert "n/a (no triplet run)" in result.to_markdown()
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="available"):
        compare_losses(*data, losses=["contrastive"], estimator=net, n_seeds=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"losses": ["focal"]}, "unknown loss 'focal'"),
        ({"losses": [("x", "focal", {})]}, "unknown loss 'focal'"),
        ({"losses": [("x", "eer")]}, r"a \(label, loss name, estimator"),
        ({"losses": [("x", "eer", {"random_state": 1})]}, "sets \\['random_state'\\]"),
        ({"losses": []}, "none given"),
        (
            {"losses": [("x", "eer", {"criterion__operating_point": 0.1})]},
            "criterion__operating_point",
        ),
        ({"losses": [("x", "eer", {"max_epoch": 3})]}, r"\['max_epoch'\], not param"),
        (
            {"losses": ["triplet", ("triplet", "eer", {})]},
            "label 'triplet' names two different runs",
        ),
        (
            {
                "losses": ["eer", ("eer@0.01", "triplet", {})],
                "operating_points": ("eer", 0.01),
            },
            "label 'eer@0.01' names two different runs",
        ),
        ({"n_jobs": 0}, "n_jobs must be None or a non-zero integer"),
        ({"n_jobs": True}, "n_jobs"),
        ({"n_jobs": 1.5}, "n_jobs"),
        ({"n_seeds": 0}, "n_seeds"),
        ({"random_state": None}, "random_state"),
    ],
)
def test_compare_losses_checks_its_arguments(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_losses(*data, **kwargs)


def test_loss_comparison_summary_and_race_to_the_baseline():
    result = LossComparison(
        {
            "eer": [
                _run("eer", 0, 0.10, [0.4, 0.2, 0.1]),
                _run("eer", 1, 0.20, [0.5, 0.5, 0.5]),
            ],
            "triplet": [
                _run("triplet", 0, 0.30, [0.4, 0.3, None]),
                _run("triplet", 1, 0.40, [0.45, 0.4, 0.4]),
            ],
        },
        params={"model": "TypeNet", "max_epochs": 3, "batch": [4, 4], "n_seeds": 2},
    )
    eer = result.summary["eer"]
    assert eer["global_eer"]["mean"] == pytest.approx(0.15)
    assert eer["global_eer"]["sd"] == pytest.approx(np.std([0.1, 0.2], ddof=1))
    # seed 0 reaches triplet's best (0.3) at epoch 2; seed 1 never reaches 0.4
    assert [r["epochs_to_baseline_best"] for r in result.runs["eer"]] == [2, None]
    assert eer["epochs_to_baseline_best"] == {"mean": 2.0, "sd": 0.0, "n": 1}
    assert [r["epochs_to_baseline_best"] for r in result.runs["triplet"]] == [2, 2]
    md = result.to_markdown(data_description="toy data")
    assert md.startswith(
        "Loss ablation: TypeNet on toy data, 3 epochs unless a variant sets them, "
        "batches 4 x 4"
    )
    assert "| eer | 15.00 ± 7.07 % |" in md and "(1/2 seeds reached)" in md
    assert result.curves()["triplet"][0] == [0.4, 0.3, None]
    assert json.loads(json.dumps(result.to_dict()))["summary"] == result.summary


def test_loss_comparison_without_baseline():
    result = LossComparison({"eer": [_run("eer", 0, 0.1, [None])]}, baseline=None)
    assert result.runs["eer"][0]["epochs_to_baseline_best"] is None
    assert "epochs to" not in result.to_markdown()
    # a reference run without validation EER (validation_size=0) races nobody
    result = LossComparison(
        {"eer": [_run("eer", 0, 0.1, [0.2])], "triplet": [_run("t", 0, 0.2, [None])]}
    )
    assert result.runs["eer"][0]["epochs_to_baseline_best"] is None
    assert "not reached" in result.to_markdown()


def test_quick_profile_names_library_parameters():
    """Every key of the quick profile is a parameter it sets, read-only."""
    import inspect

    from skeer.datasets import load_dataset

    verifier = set(KeystrokeVerifier().get_params())
    data = set(inspect.signature(load_dataset).parameters)
    assert set(QUICK_PROFILE) <= verifier | data
    KeystrokeVerifier(**{k: v for k, v in QUICK_PROFILE.items() if k in verifier})
    with pytest.raises(TypeError):
        QUICK_PROFILE["max_epochs"] = 1


def test_compare_losses_gives_paired_differences_from_the_baseline(data, net):
    result = compare_losses(
        *data, losses=["eer", "triplet"], estimator=net, n_seeds=2, **PROTOCOL
    )
    runs = result.runs["eer"]
    assert all("vs_baseline" in r for r in runs)
    assert "vs_baseline" not in result.runs["triplet"][0]
    for run, base in zip(runs, result.runs["triplet"]):
        diff = run["vs_baseline"]
        lo, hi = diff["ci"]
        assert lo <= diff["difference"] <= hi
        assert diff["difference"] == pytest.approx(
            run["metrics"]["eer"] - base["metrics"]["eer"]
        )
    pooled = result.summary["eer"]["eer_difference"]
    assert pooled["n"] == 2 and pooled["ci"][0] <= pooled["mean"] <= pooled["ci"][1]
    assert result.summary["triplet"]["eer_difference"] is None
    assert "Δ EER vs triplet" in result.to_markdown()


def test_compare_losses_on_a_locked_split(data, net):
    """``test_subjects`` fixes the split: every seed tests the same subjects,
    trains on all the others, and the paired bootstraps use the same draws."""
    X, y = data
    test = np.unique(y)[:4]
    result = compare_losses(
        X,
        y,
        losses=["eer", "triplet"],
        estimator=net,
        n_seeds=2,
        test_subjects=test,
        **PROTOCOL,
    )
    assert result.params["test_subjects"] == 4
    for seed, run in zip((0, 1), result.runs["eer"]):
        expected = clone(net).set_params(
            criterion=get_loss("eer")[0], operating_point="eer", random_state=seed
        )
        train = ~np.isin(y, test)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            expected.fit(X[train], y[train])
        report = evaluate_verification(expected, X[~train], y[~train], **PROTOCOL)
        assert run["metrics"] == report
    # the same subjects drawn in replicate i of both seeds (same bootstrap seed)
    a, b = (r["vs_baseline"] for r in result.runs["eer"])
    assert a["n_subjects"] == b["n_subjects"] == 4


def test_compare_losses_in_parallel_gives_the_same_runs(data, net):
    kw = {"losses": ["eer", "triplet"], "estimator": net, "n_seeds": 1, **PROTOCOL}
    serial = compare_losses(*data, **kw)
    parallel = compare_losses(*data, n_jobs=2, **kw)
    for label in serial.runs:
        for a, b in zip(serial.runs[label], parallel.runs[label]):
            assert a["metrics"] == b["metrics"]
            assert a["valid_eer"] == b["valid_eer"]
            assert a["train_loss"] == b["train_loss"]
    assert (
        serial.summary["eer"]["eer_difference"]
        == (parallel.summary["eer"]["eer_difference"])
    )


@pytest.mark.parametrize(
    "test_subjects, match",
    [
        ([], "test_subjects must be a non-empty list"),
        ([0, 999], r"not in y: \[999\]"),
        (list(range(9)), "leaves no subject to train on"),
    ],
)
def test_compare_losses_refuses_a_bad_locked_split(data, net, test_subjects, match):
    with pytest.raises(ValueError, match=match):
        compare_losses(
            *data,
            losses=["triplet"],
            estimator=net,
            n_seeds=1,
            test_subjects=test_subjects,
            **PROTOCOL,
        )


def test_compare_losses_runs_variants_of_a_loss(data, net):
    """A ``(label, loss, params)`` variant is that loss with ``params`` set."""
    X, y = data
    result = compare_losses(
        X,
        y,
        losses=[
            "triplet",
            ("triplet, 1 epoch", "triplet", {"max_epochs": 1}),
            ("eer K=5", "eer", {"criterion__sharpness": 5.0}),
        ],
        estimator=net,
        n_seeds=1,
        **PROTOCOL,
    )
    assert list(result.runs) == ["triplet", "triplet, 1 epoch", "eer K=5"]
    short = result.runs["triplet, 1 epoch"][0]
    assert short["epochs"] == 1 and short["params"] == {"max_epochs": 1}
    assert short["loss"] == "triplet" and "vs_baseline" in short
    assert result.runs["triplet"][0]["epochs"] == 2
    run = result.runs["eer K=5"][0]
    expected = clone(net).set_params(
        criterion=get_loss("eer")[0],
        operating_point="eer",
        random_state=0,
        criterion__sharpness=5.0,
    )
    X_tr, X_te, y_tr, y_te = train_test_split_subjects(
        X, y, test_size=1 / 3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected.fit(X_tr, y_tr)
    assert run["metrics"] == evaluate_verification(expected, X_te, y_te, **PROTOCOL)


def test_markdown_caption_names_the_auto_budget_in_steps():
    from skeer.evaluation import LossComparison
    from skeer.verifier import AUTO_TRAINING_STEPS

    result = LossComparison(
        {
            "eer": [
                {
                    "seed": 0,
                    "metrics": {"eer": 0.1},
                    "valid_eer": [0.2],
                    "seconds_per_epoch": 1.0,
                }
            ]
        },
        baseline=None,
        params={"model": "TypeNet", "max_epochs": "auto", "n_seeds": 1},
    )
    caption = result.to_markdown().splitlines()[0]
    assert (
        f"max_epochs='auto' ({AUTO_TRAINING_STEPS:,} training steps; fixed text "
        "at most 90 epochs)" in caption
    )
