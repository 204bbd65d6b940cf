"""Evaluation protocols for verifiers, and identity-disjoint data splits.

- :func:`evaluate_verification`: open set, free text (TypeNet / KVC style).
- :func:`evaluate_fixed_text`: Killourhy & Maxion (DSN 2009), fixed text.
- :class:`IdentityKFold`, :func:`train_test_split_identities`: no subject on
  both sides of a split.

A fitted estimator is judged through its own enrolment and scoring (its
template geometry, see :mod:`skeer._enrol`): a
:class:`~skeer.KeystrokeVerifier`, a detector of :mod:`skeer.baselines`, or a
``Pipeline`` whose first steps transform and whose last step is one of these.
An array of embeddings, or any object with ``transform``, is scored by cosine
similarity to the renormalised mean embedding. Scores are similarities
(higher = same person). Nothing here imports torch.
"""

import warnings

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from . import _enrol
from ._sweep import MIN_GENUINE, auc
from ._validation import check_positive_int, check_real
from .metrics import UnreliableMetricWarning, equal_error_rate, fnmr_at_fmr

__all__ = [
    "IdentityKFold",
    "evaluate_fixed_text",
    "evaluate_verification",
    "train_test_split_identities",
]


def _check_identities(y, n_samples=None):
    if y is None:
        raise ValueError("y (one subject per sample) is required, got None.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one subject per sample), got {y.shape}.")
    if n_samples is not None and len(y) != n_samples:
        raise ValueError(
            f"y has {len(y)} subjects but X (or the embeddings) has {n_samples} "
            "samples; they must be aligned."
        )
    return y


def _n_samples(model, X):
    """Number of samples, checking ``model`` and ``X`` agree."""
    if model is None or isinstance(model, str):
        _enrol.judge(model, X)  # raises the error that names what model may be
    if _enrol.has_own_geometry(model) or hasattr(model, "transform"):
        if X is None:
            raise ValueError("X is required when model is a fitted estimator.")
        return _num_samples(X)
    Z = np.asarray(model)
    if Z.ndim != 2:
        raise ValueError(
            f"model must be 2-D embeddings (n_samples, n_features), got an array of "
            f"shape {Z.shape}."
        )
    if X is not None and _num_samples(X) != len(Z):
        raise ValueError(
            f"X has {_num_samples(X)} samples but the embeddings have {len(Z)}."
        )
    return len(Z)


def _binary(genuine, impostor):
    y_true = np.r_[
        np.ones(len(genuine), dtype=np.int64), np.zeros(len(impostor), dtype=np.int64)
    ]
    return y_true, np.r_[genuine, impostor]


