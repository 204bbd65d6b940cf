"""The one template geometry: enrol samples, score probes, threshold claims.

Everything in skeer that turns samples into a template and scores a probe
against it comes through here: :class:`~skeer.KeystrokeVerifier` (``enroll``,
``decision_function``, ``claim_scores``, ``valid_eer`` and ``threshold_``), the
non-learned detectors of :mod:`skeer.baselines`, the evaluation protocols of
:mod:`skeer.protocols` and the open-set scorers.

A *geometry* is how ``G`` feature vectors of one subject become a template and
how a probe is scored against it (scores are similarities: higher means the
same person):

- ``"cosine"``: the template is the renormalised mean of the L2-normalised
  vectors; the score is the cosine similarity (a dot product of unit vectors).
- ``"scaled_manhattan"``: the template is the per-dimension mean and mean
  absolute deviation; the score is ``-sum_j |x_j - mu_j| / mad_j`` (Killourhy &
  Maxion's best detector).
- ``"manhattan"``: ``-sum_j |x_j - mu_j|``.
- ``"euclidean"``: ``-sum_j (x_j - mu_j)**2``.

An estimator that owns a geometry implements two private methods that the
protocols call, so that a fitted estimator is judged by its own enrolment:
``_make_templates(X, codes, n_codes) -> Templates`` and
``_score_templates(X, templates, cols=None)`` (a score matrix, or one score per
row against template ``cols[i]``). ``X`` is the estimator's own input (what its
``fit`` takes). A bare array of embeddings, or an object that only has
``transform``, is scored with the cosine geometry.

Nothing here imports torch.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from ._sweep import allowed_count
from .metrics import UnreliableMetricWarning, equal_error_rate

GEOMETRIES = ("cosine", "scaled_manhattan", "manhattan", "euclidean")

#: Entries of one block of intermediate values (samples x templates x dims for
#: the L1 geometries, samples x templates for cosine): 2**24 float32 = 64 MiB.
_BLOCK = 2**24


class Templates(NamedTuple):
    """Templates of ``n_codes`` subjects in one geometry.

    ``center`` is ``(n_codes, d)`` (unit rows for ``"cosine"``); ``scale`` is
    ``(n_codes, d)`` for ``"scaled_manhattan"`` and None otherwise. Both are
    float32, or float64 when made from float64 features.
    """

    center: np.ndarray
    scale: np.ndarray | None = None


def check_geometry(geometry, name="template"):
    """Return ``geometry`` if it is one of :data:`GEOMETRIES`, else raise."""
    if not isinstance(geometry, str) or geometry not in GEOMETRIES:
        raise ValueError(f"{name} must be one of {GEOMETRIES}, got {geometry!r}.")
    return geometry


def resolve_template(template, template_input, ndim):
    """``(geometry, with_input)`` of the parameters for ``ndim``-D input.

    On fixed text (GREYC-NISLAB, 5 subject folds x 5 passphrases x 3 seeds)
    scaled Manhattan over [embedding, standardised input] had a mean subject
    EER of 0.115 against 0.136 for Killourhy & Maxion's scaled Manhattan and
    0.150 for the cosine embedding; free text keeps the cosine geometry.
    """
    if template == "auto":
        template = "scaled_manhattan" if ndim == 2 else "cosine"
    if isinstance(template_input, str) and template_input == "auto":
        template_input = ndim == 2 and template == "scaled_manhattan"
    elif template_input and ndim != 2:
        raise ValueError(
            "template_input=True needs 2-D fixed-text input; X is "
            f"{ndim}-D (free-text sequences)."
        )
    return template, bool(template_input)


def l2_normalize(F):
    """Rows of ``F`` scaled to unit norm (zero rows stay zero)."""
    F = np.asarray(F)
    norms = np.linalg.norm(F, axis=-1, keepdims=True)
    return F / np.maximum(
        norms, np.finfo(F.dtype if F.dtype.kind == "f" else float).tiny
    )


def make_templates(F, codes, n_codes, geometry="cosine", *, fallback_scale=None):
    """Templates of subjects ``0..n_codes-1`` from their feature vectors.

    Parameters
    ----------
    F : ndarray of shape (n_samples, d)
        Feature vectors (embeddings, or timing vectors).
    codes : ndarray of int of shape (n_samples,)
        Subject index of each row, in ``[0, n_codes)``; every index must
        occur.
    n_codes : int
        Number of subjects.
    geometry : str, default="cosine"
        One of :data:`GEOMETRIES`.
    fallback_scale : ndarray of shape (d,) or None, default=None
        ``"scaled_manhattan"`` only: the spread given to a dimension in which a
        subject has none (one enrolment sample, or a constant) when no subject
        of this call has spread there either — e.g. the mean scale of the
        subjects already enrolled, when one new subject enrols. None: 1.

    Returns
    -------
    templates : Templates
    """
    F = np.asarray(F)
    dtype = _float_dtype(F)
    F = F.astype(np.float64, copy=False)
    codes = np.asarray(codes, dtype=np.intp)
    counts = np.bincount(codes, minlength=n_codes).astype(np.float64)
    if (counts == 0).any():
        raise ValueError("Every subject needs at least one enrolment sample.")
    if geometry == "cosine":
        sums = np.zeros((n_codes, F.shape[1]))
        np.add.at(sums, codes, l2_normalize(F))
        return Templates(l2_normalize(sums).astype(dtype))
    sums = np.zeros((n_codes, F.shape[1]))
    np.add.at(sums, codes, F)
    mean = sums / counts[:, None]
    if geometry != "scaled_manhattan":
        return Templates(mean.astype(dtype))
    dev = np.zeros_like(mean)
    np.add.at(dev, codes, np.abs(F - mean[codes]))
    mad = dev / counts[:, None]
    # a dimension with no spread (one enrolment sample, or a constant) must not
    # dominate the score: it gets the mean spread of that dimension over the
    # subjects that have one (1 where none has: plain Manhattan there)
    flat = mad <= 0
    if flat.any():
        spread = np.where(flat, np.nan, mad)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pooled = np.nanmean(spread, axis=0)
        default = 1.0 if fallback_scale is None else np.asarray(fallback_scale)
        pooled = np.where(np.isfinite(pooled), pooled, default)
        mad = np.where(flat, pooled[None, :], mad)
    mad = np.maximum(mad, np.finfo(np.float64).eps)
    return Templates(mean.astype(dtype), mad.astype(dtype))


def _float_dtype(*arrays):
    """float64 if any input is float64, else float32 (embeddings stay float32)."""
    return np.result_type(np.float32, *[a.dtype for a in arrays if a is not None])


def _rows_per_block(n_templates, d, geometry):
    per_row = n_templates * (1 if geometry == "cosine" else max(1, d))
    return max(1, _BLOCK // max(1, per_row))


def _distance_scores(F, center, scale, geometry):
    """Similarities of rows ``F`` (n, d) against templates (m, d) -> (n, m)."""
    diff = F[:, None, :] - center[None, :, :]
    if geometry == "euclidean":
        np.square(diff, out=diff)
        return -diff.sum(axis=2)
    np.abs(diff, out=diff)
    if scale is not None:
        diff /= scale[None, :, :]
    return -diff.sum(axis=2)


def score_matrix(F, templates, geometry="cosine"):
    """Similarity of every row of ``F`` to every template.

    Parameters
    ----------
    F : ndarray of shape (n_samples, d)
    templates : Templates
    geometry : str, default="cosine"

    Returns
    -------
    scores : ndarray of shape (n_samples, n_templates)
        float32, or float64 when ``F`` or the templates are; computed in
        blocks of bounded memory.
    """
    center, scale = templates
    F = np.asarray(F)
    dtype = _float_dtype(F, center)
    F = F.astype(dtype, copy=False)
    out = np.empty((len(F), len(center)), dtype=dtype)
    step = _rows_per_block(len(center), F.shape[1], geometry)
    if geometry == "cosine":
        F = l2_normalize(F)
    for i in range(0, len(F), step):
        rows = slice(i, i + step)
        if geometry == "cosine":
            np.matmul(F[rows], center.T.astype(dtype, copy=False), out=out[rows])
        else:
            out[rows] = _distance_scores(F[rows], center, scale, geometry)
    return out


def score_claims(F, templates, cols, geometry="cosine"):
    """Similarity of each row of ``F`` to template ``cols[i]``.

    Parameters
    ----------
    F : ndarray of shape (n_samples, d)
    templates : Templates
    cols : ndarray of int of shape (n_samples,)
    geometry : str, default="cosine"

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        float32, or float64 when ``F`` or the templates are; computed in
        bounded blocks (never an ``(n_samples, d)`` copy of the
        templates beyond one block).
    """
    center, scale = templates
    F = np.asarray(F)
    dtype = _float_dtype(F, center)
    F = F.astype(dtype, copy=False)
    cols = np.asarray(cols, dtype=np.intp)
    if geometry == "cosine":
        F = l2_normalize(F)
    out = np.empty(len(F), dtype=dtype)
    step = max(1, _BLOCK // max(1, F.shape[1]))
    for i in range(0, len(F), step):
        rows = slice(i, i + step)
        c = center[cols[rows]]
        if geometry == "cosine":
            out[rows] = np.einsum("ij,ij->i", F[rows], c)
            continue
        diff = F[rows] - c
        if geometry == "euclidean":
            np.square(diff, out=diff)
            out[rows] = -diff.sum(axis=1)
            continue
        np.abs(diff, out=diff)
        if scale is not None:
            diff /= scale[cols[rows]]
        out[rows] = -diff.sum(axis=1)
    return out


def merge_templates(classes, templates, new_classes, new_templates):
    """Union of two enrolments; identities in ``new_classes`` are replaced.

    Returns ``(classes, templates)`` with ``classes`` sorted. Raises
    ValueError when the two sets of identities cannot be compared.
    """
    classes, new_classes = _common_ids(np.asarray(classes), np.asarray(new_classes))
    merged = np.union1d(classes, new_classes)
    old_pos = np.searchsorted(merged, classes)
    new_pos = np.searchsorted(merged, new_classes)
    parts = []
    for old, new in zip(templates, new_templates):
        if old is None and new is None:
            parts.append(None)
            continue
        if old is None or new is None:
            raise ValueError("Cannot merge templates of different geometries.")
        out = np.zeros((len(merged), old.shape[1]), dtype=old.dtype)
        out[old_pos] = old
        out[new_pos] = new
        parts.append(out)
    return merged, Templates(*parts)


_ID_KINDS = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats"}


def _id_kind(a):
    kind = _ID_KINDS.get(a.dtype.kind)
    if kind is not None:
        return kind
    if a.dtype.kind in "US":
        return "strings"
    kinds = {_id_kind(np.asarray([v])) for v in a.tolist()} if a.size else set()
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _common_ids(old, new):
    """Both id arrays in one dtype that keeps every identity distinct.

    Identities of different kinds (integers and strings, booleans and
    integers, integers and floats) are refused rather than promoted, since
    promotion can merge two identities (``True == 1``, ``2**53 + 1 ==
    float(2**53)``) or make an enrolled one unclaimable.
    """
    k_old, k_new = _id_kind(old), _id_kind(new)
    if old.size and new.size and (k_old != k_new or "mixed" in (k_old, k_new)):
        raise ValueError(
            f"y's identities are {k_new} but the enrolled ones are {k_old} "
            f"({old.dtype} vs {new.dtype}); identities of different kinds cannot "
            "be compared without merging or renaming some. Enrol ids of the same "
            "kind (e.g. convert them all to str)."
        )
    if k_old == "integers" and old.dtype != new.dtype:
        values = np.concatenate([old.astype(object), new.astype(object)])
        lo, hi = min(values.tolist()), max(values.tolist())
        dtype = (
            np.int64
            if lo >= np.iinfo(np.int64).min and hi <= np.iinfo(np.int64).max
            else np.uint64
        )
        return old.astype(dtype), new.astype(dtype)
    if old.dtype.kind in "US" and new.dtype.kind in "US":
        return old.astype(str), new.astype(str)
    return old, new


def claimed_columns(classes, claimed, n):
    """Template column of each claimed identity; a clear error if not enrolled.

    ``claimed`` is one identity per sample or one scalar for all; identities
    of another kind than the enrolled ones (``1`` vs ``"1"``, ``True`` vs
    ``1``) are refused rather than compared.
    """
    if claimed is None:
        raise ValueError(
            "claimed must hold the identity each sample claims (or one identity "
            "for all), got None."
        )
    if len(classes) == 0:
        raise ValueError("No subject is enrolled: enroll some first.")
    claimed = np.asarray(claimed)
    if claimed.ndim == 0:
        claimed = np.full(n, claimed.item(), dtype=claimed.dtype)
    if claimed.shape != (n,):
        raise ValueError(
            f"claimed must hold one identity per sample ({n}), got shape "
            f"{claimed.shape}."
        )
    k_enrolled, k_claimed = _id_kind(classes), _id_kind(claimed)
    if n and (k_enrolled != k_claimed or k_claimed == "mixed"):
        raise ValueError(
            f"claimed identities are {k_claimed} ({claimed.dtype}) but the enrolled "
            f"ones are {k_enrolled} ({classes.dtype}); claim enrolled identities."
        )
    classes, claimed = _common_ids(classes, claimed)
    cols = np.clip(np.searchsorted(classes, claimed), 0, len(classes) - 1)
    unknown = classes[cols] != claimed
    if unknown.any():
        names = np.unique(claimed[unknown])[:5].tolist()
        raise ValueError(
            f"claimed holds {int(unknown.sum())} claim(s) of identities that are "
            f"not enrolled, e.g. {names}; enroll them first."
        )
    return cols


def threshold_at(y_true, scores, operating_point):
    """Decision threshold (accept when ``score >= threshold``) at a target.

    Parameters
    ----------
    y_true : ndarray of shape (n,)
        1 for genuine comparisons, 0 for impostor ones.
    scores : ndarray of shape (n,)
        Similarities.
    operating_point : "eer" or float in (0, 1)
        ``"eer"``: the threshold of :func:`~skeer.metrics.equal_error_rate`.
        A float: the lowest threshold whose false-match rate does not exceed
        it, counting the allowed false matches exactly as
        :func:`~skeer.metrics.fnmr_at_fmr` does, so the two agree.

    Returns
    -------
    threshold : float
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    if operating_point == "eer":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreliableMetricWarning)
            _, thr = equal_error_rate(y_true, scores, return_threshold=True)
        return float(thr)
    impostor = np.sort(scores[y_true == 0])[::-1]
    allowed = allowed_count(float(operating_point), len(impostor))
    if allowed >= len(impostor):
        return float(-np.inf)
    return float(np.nextafter(impostor[allowed], np.inf))


