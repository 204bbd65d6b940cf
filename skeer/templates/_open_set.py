"""The open-set protocol's mechanics: who enrols, who probes, how they are scored.

Per subject the first ``n_enroll`` samples enrol and the last ones probe
(:func:`open_set_split`); a *judge* enrols and scores rows in an estimator's
own templates (:func:`judge`: the verifier, a detector, a ``Pipeline`` ending
in one, or plain features scored with cosine); :func:`open_set_scores` and
:func:`impostor_scores` turn a split into genuine and impostor comparisons.
NumPy and scikit-learn only.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from skeer.metrics._rates import UnreliableMetricWarning
from skeer.templates._templates import make_templates


class Judge:
    """Enrols and scores rows for a protocol: features once, then templates.

    Parameters
    ----------
    compute : callable
        ``compute(rows)``: the features of the sorted unique sample indices
        ``rows`` (called once per protocol, by :meth:`rows`).
    make : callable
        ``make(F, codes, n_codes)``: the :class:`~skeer.templates.Templates`
        of subjects ``0..n_codes-1`` from rows of features ``F``.
    """

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
    """The :class:`Judge` that enrols and scores for ``model`` in a protocol.

    - A fitted estimator that enrols its own templates (or a Pipeline ending
      in one): its first steps transform ``X``, its last step's
      ``_template_features`` and ``_new_templates`` enrol and score.
    - An object with ``transform``: cosine over ``transform(X)``.
    - An array: cosine over those embeddings (``X`` unused).
    """
    if model is None or isinstance(model, str):
        raise ValueError(
            "model must be an array of embeddings (n_samples, n_features), a fitted "
            "estimator with its own enrolment (e.g. KeystrokeVerifier or a "
            "skeer.baselines detector, or a Pipeline ending in one), or an object "
            f"with a transform method, got {model!r}."
        )
    if has_own_geometry(model):
        if isinstance(model, Pipeline):
            head, final = model[:-1], model[-1]
        else:
            head, final = None, model

        def features(rows):
            if X is None:
                raise ValueError("X is required when model is a fitted estimator.")
            Xr = _subset(X, rows)
            if head is not None and len(head):
                Xr = head.transform(Xr)
            return _check_features(final._template_features(Xr), len(rows), "the model")

        return Judge(features, final._new_templates)
    if hasattr(model, "transform"):

        def embed(rows):
            if X is None:
                raise ValueError("X is required when model is a fitted transformer.")
            Z = model.transform(_subset(X, rows))
            return _check_features(Z, len(rows), "model.transform(X)")

        return Judge(embed, _cosine)
    Z = np.asarray(model)
    return Judge(
        lambda rows: _check_features(Z[rows], len(rows), "model (embeddings)"),
        _cosine,
    )


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
    ``owner`` their subject index in ``[0, m)``, and ``impostor`` (m,) the one
    probe of each subject that is scored against every other template.
    ``n_skipped`` counts subjects with fewer than ``G + 1`` samples.
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
    """Per subject: the first ``n_enroll`` samples enrol, the last probe.

    ``n_probe=None`` probes with every sample after the enrolment ones.
    Subjects with fewer than ``n_enroll + 1`` samples are skipped (counted).
    Each subject's first probe is its impostor probe against every other
    subject.
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
    """``scores``, or all-equal scores if they differ only by float rounding.

    A model whose embeddings collapsed to one point gives scores that differ
    only in their last bits (cosine ``1.00000012`` for a genuine pair against
    ``1.0`` for an impostor one), and an EER computed from that rounding noise can
    come out as 0. Scores whose whole spread is within a few float32 ulps are
    therefore made exactly equal (EER 0.5, AUC 0.5, as a collapsed model
    deserves), with an :class:`~skeer.metrics.UnreliableMetricWarning`.

    Returns ``(scores, collapsed)``.
    """
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


def open_set_scores(judge_, split):
    """Genuine scores and the impostor score matrix of an open-set split.

    Returns ``(genuine, S)``: ``genuine[k]`` scores probe ``split.probes[k]``
    against its own template; ``S[b, a]`` scores subject ``b``'s impostor
    probe against subject ``a``'s template (the diagonal is a genuine score,
    not an impostor one).
    """
    m = len(split.subjects)
    rows = np.unique(np.concatenate([split.enrol.ravel(), split.probes]))
    judge_.rows(rows)
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
