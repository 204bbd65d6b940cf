"""Tests of skeer.evaluation: open-set and fixed-text protocols, identity splits."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score, roc_auc_score, roc_curve
from sklearn.metrics import auc as sk_auc
from sklearn.model_selection import cross_validate

from skeer.baselines import Euclidean, Manhattan, ScaledManhattan
from skeer.evaluation import (
    SubjectKFold,
    evaluate_fixed_text,
    evaluate_verification,
    train_test_split_subjects,
)
from skeer.metrics import UnreliableMetricWarning, equal_error_rate, fnmr_at_fmr

KEYS = [
    "eer",
    "mean_subject_eer",
    "std_subject_eer",
    "mean_subject_auc",
    "mean_subject_accuracy",
    "fnmr_at_fmr_0.001",
    "fnmr_at_fmr_0.01",
    "fnmr_at_fmr_0.1",
    "auc",
    "n_subjects",
    "n_genuine",
    "n_impostor",
]


def _embeddings(n_ids=12, per_id=11, dim=6, noise=0.9, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_ids), per_id)
    Z = rng.normal(size=(n_ids, dim))[y] + noise * rng.normal(size=(len(y), dim))
    perm = rng.permutation(len(y))  # identities interleaved, order kept within
    return Z[perm], y[perm]


def _brute_force_scores(Z, y, n_enroll=5, n_probe=5):
    """Reference scores by explicit loops (cosine to the renormalised mean)."""
    unit = [z / np.linalg.norm(z) for z in Z]
    ids = sorted(set(y.tolist()))
    rows = {i: [k for k in range(len(y)) if y[k] == i] for i in ids}
    ids = [i for i in ids if len(rows[i]) > n_enroll]

    def score(k, i):
        template = np.mean([unit[e] for e in rows[i][:n_enroll]], axis=0)
        return unit[k] @ template / np.linalg.norm(template)

    genuine, impostor, per_id = [], [], {}
    for i in ids:
        probes = rows[i][n_enroll:][-n_probe:]
        g = [score(k, i) for k in probes]
        imp = []
        for j in ids:
            if j != i:
                first_probe = rows[j][n_enroll:][-n_probe:][0]
                imp.append(score(first_probe, i))
        genuine += g
        impostor += imp
        per_id[i] = (g, imp)
    return np.array(genuine), np.array(impostor), per_id


@pytest.mark.filterwarnings("ignore::skeer.metrics.UnreliableMetricWarning")
def test_report_matches_brute_force():
    Z, y = _embeddings()
    report, y_bin, scores = evaluate_verification(Z, None, y, return_scores=True)
    assert list(report) == [*KEYS, "ci", "confidence", "n_bootstraps"]
    json.dumps(report)  # plain Python numbers
    assert all(type(report[k]) is float for k in KEYS[:9])
    assert all(type(report[k]) is int for k in KEYS[9:])
    genuine, impostor, per_id = _brute_force_scores(Z, y)
    assert report["n_subjects"] == 12
    assert report["n_genuine"] == len(genuine) == 60
    assert report["n_impostor"] == len(impostor) == 12 * 11
    np.testing.assert_allclose(np.sort(scores[y_bin == 1]), np.sort(genuine))
    np.testing.assert_allclose(np.sort(scores[y_bin == 0]), np.sort(impostor))
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))].astype(int)
    pooled = np.r_[genuine, impostor]
    assert report["eer"] == pytest.approx(equal_error_rate(labels, pooled))
    assert report["auc"] == pytest.approx(roc_auc_score(labels, pooled))
    for level in (0.001, 0.01, 0.1):
        assert report[f"fnmr_at_fmr_{level:g}"] == pytest.approx(
            fnmr_at_fmr(labels, pooled, fmr=level)
        )
    eers = [
        equal_error_rate(np.r_[np.ones(len(g)), np.zeros(len(i))].astype(int), g + i)
        for g, i in per_id.values()
    ]
    assert report["mean_subject_eer"] == pytest.approx(np.mean(eers))
    assert report["std_subject_eer"] == pytest.approx(np.std(eers, ddof=1))
    # the KVC kit's per-subject AUC and accuracy, as its code computes them
    # (compute_auc; compute_acc at compute_eer's threshold, "score > threshold")
    kit_auc, kit_acc = [], []
    for g, i in per_id.values():
        labels_i = np.r_[np.ones(len(g)), np.zeros(len(i))].astype(int)
        scores_i = np.array(g + i)
        fmr, tmr, thresholds = roc_curve(labels_i, scores_i, pos_label=1)
        kit_auc.append(sk_auc(fmr, tmr))
        t = thresholds[np.nanargmin(np.abs((1 - tmr) - fmr))]
        kit_acc.append(accuracy_score(labels_i, np.where(scores_i > t, 1, 0)))
    assert report["mean_subject_auc"] == pytest.approx(np.mean(kit_auc))
    assert report["mean_subject_accuracy"] == pytest.approx(np.mean(kit_acc))
    np.testing.assert_allclose(report.subjects["accuracy"], kit_acc)
    assert 0.5 < np.mean(kit_acc) < 1 and len(set(kit_acc)) > 1
    assert 0 < report["eer"] < 0.5  # the fixture is neither trivial nor random


class CountingTransform:
    """Records every batch it is asked to embed; rows of X are embeddings."""

    def __init__(self):
        self.calls = []

    def transform(self, X):
        self.calls.append([x.copy() for x in X])
        return np.asarray(X) * 3.0  # scaling must not matter (cosine)


def test_transform_called_once_on_needed_samples_only():
    Z, y = _embeddings(per_id=13)  # 3 middle samples per identity unused
    model = CountingTransform()
    report = evaluate_verification(model, list(Z), y)
    assert len(model.calls) == 1 and len(model.calls[0]) == 12 * 10
    assert report == evaluate_verification(Z, None, y)


def test_transform_gets_everything_when_all_needed():
    Z, y = _embeddings(per_id=10)
    model = CountingTransform()
    evaluate_verification(model, Z, y)
    assert len(model.calls) == 1 and len(model.calls[0]) == len(y)


def test_order_within_identity_is_respected():
    Z, y = _embeddings()
    report = evaluate_verification(Z, None, y, return_scores=True)
    # swap an enrolment sample with a probe sample of identity 0
    rows = np.flatnonzero(y == 0)
    Z2 = Z.copy()
    Z2[[rows[0], rows[-1]]] = Z2[[rows[-1], rows[0]]]
    changed = evaluate_verification(Z2, None, y, return_scores=True)
    assert not np.allclose(report[2], changed[2])


def test_short_identities_skipped_with_one_warning_and_few_probes():
    Z, y = _embeddings(n_ids=6, per_id=10)
    keep = np.ones(len(y), dtype=bool)
    for ident, n in ((0, 5), (1, 3), (2, 7)):  # 0, 1 too short; 2 has 2 probes
        keep[np.flatnonzero(y == ident)[n:]] = False
    Z, y = Z[keep], y[keep]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluate_verification(Z, None, y)
    caught = [w for w in caught if w.category is not UnreliableMetricWarning]
    assert len(caught) == 1 and "skipped 2 of 6" in str(caught[0].message)
    assert report["n_subjects"] == 4
    assert report["n_genuine"] == 2 + 3 * 5
    assert report["n_impostor"] == 4 * 3
    genuine, impostor, _ = _brute_force_scores(Z, y)
    assert len(genuine) == 17 and len(impostor) == 12


def test_perfect_separation_and_custom_levels():
    y = np.repeat(np.arange(5), 10)
    Z = np.eye(5)[y] + 0.01 * np.random.default_rng(0).normal(size=(50, 5))
    report = evaluate_verification(Z, None, y, n_enroll=3, n_probe=4, fmr_levels=())
    assert report["eer"] == 0.0 and report["auc"] == 1.0
    assert not any(k.startswith("fnmr") for k in report)
    assert report["n_genuine"] == 20
    report = evaluate_verification(Z, None, y, fmr_levels=[0.05])
    assert "fnmr_at_fmr_0.05" in report


def test_auc_with_tied_scores_matches_sklearn():
    Z, y = _embeddings(n_ids=15, dim=2)
    Z = np.sign(np.round(Z))  # few distinct directions: many tied scores
    Z[np.all(Z == 0, axis=1)] = 1.0
    report, y_bin, scores = evaluate_verification(Z, None, y, return_scores=True)
    assert len(np.unique(scores)) < len(scores) / 3
    assert report["auc"] == pytest.approx(roc_auc_score(y_bin, scores), abs=1e-12)


def test_input_errors():
    Z, y = _embeddings()
    with pytest.raises(ValueError, match="aligned"):
        evaluate_verification(Z, None, y[:-1])
    with pytest.raises(ValueError, match="At least 2 subjects"):
        evaluate_verification(Z[y == 0], None, y[y == 0])
    with pytest.raises(ValueError, match="fmr_levels"):
        evaluate_verification(Z, None, y, fmr_levels=(0.0,))
    with pytest.raises(ValueError, match="n_enroll"):
        evaluate_verification(Z, None, y, n_enroll=0)
    with pytest.raises(ValueError, match="model"):
        evaluate_verification(None, Z, y)
    with pytest.raises(ValueError, match="X is required"):
        evaluate_verification(CountingTransform(), None, y)
    bad = Z.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate_verification(bad, None, y)


def test_many_identities():
    Z, y = _embeddings(n_ids=600, per_id=10, dim=16, noise=1.0)
    report = evaluate_verification(Z, None, y)
    assert report["n_impostor"] == 600 * 599
    assert 0 < report["eer"] < 0.3


# --------------------------------------------------------------- fixed text


def _fixed_text(n_subjects=8, reps=30, dim=5, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_subjects), reps)
    scale = rng.uniform(0.5, 2.0, size=(n_subjects, dim))
    X = rng.normal(size=(n_subjects, dim))[y] + scale[y] * rng.normal(
        size=(len(y), dim)
    )
    return np.abs(X) + 0.05, y


def _detector(name):
    return {
        "scaled_manhattan": ScaledManhattan,
        "manhattan": Manhattan,
        "euclidean": Euclidean,
    }[name]()


def _km_reference(X, y, n_train, n_imp, kind):
    """Killourhy & Maxion's detectors written out feature by feature."""
    eers = []
    subjects = sorted(set(y.tolist()))
    for s in subjects:
        reps = X[y == s]
        train, probe = reps[:n_train], reps[n_train:]
        impostors = np.concatenate([X[y == t][:n_imp] for t in subjects if t != s])
        dim = X.shape[1]
        mean = [sum(train[:, j]) / len(train) for j in range(dim)]
        mad = [
            sum(abs(v - mean[j]) for v in train[:, j]) / len(train) for j in range(dim)
        ]

        def anomaly(x, mean=mean, mad=mad, dim=dim):
            if kind == "scaled_manhattan":
                return sum(abs(x[j] - mean[j]) / mad[j] for j in range(dim))
            if kind == "manhattan":
                return sum(abs(x[j] - mean[j]) for j in range(dim))
            return sum((x[j] - mean[j]) ** 2 for j in range(dim))

        scores = [-anomaly(x) for x in probe] + [-anomaly(x) for x in impostors]
        labels = [1] * len(probe) + [0] * len(impostors)
        eers.append(equal_error_rate(np.array(labels), np.array(scores)))
    return np.array(eers)


