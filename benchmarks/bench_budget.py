"""Training budget against data size: what ``max_epochs="auto"`` should mean.

``"auto"`` was 3,500 training steps whatever the data: 90 epochs on the 828
training users the recipe was tuned on, but 1,750 epochs (40 minutes on a CPU
core) on 40 users. Is a cap in epochs as good on small data? (Free text: no;
fixed text: better. ``docs/benchmarks.rst``, "Budget against data size".)

Free text (Aalto development users, ``KeystrokeFeatures()``, the default
verifier): train on the first N users (sorted ids) of the locked split's
training pool (``bench_ablation.locked_test_subjects`` are never used), judge
open-set (5 enrolment + 5 probe sessions) on the 300 pool users that follow
them: subjects the fit never saw, and not the locked test set.

Fixed text (GREYC-NISLAB, one passphrase, ``StandardScaler`` + the default
verifier): the 5 subject folds of ``bench_fixed_text.py``, each judged within
typing condition on a model trained on the other four; mean subject EER over
all 110 people.

Budgets: ``steps`` (3,500 steps, no epoch cap: ``"auto"`` for free text,
and for fixed text before it had a cap) and a fixed number of epochs (90:
``AUTO_MAX_EPOCHS``, the cap ``"auto"`` now puts on fixed text).
Differences are paired (same judged subjects and comparisons), bootstrapped
over subjects and pooled over the seeds both budgets ran.

Run ``OMP_NUM_THREADS=1 python benchmarks/bench_budget.py`` (free text 40,
100 and 400 users, GREYC P2; budgets 90 and steps; seeds 0-2: about 10 CPU
hours, nearly all of it the ``steps`` fits; ``--quick``: synthetic data, a
smoke run). Each run is kept in ``--work`` and reused, so the grid can be
filled over several invocations; the summary is printed as markdown and
written to ``benchmarks/results/budget.json``.
"""

import argparse
import functools
import json
import pickle
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ablation import DATA, locked_test_subjects

from skeer import KeystrokeFeatures, KeystrokeVerifier
from skeer.evaluation import evaluate_verification, paired_difference
from skeer.verifier import _training

ROOT = Path(__file__).resolve().parent
GREYC = ROOT.parent.parent / "shared" / "data" / "greyc-nislab-fixed-text.csv.gz"
N_JUDGED = 300


def _params(budget, seed):
    epochs = "auto" if budget == "steps" else int(budget)
    return dict(random_state=seed, verbose=0, max_epochs=epochs)


#: ``AUTO_TRAINING_STEPS`` for the ``steps`` budget (--quick lowers it)
STEPS = _training.AUTO_TRAINING_STEPS


def _uncapped(budget):
    """``steps``: ``max_epochs="auto"`` as it was, 3,500 steps, no epoch cap."""
    cap = 10**9 if budget == "steps" else _training.AUTO_MAX_EPOCHS
    patch = mock.patch.multiple(
        _training, AUTO_MAX_EPOCHS=cap, AUTO_TRAINING_STEPS=STEPS
    )
    return patch


def free_text_run(X, y, n_users, budget, seed, quick=False):
    """One fit on the first ``n_users`` pool users, judged on the next ones."""
    pool = np.setdiff1d(np.unique(y), locked_test_subjects(y))
    judged = N_JUDGED if not quick else 20
    train, test = np.isin(y, pool[:n_users]), np.isin(y, pool[n_users:][:judged])
    net = KeystrokeVerifier(**_params(budget, seed))
    if quick:
        net.set_params(n_subjects_per_batch=8, n_samples_per_subject=4)
    t0 = time.perf_counter()
    with _uncapped(budget), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        net.fit(X[train], y[train])
    fit_s = time.perf_counter() - t0
    n = 3 if quick else 5
    report = evaluate_verification(
        net, X[test], y[test], n_enroll=n, n_probe=n, return_comparisons=True,
        verbose=False,
    )  # fmt: skip
    return dict(report=report, fit_s=fit_s, epochs=net.max_epochs_,
                steps=net.max_epochs_ * net.batches_per_epoch_)  # fmt: skip


