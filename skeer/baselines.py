"""Non-learned detectors as estimators with the verifier's scoring API.

A detector enrols each subject as a template in one of the geometries of
:mod:`skeer._enrol` (the single home of templates and scores) and scores a
probe against it; scores are similarities (higher means the same person). It
has the API of :class:`~skeer.KeystrokeVerifier` (``enroll``,
``decision_function``, ``claim_scores``, ``verify`` at ``threshold_``,
``predict``, ``score``) and the private pair ``_make_templates`` /
``_score_templates`` through which :mod:`skeer.protocols` and the open-set
scorers judge an estimator by its own enrolment. So a baseline is evaluated
like a learned model (``evaluate_fixed_text(ScaledManhattan(), X, y)``), and a
grid search can choose between them.

- :class:`TemplateDetector`: any geometry, chosen by a parameter.
- :class:`ScaledManhattan`, :class:`Manhattan`, :class:`Euclidean`: Killourhy &
  Maxion's (DSN 2009) detectors for fixed-text timing vectors.
- :class:`Cosine`: cosine similarity to the renormalised mean.
- :class:`MahalanobisNearestNeighbor` and :class:`OneClassSVMDetector`:
  Killourhy & Maxion's nearest neighbour (Mahalanobis) and one-class SVM
  detectors. Their templates are per-subject models rather than a geometry
  of :mod:`skeer._enrol` (the protocols only pass them back to the detector).
- :class:`TimingStatistics` and :func:`make_timing_baseline`: summary
  statistics of free-text sessions, the non-learned free-text baseline.

Nothing here imports torch.
"""

import numbers
import warnings
from typing import NamedTuple

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.covariance import empirical_covariance, ledoit_wolf, shrunk_covariance
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import _enrol
from ._enrol import check_geometry, make_templates
from ._validation import check_operating_point, check_positive_int, check_real
from ._verification import VerificationMixin
from .features import FEATURE_NAMES, KeystrokeFeatures
from .metrics import equal_error_rate

__all__ = [
    "Cosine",
    "Euclidean",
    "MahalanobisNearestNeighbor",
    "Manhattan",
    "OneClassSVMDetector",
    "ScaledManhattan",
    "TemplateDetector",
    "TimingStatistics",
    "make_timing_baseline",
]

_FLOATS = (np.float64, np.float32)


class _DetectorInputMixin:
    """Input validation shared by every detector of this module."""

    def _check_X(self, X):
        """``X`` as a finite float array; its feature count checked once fitted."""
        if hasattr(self, "n_features_in_"):
            return validate_data(self, X, reset=False, dtype=_FLOATS)
        return check_array(X, dtype=_FLOATS, input_name="X")

    def _validate_Xy(self, X, y, *, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=_FLOATS)
        check_classification_targets(y)
        return X, y

    def _check_targets(self, y, n_samples):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        check_consistent_length(np.empty(n_samples), y)
        return y

    def _check_fitted(self):
        check_is_fitted(self)


