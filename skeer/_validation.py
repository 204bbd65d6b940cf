"""Parameter checks shared across skeer, raising errors that name the argument.

:func:`check_device` imports torch when called; metric inputs: ``metrics._checks``.
"""

import math
import numbers
import reprlib
import warnings

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets

__all__ = [
    "GEOMETRIES",
    "check_operating_point",
    "check_positive_int",
    "check_real",
    "is_integer",
]

#: The template geometries (:mod:`skeer.templates`): how enrolment samples
#: become a template and how a probe is scored against it.
GEOMETRIES = ("cosine", "scaled_manhattan", "manhattan", "euclidean")


def value_kind(value):
    """The kind of one id or group label, or None for any other object.

    ``1``, ``"1"``, ``1.0`` and ``True`` differ in kind: hashing would merge them.

    Examples
    --------
    >>> from skeer._validation import value_kind
    >>> [value_kind(v) for v in (1, "1", 1.0, True, None)]
    ['integers', 'strings', 'floats', 'booleans', None]
    """
    for types, kind in (
        ((bool, np.bool_), "booleans"),
        ((int, np.integer), "integers"),
        ((float, np.floating), "floats"),
        ((str, bytes), "strings"),
    ):
        if isinstance(value, types):
            return kind
    return None


def check_one_kind(values, what):
    """Refuse ids or groups of several kinds (see :func:`value_kind`), and ``None``.

    Examples
    --------
    >>> from skeer._validation import check_one_kind
    >>> check_one_kind([1, 2, 3], "y")
    >>> check_one_kind([1, "1"], "y")
    Traceback (most recent call last):
    ...
    ValueError: y mix integers, strings (e.g. 1 and '1'): distinct values would ...
    """
    if any(v is None for v in values):
        raise ValueError(f"{what} contains None; every sample needs a value.")
    kinds = sorted({value_kind(v) or type(v).__name__ for v in values})
    if len(kinds) > 1:
        raise ValueError(
            f"{what} mix {', '.join(kinds)} (e.g. 1 and '1'): distinct values would "
            "be merged. Use one kind (e.g. convert them all to str)."
        )


def check_operating_point(value, name="operating_point"):
    """An operating point: ``"eer"`` or a target false-match rate in (0, 1).

    Parameters
    ----------
    value : "eer" or float
        The operating point (booleans and NaN are refused).
    name : str, default="operating_point"
        The argument's name, for the error message.

    Returns
    -------
    operating_point : "eer" or float
        ``"eer"``, or the rate as a Python float.

    Examples
    --------
    >>> from skeer._validation import check_operating_point
    >>> check_operating_point("eer"), check_operating_point(0.01)
    ('eer', 0.01)
    """
    if isinstance(value, str) and value == "eer":
        return "eer"
    if (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and 0 < value < 1  # False for NaN; exact for huge ints (no float())
    ):
        return float(value)
    raise ValueError(
        f"{name} must be 'eer' or a target false-match rate in (0, 1), got "
        f"{reprlib.repr(value)}."
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
        Python or NumPy integer (booleans and floats are refused).
    name : str
        The argument's name, for the error message.
    allow_none : bool, default=False
        Whether ``None`` is accepted (and returned unchanged).

    Returns
    -------
    value : int or None

    Examples
    --------
    >>> import numpy as np
    >>> from skeer._validation import check_positive_int
    >>> check_positive_int(np.int64(3), "n_samples")
    3
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
        The value (booleans, NaN and infinities are refused).
    name : str
        The argument's name, for the error message.
    low, high : float or None, default=None
        Bounds of the interval; ``None`` leaves that side unbounded.
    low_open, high_open : bool, default=True
        Whether the bound itself is excluded.

    Returns
    -------
    value : float

    Examples
    --------
    >>> from skeer._validation import check_real
    >>> check_real(2, "margin", low=0.0, low_open=False)
    2.0
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


# KeystrokeVerifier's input and parameters (checked before any work)
def check_verifier_input(X):
    """``X`` as a finite, C-contiguous 2-D or 3-D float32 array (or a helpful error)."""
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


def check_ids_before_numpy(ids, what):
    """:func:`check_one_kind` on ids NumPy has not typed yet (lists, object arrays)."""
    if not isinstance(ids, np.ndarray) or ids.dtype == object:
        check_one_kind(np.asarray(ids, dtype=object).ravel().tolist(), what)


def check_subjects(y, n_samples=None, *, classifier=True):
    """``y`` as a 1-D array of subjects, one per sample: the one check of ``y``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Subject ids (a column vector is raveled with a warning).
    n_samples : int or None, default=None
        The samples ``y`` must be aligned with.
    classifier : bool, default=True
        Also refuse what a classifier's targets cannot be (continuous
        values, ``None``), as estimators do; the protocols do not.

    Returns
    -------
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from skeer._validation import check_subjects
    >>> check_subjects(["ann", "bob"], 2)
    array(['ann', 'bob'], dtype='<U3')
    """
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None "
            "(give one subject per sample)."
        )
    check_ids_before_numpy(y, "y")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it is raveled.",
            DataConversionWarning,
            stacklevel=4,
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one subject per sample), got {y.shape}.")
    if n_samples is not None and len(y) != n_samples:
        raise ValueError(
            f"X and y have inconsistent lengths: {n_samples} samples in X, "
            f"{len(y)} subjects in y; they must be aligned."
        )
    if classifier:
        if y.dtype.kind == "S":  # scikit-learn's raw TypeError otherwise
            raise ValueError(
                "y holds bytes; decode the ids to str first (e.g. y.astype(str))."
            )
        check_classification_targets(y)
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
    check_positive_int(est.n_subjects_per_batch, "n_subjects_per_batch")
    check_positive_int(est.n_samples_per_subject, "n_samples_per_subject")
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
    geometries = ("auto", *GEOMETRIES)
    if not isinstance(est.geometry, str) or est.geometry not in geometries:
        raise ValueError(f"geometry must be one of {geometries}, got {est.geometry!r}.")
    if not (
        isinstance(est.template_input, (bool, np.bool_))
        or (isinstance(est.template_input, str) and est.template_input == "auto")
    ):
        raise ValueError(
            f"template_input must be True, False or 'auto', got {est.template_input!r}."
        )
    if not isinstance(est.amp, (bool, np.bool_)):
        raise ValueError(f"amp must be True or False, got {est.amp!r}.")
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
