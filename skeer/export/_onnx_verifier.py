"""The reference reader of :func:`skeer.export.export_onnx`'s files.

:class:`OnnxVerifier` (public as ``skeer.export.OnnxVerifier``) scores
identity claims with an exported model and its JSON sidecar. This module
imports numpy, onnxruntime and the standard library only, never torch nor
skeer's other modules, so that a service can copy it whole; it also owns the
sidecar's format name and versions, which the writer imports from here.
"""

import importlib
import json
import os
import stat
from pathlib import Path

import numpy as np

__all__ = ["OnnxVerifier"]

#: The sidecar's ``format``.
FORMAT = "skeer.onnx-sidecar"
#: Sidecar versions: 1, and 2 when the templates include the verifier's
#: standardised input (``verifier_input``, ``input_mean``, ``input_scale``).
FORMAT_VERSIONS = (1, 2, 3)  # 3: the key "geometry" (was "template")


def sidecar_path(path):
    """The sidecar file of the ONNX model ``path``: ``<path>.json``."""
    return Path(str(path) + ".json")


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


#: The dtypes a sidecar may name: every size comes from the values themselves.
_FLOAT_DTYPES = ("<f4", "<f8")
_ID_DTYPES = (
    "|b1",
    "|i1",
    "<i2",
    "<i4",
    "<i8",
    "|u1",
    "<u2",
    "<u4",
    "<u8",
    "<f4",
    "<f8",
)
# skeer.templates.GEOMETRIES, repeated: this reader needs no other skeer module
_GEOMETRIES = ("cosine", "scaled_manhattan", "manhattan", "euclidean")


#: Largest sidecar read (its templates are JSON text: 20 MB for 10,000
#: subjects of 128 dimensions).
MAX_SIDECAR_BYTES = 256 * 2**20


# skeer.features.KeystrokeFeatures, repeated in plain numpy (the sidecar
# names it with its parameters): this reader takes raw sessions without skeer.
# tests/test_export.py checks it gives KeystrokeFeatures' output exactly.
_FEATURES_CLASS = "skeer.features.KeystrokeFeatures"
_MAX_LEN = 100_000  # skeer.features.MAX_LEN_LOADED


def _session_features(sessions, max_len, clip):
    """KeystrokeFeatures' output for raw sessions ``(n_keys, 3)``: press ms,
    release ms, key code -> ``(n, max_len, 5)`` float32 (hold, inter-press,
    inter-release, inter-key in seconds, clipped to ``[-clip, clip]``; key
    ``(clip(round(code), 0, 255) + 1) / 256``; the first ``max_len`` keys,
    zero-padded). Refuses what KeystrokeFeatures refuses."""
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
    """Raw sessions: a sequence of ``(n_keys, 3)`` arrays, or a 3-D array of
    them (the model's own input has 5 channels)."""
    if isinstance(X, np.ndarray):
        return X.ndim == 3 and X.shape[-1] == 3
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and np.ndim(X[0]) == 2
        and np.shape(X[0])[-1] == 3
    )


def _feature_step(meta, where):
    """``(max_len, clip)`` when the service's one step is KeystrokeFeatures."""
    service = (meta.get("preprocessing") or {}).get("service") or []
    if len(service) != 1 or service[0].get("class") != _FEATURES_CLASS:
        return None
    params = service[0].get("params") or {}
    max_len, clip = params.get("max_len"), params.get("clip")
    if type(max_len) is not int or not 1 <= max_len <= _MAX_LEN:
        raise ValueError(f"{where}: KeystrokeFeatures max_len {max_len!r} is invalid.")
    if clip is not None and not (type(clip) in (int, float) and 0 < clip < np.inf):
        raise ValueError(f"{where}: KeystrokeFeatures clip {clip!r} is invalid.")
    return max_len, clip