# --------------------------------------------------------------------------
# who scores: an estimator's own geometry, or cosine over embeddings


class FeatureJudge:
    """Enrols and scores rows of precomputed features in one geometry.

    Parameters
    ----------
    F : ndarray of shape (n_samples, d)
        Features of every sample (embeddings, or timing vectors).
    geometry : str, default="cosine"
        One of :data:`GEOMETRIES`.
    """

    def __init__(self, F, geometry="cosine"):
        self.F = F
        self.geometry = geometry

    def rows(self, rows):
        """Make ``rows`` (sorted unique sample indices) available for scoring."""

    def features(self, rows):
        return self.F[rows]

    def templates(self, rows, codes, n_codes):
        return make_templates(self.features(rows), codes, n_codes, self.geometry)

    def claims(self, rows, templates, cols):
        return score_claims(self.features(rows), templates, cols, self.geometry)

    def matrix(self, rows, templates):
        return score_matrix(self.features(rows), templates, self.geometry)


class _RowsJudge(FeatureJudge):
    """Features computed once for the rows a protocol uses."""

    def __init__(self, compute, geometry):
        super().__init__(None, geometry)
        self._compute = compute

    def rows(self, rows):
        self._rows = np.asarray(rows)
        self.F = self._compute(self._rows)

    def features(self, rows):
        return self.F[np.searchsorted(self._rows, rows)]