class TemplateDetector(
    _DetectorInputMixin, VerificationMixin, ClassifierMixin, BaseEstimator
):
    """Nearest-template detector with a fixed (non-learned) geometry.

    ``fit`` enrols every subject of the training data as one template and
    calibrates ``threshold_`` at ``operating_point`` on the training data
    itself (open set: per subject, the first ``n_enroll`` samples enrol a
    calibration template, every later sample is a genuine probe, and each
    subject's first probe is an impostor probe against every other subject's
    template). Nothing is learned beyond the templates and the threshold.

    Parameters
    ----------
    geometry : {"scaled_manhattan", "manhattan", "euclidean", "cosine"}, \
            default="scaled_manhattan"
        How samples become a template and how a probe is scored (see
        :mod:`skeer._enrol`). With the per-feature mean ``mu`` and mean
        absolute deviation ``mad`` of a subject's samples, the score of ``x``
        is ``-sum_j |x_j - mu_j| / mad_j`` (scaled Manhattan),
        ``-sum_j |x_j - mu_j|`` (Manhattan), ``-sum_j (x_j - mu_j)**2``
        (Euclidean), or the cosine similarity to the renormalised mean of the
        L2-normalised samples (cosine).
    operating_point : "eer" or float in (0, 1), default="eer"
        Where ``threshold_`` sits: the equal error rate, or a target
        false-match rate.
    n_enroll : int, default=5
        Samples per subject that enrol a calibration template in ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled subjects, sorted.
    templates_ : ndarray of shape (n_classes, n_features_in_)
        Template centre of each subject, in ``classes_`` order (unit rows for
        the cosine geometry); float32 when fitted on float32 ``X``, else
        float64.
    template_scales_ : ndarray of shape (n_classes, n_features_in_) or None
        Per-feature mean absolute deviation of each subject (scaled Manhattan
        only; floored at float64's epsilon), else None.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    See Also
    --------
    ScaledManhattan, Manhattan, Euclidean, Cosine : The geometry fixed.
    skeer.KeystrokeVerifier : The learned verifier with the same API.

    Notes
    -----
    The templates in ``templates_`` use all the samples of each subject given
    to ``fit``; only the threshold comes from the ``n_enroll``-sample
    calibration templates. When fewer than two subjects have ``n_enroll + 1``
    samples, ``fit`` warns and calibrates with fewer enrolment samples (one
    less than the second-largest subject's count); when fewer than two
    subjects have two samples, it warns and calibrates on the closed-set
    scores of the training samples against the fitted templates (optimistic).
    ``enroll`` never moves ``threshold_``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import TemplateDetector
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 6))[y] + 0.1 * rng.normal(size=(40, 6))
    >>> det = TemplateDetector("manhattan").fit(X, y)
    >>> det.decision_function(X[:2]).shape
    (2, 4)
    >>> det.predict(X[::10]).tolist()
    [0, 1, 2, 3]
    >>> det.verify(X[:2], [0, 1]).tolist()
    [True, False]
    """

    def __init__(
        self, geometry="scaled_manhattan", *, operating_point="eer", n_enroll=5
    ):
        self.geometry = geometry
        self.operating_point = operating_point
        self.n_enroll = n_enroll

    # ------------------------------------------------------------------
    # validation helpers
    def _geometry(self):
        return check_geometry(self.geometry, "geometry")

    # ------------------------------------------------------------------
    # the protocols' hooks (they work unfitted: nothing is learned)
    def _template_features(self, X):
        """``X`` validated: the features the geometry works on."""
        return self._check_X(X)

    @property
    def _template_geometry(self):
        return self._geometry()

    # ------------------------------------------------------------------
    # fitting
    def fit(self, X, y):
        """Enrol every subject and calibrate ``threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors (e.g. fixed-text timing vectors), finite.
        y : array-like of shape (n_samples,)
            Subject of each sample; at least 2 distinct subjects, in the order
            their samples were recorded (the first ``n_enroll`` of a subject
            enrol its calibration template).

        Returns
        -------
        self : TemplateDetector
            The fitted detector.

        Raises
        ------
        ValueError
            If a parameter or the input is invalid, or ``y`` has one subject.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import ScaledManhattan
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat(["ann", "bob", "cy"], 8)
        >>> X = rng.normal(size=(24, 5))
        >>> det = ScaledManhattan().fit(X, y)
        >>> det.classes_.tolist(), det.templates_.shape, det.template_scales_.shape
        (['ann', 'bob', 'cy'], (3, 5), (3, 5))
        """
        geometry = self._geometry()
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
        self._set_templates(classes, make_templates(X, codes, len(classes), geometry))
        self.threshold_ = threshold
        return self


def _fixed_geometry(name):
    def geometry(self):
        return name

    return property(
        geometry, doc=f"The template geometry, fixed: ``{name!r}`` (read-only)."
    )


