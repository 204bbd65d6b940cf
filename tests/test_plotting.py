"""Tests of skeer.plotting (Agg backend, no display)."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from scipy.stats import norm  # noqa: E402

from skeer.metrics import det_points, equal_error_rate  # noqa: E402
from skeer.plotting import plot_convergence, plot_det, plot_training  # noqa: E402


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
    assert labels == ["0.1%", "0.5%", "1%", "2%", "5%", "10%", "20%", "40%"]
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
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
