"""skeer.metrics against brute-force oracles, scikit-learn, and on bad input."""

import math
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import det_curve, roc_curve

from skeer._validation import (
    check_operating_point,
    check_positive_int,
    check_real,
    is_integer,
)
from skeer.metrics import (
    UnreliableMetricWarning,
    det_points,
    equal_error_rate,
    fmr_at_fnmr,
    fnmr_at_fmr,
    verification_pairs,
)
from skeer.metrics._sweep import allowed_count, auc

quiet = pytest.mark.filterwarnings("ignore::skeer.metrics.UnreliableMetricWarning")


# --------------------------------------------------------------------------
# brute-force oracles: one loop iteration per threshold


def oracle_points(genuine, impostor):
    """(thresholds, FMR, FNMR) at every distinct score, then +inf."""
    genuine, impostor = list(genuine), list(impostor)
    thresholds = sorted(set(genuine) | set(impostor)) + [math.inf]
    fmr, fnmr = [], []
    for t in thresholds:
        fnmr.append(sum(g < t for g in genuine) / len(genuine))
        fmr.append(sum(s >= t for s in impostor) / len(impostor))
    return thresholds, fmr, fnmr


def oracle_eer(genuine, impostor):
    """Killourhy & Maxion's calculateEqualError, transcribed, plus a threshold."""
    thresholds, fmr, fnmr = oracle_points(genuine, impostor)
    dists = [m - f for m, f in zip(fnmr, fmr)]
    idx1 = dists.index(min(d for d in dists if d >= 0))
    idx2 = dists.index(max(d for d in dists if d < 0))
    assert abs(idx1 - idx2) == 1
    x = (fnmr[idx1], fmr[idx1])
    y = (fnmr[idx2], fmr[idx2])
    a = (x[0] - x[1]) / (y[1] - x[1] - y[0] + x[0])
    eer = x[0] + a * (y[0] - x[0])
    # the threshold, with the same weight from the point at/after the crossing
    t1, t2 = thresholds[idx1], thresholds[idx2]
    if t1 == math.inf:
        t1 = math.nextafter(t2, math.inf)
    return eer, t1 + a * (t2 - t1)


def oracle_fnmr_at_fmr(genuine, impostor, target):
    _, fmr, fnmr = oracle_points(genuine, impostor)
    return min(m for f, m in zip(fmr, fnmr) if f <= target)


def oracle_fmr_at_fnmr(genuine, impostor, target):
    _, fmr, fnmr = oracle_points(genuine, impostor)
    return min(f for f, m in zip(fmr, fnmr) if m <= target)


def binary(genuine, impostor, dtype=np.float64):
    y = np.r_[np.ones(len(genuine), dtype=int), np.zeros(len(impostor), dtype=int)]
    return y, np.r_[genuine, impostor].astype(dtype)


# small samples with many ties: integer scores on a short range
tied = st.lists(st.integers(0, 6), min_size=1, max_size=14)
floats = st.lists(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32),
    min_size=1,
    max_size=14,
)
targets = st.floats(0, 1)


# --------------------------------------------------------------------------
# the definition


@quiet
@settings(max_examples=300, deadline=None)
@given(genuine=tied, impostor=tied)
def test_eer_and_threshold_match_brute_force_with_ties(genuine, impostor):
    y, s = binary(genuine, impostor)
    eer, threshold = equal_error_rate(y, s, return_threshold=True)
    expected_eer, expected_threshold = oracle_eer(genuine, impostor)
    assert eer == pytest.approx(expected_eer, rel=1e-12, abs=1e-15)
    assert threshold == pytest.approx(expected_threshold, rel=1e-12, abs=1e-12)
    # shuffling the comparisons changes nothing (ties never split by order)
    order = np.random.default_rng(len(s)).permutation(len(s))
    assert equal_error_rate(y[order], s[order]) == eer


@quiet
@settings(max_examples=150, deadline=None)
@given(genuine=floats, impostor=floats)
def test_eer_matches_brute_force_float32(genuine, impostor):
    y, s = binary(genuine, impostor, np.float32)
    eer, threshold = equal_error_rate(y, s, return_threshold=True)
    g32 = [float(np.float32(v)) for v in genuine]
    i32 = [float(np.float32(v)) for v in impostor]
    expected_eer, expected_threshold = oracle_eer(g32, i32)
    assert eer == pytest.approx(expected_eer, rel=1e-12, abs=1e-15)
    assert threshold == pytest.approx(expected_threshold, rel=1e-9, abs=1e-9)


@quiet
@settings(max_examples=200, deadline=None)
@given(genuine=tied, impostor=tied, fmr=targets, fnmr=targets)
def test_rates_at_targets_match_brute_force(genuine, impostor, fmr, fnmr):
    y, s = binary(genuine, impostor)
    assert fnmr_at_fmr(y, s, fmr=fmr) == oracle_fnmr_at_fmr(genuine, impostor, fmr)
    assert fmr_at_fnmr(y, s, fnmr=fnmr) == oracle_fmr_at_fnmr(genuine, impostor, fnmr)


