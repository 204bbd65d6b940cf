"""Template detectors, and the input mixin and doc sections ``_models`` shares."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skeer._validation import check_operating_point, check_positive_int, check_subjects
from skeer.templates._enrol import check_geometry
from skeer.templates._verification import VerificationMixin

_FLOATS = (np.float64, np.float32)

_PARAMS = """\
    operating_point : "eer" or float in (0, 1), default="eer"
        Where ``threshold_`` sits: the equal error rate, or a target
        false-match rate.
    n_enroll : int, default=5
        Samples per subject that enrol a calibration template in ``fit``.
"""
_ATTRIBUTES = """\
    classes_ : ndarray of shape (n_classes,)
        Enrolled subjects, sorted.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when ``X`` had string column names.
"""


def _shared_doc(cls):
    """Fill the ``{params}`` and ``{attributes}`` lines of ``cls.__doc__``."""
    if cls.__doc__:  # None under python -OO
        doc = cls.__doc__.replace("    {params}\n", _PARAMS)
        cls.__doc__ = doc.replace("    {attributes}\n", _ATTRIBUTES)
    return cls


class _DetectorInputMixin:
    """Input validation and ``fit`` shared by every detector."""

    def _check_X(self, X):
        """``X`` as a finite float array; its feature count checked once fitted."""
        if hasattr(self, "n_features_in_"):
            return validate_data(self, X, reset=False, dtype=_FLOATS)
        return check_array(X, dtype=_FLOATS, input_name="X")

    def _validate_Xy(self, X, y, *, reset):
        y = check_subjects(y)  # before NumPy can merge ids of two kinds
        return validate_data(self, X, y, reset=reset, dtype=_FLOATS)

    def _check_targets(self, y, n_samples):
        return check_subjects(y, n_samples)

    def _check_fitted(self):
        check_is_fitted(self)

    def _template_features(self, X):
        """``X`` validated by ``_check_X`` (a subclass's too): the template features."""
        return self._check_X(X)

    def fit(self, X, y):
        """Enrol every subject (a template or a model each), calibrate ``threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors (e.g. fixed-text timing vectors), finite.
        y : array-like of shape (n_samples,)
            Subject of each sample (at least 2), in recording order: a subject's
            first ``n_enroll`` enrol its calibration template.

        Returns
        -------
        self : object
            The fitted detector.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import ScaledManhattan
        >>> X = np.random.default_rng(0).normal(size=(24, 5))
        >>> det = ScaledManhattan().fit(X, np.repeat(["ann", "bob", "cy"], 8))
        >>> det.classes_.tolist(), det.templates_.shape, det.template_scales_.shape
        (['ann', 'bob', 'cy'], (3, 5), (3, 5))
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
        # enrol first, so that the calibration's templates borrow this fit's
        # spread (as the verifier's do), never a previous fit's
        for attr in ("templates_", "template_scales_"):
            self.__dict__.pop(attr, None)
        self._set_templates(classes, self._new_templates(X, codes, len(classes)))
        self.threshold_ = self._calibrate(X, codes)
        return self


@_shared_doc
class TemplateDetector(
    _DetectorInputMixin, VerificationMixin, ClassifierMixin, BaseEstimator
):
    """Nearest-template detector with a fixed (non-learned) geometry.

    ``fit`` enrols every subject and calibrates ``threshold_`` at
    ``operating_point`` on the training data, open set: a subject's first
    ``n_enroll`` samples enrol, later ones are genuine probes, the first of them
    also an impostor probe against every other subject.

    Parameters
    ----------
    geometry : {"scaled_manhattan", "manhattan", "euclidean", "cosine"}, \
            default="scaled_manhattan"
        Template and score (formulas on the named detectors).
    {params}

    Attributes
    ----------
    {attributes}
    templates_ : ndarray of shape (n_classes, n_features_in_)
        Template centre of each subject (unit rows for cosine); float32 when
        fitted on float32 ``X``, else float64.
    template_scales_ : ndarray of shape (n_classes, n_features_in_) or None
        Per-feature mean absolute deviation of each subject (scaled Manhattan
        only; floored at float64's epsilon), else None.

    See Also
    --------
    ScaledManhattan, Manhattan, Euclidean, Cosine : The geometry fixed.
    skeer.KeystrokeVerifier : The learned verifier with the same API.

    Notes
    -----
    ``templates_`` use all of a subject's samples; only ``threshold_`` uses the
    ``n_enroll``-sample templates. With fewer than two subjects of
    ``n_enroll + 1`` samples, ``fit`` warns and enrols fewer (the second-largest
    count - 1); with fewer than two of two, it warns and calibrates on closed-set
    scores (optimistic). ``enroll`` never moves ``threshold_``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import TemplateDetector
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 6))[y] + 0.1 * rng.normal(size=(40, 6))
    >>> det = TemplateDetector("manhattan").fit(X, y)
    >>> det.predict(X[::10]).tolist(), det.verify(X[:2], [0, 1]).tolist()
    ([0, 1, 2, 3], [True, False])
    """

    def __init__(
        self, geometry="scaled_manhattan", *, operating_point="eer", n_enroll=5
    ):
        self.geometry = geometry
        self.operating_point = operating_point
        self.n_enroll = n_enroll

    @property
    def _template_geometry(self):
        return check_geometry(self.geometry, "geometry")

    def _check_params(self):
        check_geometry(self.geometry, "geometry")


class _NamedDetector(TemplateDetector):
    """A :class:`TemplateDetector` whose geometry :func:`_named` fixes."""

    def __init__(self, *, operating_point="eer", n_enroll=5):
        self.operating_point = operating_point
        self.n_enroll = n_enroll


_NAMED_DOC = """\
    Parameters
    ----------
{params}
    Attributes
    ----------
{attributes}\
    templates_ : ndarray of shape (n_classes, n_features_in_)
        {templates}
    template_scales_ : {scales_type}
        {scales}

    See Also
    --------
    TemplateDetector : All methods, and the geometry as a parameter.
{see_also}
"""


def _named(geometry, templates="Per-feature mean of each subject.", see_also=""):
    """Fix ``geometry`` (read-only) and add the shared docstring sections."""
    scaled = geometry == "scaled_manhattan"

    def decorate(cls):
        head, sep, examples = (cls.__doc__ or "").partition(
            "    Examples\n    --------"
        )
        shared = _NAMED_DOC.format(
            params=_PARAMS,
            attributes=_ATTRIBUTES,
            templates=templates,
            scales_type="ndarray of shape (n_classes, n_features_in_)"
            if scaled
            else "None",
            scales="Per-feature mean absolute deviation of each subject."
            if scaled
            else "No scale in this geometry.",
            see_also=see_also and f"    {see_also}\n",
        )
        if head:  # no docstring under python -OO
            cls.__doc__ = head + shared + sep + examples

        def fget(self):
            return geometry

        fget.__name__ = "geometry"
        prop = property(
            fget, doc=f"The template geometry, fixed: ``{geometry!r}`` (read-only)."
        )
        prop.__set_name__(cls, "geometry")
        cls.geometry = prop
        return cls

    return decorate


@_named(
    "scaled_manhattan",
    see_also="skeer.evaluation.evaluate_fixed_text : The Killourhy & Maxion protocol.",
)
class ScaledManhattan(_NamedDetector):
    """Scaled Manhattan detector (Killourhy & Maxion's best, DSN 2009).

    A :class:`TemplateDetector` with ``geometry="scaled_manhattan"``: a probe
    ``x`` scores ``-sum_j |x_j - mu_j| / mad_j`` against a subject's
    per-feature mean ``mu`` and mean absolute deviation ``mad``.

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


@_named("manhattan")
class Manhattan(_NamedDetector):
    """Manhattan detector (Killourhy & Maxion, DSN 2009).

    A :class:`TemplateDetector` with ``geometry="manhattan"``: a probe ``x``
    scores ``-sum_j |x_j - mu_j|`` against a subject's per-feature mean ``mu``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import Manhattan
    >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 1.0], [1.0, 1.2]])
    >>> Manhattan(n_enroll=1).fit(X, [0, 0, 1, 1]).templates_
    array([[0. , 0.1],
           [1. , 1.1]])
    """


@_named("euclidean")
class Euclidean(_NamedDetector):
    """Euclidean detector (Killourhy & Maxion, DSN 2009).

    A :class:`TemplateDetector` with ``geometry="euclidean"``: a probe ``x``
    scores ``-sum_j (x_j - mu_j)**2`` against a subject's per-feature mean
    ``mu``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import Euclidean
    >>> X = np.array([[0.0, 0.0], [0.0, 2.0], [1.0, 1.0], [1.0, 1.2]])
    >>> Euclidean(n_enroll=1).fit(X, [0, 0, 1, 1]).decision_function([[0.0, 0.0]])
    array([[-1.  , -2.21]])
    """


@_named(
    "cosine",
    templates="Unit-norm template of each subject.",
    see_also="make_timing_baseline : Timing statistics + scaler + cosine.",
)
class Cosine(_NamedDetector):
    """Cosine-similarity detector.

    A :class:`TemplateDetector` with ``geometry="cosine"``: a probe scores its
    cosine similarity to the renormalised mean of a subject's L2-normalised
    samples (the geometry of :class:`~skeer.KeystrokeVerifier`'s embeddings).
    Usually placed after a scaler, as in :func:`make_timing_baseline`.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import Cosine
    >>> X = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])
    >>> det = Cosine(n_enroll=1).fit(X, [0, 0, 1, 1])
    >>> np.linalg.norm(det.templates_, axis=1).round(6).tolist()
    [1.0, 1.0]
    """