class ScaledManhattan(TemplateDetector):
    """Scaled Manhattan detector (Killourhy & Maxion's best, DSN 2009).

    A :class:`TemplateDetector` with ``geometry="scaled_manhattan"``: the
    template of a subject is the per-feature mean ``mu`` and mean absolute
    deviation ``mad`` of its samples; a probe ``x`` scores
    ``-sum_j |x_j - mu_j| / mad_j``. On the CMU password data (51 subjects x
    400 repetitions) Killourhy & Maxion report a mean per-subject EER of 0.096.

    Parameters
    ----------
    operating_point : "eer" or float in (0, 1), default="eer"
        Where ``threshold_`` sits: the equal error rate, or a target
        false-match rate.
    n_enroll : int, default=5
        Samples per subject that enrol a calibration template in ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled subjects, sorted.
    templates_ : ndarray of shape (n_classes, n_features_in_)
        Per-feature mean of each subject.
    template_scales_ : ndarray of shape (n_classes, n_features_in_)
        Per-feature mean absolute deviation of each subject.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    See Also
    --------
    TemplateDetector : All methods, and the geometry as a parameter.
    skeer.protocols.evaluate_fixed_text : The Killourhy & Maxion protocol.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import ScaledManhattan
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 6))[y] + 0.1 * rng.normal(size=(40, 6))
    >>> det = ScaledManhattan().fit(X, y)
    >>> det.geometry, det.predict(X[::10]).tolist()
    ('scaled_manhattan', [0, 1, 2, 3])
    """

    geometry = _fixed_geometry("scaled_manhattan")

    def __init__(self, *, operating_point="eer", n_enroll=5):
        self.operating_point = operating_point
        self.n_enroll = n_enroll


class Manhattan(TemplateDetector):
    """Manhattan detector (Killourhy & Maxion, DSN 2009).

    A :class:`TemplateDetector` with ``geometry="manhattan"``: the template is
    the per-feature mean ``mu``; a probe ``x`` scores ``-sum_j |x_j - mu_j|``.
    Killourhy & Maxion report a mean per-subject EER of 0.153 on the CMU
    password data.

    Parameters
    ----------
    operating_point : "eer" or float in (0, 1), default="eer"
        Where ``threshold_`` sits: the equal error rate, or a target
        false-match rate.
    n_enroll : int, default=5
        Samples per subject that enrol a calibration template in ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled subjects, sorted.
    templates_ : ndarray of shape (n_classes, n_features_in_)
        Per-feature mean of each subject.
    template_scales_ : None
        No scale in this geometry.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    See Also
    --------
    TemplateDetector : All methods, and the geometry as a parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import Manhattan
    >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 1.0], [1.0, 1.2]])
    >>> det = Manhattan(n_enroll=1).fit(X, [0, 0, 1, 1])
    >>> det.templates_
    array([[0. , 0.1],
           [1. , 1.1]])
    """

    geometry = _fixed_geometry("manhattan")

    def __init__(self, *, operating_point="eer", n_enroll=5):
        self.operating_point = operating_point
        self.n_enroll = n_enroll


class Euclidean(TemplateDetector):
    """Euclidean detector (Killourhy & Maxion, DSN 2009).

    A :class:`TemplateDetector` with ``geometry="euclidean"``: the template is
    the per-feature mean ``mu``; a probe ``x`` scores
    ``-sum_j (x_j - mu_j)**2``. Killourhy & Maxion report a mean per-subject
    EER of 0.171 on the CMU password data.

    Parameters
    ----------
    operating_point : "eer" or float in (0, 1), default="eer"
        Where ``threshold_`` sits: the equal error rate, or a target
        false-match rate.
    n_enroll : int, default=5
        Samples per subject that enrol a calibration template in ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled subjects, sorted.
    templates_ : ndarray of shape (n_classes, n_features_in_)
        Per-feature mean of each subject.
    template_scales_ : None
        No scale in this geometry.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    See Also
    --------
    TemplateDetector : All methods, and the geometry as a parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import Euclidean
    >>> X = np.array([[0.0, 0.0], [0.0, 2.0], [1.0, 1.0], [1.0, 1.2]])
    >>> Euclidean(n_enroll=1).fit(X, [0, 0, 1, 1]).decision_function([[0.0, 0.0]])
    array([[-1.  , -2.21]])
    """

    geometry = _fixed_geometry("euclidean")

    def __init__(self, *, operating_point="eer", n_enroll=5):
        self.operating_point = operating_point
        self.n_enroll = n_enroll