@quiet
@pytest.mark.parametrize("n", [3, 7, 100, 300])
def test_targets_exactly_at_achievable_rates(n):
    """Targets like 0.29 with 100 comparisons (0.29 * 100 < 29 in floating point)."""
    rng = np.random.default_rng(n)
    genuine = rng.integers(0, 50, n).tolist()
    impostor = rng.integers(0, 50, n).tolist()
    y, s = binary(genuine, impostor)
    levels = sorted({k / n for k in range(n + 1)} | {round(k / n, 2) for k in range(n)})
    _, fmr, fnmr = oracle_points(genuine, impostor)
    expected_fnmr = [min(m for f, m in zip(fmr, fnmr) if f <= t) for t in levels]
    expected_fmr = [min(f for f, m in zip(fmr, fnmr) if m <= t) for t in levels]
    assert fnmr_at_fmr(y, s, fmr=levels).tolist() == expected_fnmr
    assert fmr_at_fnmr(y, s, fnmr=levels).tolist() == expected_fmr


@quiet
@settings(max_examples=200, deadline=None)
@given(genuine=tied, impostor=tied, fmr=targets)
def test_fnmr_at_fmr_never_overshoots_the_target(genuine, impostor, fmr):
    y, s = binary(genuine, impostor)
    result = fnmr_at_fmr(y, s, fmr=fmr)
    # some threshold attains the result with an FMR within the target...
    imp, gen = np.asarray(impostor), np.asarray(genuine)
    attained = [
        t
        for t in [*np.unique(s), np.inf]
        if np.mean(imp >= t) <= fmr and np.mean(gen < t) == result
    ]
    assert attained
    # ...and no threshold within the target does better
    for t in [*np.unique(s), np.inf]:
        if np.mean(imp >= t) <= fmr:
            assert np.mean(gen < t) >= result


@quiet
@settings(max_examples=200, deadline=None)
@given(genuine=tied, impostor=tied)
def test_det_points_match_brute_force(genuine, impostor):
    y, s = binary(genuine, impostor)
    fmr, fnmr, thresholds = det_points(y, s)
    t, f, m = oracle_points(genuine, impostor)
    np.testing.assert_array_equal(thresholds, t)
    np.testing.assert_array_equal(fmr, f)
    np.testing.assert_array_equal(fnmr, m)
    assert thresholds.dtype == fmr.dtype == fnmr.dtype == np.float64


@settings(max_examples=100, deadline=None)
@given(genuine=tied, impostor=tied)
def test_det_points_agree_with_sklearn_det_curve(genuine, impostor):
    y, s = binary(genuine, impostor)
    fmr, fnmr, thresholds = det_points(y, s)
    ref_fpr, ref_fnr, ref_thr = det_curve(y, s)
    # sklearn trims the curve; every point it keeps is one of ours
    idx = np.searchsorted(thresholds, ref_thr)
    np.testing.assert_array_equal(thresholds[idx], ref_thr)
    np.testing.assert_allclose(fmr[idx], ref_fpr, rtol=0, atol=1e-15)
    np.testing.assert_allclose(fnmr[idx], ref_fnr, rtol=0, atol=1e-15)


def test_large_sample_agrees_with_sklearn_det_curve_interpolation():
    """1e5 rounded scores (many ties): EER from sklearn's curve, interpolated."""
    rng = np.random.default_rng(0)
    g = np.round(rng.normal(1.5, 1, 20_000), 2)
    i = np.round(rng.normal(0, 1, 80_000), 2)
    y, s = binary(g, i)
    fpr, fnr, thr = det_curve(y, s)
    d = fnr - fpr
    k = np.flatnonzero(d >= 0)[0]
    lam = d[k - 1] / (d[k - 1] - d[k])
    expected = fnr[k - 1] + lam * (fnr[k] - fnr[k - 1])
    eer, threshold = equal_error_rate(y, s, return_threshold=True)
    assert eer == pytest.approx(expected, rel=1e-12)
    assert threshold == pytest.approx(thr[k - 1] + lam * (thr[k] - thr[k - 1]))
    # float32 copies of the same values give the same answer
    assert equal_error_rate(y, s.astype(np.float32)) == pytest.approx(
        equal_error_rate(y, s.astype(np.float32).astype(np.float64)), rel=0, abs=0
    )


