"""Evaluation protocols for verifiers, and identity-disjoint data splits.

- :func:`evaluate_verification`: open set, free text (TypeNet / KVC style).
- :func:`evaluate_fixed_text`: Killourhy & Maxion (DSN 2009), fixed text.
- :class:`IdentityKFold`, :func:`train_test_split_identities`: no identity on
  both sides of a split.

Scores are similarities (higher = same person). Nothing here imports torch.
"""

import numbers
import warnings

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples, check_array

from .metrics import (
    _MIN_GENUINE,
    UnreliableMetricWarning,
    equal_error_rate,
    fnmr_at_fmr,
)

__all__ = [
    "IdentityKFold",
    "evaluate_fixed_text",
    "evaluate_verification",
    "train_test_split_identities",
]

_DETECTORS = ("scaled_manhattan", "manhattan", "euclidean")


def _check_identities(y, n_samples=None):
    if y is None:
        raise ValueError("y (one identity per sample) is required, got None.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one identity per sample), got {y.shape}.")
    if n_samples is not None and len(y) != n_samples:
        raise ValueError(
            f"y has {len(y)} identities but X (or the embeddings) has {n_samples} "
            "samples; they must be aligned."
        )
    return y


def _check_positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _group(y):
    """Sample indices of each identity, stable: (identities, order, starts, counts)."""
    ids, inverse = np.unique(y, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(ids))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return ids, order, starts, counts


def _check_embeddings(Z, n_rows, source):
    Z = check_array(Z, dtype=np.float64, ensure_all_finite=False)
    if len(Z) != n_rows:
        raise ValueError(f"{source} returned {len(Z)} rows for {n_rows} samples.")
    if not np.isfinite(Z).all():
        raise ValueError(f"{source} contains NaN or infinite values.")
    return Z


def _l2_normalize(Z):
    norms = np.linalg.norm(Z, axis=-1, keepdims=True)
    return Z / np.maximum(norms, np.finfo(np.float64).tiny)


def _auc(genuine, impostor):
    """Area under the ROC curve, as :func:`sklearn.metrics.roc_auc_score`.

    The Mann-Whitney form (ties count one half) needs one sort of the
    impostor scores, much faster than building the ROC curve on millions of
    scores.
    """
    impostor = np.sort(impostor)
    below = np.searchsorted(impostor, genuine, side="left").sum(dtype=np.float64)
    upto = np.searchsorted(impostor, genuine, side="right").sum(dtype=np.float64)
    return float((below + upto) / 2 / (len(genuine) * len(impostor)))


def _embed(model, X, rows, n_samples):
    """Embeddings of samples ``rows`` (sorted, unique) as an (len(rows), d) array."""
    if hasattr(model, "transform"):
        if X is None:
            raise ValueError("X is required when model is a fitted transformer.")
        if len(rows) == n_samples:
            Z = model.transform(X)
        else:
            Z = model.transform(_safe_indexing(X, rows))
        return _check_embeddings(Z, len(rows), "model.transform(X)")
    return _check_embeddings(np.asarray(model)[rows], len(rows), "model (embeddings)")


def _n_samples(model, X):
    if hasattr(model, "transform"):
        if X is None:
            raise ValueError("X is required when model is a fitted transformer.")
        return _num_samples(X)
    if model is None or isinstance(model, str):
        raise ValueError(
            "model must be an array of embeddings (n_samples, n_features) or a "
            f"fitted object with a transform method, got {model!r}."
        )
    model = np.asarray(model)
    if model.ndim != 2:
        raise ValueError(
            f"model must be 2-D embeddings (n_samples, n_features), got an array of "
            f"shape {model.shape}."
        )
    if X is not None and _num_samples(X) != len(model):
        raise ValueError(
            f"X has {_num_samples(X)} samples but the embeddings have {len(model)}."
        )
    return len(model)