class Cosine(TemplateDetector):
    """Cosine-similarity detector.

    A :class:`TemplateDetector` with ``geometry="cosine"``: the template is the
    renormalised mean of the L2-normalised samples; a probe scores its cosine
    similarity to it (the geometry of :class:`~skeer.KeystrokeVerifier`'s
    embeddings). Usually placed after a scaler, as in
    :func:`make_timing_baseline`.

    Parameters
    ----------
    operating_point : "eer" or float in (0, 1), default="eer"
        Where ``threshold_`` sits: the equal error rate, or a target
        false-match rate.
    n_enroll : int, default=5
        Samples per subject that enrol a calibration template in ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled subjects, sorted.
    templates_ : ndarray of shape (n_classes, n_features_in_)
        Unit-norm template of each subject.
    template_scales_ : None
        No scale in this geometry.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when ``X`` had string column names.

    See Also
    --------
    TemplateDetector : All methods, and the geometry as a parameter.
    make_timing_baseline : Timing statistics + scaler + cosine.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import Cosine
    >>> X = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])
    >>> det = Cosine(n_enroll=1).fit(X, [0, 0, 1, 1])
    >>> np.linalg.norm(det.templates_, axis=1).round(6).tolist()
    [1.0, 1.0]
    >>> det.predict([[5.0, 1.0]]).tolist()
    [0]
    """

    geometry = _fixed_geometry("cosine")

    def __init__(self, *, operating_point="eer", n_enroll=5):
        self.operating_point = operating_point
        self.n_enroll = n_enroll


# --------------------------------------------------------------------------
# detectors whose template is a per-subject model (Killourhy & Maxion)


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


# --------------------------------------------------------------------------
# free text: per-session timing statistics

_STATISTICS = ("mean", "std", "q25", "median", "q75")
_N_CHANNELS = len(FEATURE_NAMES)