@pytest.mark.parametrize(
    ("genuine", "impostor", "expected"),
    [
        # docs example: at t=0.4 FNMR = FMR = 1/2
        ([0.35, 0.8], [0.1, 0.4], 0.5),
        # perfectly separated: FNMR = FMR = 0 from the lowest genuine score on
        ([2, 3], [0, 1], 0.0),
        # perfectly inverted: at t=1 FNMR = 1 and FMR = 1
        ([0], [1], 1.0),
        # all tied: (FMR, FNMR) jumps from (1, 0) at t=5 to (0, 1) at +inf
        ([5, 5], [5, 5], 0.5),
        # 3 impostors tied at the top: (1, 0) at t=1 -> (0, 1) at +inf
        ([0, 0, 0], [1, 1, 1], 1.0),
        # (1, 0) at t=0, (2/3, 1/2) at t=1, (0, 1) at +inf: crossing on the
        # segment from (2/3, 1/2): 1/2 + l/2 = 2/3 - 2l/3 -> l = 1/7 -> 4/7
        ([0, 1], [1, 1, 0], 4 / 7),
    ],
)
@quiet
def test_hand_worked_cases(genuine, impostor, expected):
    y, s = binary(genuine, impostor)
    assert equal_error_rate(y, s) == pytest.approx(expected, rel=1e-15)


@quiet
def test_threshold_at_a_meeting_point_has_equal_rates():
    # genuine 4..13 and impostors 0..9: FNMR = FMR = 0.3 at t = 7
    y, s = binary(np.arange(4, 14), np.arange(10))
    eer, threshold = equal_error_rate(y, s, return_threshold=True)
    assert (eer, threshold) == pytest.approx((0.3, 7.0))
    accepted = s >= threshold
    assert np.mean(~accepted[y == 1]) == np.mean(accepted[y == 0]) == eer


@quiet
def test_threshold_towards_reject_all_stays_finite():
    y, s = binary([1.0, 1.0], [1.0])
    eer, threshold = equal_error_rate(y, s, return_threshold=True)
    assert eer == 0.5
    assert math.isfinite(threshold) and 1.0 <= threshold <= math.nextafter(1.0, 2)


# --------------------------------------------------------------------------
# the two input layouts


@quiet
@settings(max_examples=60, deadline=None)
@given(
    n_ids=st.integers(2, 5),
    n_rows=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_identity_matrix_agrees_with_binary_layout(n_ids, n_rows, seed):
    rng = np.random.default_rng(seed)
    names = np.array([f"user{k}" for k in range(n_ids)])
    y = names[rng.integers(0, n_ids, n_rows)]
    y[0] = names[0]  # labels are given, so some columns may have no probe
    S = rng.integers(0, 4, (n_rows, n_ids)).astype(float)  # ties across cells
    own = y[:, None] == names[None, :]
    y_bin, scores = own.ravel().astype(int), S.ravel()
    for func, kw in [
        (equal_error_rate, {}),
        (equal_error_rate, {"return_threshold": True}),
        (fnmr_at_fmr, {"fmr": 0.25}),
        (fmr_at_fnmr, {"fnmr": 0.25}),
    ]:
        assert func(y, S, labels=names, **kw) == func(y_bin, scores, **kw)
    for a, b in zip(det_points(y, S, labels=names), det_points(y_bin, scores)):
        np.testing.assert_array_equal(a, b)
    # columns in another order, labels following them
    perm = rng.permutation(n_ids)
    assert equal_error_rate(y, S[:, perm], labels=names[perm]) == equal_error_rate(
        y_bin, scores
    )
    got_bin, got_scores = verification_pairs(y, S, labels=names)
    np.testing.assert_array_equal(got_bin, y_bin)
    np.testing.assert_array_equal(got_scores, scores)


@quiet
def test_default_labels_are_the_sorted_identities():
    y = np.array([3, 1, 2, 1])
    S = np.zeros((4, 3))
    S[[0, 1, 2, 3], [2, 0, 1, 0]] = 1.0  # own column high if columns are 1, 2, 3
    assert equal_error_rate(y, S) == equal_error_rate(y, S, labels=[1, 2, 3]) == 0
    assert equal_error_rate(y, S, labels=[3, 2, 1]) > 0


@quiet
@pytest.mark.parametrize(
    "convert",
    [
        lambda y: y.astype(bool),
        lambda y: 2 * y - 1,
        lambda y: y.astype(float),
        lambda y: y.tolist(),
    ],
    ids=["bool", "minus_one", "float", "list"],
)
def test_binary_label_forms_agree(convert):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 50)
    s = rng.normal(size=50) + y
    assert equal_error_rate(convert(y), s) == equal_error_rate(y, s)
    np.testing.assert_array_equal(verification_pairs(convert(y), s)[0], y)


@quiet
def test_targets_scalar_or_array():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    s = rng.normal(size=200) + y
    levels = np.array([[0.0, 0.01], [0.1, 1.0]])
    out = fnmr_at_fmr(y, s, fmr=levels)
    assert out.shape == (2, 2)
    assert out.tolist() == [[fnmr_at_fmr(y, s, fmr=v) for v in r] for r in levels]
    assert isinstance(fnmr_at_fmr(y, s, fmr=0.1), float)
    out = fmr_at_fnmr(y, s, fnmr=[0.5, 0.05])
    assert out.tolist() == [fmr_at_fnmr(y, s, fnmr=v) for v in (0.5, 0.05)]
    assert isinstance(equal_error_rate(y, s), float)
    eer, threshold = equal_error_rate(y, s, return_threshold=True)
    assert type(eer) is float and type(threshold) is float


