"""The template object (:class:`Templates`) and its two kinds; NumPy only."""

import abc
import warnings

import numpy as np

from skeer.templates._enrol import common_ids

#: Entries of one block of intermediate values: 2**24 float32 = 64 MiB.
_BLOCK = 2**24


class Templates(abc.ABC):
    """The enrolled templates of ``n`` subjects, in column order.

    Scores are similarities (higher: the same person). Subclasses implement
    :meth:`matrix`, :meth:`claims`, :meth:`take`, :meth:`concat` and ``len``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.templates import make_templates
    >>> F = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> t = make_templates(F, [0, 0, 1, 1], 2, "euclidean")
    >>> len(t), t.best(np.array([[0.0, 0.8]])).tolist()
    (2, [1])
    """

    @abc.abstractmethod
    def __len__(self):
        """Number of templates."""

    @abc.abstractmethod
    def matrix(self, F):
        """Similarity of every row of ``F`` to every template, ``(n, len)``."""

    @abc.abstractmethod
    def claims(self, F, cols):
        """Similarity of each row of ``F`` to template ``cols[i]``, ``(n,)``."""

    @abc.abstractmethod
    def take(self, index):
        """The templates at the integer positions ``index``, in that order."""

    @abc.abstractmethod
    def concat(self, other):
        """These templates followed by ``other``'s (same kind)."""

    def best(self, F):
        """Index of the most similar template of each row of ``F``."""
        return np.argmax(self.matrix(F), axis=1)

    def keep(self, mask):
        """The templates where the boolean ``mask`` is True."""
        return self.take(np.flatnonzero(mask))

    def merge(self, classes, new_classes, new):
        """Union with ``new`` (of ``new_classes``); those identities are replaced.

        Parameters
        ----------
        classes : ndarray of shape (len(self),)
            Identity of each of these templates, sorted.
        new_classes : ndarray of shape (len(new),)
            Identity of each of ``new``'s templates, sorted.
        new : Templates
            Templates of the same kind.

        Returns
        -------
        classes : ndarray
            The union of identities, sorted.
        templates : Templates
            One template per identity: ``new``'s where both have one.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.templates import make_templates
        >>> old = make_templates(np.eye(2), [0, 1], 2)
        >>> new = make_templates(np.array([[1.0, 1.0]]), [0], 1)
        >>> ids, t = old.merge(np.array([3, 5]), np.array([5]), new)
        >>> ids.tolist(), t.matrix(np.array([[1.0, 1.0]])).round(3).tolist()
        ([3, 5], [[0.707, 1.0]])
        """
        classes, new_classes = common_ids(np.asarray(classes), np.asarray(new_classes))
        merged = np.union1d(classes, new_classes)
        index = np.empty(len(merged), dtype=np.intp)
        index[np.searchsorted(merged, classes)] = np.arange(len(classes))
        index[np.searchsorted(merged, new_classes)] = len(classes) + np.arange(
            len(new_classes)
        )
        return merged, self.concat(new).take(index)


