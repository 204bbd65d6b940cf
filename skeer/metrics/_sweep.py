"""The exact error-rate sweep on sorted scores (private, NumPy only).

At threshold ``t`` (accept ``score >= t``), ``g(t)`` genuine scores lie below and
``i(t)`` impostor ones at or above; ``*_sorted`` functions take ``(genuine,
impostor, n_genuine, n_impostor)``: lists of sorted runs per class, and counts.
"""

import math
import warnings

import numpy as np

from skeer.metrics._checks import check_target_rates

__all__ = [
    "METHODS",
    "MIN_GENUINE",
    "UnreliableMetricWarning",
    "allowed_count",
    "auc",
    "check_method",
    "curve_counts",
    "det_sorted",
    "eer_by_method",
    "eer_sorted",
    "fmr_at_fnmr_sorted",
    "fnmr_at_fmr_by_method",
    "fnmr_at_fmr_sorted",
    "rates_at_targets",
    "search",
    "warn_few_genuine",
    "warn_resolution",
]

#: Fewer genuine comparisons than this trigger :class:`UnreliableMetricWarning`.
MIN_GENUINE = 10

#: The conventions of ``method=`` (see :func:`skeer.metrics.equal_error_rate`).
METHODS = ("interpolate", "nearest", "pyeer", "bob")


class UnreliableMetricWarning(UserWarning):
    """Warn that an error rate rests on too few comparisons to be reliable.

    Issued with fewer than 10 genuine comparisons, and when a target rate is
    finer than the comparisons resolve (e.g. FMR 0.1 % from 12 impostors).

    Examples
    --------
    >>> import warnings
    >>> from skeer.metrics._rates import UnreliableMetricWarning, equal_error_rate
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     eer = equal_error_rate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> caught[0].category is UnreliableMetricWarning
    True
    """


def warn_few_genuine(n_genuine, stacklevel=3):
    """Warn (:class:`UnreliableMetricWarning`) below :data:`MIN_GENUINE` genuine."""
    if n_genuine < MIN_GENUINE:
        warnings.warn(
            f"Only {n_genuine} genuine comparison(s) (fewer than {MIN_GENUINE}): "
            "each one moves the FNMR by more than 10 points, so this error rate "
            "(the EER in particular) is unreliable.",
            UnreliableMetricWarning,
            stacklevel=stacklevel,
        )


def warn_resolution(targets, n, name, stacklevel=3):
    """Warn once for a target in (0, 1/n): below ``n`` comparisons' resolution."""
    flat = np.asarray(targets, dtype=np.float64).ravel()
    fine = np.unique(flat[(flat > 0) & (flat * n < 1)])
    if not fine.size:
        return
    kind = "impostor" if name == "fmr" else "genuine"
    rate = name.upper()
    needed = 1.0 / float(fine[0])  # a Python float: inf, never an error
    needed = f"{math.ceil(needed)}" if needed < 1e15 else f"{needed:.3g}"
    shown = ", ".join(f"{t:g}" for t in fine[:5]) + (", ..." if fine.size > 5 else "")
    warnings.warn(
        f"{name}={shown} is below the resolution of {n} {kind} comparison(s): "
        f"the smallest non-zero {rate} they can measure is 1/{n} = {1 / n:.3g}, "
        f"so no operating point has that {rate} (only {rate} = 0 is below it) "
        "and the rate reported for it is not an estimate at the target. It needs "
        f"at least {needed} {kind} comparisons, many more for a stable estimate.",
        UnreliableMetricWarning,
        stacklevel=stacklevel,
    )