# --------------------------------------------------------------------------
# bad input


GOOD_Y, GOOD_S = np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.3, 0.7])
MATRIX_Y = np.array(["a", "b", "c"])
MATRIX = np.eye(3)


@pytest.mark.parametrize(
    ("y_true", "y_score", "kwargs", "match"),
    [
        ([], [], {}, "empty"),
        (np.empty(0), np.empty((0, 3)), {}, "empty"),
        ([1, 1, 1], [0.1, 0.2, 0.3], {}, "y_true holds only one class"),
        ([0, 0], [0.1, 0.2], {}, "y_true holds only one class"),
        (["a", "a"], np.ones((2, 1)), {}, "single column"),
        (GOOD_Y, [0.1, np.nan, 0.3, 0.4], {}, "y_score must be finite.*1 NaN"),
        (GOOD_Y, [0.1, np.inf, 0.3, -np.inf], {}, "y_score must be finite.*2 inf"),
        (MATRIX_Y, np.where(MATRIX, np.nan, 0), {}, "y_score must be finite"),
        (GOOD_Y, GOOD_S[:3], {}, "y_true and y_score have different lengths"),
        (MATRIX_Y, MATRIX[:2], {}, "y_true has 3 samples but y_score has 2 rows"),
        (GOOD_Y[:, None], GOOD_S, {}, "y_true must be 1-D"),
        (GOOD_Y, GOOD_S.reshape(1, 2, 2), {}, "y_score must be 1-D.*or 2-D"),
        ([0, 1, 2, 1], GOOD_S, {}, "y_true must be binary"),
        ([-1, 0, 1, 1], GOOD_S, {}, "y_true must be binary"),
        (["no", "yes", "no", "yes"], GOOD_S, {}, "y_true must be binary"),
        (GOOD_Y, ["a", "b", "c", "d"], {}, "y_score must hold real numbers"),
        (GOOD_Y, GOOD_S, {"labels": [0, 1]}, "labels .* must be None"),
        (MATRIX_Y[:2], MATRIX[:2], {}, "3 columns but y_true has 2 distinct"),
        (MATRIX_Y, MATRIX, {"labels": ["a", "b"]}, "3 columns but labels has 2"),
        (MATRIX_Y, MATRIX, {"labels": ["a", "b", "x"]}, "y_true has 1 sample.*labels"),
        (MATRIX_Y, MATRIX, {"labels": [1, 2, 3]}, "y_true has 3 sample.*labels"),
        (MATRIX_Y, MATRIX, {"labels": ["a", "b", "a"]}, "labels must be distinct"),
        (MATRIX_Y, MATRIX, {"labels": [["a", "b", "c"]]}, "labels must be 1-D"),
    ],
)
@pytest.mark.parametrize(
    "func",
    [
        equal_error_rate,
        lambda y, s, **kw: fnmr_at_fmr(y, s, fmr=0.1, **kw),
        lambda y, s, **kw: fmr_at_fnmr(y, s, fnmr=0.1, **kw),
        det_points,
        verification_pairs,
    ],
    ids=["eer", "fnmr_at_fmr", "fmr_at_fnmr", "det_points", "pairs"],
)
def test_bad_input_raises_value_error_naming_the_argument(
    func, y_true, y_score, kwargs, match
):
    with pytest.raises(ValueError, match=match):
        func(y_true, y_score, **kwargs)


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan, "0.1", [0.1, 2.0], True, []])
def test_bad_target_rates(bad):
    with pytest.raises(ValueError, match="fmr"):
        fnmr_at_fmr(GOOD_Y, GOOD_S, fmr=bad)
    with pytest.raises(ValueError, match="fnmr"):
        fmr_at_fnmr(GOOD_Y, GOOD_S, fnmr=bad)


# --------------------------------------------------------------------------
# the warning


