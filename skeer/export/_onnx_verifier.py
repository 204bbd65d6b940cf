"""The reference scorer of :func:`skeer.export.export_onnx`'s files: numpy,
onnxruntime and stdlib only, so that a service can copy it with ``_sidecar``."""

import importlib
import warnings
from pathlib import Path

import numpy as np

from skeer.export._sidecar import read_sidecar, sidecar_path

__all__ = ["OnnxVerifier"]


def need(module):
    """Import ``module`` (``onnx``, ``onnxruntime``) or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{module} is needed to export or run ONNX models; install skeer's "
            "optional extra: pip install 'skeer[onnx]'."
        ) from None


def _l2_normalize(F, eps):
    """Rows of ``F`` divided by ``max(||row||_2, eps)``."""
    return F / np.maximum(np.linalg.norm(F, axis=-1, keepdims=True), eps)


def _session_features(sessions, max_len, clip):
    """``KeystrokeFeatures(max_len, clip)``'s output and refusals, in plain numpy."""
    out = np.zeros((len(sessions), max_len, 5), dtype=np.float32)
    for i, s in enumerate(sessions):
        s = np.asarray(s)
        if s.ndim != 2 or s.shape[1] != 3 or s.dtype.kind not in "biuf":
            raise ValueError(
                f"X[{i}] must be a numeric session of shape (n_keys, 3), got "
                f"shape {s.shape}, dtype {s.dtype}."
            )
        s = s.astype(np.float64)
        fault = (
            "it has fewer than 2 keys" if len(s) < 2
            else "NaN or infinite value" if not np.isfinite(s).all()
            else "release time before press time" if (s[:, 1] < s[:, 0]).any()
            else "press times go backwards" if (np.diff(s[:, 0]) < 0).any()
            else None
        )  # fmt: skip
        if fault:
            raise ValueError(f"X[{i}] is invalid: {fault}.")
        s = s[:max_len]
        press, release = s[:, 0], s[:, 1]
        f = np.zeros((len(s), 5))
        f[:, 0] = release - press
        f[:-1, 1], f[:-1, 2] = np.diff(press), np.diff(release)
        f[:-1, 3] = press[1:] - release[:-1]
        f[:, :4] /= 1000.0
        if clip is not None:
            np.clip(f[:, :4], -clip, clip, out=f[:, :4])
        f[:, 4] = (np.clip(np.rint(s[:, 2]), 0, 255) + 1) / 256
        out[i, : len(s)] = f
    return out


def _is_sessions(X):
    """Raw sessions: ``(n_keys, 3)`` arrays (the model's input has 5 channels)."""
    if isinstance(X, np.ndarray):
        return X.ndim == 3 and X.shape[-1] == 3
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and np.ndim(X[0]) == 2
        and np.shape(X[0])[-1] == 3
    )


# ids: the rules of skeer._validation and skeer.templates._enrol, repeated
_KINDS = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats"}


def _value_kind(value):
    """The kind of one id: ``1``, ``"1"``, ``1.0``, ``True`` are of four."""
    for types, kind in (
        ((bool, np.bool_), "booleans"),
        ((int, np.integer), "integers"),
        ((float, np.floating), "floats"),
        ((str, bytes), "strings"),
    ):
        if isinstance(value, types):
            return kind
    return None


def _ids_kind(a):
    """The kind of an id array; ``"mixed"`` for objects of several kinds."""
    if a.dtype.kind in _KINDS or a.dtype.kind in "US":
        return _KINDS.get(a.dtype.kind, "strings")
    kinds = {_value_kind(v) or "mixed" for v in a.tolist()}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _one_kind(ids, what):
    """``check_one_kind`` on ids NumPy has not typed yet (a list, an object array)."""
    if isinstance(ids, np.ndarray) and ids.dtype != object:
        return
    values = np.asarray(ids, dtype=object).ravel().tolist()
    if any(v is None for v in values):
        raise ValueError(f"{what} contains None; every sample needs a value.")
    kinds = sorted({_value_kind(v) or type(v).__name__ for v in values})
    if len(kinds) > 1:
        raise ValueError(
            f"{what} mix {', '.join(kinds)} (e.g. 1 and '1'): distinct values would "
            "be merged. Use one kind (e.g. convert them all to str)."
        )


