"""Tests of skeer.datasets.make_keystrokes (synthetic free-text data)."""

import subprocess
import sys
import time
from importlib import resources

import numpy as np
import pytest

from skeer.datasets import make_keystrokes
from skeer.features import KeystrokeFeatures, sequence_lengths
from skeer.metrics import equal_error_rate

ALLOWED_CODES = set(range(65, 91)) | {8, 16, 32, 188, 190}


def _summary_statistics(X):
    """Per session: mean, SD and quartiles of the four timing channels."""
    Xt = KeystrokeFeatures(max_len=max(len(s) for s in X)).transform(X)
    Xt = Xt.astype(np.float64)
    n = sequence_lengths(Xt)
    cols = []
    for c in range(4):
        valid = np.arange(Xt.shape[1])[None] < (n - (c > 0))[:, None]
        v = np.where(valid, Xt[..., c], np.nan)
        cols += [np.nanmean(v, 1), np.nanstd(v, 1)]
        cols += list(np.nanpercentile(v, [25, 50, 75], axis=1))
    return np.column_stack(cols)


def _baseline_eer(X, y, n_enroll=5, n_probe=5):
    """Open-set protocol, score = -Manhattan distance of z-scored summary
    statistics to the mean of the enrolment sessions (no learning)."""
    F = _summary_statistics(X)
    F = (F - F.mean(axis=0)) / F.std(axis=0)
    ids = np.unique(y)
    rows = [np.flatnonzero(y == i) for i in ids]
    templates = np.stack([F[r[:n_enroll]].mean(axis=0) for r in rows])
    genuine = np.concatenate(
        [-np.abs(F[r[-n_probe:]] - t).sum(axis=1) for r, t in zip(rows, templates)]
    )
    probes = np.stack([F[r[-n_probe]] for r in rows])
    cross = -np.abs(probes[:, None] - templates[None]).sum(axis=-1)
    impostor = cross[~np.eye(len(ids), dtype=bool)]
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))].astype(int)
    return equal_error_rate(labels, np.r_[genuine, impostor])


def test_shapes_types_and_order():
    X, y = make_keystrokes(n_subjects=7, n_sessions=4, random_state=0)
    assert isinstance(X, list) and len(X) == 28
    assert y.dtype == np.int64 and y.tolist() == np.repeat(np.arange(7), 4).tolist()
    for s in X:
        assert s.dtype == np.float64 and s.ndim == 2 and s.shape[1] == 3
        assert 30 <= len(s) <= 70
        assert s[0, 0] == 0 and s[0, 2] == 16  # starts with shift at t = 0
        assert np.all(np.diff(s[:, 0]) >= 0)  # press times in order
        assert np.all(s[:, 1] > s[:, 0])  # released after pressed
        assert np.all(s == np.round(s))  # whole milliseconds
        assert set(s[:, 2].astype(int)) <= ALLOWED_CODES


def test_valid_input_for_keystroke_features():
    X, _ = make_keystrokes(n_subjects=20, n_sessions=3, random_state=1)
    Xt = KeystrokeFeatures().transform(X)
    assert Xt.shape == (60, 50, 5) and np.all(np.isfinite(Xt))


def test_deterministic_for_a_seed():
    X1, y1 = make_keystrokes(10, 5, random_state=3)
    X2, y2 = make_keystrokes(10, 5, random_state=np.random.RandomState(3))
    X3, _ = make_keystrokes(10, 5, random_state=4)
    assert all(np.array_equal(a, b) for a, b in zip(X1, X2))
    np.testing.assert_array_equal(y1, y2)
    assert not all(len(a) == len(b) and np.array_equal(a, b) for a, b in zip(X1, X3))


def test_n_keys_fixed_and_range():
    X, _ = make_keystrokes(5, 4, n_keys=25, random_state=0)
    assert {len(s) for s in X} == {25}
    X, _ = make_keystrokes(50, 10, n_keys=(40, 120), random_state=0)
    lengths = np.array([len(s) for s in X])
    assert lengths.min() >= 40 and lengths.max() <= 120
    # log-uniform: the median is near the geometric mean of the range
    assert abs(np.median(lengths) - np.sqrt(40 * 120)) < 8


def test_realistic_statistics():
    """Bands around the Aalto 136M desktop figures (see the README of the data)."""
    X, _ = make_keystrokes(200, 15, random_state=0)
    flat = np.concatenate(X)
    hold = flat[:, 1] - flat[:, 0]
    inter_press = np.concatenate([np.diff(s[:, 0]) for s in X])
    inter_key = np.concatenate([s[1:, 0] - s[:-1, 1] for s in X])
    codes = flat[:, 2]
    assert 40 <= np.median([len(s) for s in X]) <= 52
    assert 80 <= np.median(hold) <= 130
    assert 130 <= np.median(inter_press) <= 260
    assert 0.05 <= np.mean(inter_key < 0) <= 0.3
    assert 0.1 <= np.mean(codes == 32) <= 0.25
    assert 0.01 <= np.mean(codes == 8) <= 0.1
    # every subject has its own speed: medians differ between subjects far
    # more than between the sessions of a subject
    med = np.array([np.median(np.diff(s[:, 0])) for s in X]).reshape(200, 15)
    within = np.log(med).std(axis=1).mean()
    between = np.log(np.median(med, axis=1)).std()
    assert between > 2 * within


def test_word_list_is_shipped():
    text = resources.files("skeer.datasets").joinpath("data/words.txt").read_text()
    words = [w for w in text.splitlines() if w and not w.startswith("#")]
    assert len(words) > 2000
    assert all(w.isalpha() and w.islower() and w.isascii() for w in words)
    assert len(set(words)) == len(words)


def test_fast():
    times = [_timed(make_keystrokes, 100, 15, random_state=i) for i in range(3)]
    assert min(times) < 1.0


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def test_baseline_eer_in_band_and_difficulty_orders_it():
    eers = {
        d: _baseline_eer(*make_keystrokes(100, 15, difficulty=d, random_state=0))
        for d in (0.5, 1.0, 2.0)
    }
    assert 0.02 <= eers[1.0] <= 0.40
    assert eers[0.5] < eers[1.0] < eers[2.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_subjects": 0}, "n_subjects"),
        ({"n_sessions": 1.5}, "n_sessions"),
        ({"n_keys": 1}, "n_keys"),
        ({"n_keys": (50, 40)}, "low <= high"),
        ({"n_keys": (10, 20, 30)}, "n_keys"),
        ({"n_keys": "long"}, "n_keys"),
        ({"difficulty": -0.1}, "difficulty"),
        ({"difficulty": np.nan}, "difficulty"),
    ],
)
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_keystrokes(**kwargs)


def test_import_does_not_import_torch():
    code = "import sys, skeer.datasets; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
