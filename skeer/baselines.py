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
- :class:`TimingStatistics` and :func:`make_timing_baseline`: summary
  statistics of free-text sessions, the non-learned free-text baseline.

Nothing here imports torch.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._enrol import check_geometry, make_templates
from ._validation import check_operating_point, check_positive_int
from ._verification import VerificationMixin
from .features import FEATURE_NAMES, KeystrokeFeatures

__all__ = [
    "Cosine",
    "Euclidean",
    "Manhattan",
    "ScaledManhattan",
    "TemplateDetector",
    "TimingStatistics",
    "make_timing_baseline",
]

_FLOATS = (np.float64, np.float32)


class TemplateDetector(VerificationMixin, ClassifierMixin, BaseEstimator):
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

    def _check_X(self, X):
        """``X`` as a finite float array; its feature count checked once fitted."""
        if hasattr(self, "n_features_in_"):
            return validate_data(self, X, reset=False, dtype=_FLOATS)
        return check_array(X, dtype=_FLOATS, input_name="X")

    def _validate_Xy(self, X, y, *, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=_FLOATS)
        check_classification_targets(y)
        return X, y

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

    def _check_targets(self, y, n_samples):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        check_consistent_length(np.empty(n_samples), y)
        return y

    def _check_fitted(self):
        check_is_fitted(self)


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