@pytest.mark.parametrize("detector", ["scaled_manhattan", "manhattan", "euclidean"])
def test_fixed_text_detectors_match_definition(detector):
    X, y = _fixed_text()
    report = evaluate_fixed_text(
        _detector(detector), X, y, n_train=20, n_impostor_reps=3
    )
    expected = _km_reference(X, y, 20, 3, detector)
    np.testing.assert_allclose(report["subject_eer"], expected)
    assert report["mean_subject_eer"] == pytest.approx(expected.mean())
    assert report["std_subject_eer"] == pytest.approx(expected.std(ddof=1))
    assert report["n_subjects"] == 8
    json.dumps(report)
    again, y_bin, scores = evaluate_fixed_text(
        _detector(detector), X, y, n_train=20, n_impostor_reps=3, return_scores=True
    )
    assert again == report
    # per subject: 10 genuine probes and 7 x 3 impostor probes
    assert len(scores) == 8 * (10 + 21) and y_bin.sum() == 80


def test_fixed_text_cmu_layout_defaults():
    """51 subjects x 400 repetitions of 31 features, the CMU benchmark's shape."""
    X, y = _fixed_text(n_subjects=51, reps=400, dim=31, seed=1)
    report = evaluate_fixed_text(ScaledManhattan(), X, y)
    expected = _km_reference(X, y, 200, 5, "scaled_manhattan")
    assert report["n_subjects"] == 51
    np.testing.assert_allclose(report["subject_eer"], expected)
    # scaling helps when features have different spreads
    plain = evaluate_fixed_text(Manhattan(), X, y)
    assert report["mean_subject_eer"] < plain["mean_subject_eer"]