def _subjects(y, n_samples):
    """``y`` as 1-D ids, one per sample, refused where the verifier refuses it."""
    if y is None:
        raise ValueError("y is None; give one subject per sample.")
    _one_kind(y, "y")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it is raveled.",
            UserWarning,
            stacklevel=3,
        )
        y = y.ravel()
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(
            f"y must hold one subject per sample ({n_samples}), got shape {y.shape}."
        )
    kind = y.dtype.kind
    if kind == "f" and not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinity.")
    if (
        (kind == "f" and bool(np.any(y != np.round(y))))
        or kind not in "biufUO"
        or (kind == "O" and not (len(y) and isinstance(y[0], str)))
    ):
        raise ValueError(
            f"y holds {y.dtype} values that are not subject ids (integers or "
            "strings; whole floats)."
        )
    return y


def _common_ids(old, new, what):
    """Both id arrays in one dtype keeping every id distinct; other kinds refused."""
    k_old, k_new = _ids_kind(old), _ids_kind(new)
    if old.size and new.size and (k_old != k_new or "mixed" in (k_old, k_new)):
        raise ValueError(
            f"{what} holds {k_new} ({new.dtype}) but the enrolled identities are "
            f"{k_old} ({old.dtype}); an id is never converted (True would claim "
            "id 1). Use ids of the enrolled kind."
        )
    if not old.size:  # nothing enrolled: any kind
        return old.astype(new.dtype), new
    if not new.size:
        return old, new.astype(old.dtype)
    if k_old == "integers" and old.dtype != new.dtype:
        values = old.astype(object).tolist() + new.astype(object).tolist()
        lo, hi = min(values), max(values)
        i64, u64 = np.iinfo(np.int64), np.iinfo(np.uint64)
        if (lo < 0 and hi > i64.max) or lo < i64.min or hi > u64.max:
            raise ValueError(
                f"{what} and the enrolled identities span {lo} to {hi}: no 64-bit "
                "integer dtype holds them all without merging some. Use strings."
            )
        dtype = np.int64 if hi <= i64.max else np.uint64
        return old.astype(dtype), new.astype(dtype)
    if old.dtype.kind in "US" and new.dtype.kind in "US":
        return old.astype(str), new.astype(str)
    return old, new


