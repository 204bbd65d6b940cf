"""Input and parameter checks shared across skeer (private module).

NumPy and scikit-learn only; :func:`check_device` imports torch when called.

Every check raises :class:`ValueError` naming the argument and what was wrong
with it. The array checks make no more than one copy of large inputs and never
upcast floating-point scores, except float16 (computed in float32). The scalar
checks (:func:`check_operating_point`, :func:`check_positive_int`,
:func:`check_real`) are the one home of those rules: estimators, losses,
samplers and the command line use them.
"""

import math
import numbers
import warnings

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets

__all__ = [
    "check_binary",
    "check_both_classes",
    "check_comparisons",
    "check_identity_matrix",
    "check_layout",
    "check_operating_point",
    "check_positive_int",
    "check_real",
    "check_scores",
    "check_target_rates",
    "is_integer",
]

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

    Floating-point input keeps its dtype (no copy for an ndarray), except
    float16, computed in float32 (NumPy's float16 sort is unreliable on some
    CPUs); booleans and integers become float64. NaN and infinity are rejected
    with their count.
    """
    scores = np.asarray(y_score)
    if scores.dtype.kind == "f":
        if scores.dtype.itemsize < 4:
            scores = scores.astype(np.float32)
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
    if y.dtype == object:
        y = _numeric_objects(y)
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
    if require_both:
        check_both_classes(n_genuine, len(y) - n_genuine)
    return genuine, scores, negative


def _numeric_objects(y):
    """An object array of numbers (e.g. ``[1, 0]`` from pandas) as a numeric array.

    Booleans give a boolean array, other real numbers float64; anything else
    (strings, None, a mixture) is returned unchanged, to be refused by the
    caller with its own message.
    """
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
    if distinct.dtype.kind == "f":
        missing = np.isnan(distinct).any()
    elif distinct.dtype == object:
        missing = any(v is None or (isinstance(v, float) and v != v) for v in distinct)
    else:
        missing = False
    if missing:
        raise ValueError(
            "y_true holds a missing identity (NaN or None); every row needs one."
        )
    return distinct


def _looks_binary(y):
    """Whether identities are 0/1, -1/1 or booleans (binary-label look-alikes)."""
    if y.dtype == bool:
        return True
    if y.dtype == object:
        y = _numeric_objects(y)
        if y.dtype == object:
            return False
    if y.dtype.kind not in "biuf" or y.size == 0:
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
    """Identities with a score matrix (one column per identity).

    Returns
    -------
    y : ndarray of shape (n,)
        The identities.
    scores : ndarray of shape (n, n_identities)
        The scores (floating point, dtype kept).
    cols : ndarray of int, shape (n,)
        The column of each row's own identity (its genuine comparison).
    """
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}.")
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
            f"n_identities) (with identities), got shape {np.shape(y_score)}."
        )
    return ndim


def check_comparisons(y_true, y_score, labels=None, *, require_both=True):
    """Genuine and impostor scores of either input layout.

    Binary labels with 1-D scores, or identities with a score matrix whose
    columns follow ``labels`` (see :mod:`skeer.metrics`).

    Returns
    -------
    genuine : ndarray of shape (n_genuine,)
        Genuine scores, a fresh array (safe to sort in place).
    impostor : ndarray of shape (n_impostor,)
        Impostor scores, a fresh array.
    negative : int or None
        With binary labels, the impostor label used (see :func:`check_binary`);
        None with a score matrix.
    """
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


def check_operating_point(value, name="operating_point"):
    """An operating point: ``"eer"`` or a target false-match rate in (0, 1).

    Parameters
    ----------
    value : "eer" or float
        The operating point to check. Booleans, NaN and strings other than
        ``"eer"`` are refused.
    name : str, default="operating_point"
        The argument's name, for the error message.

    Returns
    -------
    operating_point : "eer" or float
        The string ``"eer"``, or the rate as a Python float in (0, 1).

    Raises
    ------
    ValueError
        When ``value`` is neither.

    Examples
    --------
    >>> from skeer._validation import check_operating_point
    >>> check_operating_point("eer"), check_operating_point(0.01)
    ('eer', 0.01)
    >>> check_operating_point(1.0)
    Traceback (most recent call last):
    ...
    ValueError: operating_point must be 'eer' or a target false-match rate in (0, 1), got 1.0.
    """  # noqa: E501
    if isinstance(value, str) and value == "eer":
        return "eer"
    if (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and 0.0 < float(value) < 1.0  # False for NaN
    ):
        return float(value)
    raise ValueError(
        f"{name} must be 'eer' or a target false-match rate in (0, 1), got {value!r}."
    )


def is_integer(value):
    """Whether ``value`` is a Python or NumPy integer (booleans are not).

    Examples
    --------
    >>> import numpy as np
    >>> from skeer._validation import is_integer
    >>> is_integer(3), is_integer(np.int8(3)), is_integer(3.0), is_integer(True)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(
        value, bool | np.bool_
    )