def test_fixed_text_with_embeddings_uses_cosine_to_mean_template():
    X, y = _fixed_text()
    model = CountingTransform()
    report = evaluate_fixed_text(model, X, y, n_train=20)
    assert len(model.calls) == 1
    eers = []
    for s in range(8):
        unit = X / np.linalg.norm(X, axis=1, keepdims=True)
        own = unit[y == s]
        template = own[:20].mean(axis=0)
        template /= np.linalg.norm(template)
        imp = np.concatenate([unit[y == t][:5] for t in range(8) if t != s])
        labels = np.r_[np.ones(10), np.zeros(len(imp))].astype(int)
        eers.append(
            equal_error_rate(labels, np.r_[own[20:] @ template, imp @ template])
        )
    np.testing.assert_allclose(report["subject_eer"], eers)
    assert evaluate_fixed_text(X, None, y, n_train=20) == report


def test_fixed_text_skips_short_subjects_and_errors():
    X, y = _fixed_text()
    keep = ~((y == 3) & (np.arange(len(y)) % 30 >= 20))  # subject 3: 20 reps
    with pytest.warns(UserWarning, match="skipped 1 of 8"):
        report = evaluate_fixed_text(ScaledManhattan(), X[keep], y[keep], n_train=20)
    assert report["n_subjects"] == 7
    with pytest.raises(ValueError, match="model must be"):
        evaluate_fixed_text(None, X, y)
    with pytest.raises(ValueError, match="At least 2 subjects"):
        with pytest.warns(UserWarning, match="skipped 8 of 8"):
            evaluate_fixed_text(ScaledManhattan(), X, y, n_train=30)
    with pytest.raises(ValueError, match="aligned"):
        evaluate_fixed_text(ScaledManhattan(), X, y[:-1], n_train=20)