def evaluate_verification(
    model,
    X,
    y,
    *,
    n_enroll=5,
    n_probe=5,
    fmr_levels=(0.001, 0.01, 0.1),
    return_scores=False,
):
    """Open-set verification protocol for free text (TypeNet / KVC style).

    For each identity, its first ``n_enroll`` samples enrol and its last
    ``n_probe`` are genuine probes; the first probe sample of every other
    identity is an impostor probe. A probe's score against an identity is its
    mean cosine similarity to that identity's enrolment embeddings.

    Parameters
    ----------
    model : array-like of shape (n_samples, n_features) or object
        Embeddings aligned with ``y``, or a fitted object whose ``transform``
        returns embeddings (called once, on the samples used).
    X : sequence of sessions, array-like or None
        Samples aligned with ``y``, passed to ``model.transform``; may be None
        when ``model`` is an array of embeddings. A long-format keystroke
        DataFrame must first be split with
        :func:`~skeer.features.sessions_from_frame`.
    y : array-like of shape (n_samples,)
        Identity of each sample. Samples are taken in their given order within
        each identity.
    n_enroll : int, default=5
        Enrolment samples per identity.
    n_probe : int, default=5
        Genuine probes per identity (identities with fewer than
        ``n_enroll + n_probe`` samples probe with all samples after enrolment).
    fmr_levels : sequence of float in (0, 1), default=(0.001, 0.01, 0.1)
        False-match rates at which to report the false non-match rate.
    return_scores : bool, default=False
        Also return the pooled binary labels and scores (e.g. for DET plots).

    Returns
    -------
    report : dict
        Plain Python numbers: ``"eer"`` (all scores pooled),
        ``"mean_identity_eer"`` and ``"std_identity_eer"`` (per identity, from
        its genuine probes and the impostor probes against its enrolment; SD
        with ``ddof=1``), ``"fnmr_at_fmr_{level:g}"`` for each level,
        ``"auc"``, ``"n_identities"``, ``"n_genuine"``, ``"n_impostor"``.
    y_binary : ndarray of shape (n_genuine + n_impostor,), dtype int64
        Only when ``return_scores=True``: 1 for genuine comparisons (first),
        0 for impostor ones.
    scores : ndarray of shape (n_genuine + n_impostor,), dtype float64
        Only when ``return_scores=True``: the similarities.

    Raises
    ------
    ValueError
        If the inputs are inconsistent or fewer than 2 identities have at least
        ``n_enroll + 1`` samples.

    Warns
    -----
    UserWarning
        Once, counting the identities skipped for having fewer than
        ``n_enroll + 1`` samples.

    Notes
    -----
    Scoring is matrix products: the mean cosine similarity to the enrolment
    embeddings equals the dot product with the mean of the L2-normalised
    enrolment embeddings. Every identity's impostor probe is compared with
    every other identity, so ``n_impostor = n_identities * (n_identities - 1)``.
    Memory and time grow with its square: 3,000 identities (9 million
    impostor scores) take about 5 s on one CPU core.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.protocols import evaluate_verification
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(20), 10)
    >>> embeddings = rng.normal(size=(20, 8))[y] + 0.5 * rng.normal(size=(200, 8))
    >>> report = evaluate_verification(embeddings, None, y)
    >>> report["n_identities"], report["n_genuine"], report["n_impostor"]
    (20, 100, 380)
    >>> round(report["auc"], 3), report["eer"] < 0.1
    (0.989, True)
    """
    n_enroll = _check_positive_int(n_enroll, "n_enroll")
    n_probe = _check_positive_int(n_probe, "n_probe")
    levels = []
    for level in fmr_levels:
        if not isinstance(level, numbers.Real) or not 0 < level < 1:
            raise ValueError(f"fmr_levels must lie in (0, 1), got {level!r}.")
        levels.append(float(level))
    n_samples = _n_samples(model, X)
    y = _check_identities(y, n_samples)

    ids, order, starts, counts = _group(y)
    kept = counts >= n_enroll + 1
    n_skipped = int((~kept).sum())
    if n_skipped:
        warnings.warn(
            f"evaluate_verification skipped {n_skipped} of {len(ids)} identities "
            f"with fewer than n_enroll + 1 = {n_enroll + 1} samples.",
            UserWarning,
            stacklevel=2,
        )
    m = int(kept.sum())
    if m < 2:
        raise ValueError(
            f"At least 2 identities with n_enroll + 1 = {n_enroll + 1} samples or "
            f"more are needed, got {m}."
        )
    starts, counts = starts[kept], counts[kept]
    n_probes = np.minimum(n_probe, counts - n_enroll)
    enrol = order[starts[:, None] + np.arange(n_enroll)]  # (m, n_enroll)
    first_probe = starts + counts - n_probes
    owner = np.repeat(np.arange(m), n_probes)
    within = np.arange(int(n_probes.sum())) - np.repeat(
        np.cumsum(n_probes) - n_probes, n_probes
    )
    probes = order[first_probe[owner] + within]
    impostor = order[first_probe]  # each identity's first probe

    rows = np.unique(np.concatenate([enrol.ravel(), probes]))
    Z = _l2_normalize(_embed(model, X, rows, n_samples))
    templates = Z[np.searchsorted(rows, enrol)].mean(axis=1)  # (m, d)
    P = Z[np.searchsorted(rows, probes)]
    genuine = np.einsum("ij,ij->i", P, templates[owner])
    S = Z[np.searchsorted(rows, impostor)] @ templates.T  # S[probe id, template id]
    off = ~np.eye(m, dtype=bool)
    impostors = S[off]  # row-major: probe identity b against every other a

    identity_eer = np.empty(m)
    bounds = np.concatenate(([0], np.cumsum(n_probes)))
    columns = np.ascontiguousarray(S.T)  # columns[a]: all probes vs template a
    with warnings.catch_warnings():
        # n_probe genuine scores per identity are the protocol, not an accident
        warnings.simplefilter("ignore", UnreliableMetricWarning)
        for a in range(m):
            g = genuine[bounds[a] : bounds[a + 1]]
            labels = np.zeros(len(g) + m - 1, dtype=np.int64)
            labels[: len(g)] = 1
            own = np.concatenate((g, columns[a, :a], columns[a, a + 1 :]))
            identity_eer[a] = equal_error_rate(labels, own)
    del columns

    y_binary = np.r_[
        np.ones(len(genuine), dtype=np.int64), np.zeros(len(impostors), dtype=np.int64)
    ]
    scores = np.r_[genuine, impostors]
    report = {
        "eer": float(equal_error_rate(y_binary, scores)),
        "mean_identity_eer": float(identity_eer.mean()),
        "std_identity_eer": float(identity_eer.std(ddof=1)),
    }
    if levels:
        fnmr = np.atleast_1d(fnmr_at_fmr(y_binary, scores, fmr=np.asarray(levels)))
        for level, value in zip(levels, fnmr):
            report[f"fnmr_at_fmr_{level:g}"] = float(value)
    report["auc"] = _auc(genuine, impostors)
    report["n_identities"] = m
    report["n_genuine"] = int(len(genuine))
    report["n_impostor"] = int(len(impostors))
    if return_scores:
        return report, y_binary, scores
    return report


