"""Verification metrics (NumPy only): rates, DET points, streaming, fairness.

Scores are similarities (higher = same person); a comparison is accepted when
its score is at or above the threshold. The input layouts and conventions are
described in :func:`equal_error_rate` and :ref:`operating_points`.

Examples
--------
>>> from skeer.metrics import equal_error_rate
>>> equal_error_rate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
0.5
"""

from skeer.metrics._fairness import FairnessReport, fairness_report
from skeer.metrics._groups import subject_groups
from skeer.metrics._rates import (
    UnreliableMetricWarning,
    det_points,
    equal_error_rate,
    fmr_at_fnmr,
    fnmr_at_fmr,
    verification_pairs,
)
from skeer.metrics._streaming import StreamingVerificationMetrics
from skeer.metrics._summary import (
    decidability,
    expected_performance_curve,
    half_total_error_rate,
    identification_rate,
    rates_at_threshold,
)

__all__ = [
    "FairnessReport",
    "StreamingVerificationMetrics",
    "UnreliableMetricWarning",
    "decidability",
    "det_points",
    "equal_error_rate",
    "expected_performance_curve",
    "fairness_report",
    "fmr_at_fnmr",
    "fnmr_at_fmr",
    "half_total_error_rate",
    "identification_rate",
    "rates_at_threshold",
    "subject_groups",
    "verification_pairs",
]