def check_positive_int(value, name, *, allow_none=False):
    """A positive integer (>= 1), as a Python int.

    Parameters
    ----------
    value : int
        The value to check. Python and NumPy integers are accepted; booleans
        and floats (even integral ones) are refused.
    name : str
        The argument's name, for the error message.
    allow_none : bool, default=False
        Whether ``None`` is accepted (and returned unchanged).

    Returns
    -------
    value : int or None
        ``int(value)``, or ``None`` when allowed and given.

    Raises
    ------
    ValueError
        When ``value`` is not a positive integer (nor an allowed ``None``).

    Examples
    --------
    >>> import numpy as np
    >>> from skeer._validation import check_positive_int
    >>> check_positive_int(np.int64(3), "n_samples")
    3
    >>> check_positive_int(None, "n_batches", allow_none=True) is None
    True
    >>> check_positive_int(0, "n_samples")
    Traceback (most recent call last):
    ...
    ValueError: n_samples must be a positive integer, got 0.
    """
    if value is None and allow_none:
        return None
    if is_integer(value) and value >= 1:
        return int(value)
    allowed = " or None" if allow_none else ""
    raise ValueError(f"{name} must be a positive integer{allowed}, got {value!r}.")


def check_real(value, name, *, low=None, high=None, low_open=True, high_open=True):
    """A finite real number within an interval, as a Python float.

    Parameters
    ----------
    value : float
        The value to check. Booleans, non-numbers, NaN and infinities are
        refused.
    name : str
        The argument's name, for the error message.
    low, high : float or None, default=None
        Bounds of the interval; ``None`` leaves that side unbounded.
    low_open, high_open : bool, default=True
        Whether the bound itself is excluded.

    Returns
    -------
    value : float
        ``float(value)``.

    Raises
    ------
    ValueError
        Naming the argument and the interval.

    Examples
    --------
    >>> from skeer._validation import check_real
    >>> check_real(2, "margin", low=0.0, low_open=False)
    2.0
    >>> check_real(float("inf"), "sharpness", low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: sharpness must be a finite real number in (0.0, inf), got inf.
    """
    lb = "(" if low_open or low is None else "["
    hb = ")" if high_open or high is None else "]"
    interval = (
        f"{lb}{'-inf' if low is None else low}, {'inf' if high is None else high}{hb}"
    )
    if (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(value)
    ):
        x = float(value)
        ok_low = low is None or (x > low if low_open else x >= low)
        ok_high = high is None or (x < high if high_open else x <= high)
        if ok_low and ok_high:
            return x
    raise ValueError(
        f"{name} must be a finite real number in {interval}, got {value!r}."
    )


# --------------------------------------------------------------------------
# KeystrokeVerifier's input and parameters (checked before any work)