@pytest.mark.parametrize(
    "func",
    [
        equal_error_rate,
        lambda y, s: fnmr_at_fmr(y, s, fmr=0.1),
        lambda y, s: fmr_at_fnmr(y, s, fnmr=0.1),
    ],
)
def test_few_genuine_comparisons_warn(func):
    y, s = binary(np.arange(9) + 0.5, np.arange(20))
    with pytest.warns(UnreliableMetricWarning, match="9 genuine"):
        func(y, s)
    assert issubclass(UnreliableMetricWarning, UserWarning)
    y, s = binary(np.arange(10) + 0.5, np.arange(20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        func(y, s)


# --------------------------------------------------------------------------
# implementation properties


def test_float32_is_not_upcast_and_memory_stays_small():
    rng = np.random.default_rng(3)
    n = 1_000_000
    y = (rng.random(n) < 0.1).astype(np.int8)
    s = (rng.normal(size=n) + y).astype(np.float32)
    tracemalloc.start()
    try:
        eer = equal_error_rate(y, s)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # sorted genuine + impostor copies (1x) and two boolean masks: a float64
    # copy alone would be 2x the input
    assert peak < 1.8 * s.nbytes
    assert eer == equal_error_rate(y, s.astype(np.float64))
    assert verification_pairs(y, s)[1].dtype == np.float32


def test_importing_metrics_does_not_import_torch():
    code = (
        "import sys, skeer.metrics, skeer._validation, skeer.metrics; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------
# the shared engine and checks (skeer.metrics, skeer._validation)


@given(
    st.lists(st.integers(-3, 3), min_size=1, max_size=30),
    st.lists(st.integers(-3, 3), min_size=1, max_size=30),
)
@settings(max_examples=60, deadline=None)
def test_auc_is_roc_auc_score(genuine, impostor):
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    expected = roc_auc_score(y, np.r_[genuine, impostor])
    assert auc(np.array(genuine), np.array(impostor)) == pytest.approx(expected)


@given(st.floats(0, 1), st.integers(1, 10_000))
@settings(max_examples=200, deadline=None)
def test_allowed_count_is_the_largest_count_within_the_rate(rate, n):
    c = allowed_count(rate, n)
    assert 0 <= c <= n
    assert c / n <= rate
    assert c == n or (c + 1) / n > rate


def test_allowed_count_is_float_careful():
    # floor(0.29 * 100) = 28 in floating point, yet 29 / 100 <= 0.29
    assert math.floor(0.29 * 100) == 28
    assert allowed_count(0.29, 100) == 29


@pytest.mark.parametrize("value", ["eer", 0.001, 0.5, np.float32(0.25)])
def test_check_operating_point_accepts(value):
    out = check_operating_point(value)
    assert out == (value if value == "eer" else float(value))
    assert type(out) is (str if value == "eer" else float)


@pytest.mark.parametrize(
    "value",
    ["EER", "fmr", 0, 1, 0.0, 1.0, -0.1, np.nan, True, np.True_, None, 10**400],
)
def test_check_operating_point_refuses(value):
    with pytest.raises(ValueError, match="^threshold_at must be 'eer' or a target"):
        check_operating_point(value, "threshold_at")


def test_check_positive_int():
    assert check_positive_int(np.int16(7), "k") == 7
    assert type(check_positive_int(np.int64(7), "k")) is int
    assert check_positive_int(None, "k", allow_none=True) is None
    for bad in (0, -2, 2.0, True, np.True_, "3", None):
        with pytest.raises(ValueError, match="^k must be a positive integer, got"):
            check_positive_int(bad, "k")
    with pytest.raises(ValueError, match="positive integer or None"):
        check_positive_int(0, "k", allow_none=True)
    assert is_integer(np.uint8(0)) and not is_integer(False)


def test_check_real():
    assert check_real(3, "x") == 3.0 and type(check_real(3, "x")) is float
    assert check_real(0, "x", low=0.0, low_open=False) == 0.0
    assert check_real(2.0, "x", high=2.0, high_open=False) == 2.0
    cases = [
        (0.0, {"low": 0.0}, r"\(0.0, inf\)"),
        (2.0, {"low": 0.0, "high": 2.0}, r"\(0.0, 2.0\)"),
        (-1, {"low": 0.0, "low_open": False}, r"\[0.0, inf\)"),
        (np.inf, {}, r"\(-inf, inf\)"),
        (np.nan, {"low": 0.0}, "finite"),
        (True, {}, "got True"),
        ("1", {}, "got '1'"),
    ]
    for value, kwargs, match in cases:
        with pytest.raises(ValueError, match=f"^x must be .*{match}"):
            check_real(value, "x", **kwargs)


# --------------------------------------------------------------------------
# conventions of other tools (method=), against transcriptions of their code


def kvc_compute_eer(y, s):
    """The KVC-onGoing kit's utils/metrics.py compute_eer, restated."""
    fmr, tmr, _ = roc_curve(y, s, pos_label=1)
    fnmr = 1 - tmr
    k = np.nanargmin(np.abs(fnmr - fmr))
    return np.mean((fmr[k], fnmr[k]))


def kvc_compute_fnmr(y, s, fmr_t):
    """The KVC-onGoing kit's utils/metrics.py compute_fnmr, restated."""
    fmr, tmr, _ = roc_curve(y, s, pos_label=1)
    fnmr = 1 - tmr
    return fnmr[np.nanargmin(np.abs(fmr_t - fmr))]


def pyeer_rates(genuine, impostor):
    """pyeer's calculate_roc: rates at every distinct score, increasing."""
    genuine, impostor = np.asarray(genuine, float), np.asarray(impostor, float)
    thresholds = np.unique(np.r_[genuine, impostor])
    fnm = np.array([np.sum(genuine < t) for t in thresholds], float)
    fm = np.array([np.sum(impostor >= t) for t in thresholds], float)
    return fm / len(impostor), fnm / len(genuine)


def pyeer_eer(genuine, impostor):
    """pyeer's get_eer_values (None where pyeer warns and returns 1)."""
    fmr, fnmr = pyeer_rates(genuine, impostor)
    diff = fmr - fnmr
    t2 = np.where(diff <= 0)[0]
    if not len(t2):
        return None
    t2 = t2[0]
    t1 = t2 - 1 if diff[t2] != 0 and t2 != 0 else t2
    if fmr[t1] + fnmr[t1] <= fmr[t2] + fnmr[t2]:
        return (fnmr[t1] + fmr[t1]) / 2
    return (fnmr[t2] + fmr[t2]) / 2


def pyeer_fnmr(genuine, impostor, op):
    """pyeer's get_fmr_op."""
    fmr, fnmr = pyeer_rates(genuine, impostor)
    return fnmr[np.argmin(abs(fmr - op))]


def bob_eer(negatives, positives):
    """bob.measure's eer: _minimizing_threshold(|far - frr|), then farfrr."""
    neg, pos = np.sort(np.asarray(negatives, float)), np.sort(positives).astype(float)
    min_pred = min_thr = 1e8
    far, frr = 1.0, 0.0
    far_step, frr_step = 1.0 / len(neg), 1.0 / len(pos)
    p = n = 0
    cur = min(neg[0], pos[0])
    while p < len(pos) and n < len(neg):
        pred = abs(far - frr)
        if pred <= min_pred:
            min_pred, min_thr = pred, cur
        if pos[p] >= neg[n]:
            cur, n, far = neg[n], n + 1, far - far_step
        else:
            cur, p, frr = pos[p], p + 1, frr + frr_step
        while n < len(neg) and cur == neg[n]:
            n, far = n + 1, far - far_step
        while p < len(pos) and cur == pos[p]:
            p, frr = p + 1, frr + frr_step
        if n < len(neg) or p < len(pos):
            if n < len(neg) and p < len(pos):
                cur += min(neg[n], pos[p])
            else:
                cur += neg[n] if n < len(neg) else pos[p]
            cur /= 2
    if abs(far - frr) < min_pred:
        min_thr = cur
    # (bob also tries "reject all", |0 - 1| = 1: it never wins)
    far = np.sum(neg >= min_thr) / len(neg)
    frr = np.sum(pos < min_thr) / len(pos)
    return (far + frr) / 2.0, min_thr


@quiet
@settings(max_examples=300, deadline=None)
@given(genuine=tied, impostor=tied, fmr=st.sampled_from([0.0, 0.01, 0.1, 0.25, 0.5]))
def test_methods_reproduce_kvc_pyeer_and_bob(genuine, impostor, fmr):
    y, s = binary(genuine, impostor)
    assert equal_error_rate(y, s, method="nearest") == kvc_compute_eer(y, s)
    expected = pyeer_eer(genuine, impostor)
    if expected is not None:
        assert equal_error_rate(y, s, method="pyeer") == expected
    eer, threshold = equal_error_rate(y, s, method="bob", return_threshold=True)
    assert (eer, threshold) == bob_eer(impostor, genuine)
    assert fnmr_at_fmr(y, s, fmr=fmr, method="nearest") == kvc_compute_fnmr(y, s, fmr)
    assert fnmr_at_fmr(y, s, fmr=fmr, method="pyeer") == pyeer_fnmr(
        genuine, impostor, fmr
    )
    # bob.measure's far_threshold + farfrr is skeer's default at a fixed FMR
    assert fnmr_at_fmr(y, s, fmr=fmr, method="bob") == fnmr_at_fmr(y, s, fmr=fmr)


@quiet
def test_methods_reproduce_the_tools_on_continuous_scores():
    # many distinct scores: sklearn's drop_intermediate and bob's running
    # sums of 1/n (rounding) both matter here
    rng = np.random.default_rng(7)
    for _ in range(30):
        g = rng.normal(1, 1, rng.integers(5, 60)).round(rng.integers(1, 3))
        i = rng.normal(0, 1, rng.integers(5, 300)).round(rng.integers(1, 3))
        y, s = binary(g, i)
        assert equal_error_rate(y, s, method="nearest") == kvc_compute_eer(y, s)
        assert equal_error_rate(y, s, method="pyeer") == pyeer_eer(g, i)
        assert equal_error_rate(y, s, method="bob") == bob_eer(i, g)[0]
        for level in (0.001, 0.01, 0.1):
            assert fnmr_at_fmr(y, s, fmr=level, method="nearest") == (
                kvc_compute_fnmr(y, s, level)
            )
            assert fnmr_at_fmr(y, s, fmr=level, method="pyeer") == pyeer_fnmr(
                g, i, level
            )


def test_eer_methods_hand_worked():
    """Genuine 0.2, 0.3, 0.4 and impostors 0.1, 0.5, each four times.

    Operating points (accept score >= t), t: (FMR, FNMR)
      0.1: (1, 0)  0.2: (1/2, 0)  0.3: (1/2, 1/3)  0.4: (1/2, 2/3)
      0.5: (1/2, 1)  +inf: (0, 1)
    """
    y = np.repeat([0, 1, 1, 1, 0], 4)
    s = np.repeat([0.1, 0.2, 0.3, 0.4, 0.5], 4)
    # interpolate: the segment from (1/2, 1/3) at 0.3 to (1/2, 2/3) at 0.4
    # crosses FNMR = FMR halfway: EER 1/2, threshold 0.35
    assert equal_error_rate(y, s, return_threshold=True) == pytest.approx((0.5, 0.35))
    # nearest (KVC kit, sklearn's roc_curve): 0.3 and 0.4 are dropped (both
    # counts change by the same amounts on either side: collinear), leaving
    # 0.5 (|1 - 1/2|) and 0.2 (|0 - 1/2|) tied, the first in sklearn's order
    # (the higher threshold) wins: (1/2 + 1)/2 = 3/4
    assert equal_error_rate(y, s, method="nearest", return_threshold=True) == (
        0.75,
        0.5,
    )
    # pyeer: first FNMR >= FMR at 0.4, the point before is 0.3; the smaller
    # FMR + FNMR is 0.3's (5/6 < 7/6): (1/2 + 1/3)/2 = 5/12
    eer, threshold = equal_error_rate(y, s, method="pyeer", return_threshold=True)
    assert (eer, threshold) == (pytest.approx(5 / 12), 0.3)
    # bob: |FMR - FNMR| = 1/6 at 0.3 and 0.4; in running sums of 1/12,
    # 0.4's is the smaller by rounding; its threshold is the midpoint 0.35,
    # where FAR = 1/2, FRR = 2/3: (1/2 + 2/3)/2 = 7/12
    eer, threshold = equal_error_rate(y, s, method="bob", return_threshold=True)
    assert (eer, threshold) == (pytest.approx(7 / 12), pytest.approx(0.35))


def test_fnmr_at_fmr_methods_hand_worked():
    # genuine 10..19, impostors 0, 2, ..., 18: FMR at t is the share of
    # impostors >= t: 0.1 at t in {17, 18}, 0.2 at t in {15, 16}
    y = np.r_[np.ones(10), np.zeros(10)]
    s = np.r_[np.arange(10, 20), np.arange(0, 20, 2)]
    # at most 19 %: FMR 0.1, the lowest such threshold 17: FNMR 7/10
    assert fnmr_at_fmr(y, s, fmr=0.19) == 0.7
    assert fnmr_at_fmr(y, s, fmr=0.19, method="bob") == 0.7
    # nearest 19 % is FMR 0.2, above the target; the kit takes the highest
    # threshold on ties (16: FNMR 6/10), pyeer the lowest (15: FNMR 5/10)
    assert fnmr_at_fmr(y, s, fmr=0.19, method="nearest") == 0.6
    assert fnmr_at_fmr(y, s, fmr=0.19, method="pyeer") == 0.5
    # nearest 12 % is FMR 0.1: thresholds 18 (FNMR 0.8) and 17 (0.7)
    assert fnmr_at_fmr(y, s, fmr=0.12, method="nearest") == 0.8
    assert fnmr_at_fmr(y, s, fmr=0.12, method="pyeer") == 0.7


@pytest.mark.parametrize("bad", ["kvc", "NEAREST", None, 1])
def test_unknown_method_is_refused(bad):
    with pytest.raises(ValueError, match="method must be one of"):
        equal_error_rate(GOOD_Y, GOOD_S, method=bad)
    with pytest.raises(ValueError, match="method must be one of"):
        fnmr_at_fmr(GOOD_Y, GOOD_S, fmr=0.1, method=bad)


def test_pyeer_without_a_crossing_uses_the_reject_all_point():
    # every score tied: pyeer finds no FNMR >= FMR among the scores (it warns
    # and returns 1); skeer falls back on "reject all": (1, 0) vs (0, 1)
    y, s = binary([5.0] * 10, [5.0] * 10)
    assert equal_error_rate(y, s, method="pyeer") == 0.5


# --------------------------------------------------------------------------
# hostile inputs


def test_fmr_below_the_impostor_resolution_warns_once():
    # FNMR @ 0.1 % FMR from 12 impostors: the smallest non-zero FMR is 1/12
    y, s = binary(np.arange(20) + 0.5, np.arange(12))
    for method in ("interpolate", "nearest", "pyeer", "bob"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fnmr_at_fmr(y, s, fmr=[0.001, 0.002, 0.5], method=method)
        assert len(caught) == 1
        assert caught[0].category is UnreliableMetricWarning
        message = str(caught[0].message)
        assert "fmr=0.001, 0.002" in message and "12 impostor" in message
        assert "1/12" in message and "1000 impostor" in message
    with warnings.catch_warnings():  # 0 and 1/12 are resolvable
        warnings.simplefilter("error")
        fnmr_at_fmr(y, s, fmr=[0.0, 1 / 12, 0.5])
    # the mirror image: FMR @ 1 % FNMR from 20 genuine comparisons
    with pytest.warns(UnreliableMetricWarning, match="fnmr=0.01 .* 20 genuine"):
        fmr_at_fnmr(y, s, fnmr=0.01)


@quiet
@pytest.mark.parametrize(
    "y",
    [
        np.array([1, 0, 1, 0, 0], dtype=object),
        np.array([True, False, True, False, False], dtype=object),
        np.array([1.0, 0.0, 1.0, -0.0, 0.0], dtype=object),
    ],
    ids=["int", "bool", "float"],
)
def test_object_dtype_binary_labels_are_accepted(y):
    s = np.array([0.9, 0.2, 0.7, 0.4, 0.1])
    assert equal_error_rate(y, s) == equal_error_rate([1, 0, 1, 0, 0], s) == 0.0
    assert verification_pairs(y, s)[0].tolist() == [1, 0, 1, 0, 0]


PROBA = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.9, 0.1]])


@pytest.mark.parametrize(
    "y",
    [[0, 1, 1, 0], [True, False, False, True], [-1, 1, 1, -1], [1, 1, 1, 1]],
)
def test_binary_labels_with_two_column_scores_are_ambiguous(y):
    # e.g. binary labels with predict_proba: read as two identities, each
    # row's "own" column would be column y, a meaningless EER
    for func in (equal_error_rate, det_points, verification_pairs):
        with pytest.raises(ValueError, match=r"binary.*2 columns.*1-D scores.*labels"):
            func(y, PROBA)


@quiet
def test_binary_or_two_identities_said_explicitly_work():
    y = [0, 1, 1, 0]
    assert equal_error_rate(y, PROBA, labels=[0, 1]) == 0.0  # two identities
    assert equal_error_rate(y, PROBA[:, 1]) == 0.0  # binary labels


@quiet
def test_documented_identity_matrix_forms_still_work():
    rng = np.random.default_rng(4)
    S = rng.random((6, 3))
    # 0 .. n_columns - 1, sorted distinct integers, strings (sorted)
    for y in ([0, 1, 2, 2, 1, 0], [3, 5, 9, 9, 5, 3], list("abccba")):
        labels = sorted(set(y))
        assert equal_error_rate(y, S) == equal_error_rate(y, S, labels=labels)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.array([1, "a", 1], dtype=object), "cannot be ordered"),
        (np.array(["a", None, "b"], dtype=object), "cannot be ordered"),
        (np.array([1.0, np.nan, 2.0]), "missing identity"),
    ],
)
def test_identities_that_cannot_name_columns_are_refused(y, match):
    with pytest.raises(ValueError, match=match):
        equal_error_rate(y, np.eye(3))


