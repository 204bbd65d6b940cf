"""KVC-onGoing submissions: score the challenge's (unlabelled) comparison pairs.

Between :func:`~skeer.datasets.load_kvc` and ``make_kvc_submission``.
"""

import os
from pathlib import Path

import numpy as np
from sklearn.utils import _safe_indexing

from skeer._validation import check_positive_int
from skeer.datasets._kvc import _SCENARIOS as SCENARIOS

__all__ = ["find_test_scenarios", "predict_kvc", "score_comparisons"]


def score_comparisons(model, X, pairs, *, batch_size=2048, verbose=0):
    """Score pairs of sessions: cosine similarity of their embeddings.

    Every session is embedded once (in batches) and L2-normalised.

    Parameters
    ----------
    model : object
        A fitted object whose ``transform`` returns embeddings.
    X : sequence of length n_sessions
        The sessions, e.g. ``load_kvc(...).test_data``.
    pairs : array-like of shape (n_pairs, 2), int
        Indices into ``X``, e.g. ``load_kvc(...).comparison_index``.
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
        If ``pairs`` is not (n, 2) indices into ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.evaluation._kvc import score_comparisons
    >>> class Identity:  # any fitted transformer that returns embeddings
    ...     def transform(self, X):
    ...         return np.asarray(X, dtype=float)
    >>> X = [[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]]
    >>> score_comparisons(Identity(), X, [[0, 1], [0, 2]]).tolist()
    [1.0, 0.0]
    """
    check_positive_int(batch_size, "batch_size")
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


def _folder(path):
    """``path`` as a Path; FileNotFoundError if it does not exist."""
    folder = Path(os.fspath(path)).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"no such folder: {str(folder)!r}")
    return folder


def _test_files(folder, scenario):
    """The scenario's test-session and comparison files, or None for a missing one."""
    return [  # the release's layouts: in the folder or its {scenario}/ sub-folder
        next((c for c in (folder / n, folder / scenario / n) if c.is_file()), None)
        for n in (f"{scenario}_test_sessions.npy", f"{scenario}_comparisons.txt")
    ]


def find_test_scenarios(path):
    """The scenarios of a KVC-onGoing release folder with test sessions and comparisons.

    Parameters
    ----------
    path : str or path-like
        The release folder.

    Returns
    -------
    scenarios : list of str
        ``"desktop"`` and/or ``"mobile"``, in that order; empty if none.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    NotADirectoryError
        If ``path`` is not a folder.

    Examples
    --------
    >>> import tempfile
    >>> from skeer.datasets._testing import write_kvc_files
    >>> from skeer.evaluation._kvc import find_test_scenarios
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_kvc_files(folder, "mobile", n_users=2, n_sessions=2, n_test=3)
    >>> find_test_scenarios(folder)
    ['mobile']
    """
    folder = _folder(path)
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {str(folder)!r}")
    return [s for s in SCENARIOS if all(_test_files(folder, s))]


def predict_kvc(model, path, *, scenarios=None, batch_size=2048, verbose=0):
    """Score the test comparisons of a KVC-onGoing release, scenario by scenario.

    The result is what :func:`~skeer.datasets.make_kvc_submission` zips.

    Parameters
    ----------
    model : object or dict of str to object
        As in :func:`score_comparisons`, or one per scenario.
    path : str or path-like
        The release folder (as :func:`~skeer.datasets.load_kvc` takes it).
    scenarios : str, sequence of str or None, default=None
        ``"desktop"``, ``"mobile"`` or both. None: the keys of a dict
        ``model``, else every scenario :func:`find_test_scenarios` finds.
    batch_size, verbose
        As in :func:`score_comparisons`.

    Returns
    -------
    predictions : dict of str to ndarray of shape (n_comparisons,)
        Per scenario (desktop first), one similarity per comparison, in order.

    Raises
    ------
    ValueError
        If a scenario is unknown, has no model or none can be scored.
    FileNotFoundError
        If ``path`` or a scenario's test files are missing.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skeer.datasets._testing import write_kvc_files
    >>> from skeer.evaluation._kvc import predict_kvc
    >>> class MeanTimes:  # any fitted transformer that returns embeddings
    ...     def transform(self, X):
    ...         return np.array([[s[:, 1].mean() - s[:, 0].mean(), 1.0] for s in X])
    >>> folder = tempfile.mkdtemp()
    >>> truth = write_kvc_files(folder, "desktop", n_users=2, n_sessions=2, n_test=4)
    >>> predictions = predict_kvc(MeanTimes(), folder)
    >>> list(predictions), predictions["desktop"].shape
    (['desktop'], (6,))
    """
    from skeer.datasets import load_kvc

    if scenarios is None:
        scenarios = list(model) if isinstance(model, dict) else None
    elif isinstance(scenarios, str):
        scenarios = [scenarios]
    if scenarios is None:
        scenarios = find_test_scenarios(path)
        if not scenarios:
            raise ValueError(
                f"{str(path)!r} holds no scenario to score: no "
                "{desktop,mobile}_test_sessions.npy with its _comparisons.txt"
            )
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown or not scenarios:
        raise ValueError(f"scenarios must be among {list(SCENARIOS)}, got {scenarios}")
    if isinstance(model, dict):
        missing = [s for s in scenarios if s not in model]
        if missing:
            raise ValueError(f"no model for scenario(s) {missing}")
    folder = _folder(path)
    predictions = {}
    for scenario in (s for s in SCENARIOS if s in scenarios):
        if folder.is_dir() and not all(_test_files(folder, scenario)):
            raise FileNotFoundError(
                f"{str(folder)!r} lacks {scenario}_test_sessions.npy or "
                f"{scenario}_comparisons.txt"
            )
        kvc = load_kvc(folder, scenario=scenario)
        scenario_model = model[scenario] if isinstance(model, dict) else model
        predictions[scenario] = score_comparisons(
            scenario_model,
            kvc.test_data,
            kvc.comparison_index,
            batch_size=batch_size,
            verbose=verbose,
        )
    return predictions
