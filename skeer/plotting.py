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

import numbers
import textwrap

import numpy as np

from .metrics import (
    det_points,
    equal_error_rate,
    fnmr_at_fmr,
    verification_pairs,
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

#: Rates (fractions) labelled on the DET axes, shown in percent, in order of
#: priority: where axes are too small for every label, the later ones make
#: way (see :func:`_det_tick_locator`), so labels never overlap.
DET_TICKS = (0.01, 0.1, 0.001, 0.4, 0.05, 0.2)
#: Rates with a grid line but no label, between the labelled ones (0.5 %
#: and 1 %, 0.25 normal deviates apart, made labels overlap).
DET_MINOR_TICKS = (0.002, 0.005, 0.02, 0.3)
#: Visible range of both DET axes (fractions).
DET_LIMITS = (0.0005, 0.5)
# rates of exactly 0 or 1 map to +-6 standard deviations: far off the axes,
# so a curve that reaches them leaves the plot at its edge instead of breaking
_RATE_CLIP = 1e-9
_DIAGONAL = "skeer-det-diagonal"
_PROTOCOLS = ("open_set", "fixed_text", "closed_set")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skeer.plotting needs matplotlib: pip install skeer[plots]"
        ) from exc
    return plt


def _new_axes(ax, figsize=(5.0, 4.5)):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _probit(p):
    from scipy.stats import norm

    return norm.ppf(np.clip(np.asarray(p, dtype=float), _RATE_CLIP, 1 - _RATE_CLIP))


def _probit_inverse(z):
    from scipy.stats import norm

    return norm.cdf(z)


def _percent_label(p, _pos=None):
    return f"{100 * p:g}%"


def _det_tick_locator():
    """A locator of :data:`DET_TICKS` whose labels never overlap.

    Called at every draw, it places the ticks in their order of priority and
    skips any whose label, at the axis' current size in pixels, would come
    closer than 0.4 em to a label already placed.
    """
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath
    from matplotlib.ticker import Locator

    class DETTickLocator(Locator):
        def __call__(self):
            axis = self.axis
            lo, hi = sorted(axis.get_view_interval())
            ticks = [t for t in DET_TICKS if lo <= t <= hi]
            ax = axis.axes
            if ax is None or ax.figure is None or len(ticks) < 2:
                return sorted(ticks)
            name = axis.axis_name
            size = getattr(axis, "_major_tick_kw", {}).get(
                "labelsize", mpl.rcParams[f"{name}tick.labelsize"]
            )
            prop = FontProperties(size=size)
            points = prop.get_size_in_points()
            px = ax.figure.dpi / 72
            other = ax.get_ylim()[0] if name == "x" else ax.get_xlim()[0]
            xy = [(t, other) if name == "x" else (other, t) for t in ticks]
            where = ax.transData.transform(xy)[:, 0 if name == "x" else 1]
            if name == "x":
                sizes = [
                    TextToPath().get_text_width_height_descent(
                        _percent_label(t), prop, ismath=False
                    )[0]
                    * px
                    for t in ticks
                ]
            else:
                sizes = [points * px] * len(ticks)
            pad = 0.4 * points * px
            placed = []
            for t, p, e in zip(ticks, where, sizes):
                if all(abs(p - q) >= (e + f) / 2 + pad for _, q, f in placed):
                    placed.append((t, p, e))
            return sorted(t for t, _, _ in placed)

    return DETTickLocator()


def _set_probit_axes(ax):
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ax.set_xscale("function", functions=(_probit, _probit_inverse))
    ax.set_yscale("function", functions=(_probit, _probit_inverse))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(_det_tick_locator())
        axis.set_major_formatter(FuncFormatter(_percent_label))
        # a labelled tick that makes way keeps its grid line
        axis.set_minor_locator(FixedLocator(sorted(DET_TICKS + DET_MINOR_TICKS)))
        axis.set_minor_formatter(NullFormatter())


def _setup_det_axes(ax):
    """Probit scales, limits, labels and the FMR = FNMR diagonal, once per axes."""
    if any(line.get_gid() == _DIAGONAL for line in ax.lines):
        return
    ax.plot(
        DET_LIMITS,
        DET_LIMITS,
        color="0.6",
        linestyle=":",
        linewidth=1,
        gid=_DIAGONAL,
        label="_FMR = FNMR",
    )
    _set_probit_axes(ax)
    ax.set_xlim(*DET_LIMITS)
    ax.set_ylim(*DET_LIMITS)
    ax.set_xlabel("False match rate (FMR)")
    ax.set_ylabel("False non-match rate (FNMR)")
    ax.grid(True, which="major", color="0.88")
    ax.grid(True, which="minor", color="0.95")
    ax.set_aspect("equal", adjustable="box")


def _check_protocol(protocol, protocol_params):
    if protocol not in _PROTOCOLS:
        raise ValueError(f"protocol must be one of {_PROTOCOLS}, got {protocol!r}.")
    if protocol == "closed_set" and protocol_params:
        raise ValueError(
            "protocol_params are for the open_set and fixed_text protocols."
        )


