"""Detectors whose template is a per-subject model (Killourhy & Maxion)."""

import numbers
from typing import NamedTuple

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.covariance import empirical_covariance, ledoit_wolf, shrunk_covariance
from sklearn.svm import OneClassSVM

from skeer._validation import check_real
from skeer.baselines._template import _DetectorInputMixin, _shared_doc
from skeer.templates._templates import ModelTemplates
from skeer.templates._verification import VerificationMixin


class _SubjectModelDetector(
    _DetectorInputMixin, VerificationMixin, ClassifierMixin, BaseEstimator
):
    """Per-subject models (``_fit_subject``, ``_score_subject``, ``_check_params``)."""

    def _new_templates(self, F, codes, n_codes):
        """One model per subject ``0..n_codes-1`` from its rows of ``F``."""
        self._check_params()
        return ModelTemplates.fit(
            F, codes, n_codes, self._fit_subject, self._score_subject
        )

    def _templates(self):
        return ModelTemplates(self.templates_, self._score_subject)

    def _set_templates(self, classes, templates):
        self.classes_ = classes
        self.templates_ = list(templates.models)


class _MahalanobisTemplate(NamedTuple):
    """Whitening (d, r) to Mahalanobis space and the samples (n, r) there."""

    whitening: np.ndarray
    samples: np.ndarray


@_shared_doc
class MahalanobisNearestNeighbor(_SubjectModelDetector):
    """Nearest neighbour (Mahalanobis) detector (Killourhy & Maxion, DSN 2009).

    A probe ``x`` scores ``-sqrt((x - t)^T S^+ (x - t))`` for the nearest
    training vector ``t`` of a subject, ``S`` that subject's covariance.

    Parameters
    ----------
    shrinkage : "auto", float in [0, 1] or None, default="auto"
        Covariance estimate: ``"auto"``, :func:`sklearn.covariance.ledoit_wolf`; a
        float ``s``, ``(1 - s) * S + s * trace(S) / d * I``
        (:func:`sklearn.covariance.shrunk_covariance`); ``None``, the empirical
        covariance (Killourhy & Maxion's), pseudo-inverted when singular.
    {params}

    Attributes
    ----------
    {attributes}
    templates_ : list of length n_classes
        Each subject's whitening matrix and whitened training vectors.

    See Also
    --------
    OneClassSVMDetector : The other per-subject-model detector.

    Notes
    -----
    The covariance is the biased (``1/n``) one; singular, its pseudo-inverse
    ignores directions outside the training span, hence the default shrinkage
    (see :ref:`fixed_text`). No spread at all falls back to the Euclidean
    distance; eigenvalues below ``d * eps`` times the largest count as zero.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import MahalanobisNearestNeighbor
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 6))[y] + 0.1 * rng.normal(size=(40, 6))
    >>> det = MahalanobisNearestNeighbor().fit(X, y)
    >>> det.predict(X[::10]).tolist(), det.verify(X[:2], [0, 1]).tolist()
    ([0, 1, 2, 3], [True, False])
    """

    def __init__(self, *, shrinkage="auto", operating_point="eer", n_enroll=5):
        self.shrinkage = shrinkage
        self.operating_point = operating_point
        self.n_enroll = n_enroll

    def _check_params(self):
        s = self.shrinkage
        if s is None or (isinstance(s, str) and s == "auto"):
            return
        if isinstance(s, numbers.Real) and not isinstance(s, bool):
            check_real(
                s, "shrinkage", low=0.0, high=1.0, low_open=False, high_open=False
            )
            return
        raise ValueError(
            f'shrinkage must be "auto", a float in [0, 1] or None, got {s!r}.'
        )

    def _covariance(self, T):
        if len(T) < 2:
            return np.zeros((T.shape[1], T.shape[1]))
        if self.shrinkage is None:
            return empirical_covariance(T)
        if isinstance(self.shrinkage, str):
            return ledoit_wolf(T)[0]
        return shrunk_covariance(empirical_covariance(T), float(self.shrinkage))

    def _fit_subject(self, T):
        T = np.asarray(T, dtype=np.float64)
        d = T.shape[1]
        w, V = np.linalg.eigh(self._covariance(T))
        keep = w > max(w.max(), 0.0) * d * np.finfo(np.float64).eps
        if not keep.any():  # no spread: Euclidean
            W = np.eye(d)
        else:
            W = V[:, keep] / np.sqrt(w[keep])
        return _MahalanobisTemplate(W, T @ W)

    def _score_subject(self, model, X):
        whitening, samples = model  # a plain tuple once saved and loaded
        Z = np.asarray(X, dtype=np.float64) @ whitening
        return -cdist(Z, samples).min(axis=1)

    def _check_loaded_state(self):
        """The state a file gave: one finite (whitening, samples) pair a subject."""
        n, d = len(self.classes_), self.n_features_in_
        if not isinstance(self.templates_, list) or len(self.templates_) != n:
            raise ValueError(f"templates_ is not a list of {n} subject models")
        for i, model in enumerate(self.templates_):
            if not (isinstance(model, tuple) and len(model) == 2):
                raise ValueError(f"templates_[{i}] is not a (whitening, samples) pair")
            W, Z = model
            if not all(
                isinstance(a, np.ndarray) and a.ndim == 2 and a.dtype.kind == "f"
                for a in (W, Z)
            ):
                raise ValueError(f"templates_[{i}] does not hold 2-D float arrays")
            if W.shape[0] != d or Z.shape[1] != W.shape[1] or len(Z) < 1:
                raise ValueError(
                    f"templates_[{i}] has shapes {W.shape} and {Z.shape}, which do "
                    f"not fit {d} features"
                )
            if not (np.isfinite(W).all() and np.isfinite(Z).all()):
                raise ValueError(f"templates_[{i}] holds NaN or infinity")
        self.templates_ = [_MahalanobisTemplate(W, Z) for W, Z in self.templates_]


