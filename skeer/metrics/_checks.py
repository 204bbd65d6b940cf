"""Checks of the metrics' inputs (NumPy only): at most one copy of large inputs."""

import numbers

import numpy as np

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
    """``y_score`` as finite floats (float16 as float32; ints up to 2**53)."""
    scores = np.asarray(y_score)
    if scores.dtype.kind == "c" or (
        scores.dtype.kind == "O" and any(isinstance(v, complex) for v in scores.flat)
    ):
        raise ValueError(
            f"{name} must hold real numbers, got complex values (dtype "
            f"{scores.dtype}); pass their real part or magnitude explicitly."
        )
    if scores.dtype.kind == "f":
        if scores.dtype.itemsize < 4:
            scores = scores.astype(np.float32)
    else:
        if scores.dtype.kind in "biu":
            ints = [scores.min(), scores.max()] if scores.size else []
        else:
            ints = [v for v in scores.flat if isinstance(v, int | np.integer)]
        big = max((abs(int(v)) for v in ints), default=0)
        if big > 2**53:
            raise ValueError(
                f"{name} holds integers up to {big}, beyond 2**53: they cannot "
                "all be ranked exactly as floats. Rescale them (e.g. subtract the "
                "minimum) or pass floats."
            )
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


def _true_1d(y_true):
    """``y_true`` as a 1-D array, or ``ValueError``."""
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}.")
    return y


def check_binary(y_true, y_score, *, require_both=True):
    """``(genuine mask, scores, impostor label 0, -1 or None)`` of binary labels."""
    y = _true_1d(y_true)
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
    if y.dtype == object:
        y = _numeric_objects(y)
    if y.dtype == bool:
        genuine, negative = y, 0
    else:
        # binary: the lowest label is 0, -1 or 1, and every label is it or 1
        lo = y.min() if y.dtype.kind in "iuf" else None
        if lo not in (0, -1, 1) or np.count_nonzero((y == 1) | (y == lo)) != len(y):
            raise ValueError(
                f"y_true must be binary ({_BINARY_FORMS}, 1 = genuine) when "
                f"y_score is 1-D, got values {_preview(y)}. For identities, pass "
                "y_score as a 2-D matrix of shape (n_samples, n_subjects)."
            )
        genuine, negative = y == 1, None if lo == 1 else int(lo)
    if require_both:
        n_genuine = int(np.count_nonzero(genuine))
        check_both_classes(n_genuine, len(y) - n_genuine)
    return genuine, scores, negative


def _numeric_objects(y):
    """An object array of numbers as bool or float64; anything else unchanged."""
    values = y.tolist()
    if all(isinstance(v, bool | np.bool_) for v in values):
        return y.astype(bool)
    if all(
        isinstance(v, numbers.Real | np.bool_) and not isinstance(v, str)
        for v in values
    ):
        return y.astype(np.float64)
    return y


def check_both_classes(n_genuine, n_impostor):
    """Raise unless there is at least one genuine and one impostor comparison."""
    if n_genuine == 0 or n_impostor == 0:
        missing = "genuine (1)" if n_genuine == 0 else "impostor (0 or -1)"
        raise ValueError(
            f"y_true holds only one class: no {missing} comparison among "
            f"{n_genuine + n_impostor}; the error rates need both."
        )


def _distinct_identities(y):
    """The sorted distinct identities of ``y``; ``ValueError`` if they have none."""
    try:
        distinct = np.unique(y)
    except TypeError:
        raise ValueError(
            "y_true mixes identities that cannot be ordered (e.g. numbers and "
            f"strings, or None): {_preview(y)}. Use identities of one kind."
        ) from None
    if distinct.dtype.kind in "fO" and any(
        v is None or (isinstance(v, float) and v != v) for v in distinct.tolist()
    ):
        raise ValueError(
            "y_true holds a missing identity (NaN or None); every row needs one."
        )
    return distinct


def _looks_binary(y):
    """Whether identities are 0/1, -1/1 or booleans (binary-label look-alikes)."""
    y = _numeric_objects(y) if y.dtype == object else y
    if y.dtype == bool:
        return True
    if y.dtype.kind not in "iuf" or y.size == 0:
        return False
    lo, hi = y.min(), y.max()
    return bool(lo in (-1, 0, 1) and hi in (0, 1) and np.isin(y, (-1, 0, 1)).all())