def test_fixed_text_within_conditions_pools_the_conditions_per_subject():
    """groups: each condition judged alone, a subject's EER their mean."""
    X, y = _fixed_text(n_subjects=6, reps=20, dim=5, seed=3)
    condition = np.tile(np.repeat(["hand", "both"], 10), 6)
    X = X + 4.0 * (condition == "both")[:, None]  # condition 2 far from 1
    report = evaluate_fixed_text(
        ScaledManhattan(), X, y, groups=condition, return_comparisons=True,
        n_bootstraps=50,
    )  # fmt: skip
    parts = {}
    for c in ("both", "hand"):
        rows = condition == c
        parts[c] = evaluate_fixed_text(
            ScaledManhattan(), X[rows], y[rows], n_train=5, n_bootstraps=0
        )
        expected = _km_reference(X[rows], y[rows], 5, 5, "scaled_manhattan")
        np.testing.assert_allclose(parts[c]["subject_eer"], expected)
        assert report["groups"][c]["mean_subject_eer"] == pytest.approx(
            parts[c]["mean_subject_eer"]
        )
    expected = (
        np.asarray(parts["both"]["subject_eer"]) + parts["hand"]["subject_eer"]
    ) / 2
    np.testing.assert_allclose(report["subject_eer"], expected)
    assert report["n_train"] == {"both": 5, "hand": 5}
    assert report.subjects["n_conditions"].tolist() == [2] * 6
    lo, hi = report["ci"]["mean_subject_eer"]
    assert lo <= report["mean_subject_eer"] <= hi
    # impostors come from the same condition only
    cmp = report.comparisons
    assert set(cmp["group"]) == {"both", "hand"}
    assert (condition[cmp["probe"].to_numpy()] == cmp["group"].to_numpy()).all()
    # without groups, condition 1 enrols for condition 2's probes: worse than
    # chance, and said so
    with pytest.warns(UserWarning, match="worse than chance.*groups="):
        shifted = evaluate_fixed_text(ScaledManhattan(), X, y, n_bootstraps=0)
    assert shifted["n_train"] == 10
    assert shifted["mean_subject_eer"] > 0.5
    assert shifted["mean_subject_eer"] > report["mean_subject_eer"] + 0.2


