"""Smooth error rates and threshold searches on a pair vector (private).

Each pair gets an error term ``e = phi(K * sign * (x - d))`` (``sign`` +1
genuine, -1 impostor), so ``weights @ e / counts = [FRR_s(d), FAR_s(d)]``;
``phi`` is ``tanh(relu(z))`` or ``sigmoid(z)``. Static shapes, no host sync.
"""

import math

import torch

__all__ = [
    "SMOOTHINGS",
    "area_terms",
    "counted_range",
    "implicit_threshold",
    "smooth_rates",
    "soft_bisection",
]

SMOOTHINGS = ("tanh", "sigmoid")


def _phi(z, smoothing):
    if smoothing == "tanh":
        # tanh(relu(z)) through the logistic: tanh(y) = 2·sigmoid(2y) − 1
        # (torch's CPU tanh is several times slower than its sigmoid)
        return 2.0 * torch.sigmoid(2.0 * torch.relu(z)) - 1.0
    return torch.sigmoid(z)


def _phi_and_slope(z, smoothing):
    """``phi(z)`` and ``phi'(z)`` (the slope detached)."""
    e = _phi(z, smoothing)
    with torch.no_grad():
        if smoothing == "tanh":
            slope = torch.where(z > 0, 1.0 - e * e, torch.zeros_like(e))
        else:
            slope = e * (1.0 - e)
    return e, slope.detach()


def _sums(weights, values):
    """``weights @ values``, cascade-summed (more accurate than a float32 ``@``)."""
    return (weights * values).sum(dim=1)


def _safe_counts(counts):
    return counts.clamp_min(1.0)


def counted_range(pairs):
    """Detached ``(min, max)`` of the counted pair distances (``(inf, -inf)``: none)."""
    x = pairs.x.detach()
    if not pairs.restricted:
        return x.amin(), x.amax()
    counted = pairs.weights.sum(dim=0) > 0
    inf = torch.full_like(x, math.inf)
    return torch.where(counted, x, inf).amin(), torch.where(counted, x, -inf).amax()


def smooth_rates(pairs, threshold, sharpness, smoothing):
    """``[FRR_s, FAR_s]`` (fractions) at ``threshold``; differentiable."""
    z = sharpness * pairs.sign * (pairs.x - threshold)
    e = _phi(z, smoothing)
    return _sums(pairs.weights, e) / _safe_counts(pairs.counts)


def soft_bisection(pairs, target, sharpness, smoothing, steps):
    """The paper's smooth binary search for the threshold (:ref:`eerloss`)."""
    x, sign, weights = pairs.x, pairs.sign, pairs.weights
    counts = _safe_counts(pairs.counts)
    means = _sums(weights, x) / counts
    ends = torch.stack([0.5 * means[0], 1.5 * means[1]])  # [lo, hi]
    # tanh(relu(z)) = 2·(sigmoid(relu(2z)) − 0.5): the −0.5 is applied per
    # pair (summing s and subtracting counts·0.5 afterwards would cancel
    # catastrophically in float32: every correct pair would add 0.5).
    gain = 2.0 if smoothing == "tanh" else 1.0
    scaled = (gain * sharpness) * sign * x
    # K·rate% = offset + scale·(weights @ s); the soft weights are
    # c = exp(K·rate% − its max)
    if target is None:
        scale = (100.0 * sharpness) / counts
        offset = torch.zeros_like(scale)
    else:
        zero = torch.zeros_like(counts[1])
        scale = torch.stack([zero, 100.0 * sharpness / counts[1]])
        offset = torch.stack([torch.full_like(zero, 100.0 * sharpness * target), zero])
    if smoothing == "tanh":
        scale = 2.0 * scale
    for _ in range(steps):
        mid = ends.mean()
        z = torch.addcmul(scaled, sign, (gain * sharpness) * mid, value=-1.0)
        if smoothing == "tanh":
            s = torch.sigmoid(torch.relu(z)) - 0.5
        else:
            s = torch.sigmoid(z)
        krates = torch.addcmul(offset, scale, weights @ s)
        soft = torch.exp(krates - krates.amax())
        ends = torch.lerp(ends, mid, soft)  # end ← (1 − c)·end + c·m
    return ends.mean()


