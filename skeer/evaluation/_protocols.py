"""The open-set protocol (:func:`evaluate_verification`) and its report."""

import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import _num_samples

from skeer._validation import check_positive_int, check_real, check_subjects, is_integer
from skeer.metrics import _bootstrap
from skeer.metrics._kit_measures import _kit_threshold
from skeer.metrics._rates import UnreliableMetricWarning, equal_error_rate, fnmr_at_fmr
from skeer.metrics._sweep import auc
from skeer.templates import _open_set

__all__ = ["VerificationReport", "evaluate_verification"]


class VerificationReport(dict):
    """A protocol's report: a plain, JSON-ready ``dict`` of numbers, plus two tables.

    ``subjects``: a :class:`pandas.DataFrame`, one row per subject judged
    (``subject``, ``n_genuine``, ``n_impostor``, ``eer``; for free text also
    ``auc``, ``accuracy``, ``fnmr_at_fmr_{level}``). ``comparisons``: with
    ``return_comparisons=True``, every comparison (``subject``: whose template,
    ``probe_subject``, ``probe``: its row in ``X``, ``genuine``, ``score``).

    Examples
    --------
    >>> from skeer.evaluation._protocols import VerificationReport
    >>> report = VerificationReport({"eer": 0.1})
    >>> report["eer"], report.subjects is None
    (0.1, True)
    """

    def __init__(self, *args, subjects=None, comparisons=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.subjects = subjects
        self.comparisons = comparisons


def _n_samples(model, X):
    """Number of samples, checking ``model`` and ``X`` agree."""
    if model is None or isinstance(model, str):
        _open_set.judge(model, X)  # raises the error that names what model may be
    if _open_set.has_own_geometry(model) or hasattr(model, "transform"):
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
    y_true = np.repeat(np.array([1, 0], dtype=np.int64), [len(genuine), len(impostor)])
    return y_true, np.r_[genuine, impostor]


def _quiet_eer(y_true, scores):
    with warnings.catch_warnings():  # few genuine scores per subject: the protocol
        warnings.simplefilter("ignore", UnreliableMetricWarning)
        return float(equal_error_rate(y_true, scores))


#: seconds a protocol runs before its progress bar appears
PROGRESS_DELAY = 3.0


def progress(verbose, desc, total):
    """A tqdm bar on stderr over ``total`` subjects, drawn after PROGRESS_DELAY s."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, unit=" subjects", delay=PROGRESS_DELAY,
        leave=False, disable=not verbose,
    )  # fmt: skip


def evaluate_verification(
    model,
    X,
    y,
    *,
    n_enroll=5,
    n_probe=5,
    fmr_levels=(0.001, 0.01, 0.1),
    n_bootstraps=200,
    confidence=0.95,
    random_state=0,
    return_comparisons=False,
    return_scores=False,
    verbose=True,
):
    """Open-set verification protocol for free text (TypeNet / KVC style).

    Per subject, the first ``n_enroll`` samples enrol, the last ``n_probe`` are
    genuine probes and every other subject's first probe is an impostor probe,
    scored by the model's own templates (see :ref:`protocols`).

    Parameters
    ----------
    model : array-like of shape (n_samples, n_features) or object
        A fitted estimator with its own enrolment (or a ``Pipeline`` ending in
        one), a fitted transformer returning embeddings, or embeddings.
    X : sequence of sessions, array-like or None
        The model's input, aligned with ``y`` (None for embeddings).
    y : array-like of shape (n_samples,)
        Subject of each sample, samples in their given order.
    n_enroll : int, default=5
        Enrolment samples per subject.
    n_probe : int or None, default=5
        Genuine probes per subject (at most those after enrolment; None: all).
    fmr_levels : sequence of float in (0, 1), default=(0.001, 0.01, 0.1)
        False-match rates at which to report the false non-match rate.
    n_bootstraps : int, default=200
        Bootstrap replicates (resampling subjects) for the intervals; 0: none.
    confidence : float in (0, 1), default=0.95
        Level of the percentile intervals.
    random_state : int, Generator or None, default=0
        Seeds the bootstrap.
    return_comparisons : bool, default=False
        Attach every comparison as ``report.comparisons`` (:func:`paired_difference`).
    return_scores : bool, default=False
        Also return the binary labels and scores (e.g. for DET plots).
    verbose : bool, default=True
        A progress bar on stderr, drawn after 3 s.

    Returns
    -------
    report : VerificationReport
        Plain Python numbers: ``"eer"`` (all scores pooled),
        ``"mean_subject_eer"``, ``"std_subject_eer"`` (``ddof=1``),
        ``"mean_subject_auc"`` and ``"mean_subject_accuracy"`` (the KVC kit's,
        at each subject's own EER threshold), ``"fnmr_at_fmr_{level:g}"``,
        ``"auc"``, ``"n_subjects"``, ``"n_genuine"``, ``"n_impostor"``; with
        ``n_bootstraps``, ``"ci"`` (``{metric: [low, high]}``),
        ``"confidence"`` and ``"n_bootstraps"``.
    y_binary : ndarray of shape (n_genuine + n_impostor,), dtype int64
        With ``return_scores=True``: 1 genuine (first), 0 impostor.
    scores : ndarray of shape (n_genuine + n_impostor,), dtype float64
        With ``return_scores=True``: the similarities.

    Raises
    ------
    ValueError
        If fewer than 2 subjects have at least ``n_enroll + 1`` samples.

    Warns
    -----
    UserWarning
        Counting the subjects skipped for having fewer than ``n_enroll + 1`` samples.

    Notes
    -----
    ``n_impostor = n_subjects * (n_subjects - 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.evaluation import evaluate_verification
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(20), 10)
    >>> embeddings = rng.normal(size=(20, 8))[y] + 0.5 * rng.normal(size=(200, 8))
    >>> report = evaluate_verification(embeddings, None, y)
    >>> report["n_subjects"], report["n_genuine"], report["n_impostor"]
    (20, 100, 380)
    """
    n_enroll = check_positive_int(n_enroll, "n_enroll")
    n_probe = check_positive_int(n_probe, "n_probe", allow_none=True)
    _check_bootstrap(n_bootstraps, confidence)
    levels = [check_real(v, "fmr_levels", low=0, high=1) for v in np.ravel(fmr_levels)]
    n_samples = _n_samples(model, X)
    y = check_subjects(y, n_samples, classifier=False)
    split = _open_set.open_set_split(y, n_enroll, n_probe)
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
    with progress(verbose, "evaluate_verification", m) as bar:  # shown while embedding
        genuine, S = _open_set.open_set_scores(_open_set.judge(model, X), split)
        impostors = _open_set.impostor_scores(S)
        subject_eer, subject_auc, subject_acc = np.empty(m), np.empty(m), np.empty(m)
        subject_fnmr = np.empty((m, len(levels)))
        counts = np.bincount(split.owner, minlength=m)
        bounds = np.concatenate(([0], np.cumsum(counts)))
        columns = np.ascontiguousarray(S.T)  # columns[a]: every probe vs template a
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreliableMetricWarning)
            for a in range(m):
                own = np.concatenate((columns[a, :a], columns[a, a + 1 :]))
                gen = genuine[bounds[a] : bounds[a + 1]]
                labels, sc = _binary(gen, own)
                subject_eer[a] = float(equal_error_rate(labels, sc))
                subject_auc[a] = auc(gen, own)
                # the KVC kit's accuracy, at the subject's own kit EER threshold
                subject_acc[a] = np.mean((sc > _kit_threshold(labels, sc)) == labels)
                if levels:
                    subject_fnmr[a] = fnmr_at_fmr(labels, sc, fmr=np.asarray(levels))
                bar.update()
    del columns

    y_binary, scores = _binary(genuine, impostors)
    report = VerificationReport(
        {
            "eer": float(equal_error_rate(y_binary, scores)),
            "mean_subject_eer": float(subject_eer.mean()),
            "std_subject_eer": float(subject_eer.std(ddof=1)),
            "mean_subject_auc": float(subject_auc.mean()),
            "mean_subject_accuracy": float(subject_acc.mean()),
        }
    )
    if levels:
        fnmr = np.atleast_1d(fnmr_at_fmr(y_binary, scores, fmr=np.asarray(levels)))
        report.update({f"fnmr_at_fmr_{lv:g}": float(v) for lv, v in zip(levels, fnmr)})
    report["auc"] = auc(genuine, impostors)
    report["n_subjects"] = m
    report["n_genuine"] = int(len(genuine))
    report["n_impostor"] = int(len(impostors))

    # who is compared with whom: template owner and probe of every comparison
    off = ~np.eye(m, dtype=bool).ravel()
    owner = np.r_[split.owner, np.tile(np.arange(m), m)[off]]
    prober = np.r_[split.owner, np.repeat(np.arange(m), m)[off]]
    probe_rows = np.r_[split.probes, np.repeat(split.impostor, m)[off]]
    table = {
        "subject": split.subjects,
        "n_genuine": counts,
        "n_impostor": np.full(m, m - 1),
        "eer": subject_eer,
        "auc": subject_auc,
        "accuracy": subject_acc,
    }
    table.update({f"fnmr_at_fmr_{lv:g}": v for lv, v in zip(levels, subject_fnmr.T)})
    report.subjects = pd.DataFrame(table)
    _add_intervals(
        report, y_binary, scores, owner, subject_eer, levels,
        n_bootstraps, confidence, random_state, pooled=True,
    )  # fmt: skip
    if return_comparisons:
        report.comparisons = _comparisons(
            split.subjects[owner], split.subjects[prober], probe_rows, y_binary, scores
        )
    if return_scores:
        return report, y_binary, scores
    return report


def _check_bootstrap(n_bootstraps, confidence):
    if not is_integer(n_bootstraps) or n_bootstraps < 0:
        raise ValueError(
            f"n_bootstraps must be a non-negative integer, got {n_bootstraps!r}."
        )
    check_real(confidence, "confidence", low=0, high=1)


def _add_intervals(
    report, y_true, scores, owner, subject_eer, levels, n_bootstraps, confidence,
    random_state, *, pooled,
):  # fmt: skip
    if not n_bootstraps:
        return
    comparisons = _bootstrap.SortedComparisons(y_true, scores, owner, len(subject_eer))
    report["ci"] = _bootstrap.subject_intervals(
        comparisons,
        subject_eer,
        fmr_levels=levels,
        n_bootstraps=int(n_bootstraps),
        confidence=float(confidence),
        random_state=random_state,
        pooled=pooled,
    )
    report["confidence"] = float(confidence)
    report["n_bootstraps"] = int(n_bootstraps)


def _comparisons(subject, probe_subject, probe, y_true, scores):
    return pd.DataFrame(
        {
            "subject": subject,
            "probe_subject": probe_subject,
            "probe": probe,
            "genuine": y_true.astype(bool),
            "score": scores,
        }
    )