def test_protocols_show_progress_unless_verbose_is_false(monkeypatch, capsys):
    from skeer.evaluation import _protocols

    monkeypatch.setattr(_protocols, "PROGRESS_DELAY", 0.0)
    Z, y = _embeddings()
    Xf, yf = _fixed_text(n_subjects=6, reps=20, dim=5, seed=3)
    evaluate_verification(Z, None, y, n_bootstraps=0)
    evaluate_fixed_text(ScaledManhattan(), Xf, yf, n_bootstraps=0)
    err = capsys.readouterr().err
    assert "evaluate_verification" in err and "/12 " in err
    assert "evaluate_fixed_text" in err and "/6 " in err
    evaluate_verification(Z, None, y, n_bootstraps=0, verbose=False)
    evaluate_fixed_text(ScaledManhattan(), Xf, yf, n_bootstraps=0, verbose=False)
    assert capsys.readouterr().err == ""


def test_fixed_text_n_train_auto_and_group_errors():
    X, y = _fixed_text(n_subjects=4, reps=30, dim=3, seed=0)
    assert evaluate_fixed_text(ScaledManhattan(), X, y)["n_train"] == 15
    assert evaluate_fixed_text(ScaledManhattan(), X, y, n_train=20)["n_train"] == 20
    for bad in (0, -1, 2.5, "half", True):
        with pytest.raises(ValueError, match="n_train"):
            evaluate_fixed_text(ScaledManhattan(), X, y, n_train=bad)
    with pytest.raises(ValueError, match="groups must be a 1-D array"):
        evaluate_fixed_text(ScaledManhattan(), X, y, groups=np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        evaluate_fixed_text(ScaledManhattan(), X, y, groups=np.full(len(y), np.nan))
    with pytest.raises(ValueError, match="None"):
        evaluate_fixed_text(ScaledManhattan(), X, y, groups=[None] * len(y))
    with pytest.raises(ValueError, match="one kind"):
        evaluate_fixed_text(
            ScaledManhattan(), X, y, groups=np.array([1, "a"] * 60, dtype=object)
        )
    # a condition with a single subject cannot be judged: skipped, counted
    groups = np.where(y == 0, "solo", "rest")
    with pytest.warns(UserWarning, match="skipped 1 of 2 conditions"):
        report = evaluate_fixed_text(ScaledManhattan(), X, y, groups=groups)
    assert list(report["groups"]) == ["rest"] and report["n_subjects"] == 3
    with pytest.raises(ValueError, match="No condition"):
        with pytest.warns(UserWarning):
            evaluate_fixed_text(ScaledManhattan(), X, y, groups=y)


GREYC_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data"
    / "greyc-nislab-fixed-text.csv.gz"
)  # fmt: skip


@pytest.mark.skipif(not GREYC_DATA.exists(), reason="../shared/data absent")
def test_greyc_through_the_default_protocol_gives_the_per_condition_figure():
    """Scaled Manhattan on GREYC-NISLAB P2: about 0.14 within each condition."""
    from skeer.datasets import load_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(f"greyc:{GREYC_DATA}", passphrase="P2")
        report = evaluate_fixed_text(
            ScaledManhattan(), ds.data, ds.target, groups=ds.groups, **ds.protocol
        )
    assert report["n_subjects"] == 110
    assert 0.10 < report["mean_subject_eer"] < 0.17  # 0.136
    assert set(report["groups"]) == {1, 2}


# ----------------------------------------------------------------- splitters


def test_subject_kfold_is_identity_disjoint_and_complete():
    y = np.repeat(np.arange(10), 4)
    cv = SubjectKFold(n_splits=5)
    assert cv.get_n_splits() == 5
    seen = []
    for train, test in cv.split([None] * len(y), y):
        assert not set(y[train]) & set(y[test])
        assert len(train) + len(test) == len(y)
        seen += test.tolist()
    assert sorted(seen) == list(range(len(y)))
    # groups override y
    groups = y // 2
    for train, test in cv.split(np.zeros((40, 1)), y, groups=groups):
        assert not set(groups[train]) & set(groups[test])
    with pytest.raises(ValueError, match="identities"):
        next(cv.split(np.zeros((40, 1))))


