"""Rates at a threshold, HTER, EPC, d′ and the rank-k identification rate."""

import numpy as np
import pytest

from skeer.metrics import (
    decidability,
    expected_performance_curve,
    fnmr_at_fmr,
    half_total_error_rate,
    identification_rate,
    rates_at_threshold,
)


def _data(seed=0, n_gen=60, n_imp=300):
    rng = np.random.default_rng(seed)
    scores = np.r_[rng.normal(1, 1, n_gen), rng.normal(-1, 1, n_imp)].round(1)
    return np.r_[np.ones(n_gen), np.zeros(n_imp)].astype(int), scores


@pytest.mark.parametrize("threshold", [-np.inf, -1.0, 0.0, 0.3, 1.7, np.inf])
def test_rates_at_threshold_and_hter_match_counting(threshold):
    y, s = _data()
    fmr, fnmr = rates_at_threshold(y, s, threshold)
    assert fmr == np.mean(s[y == 0] >= threshold)
    assert fnmr == np.mean(s[y == 1] < threshold)
    assert half_total_error_rate(y, s, threshold) == (fmr + fnmr) / 2


def test_rates_at_threshold_on_a_score_matrix_equal_the_pairs():
    rng = np.random.default_rng(1)
    labels = np.array([30, 10, 20])
    y = rng.choice(labels, 40)
    S = rng.normal(size=(40, 3)) + 2.0 * (y[:, None] == labels)
    own = y[:, None] == labels
    fmr, fnmr = rates_at_threshold(y, S, 1.0, labels=labels)
    assert fmr == np.mean(S[~own] >= 1.0) and fnmr == np.mean(S[own] < 1.0)


@pytest.mark.parametrize("bad", [np.nan, "0.5", None, True, [0.5]])
def test_threshold_must_be_a_number(bad):
    y, s = _data()
    with pytest.raises(ValueError, match="threshold must be a number"):
        rates_at_threshold(y, s, bad)


def test_decidability_is_daugmans_d_prime():
    y, s = _data(2)
    g, i = s[y == 1], s[y == 0]
    expected = abs(g.mean() - i.mean()) / np.sqrt((g.var() + i.var()) / 2)
    assert decidability(y, s) == pytest.approx(expected, rel=1e-12)
    # invariant to a positive affine change of the scores, symmetric in sign
    assert decidability(y, 3 * s + 7) == pytest.approx(expected, rel=1e-12)
    assert decidability(y, -s) == pytest.approx(expected, rel=1e-12)
    assert decidability([1, 1, 0, 0], [2.0, 2.0, 1.0, 1.0]) == np.inf


def test_zero_fmr_is_fnmr_at_fmr_zero():
    """pyeer's ZeroFMR: the FNMR where no impostor is accepted any more."""
    y, s = _data(3)
    zero_fmr = np.mean(s[y == 1] <= s[y == 0].max())
    assert fnmr_at_fmr(y, s, fmr=0.0) == pytest.approx(zero_fmr)


def _epc_brute_force(y_dev, s_dev, y_test, s_test, alphas):
    thresholds = np.r_[np.unique(s_dev), np.inf]
    out = []
    for a in alphas:
        best = None
        for t in thresholds:
            fmr, fnmr = rates_at_threshold(y_dev, s_dev, t)
            key = (round(a * fmr + (1 - a) * fnmr, 12), round(fmr + fnmr, 12), -t)
            if best is None or key < best[0]:
                best = (key, t)
        out.append((half_total_error_rate(y_test, s_test, best[1]), best[1]))
    return out


def test_expected_performance_curve_matches_brute_force():
    y_dev, s_dev = _data(4, 30, 80)
    y_test, s_test = _data(5, 40, 90)
    alpha, hter, thresholds = expected_performance_curve(
        y_dev, s_dev, y_test, s_test, n_points=11
    )
    np.testing.assert_allclose(alpha, np.linspace(0, 1, 11))
    expected = _epc_brute_force(y_dev, s_dev, y_test, s_test, alpha)
    np.testing.assert_allclose(hter, [h for h, _ in expected])
    np.testing.assert_array_equal(thresholds, [t for _, t in expected])
    # the ends: no genuine rejected on dev at alpha 0, no impostor at alpha 1
    assert thresholds[0] == s_dev[y_dev == 1].min()
    assert thresholds[-1] == s_dev[s_dev > s_dev[y_dev == 0].max()].min()
    with pytest.raises(ValueError, match="n_points"):
        expected_performance_curve(y_dev, s_dev, y_test, s_test, n_points=1)


def test_identification_rate_counts_ties_against_the_probe():
    labels = np.array(["b", "a", "c"])
    y = np.array(["a", "b", "c", "a"])
    S = np.array(
        [
            [0.1, 0.9, 0.0],  # a: own 0.9, top
            [0.5, 0.5, 0.1],  # b: tied with a -> not rank 1, rank 2
            [0.7, 0.4, 0.3],  # c: third
            [0.95, 0.9, 0.0],  # a: second
        ]
    )
    assert identification_rate(y, S, labels=labels) == 0.25
    assert identification_rate(y, S, labels=labels, rank=2) == 0.75
    assert identification_rate(y, S, labels=labels, rank=3) == 1.0
    rng = np.random.default_rng(6)
    y = rng.integers(0, 5, 50)
    S = rng.normal(size=(50, 5)) + 1.5 * (y[:, None] == np.arange(5))
    brute = np.mean([np.argsort(-row, kind="stable")[0] == t for row, t in zip(S, y)])
    assert identification_rate(y, S) == brute  # no ties in continuous scores


def test_identification_rate_errors():
    with pytest.raises(ValueError, match="2-D"):
        identification_rate([1, 0], [0.3, 0.4])
    with pytest.raises(ValueError, match="rank"):
        identification_rate([0, 1], [[1.0, 0.0], [0.0, 1.0]], labels=[0, 1], rank=0)
    with pytest.raises(ValueError, match="not in labels"):
        identification_rate([0, 7], [[1.0, 0.0], [0.0, 1.0]], labels=[0, 1])


def test_importable_from_the_package_root_without_torch():
    import subprocess
    import sys

    code = (
        "import sys, skeer; skeer.identification_rate, skeer.decidability, "
        "skeer.expected_performance_curve, skeer.half_total_error_rate; "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