def fixed_text_run(data, budget, seed, folds=range(5)):
    """GREYC: the five subject folds, within-condition protocol, one report."""
    from bench_fixed_text import combine, folds_of, judge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, condition = data["X"], data["y"], data["condition"]
    fold = folds_of(y)
    reports, fit_s, steps = [], 0.0, []
    for f in folds:
        pipe = make_pipeline(
            StandardScaler(), KeystrokeVerifier(**_params(budget, seed))
        )
        t0 = time.perf_counter()
        with _uncapped(budget), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe.fit(X[fold != f], y[fold != f])
        fit_s += time.perf_counter() - t0
        steps.append(pipe[-1].max_epochs_ * pipe[-1].batches_per_epoch_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reports += judge(pipe, X, y, condition, fold == f)[0]
    return dict(report=combine(reports), fit_s=fit_s, epochs=pipe[-1].max_epochs_,
                steps=steps)  # fmt: skip


def summarise(runs, key, metric):
    """Rows of one data size: each budget's mean ± SD, and cap − steps paired."""
    rows = {}
    for budget, by_seed in sorted(runs.items()):
        values = np.array([r["report"][metric] for r in by_seed.values()])
        rows[budget] = {
            "seeds": sorted(by_seed),
            metric: values.tolist(),
            "mean": float(values.mean()),
            "sd": float(values.std(ddof=1)) if len(values) > 1 else None,
            "epochs": [r["epochs"] for r in by_seed.values()],
            "steps": [r["steps"] for r in by_seed.values()],
            "fit_minutes": [r["fit_s"] / 60 for r in by_seed.values()],
        }
    if "steps" in runs:
        for budget, by_seed in runs.items():
            common = sorted(set(by_seed) & set(runs["steps"]))
            if budget == "steps" or not common:
                continue
            diffs, reps = [], []
            for s in common:
                d = paired_difference(
                    by_seed[s]["report"], runs["steps"][s]["report"], metric=metric,
                    return_replicates=True,
                )  # fmt: skip
                diffs.append(d["difference"])
                reps.append(d["replicates"])
            pooled = np.mean(reps, axis=0)
            rows[budget]["minus_steps"] = {
                "seeds": common,
                "difference": float(np.mean(diffs)),
                "ci": [float(np.percentile(pooled, 2.5)),
                       float(np.percentile(pooled, 97.5))],
            }  # fmt: skip
    return {"data": key, "metric": metric, "budgets": rows}


def markdown(summaries):
    lines = [
        "| data | budget | seeds | metric (mean ± SD) | epochs | steps | fit (min) "
        "| budget − steps [95 % CI] |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in summaries:
        for budget, row in s["budgets"].items():
            sd = "" if row["sd"] is None else f" ± {100 * row['sd']:.2f}"
            diff = row.get("minus_steps")
            ci = "—" if diff is None else (
                f"{100 * diff['difference']:+.2f} [{100 * diff['ci'][0]:+.2f}, "
                f"{100 * diff['ci'][1]:+.2f}] (seeds "
                f"{','.join(map(str, diff['seeds']))})"
            )  # fmt: skip
            steps = sorted({int(np.mean(x)) if isinstance(x, list) else x
                            for x in row["steps"]})  # fmt: skip
            lines.append(
                f"| {s['data']} | {budget} | {len(row['seeds'])} | "
                f"{s['metric']} {100 * row['mean']:.2f}{sd} % | "
                f"{max(row['epochs'])} | {', '.join(map(str, steps))} | "
                f"{np.mean(row['fit_minutes']):.1f} | {ci} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="Aalto archive")
    parser.add_argument("--greyc", type=Path, default=GREYC)
    parser.add_argument("--users", default="40,100,400")
    parser.add_argument("--passphrases", default="P2", help="GREYC; '' for none")
    parser.add_argument("--budgets", default="90,steps")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", help="run only this budget (fill the grid in parts)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/skeer-bench-budget"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    budgets, seeds = args.budgets.split(","), [int(s) for s in args.seeds.split(",")]
    todo = [args.only] if args.only else budgets
    args.work.mkdir(parents=True, exist_ok=True)

    def cached(name, run):
        path = args.work / f"{name}.pkl"
        if not path.exists():
            print(f"running {name}", flush=True)
            with open(path, "wb") as f:
                pickle.dump(run(), f)
        with open(path, "rb") as f:
            return pickle.load(f)

    @functools.cache
    def free_text():
        """The featurised sessions and subjects, loaded once, when a run needs them."""
        if args.quick:
            from skeer.datasets import make_keystrokes

            S, y = make_keystrokes(n_subjects=60, n_sessions=8, random_state=0)
        else:
            from skeer.datasets import load_aalto

            if not args.data.exists():
                sys.exit(f"bench_budget: no data at {args.data}; pass --data PATH")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                S, y = load_aalto(args.data, return_X_y=True)
        return KeystrokeFeatures().fit_transform(S), y

    def free_text_run_lazily(n, b, s):
        return free_text_run(*free_text(), n, b, s, args.quick)

    summaries = []
    sizes = [int(n) for n in args.users.split(",")] if args.users else []
    if args.quick:
        global STEPS
        STEPS = 40
        sizes, budgets, todo, seeds = [16], ["2", "steps"], ["2", "steps"], seeds[:2]
    for n in sizes:
        runs = {}
        for b in budgets:
            for s in seeds:
                name = f"aalto_n{n}_{b}_s{s}" + ("_quick" if args.quick else "")
                if b in todo or (args.work / f"{name}.pkl").exists():
                    run = functools.partial(free_text_run_lazily, n, b, s)
                    runs.setdefault(b, {})[s] = cached(name, run)
        summaries.append(summarise(runs, f"free text, {n} users", "eer"))
    for p in [] if args.quick or not args.passphrases else args.passphrases.split(","):
        from bench_fixed_text import load as load_greyc

        data = load_greyc(args.greyc, [p], False)[p]
        runs = {}
        for b in budgets:
            for s in seeds:
                name = f"greyc_{p}_{b}_s{s}"
                if b in todo or (args.work / f"{name}.pkl").exists():
                    run = functools.partial(fixed_text_run, data, b, s)
                    runs.setdefault(b, {})[s] = cached(name, run)
        summaries.append(
            summarise(runs, f"GREYC {p}, ~88 training people", "mean_subject_eer")
        )
    md = markdown(summaries)
    print(md)
    name = "budget_quick" if args.quick else "budget"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.md").write_text(md + "\n", encoding="utf-8")
    with open(args.out / f"{name}.json", "w", encoding="utf-8") as f:
        json.dump(summaries, f, indent=1)
    print(f"wrote {args.out / name}.json and .md")


if __name__ == "__main__":
    main()