def test_subject_kfold_shuffle_is_seeded():
    y = np.repeat(np.arange(20), 3)
    folds = [
        [
            t.tolist()
            for _, t in SubjectKFold(4, shuffle=True, random_state=s).split(y, y)
        ]
        for s in (0, 0, 1)
    ]
    assert folds[0] == folds[1] and folds[0] != folds[2]


def test_subject_kfold_with_cross_validate():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(9), 5)
    X = [rng.normal(size=(8, 3)) for _ in y]  # a list of sessions
    X2d = np.stack([x.mean(axis=0) for x in X])
    result = cross_validate(DummyClassifier(), X2d, y, cv=SubjectKFold(3))
    assert len(result["test_score"]) == 3
    # no test identity was seen in training, so accuracy is 0
    assert np.all(result["test_score"] == 0)
    result = cross_validate(DummyClassifier(), X2d, y, groups=y % 3, cv=SubjectKFold(3))
    assert len(result["test_score"]) == 3


def test_train_test_split_subjects():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(30), 4)
    X = [rng.normal(size=(5, 3)) for _ in y]
    X_tr, X_te, y_tr, y_te = train_test_split_subjects(X, y, random_state=0)
    assert isinstance(X_tr, list) and isinstance(X_te, list)
    assert not set(y_tr) & set(y_te)
    assert len(set(y_te)) == 10 and len(X_te) == 40 and len(X_tr) == 80
    # order is kept: the split is a subsequence of the original samples
    order = [next(i for i, x in enumerate(X) if x is s) for s in X_te]
    assert order == sorted(order)
    again = train_test_split_subjects(X, y, random_state=0)
    np.testing.assert_array_equal(again[3], y_te)
    Xa = np.arange(120.0).reshape(120, 1)
    Xa_tr, Xa_te, ya_tr, ya_te = train_test_split_subjects(
        Xa, y, test_size=6, random_state=1
    )
    assert isinstance(Xa_te, np.ndarray) and len(set(ya_te)) == 6
    np.testing.assert_array_equal(Xa_te[:, 0] // 4, ya_te)
    with pytest.raises(ValueError, match="aligned"):
        train_test_split_subjects(X, y[:-1])


def test_import_does_not_import_torch():
    code = "import sys, skeer.evaluation; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ------------------------------------------------- intervals, tables, pairs


def test_weighted_engine_reproduces_the_metrics_exactly():
    from skeer.metrics._bootstrap import SortedComparisons

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 500)
    scores = rng.normal(size=500).round(1) + y_true  # ties
    owner = rng.integers(0, 20, 500)
    sc = SortedComparisons(y_true, scores, owner, 20)
    assert sc.eer() == pytest.approx(equal_error_rate(y_true, scores), abs=1e-12)
    for level in (0.01, 0.1, 0.37):
        assert sc.fnmr_at_fmr(level) == fnmr_at_fmr(y_true, scores, fmr=level)
    # integer weights are the same as repeating every comparison of a subject
    w = rng.integers(0, 3, 20)
    rep = np.repeat(np.arange(500), w[owner])
    assert sc.eer(w) == pytest.approx(
        equal_error_rate(y_true[rep], scores[rep]), abs=1e-12
    )


def test_reports_carry_intervals_and_subject_tables():
    Z, y = _embeddings(n_ids=30, per_id=11)
    report = evaluate_verification(Z, None, y, return_comparisons=True)
    json.dumps(report)
    assert set(report["ci"]) == {
        "eer",
        "mean_subject_eer",
        "fnmr_at_fmr_0.001",
        "fnmr_at_fmr_0.01",
        "fnmr_at_fmr_0.1",
    }
    for key, (lo, hi) in report["ci"].items():
        assert lo <= report[key] <= hi, key
    assert report["confidence"] == 0.95 and report["n_bootstraps"] == 200
    table = report.subjects
    assert len(table) == 30 and table["n_impostor"].eq(29).all()
    assert table["eer"].mean() == pytest.approx(report["mean_subject_eer"])
    comp = report.comparisons
    assert len(comp) == report["n_genuine"] + report["n_impostor"]
    assert (comp["genuine"] == (comp["subject"] == comp["probe_subject"])).all()
    assert (y[comp["probe"]] == comp["probe_subject"]).all()
    # reproducible by default, and switched off on request
    assert evaluate_verification(Z, None, y) == {k: v for k, v in report.items()}
    bare = evaluate_verification(Z, None, y, n_bootstraps=0)
    assert "ci" not in bare
    with pytest.raises(ValueError, match="n_bootstraps"):
        evaluate_verification(Z, None, y, n_bootstraps=-1)
    with pytest.raises(ValueError, match="confidence"):
        evaluate_verification(Z, None, y, confidence=1.5)


