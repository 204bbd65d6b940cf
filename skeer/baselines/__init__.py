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

# Layout: _template (TemplateDetector, the named geometry detectors and the
# input checks every detector shares), _models (the per-subject model
# detectors), _timing (TimingStatistics, make_timing_baseline).
import inspect

from ._models import MahalanobisNearestNeighbor, OneClassSVMDetector
from ._template import Cosine, Euclidean, Manhattan, ScaledManhattan, TemplateDetector
from ._timing import TimingStatistics, make_timing_baseline

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

# The public names belong to this module whatever file defines them: the
# registry's saved names (``skeer.baselines.ScaledManhattan``), pickles and the
# docs' cross-references name them ``skeer.baselines.<name>``.
_public = (
    Cosine,
    Euclidean,
    MahalanobisNearestNeighbor,
    Manhattan,
    OneClassSVMDetector,
    ScaledManhattan,
    TemplateDetector,
    TimingStatistics,
)
for _obj in (*_public, make_timing_baseline):
    _obj.__module__ = __name__

# doctest finds a class's docstring through ``__module__`` (here) but its
# methods' only in the module that defines them: list those explicitly
# (a function's, make_timing_baseline's, is found in its own module).
__test__ = {
    f"{_cls.__name__}.{_name}": _obj
    for _cls in _public
    for _name, _obj in vars(_cls).items()
    if inspect.isfunction(_obj) and ">>>" in (_obj.__doc__ or "")
}
del _obj, _public, inspect
