"""In-memory datasets and the identity-disjoint validation split (skorch's hooks)."""

import warnings

import numpy as np
import torch
from skorch.dataset import Dataset as SkorchDataset

from skeer._validation import check_real


class ArrayDataset(SkorchDataset):
    """In-memory skorch ``Dataset``; ``balanced``: held-out data batched by identity."""

    def __init__(self, X, y=None, *, balanced=False):
        self.X = X
        self.y = y
        self.balanced = balanced
        self._X = torch.from_numpy(X)
        self._y = None if y is None else torch.from_numpy(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self._X[i], (None if self._y is None else self._y[i])

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self._X[idx], (None if self._y is None else self._y[idx])


def collate_batch(batch):
    """``__getitems__`` already returns a collated ``(X, y)`` batch."""
    return batch


class SubjectSplit:
    """skorch ``train_split``: hold out a share of identities, not of samples.

    Called as ``split(dataset, y)`` with an in-memory dataset and the
    integer identity codes.

    Parameters
    ----------
    validation_size : float in [0, 1), default=0.2
        Share of identities held out; ``0`` holds out none. At least 2 are held
        out and 2 kept; with fewer than 4 identities nothing is held out (with
        a warning).
    random_state : int or None, default=None
        Seeds which identities are held out.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.verifier._data import ArrayDataset, SubjectSplit
    >>> y = np.repeat(np.arange(10), 3)
    >>> ds = ArrayDataset(np.zeros((30, 2), np.float32), y)
    >>> train, valid = SubjectSplit(0.2, random_state=0)(ds, y)
    >>> len(train), len(valid), bool(np.intersect1d(train.y, valid.y).size)
    (24, 6, False)
    """

    def __init__(self, validation_size=0.2, random_state=None):
        self.validation_size = validation_size
        self.random_state = random_state

    def __repr__(self):
        return (
            f"SubjectSplit(validation_size={self.validation_size!r}, "
            f"random_state={self.random_state!r})"
        )

    def held_out(self, codes):
        """Boolean mask of the samples whose identity is held out."""
        size = check_real(
            self.validation_size, "validation_size", low=0, high=1, low_open=False
        )
        ids = np.unique(codes)
        n_ids = len(ids)
        n_valid = 0
        if size > 0:
            if n_ids < 4:
                warnings.warn(
                    f"Only {n_ids} identities: no identity-disjoint validation "
                    "split (it needs 4); training on all, threshold_ calibrated "
                    "on training identities.",
                    UserWarning,
                    stacklevel=4,
                )
            else:
                n_valid = min(max(int(round(size * n_ids)), 2), n_ids - 2)
        rng = np.random.default_rng(self.random_state)
        valid_ids = ids[rng.permutation(n_ids)[:n_valid]]
        return np.isin(codes, valid_ids)

    def __call__(self, dataset, y=None, **fit_params):
        y = dataset.y if y is None else np.asarray(y)
        is_valid = self.held_out(y)
        X = dataset.X
        if not is_valid.any():  # nothing held out: no copy of X
            same = isinstance(dataset, ArrayDataset) and dataset.y is not None
            return (dataset if same else ArrayDataset(X, y)), None
        train = ArrayDataset(X[~is_valid], y[~is_valid])
        return train, ArrayDataset(X[is_valid], y[is_valid], balanced=True)


def as_array_dataset(dataset, *, balanced=False):
    """``dataset`` (None, or Subsets of an ArrayDataset) as an ArrayDataset."""
    if dataset is None or isinstance(dataset, ArrayDataset):
        return dataset
    base, rows = dataset, None
    while isinstance(base, torch.utils.data.Subset):
        idx = np.asarray(base.indices)
        rows = idx if rows is None else idx[rows]
        base = base.dataset
    if not isinstance(base, ArrayDataset) or base.y is None:
        raise TypeError(
            "train_split must return skeer's in-memory datasets (or torch Subsets "
            f"of them, as skorch's ValidSplit does), got {type(dataset).__name__}."
        )
    return ArrayDataset(
        np.ascontiguousarray(base.X[rows]), base.y[rows], balanced=balanced
    )
