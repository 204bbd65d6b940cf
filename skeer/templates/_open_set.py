"""The open-set protocol's mechanics: who enrols, who probes, how they are scored.

A *judge* enrols and scores rows in an estimator's own templates (or cosine
over plain features). NumPy and scikit-learn only.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from skeer.metrics._rates import UnreliableMetricWarning
from skeer.templates._templates import make_templates


class Judge:
    """Enrols and scores rows for a protocol: ``compute(rows)`` gives the features
    of sorted unique sample indices (once, by :meth:`rows`), ``make(F, codes,
    n_codes)`` the templates of subjects ``0..n_codes-1``."""

    def __init__(self, compute, make):
        self._compute, self._make = compute, make

    def rows(self, rows):
        """Compute the features of ``rows`` (sorted unique sample indices)."""
        self._rows = np.asarray(rows)
        self.F = self._compute(self._rows)

    def features(self, rows):
        return self.F[np.searchsorted(self._rows, rows)]

    def templates(self, rows, codes, n_codes):
        return self._make(self.features(rows), codes, n_codes)

    def claims(self, rows, templates, cols):
        return templates.claims(self.features(rows), cols)

    def matrix(self, rows, templates):
        return templates.matrix(self.features(rows))


def has_own_geometry(model):
    """Whether ``model`` (or a Pipeline's last step) enrols its own templates."""
    final = model[-1] if isinstance(model, Pipeline) else model
    return hasattr(final, "_new_templates") and hasattr(final, "_template_features")


def _cosine(F, codes, n_codes):
    return make_templates(F, codes, n_codes, "cosine")


def judge(model, X):
    """The :class:`Judge` for ``model``: its (or a Pipeline's last step's) own
    templates over its first steps' transform of ``X``; else cosine over
    ``model.transform(X)``, or over ``model`` itself (an array of embeddings)."""
    if model is None or isinstance(model, str):
        raise ValueError(
            "model must be an array of embeddings (n_samples, n_features), a fitted "
            "estimator with its own enrolment (e.g. KeystrokeVerifier or a "
            "skeer.baselines detector, or a Pipeline ending in one), or an object "
            f"with a transform method, got {model!r}."
        )
    if has_own_geometry(model):
        head = model[:-1] if isinstance(model, Pipeline) else []
        final = model[-1] if isinstance(model, Pipeline) else model
        kind, source, make = "estimator", "the model", final._new_templates

        def transform(Xr):
            return final._template_features(head.transform(Xr) if len(head) else Xr)

    elif hasattr(model, "transform"):
        kind, source, make = "transformer", "model.transform(X)", _cosine
        transform = model.transform
    else:
        Z = np.asarray(model)
        return Judge(
            lambda rows: _check_features(Z[rows], len(rows), "model (embeddings)"),
            _cosine,
        )

    def compute(rows):
        if X is None:
            raise ValueError(f"X is required when model is a fitted {kind}.")
        return _check_features(transform(_subset(X, rows)), len(rows), source)

    return Judge(compute, make)


def _subset(X, rows):
    if isinstance(X, np.ndarray):
        return X[rows]
    return _safe_indexing(X, np.asarray(rows))


def _check_features(Z, n_rows, source):
    Z = np.asarray(Z)
    if Z.dtype not in (np.float32, np.float64):
        Z = Z.astype(np.float64)
    if Z.ndim != 2:
        raise ValueError(f"{source} must be 2-D, got an array of shape {Z.shape}.")
    if len(Z) != n_rows:
        raise ValueError(f"{source} returned {len(Z)} rows for {n_rows} samples.")
    if not np.isfinite(Z).all():
        raise ValueError(f"{source} contains NaN or infinite values.")
    return Z


class OpenSetSplit(NamedTuple):
    """Which samples enrol and which probe, per subject (open-set protocol).

    ``subjects`` (m,) are the identities kept, ``enrol`` (m, G) their
    enrolment sample indices, ``probes`` the genuine probe indices with
    ``owner`` their subject index, ``impostor`` (m,) each subject's probe
    against every other template; ``n_skipped`` counts subjects left out.
    """

    subjects: np.ndarray
    enrol: np.ndarray
    probes: np.ndarray
    owner: np.ndarray
    impostor: np.ndarray
    n_skipped: int


def group_subjects(y):
    """Sample indices of each subject, stable: (subjects, order, starts, counts)."""
    ids, inverse = np.unique(y, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(ids))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.intp)
    return ids, order, starts, counts


def open_set_split(y, n_enroll, n_probe=None):
    """Per subject: the first ``n_enroll`` samples enrol, the last ``n_probe``
    (None: all the others) probe; subjects with fewer than ``n_enroll + 1``
    samples are skipped; each subject's first probe is also its impostor probe.
    """
    ids, order, starts, counts = group_subjects(y)
    kept = counts >= n_enroll + 1
    starts, counts = starts[kept], counts[kept]
    avail = counts - n_enroll
    n_probes = avail if n_probe is None else np.minimum(n_probe, avail)
    enrol = order[starts[:, None] + np.arange(n_enroll)]
    first_probe = starts + counts - n_probes
    owner = np.repeat(np.arange(len(starts)), n_probes)
    within = np.arange(int(n_probes.sum())) - np.repeat(
        np.cumsum(n_probes) - n_probes, n_probes
    )
    probes = order[first_probe[owner] + within]
    return OpenSetSplit(
        ids[kept], enrol, probes, owner, order[first_probe], int((~kept).sum())
    )


def tie_collapsed(scores):
    """``(scores, collapsed)``: scores whose whole spread is within a few
    float32 ulps (collapsed embeddings, whose rounding noise could give EER 0)
    are made exactly equal, with an ``UnreliableMetricWarning``."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) < 2:
        return scores, False
    top = float(np.max(np.abs(scores)))
    # relative to the scores' magnitude: tiny feature units are not a collapse
    if np.ptp(scores) > 8 * np.finfo(np.float32).eps * top:
        return scores, False
    warnings.warn(
        "All scores are equal up to float rounding: the model's embeddings have "
        "collapsed (or the inputs are identical); the error rates are those of "
        "a verifier that cannot tell anyone apart (EER 0.5).",
        UnreliableMetricWarning,
        stacklevel=3,
    )
    return np.full_like(scores, scores.mean()), True


def open_set_scores(judge_, split, *, compute=True):
    """``(genuine, S)``: ``genuine[k]`` scores probe ``split.probes[k]`` against
    its own template; ``S[b, a]`` subject ``b``'s impostor probe against
    subject ``a``'s template (the diagonal is genuine). ``compute=False``: the
    judge already holds the rows' features."""
    m = len(split.subjects)
    if compute:
        judge_.rows(np.unique(np.concatenate([split.enrol.ravel(), split.probes])))
    codes = np.repeat(np.arange(m), split.enrol.shape[1])
    templates = judge_.templates(split.enrol.ravel(), codes, m)
    genuine = np.asarray(
        judge_.claims(split.probes, templates, split.owner), dtype=np.float64
    )
    S = np.asarray(judge_.matrix(split.impostor, templates), dtype=np.float64)
    both, collapsed = tie_collapsed(np.r_[genuine, S.ravel()])
    if collapsed:
        genuine, S = both[: len(genuine)], both[len(genuine) :].reshape(S.shape)
    return genuine, S


def impostor_scores(S):
    """The off-diagonal entries of ``S`` (row-major: probe b against every a)."""
    m = len(S)
    return S[~np.eye(m, dtype=bool)]
