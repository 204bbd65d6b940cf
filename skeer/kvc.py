"""KVC-onGoing submissions: score the challenge's comparison pairs with a model.

The KVC-onGoing release ships unlabelled test sessions and a list of pairs of
them to score (:func:`~skeer.datasets.load_kvc` reads both); a submission is
one score per pair, higher meaning more likely the same person, written with
:func:`~skeer.datasets.write_kvc_predictions`. This module does the scoring
in between. It lives outside :mod:`skeer.datasets` because it runs a fitted
model (loaders only read files), and outside :mod:`skeer.protocols` because
the pairs carry no labels: nothing is judged here. Nothing here imports torch.
"""

import numbers

import numpy as np
from sklearn.utils import _safe_indexing

__all__ = ["score_comparisons"]


def score_comparisons(model, X, pairs, *, batch_size=2048, verbose=0):
    """Score pairs of sessions: cosine similarity of their embeddings.

    Every session is embedded once (in batches), then each pair ``(a, b)``
    gets the dot product of the L2-normalised embeddings of ``X[a]`` and
    ``X[b]``.

    Parameters
    ----------
    model : object
        A fitted object whose ``transform`` returns embeddings, e.g. a
        :class:`~sklearn.pipeline.Pipeline` of
        :class:`~skeer.features.KeystrokeFeatures` and a fitted
        :class:`~skeer.verifier.KeystrokeVerifier`, as
        :func:`skeer.persistence.load` returns it.
    X : sequence of length n_sessions
        The sessions the pairs refer to, e.g. ``load_kvc(...).test_data``.
    pairs : array-like of shape (n_pairs, 2), int
        Indices into ``X`` of the two sessions of each comparison, e.g.
        ``load_kvc(...).comparison_index``.
    batch_size : int, default=2048
        Sessions embedded per call to ``model.transform``.
    verbose : int, default=0
        If positive, show a progress bar (on stderr) over the sessions.

    Returns
    -------
    scores : ndarray of shape (n_pairs,), dtype float64
        The similarity of each pair, in the order of ``pairs``.

    Raises
    ------
    ValueError
        If ``pairs`` is not of shape (n, 2) or holds an index outside ``X``,
        or ``batch_size`` is not a positive integer.

    See Also
    --------
    skeer.datasets.load_kvc : Reads the test sessions and the pairs.
    skeer.datasets.write_kvc_predictions : Writes the submission file.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.kvc import score_comparisons
    >>> class Identity:  # any fitted transformer that returns embeddings
    ...     def transform(self, X):
    ...         return np.asarray(X, dtype=float)
    >>> X = [[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]]
    >>> score_comparisons(Identity(), X, [[0, 1], [0, 2]]).tolist()
    [1.0, 0.0]
    """
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    pairs = np.asarray(pairs)
    if pairs.size == 0:
        pairs = np.empty((0, 2), dtype=np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
        raise ValueError(
            f"pairs must be integer indices of shape (n_pairs, 2), got an array of "
            f"shape {pairs.shape} and dtype {pairs.dtype}."
        )
    n = len(X)
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n):
        raise ValueError(f"pairs index outside the {n} sessions of X.")

    from tqdm.auto import tqdm

    parts = []
    with tqdm(
        total=n,
        desc="embedding",
        unit="session",
        leave=False,
        disable=not verbose,
        dynamic_ncols=True,
    ) as bar:
        for start in range(0, n, batch_size):
            rows = np.arange(start, min(start + batch_size, n))
            parts.append(np.asarray(model.transform(_safe_indexing(X, rows))))
            bar.update(len(rows))
    if not parts:
        return np.zeros(len(pairs), dtype=np.float64)
    emb = np.concatenate(parts).astype(np.float64)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    emb /= np.where(norms > 0, norms, 1.0)
    return np.einsum("ij,ij->i", emb[pairs[:, 0]], emb[pairs[:, 1]])
