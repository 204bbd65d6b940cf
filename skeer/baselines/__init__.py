"""Non-learned detectors as estimators with the verifier's scoring API.

A detector enrols each subject as a template (in a geometry of
:mod:`skeer.templates`, or as a per-subject model) and scores a probe against
it; scores are similarities. It has the API of :class:`~skeer.KeystrokeVerifier`
(``enroll``, ``decision_function``, ``claim_scores``, ``verify`` at
``threshold_``, ``predict``, ``score``), so :mod:`skeer.evaluation` judges a
baseline like a learned model (``evaluate_fixed_text(ScaledManhattan(), X, y)``).

- :class:`TemplateDetector`: any geometry, chosen by a parameter.
- :class:`ScaledManhattan`, :class:`Manhattan`, :class:`Euclidean`,
  :class:`MahalanobisNearestNeighbor`, :class:`OneClassSVMDetector`:
  Killourhy & Maxion's (DSN 2009) detectors for fixed-text timing vectors.
- :class:`Cosine`: cosine similarity to the renormalised mean.
- :class:`TimingStatistics` and :func:`make_timing_baseline`: the non-learned
  free-text baseline.

Nothing here imports torch.
"""

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
