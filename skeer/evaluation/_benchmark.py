"""Loss ablation (:func:`compare_losses`, ``skeer bench``) and :data:`QUICK_PROFILE`."""

import time
import warnings
from types import MappingProxyType

import numpy as np
from sklearn.base import clone

from skeer.evaluation._loss_comparison import LossComparison

__all__ = ["QUICK_PROFILE", "LossComparison", "compare_losses"]

#: The read-only "quick" profile of ``skeer`` with no arguments: ``n_subjects`` and
#: ``n_sessions`` size the synthetic data, the others are
#: :class:`~skeer.KeystrokeVerifier` parameters (one to two minutes on two CPUs).
QUICK_PROFILE = MappingProxyType(
    {
        "n_subjects": 300,
        "n_sessions": 15,
        "max_epochs": 20,
        "n_subjects_per_batch": 20,
        "n_samples_per_subject": 15,
        "lr": 2e-3,
        "patience": 10,
    }
)

DEFAULT_LOSSES = ("supcon+eer", "eer", "supcon", "triplet")


def _unavailable(name):
    """None if the loss can be built here, else why not (e.g. a missing package)."""
    from skeer.registry import get_loss

    cls, kwargs = get_loss(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls(**kwargs)
    except ImportError as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    except (ValueError, TypeError):
        pass  # importable, but sized at fit (a proxy loss's num_classes)
    return None


def _variants(losses, known):
    """``[(label, loss name, estimator parameters)]`` of the ``losses`` argument."""
    if isinstance(losses, str):
        losses = [losses]
    variants = []
    for item in losses:
        if isinstance(item, str):
            label, name, extra = item, item, {}
        elif (
            isinstance(item, tuple)
            and len(item) == 3
            and all(map(isinstance, item, (str, str, dict)))
        ):
            label, name, extra = item[0], item[1], dict(item[2])
        else:
            raise ValueError(
                "each entry of losses must be a loss name or a (label, loss name, "
                f"estimator parameters) tuple, got {item!r}."
            )
        if name not in known:
            raise ValueError(f"unknown loss {name!r}; choose from {', '.join(known)}")
        fixed = set(extra) & {"criterion", "operating_point", "random_state"}
        if fixed := fixed | set(extra) & {"criterion__operating_point"}:
            raise ValueError(
                f"variant {label!r} sets {sorted(fixed)}: compare_losses sets "
                "them per run (use the loss name and operating_points)."
            )
        variant = (label, name, extra)
        if variant not in variants:  # an exact repeat runs once
            variants.append(variant)
    if not variants:
        raise ValueError(f"unknown loss '(none given)'; choose from {', '.join(known)}")
    return variants


def _check_variant_params(variants, estimator):
    """Every variant parameter is one the estimator takes (no silent typos)."""
    names = set(estimator.get_params(deep=False))
    prefixes = (*getattr(estimator, "prefixes_", ()), "module", "criterion")
    prefixes = tuple(f"{p}__" for p in (*prefixes, "optimizer"))
    for label, _, extra in variants:
        unknown = [k for k in extra if k not in names and not k.startswith(prefixes)]
        if unknown:
            raise ValueError(
                f"variant {label!r} sets {unknown}, not parameters of "
                f"{type(estimator).__name__}."
            )


def _check_labels(runs):
    """One run configuration per label (a collision would merge two methods)."""
    seen = {}
    for label, loss, op, extra in runs:
        key = (loss, op, tuple(sorted(extra.items(), key=lambda kv: kv[0])))
        if seen.setdefault(label, key) != key:
            raise ValueError(
                f"losses: the label {label!r} names two different runs (a variant "
                "label equal to another loss's name, or to an operating-point "
                "label such as 'eer@0.01'); give each variant its own label."
            )


def _plain(value):
    """Whether a parameter value is a JSON-ready scalar."""
    return value is None or isinstance(value, (bool, int, float, str))


def _runs(variants, operating_points):
    """``[(label, loss, operating point, params)]``: EER losses at each point."""
    return [
        (label if op == "eer" else f"{label}@{op:g}", loss, op, extra)
        for label, loss, extra in variants
        for op in (operating_points if loss.startswith("eer") else ("eer",))
    ]


def _fit_and_judge(cls, params, X, y, train, test, **protocol):
    """Fit one run on ``X[train]`` and judge it on ``X[test]`` (a joblib task)."""
    from sklearn.utils import _safe_indexing

    from skeer.evaluation._protocols import evaluate_verification

    net = cls(**params)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        net.fit(_safe_indexing(X, train), y[train])
    if getattr(net, "interrupted_", False):  # Ctrl-C or SIGTERM: stop here
        raise KeyboardInterrupt
    fit_s = time.perf_counter() - t0
    metrics = evaluate_verification(
        net, _safe_indexing(X, test), y[test], verbose=False, **protocol
    )
    hist = [dict(row) for row in net.history]
    durations = [h["dur"] for h in hist if "dur" in h]
    record = {
        "metrics": dict(metrics),
        "valid_eer": [h.get("valid_eer") for h in hist],
        "train_loss": [h.get("train_loss") for h in hist],
        "epochs": len(hist),
        "seconds_per_epoch": float(np.mean(durations)) if durations else None,
        "fit_s": fit_s,
    }
    return record, metrics


def _network_name(estimator):
    module = getattr(estimator, "module", None)
    if module is None:
        return "default network"
    return getattr(module, "__name__", type(module).__name__)


def compare_losses(
    X,
    y,
    *,
    losses=DEFAULT_LOSSES,
    operating_points=("eer",),
    estimator=None,
    features=None,
    n_seeds=3,
    test_size=1 / 3,
    n_enroll=5,
    n_probe=5,
    baseline="triplet",
    test_subjects=None,
    n_jobs=None,
    random_state=0,
    verbose=0,
):
    """Train the same verifier with each loss and judge it on unseen subjects.

    Per seed ``s`` (``random_state``, ``random_state + 1``, ...), a copy of
    ``estimator`` with each loss and ``random_state=s`` is fitted on the training
    subjects and judged with :func:`~skeer.evaluation.evaluate_verification` on
    the test subjects.

    Parameters
    ----------
    X : sequence of sessions or array-like of shape (n_samples, L, F)
        The sessions (with ``features``) or the estimator's input.
    y : array-like of shape (n_samples,)
        Subject of each sample.
    losses : sequence of str or tuple, default=("supcon+eer", "eer", \
            "supcon", "triplet")
        Loss names of :mod:`skeer.registry`, or variants ``(label, loss name,
        params)`` with estimator parameters (e.g. ``("eer 30 ep", "eer",
        {"max_epochs": 30})``). A loss that cannot be built here is skipped.
    operating_points : sequence of "eer" or float in (0, 1), default=("eer",)
        Where each EER loss trains; a run at FMR ``f`` is labelled ``"loss@f"``.
    estimator : KeystrokeVerifier, default=None
        The unfitted template of every run (cloned). None: ``KeystrokeVerifier()``.
    features : transformer, default=None
        Fitted and applied once to all of ``X`` before the splits.
    n_seeds : int, default=3
        Number of seeds (splits and initialisations).
    test_size : float in (0, 1) or int, default=1/3
        Share (or number) of subjects held out.
    n_enroll, n_probe : int, default=5
        As in :func:`~skeer.evaluation.evaluate_verification`.
    baseline : str or None, default="triplet"
        The reference run of :class:`LossComparison`.
    test_subjects : array-like or None, default=None
        Every seed's test subjects (a locked split). None: a new split per seed.
    n_jobs : int or None, default=None
        Runs fitted in parallel (joblib); results do not depend on it.
    random_state : int, default=0
        The first seed.
    verbose : int, default=0
        If positive, a progress bar over the runs (on stderr).

    Returns
    -------
    result : LossComparison
        Every run's report and curves, and their summary over seeds.

    Raises
    ------
    RuntimeError
        If none of ``losses`` can be built.

    Warns
    -----
    UserWarning
        ``"skipping loss NAME: REASON"`` for each loss that cannot be built.

    Examples
    --------
    >>> from skeer import KeystrokeFeatures, KeystrokeVerifier
    >>> from skeer.evaluation import compare_losses
    >>> from skeer.datasets import make_keystrokes
    >>> X, y = make_keystrokes(n_subjects=9, n_sessions=12, random_state=0)
    >>> net = KeystrokeVerifier(max_epochs=1, n_subjects_per_batch=3,
    ...                         n_samples_per_subject=4, patience=None)
    >>> result = compare_losses(X, y, losses=["eer", "triplet"], estimator=net,
    ...                         features=KeystrokeFeatures(max_len=10),
    ...                         n_seeds=1, n_enroll=3, n_probe=3)
    >>> list(result.summary), result.runs["eer"][0]["epochs"]
    (['eer', 'triplet'], 1)
    """
    from skeer.evaluation._model_selection import train_test_split_subjects
    from skeer.evaluation._paired import paired_difference
    from skeer.registry import LOSSES as known
    from skeer.registry import get_loss

    variants = _variants(losses, known)
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
        raise ValueError(f"n_seeds must be a positive integer, got {n_seeds!r}.")
    if isinstance(random_state, bool) or not isinstance(random_state, int):
        raise ValueError(f"random_state must be an int, got {random_state!r}.")
    if estimator is None:
        from skeer.verifier._estimator import KeystrokeVerifier

        estimator = KeystrokeVerifier()
    skipped = {}
    for name in dict.fromkeys(v[1] for v in variants):
        reason = _unavailable(name)
        if reason is not None:
            skipped[name] = reason
            warnings.warn(f"skipping loss {name}: {reason}", UserWarning, stacklevel=2)
    _check_variant_params(variants, estimator)
    _check_labels(_runs(variants, operating_points))
    runs = [r for r in _runs(variants, operating_points) if r[1] not in skipped]
    if not runs:
        names = [v[1] for v in variants]
        raise RuntimeError(f"none of the losses {names} is available")

    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0
    ):
        raise ValueError(
            "n_jobs must be None or a non-zero integer (-1: all cores), "
            f"got {n_jobs!r}."
        )
    y = np.asarray(y)
    if locked := test_subjects is not None:
        test_subjects = np.unique(np.asarray(test_subjects))
        present = np.isin(test_subjects, y)
        if test_subjects.size == 0 or not present.all():
            missing = test_subjects[~present][:5].tolist()
            raise ValueError(
                "test_subjects must be a non-empty list of subjects of y; "
                + (f"not in y: {missing}" if missing else "got none")
                + "."
            )
        test_mask = np.isin(y, test_subjects)
        if test_mask.all():
            raise ValueError("test_subjects leaves no subject to train on.")
    if features is not None:
        X = clone(features).fit_transform(X, y)
    tasks = []
    splits = {}
    for seed in range(random_state, random_state + n_seeds):
        if locked:
            splits[seed] = (~test_mask, test_mask)
        else:
            train_idx, test_idx, _, _ = train_test_split_subjects(
                np.arange(len(y)), y, test_size=test_size, random_state=seed
            )
            splits[seed] = (np.sort(train_idx), np.sort(test_idx))
        for label, loss, op, extra in runs:
            criterion, kwargs = get_loss(loss)
            base = clone(estimator).get_params(deep=False)
            params = {
                **{k: v for k, v in base.items() if not k.startswith("criterion__")},
                "criterion": criterion,
                "operating_point": op,
                "random_state": seed,
                **{f"criterion__{k}": v for k, v in kwargs.items()},
                **extra,
            }
            if params.get("verbose") is None:  # one bar: compare_losses' own
                params["verbose"] = 0
            tasks.append((seed, label, loss, op, extra, params))

    from sklearn.utils.parallel import Parallel, delayed
    from tqdm.auto import tqdm

    jobs = (
        delayed(_fit_and_judge)(
            type(estimator),
            params,
            X,
            y,
            *splits[seed],
            n_enroll=n_enroll,
            n_probe=n_probe,
            return_comparisons=baseline is not None,
        )
        for seed, *_, params in tasks
    )
    done = list(
        tqdm(
            Parallel(n_jobs=n_jobs, return_as="generator")(jobs),
            total=len(tasks),
            desc="compare_losses",
            unit="run",
            disable=not verbose,
            dynamic_ncols=True,
        )
    )
    results = {label: [] for label, *_ in runs}
    reports = {}
    for (seed, label, loss, op, extra, _), (record, metrics) in zip(tasks, done):
        record.update(seed=seed, loss=loss, operating_point=op)
        record["params"] = {k: v for k, v in extra.items() if _plain(v)}
        results[label].append(record)
        reports.setdefault(seed, {})[label] = record, metrics
    for seed, seed_runs in reports.items():
        # a locked split bootstraps the same subjects for every seed: averaging
        # the seeds' replicates is then a paired bootstrap of the mean difference
        ref = seed_runs.get(baseline)
        for label, (record, metrics) in seed_runs.items():
            if ref is not None and label != baseline:
                record["vs_baseline"] = paired_difference(
                    metrics,
                    ref[1],
                    random_state=random_state if locked else seed,
                    return_replicates=True,
                )
    params = {
        "model": _network_name(estimator),
        "max_epochs": getattr(estimator, "max_epochs", None),
        "batch": [
            getattr(estimator, "n_subjects_per_batch", None),
            getattr(estimator, "n_samples_per_subject", None),
        ],
        "n_seeds": n_seeds,
        "test_size": None if locked else test_size,
        "n_enroll": n_enroll,
        "n_probe": n_probe,
        "operating_points": list(operating_points),
        "test_subjects": int(np.unique(y[test_mask]).size) if locked else None,
    }
    return LossComparison(results, baseline=baseline, skipped=skipped, params=params)