def evaluate_fixed_text(
    model,
    X,
    y,
    *,
    n_train=200,
    n_impostor_reps=5,
    detector="scaled_manhattan",
    return_scores=False,
):
    """Killourhy & Maxion (DSN 2009) protocol for fixed-text timing vectors.

    Per subject, its first ``n_train`` repetitions train (enrol) a detector,
    its remaining repetitions are genuine probes, and the first
    ``n_impostor_reps`` repetitions of every other subject are impostor
    probes. The EER of each subject is computed separately, then averaged.

    Parameters
    ----------
    model : None, array-like of shape (n_samples, n_features) or object
        None runs the non-learned ``detector`` on ``X`` itself. Otherwise
        embeddings aligned with ``y``, or a fitted object whose ``transform``
        gives them (called once on ``X``); a probe's score is its cosine
        similarity to the mean of the L2-normalised training embeddings.
    X : array-like of shape (n_samples, n_features) or None
        Timing vectors (e.g. the 31 features of the CMU password data); may be
        None when ``model`` is an array of embeddings.
    y : array-like of shape (n_samples,)
        Subject of each sample; repetitions in their given order.
    n_train : int, default=200
        Training repetitions per subject.
    n_impostor_reps : int, default=5
        Impostor repetitions taken from each other subject.
    detector : {"scaled_manhattan", "manhattan", "euclidean"}, \
            default="scaled_manhattan"
        Anomaly detector used when ``model`` is None. With the training mean
        ``mu`` and mean absolute deviation ``mad`` per feature, the anomaly
        score of ``x`` is ``sum_j |x_j - mu_j| / mad_j`` (scaled Manhattan),
        ``sum_j |x_j - mu_j|`` (Manhattan) or ``sum_j (x_j - mu_j)^2``
        (Euclidean); the similarity is its negative.
    return_scores : bool, default=False
        Also return the binary labels and scores of every subject's
        comparisons, concatenated subject by subject (e.g. for DET plots; the
        protocol itself judges each subject separately).

    Returns
    -------
    report : dict
        ``"mean_eer"``, ``"std_eer"`` (SD over subjects, ``ddof=1``, as in the
        paper), ``"n_subjects"`` and ``"subject_eer"`` (list, in sorted subject
        order), as plain Python numbers.
    y_binary : ndarray of shape (n_comparisons,), dtype int64
        Only when ``return_scores=True``: 1 genuine, 0 impostor.
    scores : ndarray of shape (n_comparisons,), dtype float64
        Only when ``return_scores=True``: the similarities.

    Raises
    ------
    ValueError
        If the inputs are inconsistent or fewer than 2 subjects have more than
        ``n_train`` repetitions.

    Warns
    -----
    UserWarning
        Once, counting the subjects skipped for having no more than ``n_train``
        repetitions (they still serve as impostors).

    Notes
    -----
    On the CMU keystroke benchmark (51 subjects x 400 repetitions of
    ``.tie5Roanl``), Killourhy & Maxion report a mean EER of 0.096 (SD 0.069)
    for the scaled Manhattan detector, their best; this implementation follows
    their definition (we cannot run the real file here).

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.protocols import evaluate_fixed_text
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 30)
    >>> X = rng.normal(size=(4, 5))[y] + 0.3 * rng.normal(size=(120, 5))
    >>> report = evaluate_fixed_text(None, X, y, n_train=20)
    >>> report["n_subjects"], round(report["mean_eer"], 3)
    (4, 0.0)
    """
    n_train = _check_positive_int(n_train, "n_train")
    n_impostor_reps = _check_positive_int(n_impostor_reps, "n_impostor_reps")
    if detector not in _DETECTORS:
        raise ValueError(f"detector must be one of {_DETECTORS}, got {detector!r}.")
    if model is None:
        if X is None:
            raise ValueError("X is required when model is None.")
        F = check_array(X, dtype=np.float64)
        y = _check_identities(y, len(F))
    else:
        n_samples = _n_samples(model, X)
        y = _check_identities(y, n_samples)
        F = _l2_normalize(_embed(model, X, np.arange(n_samples), n_samples))

    ids, order, starts, counts = _group(y)
    kept = counts > n_train
    n_skipped = int((~kept).sum())
    if n_skipped:
        warnings.warn(
            f"evaluate_fixed_text skipped {n_skipped} of {len(ids)} subjects with "
            f"no more than n_train = {n_train} repetitions.",
            UserWarning,
            stacklevel=2,
        )
    if kept.sum() < 2:
        raise ValueError(
            f"At least 2 subjects with more than n_train = {n_train} repetitions "
            f"are needed, got {int(kept.sum())}."
        )
    n_imp = np.minimum(counts, n_impostor_reps)
    imp_owner = np.repeat(np.arange(len(ids)), n_imp)
    within = np.arange(int(n_imp.sum())) - np.repeat(np.cumsum(n_imp) - n_imp, n_imp)
    pool = F[order[starts[imp_owner] + within]]

    n_probes = counts[kept] - n_train
    if n_probes.min() < _MIN_GENUINE:
        warnings.warn(
            f"{int((n_probes < _MIN_GENUINE).sum())} subject(s) have fewer than "
            f"{_MIN_GENUINE} genuine probes: their EER is unreliable.",
            UnreliableMetricWarning,
            stacklevel=2,
        )
    subject_eer, all_labels, all_scores = [], [], []
    for s in np.flatnonzero(kept):
        idx = order[starts[s] : starts[s] + counts[s]]
        train, probe = F[idx[:n_train]], F[idx[n_train:]]
        impostors = pool[imp_owner != s]
        mu = train.mean(axis=0)
        if model is not None:
            template = _l2_normalize(mu)
            genuine, impostor = probe @ template, impostors @ template
        elif detector == "scaled_manhattan":
            mad = np.abs(train - mu).mean(axis=0)
            mad = np.maximum(mad, np.finfo(np.float64).eps)
            genuine = -(np.abs(probe - mu) / mad).sum(axis=1)
            impostor = -(np.abs(impostors - mu) / mad).sum(axis=1)
        elif detector == "manhattan":
            genuine = -np.abs(probe - mu).sum(axis=1)
            impostor = -np.abs(impostors - mu).sum(axis=1)
        else:
            genuine = -((probe - mu) ** 2).sum(axis=1)
            impostor = -((impostors - mu) ** 2).sum(axis=1)
        labels = np.r_[
            np.ones(len(genuine), dtype=np.int64), np.zeros(len(impostor), np.int64)
        ]
        scores = np.r_[genuine, impostor]
        with warnings.catch_warnings():  # warned once above
            warnings.simplefilter("ignore", UnreliableMetricWarning)
            subject_eer.append(float(equal_error_rate(labels, scores)))
        all_labels.append(labels)
        all_scores.append(scores)
    subject_eer = np.asarray(subject_eer)
    report = {
        "mean_eer": float(subject_eer.mean()),
        "std_eer": float(subject_eer.std(ddof=1)),
        "n_subjects": int(len(subject_eer)),
        "subject_eer": subject_eer.tolist(),
    }
    if return_scores:
        return report, np.concatenate(all_labels), np.concatenate(all_scores)
    return report


