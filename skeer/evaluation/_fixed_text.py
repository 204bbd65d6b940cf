"""The Killourhy & Maxion protocol for fixed-text timing vectors."""

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from skeer._validation import check_positive_int, check_subjects
from skeer.evaluation._protocols import (
    VerificationReport,
    _add_intervals,
    _binary,
    _check_bootstrap,
    _comparisons,
    _n_samples,
    _quiet_eer,
    progress,
)
from skeer.metrics._rates import UnreliableMetricWarning
from skeer.metrics._sweep import MIN_GENUINE
from skeer.templates import _open_set

__all__ = ["evaluate_fixed_text"]

#: ``n_train="auto"`` enrols half the median repetitions, at most this many.
MAX_AUTO_TRAIN = 200


class _Design(NamedTuple):
    """Which rows enrol and probe in one condition (rows of the full data)."""

    group: object  # the condition's value, None without groups
    n_train: int
    subjects: np.ndarray  # (m,) ids of the subjects judged
    n_skipped: int  # subjects with no more than n_train repetitions
    enrol: np.ndarray  # (m * n_train,) rows, subject by subject
    probes: np.ndarray  # genuine probe rows, subject by subject
    n_probes: np.ndarray  # (m,)
    imp_rows: np.ndarray  # impostor probe rows
    imp_subject: np.ndarray  # their subject's id
    imp_owner: np.ndarray  # their index in [0, m), -1 for a skipped subject


