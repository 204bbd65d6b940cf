"""Bootstrap CIs of error rates, resampling subjects (their comparisons are not
independent): each comparison weighs as often as its template owner was drawn.
"""

import numpy as np


class SortedComparisons:
    """Comparisons sorted by score, with ``owner``: each template's subject index."""

    def __init__(self, y_true, scores, owner, n_subjects):
        order = np.argsort(scores, kind="stable")
        s = np.asarray(scores, dtype=np.float64)[order]
        self.genuine = np.asarray(y_true)[order].astype(bool)
        self.owner = np.asarray(owner)[order]
        self.n_subjects = int(n_subjects)
        first = np.empty(len(s), dtype=bool)
        first[:1] = True
        np.not_equal(s[1:], s[:-1], out=first[1:])
        self.starts = np.flatnonzero(first)
        self._n_gen = np.bincount(self.owner[self.genuine], minlength=self.n_subjects)
        self._n_imp = np.bincount(self.owner[~self.genuine], minlength=self.n_subjects)
        # distinct scores each side of a full-data threshold a replicate scans
        self.half_window = max(256, len(self.starts) // 40)
        self._cache, self._fixed = {}, {}

    def rates(self, weights=None, window=None):
        """Weighted ``(gen, imp, n_genuine, n_impostor, first)`` in ``window``."""
        counts = (
            np.ones(self.n_subjects, dtype=np.int64)
            if weights is None
            else np.asarray(weights, dtype=np.int64)
        )
        n_genuine = float(counts @ self._n_gen)
        n_impostor = float(counts @ self._n_imp)
        k0, k1 = (0, len(self.starts)) if window is None else window
        p0 = self.starts[k0]
        p1 = self.starts[k1] if k1 < len(self.starts) else len(self.owner)
        if window is None:
            below_g, above_i = 0, 0
        else:
            if self._cache.get("key") != (k0, k1):  # per subject, outside the window
                g, owner = self.genuine, self.owner
                below = np.bincount(owner[:p0][g[:p0]], minlength=self.n_subjects)
                above = np.bincount(owner[p1:][~g[p1:]], minlength=self.n_subjects)
                self._cache = {"key": (k0, k1), "value": (below, above)}
            below_g, above_i = self._cache["value"]
            below_g, above_i = float(counts @ below_g), float(counts @ above_i)
        w = counts[self.owner[p0:p1]]
        wg = w * self.genuine[p0:p1]
        cg = np.empty(len(w) + 1, dtype=np.int64)
        ci = np.empty(len(w) + 1, dtype=np.int64)
        cg[0] = ci[0] = 0
        np.cumsum(wg, out=cg[1:])
        np.subtract(w, wg, out=wg)
        np.cumsum(wg, out=ci[1:])
        idx = self.starts[k0:k1] - p0
        gen = below_g + cg[idx].astype(np.float64)
        imp = above_i + (ci[-1] - ci[idx]).astype(np.float64)
        return gen, imp, n_genuine, n_impostor, k0

    def _window(self, k, weights):
        if weights is None or len(self.starts) <= 4 * self.half_window:
            return None
        return max(0, k - self.half_window), min(len(self.starts), k + self.half_window)

    def eer(self, weights=None, *, _k=None):
        """Weighted EER, interpolated as :func:`~skeer.metrics.equal_error_rate`."""
        if "eer_k" not in self._fixed:
            gen, imp, ng, ni, _ = self.rates()
            above = gen * ni >= imp * ng
            self._fixed["eer_k"] = int(np.argmax(above)) if above.any() else len(gen)
        window = self._window(self._fixed["eer_k"], weights) if _k is None else None
        gen, imp, ng, ni, first = self.rates(weights, window)
        if ng == 0 or ni == 0:
            return np.nan
        above = gen * ni >= imp * ng  # FNMR >= FMR
        k = int(np.argmax(above)) if above.any() else len(gen)
        if window is not None and (
            k == 0 or (k == len(gen) and window[1] < len(self.starts))
        ):
            return self.eer(weights, _k=True)  # the crossing left the window
        if k == 0:
            return 0.0
        g0, i0 = gen[k - 1], imp[k - 1]
        g1, i1 = (ng, 0.0) if k == len(gen) else (gen[k], imp[k])
        d0, d1 = g0 * ni - i0 * ng, g1 * ni - i1 * ng
        lam = d0 / (d0 - d1)
        return float((g0 + lam * (g1 - g0)) / ng)

    def fnmr_at_fmr(self, fmr, weights=None, *, _k=None):
        """Weighted FNMR at the lowest threshold whose FMR is ``<= fmr``."""
        key = ("fnmr_k", fmr)
        if key not in self._fixed:
            gen, imp, ng, ni, _ = self.rates()
            ok = imp / ni <= fmr if ni else np.zeros(len(gen), bool)
            self._fixed[key] = int(np.argmax(ok)) if ok.any() else len(gen)
        window = self._window(self._fixed[key], weights) if _k is None else None
        gen, imp, ng, ni, _ = self.rates(weights, window)
        if ng == 0 or ni == 0:
            return np.nan
        ok = imp / ni <= fmr
        if window is not None and (
            ok[0] and window[0] > 0 or not ok.any() and window[1] < len(self.starts)
        ):
            return self.fnmr_at_fmr(fmr, weights, _k=True)
        return float(gen[int(np.argmax(ok))] / ng) if ok.any() else 1.0


def _draws(n_subjects, n_bootstraps, random_state):
    rng = np.random.default_rng(random_state)
    return rng.multinomial(
        n_subjects, np.full(n_subjects, 1 / n_subjects), n_bootstraps
    )


def _interval(values, confidence):
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return [float("nan"), float("nan")]
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return [float(lo), float(hi)]


def subject_intervals(
    comparisons,
    subject_eer,
    *,
    fmr_levels=(),
    n_bootstraps=200,
    confidence=0.95,
    random_state=0,
    pooled=True,
):
    """Percentile CIs: ``{"mean_subject_eer": [lo, hi], "eer": ..., ...}``."""
    draws = _draws(comparisons.n_subjects, n_bootstraps, random_state)
    subject_eer = np.asarray(subject_eer, dtype=np.float64)
    out = {
        "mean_subject_eer": _interval(
            draws @ subject_eer / len(subject_eer), confidence
        )
    }
    if pooled:
        out["eer"] = _interval([comparisons.eer(w) for w in draws], confidence)
        for level in fmr_levels:
            values = [comparisons.fnmr_at_fmr(level, w) for w in draws]
            out[f"fnmr_at_fmr_{level:g}"] = _interval(values, confidence)
    return out


def paired_intervals(
    a, b, subject_a, subject_b, metric, *, n_bootstraps, confidence, random_state
):
    """Bootstrap distribution of ``metric(a) - metric(b)`` on shared subjects."""
    draws = _draws(a.n_subjects, n_bootstraps, random_state)
    if metric == "mean_subject_eer":
        diff = np.asarray(subject_a, np.float64) - np.asarray(subject_b, np.float64)
        point = float(diff.mean())
        values = draws @ diff / len(diff)
    elif metric == "eer":
        point = a.eer() - b.eer()
        values = [a.eer(w) - b.eer(w) for w in draws]
    else:
        level = float(metric.rsplit("_", 1)[1])
        point = a.fnmr_at_fmr(level) - b.fnmr_at_fmr(level)
        values = [a.fnmr_at_fmr(level, w) - b.fnmr_at_fmr(level, w) for w in draws]
    values = np.asarray(values, dtype=np.float64)
    return point, _interval(values, confidence), values
