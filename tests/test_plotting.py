"""Tests of skeer.plotting (Agg backend, no display)."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from scipy.stats import norm  # noqa: E402

from skeer.metrics import (  # noqa: E402
    det_points,
    equal_error_rate,
    fnmr_at_fmr,
    verification_pairs,
)
from skeer.plotting import (  # noqa: E402
    ConvergenceDisplay,
    ScoreDistributionDisplay,
    TrainingDisplay,
    VerificationDETDisplay,
    plot_convergence,
    plot_det,
    plot_training,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(300), np.zeros(3000)].astype(int)
    s = np.r_[rng.normal(2.0, 1.0, 300), rng.normal(0.0, 1.0, 3000)]
    return y, s


def test_plot_det_axes_and_data(scores, tmp_path):
    y, s = scores
    ax = plot_det(y, s, label="A")
    # probit (normal-deviate) scale on both axes
    assert ax.get_xscale() == "function" and ax.get_yscale() == "function"
    for axis in (ax.xaxis, ax.yaxis):
        t = axis.get_transform()
        assert t.transform(np.array([0.5]))[0] == pytest.approx(0.0, abs=1e-9)
        assert t.transform(np.array([norm.cdf(-1.0)]))[0] == pytest.approx(-1.0)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    # the axes grew to show the curve's ends (up to 99.5 %); the labels make
    # way by priority, the main ones stay
    assert {"0.1%", "1%", "10%", "40%"} <= set(labels)
    assert labels == sorted(labels, key=lambda s: float(s[:-1]))
    assert {"0.1%", "1%", "10%", "40%"} <= {t.get_text() for t in ax.get_yticklabels()}
    assert 0.5 <= ax.get_xlim()[1] <= 0.995 and 0.5 <= ax.get_ylim()[1] <= 0.995
    assert "FMR" in ax.get_xlabel() and "FNMR" in ax.get_ylabel()
    # diagonal, curve, EER marker
    assert len(ax.lines) == 3
    fmr, fnmr, _ = det_points(y, s)
    curve = ax.lines[1]
    np.testing.assert_allclose(curve.get_xdata(), fmr)
    np.testing.assert_allclose(curve.get_ydata(), fnmr)
    eer = equal_error_rate(y, s)
    marker = ax.lines[2]
    assert marker.get_xdata()[0] == pytest.approx(eer)
    assert marker.get_ydata()[0] == pytest.approx(eer)
    assert any(f"{100 * eer:.2f}%" in t.get_text() for t in ax.texts)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"A (EER {100 * eer:.2f}%)"]
    path = tmp_path / "det.png"
    ax.figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_det_several_curves_share_axes(scores):
    y, s = scores
    ax = plot_det(y, s, label="A")
    same = plot_det(
        y,
        0.5 * s + np.random.default_rng(1).normal(size=len(s)),
        ax=ax,
        label="B",
        mark_eer=False,
    )
    assert same is ax
    # one diagonal, two curves, one EER marker
    assert len(ax.lines) == 4
    assert sum(line.get_gid() == "skeer-det-diagonal" for line in ax.lines) == 1
    assert len(ax.get_legend().get_texts()) == 2


def test_plot_det_worse_system_lies_above(scores):
    y, s = scores
    rng = np.random.default_rng(2)
    noisy = s + 2 * rng.normal(size=len(s))
    ax = plot_det(y, s)
    plot_det(y, noisy, ax=ax)
    good, bad = ax.lines[1], ax.lines[3]

    def fnmr_at(line, fmr):
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        order = np.lexsort((y, x))
        return np.interp(fmr, x[order], y[order])

    # at 10 % FMR the noisier system misses more
    assert fnmr_at(bad, 0.1) > fnmr_at(good, 0.1) + 0.05


def test_plot_det_without_matplotlib(monkeypatch, scores):
    y, s = scores
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install skeer\[plots\]"):
        plot_det(y, s)


def test_plot_training_skorch_history():
    from skorch.history import History

    history = History()
    for loss, vloss, eer in [(0.9, 0.95, 0.4), (0.7, 0.8, 0.25), (0.6, 0.82, 0.3)]:
        history.new_epoch()
        history.record("epoch", len(history))
        history.record("train_loss", loss)
        history.record("valid_loss", vloss)
        history.record("valid_eer", eer)
    ax = plot_training(history)
    assert [line.get_label() for line in ax.lines] == ["train loss", "validation loss"]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.9, 0.7, 0.6])
    right = ax.right_ax
    assert right is not None and right in ax.figure.axes
    np.testing.assert_allclose(right.lines[0].get_ydata(), [40.0, 25.0, 30.0])
    # the best epoch is starred
    assert right.lines[1].get_xdata()[0] == 2
    assert "EER" in right.get_ylabel() and ax.get_xlabel() == "epoch"


def test_plot_training_columns_and_errors():
    ax = plot_training({"train_loss": [1.0, 0.5]})
    assert ax.right_ax is None
    assert len(ax.lines) == 1
    with pytest.raises(ValueError, match="train_loss"):
        plot_training([{"valid_eer": 0.3}])
    with pytest.raises(ValueError, match="history"):
        plot_training([1, 2, 3])


def test_plot_convergence_mean_over_ragged_seeds():
    curves = {
        "eer-area": [[0.4, 0.2, 0.1], [0.2, 0.1]],
        "triplet": [0.5, 0.4, 0.35, 0.3],
    }
    ax = plot_convergence(curves)
    assert [line.get_label() for line in ax.lines] == ["eer-area", "triplet"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [30.0, 15.0, 10.0])
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [50.0, 40.0, 35.0, 30.0])
    # a min-max band only for the label with several seeds
    assert len(ax.collections) == 1
    assert "EER" in ax.get_ylabel()


def test_plot_convergence_errors():
    with pytest.raises(ValueError, match="non-empty"):
        plot_convergence({})
    with pytest.raises(ValueError, match="empty"):
        plot_convergence({"a": []})


# --------------------------------------------------------------------------
# VerificationDETDisplay


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_det_display_artists_and_eer_marker(scores):
    y, s = scores
    d = VerificationDETDisplay.from_predictions(y, s, name="A")
    assert isinstance(d, VerificationDETDisplay)
    assert d.ax_.figure is d.figure_ and d.line_ in d.ax_.lines
    fmr, fnmr, _ = det_points(y, s)
    np.testing.assert_array_equal(d.fmr, fmr)
    np.testing.assert_array_equal(d.line_.get_xdata(), fmr)
    np.testing.assert_array_equal(d.line_.get_ydata(), fnmr)
    eer = equal_error_rate(y, s)
    assert d.eer == eer
    # the marker sits at (EER, EER) in data coordinates (rates) ...
    np.testing.assert_allclose(d.eer_marker_.get_xydata(), [[eer, eer]])
    assert d.eer_marker_.get_color() == d.line_.get_color()
    # ... which is on the curve: the probit-space segment crossing the diagonal
    z = norm.ppf(np.clip(np.c_[fmr, fnmr], 1e-9, 1 - 1e-9))
    k = int(np.flatnonzero(z[:, 1] - z[:, 0] >= 0)[0])
    (x0, y0), (x1, y1) = z[k - 1], z[k]
    lam = (y0 - x0) / ((y0 - x0) - (y1 - x1))
    assert norm.cdf(x0 + lam * (x1 - x0)) == pytest.approx(eer, abs=2e-3)
    # rendered at the same place as the curve's own transform puts (eer, eer)
    d.figure_.canvas.draw()
    pix = d.ax_.transData.transform([[eer, eer]])[0]
    marker_pix = d.eer_marker_.get_transform().transform(d.eer_marker_.get_xydata())
    np.testing.assert_allclose(marker_pix[0], pix)
    assert d.operating_points is None and d.operating_points_marker_ is None
    assert _legend(d.ax_) == [f"A (EER {100 * eer:.2f}%)"]


def test_det_display_operating_points(scores):
    y, s = scores
    levels = [0.01, 0.1]
    d = VerificationDETDisplay.from_predictions(y, s, name="A", fmr_levels=levels)
    expected = fnmr_at_fmr(y, s, fmr=levels)
    assert list(d.operating_points) == levels
    for (level, (fmr, fnmr)), want in zip(d.operating_points.items(), expected):
        assert fnmr == want
        assert fmr <= level
        # a vertex of the curve
        assert any((d.fmr == fmr) & (d.fnmr == fnmr))
    np.testing.assert_allclose(
        d.operating_points_marker_.get_xydata(), list(d.operating_points.values())
    )
    guides = [
        line for line in d.ax_.lines if str(line.get_gid()).startswith("skeer-det-fmr")
    ]
    assert sorted(line.get_xdata()[0] for line in guides) == levels
    label = _legend(d.ax_)[0]
    assert f"FNMR {100 * expected[0]:.2f}% @ FMR 1%" in label
    assert f"{100 * expected[1]:.2f}% @ 10%" in label
    # a second system with the same levels reuses the guide lines
    VerificationDETDisplay.from_predictions(y, s * 0.5, fmr_levels=levels, ax=d.ax_)
    guides = [
        line for line in d.ax_.lines if str(line.get_gid()).startswith("skeer-det-fmr")
    ]
    assert len(guides) == 2


def test_det_display_overlays_several_systems(scores):
    y, s = scores
    rng = np.random.default_rng(3)
    first = VerificationDETDisplay.from_predictions(y, s, name="A")
    second = VerificationDETDisplay.from_predictions(
        y, s + rng.normal(size=len(s)), name="B", ax=first.ax_
    )
    fmr, fnmr, _ = det_points(y, s - 1.5 * rng.normal(size=len(s)))
    third = VerificationDETDisplay(fmr=fmr, fnmr=fnmr, name="C").plot(ax=first.ax_)
    ax = first.ax_
    assert second.ax_ is ax and third.ax_ is ax
    assert sum(line.get_gid() == "skeer-det-diagonal" for line in ax.lines) == 1
    curves = [first.line_, second.line_, third.line_]
    assert all(c in ax.lines for c in curves)
    assert len({c.get_color() for c in curves}) == 3
    legend = _legend(ax)
    assert len(legend) == 3 and legend[0].startswith("A (EER")
    assert legend[1].startswith("B (EER") and legend[2] == "C"
    assert third.eer_marker_ is None  # no EER given to the constructor


def _tick_label_boxes(ax, which):
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    labels = ax.get_xticklabels() if which == "x" else ax.get_yticklabels()
    shown = [t for t in labels if t.get_visible() and t.get_text()]
    return [t.get_text() for t in shown], [t.get_window_extent(renderer) for t in shown]


@pytest.mark.parametrize(
    "figsize, dpi, fontsize",
    [
        ((5.0, 5.0), 100, None),
        ((5.5, 5.5), 100, None),  # the command line's DET figure
        ((3.0, 3.0), 100, None),
        ((2.5, 2.5), 150, None),
        ((4.0, 3.0), 200, None),
        ((5.0, 5.0), 100, 16),
    ],
)
def test_det_tick_labels_never_overlap(scores, figsize, dpi, fontsize):
    y, s = scores
    sizes = (
        {}
        if fontsize is None
        else {"xtick.labelsize": fontsize, "ytick.labelsize": fontsize}
    )
    with matplotlib.rc_context(sizes):
        _, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")
        plot_det(y, s, ax=ax, label="A")
        for which in ("x", "y"):
            texts, boxes = _tick_label_boxes(ax, which)
            assert "1%" in texts and "10%" in texts  # the first to be kept
            assert len(texts) >= 3
            for a, b in itertools.combinations(boxes, 2):
                assert not a.overlaps(b), (which, texts)
            # in order along the axis, with room between neighbours
            starts = [b.x0 if which == "x" else b.y0 for b in boxes]
            assert starts == sorted(starts)


def test_det_tick_labels_at_default_size(scores):
    y, s = scores
    ax = plot_det(y, s)
    texts, boxes = _tick_label_boxes(ax, "x")
    assert {"0.1%", "1%", "10%", "40%"} <= set(texts)
    gaps = [b.x0 - a.x1 for a, b in zip(boxes, boxes[1:])]
    assert min(gaps) > 5  # pixels
    # 0.5 % and 2 % keep a grid line without a label
    minor = ax.xaxis.get_minorticklocs()
    assert any(np.isclose(minor, 0.005)) and any(np.isclose(minor, 0.02))


def test_det_display_from_estimator_protocols():
    from skeer.baselines import ScaledManhattan

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(12), 20)
    X = rng.normal(size=(12, 6))[y] + 0.8 * rng.normal(size=(240, 6))
    open_set = VerificationDETDisplay.from_estimator(ScaledManhattan(), X, y)
    assert open_set.line_.get_label().startswith("ScaledManhattan (EER")
    # 12 subjects x 5 genuine probes, 12 x 11 impostor probes
    assert 0 < open_set.eer < 0.5
    model = ScaledManhattan().fit(X, y)
    closed = VerificationDETDisplay.from_estimator(
        model, X, y, protocol="closed_set", name="closed", fmr_levels=[0.1]
    )
    y_bin, sc = verification_pairs(y, model.decision_function(X), labels=model.classes_)
    assert closed.eer == equal_error_rate(y_bin, sc)
    np.testing.assert_array_equal(closed.fmr, det_points(y_bin, sc)[0])
    fixed = VerificationDETDisplay.from_estimator(
        ScaledManhattan(), X, y, protocol="fixed_text",
        protocol_params={"n_train": 10, "n_impostor_reps": 2}, ax=closed.ax_,
    )  # fmt: skip
    assert fixed.ax_ is closed.ax_ and len(_legend(closed.ax_)) == 2
    with pytest.raises(ValueError, match="protocol must be one of"):
        VerificationDETDisplay.from_estimator(model, X, y, protocol="closed")
    with pytest.raises(ValueError, match="protocol_params are for"):
        VerificationDETDisplay.from_estimator(
            model, X, y, protocol="closed_set", protocol_params={"n_enroll": 3}
        )
    with pytest.raises(ValueError, match="decision_function"):
        VerificationDETDisplay.from_estimator(object(), X, y, protocol="closed_set")


def test_det_display_pipeline_name():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skeer.baselines import ScaledManhattan

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(6), 12)
    X = rng.normal(size=(6, 4))[y] + 0.5 * rng.normal(size=(72, 4))
    pipe = make_pipeline(StandardScaler(), ScaledManhattan()).fit(X, y)
    d = VerificationDETDisplay.from_estimator(pipe, X, y, protocol="closed_set")
    assert d.line_.get_label().startswith("ScaledManhattan")


# --------------------------------------------------------------------------
# ScoreDistributionDisplay


def test_score_distribution_display(scores):
    y, s = scores
    d = ScoreDistributionDisplay.from_predictions(y, s, bins=30, name="A")
    assert d.genuine_counts.sum() == 300 and d.impostor_counts.sum() == 3000
    assert len(d.bin_edges) == 31
    assert d.bin_edges[0] == s.min() and d.bin_edges[-1] == s.max()
    np.testing.assert_array_equal(
        d.genuine_counts, np.histogram(s[y == 1], bins=d.bin_edges)[0]
    )
    # densities: each histogram has unit area, on the shared bins
    widths = np.diff(d.bin_edges)
    for artist in (d.genuine_, d.impostor_):
        values, edges = artist.get_data().values, artist.get_data().edges
        np.testing.assert_array_equal(edges, d.bin_edges)
        assert (values * widths).sum() == pytest.approx(1.0)
    _, threshold = equal_error_rate(y, s, return_threshold=True)
    assert d.threshold == threshold
    assert d.threshold_line_.get_xdata()[0] == threshold
    legend = _legend(d.ax_)
    assert legend == [
        "A: genuine (300)",
        "A: impostor (3000)",
        f"A: EER threshold ({threshold:.3g})",
    ]
    assert d.ax_.get_ylabel() == "density" and d.figure_ is d.ax_.figure


def test_score_distribution_counts_and_thresholds(scores):
    y, s = scores
    d = ScoreDistributionDisplay.from_predictions(
        y, s, bins=[-5, 0, 5, 10], threshold=1.5, density=False
    )
    assert d.genuine_.get_data().values.tolist() == d.genuine_counts.tolist()
    assert d.threshold_line_.get_xdata()[0] == 1.5
    assert d.threshold_line_.get_label() == "threshold (1.5)"
    assert d.ax_.get_ylabel() == "comparisons"
    none = ScoreDistributionDisplay.from_predictions(y, s, threshold=None)
    assert none.threshold_line_ is None and none.threshold is None
    with pytest.raises(ValueError, match="threshold must be 'eer'"):
        ScoreDistributionDisplay.from_predictions(y, s, threshold="fmr")


def test_score_distribution_from_estimator_closed_set():
    from skeer.baselines import ScaledManhattan

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(8), 15)
    X = rng.normal(size=(8, 5))[y] + 0.6 * rng.normal(size=(120, 5))
    model = ScaledManhattan().fit(X, y)
    d = ScoreDistributionDisplay.from_estimator(
        model, X, y, protocol="closed_set", threshold=model.threshold_
    )
    assert d.genuine_counts.sum() == 120 and d.impostor_counts.sum() == 120 * 7
    assert d.threshold == model.threshold_
    opened = ScoreDistributionDisplay.from_estimator(model, X, y, bins=10)
    assert opened.genuine_counts.sum() == 8 * 5  # n_probe=5 per subject


# --------------------------------------------------------------------------
# training displays, one-call wrappers, optional matplotlib


def test_training_display_from_estimator():
    from types import SimpleNamespace

    from sklearn.pipeline import Pipeline

    history = [
        {"epoch": 1, "train_loss": 0.9, "valid_eer": 0.4},
        {"epoch": 2, "train_loss": 0.5, "valid_eer": 0.3},
    ]
    fitted = SimpleNamespace(history_=history)
    d = TrainingDisplay.from_estimator(fitted)
    assert d.ax_.right_ax is d.right_ax_ is not None
    assert [line.get_label() for line in d.lines_] == ["train loss", "validation EER"]
    pipe = Pipeline([("final", fitted)])  # a Pipeline ending in the verifier
    np.testing.assert_array_equal(
        TrainingDisplay.from_estimator(pipe).train_loss, [0.9, 0.5]
    )
    with pytest.raises(ValueError, match="no training history"):
        TrainingDisplay.from_estimator(SimpleNamespace())


def test_convergence_display_matches_plot_convergence():
    curves = {"eer-area": [[0.4, 0.2, 0.1], [0.2, 0.1]], "triplet": [0.5, 0.4]}
    d = ConvergenceDisplay.from_curves(curves)
    np.testing.assert_allclose(d.curves["eer-area"][0], [0.3, 0.15, 0.1])
    np.testing.assert_allclose(d.curves["eer-area"][1], [0.2, 0.1, 0.1])
    assert d.curves["triplet"][1] is None
    assert list(d.lines_) == ["eer-area", "triplet"]
    ax = plot_convergence(curves)
    for a, b in zip(ax.lines, d.ax_.lines):
        np.testing.assert_array_equal(a.get_ydata(), b.get_ydata())


@pytest.mark.parametrize(
    "draw",
    [
        lambda y, s: VerificationDETDisplay.from_predictions(y, s),
        lambda y, s: ScoreDistributionDisplay.from_predictions(y, s),
        lambda y, s: TrainingDisplay.from_history({"train_loss": [1.0]}),
    ],
)
def test_displays_without_matplotlib(monkeypatch, scores, draw):
    y, s = scores
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install skeer\[plots\]"):
        draw(y, s)


def test_import_needs_neither_matplotlib_nor_torch():
    code = (
        "import sys, skeer.plotting; "
        "sys.exit(('matplotlib' in sys.modules) + 2 * ('torch' in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_pos_label_selects_the_genuine_label_like_scikit_learn():
    y = np.array(["imp"] * 10 + ["gen"] * 10)
    scores = np.arange(20.0)
    scores[[9, 10]] = scores[[10, 9]]
    d = VerificationDETDisplay.from_predictions(y, scores, pos_label="gen")
    assert d.eer == equal_error_rate((y == "gen").astype(int), scores)
    assert d.line_.get_label() != "pos_label"
    with pytest.raises(ValueError, match="pos_label applies to binary labels"):
        VerificationDETDisplay.from_predictions(
            [0, 1], np.eye(2), labels=[0, 1], pos_label=1
        )


def test_det_axes_grow_to_show_the_low_fmr_end_of_a_curve():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(500), np.zeros(5000)].astype(int)
    scores = np.r_[rng.normal(1.0, 1, 500), rng.normal(0, 1, 5000)]
    d = VerificationDETDisplay.from_predictions(y, scores)
    fnmr_at_low_fmr = fnmr_at_fmr(y, scores, fmr=0.001)
    assert fnmr_at_low_fmr > 0.5  # the region a 50 % axis used to cut off
    top = d.ax_.get_ylim()[1]
    assert fnmr_at_low_fmr <= top <= 0.995
    # a second, better curve on the same axes keeps the limits that show both
    VerificationDETDisplay.from_predictions(y, scores * 3, ax=d.ax_)
    assert d.ax_.get_ylim()[1] == top