def _resolve_n_train(n_train, counts):
    """``n_train``, with ``"auto"`` = half the median repetitions (1 to 200)."""
    if isinstance(n_train, str) and n_train == "auto":
        return int(min(MAX_AUTO_TRAIN, max(1, int(np.median(counts)) // 2)))
    return check_positive_int(n_train, "n_train")


def _check_groups(groups, n_samples):
    """``(values, codes)``: the distinct conditions and each sample's index."""
    if groups is None:
        return np.array([None], dtype=object), np.zeros(n_samples, dtype=np.intp)
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n_samples:
        raise ValueError(
            f"groups must be a 1-D array with one value per sample ({n_samples}), "
            f"got shape {groups.shape}."
        )
    if groups.dtype.kind == "f" and np.isnan(groups).any():
        raise ValueError("groups contains NaN: every sample needs a condition.")
    if groups.dtype == object and any(g is None for g in groups):
        raise ValueError("groups contains None: every sample needs a condition.")
    try:
        values, codes = np.unique(groups, return_inverse=True)
    except TypeError as exc:
        raise ValueError(
            "groups must hold values of one kind (all numbers or all strings)."
        ) from exc
    return values, codes.reshape(-1)


def _design(rows, y, group, n_train, n_impostor_reps):
    """The enrolment, genuine and impostor rows of one condition."""
    ids, order, starts, counts = _open_set.group_subjects(y[rows])
    order = rows[order]  # local sample order -> rows of the full data
    n_train = _resolve_n_train(n_train, counts)
    kept = counts > n_train
    m = int(kept.sum())
    n_probes = counts[kept] - n_train
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
    kept_index = np.full(len(ids), -1)
    kept_index[kept] = np.arange(m)
    return _Design(
        group=group,
        n_train=n_train,
        subjects=ids[kept],
        n_skipped=int((~kept).sum()),
        enrol=enrol,
        probes=probes,
        n_probes=n_probes,
        imp_rows=order[starts[imp_subject] + within],
        imp_subject=ids[imp_subject],
        imp_owner=kept_index[imp_subject],
    )


def _designs(y, values, codes, n_train, n_impostor_reps):
    """One design per condition with at least 2 subjects to judge; warns."""
    designs = [
        _design(np.flatnonzero(codes == g), y, value, n_train, n_impostor_reps)
        for g, value in enumerate(values)
    ]
    n_units = sum(len(d.subjects) + d.n_skipped for d in designs)
    n_skipped = sum(d.n_skipped for d in designs)
    where = "" if values[0] is None else " (subject-condition pairs)"
    if n_skipped:
        n_trains = sorted({d.n_train for d in designs})
        warnings.warn(
            f"evaluate_fixed_text skipped {n_skipped} of {n_units} subjects{where} "
            f"with no more than n_train = {', '.join(map(str, n_trains))} "
            "repetitions.",
            UserWarning,
            stacklevel=3,
        )
    if values[0] is None:
        m = len(designs[0].subjects)
        if m < 2:
            raise ValueError(
                f"At least 2 subjects with more than n_train = {designs[0].n_train} "
                f"repetitions are needed, got {m}."
            )
        return designs
    usable = [d for d in designs if len(d.subjects) >= 2]
    if dropped := [d.group for d in designs if len(d.subjects) < 2]:
        warnings.warn(
            f"evaluate_fixed_text skipped {len(dropped)} of {len(designs)} "
            f"conditions with fewer than 2 subjects to judge: {dropped[:5]}.",
            UserWarning,
            stacklevel=3,
        )
    if not usable:
        raise ValueError(
            "No condition has 2 subjects with more than n_train repetitions."
        )
    return usable


def _judge_condition(judge, d):
    """Per subject of one condition: its id, EER and comparisons."""
    m = len(d.subjects)
    owner = np.repeat(np.arange(m), d.n_probes)
    split = _open_set.OpenSetSplit(
        d.subjects, d.enrol.reshape(m, d.n_train), d.probes, owner, d.imp_rows, 0
    )
    genuine, S = _open_set.open_set_scores(judge, split, compute=False)
    bounds = np.concatenate(([0], np.cumsum(d.n_probes)))
    out = []
    for a, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        others = d.imp_owner != a
        labels, scores = _binary(genuine[lo:hi], S[others, a])
        probers = np.r_[np.full(hi - lo, d.subjects[a]), d.imp_subject[others]]
        rows = np.r_[d.probes[lo:hi], d.imp_rows[others]]
        eer = _quiet_eer(labels, scores)
        out.append((d.subjects[a], eer, labels, scores, probers, rows))
    return out


def evaluate_fixed_text(
    model,
    X,
    y,
    *,
    groups=None,
    n_train="auto",
    n_impostor_reps=5,
    n_bootstraps=200,
    confidence=0.95,
    random_state=0,
    return_comparisons=False,
    return_scores=False,
    verbose=True,
):
    """Killourhy & Maxion (DSN 2009) protocol for fixed-text timing vectors.

    Per subject, the first ``n_train`` repetitions enrol, the rest are genuine
    probes, and every other subject's first ``n_impostor_reps`` are impostor
    probes; subject EERs are averaged. With ``groups``, within each condition
    (a subject's EER: the mean over its conditions). See :ref:`protocols`.

    Parameters
    ----------
    model : object or array-like of shape (n_samples, n_features)
        As in :func:`evaluate_verification`, e.g. ``ScaledManhattan()``.
    X : array-like of shape (n_samples, n_features) or None
        Timing vectors (None for embeddings).
    y : array-like of shape (n_samples,)
        Subject of each sample; repetitions in their given order.
    groups : array-like of shape (n_samples,) or None, default=None
        The typing condition of each sample (None: one condition).
    n_train : int or "auto", default="auto"
        Enrolment repetitions per subject; ``"auto"``: half the median, at most 200.
    n_impostor_reps : int, default=5
        Impostor repetitions taken from each other subject.
    n_bootstraps, confidence, random_state, verbose
        As in :func:`evaluate_verification` (an interval of the mean subject EER).
    return_comparisons : bool, default=False
        Attach every comparison as ``report.comparisons`` (with ``groups``, ``group``).
    return_scores : bool, default=False
        Also return every subject's binary labels and scores, concatenated.

    Returns
    -------
    report : VerificationReport
        ``"mean_subject_eer"``, ``"std_subject_eer"`` (``ddof=1``),
        ``"n_subjects"``, ``"subject_eer"`` (sorted subject order) and
        ``"n_train"``; with ``groups``, ``"n_train"`` by condition and
        ``"groups"`` (each condition's ``mean_subject_eer``, ``n_subjects``);
        with ``n_bootstraps``, ``"ci"``, ``"confidence"``, ``"n_bootstraps"``.
    y_binary, scores : ndarray of shape (n_comparisons,)
        As in :func:`evaluate_verification`.

    Raises
    ------
    ValueError
        If fewer than 2 subjects have more than ``n_train`` repetitions.

    Warns
    -----
    UserWarning
        For subjects skipped (too few repetitions; still impostors), conditions
        with fewer than 2 subjects, or a mean subject EER worse than chance.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.baselines import ScaledManhattan
    >>> from skeer.evaluation import evaluate_fixed_text
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 30)
    >>> X = rng.normal(size=(4, 5))[y] + 0.3 * rng.normal(size=(120, 5))
    >>> report = evaluate_fixed_text(ScaledManhattan(), X, y)
    >>> report["n_subjects"], report["n_train"], round(report["mean_subject_eer"], 3)
    (4, 15, 0.0)
    """
    if not (isinstance(n_train, str) and n_train == "auto"):
        check_positive_int(n_train, "n_train")
    n_impostor_reps = check_positive_int(n_impostor_reps, "n_impostor_reps")
    _check_bootstrap(n_bootstraps, confidence)
    n_samples = _n_samples(model, X)
    y = check_subjects(y, n_samples, classifier=False)
    values, codes = _check_groups(groups, n_samples)
    designs = _designs(y, values, codes, n_train, n_impostor_reps)
    for d in designs:
        if d.n_probes.min() < MIN_GENUINE:
            warnings.warn(
                f"{int((d.n_probes < MIN_GENUINE).sum())} subject(s) have fewer "
                f"than {MIN_GENUINE} genuine probes: their EER is unreliable.",
                UnreliableMetricWarning,
                stacklevel=2,
            )
            break

    judge = _open_set.judge(model, X)
    judge.rows(
        np.unique(
            np.concatenate([np.r_[d.enrol, d.probes, d.imp_rows] for d in designs])
        )
    )
    units = []  # (condition index, subject id, eer, labels, scores, probers, rows)
    with progress(
        verbose, "evaluate_fixed_text", sum(len(d.subjects) for d in designs)
    ) as bar:
        for c, d in enumerate(designs):
            units += [(c, *r) for r in _judge_condition(judge, d)]
            bar.update(len(d.subjects))
    cond, unit_ids, unit_eer, labels, scores, probers, rows = zip(*units)
    ids, unit_subject = np.unique(np.asarray(unit_ids), return_inverse=True)
    unit_eer = np.asarray(unit_eer)
    n_units = np.bincount(unit_subject, minlength=len(ids))
    subject_eer = np.bincount(unit_subject, weights=unit_eer) / n_units
    n_cmp = np.asarray([len(v) for v in labels])
    n_genuine = np.asarray([int(v.sum()) for v in labels])
    y_all, s_all = np.concatenate(labels), np.concatenate(scores)
    owner = np.repeat(unit_subject, n_cmp)
    table = {
        "subject": ids,
        "n_genuine": np.bincount(unit_subject, weights=n_genuine).astype(np.int64),
        "n_impostor": np.bincount(unit_subject, weights=n_cmp - n_genuine).astype(
            np.int64
        ),
        "eer": subject_eer,
    }
    grouped = values[0] is not None
    if grouped:
        table["n_conditions"] = n_units
    report = VerificationReport(
        {
            "mean_subject_eer": float(subject_eer.mean()),
            "std_subject_eer": float(subject_eer.std(ddof=1)),
            "n_subjects": len(ids),
            "subject_eer": subject_eer.tolist(),
            "n_train": (
                {_plain(d.group): d.n_train for d in designs}
                if grouped
                else designs[0].n_train
            ),
        },
        subjects=pd.DataFrame(table),
    )
    if not grouped and report["mean_subject_eer"] > 0.5:
        warnings.warn(
            f"The mean subject EER is {report['mean_subject_eer']:.3f}, worse than "
            "chance: genuine probes score below impostors. Enrolment and probes "
            "probably come from different typing conditions (GREYC-NISLAB's "
            "first and last 10 repetitions, say): pass groups= to judge each "
            "condition on its own.",
            UserWarning,
            stacklevel=2,
        )
    if grouped:
        unit_condition = np.asarray(cond)
        report["groups"] = {
            _plain(d.group): {
                "mean_subject_eer": float(unit_eer[unit_condition == c].mean()),
                "n_subjects": len(d.subjects),
            }
            for c, d in enumerate(designs)
        }
    _add_intervals(
        report, y_all, s_all, owner, subject_eer, (),
        n_bootstraps, confidence, random_state, pooled=False,
    )  # fmt: skip
    if return_comparisons:
        report.comparisons = _comparisons(
            ids[owner], np.concatenate(probers), np.concatenate(rows), y_all, s_all
        )
        if grouped:
            group_of = np.asarray([designs[c].group for c in cond], dtype=object)
            report.comparisons["group"] = np.repeat(group_of, n_cmp)
    if return_scores:
        return report, y_all, s_all
    return report


def _plain(value):
    """A condition's value as a plain Python object (a JSON-ready dict key)."""
    return value.item() if isinstance(value, np.generic) else value