def _quiet_eer(y_true, scores):
    with warnings.catch_warnings():
        # few genuine scores per subject are the protocol, not an accident
        warnings.simplefilter("ignore", UnreliableMetricWarning)
        return float(equal_error_rate(y_true, scores))


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

    For each subject, its first ``n_enroll`` samples enrol a template and its
    last ``n_probe`` are genuine probes; the first probe sample of every other
    subject is an impostor probe. Templates and scores are the model's own
    (see the module docstring): for a :class:`~skeer.KeystrokeVerifier`,
    exactly what its ``enroll`` and ``claim_scores`` compute.

    Parameters
    ----------
    model : array-like of shape (n_samples, n_features) or object
        A fitted estimator with its own enrolment (a verifier, a baseline
        detector, or a ``Pipeline`` ending in one), a fitted object whose
        ``transform`` returns embeddings, or embeddings aligned with ``y``.
        It is called on the samples used only.
    X : sequence of sessions, array-like or None
        Samples aligned with ``y``, the model's input; may be None when
        ``model`` is an array of embeddings. A long-format keystroke
        DataFrame must first be split with
        :func:`~skeer.features.sessions_from_frame`.
    y : array-like of shape (n_samples,)
        Subject of each sample. Samples are taken in their given order within
        each subject.
    n_enroll : int, default=5
        Enrolment samples per subject.
    n_probe : int or None, default=5
        Genuine probes per subject (subjects with fewer than
        ``n_enroll + n_probe`` samples probe with all samples after
        enrolment); None probes with every sample after enrolment.
    fmr_levels : sequence of float in (0, 1), default=(0.001, 0.01, 0.1)
        False-match rates at which to report the false non-match rate.
    return_scores : bool, default=False
        Also return the pooled binary labels and scores (e.g. for DET plots).

    Returns
    -------
    report : dict
        Plain Python numbers: ``"eer"`` (all scores pooled),
        ``"mean_subject_eer"`` and ``"std_subject_eer"`` (per subject, from
        its genuine probes and the impostor probes against its template; SD
        with ``ddof=1``), ``"fnmr_at_fmr_{level:g}"`` for each level,
        ``"auc"``, ``"n_subjects"``, ``"n_genuine"``, ``"n_impostor"``.
    y_binary : ndarray of shape (n_genuine + n_impostor,), dtype int64
        Only when ``return_scores=True``: 1 for genuine comparisons (first),
        0 for impostor ones.
    scores : ndarray of shape (n_genuine + n_impostor,), dtype float64
        Only when ``return_scores=True``: the similarities.

    Raises
    ------
    ValueError
        If the inputs are inconsistent or fewer than 2 subjects have at least
        ``n_enroll + 1`` samples.

    Warns
    -----
    UserWarning
        Once, counting the subjects skipped for having fewer than
        ``n_enroll + 1`` samples.

    Notes
    -----
    Every subject's impostor probe is compared with every other subject, so
    ``n_impostor = n_subjects * (n_subjects - 1)``. Memory and time grow with
    its square: 3,000 subjects (9 million impostor scores) take about 5 s on
    one CPU core beyond computing the embeddings.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.protocols import evaluate_verification
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(20), 10)
    >>> embeddings = rng.normal(size=(20, 8))[y] + 0.5 * rng.normal(size=(200, 8))
    >>> report = evaluate_verification(embeddings, None, y)
    >>> report["n_subjects"], report["n_genuine"], report["n_impostor"]
    (20, 100, 380)
    >>> round(report["auc"], 3), report["eer"] < 0.1
    (0.989, True)
    """
    n_enroll = check_positive_int(n_enroll, "n_enroll")
    n_probe = check_positive_int(n_probe, "n_probe", allow_none=True)
    levels = [check_real(v, "fmr_levels", low=0, high=1) for v in np.ravel(fmr_levels)]
    n_samples = _n_samples(model, X)
    y = _check_identities(y, n_samples)
    split = _enrol.open_set_split(y, n_enroll, n_probe)
    if split.n_skipped:
        warnings.warn(
            f"evaluate_verification skipped {split.n_skipped} of "
            f"{split.n_skipped + len(split.subjects)} subjects with fewer than "
            f"n_enroll + 1 = {n_enroll + 1} samples.",
            UserWarning,
            stacklevel=2,
        )
    m = len(split.subjects)
    if m < 2:
        raise ValueError(
            f"At least 2 subjects with n_enroll + 1 = {n_enroll + 1} samples or "
            f"more are needed, got {m}."
        )
    genuine, S = _enrol.open_set_scores(_enrol.judge(model, X), split)
    impostors = _enrol.impostor_scores(S)

    subject_eer = np.empty(m)
    bounds = np.concatenate(([0], np.cumsum(np.bincount(split.owner, minlength=m))))
    columns = np.ascontiguousarray(S.T)  # columns[a]: every probe vs template a
    for a in range(m):
        own = np.concatenate((columns[a, :a], columns[a, a + 1 :]))
        subject_eer[a] = _quiet_eer(*_binary(genuine[bounds[a] : bounds[a + 1]], own))
    del columns

    y_binary, scores = _binary(genuine, impostors)
    report = {
        "eer": float(equal_error_rate(y_binary, scores)),
        "mean_subject_eer": float(subject_eer.mean()),
        "std_subject_eer": float(subject_eer.std(ddof=1)),
    }
    if levels:
        fnmr = np.atleast_1d(fnmr_at_fmr(y_binary, scores, fmr=np.asarray(levels)))
        for level, value in zip(levels, fnmr):
            report[f"fnmr_at_fmr_{level:g}"] = float(value)
    report["auc"] = auc(genuine, impostors)
    report["n_subjects"] = m
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
    return_scores=False,
):
    """Killourhy & Maxion (DSN 2009) protocol for fixed-text timing vectors.

    Per subject, its first ``n_train`` repetitions enrol (train its template),
    its remaining repetitions are genuine probes, and the first
    ``n_impostor_reps`` repetitions of every other subject are impostor
    probes. The EER of each subject is computed separately, then averaged.

    Parameters
    ----------
    model : object or array-like of shape (n_samples, n_features)
        A fitted estimator with its own enrolment, judged through it: a
        detector of :mod:`skeer.baselines` (``ScaledManhattan()`` is Killourhy
        & Maxion's best; it needs no fitting), a
        :class:`~skeer.KeystrokeVerifier`, or a ``Pipeline`` ending in one
        (e.g. ``StandardScaler`` + verifier: the scaler transforms, the
        verifier enrols and scores). Also a fitted object with ``transform``,
        or embeddings aligned with ``y`` (cosine to the mean embedding).
    X : array-like of shape (n_samples, n_features) or None
        Timing vectors (e.g. the 31 features of the CMU password data); may be
        None when ``model`` is an array of embeddings.
    y : array-like of shape (n_samples,)
        Subject of each sample; repetitions in their given order.
    n_train : int, default=200
        Enrolment repetitions per subject.
    n_impostor_reps : int, default=5
        Impostor repetitions taken from each other subject.
    return_scores : bool, default=False
        Also return the binary labels and scores of every subject's
        comparisons, concatenated subject by subject (e.g. for DET plots; the
        protocol itself judges each subject separately).

    Returns
    -------
    report : dict
        ``"mean_subject_eer"``, ``"std_subject_eer"`` (SD over subjects,
        ``ddof=1``, as in the paper), ``"n_subjects"`` and ``"subject_eer"``
        (list, in sorted subject order), as plain Python numbers.
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
    for the scaled Manhattan detector, their best; ``ScaledManhattan()``
    reproduces it (0.0962), ``Manhattan()`` 0.153 and ``Euclidean()`` 0.171.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import ScaledManhattan
    >>> from skeer.protocols import evaluate_fixed_text
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 30)
    >>> X = rng.normal(size=(4, 5))[y] + 0.3 * rng.normal(size=(120, 5))
    >>> report = evaluate_fixed_text(ScaledManhattan(), X, y, n_train=20)
    >>> report["n_subjects"], round(report["mean_subject_eer"], 3)
    (4, 0.0)
    """
    n_train = check_positive_int(n_train, "n_train")
    n_impostor_reps = check_positive_int(n_impostor_reps, "n_impostor_reps")
    n_samples = _n_samples(model, X)
    y = _check_identities(y, n_samples)

    ids, order, starts, counts = _enrol.group_subjects(y)
    kept = counts > n_train
    n_skipped = int((~kept).sum())
    if n_skipped:
        warnings.warn(
            f"evaluate_fixed_text skipped {n_skipped} of {len(ids)} subjects with "
            f"no more than n_train = {n_train} repetitions.",
            UserWarning,
            stacklevel=2,
        )
    m = int(kept.sum())
    if m < 2:
        raise ValueError(
            f"At least 2 subjects with more than n_train = {n_train} repetitions "
            f"are needed, got {m}."
        )
    n_probes = counts[kept] - n_train
    if n_probes.min() < MIN_GENUINE:
        warnings.warn(
            f"{int((n_probes < MIN_GENUINE).sum())} subject(s) have fewer than "
            f"{MIN_GENUINE} genuine probes: their EER is unreliable.",
            UnreliableMetricWarning,
            stacklevel=2,
        )
    # enrolment and genuine probes of the kept subjects, in subject order
    k_starts = starts[kept]
    enrol = order[k_starts[:, None] + np.arange(n_train)].ravel()
    owner = np.repeat(np.arange(m), n_probes)
    within = np.arange(int(n_probes.sum())) - np.repeat(
        np.cumsum(n_probes) - n_probes, n_probes
    )
    probes = order[k_starts[owner] + n_train + within]
    # impostor repetitions: the first ones of every subject (skipped ones too)
    n_imp = np.minimum(counts, n_impostor_reps)
    imp_subject = np.repeat(np.arange(len(ids)), n_imp)
    within = np.arange(int(n_imp.sum())) - np.repeat(np.cumsum(n_imp) - n_imp, n_imp)
    imp_rows = order[starts[imp_subject] + within]
    # the kept subject (index in [0, m)) each impostor repetition belongs to
    kept_index = np.full(len(ids), -1)
    kept_index[kept] = np.arange(m)
    imp_owner = kept_index[imp_subject]

    judge = _enrol.judge(model, X)
    judge.rows(np.unique(np.concatenate([enrol, probes, imp_rows])))
    templates = judge.templates(enrol, np.repeat(np.arange(m), n_train), m)
    genuine = np.asarray(judge.claims(probes, templates, owner), dtype=np.float64)
    S = np.asarray(judge.matrix(imp_rows, templates), dtype=np.float64)

    bounds = np.concatenate(([0], np.cumsum(n_probes)))
    subject_eer, all_labels, all_scores = [], [], []
    for a in range(m):
        labels, scores = _binary(
            genuine[bounds[a] : bounds[a + 1]], S[imp_owner != a, a]
        )
        subject_eer.append(_quiet_eer(labels, scores))
        all_labels.append(labels)
        all_scores.append(scores)
    subject_eer = np.asarray(subject_eer)
    report = {
        "mean_subject_eer": float(subject_eer.mean()),
        "std_subject_eer": float(subject_eer.std(ddof=1)),
        "n_subjects": m,
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