class TimingStatistics(TransformerMixin, BaseEstimator):
    """Summary statistics of each session's keystroke timings.

    A stateless transformer from the ``(n_sessions, max_len, 5)`` output of
    :class:`~skeer.KeystrokeFeatures` to ``(n_sessions, 20)`` features: for
    each of the four timing channels (hold, inter-press, inter-release,
    inter-key latency), signed-log compressed as
    ``sign(t) * log1p(10 * |t|)``, the mean, standard deviation and the 25th,
    50th and 75th percentiles over the session's real keys (rows whose key
    channel is positive; padding is ignored). A session with no real key
    gives zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer import KeystrokeFeatures
    >>> from skeer.baselines import TimingStatistics
    >>> session = np.array([[0, 90, 72], [150, 260, 73], [330, 400, 32]])
    >>> Xt = KeystrokeFeatures(max_len=5).transform([session, session])
    >>> stats = TimingStatistics().fit_transform(Xt)
    >>> stats.shape
    (2, 20)
    >>> TimingStatistics().get_feature_names_out()[:3].tolist()
    ['hold_mean', 'inter_press_mean', 'inter_release_mean']
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    def _check_X(self, X):
        X = check_array(X, dtype=np.float64, allow_nd=True, input_name="X")
        if X.ndim != 3 or X.shape[-1] != _N_CHANNELS:
            raise ValueError(
                "X must be the (n_sessions, max_len, 5) output of KeystrokeFeatures, "
                f"got an array of shape {X.shape}."
            )
        return X

    def fit(self, X, y=None):
        """Validate ``X`` (the transformer has nothing to learn).

        Parameters
        ----------
        X : array-like of shape (n_sessions, max_len, 5)
            Output of :class:`~skeer.KeystrokeFeatures`.
        y : None
            Ignored.

        Returns
        -------
        self : TimingStatistics
            Unchanged.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import TimingStatistics
        >>> TimingStatistics().fit(np.zeros((2, 3, 5)))
        TimingStatistics()
        """
        self._check_X(X)
        return self

    def transform(self, X):
        """Timing statistics of each session.

        Parameters
        ----------
        X : array-like of shape (n_sessions, max_len, 5)
            Output of :class:`~skeer.KeystrokeFeatures`: four timing channels
            (seconds) then the key channel, positive for real keys.

        Returns
        -------
        Xt : ndarray of shape (n_sessions, 20), float64
            Columns as :meth:`get_feature_names_out`.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import TimingStatistics
        >>> F = np.zeros((1, 3, 5))
        >>> F[0, :2] = [[0.1, 0.2, 0.2, 0.1, 0.3], [0.1, 0.0, 0.0, 0.0, 0.4]]
        >>> TimingStatistics().transform(F)[0, :4].round(4).tolist()
        [0.6931, 0.5493, 0.5493, 0.3466]
        """
        F = self._check_X(X)
        valid = F[..., -1] > 0
        timings = F[..., :4]
        timings = np.sign(timings) * np.log1p(10 * np.abs(timings))
        timings = np.where(valid[..., None], timings, np.nan)
        with warnings.catch_warnings():  # all-padding sessions: NaN -> 0 below
            warnings.simplefilter("ignore", RuntimeWarning)
            stats = np.concatenate(
                [
                    np.nanmean(timings, axis=1),
                    np.nanstd(timings, axis=1),
                    *np.nanpercentile(timings, [25, 50, 75], axis=1),
                ],
                axis=1,
            )
        return np.nan_to_num(stats)

    def get_feature_names_out(self, input_features=None):
        """Names of the 20 output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the 5 input channels (as
            :meth:`skeer.KeystrokeFeatures.get_feature_names_out` gives them);
            the first four name the timing channels. Default:
            :data:`skeer.features.FEATURE_NAMES`.

        Returns
        -------
        feature_names_out : ndarray of str objects, shape (20,)
            ``"<channel>_<statistic>"``, statistic-major: the four means, the
            four standard deviations, then the 25th percentiles, medians and
            75th percentiles.

        Examples
        --------
        >>> from skeer.baselines import TimingStatistics
        >>> TimingStatistics().get_feature_names_out()[-1]
        'inter_key_q75'
        """
        channels = FEATURE_NAMES if input_features is None else input_features
        channels = np.asarray(channels, dtype=object)
        if channels.ndim != 1 or len(channels) != _N_CHANNELS:
            raise ValueError(
                f"input_features must name the {_N_CHANNELS} input channels, got "
                f"{input_features!r}."
            )
        return np.asarray(
            [f"{c}_{s}" for s in _STATISTICS for c in channels[:4]], dtype=object
        )


def make_timing_baseline(**feature_params):
    """The non-learned free-text baseline: timing statistics, scaled, cosine.

    ``make_pipeline(KeystrokeFeatures(**feature_params), TimingStatistics(),
    StandardScaler(), Cosine())``: each session becomes the 20 statistics of
    :class:`TimingStatistics`, standardised on the training sessions, and is
    scored by its cosine similarity to a subject's template.

    Parameters
    ----------
    **feature_params : dict
        Parameters of :class:`~skeer.KeystrokeFeatures` (e.g. ``max_len``).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted; its steps are named ``keystrokefeatures``,
        ``timingstatistics``, ``standardscaler`` and ``cosine``.

    Examples
    --------
    >>> from skeer.baselines import make_timing_baseline
    >>> from skeer.datasets import make_keystrokes
    >>> X, y = make_keystrokes(n_subjects=6, n_sessions=8, random_state=0)
    >>> pipe = make_timing_baseline(max_len=30).fit(X, y)
    >>> pipe.decision_function(X[:2]).shape
    (2, 6)
    >>> pipe[:-1].get_feature_names_out()[:2].tolist()
    ['hold_mean', 'inter_press_mean']
    """
    return make_pipeline(
        KeystrokeFeatures(**feature_params),
        TimingStatistics(),
        StandardScaler(),
        Cosine(),
    )