class _EstimatorJudge:
    """A fitted estimator's own enrolment and scoring, through its methods."""

    def __init__(self, final, compute):
        self.final = final
        self._compute = compute

    def rows(self, rows):
        self._rows = np.asarray(rows)
        self.X = self._compute(self._rows)

    def _X(self, rows):
        return _subset(self.X, np.searchsorted(self._rows, rows))

    def templates(self, rows, codes, n_codes):
        return self.final._make_templates(self._X(rows), codes, n_codes)

    def claims(self, rows, templates, cols):
        return np.asarray(self.final._score_templates(self._X(rows), templates, cols))

    def matrix(self, rows, templates):
        return np.asarray(self.final._score_templates(self._X(rows), templates))


def has_own_geometry(model):
    """Whether ``model`` (or a Pipeline's last step) scores through templates."""
    final = model[-1] if isinstance(model, Pipeline) else model
    return hasattr(final, "_make_templates") and hasattr(final, "_score_templates")


def judge(model, X):
    """The object that enrols and scores for ``model`` in a protocol.

    - A fitted estimator with its own geometry (or a Pipeline ending in one):
      its first steps transform ``X``, its last step enrols and scores. When it
      exposes ``_template_features`` and ``_template_geometry`` the features
      are computed once for all the rows used.
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

        def inputs(rows):
            if X is None:
                raise ValueError("X is required when model is a fitted estimator.")
            Xr = _subset(X, rows)
            return head.transform(Xr) if head is not None and len(head) else Xr

        if hasattr(final, "_template_features") and hasattr(
            final, "_template_geometry"
        ):
            return _RowsJudge(
                lambda rows: _check_features(
                    final._template_features(inputs(rows)), len(rows), "the model"
                ),
                final._template_geometry,
            )
        return _EstimatorJudge(final, inputs)
    if hasattr(model, "transform"):

        def embed(rows):
            if X is None:
                raise ValueError("X is required when model is a fitted transformer.")
            Z = model.transform(_subset(X, rows))
            return _check_features(Z, len(rows), "model.transform(X)")

        return _RowsJudge(embed, "cosine")
    Z = np.asarray(model)
    return _RowsJudge(
        lambda rows: _check_features(Z[rows], len(rows), "model (embeddings)"),
        "cosine",
    )


def best_templates(F, templates, geometry="cosine"):
    """Index of the most similar template of each row, in bounded blocks."""
    best = np.empty(len(F), dtype=np.intp)
    step = _rows_per_block(len(templates.center), F.shape[1], geometry)
    for i in range(0, len(F), step):
        rows = slice(i, i + step)
        best[rows] = np.argmax(score_matrix(F[rows], templates, geometry), axis=1)
    return best


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


# --------------------------------------------------------------------------
# open-set enrolment / probe selection


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


def check_subjects(y, n_samples=None):
    """``y`` as a 1-D array of subjects, aligned with ``n_samples`` samples."""
    if y is None:
        raise ValueError("y (one subject per sample) is required, got None.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one subject per sample), got {y.shape}.")
    if n_samples is not None and len(y) != n_samples:
        raise ValueError(
            f"y has {len(y)} subjects but X (or the embeddings) has {n_samples} "
            "samples; they must be aligned."
        )
    return y


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