def _residual(z_scaled, sign, weights, counts, threshold, sharpness, smoothing, target):
    """g(d) = FAR_s(d) − (FRR_s(d) or target) and g'(d) (no graph)."""
    z = torch.addcmul(z_scaled, sign, sharpness * threshold, value=-1.0)
    e, slope = _phi_and_slope(z, smoothing)
    rates = _sums(weights, e) / counts
    slopes = sharpness * _sums(weights, slope) / counts  # [-FRR', FAR']
    if target is None:
        return rates[1] - rates[0], slopes[0] + slopes[1]
    return rates[1] - target, slopes[1]


def implicit_threshold(pairs, target, sharpness, smoothing, steps, newton_steps=3):
    """``(d*, [FRR_s, FAR_s], [FRR_s', FAR_s'])`` at the root, with implicit gradient.

    Bisection without a graph, then clipped Newton steps (:ref:`eerloss`).
    """
    x, sign, weights = pairs.x, pairs.sign, pairs.weights
    counts = _safe_counts(pairs.counts)
    xd = x.detach()
    x_min, x_max = counted_range(pairs)
    p = 0.5 if target is None else target
    width = (abs(math.log(p / (1.0 - p))) + 2.0) / sharpness
    lo = x_min - width
    hi = x_max + width
    # both ends finite even when every pair is excluded (x_min = inf)
    lo = torch.where(torch.isfinite(lo), lo, torch.zeros_like(lo))
    hi = torch.where(torch.isfinite(hi), hi, torch.ones_like(hi))
    z_scaled = sharpness * sign * xd
    args = (z_scaled, sign, weights, counts)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        z = torch.addcmul(z_scaled, sign, sharpness * mid, value=-1.0)
        rates = (weights @ _phi(z, smoothing)) / counts
        g = rates[1] - (rates[0] if target is None else target)
        right = g > 0  # root left of mid
        hi = torch.where(right, mid, hi)
        lo = torch.where(right, lo, mid)
    d = 0.5 * (lo + hi)
    tiny = torch.finfo(x.dtype).tiny
    for _ in range(newton_steps):
        g, gp = _residual(*args, d, sharpness, smoothing, target)
        step = torch.where(gp > tiny, g / gp.clamp_min(tiny), torch.zeros_like(g))
        d = torch.minimum(torch.maximum(d - step, lo), hi)
    d = d.detach()

    z = sharpness * sign * (x - d)
    e, slope = _phi_and_slope(z, smoothing)
    rates = _sums(weights, e) / counts  # graph through x
    slopes = sharpness * _sums(weights, slope) / counts
    slopes = torch.stack([-slopes[0], slopes[1]])  # [FRR', FAR']
    if target is None:
        g = rates[1] - rates[0]
        gp = slopes[1] - slopes[0]
    else:
        g = rates[1]
        gp = slopes[1]
    floor = torch.finfo(x.dtype).eps  # keeps 1/g' finite on degenerate batches
    threshold = d + (g.detach() - g) / gp.clamp_min(floor)
    return threshold, rates, slopes


def area_terms(pairs, threshold, beta, alpha, eps):
    """The paper's two overlap terms at ``threshold``, as fractions (:ref:`eerloss`)."""
    d = threshold.clamp_min(torch.finfo(pairs.x.dtype).tiny)
    ratio = pairs.sign * pairs.x / d - pairs.sign + alpha
    powered = ratio.clamp_min(eps) ** beta
    means = _sums(pairs.weights, powered) / _safe_counts(pairs.counts)
    means = torch.where(pairs.counts > 0, means, torch.ones_like(means))
    return means ** (1.0 / beta)