class GeometryTemplates(Templates):
    """Templates of one geometry: a mean vector per subject (and a spread).

    Parameters
    ----------
    center : ndarray of shape (n, d)
        Unit rows for ``"cosine"``, per-dimension means otherwise.
    scale : ndarray of shape (n, d) or None
        Per-dimension mean absolute deviations for ``"scaled_manhattan"``;
        None for the other geometries.
    geometry : str
        One of :data:`~skeer.templates.GEOMETRIES`.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.templates import GeometryTemplates
    >>> t = GeometryTemplates(np.array([[0.0, 0.0], [1.0, 1.0]]), None, "manhattan")
    >>> t.matrix(np.array([[0.0, 0.5]])).tolist()
    [[-0.5, -1.5]]
    """

    def __init__(self, center, scale, geometry):
        self.center, self.scale, self.geometry = center, scale, geometry

    def __len__(self):
        return len(self.center)

    def _prepared(self, F):
        F = np.asarray(F)
        dtype = _float_dtype(F, self.center)
        F = F.astype(dtype, copy=False)
        return (l2_normalize(F) if self.geometry == "cosine" else F), dtype

    def matrix(self, F):
        """Similarity of every row of ``F`` to every template (float64 if either is)."""
        F, dtype = self._prepared(F)
        center, scale, geometry = self.center, self.scale, self.geometry
        out = np.empty((len(F), len(center)), dtype=dtype)
        step = _rows_per_block(len(center), F.shape[1], geometry)
        for i in range(0, len(F), step):
            rows = slice(i, i + step)
            if geometry == "cosine":
                np.matmul(F[rows], center.T.astype(dtype, copy=False), out=out[rows])
                continue
            diff = F[rows, None, :] - center[None, :, :]
            out[rows] = -_reduce(diff, None if scale is None else scale[None], geometry)
        return out

    def claims(self, F, cols):
        """Similarity of each row of ``F`` to template ``cols[i]`` (bounded blocks)."""
        F, dtype = self._prepared(F)
        cols = np.asarray(cols, dtype=np.intp)
        out = np.empty(len(F), dtype=dtype)
        step = max(1, _BLOCK // max(1, F.shape[1]))
        for i in range(0, len(F), step):
            rows = slice(i, i + step)
            c = self.center[cols[rows]]
            if self.geometry == "cosine":
                out[rows] = np.einsum("ij,ij->i", F[rows], c)
                continue
            scale = None if self.scale is None else self.scale[cols[rows]]
            out[rows] = -_reduce(F[rows] - c, scale, self.geometry)
        return out

    def best(self, F):
        """Index of the most similar template of each row, in bounded blocks."""
        F = np.asarray(F)
        best = np.empty(len(F), dtype=np.intp)
        step = _rows_per_block(len(self.center), F.shape[1], self.geometry)
        for i in range(0, len(F), step):
            best[i : i + step] = np.argmax(self.matrix(F[i : i + step]), axis=1)
        return best

    def take(self, index):
        scale = None if self.scale is None else self.scale[index]
        return GeometryTemplates(self.center[index], scale, self.geometry)

    def concat(self, other):
        if (
            not isinstance(other, GeometryTemplates)
            or other.geometry != self.geometry
            or (self.scale is None) != (other.scale is None)
        ):
            raise ValueError("Cannot merge templates of different geometries.")

        def stack(a, b):
            return None if a is None else np.concatenate([a, b.astype(a.dtype)])

        return GeometryTemplates(
            stack(self.center, other.center),
            stack(self.scale, other.scale),
            self.geometry,
        )

    def mean_scale(self, d):
        """The mean spread per dimension, if these templates have one of ``d``
        dimensions (scaled Manhattan), else None."""
        if self.scale is None or not len(self.scale) or self.scale.shape[1] != d:
            return None
        return self.scale.mean(axis=0)


class ModelTemplates(Templates):
    """One fitted model per subject, scored by a function of (model, rows).

    Parameters
    ----------
    models : list
        One model per subject, in column order.
    score : callable
        ``score(model, F)``: one similarity per row of ``F``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.templates import ModelTemplates
    >>> def nearest(model, F):
    ...     return -np.abs(F[:, None, :] - model[None]).sum(axis=2).min(axis=1)
    >>> t = ModelTemplates([np.zeros((1, 2)), np.ones((2, 2))], nearest)
    >>> t.matrix(np.array([[1.0, 0.5]])).tolist()
    [[-1.5, -0.5]]
    """

    def __init__(self, models, score):
        self.models, self.score = list(models), score

    @classmethod
    def fit(cls, F, codes, n_codes, fit_subject, score):
        """One model per subject ``0..n_codes-1``: ``fit_subject(rows of F)``."""
        codes, counts = _subject_counts(codes, n_codes)
        order = np.argsort(codes, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(counts)))
        rows = [order[bounds[k] : bounds[k + 1]] for k in range(n_codes)]
        return cls([fit_subject(F[r]) for r in rows], score)

    def __len__(self):
        return len(self.models)

    def matrix(self, F):
        out = np.empty((len(F), len(self.models)))
        for k, model in enumerate(self.models):
            out[:, k] = self.score(model, F)
        return out

    def claims(self, F, cols):
        cols = np.asarray(cols, dtype=np.intp)
        out = np.empty(len(F))
        for k in np.unique(cols):
            rows = np.flatnonzero(cols == k)
            out[rows] = self.score(self.models[k], F[rows])
        return out

    def take(self, index):
        return ModelTemplates([self.models[int(i)] for i in index], self.score)

    def concat(self, other):
        if not isinstance(other, ModelTemplates):
            raise ValueError("Cannot merge per-subject models with other templates.")
        return ModelTemplates(self.models + other.models, self.score)