def check_method(method):
    """``method`` as one of :data:`METHODS`, or ``ValueError``."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}.")
    return method


def search(genuine, impostor, n_impostor, predicate):
    """``(t, g, i)`` at the last score where ``predicate`` fails, the first it holds."""
    runs = [*genuine, *impostor]
    n_gen_runs = len(genuine)
    start = [0] * len(runs)
    stop = [len(run) for run in runs]
    lo = hi = None
    while True:
        # probe the weighted median of the windows' middles: a quarter goes
        live = [k for k in range(len(runs)) if stop[k] > start[k]]
        if not live:
            return lo, hi
        middles = np.array([runs[k][(start[k] + stop[k]) // 2] for k in live])
        weights = np.array([stop[k] - start[k] for k in live])
        order = np.argsort(middles, kind="stable")
        cum = np.cumsum(weights[order])
        pivot = middles[order[np.searchsorted(cum, cum[-1] / 2)]]
        below = [int(run.searchsorted(pivot, side="left")) for run in runs]
        g = sum(below[:n_gen_runs])
        i = n_impostor - sum(below[n_gen_runs:])
        if predicate(g, i):
            hi = (pivot, g, i)
            stop = [max(a, min(b, p)) for a, b, p in zip(start, stop, below)]
        else:
            lo = (pivot, g, i)
            upto = [int(run.searchsorted(pivot, side="right")) for run in runs]
            start = [min(b, max(a, p)) for a, b, p in zip(start, stop, upto)]


def allowed_count(rate, n):
    """Largest ``c`` in ``[0, n]`` with ``c / n <= rate`` in float arithmetic."""
    c = min(n, math.floor(rate * n))
    while c < n and (c + 1) / n <= rate:
        c += 1
    while c > 0 and c / n > rate:
        c -= 1
    return c


def eer_sorted(genuine, impostor, n_genuine, n_impostor):
    """(EER, threshold) from sorted runs (:func:`skeer.metrics.equal_error_rate`)."""
    lo, hi = search(
        genuine,
        impostor,
        n_impostor,
        lambda g, i: g * n_impostor >= i * n_genuine,  # FNMR >= FMR, exactly
    )
    # lo exists: at the lowest score FNMR = 0 < FMR = 1.
    t0, g0, i0 = lo
    t0 = float(t0)
    if hi is None:  # the crossing is towards "reject all" (threshold +inf)
        t1, g1, i1 = math.nextafter(t0, math.inf), n_genuine, 0
    else:
        t1, g1, i1 = float(hi[0]), hi[1], hi[2]
    d0 = g0 * n_impostor - i0 * n_genuine  # < 0 (integers: exact)
    d1 = g1 * n_impostor - i1 * n_genuine  # >= 0
    lam = d0 / (d0 - d1)
    eer = (g0 + lam * (g1 - g0)) / n_genuine
    threshold = t1 if lam == 1 else (1 - lam) * t0 + lam * t1
    return eer, threshold


def fnmr_at_fmr_sorted(genuine, impostor, n_genuine, n_impostor, fmr):
    """Lowest FNMR with an FMR at most ``fmr`` (:func:`skeer.metrics.fnmr_at_fmr`)."""
    allowed = allowed_count(fmr, n_impostor)
    _, hi = search(genuine, impostor, n_impostor, lambda g, i: i <= allowed)
    return 1.0 if hi is None else hi[1] / n_genuine


def fmr_at_fnmr_sorted(genuine, impostor, n_genuine, n_impostor, fnmr):
    """Lowest FMR with an FNMR at most ``fnmr`` (:func:`skeer.metrics.fmr_at_fnmr`)."""
    allowed = allowed_count(fnmr, n_genuine)
    if allowed >= n_genuine:  # rejecting everything is allowed: FMR = 0
        return 0.0
    lo, _ = search(genuine, impostor, n_impostor, lambda g, i: g > allowed)
    return lo[2] / n_impostor  # lo exists: at the lowest score g = 0


def curve_counts(genuine, impostor, n_impostor):
    """``(scores, g, i)`` at every distinct score, increasing (int64 counts)."""
    merged = np.concatenate([*genuine, *impostor])
    merged.sort()
    first = np.empty(len(merged), dtype=bool)
    first[0] = True
    np.not_equal(merged[1:], merged[:-1], out=first[1:])
    n_below = np.flatnonzero(first)  # number of scores below each distinct score
    scores = merged[n_below]
    del merged, first
    g = sum(run.searchsorted(scores, side="left") for run in genuine)
    g = np.asarray(g, dtype=np.int64)
    n_below -= g  # impostor scores below the threshold
    np.subtract(n_impostor, n_below, out=n_below)  # ... and at or above it
    return scores, g, n_below


def det_sorted(genuine, impostor, n_genuine, n_impostor):
    """(fmr, fnmr, thresholds) at every distinct score, then +inf."""
    scores, g, i = curve_counts(genuine, impostor, n_impostor)
    m = len(scores)
    thresholds = np.empty(m + 1)
    thresholds[:m] = scores
    thresholds[m] = np.inf
    del scores
    fnmr = np.empty(m + 1)
    np.divide(g, n_genuine, out=fnmr[:m])
    fnmr[m] = 1.0
    del g
    fmr = np.empty(m + 1)
    np.divide(i, n_impostor, out=fmr[:m])
    fmr[m] = 0.0
    return fmr, fnmr, thresholds


def _above(score):
    """The smallest float above ``score``: the finite stand-in for +inf."""
    return math.nextafter(float(score), math.inf)


def _kvc_curve(genuine, impostor, n_genuine, n_impostor):
    """The KVC kit's ``roc_curve`` points as ``(fmr, fnmr, thresholds)``."""
    scores, g, i = curve_counts(genuine, impostor, n_impostor)
    fps = i[::-1].astype(np.float64)
    tps = (n_genuine - g[::-1]).astype(np.float64)
    thresholds = scores[::-1].astype(np.float64)
    if len(fps) > 2:
        keep = np.r_[
            True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True
        ].nonzero()[0]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps = np.r_[0.0, fps]
    tps = np.r_[0.0, tps]
    thresholds = np.r_[_above(scores[-1]), thresholds]
    fmr = fps / fps[-1]
    fnmr = 1 - tps / tps[-1]
    return fmr, fnmr, thresholds


