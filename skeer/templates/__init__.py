"""Templates: enrol G samples, score a probe, threshold at an operating point.

The one home of the template geometry (``_enrol``: ``"cosine"``,
``"scaled_manhattan"``, ``"manhattan"``, ``"euclidean"``; the open-set
enrol/probe selection; the threshold at a target false-match rate) and of the
scoring API written once for every template-based estimator
(``_verification``: ``enroll``, ``decision_function``, ``claim_scores``,
``verify``, ``predict``, ``score``, calibration). The verifier, the detectors
and the protocols all enrol and score through it. NumPy only.

Examples
--------
>>> import numpy as np
>>> from skeer.templates import GEOMETRIES, make_templates
>>> GEOMETRIES
('cosine', 'scaled_manhattan', 'manhattan', 'euclidean')
>>> F = np.eye(4, dtype=np.float32)
>>> make_templates(F, np.array([0, 0, 1, 1]), 2, "euclidean").center.shape
(2, 4)
"""

from skeer.templates._enrol import (
    GEOMETRIES,
    make_templates,
    score_claims,
    score_matrix,
    threshold_at,
)

__all__ = [
    "GEOMETRIES",
    "make_templates",
    "score_claims",
    "score_matrix",
    "threshold_at",
]
