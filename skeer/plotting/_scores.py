"""Genuine and impostor score histograms: :class:`ScoreDistributionDisplay`."""

import numpy as np

from skeer.metrics._rates import equal_error_rate, verification_pairs
from skeer.plotting._axes import _finish, _new_axes
from skeer.plotting._estimator import _from_estimator, _from_estimator_doc


class ScoreDistributionDisplay:
    """Histograms of genuine and impostor scores, scikit-learn Display style.

    Both on shared bins (densities by default), with the decision threshold.

    Parameters
    ----------
    bin_edges : ndarray of shape (n_bins + 1,)
        Edges of the bins shared by both histograms.
    genuine_counts, impostor_counts : ndarray of shape (n_bins,)
        Number of genuine and impostor scores in each bin.
    threshold : float, default=None
        Decision threshold (accept when ``score >= threshold``), drawn.
    threshold_label : str, default="threshold"
        What the threshold is, for the legend (e.g. ``"EER threshold"``).
    name : str, default=None
        Name of the system, prefixed to the legend entries.

    Attributes
    ----------
    genuine_, impostor_ : matplotlib.patches.StepPatch
        The histograms.
    threshold_line_ : matplotlib.lines.Line2D or None
        The threshold.
    ax_ : matplotlib.axes.Axes
    figure_ : matplotlib.figure.Figure

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
    >>> int(d.genuine_counts.sum()), d.threshold_line_.get_label()
    (500, 'EER threshold (0.986)')
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
        y_true, y_score, labels
            As in :func:`~skeer.metrics.equal_error_rate`.
        bins : int, str or sequence, default=50
            Shared bins over all scores, as :func:`numpy.histogram_bin_edges` takes.
        threshold : "eer", float or None, default="eer"
            The line drawn: the EER threshold, a given one, or none.
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
        >>> from skeer.plotting import ScoreDistributionDisplay
        >>> d = ScoreDistributionDisplay.from_predictions(
        ...     [0, 0, 1, 1], [0.5, 1.5, 2.5, 3.5], bins=4, threshold=2, density=False)
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
        bins, threshold, name, ax, density
            As in :meth:`from_predictions`.

        Returns
        -------
        display : ScoreDistributionDisplay

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import ScaledManhattan
        >>> from skeer.plotting import ScoreDistributionDisplay
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat(np.arange(10), 20)
        >>> X = rng.normal(size=(10, 6))[y] + 0.7 * rng.normal(size=(200, 6))
        >>> model = ScaledManhattan().fit(X, y)
        >>> d = ScoreDistributionDisplay.from_estimator(
        ...     model, X, y, protocol="closed_set")
        >>> int(d.genuine_counts.sum()), int(d.impostor_counts.sum())
        (200, 1800)
        """
        return _from_estimator(
            cls,
            estimator,
            X,
            y,
            protocol,
            protocol_params,
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
        ax, density
            As in :meth:`from_predictions`.
        name : str, default=None
            Name prefixed to the legend entries; default: ``self.name``.

        Returns
        -------
        display : ScoreDistributionDisplay
            ``self``, with its artists.

        Examples
        --------
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
        ylabel = "density" if density else "comparisons"
        return _finish(self, ax, "score (higher = same person)", ylabel, loc="best")
