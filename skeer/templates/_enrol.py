"""Geometries, identities and thresholds: the rules every enrolment shares (no torch).

Each geometry's template and score are documented on the detector of
:mod:`skeer.baselines` that fixes it; distinct identities are never merged here.
"""

import warnings

import numpy as np

from skeer._validation import GEOMETRIES, check_ids_before_numpy, value_kind
from skeer.metrics._rates import UnreliableMetricWarning, equal_error_rate
from skeer.metrics._sweep import allowed_count


def check_geometry(geometry, name="geometry"):
    """Return ``geometry`` if it is one of :data:`GEOMETRIES`, else raise."""
    if not isinstance(geometry, str) or geometry not in GEOMETRIES:
        raise ValueError(f"{name} must be one of {GEOMETRIES}, got {geometry!r}.")
    return geometry


def resolve_geometry(geometry, template_input, ndim):
    """``(geometry, with_input)`` for ``ndim``-D input ("auto": see fixed_text.rst)."""
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


_ID_KINDS = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats"}


def _id_kind(a):
    kind = _ID_KINDS.get(a.dtype.kind)
    if kind is not None:
        return kind
    if a.dtype.kind in "US":
        return "strings"
    kinds = {value_kind(v) or "mixed" for v in a.tolist()}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def common_ids(old, new):
    """Both id arrays in one dtype; other kinds are refused, as promotion merges ids."""
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
        values = old.tolist() + new.tolist()
        lo, hi = min(values), max(values)
        if lo < 0 and hi > np.iinfo(np.int64).max:
            # uint64 would wrap negative ids onto large ones: two people merged
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
    """Template column of each claimed identity (per sample, or a scalar for all)."""
    if claimed is None:
        raise ValueError(
            "claimed must hold the identity each sample claims (or one identity "
            "for all), got None."
        )
    if len(classes) == 0:
        raise ValueError("No subject is enrolled: enroll some first.")
    check_ids_before_numpy(claimed, "claimed")
    claimed = np.asarray(claimed)
    if claimed.dtype.kind == "S":  # as y: bytes are not str ids
        raise ValueError("claimed holds bytes; decode the ids to str first.")
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
    classes, claimed = common_ids(classes, claimed)
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

    Examples
    --------
    >>> from skeer.templates import threshold_at
    >>> y = [1, 1, 1, 0, 0, 0, 0]
    >>> scores = [0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1]
    >>> round(threshold_at(y, scores, 0.25), 6)  # one of four impostors passes
    0.3
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