def _rates(genuine, impostor, n_genuine, n_impostor):
    """(fmr, fnmr, scores, g, i) at every distinct score, increasing."""
    scores, g, i = curve_counts(genuine, impostor, n_impostor)
    return i / n_impostor, g / n_genuine, scores, g, i


def eer_by_method(genuine, impostor, n_genuine, n_impostor, method):
    """(EER, threshold) under a convention of :data:`METHODS` (see equal_error_rate)."""
    if method == "interpolate":
        return eer_sorted(genuine, impostor, n_genuine, n_impostor)
    if method == "nearest":
        fmr, fnmr, thresholds = _kvc_curve(genuine, impostor, n_genuine, n_impostor)
        k = int(np.argmin(np.abs(fnmr - fmr)))  # the first: the highest threshold
        return float((fmr[k] + fnmr[k]) / 2), float(thresholds[k])
    fmr, fnmr, scores, g, i = _rates(genuine, impostor, n_genuine, n_impostor)
    if method == "pyeer":
        diff = fmr - fnmr
        below = np.flatnonzero(diff <= 0)
        if below.size:
            t2 = int(below[0])
            t1 = t2 - 1 if diff[t2] != 0 and t2 != 0 else t2
        else:  # no crossing among the scores: the reject-all point is t2
            fmr, fnmr = np.r_[fmr, 0.0], np.r_[fnmr, 1.0]
            scores = np.r_[scores.astype(np.float64), _above(scores[-1])]
            t2 = len(fmr) - 1
            t1 = t2 - 1
        k = t1 if fmr[t1] + fnmr[t1] <= fmr[t2] + fnmr[t2] else t2
        return float((fnmr[k] + fmr[k]) / 2), float(scores[k])
    return _bob_eer(genuine, impostor, n_genuine, n_impostor, scores, g, i)