class OnnxVerifier:
    """Verify identity claims with files written by :func:`~skeer.export.export_onnx`.

    A reference for services (numpy, onnxruntime and the standard library
    only) giving :meth:`skeer.KeystrokeVerifier.claim_scores` within float32
    rounding; raw sessions too when the pipeline starts with
    :class:`~skeer.KeystrokeFeatures`.

    Parameters
    ----------
    path : str or path-like
        The ONNX model; its sidecar ``<path>.json`` is read too.
    providers : list of str, default=None
        onnxruntime execution providers; None means
        ``["CPUExecutionProvider"]``.

    Attributes
    ----------
    classes_, templates_, template_scales_, threshold_
        As :class:`~skeer.KeystrokeVerifier`'s (templates ``d + n_features``
        wide when ``input_mean_`` is set).
    input_mean_, input_scale_ : ndarray of float32, shape (n_features,) or None
        The standardisation of the verifier's input the templates include.
    geometry, operating_point, preprocessing
        The sidecar's.

    Raises
    ------
    ValueError
        If the sidecar is not :func:`~skeer.export.export_onnx`'s, or a field
        is wrong or disagrees with the model (the message names both).

    See Also
    --------
    skeer.export.export_onnx : Write the files.

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("onnxruntime")  # skeer[onnx]: onnx, onnxruntime
    >>> import os, tempfile
    >>> import numpy as np
    >>> import skeer
    >>> from skeer.export._export import OnnxVerifier, export_onnx
    >>> X = np.random.default_rng(0).normal(size=(40, 6)).astype("float32")
    >>> y = np.repeat(np.arange(4), 10)
    >>> clf = skeer.KeystrokeVerifier(max_epochs=1, validation_size=0,
    ...                               random_state=0).fit(X, y)
    >>> model, _ = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "m.onnx"))
    >>> scorer = OnnxVerifier(model)
    >>> bool(np.allclose(scorer.claim_scores(X, y), clf.claim_scores(X, y),
    ...                  atol=1e-5))
    True
    """

    def __init__(self, path, *, providers=None):
        onnxruntime = need("onnxruntime")
        path = Path(path)
        sidecar = sidecar_path(path)
        side = read_sidecar(sidecar)
        for key in ("geometry", "operating_point", "preprocessing"):
            setattr(self, key, side[key])
        fitted = "threshold classes templates template_scales input_mean input_scale"
        for key in fitted.split():  # the verifier's fitted attributes
            setattr(self, f"{key}_", side[key])
        self._feature_step = side["feature_step"]
        self._input = side["input"]
        self._outputs = list(side["outputs"])
        self._session = onnxruntime.InferenceSession(
            str(path), providers=providers or ["CPUExecutionProvider"]
        )
        inputs = {i.name: i.shape for i in self._session.get_inputs()}
        outputs = {o.name: o.shape for o in self._session.get_outputs()}
        where = repr(str(sidecar))
        if self._input not in inputs:
            raise ValueError(
                f"{where}: input {self._input!r} is not an input of the model "
                f"{str(path)!r} ({', '.join(inputs)})."
            )
        for key, (name, width) in zip(
            ("output", "verifier_input"), side["outputs"].items()
        ):
            shape = outputs.get(name)
            if (
                shape is None
                or len(shape) != 2
                or (isinstance(shape[-1], int) and shape[-1] != width)
            ):
                raise ValueError(
                    f"{where}: {key} {name!r} (batch x {width}) is not an output "
                    f"of the model {str(path)!r} (its outputs: {outputs})."
                )
        self._input_shape = inputs[self._input]

    def embed(self, X):
        """L2-normalised embeddings of ``X`` (the model's input).

        Parameters
        ----------
        X : array-like of shape (n, n_features) or (n, max_len, n_features), \
                or list of raw sessions
            Input after the service's steps; raw sessions ``(n_keys, 3)`` (press
            ms, release ms, key code) if that step is KeystrokeFeatures.

        Returns
        -------
        embeddings : ndarray of float32, shape (n, d)
        """
        return self._run(X)[0]

    def _run(self, X):
        """Normalised embeddings of ``X`` and the model's other outputs."""
        if self._feature_step is not None and _is_sessions(X):
            X = _session_features(X, *self._feature_step)
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must be a numeric array, got dtype {X.dtype}.")
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim and not len(X):
            raise ValueError(f"X has 0 samples (shape={X.shape}); give at least one.")
        if not np.isfinite(X).all():  # a clipping scaler would accept inf
            raise ValueError("X contains NaN or infinity.")
        want = self._input_shape
        if X.ndim != len(want) or any(
            isinstance(w, int) and w != got for w, got in zip(want[1:], X.shape[1:])
        ):
            dims = ", ".join(str(w) for w in want[1:])
            raise ValueError(
                f"X has shape {X.shape}; the model takes (n, {dims}): features "
                "as the exported pipeline's first steps make them (sessions cut "
                "or padded to max_len keys by KeystrokeFeatures)."
            )
        E, *rest = self._session.run(self._outputs, {self._input: X})
        return [_l2_normalize(E, np.float32(1e-12)), *rest]  # as F.normalize

    def _features(self, X):
        """Embeddings, then the standardised input when ``input_mean_`` is set."""
        if self.input_mean_ is None:
            return self.embed(X)
        E, Z = self._run(X)
        scaled = (Z - self.input_mean_) / self.input_scale_
        return np.hstack([E, scaled.astype(np.float32)])

    def _columns(self, claimed, n):
        """Template row of each claimed id (as the verifier's claimed_columns)."""
        if claimed is None:
            raise ValueError(
                "claimed must hold the identity each sample claims (or one "
                "identity for all), got None."
            )
        if len(self.classes_) == 0:
            raise ValueError("No subject is enrolled: enroll some first.")
        if isinstance(claimed, list | tuple | np.ndarray):
            _one_kind(claimed, "claimed")
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
        classes, claimed = _common_ids(self.classes_, claimed, "claimed")
        cols = np.clip(np.searchsorted(classes, claimed), 0, len(classes) - 1)
        if np.any(classes[cols] != claimed):
            raise ValueError("claimed holds identities that are not enrolled.")
        return cols

    def _scores(self, F, center, scale):
        """Scores of rows ``F`` against the paired template rows (same shape)."""
        if self.geometry == "cosine":
            F = _l2_normalize(F, np.finfo(F.dtype).tiny)
            return np.einsum("...j,...j->...", F, center)
        diff = F - center
        if self.geometry == "euclidean":
            return -np.square(diff).sum(axis=-1)
        diff = np.abs(diff)
        if scale is not None:  # "scaled_manhattan"
            diff /= scale
        return -diff.sum(axis=-1)

    def claim_scores(self, X, claimed):
        """Score of each sample against the template of the identity it claims.

        Parameters
        ----------
        X : array-like
            Model input, one row (or sequence) per claim.
        claimed : array-like of shape (n,) or scalar
            Enrolled identities.

        Returns
        -------
        scores : ndarray of shape (n,)
            Higher means more likely the same person.
        """
        F = self._features(X)
        cols = self._columns(claimed, len(F))
        scale = None if self.template_scales_ is None else self.template_scales_[cols]
        return self._scores(F, self.templates_[cols], scale)

    def verify(self, X, claimed):
        """Accept (True) or reject each claim at ``threshold_``.

        Parameters
        ----------
        X, claimed
            As in :meth:`claim_scores`.

        Returns
        -------
        accepted : ndarray of bool, shape (n,)
        """
        return self.claim_scores(X, claimed) >= self.threshold_

    def decision_function(self, X):
        """Score of each sample against every enrolled template.

        Parameters
        ----------
        X : array-like
            Model input.

        Returns
        -------
        scores : ndarray of shape (n, n_classes)
            Columns in ``classes_`` order.
        """
        F = self._features(X)
        if self.geometry == "cosine":
            return _l2_normalize(F, np.finfo(F.dtype).tiny) @ self.templates_.T
        scale = None if self.template_scales_ is None else self.template_scales_[None]
        return self._scores(F[:, None, :], self.templates_[None], scale)

    def enroll(self, X, y):
        """Add or replace identities' templates, as ``KeystrokeVerifier.enroll``.

        Parameters
        ----------
        X : array-like
            Model input, several samples per identity.
        y : array-like of shape (n,)
            Identity of each sample, of the enrolled identities' kind; what
            ``KeystrokeVerifier.enroll`` refuses is refused.

        Returns
        -------
        self : OnnxVerifier
        """
        F = self._features(X).astype(np.float64)
        old, y = _common_ids(self.classes_, _subjects(y, len(F)), "y")
        ids, codes = np.unique(y, return_inverse=True)
        counts = np.bincount(codes, minlength=len(ids))[:, None]
        center = np.zeros((len(ids), F.shape[1]))
        scale = None
        if self.geometry == "cosine":
            np.add.at(center, codes, _l2_normalize(F, np.finfo(F.dtype).tiny))
            center = _l2_normalize(center, np.finfo(F.dtype).tiny)
        else:
            np.add.at(center, codes, F)
            center /= counts
        if self.geometry == "scaled_manhattan":
            scale = np.zeros_like(center)
            np.add.at(scale, codes, np.abs(F - center[codes]))
            scale = np.maximum(scale / counts, np.finfo(np.float64).eps)
        keep = ~np.isin(old, ids)
        classes = np.concatenate([old[keep], ids])
        order = np.argsort(classes, kind="stable")
        dtype = self.templates_.dtype

        def merged(rows, new):
            return np.concatenate([rows[keep], new.astype(dtype)])[order]

        self.classes_ = classes[order]
        self.templates_ = merged(self.templates_, center)
        if scale is not None:
            self.template_scales_ = merged(self.template_scales_, scale)
        return self
