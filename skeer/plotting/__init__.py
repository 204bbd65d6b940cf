"""Plots of verification results, as scikit-learn Displays.

Each plot is a *Display* (the scikit-learn convention, as
:class:`sklearn.metrics.DetCurveDisplay`): a small object that holds what
was computed, built by ``from_predictions`` (labels and scores) or
``from_estimator`` (a fitted verifier and data), and drawn by ``plot(ax=...)``,
which returns the display with its matplotlib artists as attributes ending
in ``_`` (``ax_``, ``figure_``, ``line_``, ...). Calling ``plot`` on the same
axes overlays several systems, each with its entry in the legend.

- :class:`VerificationDETDisplay`: DET curve on probit axes, EER point and
  chosen operating points (FNMR at given FMR levels).
- :class:`ScoreDistributionDisplay`: genuine and impostor score histograms
  with the decision threshold.
- :class:`TrainingDisplay`, :class:`ConvergenceDisplay`: training loss and
  validation EER per epoch, one run or several.

:func:`plot_det`, :func:`plot_training` and :func:`plot_convergence` are the
same plots as one function call returning the axes.

Why not subclass :class:`sklearn.metrics.DetCurveDisplay`: it draws normal
deviates on linear axes labelled with false positive and negative rates, and
its ``from_estimator`` reads one binary classifier's response; a verifier's
comparisons come from enrolment (open set) or from a score matrix with one
column per enrolled subject (closed set), and skeer's DET axes carry the
rates themselves on a probit scale, so what ``DetCurveDisplay`` would
contribute is its private validation mixin alone.

matplotlib is optional (``pip install skeer[plots]``): it is imported when a
plot is drawn, so importing this module never needs it (nor torch).
"""

# the DET axes' constants, importable from here as before the split (not in __all__)
from skeer.plotting._axes import DET_LIMITS as DET_LIMITS
from skeer.plotting._axes import DET_MINOR_TICKS as DET_MINOR_TICKS
from skeer.plotting._axes import DET_TICKS as DET_TICKS
from skeer.plotting._det import VerificationDETDisplay, plot_det
from skeer.plotting._scores import ScoreDistributionDisplay
from skeer.plotting._training import (
    ConvergenceDisplay,
    TrainingDisplay,
    plot_convergence,
    plot_training,
)

__all__ = [
    "ConvergenceDisplay",
    "ScoreDistributionDisplay",
    "TrainingDisplay",
    "VerificationDETDisplay",
    "plot_convergence",
    "plot_det",
    "plot_training",
]
