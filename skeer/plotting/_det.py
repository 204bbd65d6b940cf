"""DET curves: :class:`VerificationDETDisplay` and its one-call :func:`plot_det`."""

import numpy as np

from skeer.metrics._rates import det_points, equal_error_rate, fnmr_at_fmr
from skeer.plotting._axes import (
    _RATE_CLIP,
    _finish,
    _fit_det_limits,
    _new_axes,
    _percent_label,
    _setup_det_axes,
)
from skeer.plotting._estimator import (
    _estimator_name,
    _from_estimator,
    _from_estimator_doc,
)


class VerificationDETDisplay:
    """DET curve of a verification system, scikit-learn Display style.

    FNMR against FMR on probit axes labelled in percent, with the EER point and
    chosen operating points marked; :meth:`plot` on the same ``ax`` overlays
    several systems.

    Parameters
    ----------
    fmr, fnmr : ndarray of shape (n_thresholds,)
        The rates at each threshold (as :func:`~skeer.metrics.det_points`).
    eer : float, default=None
        Equal error rate, marked on the curve when given.
    operating_points : dict, default=None
        ``{fmr_level: (fmr, fnmr)}``, the points marked (as
        :func:`~skeer.metrics.fnmr_at_fmr` reaches them).
    name : str, default=None
        Name of the system in the legend.

    Attributes
    ----------
    line_, eer_marker_, operating_points_marker_ : matplotlib.lines.Line2D
        The curve, the EER point and the operating points (None when not drawn).
    ax_ : matplotlib.axes.Axes
        Axes with probit (``"function"``) scales of rates.
    figure_ : matplotlib.figure.Figure
        Figure of ``ax_``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skeer.plotting import VerificationDETDisplay
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(500), np.zeros(5000)]
    >>> good = np.r_[rng.normal(3, 1, 500), rng.normal(0, 1, 5000)]
    >>> a = VerificationDETDisplay.from_predictions(y, good, name="A", fmr_levels=[0.1])
    >>> b = VerificationDETDisplay.from_predictions(y, good - y, name="B", ax=a.ax_)
    >>> [t.get_text() for t in a.ax_.get_legend().get_texts()]
    ['A (EER 6.02%, FNMR 3.60% @ FMR 10%)', 'B (EER 16.20%)']
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
        pos_label=None,
        fmr_levels=None,
        name=None,
        ax=None,
        mark_eer=True,
        **kwargs,
    ):
        """Plot the DET curve of labels and scores.

        Parameters
        ----------
        y_true, y_score, labels
            As in :func:`~skeer.metrics.equal_error_rate`.
        pos_label : int, float, bool or str, default=None
            The genuine label of a 1-D ``y_true``; None: as in ``equal_error_rate``.
        fmr_levels : sequence of float in [0, 1], default=None
            Target FMRs whose operating points are marked and FNMR put in the legend.
        name : str, default=None
            Name of the system in the legend.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on (a skeer DET axes, to overlay); None: a new figure.
        mark_eer : bool, default=True
            Mark and annotate the EER point.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for the curve.

        Returns
        -------
        display : VerificationDETDisplay

        Examples
        --------
        >>> from skeer.plotting import VerificationDETDisplay
        >>> y = [0] * 10 + [1] * 10  # one impostor outscores one genuine
        >>> scores = [*range(9), 10, 9, *range(11, 20)]
        >>> d = VerificationDETDisplay.from_predictions(y, scores)
        >>> d.eer, d.eer_marker_.get_xydata().tolist()
        (0.1, [[0.1, 0.1]])
        """
        if pos_label is not None:
            if np.ndim(y_score) != 1:
                raise ValueError(
                    "pos_label applies to binary labels with 1-D y_score; a 2-D "
                    "y_score is scored against identities (use labels=)."
                )
            y_true = (np.asarray(y_true) == pos_label).astype(np.int8)
        fmr, fnmr, _ = det_points(y_true, y_score, labels=labels)
        eer = float(equal_error_rate(y_true, y_score, labels=labels))
        points = None
        if fmr_levels is not None and len(np.ravel(fmr_levels)):
            levels = [float(v) for v in np.ravel(fmr_levels)]
            rates = np.atleast_1d(
                fnmr_at_fmr(y_true, y_score, fmr=levels, labels=labels)
            )
            # each point's vertex: the first (lowest threshold) FMR within the target
            points = {
                level: (float(fmr[int(np.argmax(fmr <= level))]), float(rate))
                for level, rate in zip(levels, rates)
            }
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
        fmr_levels, ax, mark_eer
            As in :meth:`from_predictions`.
        name : str, default=None
            Name in the legend; default: the estimator's class name.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for the curve.

        Returns
        -------
        display : VerificationDETDisplay

        Examples
        --------
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
        return _from_estimator(
            cls,
            estimator,
            X,
            y,
            protocol,
            protocol_params,
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
        ax, mark_eer
            As in :meth:`from_predictions` (the EER is marked when known).
        name : str, default=None
            Name in the legend; default: ``self.name``.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for the curve.

        Returns
        -------
        display : VerificationDETDisplay
            ``self``, with its artists.

        Examples
        --------
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
        _fit_det_limits(ax, self.fmr, self.fnmr)
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
            xy = np.array(list(self.operating_points.values()), dtype=float)
            xy = xy.clip(_RATE_CLIP, 1 - _RATE_CLIP)
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
        # good systems leave the lower left of a DET plot empty
        legend = {"loc": "lower left"} if ax.get_legend_handles_labels()[0] else {}
        return _finish(self, ax, **legend)


def plot_det(y_true, y_score, *, ax=None, label=None, mark_eer=True, fmr_levels=None):
    """Plot a DET curve (FNMR against FMR) on normal-deviate (probit) axes.

    The one-call form of :class:`VerificationDETDisplay`.

    Parameters
    ----------
    y_true, y_score
        Binary labels and 1-D scores, as in :func:`~skeer.metrics.equal_error_rate`.
    ax, mark_eer, fmr_levels
        As in :meth:`VerificationDETDisplay.from_predictions`.
    label : str, default=None
        Legend label of the curve; the EER is appended to it.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes, both scales ``"function"`` (probit).

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.plotting import plot_det
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(200), np.zeros(2000)]
    >>> ax = plot_det(y, np.r_[rng.normal(2, 1, 200), rng.normal(0, 1, 2000)])
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['0.1%', '1%', '5%', '10%', '20%', '40%']
    """
    return VerificationDETDisplay.from_predictions(
        y_true, y_score, fmr_levels=fmr_levels, name=label, ax=ax, mark_eer=mark_eer
    ).ax_
