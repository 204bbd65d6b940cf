"""Non-learned detectors as estimators with the verifier's scoring API.

A detector enrols each subject as a template in one of the geometries of
:mod:`skeer.templates` (the single home of templates and scores) and scores a
probe against it; scores are similarities (higher means the same person). It
has the API of :class:`~skeer.KeystrokeVerifier` (``enroll``,
``decision_function``, ``claim_scores``, ``verify`` at ``threshold_``,
``predict``, ``score``), and :mod:`skeer.evaluation` and the open-set scorers
judge it by its own enrolment (its :class:`~skeer.templates.Templates`). So a
baseline is evaluated like a learned model
(``evaluate_fixed_text(ScaledManhattan(), X, y)``), and a grid search can
choose between them.

- :class:`TemplateDetector`: any geometry, chosen by a parameter.
- :class:`ScaledManhattan`, :class:`Manhattan`, :class:`Euclidean`: Killourhy &
  Maxion's (DSN 2009) detectors for fixed-text timing vectors.
- :class:`Cosine`: cosine similarity to the renormalised mean.
- :class:`MahalanobisNearestNeighbor` and :class:`OneClassSVMDetector`:
  Killourhy & Maxion's nearest neighbour (Mahalanobis) and one-class SVM
  detectors. Their templates are per-subject models rather than a geometry
  of :mod:`skeer.templates` (the protocols only pass them back to the detector).
- :class:`TimingStatistics` and :func:`make_timing_baseline`: summary
  statistics of free-text sessions, the non-learned free-text baseline.

Nothing here imports torch.
"""

# Layout: _template (TemplateDetector, the named geometry detectors and the
# input checks every detector shares), _models (the per-subject model
# detectors), _timing (TimingStatistics, make_timing_baseline).
from skeer.baselines._models import MahalanobisNearestNeighbor, OneClassSVMDetector
from skeer.baselines._template import (
    Cosine,
    Euclidean,
    Manhattan,
    ScaledManhattan,
    TemplateDetector,
)
from skeer.baselines._timing import TimingStatistics, make_timing_baseline

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