def _sequential(start, step, counts, chunk=1 << 20):
    """What a ``value += step`` loop from ``start`` holds after each sorted count."""
    out = np.empty(len(counts))
    carry, done, k = float(start), 0, 0
    top = int(counts[-1]) if len(counts) else 0
    while k < len(counts):
        n = min(chunk, top - done)
        run = np.add.accumulate(np.r_[carry, np.full(n, step)])  # run[j]: done + j
        while k < len(counts) and counts[k] <= done + n:
            out[k] = run[counts[k] - done]
            k += 1
        carry, done = run[-1], done + n
    return out


def _bob_eer(genuine, impostor, n_genuine, n_impostor, scores, g, i):
    """bob.measure's ``eer``: its running-sum threshold search, exact rates there."""
    m = len(scores)
    # points 1..k_in are compared with "<=", point k_in + 1 with "<"
    top = min(
        max(float(run[-1]) for run in genuine if len(run)),
        max(float(run[-1]) for run in impostor if len(run)),
    )
    k_in = int(np.searchsorted(scores, top, side="left")) + 1
    last = min(k_in + 1, m)
    far = _sequential(1.0, -1.0 / n_impostor, n_impostor - i[:last])
    frr = _sequential(0.0, 1.0 / n_genuine, g[:last])
    gap = np.abs(far - frr)
    best = k_in - 1 - int(np.argmin(gap[:k_in][::-1]))  # ties: the later
    if last > k_in and gap[k_in] < gap[best]:
        best = k_in
    if best == 0:
        threshold = scores[0]
    else:
        threshold = (scores[best - 1] + scores[best]) / scores.dtype.type(2)
    below_g = sum(int(run.searchsorted(threshold, side="left")) for run in genuine)
    below_i = sum(int(run.searchsorted(threshold, side="left")) for run in impostor)
    far_t = (n_impostor - below_i) / n_impostor
    frr_t = below_g / n_genuine
    return float((far_t + frr_t) / 2.0), float(threshold)


def fnmr_at_fmr_by_method(genuine, impostor, n_genuine, n_impostor, fmr, method):
    """FNMR at a target FMR under a convention of :data:`METHODS` (see fnmr_at_fmr)."""
    if method in ("interpolate", "bob"):
        return fnmr_at_fmr_sorted(genuine, impostor, n_genuine, n_impostor, fmr)
    if method == "nearest":
        rates, fnmrs, _ = _kvc_curve(genuine, impostor, n_genuine, n_impostor)
    else:  # pyeer: the distinct scores only, the lowest threshold on ties
        rates, fnmrs, _, _, _ = _rates(genuine, impostor, n_genuine, n_impostor)
    return float(fnmrs[int(np.argmin(np.abs(fmr - rates)))])


def rates_at_targets(rate_at, value, name, load_runs, *, stacklevel=4):
    """``rate_at(*runs, target)`` per target of ``value`` (in its shape), warned."""
    targets, scalar = check_target_rates(value, name)
    runs = load_runs()
    warn_few_genuine(runs[2], stacklevel=stacklevel)
    warn_resolution(targets, runs[3] if name == "fmr" else runs[2], name, stacklevel)
    if scalar:
        return rate_at(*runs, float(targets))
    flat = targets.ravel().tolist()
    cache = {t: rate_at(*runs, t) for t in dict.fromkeys(flat)}
    return np.array([cache[t] for t in flat]).reshape(targets.shape)


def auc(genuine, impostor):
    """ROC AUC as :func:`sklearn.metrics.roc_auc_score` (Mann-Whitney, one sort)."""
    impostor = np.sort(impostor)
    below = np.searchsorted(impostor, genuine, side="left").sum(dtype=np.float64)
    upto = np.searchsorted(impostor, genuine, side="right").sum(dtype=np.float64)
    return float((below + upto) / 2 / (len(genuine) * len(impostor)))
