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

from .. import _enrol
from .._validation import check_operating_point, check_positive_int, check_real
from .._verification import VerificationMixin
from ..metrics import equal_error_rate
from ._template import _DetectorInputMixin


class _ModelJudge:
    """Enrols and scores rows of validated ``X`` with a detector's own models
    (the judge interface of :func:`skeer._enrol.open_set_scores`)."""

    def __init__(self, detector, X):
        self.detector, self.X = detector, X

    def rows(self, rows):
        """Nothing to precompute."""

    def templates(self, rows, codes, n_codes):
        return self.detector._subject_models(self.X[rows], codes, n_codes)

    def claims(self, rows, templates, cols):
        return self.detector._subject_scores(self.X[rows], templates, cols)

    def matrix(self, rows, templates):
        return self.detector._subject_scores(self.X[rows], templates)


class _SubjectModelDetector(
    _DetectorInputMixin, VerificationMixin, ClassifierMixin, BaseEstimator
):
    """A detector that fits one small model per subject and scores with it.

    A subclass defines ``_check_params()`` (raises on an invalid parameter),
    ``_fit_subject(T)`` (the model of one subject from its samples ``T``) and
    ``_score_subject(model, X)`` (one similarity per row of ``X``). Templates
    (``templates_``, and what the protocols' hook ``_make_templates``
    returns) are lists of such models, one per subject; the protocols only
    pass them back to ``_score_templates``.
    """

    # -- what a subclass defines
    def _check_params(self):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _fit_subject(self, T):  # pragma: no cover
        raise NotImplementedError

    def _score_subject(self, model, X):  # pragma: no cover
        raise NotImplementedError

    # -- templates: a list of per-subject models
    def _templates(self):
        return self.templates_

    def _set_templates(self, classes, templates):
        self.classes_ = classes
        self.templates_ = list(templates)

    def _make_templates(self, X, codes, n_codes):
        """One model per subject ``0..n_codes-1`` from its rows of ``X``."""
        self._check_params()
        return self._subject_models(self._check_X(X), codes, n_codes)

    def _score_templates(self, X, templates, cols=None):
        """Score matrix of ``X`` against ``templates``, or one score per row."""
        return self._subject_scores(self._check_X(X), templates, cols)

    def _subject_models(self, X, codes, n_codes):
        """``_make_templates`` on validated ``X``."""
        codes = np.asarray(codes, dtype=np.intp)
        counts = np.bincount(codes, minlength=n_codes)
        if (counts == 0).any():
            raise ValueError("Every subject needs at least one enrolment sample.")
        order = np.argsort(codes, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(counts)))
        return [
            self._fit_subject(X[order[bounds[k] : bounds[k + 1]]])
            for k in range(n_codes)
        ]

    def _subject_scores(self, X, templates, cols=None):
        """``_score_templates`` on validated ``X``."""
        if cols is None:
            out = np.empty((len(X), len(templates)))
            for k, model in enumerate(templates):
                out[:, k] = self._score_subject(model, X)
            return out
        cols = np.asarray(cols, dtype=np.intp)
        out = np.empty(len(X))
        for k in np.unique(cols):
            rows = np.flatnonzero(cols == k)
            out[rows] = self._score_subject(templates[k], X[rows])
        return out

    # -- calibration (the open-set protocol of TemplateDetector)
    def _calibrate(self, X, codes):
        """``threshold_`` at ``operating_point`` on validated training data."""
        n_enroll = self._calibration_n_enroll(codes)
        if n_enroll is None:  # closed set on the training data (optimistic)
            _, codes = np.unique(codes, return_inverse=True)
            n = int(codes.max()) + 1
            S = self._subject_scores(X, self._subject_models(X, codes, n))
            y = np.zeros(S.shape, np.int8)
            y[np.arange(len(S)), codes] = 1
            return _enrol.threshold_at(y.ravel(), S.ravel(), self.operating_point)
        split = _enrol.open_set_split(codes, n_enroll, None)
        genuine, S = _enrol.open_set_scores(_ModelJudge(self, X), split)
        impostor = _enrol.impostor_scores(S)
        y_true = np.r_[np.ones(len(genuine), np.int8), np.zeros(len(impostor), np.int8)]
        return _enrol.threshold_at(
            y_true, np.r_[genuine, impostor], self.operating_point
        )

    # -- fitting
    def fit(self, X, y):
        """Fit one model per subject and calibrate ``threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors (e.g. fixed-text timing vectors), finite.
        y : array-like of shape (n_samples,)
            Subject of each sample; at least 2 distinct subjects, in the order
            their samples were recorded (the first ``n_enroll`` of a subject
            enrol its calibration model).

        Returns
        -------
        self : object
            The fitted detector.

        Raises
        ------
        ValueError
            If a parameter or the input is invalid, or ``y`` has one subject.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import OneClassSVMDetector
        >>> rng = np.random.default_rng(0)
        >>> X, y = rng.normal(size=(24, 5)), np.repeat(["ann", "bob", "cy"], 8)
        >>> det = OneClassSVMDetector().fit(X, y)
        >>> det.classes_.tolist(), len(det.templates_)
        (['ann', 'bob', 'cy'], 3)
        """
        self._check_params()
        check_operating_point(self.operating_point)
        check_positive_int(self.n_enroll, "n_enroll")
        X, y = self._validate_Xy(X, y, reset=True)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y has only {len(classes)} class (a single subject); a detector "
                "needs at least 2 subjects to calibrate its threshold on impostor "
                "comparisons."
            )
        self._warn_calibration(codes, "training")
        threshold = self._calibrate(X, codes)
        self._set_templates(classes, self._subject_models(X, codes, len(classes)))
        self.threshold_ = threshold
        return self

    # -- the public API (VerificationMixin's, over per-subject models)
    def enroll(self, X, y, *, reset=False):
        """Add or replace subjects' models without refitting the others.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input as in ``fit``.
        y : array-like of shape (n_samples,)
            Subject of each sample; identities of the kind already enrolled.
        reset : bool, default=False
            Drop every enrolled subject first.

        Returns
        -------
        self : object
            With ``classes_`` (sorted) and ``templates_`` updated;
            ``threshold_`` is unchanged.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import MahalanobisNearestNeighbor
        >>> rng = np.random.default_rng(0)
        >>> X, y = rng.normal(size=(24, 4)), np.repeat([0, 1, 2], 8)
        >>> det = MahalanobisNearestNeighbor().fit(X, y)
        >>> det.enroll(rng.normal(size=(5, 4)), [7] * 5).classes_.tolist()
        [0, 1, 2, 7]
        """
        self._check_fitted()
        if not isinstance(reset, (bool, np.bool_)):
            raise ValueError(f"reset must be True or False, got {reset!r}.")
        X = self._check_X(X)
        y = self._check_targets(y, len(X))
        new_classes, codes = np.unique(y, return_inverse=True)
        self._check_params()
        new = self._subject_models(X, codes, len(new_classes))
        if reset:
            self._set_templates(new_classes, new)
            return self
        # merge positions with _enrol's rules (replacement, identity kinds)
        n_old = len(self.classes_)
        classes, merged = _enrol.merge_templates(
            self.classes_,
            (np.arange(n_old, dtype=np.float64)[:, None],),
            new_classes,
            (np.arange(n_old, n_old + len(new), dtype=np.float64)[:, None],),
        )
        pool = list(self.templates_) + list(new)
        self._set_templates(classes, [pool[int(i)] for i in merged.center[:, 0]])
        return self

    def unenroll(self, ids):
        """Remove enrolled subjects.

        Parameters
        ----------
        ids : array-like or scalar
            Enrolled identities to remove; one that is not enrolled is an
            error (nothing is removed then).

        Returns
        -------
        self : object
            With ``classes_`` and ``templates_`` updated.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import OneClassSVMDetector
        >>> rng = np.random.default_rng(0)
        >>> det = OneClassSVMDetector().fit(
        ...     rng.normal(size=(24, 4)), np.repeat([0, 1, 2], 8))
        >>> det.unenroll(1).classes_.tolist()
        [0, 2]
        """
        self._check_fitted()
        ids = np.atleast_1d(np.asarray(ids))
        cols = self._claimed_columns(ids, len(ids))
        keep = np.ones(len(self.classes_), dtype=bool)
        keep[cols] = False
        self._set_templates(
            self.classes_[keep], [m for m, k in zip(self.templates_, keep) if k]
        )
        return self

    def decision_function(self, X):
        """Similarity of each sample to each enrolled subject.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input as in ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes_)
            float64, columns in ``classes_`` order; higher means more likely
            the same person.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import MahalanobisNearestNeighbor
        >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 1.0], [1.0, 1.2]])
        >>> det = MahalanobisNearestNeighbor(n_enroll=1).fit(X, [0, 0, 1, 1])
        >>> det.decision_function(X[:1]).shape
        (1, 2)
        """
        self._check_fitted()
        return self._score_templates(X, self.templates_)

    def claim_scores(self, X, claimed):
        """Similarity of each sample to the model of the subject it claims.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input as in ``fit``.
        claimed : array-like of shape (n_samples,) or scalar
            The subject each sample claims to be; must be enrolled.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The claimed column of :meth:`decision_function`.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import OneClassSVMDetector
        >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 1.0], [1.0, 1.2]])
        >>> det = OneClassSVMDetector(n_enroll=1).fit(X, [0, 0, 1, 1])
        >>> bool(det.claim_scores(X[:1], 0)[0] > det.claim_scores(X[:1], 1)[0])
        True
        """
        self._check_fitted()
        X = self._check_X(X)
        cols = self._claimed_columns(claimed, len(X))
        return self._subject_scores(X, self.templates_, cols)

    def predict(self, X):
        """Subject of the most similar model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input as in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Subjects from ``classes_``.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import MahalanobisNearestNeighbor
        >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 1.0], [1.0, 1.2]])
        >>> det = MahalanobisNearestNeighbor(n_enroll=1).fit(X, ["a", "a", "b", "b"])
        >>> det.predict([[0.9, 1.1]]).tolist()
        ['b']
        """
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Negative closed-set equal error rate (greater is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input as in ``fit``.
        y : array-like of shape (n_samples,)
            Subjects, all enrolled.
        sample_weight : None
            Not supported; must be None.

        Returns
        -------
        score : float
            ``-equal_error_rate(y, decision_function(X), labels=classes_)``.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import OneClassSVMDetector
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat(np.arange(4), 10)
        >>> X = rng.normal(size=(4, 6))[y] + 0.1 * rng.normal(size=(40, 6))
        >>> OneClassSVMDetector().fit(X, y).score(X, y)
        -0.0
        """
        if sample_weight is not None:
            raise ValueError(
                "sample_weight is not supported by score: every comparison counts once."
            )
        self._check_fitted()
        X = self._check_X(X)
        y = self._check_targets(y, len(X))
        self._claimed_columns(y, len(X))
        S = self._subject_scores(X, self.templates_)
        return -float(equal_error_rate(y, S, labels=self.classes_))


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
        Z = np.asarray(X, dtype=np.float64) @ model.whitening
        return -cdist(Z, model.samples).min(axis=1)


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