def test_fixed_text_report_has_its_interval_and_table():
    X, y = _fixed_text()
    report = evaluate_fixed_text(
        ScaledManhattan(), X, y, n_train=20, return_comparisons=True
    )
    lo, hi = report["ci"]["mean_subject_eer"]
    assert lo <= report["mean_subject_eer"] <= hi
    assert report.subjects["eer"].tolist() == report["subject_eer"]
    assert (
        (report.comparisons["subject"] == report.comparisons["probe_subject"])
        .eq(report.comparisons["genuine"])
        .all()
    )


def test_paired_difference_sees_a_better_system():
    from skeer.evaluation import paired_difference

    Z, y = _embeddings(n_ids=40, per_id=11, noise=0.6)
    rng = np.random.default_rng(5)
    worse = Z + 1.5 * rng.normal(size=Z.shape)
    a = evaluate_verification(Z, None, y, return_comparisons=True)
    b = evaluate_verification(worse, None, y, return_comparisons=True)
    for metric in ("eer", "mean_subject_eer", "fnmr_at_fmr_0.1"):
        result = paired_difference(a, b, metric=metric, n_bootstraps=300)
        assert result["ci"][0] <= result["difference"] <= result["ci"][1]
        assert result["ci"][1] < 0, metric
        assert result["p_a_better"] > 0.95
    assert paired_difference(a, a)["difference"] == 0
    other = evaluate_verification(Z, None, y, n_probe=3, return_comparisons=True)
    with pytest.raises(ValueError, match="same comparisons"):
        paired_difference(a, other)
    with pytest.raises(ValueError, match="return_comparisons"):
        paired_difference(a, evaluate_verification(Z, None, y))
    with pytest.raises(ValueError, match="metric"):
        paired_difference(a, b, metric="auc")


def test_bootstrap_window_gives_the_same_rates_as_the_full_sweep():
    from skeer.metrics._bootstrap import SortedComparisons

    rng = np.random.default_rng(1)
    for _ in range(10):
        n, m = int(rng.integers(2000, 8000)), int(rng.integers(5, 100))
        y_true = rng.integers(0, 2, n)
        scores = rng.normal(size=n).round(2) + y_true * rng.uniform(0, 3)
        sc = SortedComparisons(y_true, scores, rng.integers(0, m, n), m)
        sc.half_window = int(rng.integers(1, 50))  # small: crossings leave it
        for w in rng.multinomial(m, np.full(m, 1 / m), size=5):
            assert sc.eer(w) == pytest.approx(sc.eer(w, _k=True), abs=1e-12)
            for level in (0.001, 0.01, 0.2):
                assert sc.fnmr_at_fmr(level, w) == sc.fnmr_at_fmr(level, w, _k=True)


def test_collapsed_embeddings_score_as_a_coin_toss_not_a_perfect_verifier():
    y = np.repeat(np.arange(8), 10)
    Z = np.ones((80, 16), dtype=np.float32)
    Z[::7] *= np.float32(1.0000001)  # rounding noise only
    with pytest.warns(UnreliableMetricWarning, match="collapsed"):
        report = evaluate_verification(Z, None, y, n_bootstraps=0)
    assert report["eer"] == 0.5 and report["auc"] == 0.5
    with pytest.warns(UnreliableMetricWarning, match="collapsed"):
        fixed = evaluate_fixed_text(
            Z.astype(np.float64), None, y, n_train=5, n_bootstraps=0
        )
    assert fixed["mean_subject_eer"] == 0.5


def test_tiny_feature_units_are_not_taken_for_a_collapse():
    from skeer.baselines import Euclidean

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 12)
    X = rng.normal(size=(10, 6))[y] + 0.3 * rng.normal(size=(120, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreliableMetricWarning)
        small = evaluate_verification(
            Euclidean(), X * 1e-4, y, fmr_levels=(), n_bootstraps=0
        )
    assert small["eer"] < 0.1