@_shared_doc
class OneClassSVMDetector(_SubjectModelDetector):
    """One-class SVM detector (Killourhy & Maxion, DSN 2009).

    A :class:`sklearn.svm.OneClassSVM` per subject; a probe scores its
    ``decision_function`` (signed distance to the boundary, positive inside).

    Parameters
    ----------
    nu : float in (0, 1], default=0.5
        Upper bound on the share of training vectors outside the boundary.
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default="rbf"
        The SVM's kernel.
    gamma : "scale", "auto" or float > 0, default="scale"
        As in :class:`sklearn.svm.OneClassSVM` (``"scale"``: per subject).
    {params}

    Attributes
    ----------
    {attributes}
    templates_ : list of sklearn.svm.OneClassSVM
        Each subject's fitted SVM, in ``classes_`` order.

    See Also
    --------
    MahalanobisNearestNeighbor : The other per-subject-model detector.

    Notes
    -----
    Each SVM has its own offset: one ``threshold_`` does not align the subjects.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import OneClassSVMDetector
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 6))[y] + 0.1 * rng.normal(size=(40, 6))
    >>> OneClassSVMDetector().fit(X, y).predict(X[::10]).tolist()
    [0, 1, 2, 3]
    """

    def __init__(
        self, *, nu=0.5, kernel="rbf", gamma="scale", operating_point="eer", n_enroll=5
    ):
        self.nu = nu
        self.kernel = kernel
        self.gamma = gamma
        self.operating_point = operating_point
        self.n_enroll = n_enroll

    def _svm(self):
        return OneClassSVM(nu=self.nu, kernel=self.kernel, gamma=self.gamma)

    def _check_params(self):
        self._svm()._validate_params()

    def _fit_subject(self, T):
        return self._svm().fit(np.asarray(T, dtype=np.float64))

    def _score_subject(self, model, X):
        return model.decision_function(np.asarray(X, dtype=np.float64))
