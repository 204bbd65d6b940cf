"""Tests of skeer.datasets.load_kvc and write_kvc_predictions on fixture files.

The fixtures are written by ``skeer.datasets._testing.write_kvc_files`` in the
release's format (np.save of dicts, a comparisons text file); expected values
come from the dicts written.
"""

import numpy as np
import pandas as pd
import pytest

from skeer.datasets import load_kvc, write_kvc_predictions
from skeer.datasets._testing import write_kvc_files


@pytest.fixture
def release(tmp_path):
    return write_kvc_files(tmp_path, "desktop", n_users=3, n_sessions=4, n_test=5)


def test_reads_what_was_written(release):
    kvc = load_kvc(release.folder, "desktop")
    expected = [
        (user, sid, arr)
        for user, sessions in release.dev.items()
        for sid, arr in sessions.items()
    ]
    assert len(kvc.data) == len(expected) == 12
    for x, (user, sid, arr), t, s in zip(kvc.data, expected, kvc.target, kvc.session):
        assert x.dtype == np.float64 and x.shape == arr.shape
        np.testing.assert_array_equal(x, arr)
        assert t == user and s == sid
    assert list(kvc.test_session) == list(release.test)
    for x, sid in zip(kvc.test_data, kvc.test_session):
        np.testing.assert_array_equal(x, release.test[sid])
    assert kvc.comparisons.shape == (len(release.pairs), 2)
    assert [tuple(p) for p in kvc.comparisons.tolist()] == release.pairs
    assert kvc.comparison_index.dtype.kind == "i"
    np.testing.assert_array_equal(
        kvc.test_session[kvc.comparison_index], kvc.comparisons
    )
    assert kvc.feature_names == ["press", "release", "keycode"]
    assert "Stragapede" in kvc.DESCR


def test_scenario_subfolder_and_mobile(tmp_path):
    truth = write_kvc_files(tmp_path / "mobile", "mobile", n_users=2, n_sessions=2)
    kvc = load_kvc(tmp_path, scenario="mobile")
    assert len(kvc.data) == 4
    assert set(kvc.target.tolist()) == set(truth.dev)
    with pytest.raises(FileNotFoundError, match="desktop_dev_set"):
        load_kvc(tmp_path, "desktop")


@pytest.mark.parametrize(
    "fmt",
    [
        "{a},{b}\n",
        "{a}\t{b}\n",
        "  {a} ;  {b}  \n\n",
        "('{a}', '{b}')\n",
        '"{a}", "{b}"\r\n',
    ],
)
def test_comparisons_read_leniently(release, fmt):
    file = release.folder / "desktop_comparisons.txt"
    file.write_text(
        "# comment\n" + "".join(fmt.format(a=a, b=b) for a, b in release.pairs)
    )
    kvc = load_kvc(release.folder)
    assert [tuple(p) for p in kvc.comparisons.tolist()] == release.pairs


def test_bad_comparisons(release):
    file = release.folder / "desktop_comparisons.txt"
    file.write_text("t0 t1\nt0 t1 t2\n")
    with pytest.raises(ValueError, match="line 2"):
        load_kvc(release.folder)
    file.write_text("t0 nope\n")
    with pytest.raises(ValueError, match="nope"):
        load_kvc(release.folder)


def test_optional_files(release):
    (release.folder / "desktop_comparisons.txt").unlink()
    kvc = load_kvc(release.folder)
    assert kvc.comparisons is None and kvc.comparison_index is None
    assert len(kvc.test_data) == 5
    (release.folder / "desktop_test_sessions.npy").unlink()
    kvc = load_kvc(release.folder)
    assert kvc.test_data is None and kvc.test_session is None
    assert len(kvc.data) == 12


def test_as_frame_and_return_X_y(release):
    kvc = load_kvc(release.folder)
    framed = load_kvc(release.folder, as_frame=True)
    frame = framed.frame
    assert framed.data is frame
    assert list(frame.columns) == ["user", "session", "press", "release", "keycode"]
    np.testing.assert_array_equal(
        frame[["press", "release", "keycode"]].to_numpy(), np.concatenate(kvc.data)
    )
    lengths = [len(x) for x in kvc.data]
    np.testing.assert_array_equal(frame["user"], np.repeat(kvc.target, lengths))
    assert isinstance(framed.target, pd.Series)
    X, y = load_kvc(release.folder, return_X_y=True)
    assert len(X) == len(y) == 12


def test_errors(release, tmp_path):
    with pytest.raises(ValueError, match="scenario"):
        load_kvc(release.folder, scenario="tablet")
    with pytest.raises(FileNotFoundError, match="path"):
        load_kvc(tmp_path / "missing")
    with pytest.raises(ValueError, match="path"):
        load_kvc(release.folder / "desktop_comparisons.txt")
    np.save(tmp_path / "desktop_dev_set.npy", {1: {"s": np.zeros((4, 2))}})
    with pytest.raises(ValueError, match="shape"):
        load_kvc(tmp_path)
    np.save(tmp_path / "desktop_dev_set.npy", np.zeros(3))
    with pytest.raises(ValueError, match="dict"):
        load_kvc(tmp_path)


def test_write_predictions_roundtrip(tmp_path, release):
    kvc = load_kvc(release.folder)
    rng = np.random.default_rng(0)
    scores = rng.uniform(-1, 1, size=len(kvc.comparisons))
    out = write_kvc_predictions(scores, tmp_path / "desktop_predictions.txt")
    lines = out.read_text().splitlines()
    assert len(lines) == len(scores)
    np.testing.assert_allclose([float(v) for v in lines], scores, rtol=1e-9)


@pytest.mark.parametrize(
    "scores, match",
    [
        ([[0.1, 0.2]], "1-D"),
        ([0.1, np.nan], "finite"),
        ([0.1, np.inf], "finite"),
        ([], "empty"),
        (["a", "b"], "numeric"),
    ],
)
def test_write_predictions_validates(tmp_path, scores, match):
    out = tmp_path / "p.txt"
    with pytest.raises(ValueError, match=match):
        write_kvc_predictions(scores, out)
    assert not out.exists()
