"""Plots of verification results: DET curves, training and convergence curves.

matplotlib is optional (``pip install skeer[plots]``); it is imported inside
the functions, so importing this module never needs it. Every function draws
on the ``ax`` it is given (or on a new figure's axes) and returns the axes,
so several curves can share one plot and the caller decides how to save it.
"""

import numbers

import numpy as np

from .metrics import det_points, equal_error_rate

__all__ = ["plot_det", "plot_training", "plot_convergence"]

#: Rates (fractions) labelled on the DET axes, shown in percent.
DET_TICKS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
#: Visible range of both DET axes (fractions).
DET_LIMITS = (0.0005, 0.5)
# rates of exactly 0 or 1 map to +-6 standard deviations: far off the axes,
# so a curve that reaches them leaves the plot at its edge instead of breaking
_RATE_CLIP = 1e-9


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


def _set_probit_axes(ax):
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("function", functions=(_probit, _probit_inverse))
    ax.set_yscale("function", functions=(_probit, _probit_inverse))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(FixedLocator(DET_TICKS))
        axis.set_major_formatter(FuncFormatter(_percent_label))
        axis.set_minor_locator(NullLocator())


def plot_det(y_true, y_score, *, ax=None, label=None, mark_eer=True):
    """Plot a DET curve (FNMR against FMR) on normal-deviate (probit) axes.

    The Detection Error Trade-off curve of Martin et al. (1997): both error
    rates are drawn on a probit scale, where the curve of two Gaussian score
    distributions is a straight line. Both axes are labelled in percent
    (0.1 % to 40 %). Call it several times with the same ``ax`` to compare
    systems; the ``FMR = FNMR`` diagonal is drawn once per axes.

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
    >>> [t.get_text() for t in ax.get_xticklabels()][:3]
    ['0.1%', '0.5%', '1%']
    """
    fmr, fnmr, _ = det_points(y_true, y_score)
    eer = float(equal_error_rate(y_true, y_score))
    ax = _new_axes(ax, figsize=(5.0, 5.0))
    if not any(line.get_gid() == "skeer-det-diagonal" for line in ax.lines):
        ax.plot(
            DET_LIMITS,
            DET_LIMITS,
            color="0.6",
            linestyle=":",
            linewidth=1,
            gid="skeer-det-diagonal",
            label="_FMR = FNMR",
        )
        _set_probit_axes(ax)
        ax.set_xlim(*DET_LIMITS)
        ax.set_ylim(*DET_LIMITS)
        ax.set_xlabel("False match rate (FMR)")
        ax.set_ylabel("False non-match rate (FNMR)")
        ax.grid(True, color="0.9")
        ax.set_aspect("equal", adjustable="box")
    text = f"EER {100 * eer:.2f}%"
    (curve,) = ax.plot(
        np.asarray(fmr, dtype=float),
        np.asarray(fnmr, dtype=float),
        label=text if label is None else f"{label} ({text})",
        linewidth=1.8,
    )
    if mark_eer:
        point = float(np.clip(eer, _RATE_CLIP, 1 - _RATE_CLIP))
        ax.plot(
            [point],
            [point],
            marker="o",
            markersize=6,
            color=curve.get_color(),
            linestyle="none",
            label="_EER",
        )
        ax.annotate(
            text,
            (point, point),
            xytext=(8, -4),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize="small",
            color=curve.get_color(),
        )
    # good systems leave the lower left of a DET plot empty
    ax.legend(loc="lower left", fontsize="small")
    return ax


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


def plot_training(history, *, ax=None):
    """Plot the training loss and the validation EER per epoch.

    The losses (``train_loss`` and, if recorded, ``valid_loss``) are drawn on
    ``ax`` and the validation EER (``valid_eer``, in percent) on a twin y-axis
    to the right.

    Parameters
    ----------
    history : skorch History, list of dict or dict of list
        Per-epoch records as in ``KeystrokeVerifier.history`` (or as written
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
    cols = _history_columns(history)
    if not cols.get("train_loss"):
        raise ValueError("history must hold 'train_loss' for at least one epoch.")
    ax = _new_axes(ax, figsize=(6.0, 4.0))
    train = _as_float(cols["train_loss"])
    epochs = np.arange(1, len(train) + 1)
    if "epoch" in cols and len(cols["epoch"]) == len(train):
        epochs = _as_float(cols["epoch"])
    handles = []
    handles += ax.plot(epochs, train, color="C0", marker=".", label="train loss")
    valid_loss = _as_float(cols.get("valid_loss", []))
    if valid_loss.size and np.isfinite(valid_loss).any():
        handles += ax.plot(
            epochs, valid_loss, color="C0", linestyle="--", label="validation loss"
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(True, color="0.9")
    ax.right_ax = None
    valid_eer = _as_float(cols.get("valid_eer", []))
    if valid_eer.size and np.isfinite(valid_eer).any():
        from matplotlib.ticker import FormatStrFormatter

        right = ax.twinx()
        handles += right.plot(
            epochs, 100 * valid_eer, color="C3", marker=".", label="validation EER"
        )
        best = int(np.nanargmin(valid_eer))
        right.plot(
            [epochs[best]],
            [100 * valid_eer[best]],
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
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(handles=handles, loc="upper right", fontsize="small")
    return ax


def plot_convergence(curves, *, ax=None):
    """Plot validation EER per epoch, one line per label (e.g. per loss).

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
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must be a non-empty dict label -> list of EERs.")
    ax = _new_axes(ax, figsize=(6.0, 4.0))
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
        epochs = np.arange(1, length + 1)
        counts = np.isfinite(table).sum(axis=0)
        filled = np.where(np.isfinite(table), table, 0.0)
        mean = np.divide(
            filled.sum(axis=0),
            counts,
            out=np.full(length, np.nan),
            where=counts > 0,
        )
        (line,) = ax.plot(epochs, 100 * mean, marker=".", label=str(label))
        if len(runs) > 1:
            lo = np.where(
                counts > 0, np.where(np.isfinite(table), table, np.inf).min(0), np.nan
            )
            hi = np.where(
                counts > 0, np.where(np.isfinite(table), table, -np.inf).max(0), np.nan
            )
            ax.fill_between(
                epochs, 100 * lo, 100 * hi, color=line.get_color(), alpha=0.15
            )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation EER (%)")
    ax.grid(True, color="0.9")
    ax.legend(loc="upper right", fontsize="small")
    return ax