@quiet
def test_float16_scores_are_computed_in_float32():
    # NumPy's float16 sort gives a non-monotone curve on some CPUs
    rng = np.random.default_rng(8)
    y = (rng.random(300_000) < 0.2).astype(np.int8)
    s = (rng.normal(size=300_000) + y).astype(np.float16)
    fmr, fnmr, thresholds = det_points(y, s)
    assert np.all(np.diff(fmr) <= 0) and np.all(np.diff(fnmr) >= 0)
    assert np.all(np.diff(thresholds) > 0)
    for a, b in zip((fmr, fnmr, thresholds), det_points(y, s.astype(np.float32))):
        np.testing.assert_array_equal(a, b)
    assert verification_pairs(y, s)[1].dtype == np.float32
    assert equal_error_rate(y, s) == equal_error_rate(y, s.astype(np.float32))


def test_integer_scores_beyond_float_precision_and_complex_scores_are_refused():
    y = [1, 0]
    big = np.array([2**53 + 1, 2**53], np.int64)
    with pytest.raises(ValueError, match=r"beyond 2\*\*53"):
        equal_error_rate(y, big)
    # within the exact range the ranking is exact
    assert equal_error_rate(y, np.array([2**53, 2**53 - 1], np.int64)) == 0.0
    with pytest.raises(ValueError, match="complex"):
        equal_error_rate(y, np.array([1 + 1j, 0 + 0j]))
    with pytest.raises(ValueError, match="complex"):
        equal_error_rate(y, np.array([1 + 0j, 0], dtype=object))


def test_big_integers_in_object_arrays_are_refused_too():
    y = [0, 0, 1, 1]
    scores = np.array([2**60, 2**60 + 1, 2**60 + 2, 2**60 + 3], dtype=object)
    with pytest.raises(ValueError, match=r"beyond 2\*\*53"):
        equal_error_rate(y, scores)
