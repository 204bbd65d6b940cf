"""Plots of verification results, as scikit-learn Displays.

Each plot is a *Display* (as :class:`sklearn.metrics.DetCurveDisplay`): built
by ``from_predictions`` (labels and scores) or ``from_estimator`` (a fitted
verifier and data) and drawn by ``plot(ax=...)``, which returns it with its
matplotlib artists as attributes ending in ``_`` (``ax_``, ``figure_``, ...).
Calling ``plot`` on the same axes overlays several systems.
:func:`plot_det`, :func:`plot_training` and :func:`plot_convergence` are the
one-call forms, returning the axes.

matplotlib is optional (``pip install skeer[plots]``) and imported only when a
plot is drawn.
"""

# the DET axes' constants, importable from here (not in __all__)
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
