"""The verifier's scoring API over templates, written once (docs/architecture.rst).

A host provides ``_check_targets``, ``_check_fitted``, ``_template_features`` and
``_template_geometry`` (or overrides ``_new_templates``, ``_templates``,
``_set_templates``).
"""

import warnings

import numpy as np

from skeer.metrics._rates import equal_error_rate
from skeer.templates import _enrol, _open_set
from skeer.templates._templates import GeometryTemplates, make_templates


class VerificationMixin:
    """Enrolment, scoring and calibration of a template-based verifier."""

    def _new_templates(self, F, codes, n_codes):
        """Templates of subjects ``0..n_codes-1`` (flat dimensions: enrolled spread)."""
        fallback = None
        if getattr(self, "template_scales_", None) is not None:
            fallback = self._templates().mean_scale(F.shape[1])
        return make_templates(
            F, codes, n_codes, self._template_geometry, fallback_scale=fallback
        )

    def _templates(self):
        """The enrolled templates, as a :class:`~skeer.templates.Templates`."""
        return GeometryTemplates(
            self.templates_,
            getattr(self, "template_scales_", None),
            self._template_geometry,
        )

    def _set_templates(self, classes, templates):
        self.classes_ = classes
        self.templates_ = templates.center
        self.template_scales_ = templates.scale

    def _claimed_columns(self, claimed, n):
        return _enrol.claimed_columns(self.classes_, claimed, n)

    def _check_enrolled(self):
        self._check_fitted()
        if len(self.classes_) == 0:
            raise ValueError("No subject is enrolled: enroll some first.")

    def _calibration_n_enroll(self, codes):
        """``n_enroll`` capped by the 2nd-largest count - 1; None below 2 samples."""
        counts = np.sort(np.bincount(codes)[np.unique(codes)])[::-1]
        if len(counts) < 2 or counts[1] < 2:
            return None
        return int(min(self.n_enroll, counts[1] - 1))

    def _open_set_scores(self, F, codes):
        """Open-set labels and scores on ``F``; ``(None, None)`` if it cannot run."""
        n_enroll = self._calibration_n_enroll(codes)
        if n_enroll is None:
            return None, None
        split = _open_set.open_set_split(codes, n_enroll, None)
        judge = _open_set.Judge(F.__getitem__, self._new_templates)
        genuine, S = _open_set.open_set_scores(judge, split)
        impostor = _open_set.impostor_scores(S)
        y_true = np.r_[np.ones(len(genuine), np.int8), np.zeros(len(impostor), np.int8)]
        return y_true, np.r_[genuine, impostor]

    def _warn_calibration(self, codes, what, stacklevel=3):
        """One warning for each way the calibration data fall short."""
        n_enroll = self._calibration_n_enroll(codes)
        counts = np.bincount(codes)[np.unique(codes)]
        messages = []
        if n_enroll is None:
            messages.append(
                f"Fewer than 2 {what} subjects have 2 samples: no open-set "
                "calibration is possible; threshold_ is set on every sample "
                "against the templates of all subjects (optimistic)."
            )
        elif n_enroll < self.n_enroll:
            messages.append(
                f"Fewer than 2 {what} subjects have n_enroll + 1 = "
                f"{self.n_enroll + 1} samples; threshold_ is calibrated with "
                f"{n_enroll} enrolment sample(s) per subject instead."
            )
        n_skipped = 0 if n_enroll is None else int((counts < n_enroll + 1).sum())
        if n_skipped:
            messages.append(
                f"{n_skipped} of {len(counts)} {what} subjects have fewer than "
                f"{n_enroll + 1} samples and are left out of the calibration of "
                "threshold_."
            )
        for message in messages:
            warnings.warn(message, UserWarning, stacklevel=stacklevel)

    def _calibrate(self, F, codes):
        """``threshold_`` at ``operating_point`` on the open-set scores of ``F``."""
        y_true, scores = self._open_set_scores(F, codes)
        if y_true is None:
            _, codes = np.unique(codes, return_inverse=True)
            n = int(codes.max()) + 1
            S = self._new_templates(F, codes, n).matrix(F)
            y = np.zeros(S.shape, np.int8)
            y[np.arange(len(S)), codes] = 1
            y_true, scores = y.ravel(), S.ravel()
        return _enrol.threshold_at(y_true, scores, self.operating_point)

    def enroll(self, X, y, *, reset=False):
        """Add or replace subject templates without training.

        A subject already enrolled is replaced; every other one is kept unless
        ``reset=True``. ``threshold_`` is unchanged.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.
        y : array-like of shape (n_samples,)
            Subject of each sample, of the enrolled kind (kinds never mix).
        reset : bool, default=False
            Drop every enrolled subject first.

        Returns
        -------
        self : object
            With ``classes_`` (sorted) and the templates updated.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import Euclidean
        >>> rng = np.random.default_rng(0)
        >>> det = Euclidean().fit(rng.normal(size=(24, 4)), np.repeat([0, 1, 2], 8))
        >>> det.enroll(rng.normal(size=(5, 4)), [7] * 5).classes_.tolist()
        [0, 1, 2, 7]
        """
        self._check_fitted()
        if not isinstance(reset, (bool, np.bool_)):
            raise ValueError(f"reset must be True or False, got {reset!r}.")
        F = self._template_features(X)
        y = self._check_targets(y, len(F))
        new_classes, codes = np.unique(y, return_inverse=True)
        new = self._new_templates(F, codes, len(new_classes))
        if not reset:
            new_classes, new = self._templates().merge(self.classes_, new_classes, new)
        self._set_templates(new_classes, new)
        return self

    def unenroll(self, ids):
        """Remove enrolled subjects.

        Parameters
        ----------
        ids : array-like or scalar
            Enrolled identities to remove (any other: an error, nothing removed).

        Returns
        -------
        self : object
            With ``classes_`` and the templates updated.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import Cosine
        >>> det = Cosine(n_enroll=1).fit(np.eye(3).repeat(2, 0), [0, 0, 1, 1, 2, 2])
        >>> det.unenroll(1).classes_.tolist()
        [0, 2]
        """
        self._check_fitted()
        ids = np.atleast_1d(np.asarray(ids))
        cols = self._claimed_columns(ids, len(ids))
        keep = np.ones(len(self.classes_), dtype=bool)
        keep[cols] = False
        self._set_templates(self.classes_[keep], self._templates().keep(keep))
        return self

    def decision_function(self, X):
        """Similarity of each sample to each enrolled subject.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes_)
            Columns in ``classes_`` order (also for two subjects); higher
            means more likely the same person.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import Manhattan
        >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 1.0], [1.0, 1.2]])
        >>> Manhattan(n_enroll=1).fit(X, [0, 0, 1, 1]).decision_function(X[:1])
        array([[-0.1, -2.1]])
        """
        self._check_enrolled()
        return self._templates().matrix(self._template_features(X))

    def claim_scores(self, X, claimed):
        """Similarity of each sample to the template of the subject it claims.

        Parameters
        ----------
        X : array-like
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
        >>> from skeer.baselines import Manhattan
        >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 1.0], [1.0, 1.2]])
        >>> Manhattan(n_enroll=1).fit(X, [0, 0, 1, 1]).claim_scores(X[:2], [1, 0])
        array([-2.1, -0.1])
        """
        self._check_fitted()
        F = self._template_features(X)
        cols = self._claimed_columns(claimed, len(F))
        return self._templates().claims(F, cols)

    def verify(self, X, claimed):
        """Accept or reject identity claims at ``threshold_``.

        Parameters
        ----------
        X, claimed : array-like
            As in :meth:`claim_scores`.

        Returns
        -------
        accepted : ndarray of bool, shape (n_samples,)
            True where :meth:`claim_scores` is ``>= threshold_``.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import Manhattan
        >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 1.0], [1.0, 1.2]])
        >>> Manhattan(n_enroll=1).fit(X, [0, 0, 1, 1]).verify(X[:2], [0, 1]).tolist()
        [True, False]
        """
        return self.claim_scores(X, claimed) >= self.threshold_

    def predict(self, X):
        """Subject of the most similar template.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Subjects from ``classes_``.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import Euclidean
        >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [1.0, 1.0], [1.0, 1.2]])
        >>> Euclidean(n_enroll=1).fit(X, ["a", "a", "b", "b"]).predict([[0.9, 1.1]])
        array(['b'], dtype='<U1')
        """
        self._check_enrolled()
        return self.classes_[self._templates().best(self._template_features(X))]

    def score(self, X, y, sample_weight=None):
        """Negative closed-set equal error rate (greater is better).

        Parameters
        ----------
        X : array-like
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
        >>> from skeer.baselines import ScaledManhattan
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat(np.arange(4), 10)
        >>> X = rng.normal(size=(4, 6))[y] + 0.1 * rng.normal(size=(40, 6))
        >>> ScaledManhattan().fit(X, y).score(X, y)
        -0.0
        """
        if sample_weight is not None:
            raise ValueError(
                "sample_weight is not supported by score: every comparison counts once."
            )
        self._check_fitted()
        F = self._template_features(X)
        y = self._check_targets(y, len(F))
        self._claimed_columns(y, len(F))
        scores = self._templates().matrix(F)
        return -float(equal_error_rate(y, scores, labels=self.classes_))