class IdentityKFold(GroupKFold):
    """K-fold cross-validation with identity-disjoint folds.

    A :class:`~sklearn.model_selection.GroupKFold` whose groups default to the
    identities ``y``: no identity appears in both the training and the test
    indices of a split, the open-set setting of verification.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds (at least 2, at most the number of identities).
    shuffle : bool, default=False
        Shuffle the identities before assigning them to folds.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle (only used when ``shuffle=True``).

    See Also
    --------
    train_test_split_identities : One identity-disjoint split.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.protocols import IdentityKFold
    >>> y = np.repeat(np.arange(6), 3)
    >>> cv = IdentityKFold(n_splits=3)
    >>> for train, test in cv.split(np.zeros((18, 2)), y):
    ...     print(len(np.unique(y[test])), np.isin(y[train], y[test]).any())
    2 False
    2 False
    2 False
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)

    def split(self, X, y=None, groups=None):
        """Generate identity-disjoint train/test indices.

        Parameters
        ----------
        X : sequence or array-like of length n_samples
            Samples (only their number is used).
        y : array-like of shape (n_samples,), default=None
            Identities; used as the groups when ``groups`` is None.
        groups : array-like of shape (n_samples,), default=None
            Identities, overriding ``y``.

        Yields
        ------
        train : ndarray
            Training indices of the split.
        test : ndarray
            Test indices of the split.

        Raises
        ------
        ValueError
            If neither ``y`` nor ``groups`` is given.

        Examples
        --------
        >>> from skeer.protocols import IdentityKFold
        >>> splits = list(IdentityKFold(2).split([0] * 4, y=[7, 7, 8, 8]))
        >>> sorted(test.tolist() for _, test in splits)
        [[0, 1], [2, 3]]
        """
        if groups is None:
            groups = y
        if groups is None:
            raise ValueError(
                "IdentityKFold.split needs identities: pass y or groups, got None."
            )
        return super().split(X, y, groups)


def train_test_split_identities(X, y, *, test_size=1 / 3, random_state=None):
    """Split samples into identity-disjoint training and test sets.

    Parameters
    ----------
    X : sequence or array-like of length n_samples
        Samples: a list of sessions, an array or a DataFrame of samples.
    y : array-like of shape (n_samples,)
        Identity of each sample.
    test_size : float in (0, 1) or int, default=1/3
        Fraction (float) or number (int) of the identities that go to the test
        set.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw of test identities.

    Returns
    -------
    X_train, X_test : same kind as X
        Samples of the training and test identities, in their original order.
    y_train, y_test : ndarray
        Their identities.

    Raises
    ------
    ValueError
        If ``X`` and ``y`` differ in length or ``test_size`` is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.protocols import train_test_split_identities
    >>> X = [np.zeros((4, 3))] * 12
    >>> y = np.repeat([10, 11, 12], 4)
    >>> X_tr, X_te, y_tr, y_te = train_test_split_identities(X, y, random_state=0)
    >>> len(X_tr), len(X_te), set(y_tr) & set(y_te)
    (8, 4, set())
    """
    y = _check_identities(y, _num_samples(X))
    splitter = GroupShuffleSplit(
        n_splits=1, test_size=test_size, random_state=random_state
    )
    train, test = next(splitter.split(np.zeros((len(y), 1)), y, groups=y))
    return (
        _safe_indexing(X, train),
        _safe_indexing(X, test),
        y[train],
        y[test],
    )
