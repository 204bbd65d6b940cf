"""Tests of :mod:`skeer.evaluation`: scoring the KVC-onGoing comparisons."""

import numpy as np
import pytest

from skeer.datasets import load_kvc
from skeer.datasets._testing import write_kvc_files
from skeer.evaluation import find_test_scenarios, predict_kvc, score_comparisons


class _Embed:
    """A fitted 'model' whose embeddings are the inputs, counting its calls."""

    def __init__(self):
        self.calls = []

    def transform(self, X):
        self.calls.append(len(X))
        return np.asarray(X, dtype=np.float32)


def test_cosine_of_each_pair_in_order():
    rng = np.random.default_rng(0)
    X = list(rng.normal(size=(7, 4)))
    pairs = np.array([[0, 1], [6, 2], [3, 3], [5, 0]])
    model = _Embed()
    scores = score_comparisons(model, X, pairs, batch_size=3)
    assert model.calls == [3, 3, 1]  # every session embedded once, in batches
    Z = np.asarray(X) / np.linalg.norm(X, axis=1, keepdims=True)
    expected = (Z[pairs[:, 0]] * Z[pairs[:, 1]]).sum(axis=1)
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert scores.dtype == np.float64 and scores[2] == pytest.approx(1.0)


def test_no_pairs_and_no_sessions():
    assert score_comparisons(_Embed(), [[1.0, 0.0]], np.empty((0, 2), int)).shape == (
        0,
    )
    assert score_comparisons(_Embed(), [], []).shape == (0,)


@pytest.mark.parametrize(
    "pairs, kwargs, match",
    [
        ([[0, 2]], {}, "outside"),
        ([[0, -1]], {}, "outside"),
        ([0, 1], {}, "shape"),
        ([[0.0, 1.0]], {}, "integer"),
        ([[0, 1]], {"batch_size": 0}, "batch_size"),
    ],
)
def test_invalid_arguments(pairs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        score_comparisons(_Embed(), [[1.0], [2.0]], pairs, **kwargs)


class _MeanTimes:
    """A fitted 'model' embedding a session by its mean hold time and length."""

    def __init__(self, sign=1.0):
        self.sign = sign

    def transform(self, X):
        return np.array(
            [[self.sign * (s[:, 1] - s[:, 0]).mean(), len(s)] for s in X], dtype=float
        )


@pytest.fixture
def release(tmp_path):
    write_kvc_files(tmp_path, "desktop", n_users=2, n_sessions=2, n_test=4)
    write_kvc_files(tmp_path / "mobile", "mobile", n_users=2, n_sessions=2, n_test=3)
    return tmp_path


def test_predict_kvc_scores_every_scenario_found(release):
    assert find_test_scenarios(release) == ["desktop", "mobile"]
    predictions = predict_kvc(_MeanTimes(), release)
    assert list(predictions) == ["desktop", "mobile"]
    for scenario, n_pairs in (("desktop", 6), ("mobile", 3)):
        kvc = load_kvc(release, scenario)
        expected = score_comparisons(_MeanTimes(), kvc.test_data, kvc.comparison_index)
        assert predictions[scenario].shape == (n_pairs,)
        np.testing.assert_array_equal(predictions[scenario], expected)


def test_predict_kvc_one_model_per_scenario(release):
    models = {"mobile": _MeanTimes(-1.0), "desktop": _MeanTimes()}
    predictions = predict_kvc(models, release)
    assert list(predictions) == ["desktop", "mobile"]  # the kit's order
    kvc = load_kvc(release, "mobile")
    expected = score_comparisons(_MeanTimes(-1.0), kvc.test_data, kvc.comparison_index)
    np.testing.assert_array_equal(predictions["mobile"], expected)
    only = predict_kvc(_MeanTimes(), release, scenarios="mobile")
    assert list(only) == ["mobile"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"scenarios": "tablet"}, ValueError, "scenarios"),
        ({"scenarios": []}, ValueError, "scenarios"),
    ],
)
def test_predict_kvc_invalid(release, kwargs, error, match):
    with pytest.raises(error, match=match):
        predict_kvc(_MeanTimes(), release, **kwargs)


def test_predict_kvc_missing_files(tmp_path):
    write_kvc_files(tmp_path, "desktop", n_users=2, n_sessions=2, n_test=3)
    (tmp_path / "desktop_comparisons.txt").unlink()
    assert find_test_scenarios(tmp_path) == []
    with pytest.raises(ValueError, match="no scenario to score"):
        predict_kvc(_MeanTimes(), tmp_path)
    with pytest.raises(FileNotFoundError, match="desktop_comparisons.txt"):
        predict_kvc(_MeanTimes(), tmp_path, scenarios="desktop")
    with pytest.raises(ValueError, match="no model for scenario"):
        predict_kvc({"mobile": _MeanTimes()}, tmp_path, scenarios="desktop")
    with pytest.raises(FileNotFoundError):
        find_test_scenarios(tmp_path / "nope")