def _identity_columns(y, labels, n_columns):
    """Column of ``labels`` holding each identity of ``y``."""
    if labels is None:
        if n_columns == 2 and _looks_binary(y):
            raise ValueError(
                f"y_true holds binary values {_preview(y)} and y_score has 2 "
                "columns: this could be binary labels (1 = genuine) with "
                "two-column scores, or two identities with one column each. "
                "For binary labels, pass 1-D scores (e.g. the genuine column, "
                "y_score[:, 1]); for identities, pass labels naming the column "
                "of each (e.g. labels=estimator.classes_)."
            )
        labels = _distinct_identities(y)
        if len(labels) != n_columns:
            raise ValueError(
                f"y_score has {n_columns} columns but y_true has {len(labels)} "
                "distinct identities. Without labels, the columns are taken to "
                "be the sorted distinct identities of y_true (e.g. 0 .. "
                f"{n_columns - 1}), one column each; pass labels (the identity "
                "of each column, e.g. the estimator's classes_) otherwise."
            )
        return np.searchsorted(labels, y)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}.")
    if len(labels) != n_columns:
        raise ValueError(
            f"y_score has {n_columns} columns but labels has {len(labels)} "
            "entries: one label per column is needed."
        )
    try:
        sorter = np.argsort(labels, kind="stable")
        ordered = labels[sorter]
        if len(ordered) > 1 and np.any(ordered[1:] == ordered[:-1]):
            dup = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
            raise ValueError(f"labels must be distinct, got duplicates {dup[:5]}.")
        pos = np.searchsorted(ordered, y).clip(0, len(ordered) - 1)
        found = ordered[pos] == y
    except TypeError:
        raise ValueError(
            f"y_true ({y.dtype}) and labels ({labels.dtype}) cannot be compared."
        ) from None
    found = np.asarray(found, dtype=bool)
    if found.shape != y.shape or not found.all():
        missing = y[~found] if found.shape == y.shape else y
        raise ValueError(
            f"y_true has {len(missing)} sample(s) whose identity is not in labels "
            f"(e.g. {_preview(missing)}); every row's identity must name a "
            "column of y_score."
        )
    return sorter[pos]


def check_identity_matrix(y_true, y_score, labels):
    """``(y, scores, cols)``: identities, checked matrix, each row's own column."""
    y = _true_1d(y_true)
    scores = np.asarray(y_score)
    if len(y) != scores.shape[0]:
        raise ValueError(
            f"y_true has {len(y)} samples but y_score has {scores.shape[0]} rows."
        )
    if scores.size == 0:
        raise ValueError(f"y_true and y_score are empty (shape {scores.shape}).")
    scores = check_scores(scores, ndim=(2,))
    if scores.shape[1] < 2:
        raise ValueError(
            "y_score has a single column: with one identity there is no impostor "
            "comparison, and the error rates need both."
        )
    return y, scores, _identity_columns(y, labels, scores.shape[1])


def check_layout(y_score, labels):
    """``y_score``'s ndim: 1 (binary labels, no ``labels``) or 2 (identities)."""
    ndim = np.ndim(y_score)
    if ndim == 1 and labels is not None:
        raise ValueError(
            "labels names the columns of a 2-D y_score; it must be None with "
            "binary y_true and 1-D y_score."
        )
    if ndim not in (1, 2):
        raise ValueError(
            "y_score must be 1-D (with binary y_true) or 2-D (n_samples, "
            f"n_subjects) (with identities), got shape {np.shape(y_score)}."
        )
    return ndim


def check_comparisons(y_true, y_score, labels=None, *, require_both=True):
    """``(genuine, impostor, negative)`` of either layout, fresh arrays (sortable)."""
    if check_layout(y_score, labels) == 2:
        _, scores, cols = check_identity_matrix(y_true, y_score, labels)
        rows = np.arange(scores.shape[0])
        mask = np.ones(scores.shape, dtype=bool)
        mask[rows, cols] = False
        return scores[rows, cols], scores[mask], None
    is_genuine, scores, negative = check_binary(
        y_true, y_score, require_both=require_both
    )
    return scores[is_genuine], scores[~is_genuine], negative


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
