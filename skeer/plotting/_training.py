"""Training curves: :class:`TrainingDisplay`, :class:`ConvergenceDisplay`, one-calls."""

import numbers
import warnings

import numpy as np

from skeer.plotting._axes import _finish, _new_axes
from skeer.plotting._estimator import _final_step

_NAN_STATS = (np.nanmean, np.nanmin, np.nanmax)


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
    out = [float(v) if isinstance(v, numbers.Real) else np.nan for v in values]
    return np.asarray(out, dtype=float)


class TrainingDisplay:
    """Training loss and validation EER per epoch, scikit-learn Display style.

    The losses on the axes, the validation EER (in percent) on a twin y-axis to
    the right, its best epoch starred.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers.
    train_loss : ndarray of shape (n_epochs,)
        Training loss per epoch.
    valid_loss, valid_eer : ndarray of shape (n_epochs,), default=None
        Validation loss and EER (a fraction) per epoch, NaN where not recorded.

    Attributes
    ----------
    lines_ : list of matplotlib.lines.Line2D
        The loss lines, then the EER line when drawn.
    ax_ : matplotlib.axes.Axes
        The losses' axes.
    right_ax_ : matplotlib.axes.Axes or None
        The EER's twin axes (None without a validation EER), also ``ax_.right_ax``.
    figure_ : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skeer.plotting import TrainingDisplay
    >>> d = TrainingDisplay(epochs=[1, 2], train_loss=[0.9, 0.4], valid_eer=[0.3, 0.2])
    >>> [line.get_label() for line in d.plot().lines_]
    ['train loss', 'validation EER']
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
            Per-epoch records as in ``KeystrokeVerifier.history_``: ``train_loss``,
            optionally ``epoch``, ``valid_loss`` and ``valid_eer``.
        ax : matplotlib.axes.Axes, default=None
            Axes for the losses; a new figure is made when None.

        Returns
        -------
        display : TrainingDisplay

        Examples
        --------
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
        """Plot the training history (``history_``) of a fitted verifier.

        Parameters
        ----------
        estimator : fitted estimator
            A :class:`~skeer.KeystrokeVerifier` or a ``Pipeline`` ending in one.
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
        >>> from types import SimpleNamespace
        >>> from skeer.plotting import TrainingDisplay
        >>> fitted = SimpleNamespace(history_=[{"train_loss": 0.7}])
        >>> TrainingDisplay.from_estimator(fitted).train_loss.tolist()
        [0.7]
        """
        final = _final_step(estimator)
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

        Examples
        --------
        >>> from skeer.plotting import TrainingDisplay
        >>> d = TrainingDisplay(epochs=[1, 2], train_loss=[0.9, 0.4]).plot()
        >>> d.ax_.get_xlabel(), d.ax_.get_ylabel()
        ('epoch', 'loss')
        """
        ax = _new_axes(ax, figsize=(6.0, 4.0))
        epochs = np.asarray(self.epochs, dtype=float)
        lines = ax.plot(
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
        ax.right_ax = right
        self.lines_ = lines
        self.right_ax_ = right
        return _finish(
            self, ax, "epoch", "loss", epochs=True, handles=lines, loc="upper right"
        )


class ConvergenceDisplay:
    """Validation EER per epoch of several runs, scikit-learn Display style.

    One line per label (e.g. per loss): the mean of its runs (seeds) per epoch,
    with a band from the lowest to the highest run when several.

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

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skeer.plotting import ConvergenceDisplay
    >>> d = ConvergenceDisplay(curves={"a": (np.array([0.2, 0.1]), None, None)})
    >>> d.plot().lines_["a"].get_ydata().tolist()
    [20.0, 10.0]
    """

    def __init__(self, *, curves):
        self.curves = curves

    @classmethod
    def from_curves(cls, curves, *, ax=None):
        """Plot per-epoch EERs of labelled runs.

        Parameters
        ----------
        curves : dict
            ``label -> curve``: validation EERs per epoch, or a list of them per seed
            (lengths may differ), as :meth:`skeer.evaluation.LossComparison.curves`.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; a new figure is made when None.

        Returns
        -------
        display : ConvergenceDisplay

        Examples
        --------
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
            if runs and not isinstance(runs[0], list | tuple | np.ndarray):
                runs = [runs]
            length = max((len(r) for r in runs), default=0)
            if length == 0:
                raise ValueError(f"curves[{label!r}] is empty.")
            table = np.full((len(runs), length), np.nan)
            for i, run in enumerate(runs):
                table[i, : len(run)] = _as_float(run)
            table[~np.isfinite(table)] = np.nan
            with warnings.catch_warnings():  # an epoch no run recorded: NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, low, high = (f(table, axis=0) for f in _NAN_STATS)
            summary[label] = (mean, low, high) if len(runs) > 1 else (mean, None, None)
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

        Examples
        --------
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
        return _finish(
            self, ax, "epoch", "validation EER (%)", epochs=True, loc="upper right"
        )


def plot_training(history, *, ax=None):
    """Plot the training loss and the validation EER per epoch.

    The one-call form of :class:`TrainingDisplay`.

    Parameters
    ----------
    history, ax
        As in :meth:`TrainingDisplay.from_history`.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The losses' axes; ``ax.right_ax``: the validation EER's twin (or None).

    Examples
    --------
    >>> from skeer.plotting import plot_training
    >>> ax = plot_training([{"train_loss": 0.8, "valid_eer": 0.3},
    ...                     {"train_loss": 0.6, "valid_eer": 0.22}])
    >>> ax.right_ax.lines[0].get_ydata().tolist()
    [30.0, 22.0]
    """
    return TrainingDisplay.from_history(history, ax=ax).ax_


def plot_convergence(curves, *, ax=None):
    """Plot validation EER per epoch, one line per label (e.g. per loss).

    The one-call form of :class:`ConvergenceDisplay`.

    Parameters
    ----------
    curves, ax
        As in :meth:`ConvergenceDisplay.from_curves`.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One line per label (EER in percent on the y-axis).

    Examples
    --------
    >>> from skeer.plotting import plot_convergence
    >>> ax = plot_convergence({"eer-area": [[0.3, 0.2, 0.1], [0.3, 0.25]]})
    >>> ax.lines[0].get_ydata().round(1).tolist()
    [30.0, 22.5, 10.0]
    """
    return ConvergenceDisplay.from_curves(curves, ax=ax).ax_
