"""Tests of :func:`skeer.datasets.load_dataset` and :func:`select_subjects`."""

import numpy as np
import pytest

from skeer.datasets import (
    load_cmu,
    load_dataset,
    load_greyc_nislab,
    load_kvc,
    make_keystrokes,
    select_subjects,
)
from skeer.datasets._testing import (
    write_aalto_files,
    write_cmu_csv,
    write_greyc_csv,
    write_kvc_files,
)


def test_synthetic_is_make_keystrokes():
    ds = load_dataset("Synthetic", n_subjects=5, n_sessions=4, random_state=2)
    X, y = make_keystrokes(n_subjects=5, n_sessions=4, random_state=2)
    assert ds.kind == ds.spec == "synthetic" and ds.fixed_text is False
    assert np.array_equal(ds.target, y)
    assert all(np.array_equal(a, b) for a, b in zip(ds.data, X))
    assert ds.description == "synthetic (5 subjects x 4 sessions)"


def test_cmu_keeps_per_sample_arrays_aligned(tmp_path):
    csv = write_cmu_csv(tmp_path / "cmu.csv", n_subjects=4, n_sessions=2, n_reps=3)
    full = load_cmu(csv)
    ds = load_dataset(f"cmu:{csv}", n_subjects=2)
    assert ds.fixed_text is True and ds.kind == "cmu" and ds.spec == f"cmu:{csv}"
    keep = np.isin(full.target, full.target[[0, 6]])  # first two subjects
    assert np.array_equal(ds.target, full.target[keep])
    assert np.array_equal(ds.data, full.data[keep])
    assert np.array_equal(ds.rep, full.rep[keep])
    assert np.array_equal(ds.session, full.session[keep])
    assert ds.feature_names == full.feature_names and ds.DESCR == full.DESCR
    assert ds.description.endswith(", first 2 subjects")
    assert ds.protocol == {"n_train": 200}  # Killourhy & Maxion's


def test_greyc_one_passphrase_with_soft_biometrics(tmp_path):
    csv = write_greyc_csv(tmp_path / "greyc.csv", n_subjects=4, n_reps=6)
    ds = load_dataset(f"GREYC:{csv}", passphrase="P3", n_subjects=3)
    full = load_greyc_nislab(csv, passphrase="P3")
    keep = np.isin(full.target, [1, 2, 3])
    assert ds.kind == "greyc" and ds.fixed_text is True and ds.spec == f"greyc:{csv}"
    assert np.array_equal(ds.data, full.data[keep])
    assert np.array_equal(ds.target, full.target[keep])
    assert np.array_equal(ds.rep, full.rep[keep])
    assert np.array_equal(ds.condition, full.condition[keep])
    # the per-sample frame (gender, age, handedness) is selected like data
    assert len(ds.frame) == len(ds.target)
    assert ds.frame["subject"].tolist() == ds.target.tolist()
    assert {"gender", "age", "handedness"} <= set(ds.frame.columns)
    assert ds.passphrase == "michael schumacher" and ds.sheet == "P3"
    # judged within each typing condition, half of its repetitions enrol
    assert ds.protocol == {"n_train": 5}
    assert np.array_equal(ds.groups, ds.condition)
    assert "P3" in ds.description and ds.description.endswith(", first 3 subjects")
    # P1 by default
    assert load_dataset(f"greyc:{csv}").passphrase == "leonardo dicaprio"


def test_kvc_keeps_the_test_sessions(tmp_path):
    write_kvc_files(tmp_path, "mobile", n_users=3, n_sessions=4, n_test=5)
    ds = load_dataset(f"kvc:{tmp_path}", scenario="mobile", n_subjects=2)
    kvc = load_kvc(tmp_path, "mobile")
    assert len(ds.data) == len(ds.session) == 8 and len(set(ds.target)) == 2
    assert len(ds.test_data) == 5  # not a per-sample array of the dev set
    assert np.array_equal(ds.comparison_index, kvc.comparison_index)
    assert "mobile" in ds.description


def test_aalto(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("SKEER_DATA", str(cache))
    write_aalto_files(tmp_path / "aalto", n_participants=3, n_sessions=2)
    ds = load_dataset(f"aalto:{tmp_path / 'aalto'}", cache=False)
    assert ds.kind == "aalto" and not ds.fixed_text and ds.protocol == {}
    assert len(ds.data) == len(ds.target) == len(ds.session) == len(ds.sentence)
    assert not cache.exists()  # cache=False: nothing written
    load_dataset(f"aalto:{tmp_path / 'aalto'}")
    assert any(cache.rglob("*.npz"))


@pytest.mark.parametrize(
    "spec, error, match",
    [
        ("foo:bar", ValueError, "greyc:PATH"),
        ("aalto", ValueError, "need a path"),
        ("synthetic:x", ValueError, "takes no path"),
        (42, ValueError, "dataset spec"),
        ("cmu:/nonexistent/skeer.csv", FileNotFoundError, "no such file"),
    ],
)
def test_bad_specs(spec, error, match):
    with pytest.raises(error, match=match):
        load_dataset(spec)


def test_select_subjects():
    X = [np.full((2, 3), i) for i in range(9)]
    y = np.array([5, 5, 5, 1, 1, 9, 9, 9, 9])
    X_sub, y_sub = select_subjects(X, y, n_subjects=2)
    assert y_sub.tolist() == [5, 5, 5, 1, 1] and [s[0, 0] for s in X_sub] == [
        0,
        1,
        2,
        3,
        4,
    ]
    X_sub, y_sub = select_subjects(np.arange(9), y, n_per_subject=2)
    assert X_sub.tolist() == [0, 1, 3, 4, 5, 6]
    # interleaved subjects: ranks count within each subject, order is kept
    X_sub, y_sub = select_subjects(np.arange(6), [1, 2, 1, 2, 1, 2], n_per_subject=2)
    assert X_sub.tolist() == [0, 1, 2, 3]
    X_sub, y_sub = select_subjects(np.arange(9), y)
    assert X_sub.tolist() == list(range(9))
    with pytest.raises(ValueError, match="n_subjects"):
        select_subjects(X, y, n_subjects=0)
    with pytest.raises(ValueError, match="one subject per sample"):
        select_subjects(X, y[:3])
