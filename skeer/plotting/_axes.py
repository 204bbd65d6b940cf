"""Plot axes: matplotlib on demand, the shared finishing touches, DET probit axes."""

import numpy as np

#: Rates (fractions) labelled on the DET axes, shown in percent, in order of
#: priority: where axes are too small for every label, the later ones make
#: way (see :func:`_det_tick_locator`), so labels never overlap.
DET_TICKS = (0.01, 0.1, 0.001, 0.4, 0.05, 0.2, 0.8, 0.95)
#: Rates with a grid line but no label, between the labelled ones (0.5 %
#: and 1 %, 0.25 normal deviates apart, made labels overlap).
DET_MINOR_TICKS = (0.002, 0.005, 0.02, 0.3, 0.6, 0.9)
#: Visible range of both DET axes (fractions) before anything is drawn; the
#: upper limits grow to show every drawn curve's rates (see
#: :func:`_fit_det_limits`) up to :data:`DET_MAX`.
DET_LIMITS = (0.0005, 0.5)
#: The largest upper limit of a DET axis.
DET_MAX = 0.995
# rates of exactly 0 or 1 map to +-6 standard deviations: far off the axes,
# so a curve that reaches them leaves the plot at its edge instead of breaking
_RATE_CLIP = 1e-9
_DIAGONAL = "skeer-det-diagonal"


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


def _finish(display, ax, xlabel=None, ylabel=None, *, epochs=False, **legend):
    """Labels, grid, epoch ticks and legend as given; set ``ax_``/``figure_``."""
    if epochs:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if xlabel is not None:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, color="0.9")
    if legend:
        ax.legend(fontsize="small", **legend)
    display.ax_ = ax
    display.figure_ = ax.figure
    return display


def _probit(p):
    from scipy.stats import norm

    return norm.ppf(np.clip(np.asarray(p, dtype=float), _RATE_CLIP, 1 - _RATE_CLIP))


def _probit_inverse(z):
    from scipy.stats import norm

    return norm.cdf(z)


def _percent_label(p, _pos=None):
    return f"{100 * p:g}%"


def _det_tick_locator():
    """Place :data:`DET_TICKS` in priority order, skipping labels within 0.4 em."""
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
            measure = TextToPath().get_text_width_height_descent
            sizes = [
                measure(_percent_label(t), prop, ismath=False)[0] * px
                if name == "x"
                else points * px
                for t in ticks
            ]
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
        (DET_LIMITS[0], DET_MAX),
        (DET_LIMITS[0], DET_MAX),
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


def _fit_det_limits(ax, fmr, fnmr):
    """Grow the upper limits (to :data:`DET_MAX`) to the curve's largest shown rate."""
    fmr, fnmr = np.asarray(fmr, dtype=float), np.asarray(fnmr, dtype=float)
    for rates, other, get, set_ in (
        (fnmr, fmr, ax.get_ylim, ax.set_ylim),
        (fmr, fnmr, ax.get_xlim, ax.set_xlim),
    ):
        shown = rates[other >= DET_LIMITS[0]]
        lo, hi = get()
        if shown.size and shown.max() > hi:
            set_(lo, min(DET_MAX, float(shown.max()) * 1.05))