def _read_sidecar(sidecar):
    """The sidecar's JSON, if it is one this reader knows; else ValueError."""
    shown = repr(str(sidecar))
    info = os.stat(sidecar)  # FileNotFoundError as is
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{shown} is not a regular file (a folder, FIFO or device).")
    if info.st_size > MAX_SIDECAR_BYTES:
        raise ValueError(
            f"{shown} holds {info.st_size:,} bytes, more than a sidecar may "
            f"({MAX_SIDECAR_BYTES:,})."
        )
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # not JSON, absurdly nested
        raise ValueError(
            f"{shown} is not a skeer ONNX sidecar: not readable JSON "
            f"({type(exc).__name__})."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{str(sidecar)!r} is not a skeer ONNX sidecar.")
    if meta.get("format_version") not in FORMAT_VERSIONS:
        raise ValueError(
            f"{str(sidecar)!r} has format_version {meta.get('format_version')!r}; "
            f"this reader knows {', '.join(map(str, FORMAT_VERSIONS))}."
        )
    return meta


def _classes(meta, where):
    """The enrolled ids, exact; a dtype width is never taken from the file."""
    values, dtype = meta.get("classes"), meta.get("classes_dtype")
    if not isinstance(values, list):
        raise ValueError(f"{where}: classes is not a list.")
    if isinstance(dtype, str) and dtype[1:2] == "U":
        if not all(isinstance(v, str) for v in values):
            raise ValueError(
                f"{where}: classes_dtype {dtype!r} but not every id is a str."
            )
        return np.asarray(values, dtype=str)
    if dtype not in _ID_DTYPES:
        raise ValueError(f"{where}: classes_dtype {dtype!r} is not an id dtype.")
    want = {"b": (bool,), "f": (int, float)}.get(np.dtype(dtype).kind, (int,))
    if not all(type(v) in want for v in values):
        raise ValueError(f"{where}: classes are not all {want[0].__name__}s ({dtype}).")
    kind = np.dtype(dtype).kind
    info = np.iinfo(np.dtype(dtype)) if kind in "iu" else None
    if (
        info is not None
        and values
        and not (info.min <= min(values) and max(values) <= info.max)
    ):
        raise ValueError(f"{where}: classes do not fit {dtype}.")
    out = np.asarray(values, dtype=np.dtype(dtype))
    if kind == "f" and not (np.isfinite(out).all() and out.tolist() == values):
        raise ValueError(f"{where}: classes are not exactly {dtype} values.")
    return out


def _float_array(meta, key, dtype, where):
    values = np.asarray(meta[key], dtype=dtype)
    if not np.isfinite(values).all():
        raise ValueError(f"{where}: {key} holds NaN or infinity.")
    return values


class OnnxVerifier:
    """Verify identity claims with files written by :func:`~skeer.export.export_onnx`.

    A reference implementation for services: it needs numpy, onnxruntime
    and the standard library only (not skeer's other modules, nor PyTorch),
    and re-implements the template geometry in a few numpy lines that give
    the scores of :meth:`skeer.KeystrokeVerifier.claim_scores` (within float32
    rounding). When the exported pipeline starts with
    :class:`~skeer.KeystrokeFeatures`, every method also takes raw sessions
    ``(n_keys, 3)`` and featurises them as ``KeystrokeFeatures`` does: raw
    sessions in, the pipeline's scores out.

    Parameters
    ----------
    path : str or path-like
        The ONNX model; its sidecar ``<path>.json`` is read too.
    providers : list of str, default=None
        onnxruntime execution providers; None means
        ``["CPUExecutionProvider"]``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled identities, sorted.
    templates_ : ndarray of shape (n_classes, d) or (n_classes, d + n_features)
        One template per identity; of the embedding followed by the
        standardised verifier input when ``input_mean_`` is set.
    template_scales_ : ndarray, same shape as ``templates_``, or None
        Per-dimension scales (``geometry="scaled_manhattan"`` only).
    input_mean_, input_scale_ : ndarray of float32, shape (n_features,) or None
        The standardisation of the verifier's input that the templates
        include (a verifier fitted with ``template_input=True``), else None.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    geometry : str
        The template geometry.
    operating_point : "eer" or float
        Where ``threshold_`` was calibrated.
    preprocessing : dict
        The sidecar's ``preprocessing``: the steps to run on raw input first.

    Raises
    ------
    ValueError
        If the sidecar is not one written by
        :func:`~skeer.export.export_onnx` or its parts disagree (the message
        names the file).

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
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = (rng.normal(size=(4, 6))[y] + 0.3 * rng.normal(size=(40, 6))).astype(
    ...     "float32")
    >>> clf = skeer.KeystrokeVerifier(max_epochs=1, validation_size=0,
    ...                               geometry="scaled_manhattan",
    ...                               random_state=0).fit(X, y)
    >>> model, _ = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "m.onnx"))
    >>> scorer = OnnxVerifier(model)
    >>> scorer.geometry, scorer.classes_.tolist()
    ('scaled_manhattan', [0, 1, 2, 3])
    >>> bool((scorer.verify(X, y) == clf.verify(X, y)).all())
    True
    >>> scorer.enroll(X[:5], [9] * 5).classes_.tolist()
    [0, 1, 2, 3, 9]
    """

    def __init__(self, path, *, providers=None):
        onnxruntime = need("onnxruntime")
        path = Path(path)
        sidecar = sidecar_path(path)
        meta = _read_sidecar(sidecar)
        where = repr(str(sidecar))
        self.geometry = meta["geometry" if meta["format_version"] >= 3 else "template"]
        if self.geometry not in _GEOMETRIES:
            raise ValueError(f"{where}: geometry {self.geometry!r} is not known.")
        self.operating_point = meta["operating_point"]
        threshold = meta["threshold"]
        if threshold == "-inf":  # accept every claim: a target FMR that allows it
            self.threshold_ = -np.inf
        elif isinstance(threshold, (int, float)) and np.isfinite(threshold):
            self.threshold_ = float(threshold)
        else:
            raise ValueError(f"{where}: threshold {threshold!r} is not a number.")
        self.preprocessing = meta["preprocessing"]
        self._feature_step = _feature_step(meta, where)
        if meta["templates_dtype"] not in _FLOAT_DTYPES:
            raise ValueError(f"{where}: templates_dtype is not float32 or float64.")
        dtype = np.dtype(meta["templates_dtype"])
        self.classes_ = _classes(meta, where)
        self.templates_ = _float_array(meta, "templates", dtype, where).reshape(
            len(self.classes_), -1
        )
        scales = meta["template_scales"]
        self.template_scales_ = (
            None
            if scales is None
            else _float_array(meta, "template_scales", dtype, where).reshape(
                self.templates_.shape
            )
        )
        if (self.template_scales_ is None) != (self.geometry != "scaled_manhattan"):
            raise ValueError(
                f"{str(sidecar)!r}: template_scales do not fit the "
                f"{self.geometry!r} geometry."
            )
        if self.template_scales_ is not None and not (self.template_scales_ > 0).all():
            raise ValueError(f"{where}: template_scales are not all positive.")
        self._input = meta["input"]["name"]
        self._outputs = [meta["output"]["name"]]
        self.input_mean_ = self.input_scale_ = None
        if meta.get("input_mean") is not None:
            self._outputs.append(meta["verifier_input"]["name"])
            n = meta["verifier_input"]["shape"][-1]
            self.input_mean_ = np.asarray(meta["input_mean"], dtype=np.float32)
            self.input_scale_ = np.asarray(meta["input_scale"], dtype=np.float32)
            d = meta["output"]["shape"][-1] + n
            if (
                self.input_mean_.shape != (n,)
                or self.input_scale_.shape != (n,)
                or not np.isfinite(self.input_mean_).all()
                or not (np.isfinite(self.input_scale_) & (self.input_scale_ > 0)).all()
                or self.templates_.shape[1] != d
            ):
                raise ValueError(
                    f"{str(sidecar)!r}: input_mean and input_scale do not hold "
                    f"one value per verifier input ({n}; scales positive) or the "
                    f"templates are not {d} wide."
                )
        self._session = onnxruntime.InferenceSession(
            str(path), providers=providers or ["CPUExecutionProvider"]
        )
        (self._input_shape,) = [
            i.shape for i in self._session.get_inputs() if i.name == self._input
        ]

    def embed(self, X):
        """L2-normalised embeddings of ``X`` (the model's input).

        Parameters
        ----------
        X : array-like of shape (n, n_features) or (n, max_len, n_features), \
                or list of raw sessions
            Input after the service's preprocessing steps; or, when that step
            is :class:`~skeer.KeystrokeFeatures` (a pipeline that starts
            with it), raw sessions of shape ``(n_keys, 3)`` as the pipeline
            takes them (press ms, release ms, key code), featurised here
            exactly as ``KeystrokeFeatures`` does. Every method taking ``X``
            takes them.

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
        if not np.isfinite(X).all():
            # as the Python pipeline: a clipping scaler in the graph would
            # otherwise turn inf into an accepted in-range value
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
        """What templates are made of: the embeddings, then the standardised
        verifier input when ``input_mean_`` is set."""
        if self.input_mean_ is None:
            return self.embed(X)
        E, Z = self._run(X)
        scaled = (Z - self.input_mean_) / self.input_scale_
        return np.hstack([E, scaled.astype(np.float32)])

    def _columns(self, claimed, n):
        claimed = np.asarray(claimed)
        kinds = {"b": "bool", "i": "int", "u": "int", "f": "float"}
        ck, ik = kinds.get(claimed.dtype.kind), kinds.get(self.classes_.dtype.kind)
        if len(self.classes_) and ck and ik and ck != ik:
            raise ValueError(
                f"claimed holds {claimed.dtype} values but the enrolled identities "
                f"are {self.classes_.dtype}; a claim is never converted (True would "
                "claim id 1)."
            )
        if claimed.ndim == 0:
            claimed = np.full(n, claimed.item(), dtype=claimed.dtype)
        cols = np.searchsorted(self.classes_, claimed)
        cols = np.clip(cols, 0, max(len(self.classes_) - 1, 0))
        if len(self.classes_) == 0 or np.any(self.classes_[cols] != claimed):
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
            Columns in ``classes_`` order (one ``(n, n_classes, d)``
            intermediate for the distance geometries: score large galleries
            in chunks).
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
            Identity of each sample, of the enrolled identities' kind.

        Returns
        -------
        self : OnnxVerifier
        """
        y = np.asarray(y)
        if len(self.classes_) and self.classes_.dtype.kind != y.dtype.kind:
            raise ValueError(
                f"enrolled identities are {self.classes_.dtype} but y holds "
                f"{y.dtype}; enrol identities of the same kind."
            )
        F = self._features(X).astype(np.float64)
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
        keep = ~np.isin(self.classes_, ids)
        classes = np.concatenate([self.classes_[keep], ids])
        order = np.argsort(classes, kind="stable")
        dtype = self.templates_.dtype
        self.classes_ = classes[order]
        self.templates_ = np.concatenate([self.templates_[keep], center.astype(dtype)])[
            order
        ]
        if scale is not None:
            self.template_scales_ = np.concatenate(
                [self.template_scales_[keep], scale.astype(dtype)]
            )[order]
        return self
