"""Tests of :func:`skeer.kvc.score_comparisons`."""

import numpy as np
import pytest

from skeer.kvc import score_comparisons


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