def _estimator_comparisons(estimator, X, y, protocol, protocol_params):
    """Binary labels and scores of a fitted verifier's comparisons on (X, y)."""
    _check_protocol(protocol, protocol_params)
    if protocol == "closed_set":
        if not hasattr(estimator, "decision_function"):
            raise ValueError(
                "protocol='closed_set' needs an estimator with decision_function "
                f"and classes_; {type(estimator).__name__} has none."
            )
        scores = estimator.decision_function(X)
        return verification_pairs(y, scores, labels=estimator.classes_)
    from . import protocols

    params = {"n_bootstraps": 0, **(protocol_params or {})}
    if protocol == "open_set":
        params.setdefault("fmr_levels", ())
        _, y_binary, scores = protocols.evaluate_verification(
            estimator, X, y, return_scores=True, **params
        )
    else:
        _, y_binary, scores = protocols.evaluate_fixed_text(
            estimator, X, y, return_scores=True, **params
        )
    return y_binary, scores


def _estimator_name(estimator):
    steps = getattr(estimator, "steps", None)
    if steps:  # a Pipeline: its final estimator names it
        return type(steps[-1][1]).__name__
    return type(estimator).__name__


_FROM_ESTIMATOR_PARAMS = """
estimator : fitted estimator
    A fitted verifier (:class:`~skeer.KeystrokeVerifier`, a detector of
    :mod:`skeer.baselines`, or a ``Pipeline`` ending in one).
X : sequence of sessions or array-like
    Test samples.
y : array-like of shape (n_samples,)
    Subject of each sample.
protocol : {"open_set", "fixed_text", "closed_set"}, default="open_set"
    How comparisons are made:

    - ``"open_set"``: :func:`skeer.protocols.evaluate_verification` with
      ``return_scores=True``: each subject of ``y`` enrols its first
      samples and probes with the rest, every other subject's first
      probe is an impostor (new people, the deployment case);
    - ``"fixed_text"``: :func:`skeer.protocols.evaluate_fixed_text`
      (Killourhy & Maxion), every subject's comparisons pooled;
    - ``"closed_set"``: ``estimator.decision_function(X)``, the score of
      each sample against every enrolled subject (``estimator.classes_``;
      every subject of ``y`` must be enrolled): a sample's own column is
      genuine, the others impostor.
protocol_params : dict, default=None
    Keyword arguments of the protocol function (e.g. ``{"n_enroll":
    5}``); by default no bootstrap is run."""


def _from_estimator_doc(func):
    """Insert the parameters shared by the ``from_estimator`` methods."""
    params = textwrap.indent(_FROM_ESTIMATOR_PARAMS, " " * 8)
    func.__doc__ = func.__doc__.replace("\n        {params}\n", params + "\n")
    return func