def check_verifier_input(X):
    """``X`` as a finite, C-contiguous float32 array of 2 or 3 dimensions.

    Raw sessions of different lengths, sparse matrices, non-numeric, empty and
    non-finite input are refused with what to do instead.
    """
    if isinstance(X, (list, tuple)) and X and np.ndim(X[0]) == 2:
        shapes = {np.shape(s) for s in X}
        if len(shapes) > 1:
            raise ValueError(
                "X looks like raw keystroke sessions of different lengths; "
                "turn them into a fixed-size array first, e.g. with "
                "make_pipeline(KeystrokeFeatures(), KeystrokeVerifier())."
            )
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            "X must be a dense array; sparse input is not supported by "
            "KeystrokeVerifier (call X.toarray() first)."
        )
    try:
        X = np.asarray(X, dtype=np.float32)
    except TypeError as exc:
        raise TypeError(f"X must be a numeric array: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"X must be a numeric array: {exc}") from None
    if X.ndim not in (2, 3):
        raise ValueError(
            "X must be 2-D (n_samples, n_features) fixed-text vectors or 3-D "
            "(n_samples, max_len, n_features) sequences, got an array of "
            f"shape {X.shape}. Reshape your data, e.g. X.reshape(-1, 1) for a "
            "single feature."
        )
    if X.shape[0] == 0:
        raise ValueError(
            f"X has 0 samples (shape={X.shape}); a minimum of 1 is required."
        )
    if X.shape[-1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
            "of 1 is required."
        )
    if not np.isfinite(X).all():
        bad = np.flatnonzero(~np.isfinite(X).reshape(len(X), -1).all(axis=1))
        raise ValueError(
            f"X contains NaN or infinity in {len(bad)} samples "
            f"(first at index {bad[0]})."
        )
    return np.ascontiguousarray(X)


def check_input_shape(X, ndim, n_features, estimator):
    """Refuse ``X`` whose dimensions differ from what ``estimator`` was fitted on."""
    name = type(estimator).__name__
    if X.ndim != ndim:
        raise ValueError(f"X is {X.ndim}-D but {name} was fitted on {ndim}-D input.")
    if X.shape[-1] != n_features:
        raise ValueError(
            f"X has {X.shape[-1]} features, but {name} is expecting {n_features} "
            "features as input."
        )


def check_identities(y, n_samples):
    """``y`` as a 1-D array of identities aligned with ``n_samples`` samples."""
    if y is None:
        raise ValueError(
            "KeystrokeVerifier requires y to be passed, but the target y is "
            "None (give one identity per sample)."
        )
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it is raveled.",
            DataConversionWarning,
            stacklevel=4,
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one identity per sample), got {y.shape}.")
    if len(y) != n_samples:
        raise ValueError(
            f"X and y have inconsistent lengths: {n_samples} samples in X, "
            f"{len(y)} labels in y."
        )
    check_classification_targets(y)
    if y.dtype.kind == "O" and any(v is None for v in y):
        raise ValueError("y contains None; every sample needs an identity.")
    return y


def check_verifier_params(est):
    """Every parameter of a :class:`~skeer.KeystrokeVerifier`, before any work."""
    check_operating_point(est.operating_point)
    check_positive_int(est.n_enroll, "n_enroll")
    if not (isinstance(est.max_epochs, str) and est.max_epochs == "auto") and (
        not is_integer(est.max_epochs) or est.max_epochs < 0
    ):
        raise ValueError(
            "max_epochs must be 'auto' or a non-negative integer (0 enrols and "
            f"calibrates the untrained network), got {est.max_epochs!r}."
        )
    check_positive_int(est.batch_size, "batch_size")
    check_positive_int(est.n_identities_per_batch, "n_identities_per_batch")
    check_positive_int(est.n_samples_per_identity, "n_samples_per_identity")
    check_positive_int(est.batches_per_epoch, "batches_per_epoch", allow_none=True)
    check_positive_int(est.patience, "patience", allow_none=True)
    check_real(est.lr, "lr", low=0)
    if est.lr_schedule is not None and (
        not isinstance(est.lr_schedule, str)
        or est.lr_schedule not in ("cosine", "constant")
    ):
        raise ValueError(
            "lr_schedule must be 'cosine', 'constant' or None, got "
            f"{est.lr_schedule!r}."
        )
    check_real(est.warmup_epochs, "warmup_epochs", low=0, low_open=False)
    check_real(est.validation_size, "validation_size", low=0, high=1, low_open=False)
    geometries = ("auto", "cosine", "scaled_manhattan", "manhattan", "euclidean")
    if not isinstance(est.template, str) or est.template not in geometries:
        raise ValueError(f"template must be one of {geometries}, got {est.template!r}.")
    if not (
        isinstance(est.template_input, (bool, np.bool_))
        or (isinstance(est.template_input, str) and est.template_input == "auto")
    ):
        raise ValueError(
            f"template_input must be True, False or 'auto', got {est.template_input!r}."
        )
    for name in ("amp",):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise ValueError(
                f"{name} must be True or False, got {getattr(est, name)!r}."
            )
    if est.train_split is not None and not callable(est.train_split):
        raise ValueError(
            "train_split must be None or a callable(dataset, y) -> "
            f"(dataset_train, dataset_valid), got {est.train_split!r}."
        )
    check_device(est.device)


def check_device(device):
    """A torch device that exists on this machine (torch imported lazily)."""
    import torch

    try:
        dev = torch.device(device or "cpu")
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r} ({exc})."
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available (torch "
                f"{torch.__version__}); use device='cpu' or install a CUDA build "
                "of PyTorch."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible."
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} but MPS is not available.")
