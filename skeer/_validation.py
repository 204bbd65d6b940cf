"""Input checks shared by :mod:`skeer.metrics` and :mod:`skeer.streaming`.

NumPy only. Every check raises :class:`ValueError` naming the argument and what
was wrong with it. The checks make no more than one copy of large inputs and
never upcast floating-point scores.
"""

import numpy as np

__all__ = ["check_binary", "check_scores", "check_target_rates"]

_BINARY_FORMS = "{0, 1}, {False, True} or {-1, 1}"


def _preview(values, limit=5):
    """A short, readable list of some distinct values, for error messages."""
    try:
        distinct = np.unique(values)
    except TypeError:  # unorderable mixture of types
        distinct = np.asarray(list(dict.fromkeys(values.tolist())), dtype=object)
    shown = [v.item() if isinstance(v, np.generic) else v for v in distinct[:limit]]
    return repr(shown)[:-1] + (", ...]" if len(distinct) > limit else "]")


def check_scores(y_score, *, name="y_score", ndim=(1, 2)):
    """``y_score`` as a finite floating-point array with an allowed ``ndim``.

    Floating-point input keeps its dtype (no copy for an ndarray); booleans and
    integers become float64. NaN and infinity are rejected with their count.
    """
    scores = np.asarray(y_score)
    if scores.dtype.kind == "f":
        pass
    elif scores.dtype.kind in "biu":
        scores = scores.astype(np.float64)
    else:
        try:
            scores = scores.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must hold real numbers, got dtype {scores.dtype}."
            ) from None
    if scores.ndim not in ndim:
        allowed = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {allowed}, got shape {scores.shape}.")
    if scores.size == 0:
        raise ValueError(f"{name} is empty (shape {scores.shape}).")
    # min/max propagate NaN and expose infinities without a boolean temporary
    if not (np.isfinite(scores.min()) and np.isfinite(scores.max())):
        n_nan = int(np.count_nonzero(np.isnan(scores)))
        n_inf = int(np.count_nonzero(np.isinf(scores)))
        raise ValueError(
            f"{name} must be finite, got {n_nan} NaN and {n_inf} infinite "
            f"value(s) out of {scores.size}."
        )
    return scores


def check_binary(y_true, y_score, *, require_both=True):
    """Validate binary labels with 1-D scores.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 or True marks a genuine comparison; 0, False or -1 an impostor one.
    y_score : array-like of shape (n,)
        Finite similarity scores.
    require_both : bool, default=True
        Whether both classes must be present.

    Returns
    -------
    genuine : ndarray of bool, shape (n,)
        True for genuine comparisons.
    scores : ndarray of shape (n,)
        The scores (floating point, dtype kept).
    negative : int or None
        The impostor label used (0 or -1; 0 for booleans), None when only
        genuine comparisons are present.
    """
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}.")
    scores = np.asarray(y_score)
    if scores.ndim != 1:
        raise ValueError(
            f"y_score must be 1-D with binary y_true, got shape {scores.shape}."
        )
    if len(y) != len(scores):
        raise ValueError(
            f"y_true and y_score have different lengths: {len(y)} != {len(scores)}."
        )
    if len(y) == 0:
        raise ValueError("y_true and y_score are empty: no comparison to score.")
    scores = check_scores(scores, ndim=(1,))
    if y.dtype == bool:
        genuine, negative = y, 0
        n_genuine = int(np.count_nonzero(genuine))
    else:
        negative = None
        if y.dtype.kind in "biuf":
            lo, hi = y.min(), y.max()
            if lo in (0, -1, 1) and hi in (0, -1, 1):
                genuine = y == 1
                n_genuine = int(np.count_nonzero(genuine))
                negative = None if lo == 1 else int(lo)
                n_negative = (
                    0 if negative is None else int(np.count_nonzero(y == negative))
                )
                if n_genuine + n_negative != len(y):
                    negative = "invalid"
            else:
                negative = "invalid"
        else:
            negative = "invalid"
        if negative == "invalid":
            raise ValueError(
                f"y_true must be binary ({_BINARY_FORMS}, 1 = genuine) when "
                f"y_score is 1-D, got values {_preview(y)}. For identities, pass "
                "y_score as a 2-D matrix of shape (n_samples, n_identities)."
            )
    if require_both and n_genuine in (0, len(y)):
        missing = "genuine (1)" if n_genuine == 0 else "impostor (0 or -1)"
        raise ValueError(
            f"y_true holds only one class: no {missing} comparison among {len(y)}; "
            "the error rates need both."
        )
    return genuine, scores, negative


def check_target_rates(value, name):
    """Target rate(s) in [0, 1] as a float64 array, plus whether it was scalar."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf" or arr.dtype == bool:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}.")
    arr = arr.astype(np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty.")
    bad = ~((arr >= 0) & (arr <= 1))
    if bad.any():
        raise ValueError(
            f"{name} must lie in [0, 1], got {arr[bad].ravel()[:5].tolist()}."
        )
    return arr, arr.ndim == 0
