"""Detectors whose template is a per-subject model (Killourhy & Maxion).

``_SubjectModelDetector`` fits one small model per subject and scores with
it; :class:`MahalanobisNearestNeighbor` and :class:`OneClassSVMDetector`
define that model. Public names are documented (and saved) as
``skeer.baselines.<name>``.
"""

import numbers
from typing import NamedTuple

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.covariance import empirical_covariance, ledoit_wolf, shrunk_covariance
from sklearn.svm import OneClassSVM

from skeer._validation import check_real
from skeer.baselines._template import _DetectorInputMixin
from skeer.templates._templates import ModelTemplates
from skeer.templates._verification import VerificationMixin


class _SubjectModelDetector(
    _DetectorInputMixin, VerificationMixin, ClassifierMixin, BaseEstimator
):
    """A detector that fits one small model per subject and scores with it.

    A subclass defines ``_check_params()`` (raises on an invalid parameter),
    ``_fit_subject(T)`` (the model of one subject from its samples ``T``) and
    ``_score_subject(model, X)`` (one similarity per row of ``X``). Templates
    are a :class:`~skeer.templates.ModelTemplates` (``templates_`` keeps its
    list of models). The public API (``enroll``, ``decision_function``,
    ``verify``, ...) and the calibration are
    :class:`~skeer.templates._verification.VerificationMixin`'s.
    """

    # -- what a subclass defines
    def _check_params(self):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _fit_subject(self, T):  # pragma: no cover
        raise NotImplementedError

    def _score_subject(self, model, X):  # pragma: no cover
        raise NotImplementedError

    # -- VerificationMixin's template hooks: one model per subject
    def _template_features(self, X):
        return self._check_X(X)

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
    """One subject's Mahalanobis nearest-neighbour model.

    ``whitening`` (d, r) maps a vector into the subject's whitened space (its
    rows times ``whitening`` have Euclidean distances equal to Mahalanobis
    distances under the subject's covariance); ``samples`` (n, r) are its
    training vectors mapped there.
    """

    whitening: np.ndarray
    samples: np.ndarray


class MahalanobisNearestNeighbor(_SubjectModelDetector):
    """Nearest neighbour (Mahalanobis) detector (Killourhy & Maxion, DSN 2009).

    Per subject, the covariance matrix ``S`` of its training vectors is
    estimated; a probe ``x`` scores minus its Mahalanobis distance
    ``sqrt((x - t)^T S^+ (x - t))`` to the nearest training vector ``t`` of
    the subject. Killourhy & Maxion report a mean per-subject EER of 0.100 on
    the CMU password data (200 training vectors of 31 features per subject).

    Parameters
    ----------
    shrinkage : "auto", float in [0, 1] or None, default="auto"
        How each subject's covariance is estimated. ``"auto"``: Ledoit-Wolf
        shrinkage towards a multiple of the identity
        (:func:`sklearn.covariance.ledoit_wolf`); a float ``s``:
        ``(1 - s) * S + s * trace(S) / d * I``
        (:func:`sklearn.covariance.shrunk_covariance`); ``None``: the plain
        empirical covariance (Killourhy & Maxion's definition), inverted with
        a pseudo-inverse when it is singular.
    operating_point : "eer" or float in (0, 1), default="eer"
        Where ``threshold_`` sits: the equal error rate, or a target
        false-match rate.
    n_enroll : int, default=5
        Samples per subject that enrol a calibration model in ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled subjects, sorted.
    templates_ : list of length n_classes
        Each subject's model: its whitening matrix and whitened training
        vectors (a private named tuple).
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    See Also
    --------
    OneClassSVMDetector : The other per-subject-model detector.
    ScaledManhattan : Killourhy & Maxion's best detector.

    Notes
    -----
    The covariance is the biased (``1/n``) empirical one. With fewer training
    vectors than features (e.g. GREYC-NISLAB's 5 to 10 enrolment samples of
    49 to 70 timings) it is singular: a pseudo-inverse (``shrinkage=None``)
    then measures only the projection of ``x - t`` onto the span of the
    training vectors and ignores every other direction, which is why the
    default shrinks instead. A covariance with no spread at all (one sample,
    or identical samples) falls back to the Euclidean distance. Eigenvalues
    below ``d * eps`` times the largest are treated as zero.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import MahalanobisNearestNeighbor
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 6))[y] + 0.1 * rng.normal(size=(40, 6))
    >>> det = MahalanobisNearestNeighbor().fit(X, y)
    >>> det.predict(X[::10]).tolist()
    [0, 1, 2, 3]
    >>> det.verify(X[:2], [0, 1]).tolist()
    [True, False]
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


class OneClassSVMDetector(_SubjectModelDetector):
    """One-class SVM detector (Killourhy & Maxion, DSN 2009).

    Per subject, a :class:`sklearn.svm.OneClassSVM` is fitted on its training
    vectors; a probe scores the SVM's ``decision_function`` (the signed
    distance to the subject's boundary, positive inside). Killourhy & Maxion
    report a mean per-subject EER of 0.102 on the CMU password data with
    ``nu=0.5`` and an RBF kernel.

    Parameters
    ----------
    nu : float in (0, 1], default=0.5
        Upper bound on the share of training vectors outside the boundary.
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default="rbf"
        The SVM's kernel.
    gamma : "scale", "auto" or float > 0, default="scale"
        Kernel coefficient, as in :class:`sklearn.svm.OneClassSVM`
        (``"scale"`` is computed from each subject's own training vectors).
    operating_point : "eer" or float in (0, 1), default="eer"
        Where ``threshold_`` sits: the equal error rate, or a target
        false-match rate.
    n_enroll : int, default=5
        Samples per subject that enrol a calibration model in ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled subjects, sorted.
    templates_ : list of sklearn.svm.OneClassSVM
        Each subject's fitted SVM, in ``classes_`` order.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    See Also
    --------
    MahalanobisNearestNeighbor : The other per-subject-model detector.
    ScaledManhattan : Killourhy & Maxion's best detector.

    Notes
    -----
    Scores of different subjects are on different scales (each SVM has its
    own offset), which per-subject EERs ignore but a single ``threshold_``
    across subjects does not.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import OneClassSVMDetector
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 6))[y] + 0.1 * rng.normal(size=(40, 6))
    >>> det = OneClassSVMDetector().fit(X, y)
    >>> det.predict(X[::10]).tolist()
    [0, 1, 2, 3]
    >>> det.decision_function(X[:2]).shape
    (2, 4)
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