class VerificationDETDisplay:
    """DET curve of a verification system, scikit-learn Display style.

    The Detection Error Trade-off curve (Martin et al., 1997): the false
    non-match rate against the false match rate, both on a probit
    (normal-deviate) scale, where two Gaussian score distributions give a
    straight line; axes labelled in percent from 0.1 % to 40 %. The EER point
    and chosen operating points (the FNMR at given FMR levels) are marked.

    Build it with :meth:`from_predictions` or :meth:`from_estimator`; call
    :meth:`plot` with the same ``ax`` to overlay several systems.

    Parameters
    ----------
    fmr : ndarray of shape (n_thresholds,)
        False match rate at each threshold (as :func:`~skeer.metrics.det_points`).
    fnmr : ndarray of shape (n_thresholds,)
        False non-match rate at each threshold.
    eer : float, default=None
        Equal error rate, marked on the curve when given.
    operating_points : dict, default=None
        ``{fmr_level: (fmr, fnmr)}``: for each target FMR, the operating
        point reached (the lowest FNMR whose FMR is at most the target, as
        :func:`~skeer.metrics.fnmr_at_fmr`), marked on the curve.
    name : str, default=None
        Name of the system in the legend.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        The DET curve.
    eer_marker_ : matplotlib.lines.Line2D or None
        The EER point, at ``(eer, eer)``.
    operating_points_marker_ : matplotlib.lines.Line2D or None
        The operating points.
    ax_ : matplotlib.axes.Axes
        Axes with the curve: both scales are ``"function"`` (probit), and the
        data are the rates themselves (fractions), not deviates.
    figure_ : matplotlib.figure.Figure
        Figure of ``ax_``.

    See Also
    --------
    skeer.metrics.det_points : The curve's points.
    plot_det : The same in one call, returning the axes.
    ScoreDistributionDisplay : Genuine and impostor score histograms.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skeer.plotting import VerificationDETDisplay
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(500), np.zeros(5000)]
    >>> good = np.r_[rng.normal(3, 1, 500), rng.normal(0, 1, 5000)]
    >>> worse = np.r_[rng.normal(2, 1, 500), rng.normal(0, 1, 5000)]
    >>> a = VerificationDETDisplay.from_predictions(
    ...     y, good, name="A", fmr_levels=[0.01, 0.1])
    >>> b = VerificationDETDisplay.from_predictions(y, worse, name="B", ax=a.ax_)
    >>> b.ax_ is a.ax_, round(a.eer, 3), round(b.eer, 3)
    (True, 0.06, 0.149)
    >>> [t.get_text() for t in a.ax_.get_legend().get_texts()]
    ['A (EER 6.02%, FNMR 25.40% @ FMR 1%, 3.60% @ 10%)', 'B (EER 14.88%)']
    """

    def __init__(self, *, fmr, fnmr, eer=None, operating_points=None, name=None):
        self.fmr = fmr
        self.fnmr = fnmr
        self.eer = eer
        self.operating_points = operating_points
        self.name = name

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_score,
        *,
        labels=None,
        fmr_levels=None,
        name=None,
        ax=None,
        mark_eer=True,
        **kwargs,
    ):
        """Plot the DET curve of labels and scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            1 for a genuine comparison, 0 for an impostor one (or identities,
            with a 2-D ``y_score``, as in :func:`~skeer.metrics.equal_error_rate`).
        y_score : array-like of shape (n_samples,) or (n_samples, n_identities)
            Similarity scores, higher = same person.
        labels : array-like of shape (n_identities,), default=None
            Identity of each column of a 2-D ``y_score``.
        fmr_levels : sequence of float in [0, 1], default=None
            Target false match rates whose operating points are marked and
            whose FNMR is given in the legend.
        name : str, default=None
            Name of the system in the legend.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on (a DET axes from an earlier call to overlay);
            a new figure is made when None.
        mark_eer : bool, default=True
            Mark and annotate the EER point.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for the curve (``color``,
            ``linestyle``, ...).

        Returns
        -------
        display : VerificationDETDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skeer.plotting import VerificationDETDisplay
        >>> y = [0] * 10 + [1] * 10  # one impostor outscores one genuine
        >>> scores = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 9, 11, 12, 13, 14, 15, 16,
        ...           17, 18, 19]
        >>> d = VerificationDETDisplay.from_predictions(y, scores)
        >>> d.eer, d.eer_marker_.get_xydata().tolist()
        (0.1, [[0.1, 0.1]])
        """
        fmr, fnmr, _ = det_points(y_true, y_score, labels=labels)
        eer = float(equal_error_rate(y_true, y_score, labels=labels))
        points = None
        if fmr_levels is not None and len(np.ravel(fmr_levels)):
            levels = [float(v) for v in np.ravel(fmr_levels)]
            rates = np.atleast_1d(
                fnmr_at_fmr(y_true, y_score, fmr=levels, labels=labels)
            )
            points = {}
            for level, rate in zip(levels, rates):
                # the curve's vertex of that operating point: the first (lowest
                # threshold) whose FMR is within the target
                i = int(np.argmax(fmr <= level))
                points[level] = (float(fmr[i]), float(rate))
        display = cls(fmr=fmr, fnmr=fnmr, eer=eer, operating_points=points, name=name)
        return display.plot(ax=ax, mark_eer=mark_eer, **kwargs)

    @classmethod
    @_from_estimator_doc
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        protocol="open_set",
        protocol_params=None,
        fmr_levels=None,
        name=None,
        ax=None,
        mark_eer=True,
        **kwargs,
    ):
        """Plot the DET curve of a fitted verifier on test data.

        Parameters
        ----------
        {params}
        fmr_levels : sequence of float in [0, 1], default=None
            Target false match rates whose operating points are marked.
        name : str, default=None
            Name in the legend; default: the estimator's class name.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure is made when None.
        mark_eer : bool, default=True
            Mark and annotate the EER point.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for the curve.

        Returns
        -------
        display : VerificationDETDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from skeer.baselines import ScaledManhattan
        >>> from skeer.plotting import VerificationDETDisplay
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat(np.arange(10), 20)
        >>> X = rng.normal(size=(10, 6))[y] + 0.7 * rng.normal(size=(200, 6))
        >>> d = VerificationDETDisplay.from_estimator(ScaledManhattan(), X, y)
        >>> d.line_.get_label().startswith("ScaledManhattan (EER")
        True
        """
        y_binary, scores = _estimator_comparisons(
            estimator, X, y, protocol, protocol_params
        )
        return cls.from_predictions(
            y_binary,
            scores,
            fmr_levels=fmr_levels,
            name=_estimator_name(estimator) if name is None else name,
            ax=ax,
            mark_eer=mark_eer,
            **kwargs,
        )

    def _label(self, name):
        parts = []
        if self.eer is not None:
            parts.append(f"EER {100 * self.eer:.2f}%")
        if self.operating_points:
            rates = [
                f"{100 * fnmr:.2f}% @ {_percent_label(level)}"
                for level, (_, fnmr) in self.operating_points.items()
            ]
            parts.append("FNMR " + rates[0].replace("@ ", "@ FMR "))
            parts.extend(rates[1:])
        text = ", ".join(parts)
        if name is None:
            return text or None
        return f"{name} ({text})" if text else str(name)

    def plot(self, ax=None, *, name=None, mark_eer=True, **kwargs):
        """Draw the curve, its EER point and operating points.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on: a new figure when None; the axes of another DET
            display to overlay this one (the axes are set up once).
        name : str, default=None
            Name in the legend; default: ``self.name``.
        mark_eer : bool, default=True
            Mark the EER point (when ``self.eer`` is known) and annotate it.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for the curve.

        Returns
        -------
        display : VerificationDETDisplay
            ``self``, with its artists.

        Raises
        ------
        ImportError
            If matplotlib is not installed.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skeer.plotting import VerificationDETDisplay
        >>> d = VerificationDETDisplay(fmr=[1.0, 0.1, 0.0], fnmr=[0.0, 0.2, 1.0])
        >>> d.plot(name="A").line_.get_label()
        'A'
        """
        ax = _new_axes(ax, figsize=(5.0, 5.0))
        _setup_det_axes(ax)
        name = self.name if name is None else name
        label = self._label(name)
        line_kwargs = {"linewidth": 1.8, **({"label": label} if label else {})}
        line_kwargs.update(kwargs)
        (self.line_,) = ax.plot(
            np.asarray(self.fmr, dtype=float),
            np.asarray(self.fnmr, dtype=float),
            **line_kwargs,
        )
        color = self.line_.get_color()
        self.eer_marker_ = None
        if mark_eer and self.eer is not None:
            point = float(np.clip(self.eer, _RATE_CLIP, 1 - _RATE_CLIP))
            (self.eer_marker_,) = ax.plot(
                [point],
                [point],
                marker="o",
                markersize=6,
                color=color,
                linestyle="none",
                label="_EER",
            )
            ax.annotate(
                f"EER {100 * self.eer:.2f}%",
                (point, point),
                xytext=(8, -4),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize="small",
                color=color,
            )
        self.operating_points_marker_ = None
        if self.operating_points:
            xy = np.clip(
                np.array(list(self.operating_points.values()), dtype=float),
                _RATE_CLIP,
                1 - _RATE_CLIP,
            )
            (self.operating_points_marker_,) = ax.plot(
                xy[:, 0],
                xy[:, 1],
                marker="s",
                markersize=5,
                markerfacecolor="white",
                color=color,
                linestyle="none",
                label="_operating points",
            )
            for level in self.operating_points:
                gid = f"skeer-det-fmr-{level:g}"
                if not any(line.get_gid() == gid for line in ax.lines):
                    ax.axvline(
                        level,
                        color="0.55",
                        linestyle="--",
                        linewidth=0.8,
                        gid=gid,
                        label="_FMR level",
                    )
        if ax.get_legend_handles_labels()[0]:
            # good systems leave the lower left of a DET plot empty
            ax.legend(loc="lower left", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class ScoreDistributionDisplay:
    """Histograms of genuine and impostor scores, scikit-learn Display style.

    The two score distributions on shared bins, normalised to densities by
    default (impostor comparisons usually outnumber genuine ones by far), with
    the decision threshold as a vertical line: the overlap of the two is what
    the error rates count.

    Parameters
    ----------
    bin_edges : ndarray of shape (n_bins + 1,)
        Edges of the bins shared by both histograms.
    genuine_counts : ndarray of shape (n_bins,)
        Number of genuine scores in each bin.
    impostor_counts : ndarray of shape (n_bins,)
        Number of impostor scores in each bin.
    threshold : float, default=None
        Decision threshold (accept when ``score >= threshold``) drawn as a
        vertical line.
    threshold_label : str, default="threshold"
        What the threshold is, for the legend (e.g. ``"EER threshold"``).
    name : str, default=None
        Name of the system, prefixed to the legend entries.

    Attributes
    ----------
    genuine_ : matplotlib.patches.StepPatch
        The genuine histogram.
    impostor_ : matplotlib.patches.StepPatch
        The impostor histogram.
    threshold_line_ : matplotlib.lines.Line2D or None
        The threshold.
    ax_ : matplotlib.axes.Axes
    figure_ : matplotlib.figure.Figure

    See Also
    --------
    VerificationDETDisplay : The error rates of every threshold.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skeer.plotting import ScoreDistributionDisplay
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(500), np.zeros(5000)]
    >>> scores = np.r_[rng.normal(2, 1, 500), rng.normal(0, 1, 5000)]
    >>> d = ScoreDistributionDisplay.from_predictions(y, scores, bins=40)
    >>> int(d.genuine_counts.sum()), int(d.impostor_counts.sum())
    (500, 5000)
    >>> round(d.threshold, 2), d.threshold_line_.get_label()
    (0.99, 'EER threshold (0.986)')
    """

    def __init__(
        self,
        *,
        bin_edges,
        genuine_counts,
        impostor_counts,
        threshold=None,
        threshold_label="threshold",
        name=None,
    ):
        self.bin_edges = bin_edges
        self.genuine_counts = genuine_counts
        self.impostor_counts = impostor_counts
        self.threshold = threshold
        self.threshold_label = threshold_label
        self.name = name

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_score,
        *,
        labels=None,
        bins=50,
        threshold="eer",
        name=None,
        ax=None,
        density=True,
    ):
        """Plot the score histograms of labels and scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            1 for a genuine comparison, 0 for an impostor one (or identities,
            with a 2-D ``y_score``).
        y_score : array-like of shape (n_samples,) or (n_samples, n_identities)
            Similarity scores, higher = same person.
        labels : array-like of shape (n_identities,), default=None
            Identity of each column of a 2-D ``y_score``.
        bins : int, str or sequence, default=50
            Shared bins, as :func:`numpy.histogram_bin_edges` takes them, over
            all scores.
        threshold : "eer", float or None, default="eer"
            The line drawn: the EER threshold
            (:func:`~skeer.metrics.equal_error_rate`), a given threshold, or
            none.
        name : str, default=None
            Name of the system, prefixed to the legend entries.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure is made when None.
        density : bool, default=True
            Normalise each histogram to unit area (else counts).

        Returns
        -------
        display : ScoreDistributionDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skeer.plotting import ScoreDistributionDisplay
        >>> d = ScoreDistributionDisplay.from_predictions(
        ...     [0, 0, 1, 1], [0.5, 1.5, 2.5, 3.5], bins=[0, 1, 2, 3, 4],
        ...     threshold=2.0, density=False)
        >>> d.genuine_counts.tolist(), d.impostor_counts.tolist()
        ([0, 0, 1, 1], [1, 1, 0, 0])
        """
        y_binary, scores = verification_pairs(y_true, y_score, labels=labels)
        genuine = y_binary == 1
        edges = np.histogram_bin_edges(scores, bins=bins)
        gen_counts, _ = np.histogram(scores[genuine], bins=edges)
        imp_counts, _ = np.histogram(scores[~genuine], bins=edges)
        label = "threshold"
        if isinstance(threshold, str):
            if threshold != "eer":
                raise ValueError(
                    f"threshold must be 'eer', a number or None, got {threshold!r}."
                )
            _, threshold = equal_error_rate(y_binary, scores, return_threshold=True)
            label = "EER threshold"
        display = cls(
            bin_edges=edges,
            genuine_counts=gen_counts,
            impostor_counts=imp_counts,
            threshold=None if threshold is None else float(threshold),
            threshold_label=label,
            name=name,
        )
        return display.plot(ax=ax, density=density)

    @classmethod
    @_from_estimator_doc
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        protocol="open_set",
        protocol_params=None,
        bins=50,
        threshold="eer",
        name=None,
        ax=None,
        density=True,
    ):
        """Plot the score histograms of a fitted verifier on test data.

        Parameters
        ----------
        {params}
        bins : int, str or sequence, default=50
            Shared bins over all scores.
        threshold : "eer", float or None, default="eer"
            The line drawn: the EER threshold of these comparisons, a given
            threshold (e.g. the estimator's ``threshold_``), or none.
        name : str, default=None
            Name of the system, prefixed to the legend entries.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure is made when None.
        density : bool, default=True
            Normalise each histogram to unit area (else counts).

        Returns
        -------
        display : ScoreDistributionDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from skeer.baselines import ScaledManhattan
        >>> from skeer.plotting import ScoreDistributionDisplay
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat(np.arange(10), 20)
        >>> X = rng.normal(size=(10, 6))[y] + 0.7 * rng.normal(size=(200, 6))
        >>> model = ScaledManhattan().fit(X, y)
        >>> d = ScoreDistributionDisplay.from_estimator(
        ...     model, X, y, protocol="closed_set", threshold=model.threshold_)
        >>> int(d.genuine_counts.sum()), int(d.impostor_counts.sum())
        (200, 1800)
        """
        y_binary, scores = _estimator_comparisons(
            estimator, X, y, protocol, protocol_params
        )
        return cls.from_predictions(
            y_binary,
            scores,
            bins=bins,
            threshold=threshold,
            name=name,
            ax=ax,
            density=density,
        )

    def plot(self, ax=None, *, name=None, density=True):
        """Draw both histograms and the threshold.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure is made when None.
        name : str, default=None
            Name prefixed to the legend entries; default: ``self.name``.
        density : bool, default=True
            Normalise each histogram to unit area (else counts).

        Returns
        -------
        display : ScoreDistributionDisplay
            ``self``, with its artists.

        Raises
        ------
        ImportError
            If matplotlib is not installed.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skeer.plotting import ScoreDistributionDisplay
        >>> d = ScoreDistributionDisplay(bin_edges=[0, 1, 2],
        ...     genuine_counts=[1, 3], impostor_counts=[4, 0]).plot()
        >>> d.genuine_.get_data().values.tolist()
        [0.25, 0.75]
        """
        ax = _new_axes(ax, figsize=(6.0, 4.0))
        name = self.name if name is None else name
        prefix = "" if name is None else f"{name}: "
        edges = np.asarray(self.bin_edges, dtype=float)
        widths = np.diff(edges)
        artists = []
        for counts, what, color in (
            (self.genuine_counts, "genuine", "C2"),
            (self.impostor_counts, "impostor", "C3"),
        ):
            values = np.asarray(counts, dtype=float)
            total = values.sum()
            if density and total > 0:
                values = values / (total * widths)
            artists.append(
                ax.stairs(
                    values,
                    edges,
                    fill=True,
                    alpha=0.35,
                    color=color,
                    label=f"{prefix}{what} ({int(total)})",
                )
            )
            ax.stairs(values, edges, color=color, linewidth=1.2, label="_outline")
        self.genuine_, self.impostor_ = artists
        self.threshold_line_ = None
        if self.threshold is not None:
            self.threshold_line_ = ax.axvline(
                self.threshold,
                color="k",
                linestyle="--",
                linewidth=1,
                label=f"{prefix}{self.threshold_label} ({self.threshold:.3g})",
            )
        ax.set_xlabel("score (higher = same person)")
        ax.set_ylabel("density" if density else "comparisons")
        ax.grid(True, color="0.9")
        ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


