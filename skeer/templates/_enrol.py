"""The one template geometry: enrol samples, score probes, threshold claims.

Everything in skeer that turns samples into a template and scores a probe
against it comes through here: :class:`~skeer.KeystrokeVerifier` (``enroll``,
``decision_function``, ``claim_scores``, ``valid_eer`` and ``threshold_``), the
non-learned detectors of :mod:`skeer.baselines`, the evaluation protocols of
:mod:`skeer.evaluation` and the open-set scorers.

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

from skeer._validation import GEOMETRIES, value_kind
from skeer.metrics._rates import UnreliableMetricWarning, equal_error_rate
from skeer.metrics._sweep import allowed_count

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


def check_geometry(geometry, name="geometry"):
    """Return ``geometry`` if it is one of :data:`GEOMETRIES`, else raise."""
    if not isinstance(geometry, str) or geometry not in GEOMETRIES:
        raise ValueError(f"{name} must be one of {GEOMETRIES}, got {geometry!r}.")
    return geometry


def resolve_geometry(geometry, template_input, ndim):
    """``(geometry, with_input)`` of the parameters for ``ndim``-D input.

    On fixed text (GREYC-NISLAB, 5 subject folds x 5 passphrases x 3 seeds)
    scaled Manhattan over [embedding, standardised input] had a mean subject
    EER of 0.115 against 0.136 for Killourhy & Maxion's scaled Manhattan and
    0.150 for the cosine embedding; free text keeps the cosine geometry.
    """
    if geometry == "auto":
        geometry = "scaled_manhattan" if ndim == 2 else "cosine"
    if isinstance(template_input, str) and template_input == "auto":
        template_input = ndim == 2 and geometry == "scaled_manhattan"
    elif template_input and ndim != 2:
        raise ValueError(
            "template_input=True needs 2-D fixed-text input; X is "
            f"{ndim}-D (free-text sequences)."
        )
    return geometry, bool(template_input)


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
    kinds = {value_kind(v) or "mixed" for v in a.tolist()}
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
    if not old.size:  # nothing enrolled (e.g. a pretrained model): any kind
        return old.astype(new.dtype), new
    if not new.size:
        return old, new.astype(old.dtype)
    if k_old == "integers" and old.dtype != new.dtype:
        values = np.concatenate([old.astype(object), new.astype(object)])
        lo, hi = min(values.tolist()), max(values.tolist())
        if lo < 0 and hi > np.iinfo(np.int64).max:
            # uint64 would wrap the negative ids onto large ones (-2 becomes
            # 2**64 - 2): two people would share a template
            raise ValueError(
                f"y's identities and the enrolled ones span {lo} to {hi}: no "
                "integer dtype holds both negative ids and ids above 2**63 - 1 "
                "without merging some. Use ids of one range (or strings)."
            )
        if lo < np.iinfo(np.int64).min or hi > np.iinfo(np.uint64).max:
            raise ValueError(
                f"y's identities and the enrolled ones span {lo} to {hi}, beyond "
                "64-bit integers: such ids cannot be compared exactly. Use "
                "strings."
            )
        dtype = np.int64 if hi <= np.iinfo(np.int64).max else np.uint64
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


def best_templates(F, templates, geometry="cosine"):
    """Index of the most similar template of each row, in bounded blocks."""
    best = np.empty(len(F), dtype=np.intp)
    step = _rows_per_block(len(templates.center), F.shape[1], geometry)
    for i in range(0, len(F), step):
        rows = slice(i, i + step)
        best[rows] = np.argmax(score_matrix(F[rows], templates, geometry), axis=1)
    return best


# --------------------------------------------------------------------------
# open-set enrolment / probe selection