def l2_normalize(F):
    """Rows of ``F`` scaled to unit norm (zero rows stay zero)."""
    F = np.asarray(F)
    norms = np.linalg.norm(F, axis=-1, keepdims=True)
    return F / np.maximum(
        norms, np.finfo(F.dtype if F.dtype.kind == "f" else float).tiny
    )


def make_templates(F, codes, n_codes, geometry="cosine", *, fallback_scale=None):
    """Templates of subjects ``0..n_codes-1`` from their feature vectors.

    Parameters
    ----------
    F : ndarray of shape (n_samples, d)
        Feature vectors (embeddings, or timing vectors).
    codes : array-like of int of shape (n_samples,)
        Subject index of each row, in ``[0, n_codes)``; every index must
        occur.
    n_codes : int
        Number of subjects.
    geometry : str, default="cosine"
        One of :data:`GEOMETRIES`.
    fallback_scale : ndarray of shape (d,) or None, default=None
        ``"scaled_manhattan"``: the spread of a dimension no subject here spreads
        in (e.g. the enrolled mean); None: 1.

    Returns
    -------
    templates : GeometryTemplates
        float32, or float64 when made from float64 features.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.templates import make_templates
    >>> F = np.array([[0.0, 2.0], [2.0, 2.0], [5.0, 5.0]])
    >>> t = make_templates(F, [0, 0, 1], 2, "scaled_manhattan")
    >>> t.center.tolist(), t.scale.tolist()
    ([[1.0, 2.0], [5.0, 5.0]], [[1.0, 1.0], [1.0, 1.0]])
    """
    F = np.asarray(F)
    dtype = _float_dtype(F)
    F = F.astype(np.float64, copy=False)
    codes, counts = _subject_counts(codes, n_codes)
    sums = np.zeros((n_codes, F.shape[1]))
    np.add.at(sums, codes, l2_normalize(F) if geometry == "cosine" else F)
    if geometry == "cosine":
        return GeometryTemplates(l2_normalize(sums).astype(dtype), None, geometry)
    mean = sums / counts[:, None]
    if geometry != "scaled_manhattan":
        return GeometryTemplates(mean.astype(dtype), None, geometry)
    dev = np.zeros_like(mean)
    np.add.at(dev, codes, np.abs(F - mean[codes]))
    mad = dev / counts[:, None]
    # a dimension with no spread gets that dimension's mean spread over the
    # subjects that have one (1 where none has: plain Manhattan there)
    flat = mad <= 0
    if flat.any():
        spread = np.where(flat, np.nan, mad)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pooled = np.nanmean(spread, axis=0)
        default = 1.0 if fallback_scale is None else np.asarray(fallback_scale)
        pooled = np.where(np.isfinite(pooled), pooled, default)
        mad = np.where(flat, pooled[None, :], mad)
    mad = np.maximum(mad, np.finfo(np.float64).eps)
    return GeometryTemplates(mean.astype(dtype), mad.astype(dtype), geometry)


def _subject_counts(codes, n_codes):
    """``codes`` as intp and the sample count of each subject (all > 0)."""
    codes = np.asarray(codes, dtype=np.intp)
    counts = np.bincount(codes, minlength=n_codes)
    if (counts == 0).any():
        raise ValueError("Every subject needs at least one enrolment sample.")
    return codes, counts


def _float_dtype(*arrays):
    """float64 if any input is float64, else float32 (embeddings stay float32)."""
    return np.result_type(np.float32, *[a.dtype for a in arrays if a is not None])


def _rows_per_block(n_templates, d, geometry):
    per_row = n_templates * (1 if geometry == "cosine" else max(1, d))
    return max(1, _BLOCK // max(1, per_row))


def _reduce(diff, scale, geometry):
    """The distance along the last axis of ``diff`` (modified in place)."""
    if geometry == "euclidean":
        np.square(diff, out=diff)
        return diff.sum(axis=-1)
    np.abs(diff, out=diff)
    if scale is not None:
        diff /= scale
    return diff.sum(axis=-1)