# --------------------------------------------------------------------------
# training curves


def _history_columns(history):
    """``{key: list of values}`` from a skorch History, records or columns."""
    if isinstance(history, dict):
        return {k: list(v) for k, v in history.items()}
    records = list(history)
    if records and not all(isinstance(r, dict) for r in records):
        raise ValueError(
            "history must be a skorch History, a list of per-epoch dicts or a dict "
            f"of per-epoch lists, got {type(history).__name__}."
        )
    keys = {k for r in records for k in r}
    return {k: [r.get(k, np.nan) for r in records] for k in keys}


def _as_float(values):
    out = []
    for v in values:
        out.append(float(v) if isinstance(v, numbers.Real) else np.nan)
    return np.asarray(out, dtype=float)


class TrainingDisplay:
    """Training loss and validation EER per epoch, scikit-learn Display style.

    The losses are drawn on the axes and the validation EER (in percent) on a
    twin y-axis to the right, its best epoch starred.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers.
    train_loss : ndarray of shape (n_epochs,)
        Training loss per epoch.
    valid_loss : ndarray of shape (n_epochs,), default=None
        Validation loss per epoch (NaN where not recorded).
    valid_eer : ndarray of shape (n_epochs,), default=None
        Validation EER per epoch, a fraction (NaN where not recorded).

    Attributes
    ----------
    lines_ : list of matplotlib.lines.Line2D
        The loss lines, then the EER line when drawn.
    ax_ : matplotlib.axes.Axes
        The losses' axes.
    right_ax_ : matplotlib.axes.Axes or None
        The EER's twin axes (None without a validation EER); also
        ``ax_.right_ax``.
    figure_ : matplotlib.figure.Figure

    See Also
    --------
    plot_training : The same in one call, returning the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skeer.plotting import TrainingDisplay
    >>> history = [{"epoch": 1, "train_loss": 0.8, "valid_eer": 0.30},
    ...            {"epoch": 2, "train_loss": 0.6, "valid_eer": 0.22}]
    >>> d = TrainingDisplay.from_history(history)
    >>> [line.get_label() for line in d.lines_]
    ['train loss', 'validation EER']
    >>> d.right_ax_.lines[0].get_ydata().tolist()
    [30.0, 22.0]
    """

    def __init__(self, *, epochs, train_loss, valid_loss=None, valid_eer=None):
        self.epochs = epochs
        self.train_loss = train_loss
        self.valid_loss = valid_loss
        self.valid_eer = valid_eer

    @classmethod
    def from_history(cls, history, *, ax=None):
        """Plot per-epoch records.

        Parameters
        ----------
        history : skorch History, list of dict or dict of list
            Per-epoch records as in ``KeystrokeVerifier.history_`` (or as
            written to ``report.json``): keys ``train_loss``, optionally
            ``epoch``, ``valid_loss`` and ``valid_eer``.
        ax : matplotlib.axes.Axes, default=None
            Axes for the losses; a new figure is made when None.

        Returns
        -------
        display : TrainingDisplay

        Raises
        ------
        ValueError
            If ``history`` holds no ``train_loss``.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skeer.plotting import TrainingDisplay
        >>> d = TrainingDisplay.from_history({"train_loss": [1.0, 0.5]})
        >>> d.epochs.tolist(), d.right_ax_ is None
        ([1.0, 2.0], True)
        """
        cols = _history_columns(history)
        if not cols.get("train_loss"):
            raise ValueError("history must hold 'train_loss' for at least one epoch.")
        train = _as_float(cols["train_loss"])
        epochs = np.arange(1, len(train) + 1, dtype=float)
        if "epoch" in cols and len(cols["epoch"]) == len(train):
            epochs = _as_float(cols["epoch"])
        optional = {}
        for key in ("valid_loss", "valid_eer"):
            values = _as_float(cols.get(key, []))
            if values.size == len(train) and np.isfinite(values).any():
                optional[key] = values
        display = cls(epochs=epochs, train_loss=train, **optional)
        return display.plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the training history of a fitted verifier.

        Parameters
        ----------
        estimator : fitted estimator
            A :class:`~skeer.KeystrokeVerifier` (its ``history_``) or a
            ``Pipeline`` ending in one.
        ax : matplotlib.axes.Axes, default=None
            Axes for the losses; a new figure is made when None.

        Returns
        -------
        display : TrainingDisplay

        Raises
        ------
        ValueError
            If the estimator has no training history.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from types import SimpleNamespace
        >>> from skeer.plotting import TrainingDisplay
        >>> fitted = SimpleNamespace(history_=[{"train_loss": 0.7}])
        >>> TrainingDisplay.from_estimator(fitted).train_loss.tolist()
        [0.7]
        """
        steps = getattr(estimator, "steps", None)
        final = steps[-1][1] if steps else estimator
        history = getattr(final, "history_", None)
        if history is None:
            raise ValueError(
                f"{type(final).__name__} has no training history (history_): fit it "
                "first, or pass a history to from_history."
            )
        return cls.from_history(history, ax=ax)

    def plot(self, ax=None):
        """Draw the losses and the validation EER.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes for the losses; a new figure is made when None.

        Returns
        -------
        display : TrainingDisplay
            ``self``, with its artists.

        Raises
        ------
        ImportError
            If matplotlib is not installed.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skeer.plotting import TrainingDisplay
        >>> d = TrainingDisplay(epochs=[1, 2], train_loss=[0.9, 0.4]).plot()
        >>> d.ax_.get_xlabel(), d.ax_.get_ylabel()
        ('epoch', 'loss')
        """
        ax = _new_axes(ax, figsize=(6.0, 4.0))
        epochs = np.asarray(self.epochs, dtype=float)
        lines = []
        lines += ax.plot(
            epochs, self.train_loss, color="C0", marker=".", label="train loss"
        )
        if self.valid_loss is not None:
            lines += ax.plot(
                epochs,
                self.valid_loss,
                color="C0",
                linestyle="--",
                label="validation loss",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(True, color="0.9")
        right = None
        if self.valid_eer is not None:
            from matplotlib.ticker import FormatStrFormatter

            eer = 100 * np.asarray(self.valid_eer, dtype=float)
            right = ax.twinx()
            lines += right.plot(
                epochs, eer, color="C3", marker=".", label="validation EER"
            )
            best = int(np.nanargmin(eer))
            right.plot(
                [epochs[best]],
                [eer[best]],
                marker="*",
                markersize=10,
                color="C3",
                linestyle="none",
                label="_best",
            )
            right.set_ylabel("validation EER (%)", color="C3")
            right.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            right.tick_params(axis="y", colors="C3")
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(handles=lines, loc="upper right", fontsize="small")
        ax.right_ax = right
        self.lines_ = lines
        self.right_ax_ = right
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class ConvergenceDisplay:
    """Validation EER per epoch of several runs, scikit-learn Display style.

    One line per label (e.g. per loss): the mean over its runs (seeds) per
    epoch, with a band from the lowest to the highest run when there are
    several.

    Parameters
    ----------
    curves : dict
        ``label -> (mean, low, high)``: arrays of shape (n_epochs,) of EERs
        (fractions); ``low`` and ``high`` are None for a single run.

    Attributes
    ----------
    lines_ : dict of str to matplotlib.lines.Line2D
        The line of each label.
    ax_ : matplotlib.axes.Axes
    figure_ : matplotlib.figure.Figure

    See Also
    --------
    plot_convergence : The same in one call, returning the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skeer.plotting import ConvergenceDisplay
    >>> d = ConvergenceDisplay.from_curves({"eer-area": [[0.3, 0.2], [0.3, 0.1]],
    ...                                     "triplet": [0.35, 0.3]})
    >>> d.curves["eer-area"][0].round(2).tolist()
    [0.3, 0.15]
    >>> d.lines_["triplet"].get_ydata().tolist()
    [35.0, 30.0]
    """

    def __init__(self, *, curves):
        self.curves = curves

    @classmethod
    def from_curves(cls, curves, *, ax=None):
        """Plot per-epoch EERs of labelled runs.

        Parameters
        ----------
        curves : dict
            ``label -> curve``; a curve is a list of validation EERs
            (fractions), one per epoch, or a list of such lists (one per
            seed; they may differ in length, e.g. after early stopping), as
            :meth:`skeer.benchmark.LossComparison.curves` returns.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure is made when None.

        Returns
        -------
        display : ConvergenceDisplay

        Raises
        ------
        ValueError
            If ``curves`` is empty or a curve is empty.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skeer.plotting import ConvergenceDisplay
        >>> d = ConvergenceDisplay.from_curves({"a": [[0.4, 0.2], [0.2]]})
        >>> [v.round(2).tolist() for v in d.curves["a"]]
        [[0.3, 0.2], [0.2, 0.2], [0.4, 0.2]]
        """
        if not isinstance(curves, dict) or not curves:
            raise ValueError("curves must be a non-empty dict label -> list of EERs.")
        summary = {}
        for label, curve in curves.items():
            runs = list(curve)
            if not runs:
                raise ValueError(f"curves[{label!r}] is empty.")
            if not isinstance(runs[0], list | tuple | np.ndarray):
                runs = [runs]
            length = max(len(r) for r in runs)
            if length == 0:
                raise ValueError(f"curves[{label!r}] is empty.")
            table = np.full((len(runs), length), np.nan)
            for i, run in enumerate(runs):
                table[i, : len(run)] = _as_float(run)
            finite = np.isfinite(table)
            counts = finite.sum(axis=0)
            mean = np.divide(
                np.where(finite, table, 0.0).sum(axis=0),
                counts,
                out=np.full(length, np.nan),
                where=counts > 0,
            )
            low = high = None
            if len(runs) > 1:
                low = np.where(
                    counts > 0, np.where(finite, table, np.inf).min(0), np.nan
                )
                high = np.where(
                    counts > 0, np.where(finite, table, -np.inf).max(0), np.nan
                )
            summary[label] = (mean, low, high)
        return cls(curves=summary).plot(ax=ax)

    def plot(self, ax=None):
        """Draw one line (and band) per label.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure is made when None.

        Returns
        -------
        display : ConvergenceDisplay
            ``self``, with its artists.

        Raises
        ------
        ImportError
            If matplotlib is not installed.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from skeer.plotting import ConvergenceDisplay
        >>> d = ConvergenceDisplay(curves={"a": (np.array([0.2, 0.1]), None, None)})
        >>> d.plot().ax_.get_ylabel()
        'validation EER (%)'
        """
        ax = _new_axes(ax, figsize=(6.0, 4.0))
        self.lines_ = {}
        for label, (mean, low, high) in self.curves.items():
            epochs = np.arange(1, len(mean) + 1)
            (line,) = ax.plot(
                epochs, 100 * np.asarray(mean), marker=".", label=str(label)
            )
            self.lines_[label] = line
            if low is not None and high is not None:
                ax.fill_between(
                    epochs,
                    100 * np.asarray(low),
                    100 * np.asarray(high),
                    color=line.get_color(),
                    alpha=0.15,
                )
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation EER (%)")
        ax.grid(True, color="0.9")
        ax.legend(loc="upper right", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


# --------------------------------------------------------------------------
# one-call functions


def plot_det(y_true, y_score, *, ax=None, label=None, mark_eer=True, fmr_levels=None):
    """Plot a DET curve (FNMR against FMR) on normal-deviate (probit) axes.

    The one-call form of :class:`VerificationDETDisplay`: both error rates
    on a probit scale, labelled in percent (0.1 % to 40 %). Call it several
    times with the same ``ax`` to compare systems; the ``FMR = FNMR``
    diagonal is drawn once per axes.

    Parameters
    ----------
    y_true : array-like of shape (n_comparisons,)
        1 for a genuine comparison (same person), 0 for an impostor one.
    y_score : array-like of shape (n_comparisons,)
        Similarity scores, higher meaning more likely the same person.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure is made when None.
    label : str, default=None
        Legend label of the curve; the EER is appended to it.
    mark_eer : bool, default=True
        Mark the equal-error point on the curve and annotate its value.
    fmr_levels : sequence of float in [0, 1], default=None
        Target false match rates whose operating points are marked.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes, with a ``"function"`` (probit) scale on both axes. The
        curve's data are the rates themselves (fractions), not deviates.

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    See Also
    --------
    VerificationDETDisplay : The same as a Display, with ``from_estimator``.
    skeer.metrics.det_points : The curve's points.
    skeer.metrics.equal_error_rate : The marked point.

    Notes
    -----
    Rates of exactly 0 lie at minus infinity on a probit axis; they are drawn
    far outside the visible range, so the curve leaves the plot at its edge.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skeer.plotting import plot_det
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(200), np.zeros(2000)]
    >>> scores = np.r_[rng.normal(2, 1, 200), rng.normal(0, 1, 2000)]
    >>> ax = plot_det(y, scores, label="system A")
    >>> ax.get_xscale(), ax.get_yscale()
    ('function', 'function')
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['0.1%', '1%', '5%', '10%', '20%', '40%']
    """
    return VerificationDETDisplay.from_predictions(
        y_true, y_score, fmr_levels=fmr_levels, name=label, ax=ax, mark_eer=mark_eer
    ).ax_


def plot_training(history, *, ax=None):
    """Plot the training loss and the validation EER per epoch.

    The one-call form of :class:`TrainingDisplay`: the losses
    (``train_loss`` and, if recorded, ``valid_loss``) are drawn on ``ax`` and
    the validation EER (``valid_eer``, in percent) on a twin y-axis to the
    right.

    Parameters
    ----------
    history : skorch History, list of dict or dict of list
        Per-epoch records as in ``KeystrokeVerifier.history_`` (or as written
        to ``report.json``): keys ``train_loss``, optionally ``valid_loss``
        and ``valid_eer``.
    ax : matplotlib.axes.Axes, default=None
        Axes for the losses; a new figure is made when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The losses' axes. The validation EER's twin axes is ``ax.right_ax``
        (None when no ``valid_eer`` was recorded).

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If ``history`` holds no ``train_loss``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skeer.plotting import plot_training
    >>> history = [{"epoch": 1, "train_loss": 0.8, "valid_eer": 0.30},
    ...            {"epoch": 2, "train_loss": 0.6, "valid_eer": 0.22}]
    >>> ax = plot_training(history)
    >>> [line.get_label() for line in ax.lines]
    ['train loss']
    >>> ax.right_ax.lines[0].get_ydata().tolist()
    [30.0, 22.0]
    """
    return TrainingDisplay.from_history(history, ax=ax).ax_


def plot_convergence(curves, *, ax=None):
    """Plot validation EER per epoch, one line per label (e.g. per loss).

    The one-call form of :class:`ConvergenceDisplay`.

    Parameters
    ----------
    curves : dict
        ``label -> curve``; a curve is a list of validation EERs (fractions),
        one per epoch, or a list of such lists (one per seed; they may differ
        in length, e.g. after early stopping). For several seeds the mean per
        epoch is drawn with a band from the lowest to the highest seed.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One line per label (EER in percent on the y-axis).

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If ``curves`` is empty or a curve is empty.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skeer.plotting import plot_convergence
    >>> ax = plot_convergence({"eer-area": [[0.3, 0.2, 0.1], [0.3, 0.25]],
    ...                        "triplet": [0.35, 0.3, 0.28]})
    >>> [line.get_label() for line in ax.lines]
    ['eer-area', 'triplet']
    >>> ax.lines[0].get_ydata().round(1).tolist()
    [30.0, 22.5, 10.0]
    """
    return ConvergenceDisplay.from_curves(curves, ax=ax).ax_
