"""Identity-disjoint data splits: no subject on both sides."""

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from skeer._validation import check_subjects

__all__ = ["SubjectKFold", "train_test_split_subjects"]


class SubjectKFold(GroupKFold):
    """K-fold cross-validation with identity-disjoint folds.

    A :class:`~sklearn.model_selection.GroupKFold` whose groups default to the
    identities ``y``: no identity is on both sides of a split.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds (at least 2, at most the number of identities).
    shuffle : bool, default=False
        Shuffle the identities before assigning them to folds.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle (only used when ``shuffle=True``).

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.evaluation import SubjectKFold
    >>> y = np.repeat(np.arange(6), 3)
    >>> cv = SubjectKFold(n_splits=3)
    >>> for train, test in cv.split(np.zeros((18, 2)), y):
    ...     print(len(np.unique(y[test])), np.isin(y[train], y[test]).any())
    2 False
    2 False
    2 False
    """

    def split(self, X, y=None, groups=None):
        """Generate identity-disjoint train/test indices.

        Parameters
        ----------
        X : sequence or array-like of length n_samples
            Samples (only their number is used).
        y, groups : array-like of shape (n_samples,), default=None
            Identities (``groups`` overrides ``y``).

        Yields
        ------
        train, test : ndarray
            Training and test indices of the split.
        """
        groups = y if groups is None else groups
        if groups is None:
            raise ValueError(
                "SubjectKFold.split needs identities: pass y or groups, got None."
            )
        return super().split(X, y, groups)


def train_test_split_subjects(X, y, *, test_size=1 / 3, random_state=None):
    """Split samples into identity-disjoint training and test sets.

    Parameters
    ----------
    X : sequence or array-like of length n_samples
        Samples: a list of sessions, an array or a DataFrame.
    y : array-like of shape (n_samples,)
        Identity of each sample.
    test_size : float in (0, 1) or int, default=1/3
        Fraction (float) or number (int) of the identities in the test set.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw of test identities.

    Returns
    -------
    X_train, X_test : same kind as X
        Samples of the training and test identities, in their original order.
    y_train, y_test : ndarray
        Their identities.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.evaluation import train_test_split_subjects
    >>> X = [np.zeros((4, 3))] * 12
    >>> y = np.repeat([10, 11, 12], 4)
    >>> X_tr, X_te, y_tr, y_te = train_test_split_subjects(X, y, random_state=0)
    >>> len(X_tr), len(X_te), set(y_tr) & set(y_te)
    (8, 4, set())
    """
    y = check_subjects(y, _num_samples(X), classifier=False)
    splitter = GroupShuffleSplit(
        n_splits=1, test_size=test_size, random_state=random_state
    )
    train, test = next(splitter.split(np.zeros((len(y), 1)), y, groups=y))
    return _safe_indexing(X, train), _safe_indexing(X, test), y[train], y[test]
