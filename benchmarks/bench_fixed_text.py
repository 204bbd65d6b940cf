"""Fixed text on GREYC-NISLAB: classical detectors against the learned verifier.

Does a learned verifier beat Killourhy & Maxion's detectors on people it never
saw? GREYC-NISLAB (110 subjects, 5 passphrases, 20 repetitions each: 10 in
typing condition ``Class`` 1, then 10 in condition 2; CMU-layout timing
vectors in seconds, see :func:`skeer.datasets.load_greyc_nislab`).

Folds (fixed, never tuned): subjects sorted by ``User_ID``, fold = rank mod 5
(``User_ID`` 1, 6, 11, ... in fold 0). Each of the 5 folds is judged in turn;
the learned models train on the other 4 folds' subjects (the verifier holds out
20 % of them to stop early and calibrate) and never see a test subject.

Protocol (``evaluate_fixed_text``, Killourhy & Maxion style), *within each
typing condition*: per subject, reps 1-5 of the condition enrol, reps 6-10
are genuine probes, and reps 1-5 of every other test subject (same condition)
are impostor probes; a subject's EER is the mean of its two conditions' EERs,
and the reported number is the mean per-subject EER over all 110 subjects
(pooled over the 5 folds). Why within condition: the two conditions differ so
much (condition 2 is typed about 35 % faster) that enrolling in condition 1
and probing in condition 2 (``n_train=10``, the literal K&M split) puts every
genuine probe farther from its template than the condition-1 impostors: scaled
Manhattan scores EER > 0.5 there. That cross-condition protocol is still
reported, from the same fitted models, as the "condition shift" table.

Methods:

- classical detectors on the raw vectors (no training): ``ScaledManhattan``,
  ``Manhattan``, ``Euclidean``, ``Cosine``, ``MahalanobisNearestNeighbor``
  (Ledoit-Wolf shrinkage, and the plain pseudo-inverse), ``OneClassSVMDetector``;
- learned: ``make_pipeline(StandardScaler(), KeystrokeVerifier(criterion=C,
  geometry=T, template_input=I, random_state=seed))`` with the default MLP and
  training settings (lr 1e-3, at most 30 epochs, early stopping on the held-out
  subjects' EER with patience 5, P x K = 40 x 8), for C in {EERLoss,
  TripletMarginLoss} and (T, I) in {(cosine, False), (scaled_manhattan,
  False), (scaled_manhattan, True)}; the same budget for both losses.

Nothing is tuned on a test fold. The "best learned configuration" is chosen on
P1-P3 only (lowest mean EER over their folds and seeds) and its paired
bootstrap CI against scaled Manhattan (``paired_difference`` over subjects, on
the same comparisons) is then reported for every passphrase; P4 and P5 are the
untouched confirmation.

Cross-passphrase transfer: TypeNet (3-D per-key sequences: hold, inter-press,
inter-release, inter-key latency, key code; rebuilt from the vectors and
padded to 24 keys by ``KeystrokeFeatures``) trained on the four other
passphrases of the training folds' subjects (identity = the person, across
passphrases: decided on P1-P3 folds in a pilot, see docs/fixed_text.rst), and
judged on the held-out passphrase's test-fold subjects with the same protocol,
by its own cosine template and by scaled Manhattan over its embeddings. A
smaller TypeNet (64 units) and 10 batches an epoch keep it affordable; one
seed.

Run ``OMP_NUM_THREADS=1 python benchmarks/bench_fixed_text.py`` (about 26
CPU-minutes on the 2-core development machine, 60 % of them the triplet
fits; ``--quick`` for a smoke run: P1, two folds, one seed, no transfer;
``--classical`` for the classical detectors alone, every passphrase and fold,
in about a minute: ``fixed_text_classical.json``).
It prints markdown tables and writes
``benchmarks/results/fixed_text.json`` and ``fixed_text.md``. The data are read
from ``../shared/data/greyc-nislab-fixed-text.csv.gz`` (``--data``); the
benchmark exits with a message when they are absent.
"""

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skeer
from skeer import KeystrokeFeatures, KeystrokeVerifier
from skeer.baselines import (
    Cosine,
    Euclidean,
    MahalanobisNearestNeighbor,
    Manhattan,
    OneClassSVMDetector,
    ScaledManhattan,
)
from skeer.datasets import load_greyc_nislab
from skeer.evaluation import VerificationReport, evaluate_fixed_text, paired_difference
from skeer.losses import EERLoss, TripletMarginLoss

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "greyc-nislab-fixed-text.csv.gz"
PASSPHRASES = ("P1", "P2", "P3", "P4", "P5")
SELECTION = ("P1", "P2", "P3")  # where the best learned configuration is chosen
N_FOLDS = 5
MAX_KEYS = 24  # "united states of america"

CLASSICAL = {
    "ScaledManhattan": ScaledManhattan,
    "Manhattan": Manhattan,
    "Euclidean": Euclidean,
    "Cosine": Cosine,
    "MahalanobisNN (Ledoit-Wolf)": MahalanobisNearestNeighbor,
    "MahalanobisNN (pinv)": lambda: MahalanobisNearestNeighbor(shrinkage=None),
    "OneClassSVM": OneClassSVMDetector,
}
CRITERIA = {"EERLoss": EERLoss, "triplet": TripletMarginLoss}
TEMPLATES = {
    "cosine": ("cosine", False),
    "scaled_manhattan": ("scaled_manhattan", False),
    "scaled_manhattan+input": ("scaled_manhattan", True),
}
LEARNED = [f"{c} / {t}" for c in CRITERIA for t in TEMPLATES]
BASELINE = "ScaledManhattan"
TRANSFER = ("TypeNet transfer / cosine", "TypeNet transfer / scaled_manhattan")


# --------------------------------------------------------------------------
# data


def folds_of(y):
    """Fold of each sample: subjects sorted by id, fold = rank mod 5."""
    ids = np.unique(y)
    return np.searchsorted(ids, y) % N_FOLDS


def sequences(bunch):
    """Per-key sequences (n, 24, 5) rebuilt from CMU-layout vectors.

    Press times are the cumulative press-press latencies, release = press +
    hold (ms); key codes are the passphrase's characters (upper-case ASCII,
    32 for a space); ``KeystrokeFeatures`` makes the five channels.
    """
    keys = [32 if ch == " " else ord(ch.upper()) for ch in bunch.passphrase]
    X = bunch.data
    hold, press_press = X[:, 0::3], X[:, 1::3]
    press = np.hstack([np.zeros((len(X), 1)), np.cumsum(press_press, axis=1)]) * 1e3
    sessions = [np.column_stack([p, p + h * 1e3, keys]) for p, h in zip(press, hold)]
    return KeystrokeFeatures(max_len=MAX_KEYS).transform(sessions)


def load(path, passphrases, with_sequences):
    data = {}
    for p in passphrases:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            b = load_greyc_nislab(path, passphrase=p)
        data[p] = {
            "X": b.data.astype(np.float32),
            "y": b.target,
            "condition": b.condition,
            "passphrase": b.passphrase,
            "dropped": int(b.dropped["rows"] - len(b.target)),
            "warnings": [str(w.message) for w in caught],
        }
        if with_sequences:
            data[p]["S"] = sequences(b)
    return data


# --------------------------------------------------------------------------
# protocol


def judge(model, X, y, condition, test):
    """Within-condition and cross-condition reports of one fitted model.

    Returns ``(within, shift)``: ``within`` is a list of one report (the
    protocol within each condition, ``groups=condition``: n_train=5,
    comparisons kept, probe = row in the full data); ``shift`` the report of
    n_train=10 on all the test subjects' reps (condition 1 enrols).
    """
    rows = np.flatnonzero(test)
    report = evaluate_fixed_text(
        model, X[rows], y[rows], groups=condition[rows], n_train=5,
        n_impostor_reps=5, n_bootstraps=0, return_comparisons=True,
    )  # fmt: skip
    report.comparisons["probe"] = rows[report.comparisons["probe"].to_numpy()]
    shift = evaluate_fixed_text(
        model, X[rows], y[rows], n_train=10, n_impostor_reps=5, n_bootstraps=0
    )
    return [report], shift


def combine(reports):
    """One report over folds and conditions: a subject's EER is the mean of its
    conditions' EERs; comparisons concatenated (for ``paired_difference``)."""
    subjects = pd.concat([r.subjects for r in reports], ignore_index=True)
    per_subject = subjects.groupby("subject", sort=True)["eer"].mean()
    table = pd.DataFrame({"subject": per_subject.index, "eer": per_subject.values})
    comparisons = pd.concat([r.comparisons for r in reports], ignore_index=True)
    eer = table["eer"].to_numpy()
    return VerificationReport(
        {"mean_subject_eer": float(eer.mean()), "n_subjects": len(eer)},
        subjects=table,
        comparisons=comparisons,
    )


def shift_eer(reports):
    eer = np.concatenate([r.subjects["eer"].to_numpy() for r in reports])
    return float(eer.mean())


class Clock:
    """CPU and wall seconds per method."""

    def __init__(self):
        self.cpu, self.wall, self.n = {}, {}, {}

    def add(self, name, cpu, wall, count=True):
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.n[name] = self.n.get(name, 0) + int(count)

    def run(self, name, fn, *args, count=True):
        """``fn(*args)``, its time added to ``name`` (a run when ``count``)."""
        c, w = time.process_time(), time.perf_counter()
        out = fn(*args)
        self.add(name, time.process_time() - c, time.perf_counter() - w, count)
        return out


# --------------------------------------------------------------------------
# the runs


def learned_pipeline(criterion, template, seed):
    geometry, with_input = TEMPLATES[template]
    return make_pipeline(
        StandardScaler(),
        KeystrokeVerifier(
            criterion=CRITERIA[criterion](),
            geometry=geometry,
            template_input=with_input,
            random_state=seed,
        ),
    )


def _store(out, name, p, seed, res):
    out.setdefault(name, {}).setdefault(p, {}).setdefault(seed, []).append(res)


def run_within(data, passphrases, folds, seeds, clock, log, learned=True):
    """Reports[method][passphrase][seed] = per fold (within reports, shift)."""
    out, epochs = {}, {}
    for p in passphrases:
        d = data[p]
        X, y, cond = d["X"], d["y"], d["condition"]
        fold = folds_of(y)
        for k in folds:
            train, test = fold != k, fold == k
            for name, make in CLASSICAL.items():
                _store(
                    out, name, p, 0, clock.run(name, judge, make(), X, y, cond, test)
                )
            for seed in seeds if learned else ():
                for criterion in CRITERIA:
                    for template in TEMPLATES:
                        name = f"{criterion} / {template}"
                        pipe = learned_pipeline(criterion, template, seed)
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", UserWarning)
                            clock.run(name, pipe.fit, X[train], y[train])
                            res = clock.run(
                                name, judge, pipe, X, y, cond, test, count=False
                            )
                        hist = pipe[-1].history
                        epochs.setdefault(name, []).append(
                            (len(hist), int(np.argmin(hist[:, "valid_eer"])) + 1)
                        )
                        _store(out, name, p, seed, res)
            log(f"{p} fold {k} done ({time.perf_counter() - START:.0f} s)")
    return out, epochs


def run_transfer(data, folds, seed, clock, log):
    """TypeNet trained on the other four passphrases, judged on one."""
    out, epochs = {}, {}
    for p in PASSPHRASES:
        d = data[p]
        S, y, cond = d["S"], d["y"], d["condition"]
        fold = folds_of(y)
        others = [q for q in PASSPHRASES if q != p]
        for k in folds:
            test = fold == k
            keep = [folds_of(data[q]["y"]) != k for q in others]
            S_train = np.concatenate([data[q]["S"][m] for q, m in zip(others, keep)])
            # the identity is the person, across passphrases
            y_train = np.concatenate([data[q]["y"][m] for q, m in zip(others, keep)])
            clf = KeystrokeVerifier(
                random_state=seed,
                batches_per_epoch=10,
                module__hidden_size=64,
                module__embedding_dim=64,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                clock.run(TRANSFER[0], clf.fit, S_train, y_train)
                res = clock.run(TRANSFER[0], judge, clf, S, y, cond, test, count=False)
                E = np.zeros((len(y), clf.module_.embedding_dim), np.float32)
                E[test] = clf.transform(S[test])
                res_sm = clock.run(
                    TRANSFER[1], judge, ScaledManhattan(), E, y, cond, test
                )
            hist = clf.history
            epochs.setdefault(TRANSFER[0], []).append(
                (len(hist), int(np.argmin(hist[:, "valid_eer"])) + 1)
            )
            _store(out, TRANSFER[0], p, seed, res)
            _store(out, TRANSFER[1], p, seed, res_sm)
            log(f"transfer to {p} fold {k} done ({time.perf_counter() - START:.0f} s)")
    return out, epochs


# --------------------------------------------------------------------------
# summaries


def summarise(results):
    """method -> passphrase -> {within: [per seed], shift: [per seed]}."""
    summary = {}
    for name, by_p in results.items():
        for p, by_seed in by_p.items():
            within = [
                combine([r for res in runs for r in res[0]])["mean_subject_eer"]
                for _, runs in sorted(by_seed.items())
            ]
            shift = [
                shift_eer([res[1] for res in runs])
                for _, runs in sorted(by_seed.items())
            ]
            summary.setdefault(name, {})[p] = {"within": within, "shift": shift}
    return summary


def mean_sd(values):
    values = np.asarray(values, dtype=np.float64)
    sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return float(values.mean()), sd


def fmt(values):
    m, sd = mean_sd(values)
    return f"{m:.3f} ± {sd:.3f}" if len(values) > 1 else f"{m:.3f}"


def overall(summary, name, key, passphrases):
    """Per seed: the mean over passphrases of each passphrase's EER."""
    per_p = np.array([summary[name][p][key] for p in passphrases])
    return per_p.mean(axis=0)


def paired(results, a, b, passphrases, seeds_a):
    """Paired CI of a - b (mean subject EER) per passphrase and overall, per seed.

    Overall: a person's EER is the mean over passphrases and conditions
    (persons are the same across passphrases), and persons are resampled.
    """
    out = {}
    for seed in seeds_a:
        rows = {}
        all_a, all_b = [], []
        for p in passphrases:
            ra = combine([r for res in results[a][p][seed] for r in res[0]])
            rb = combine([r for res in results[b][p][0] for r in res[0]])
            rows[p] = paired_difference(ra, rb, metric="mean_subject_eer")
            for src, dst in ((results[a][p][seed], all_a), (results[b][p][0], all_b)):
                for res in src:
                    for r in res[0]:
                        comparisons = r.comparisons.assign(passphrase=p)
                        dst.append(
                            VerificationReport(
                                dict(r), subjects=r.subjects, comparisons=comparisons
                            )
                        )
        if len(passphrases) > 1:
            rows["all"] = paired_difference(
                combine(all_a), combine(all_b), metric="mean_subject_eer"
            )
        out[seed] = rows
    return out


def markdown(result):
    lines = []
    ps = result["passphrases"]
    head = "| method | " + " | ".join(ps) + " | mean |"
    rule = "|---|" + "---|" * (len(ps) + 1)
    for key, title in (
        ("within", "Mean per-subject EER, within condition (n_train=5 per condition)"),
        ("shift", "Condition shift: condition 1 enrols (n_train=10), condition 2 "
         "probes, condition-1 impostors"),
    ):  # fmt: skip
        lines += [f"### {title}", "", head, rule]
        for name, by_p in result["summary"].items():
            if key == "shift" and name in TRANSFER:
                continue
            cells = [fmt(by_p[p][key]) if p in by_p else "" for p in ps]
            if all(p in by_p for p in ps):
                cells.append(fmt(overall(result["summary"], name, key, ps)))
            else:
                cells.append("")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    best = result["best_learned"]
    lines += (
        []
        if best is None
        else [
            f"### Paired difference, {best} − {BASELINE} (mean subject EER, 95 % CI; "
            "negative = learned better)",
            "",
            "| seed | " + " | ".join(ps + (["all"] if len(ps) > 1 else [])) + " |",
            "|---|" + "---|" * (len(ps) + (len(ps) > 1)),
        ]
    )
    for seed, rows in result["paired"].items():
        cells = [
            f"{r['difference']:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]"
            for r in rows.values()
        ]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    lines.append("")
    if result.get("paired_transfer"):
        lines += [
            f"### Paired difference, {TRANSFER[1]} − {BASELINE} (seed "
            f"{result['transfer_seed']})",
            "",
            "| " + " | ".join(result["paired_transfer"]) + " |",
            "|" + "---|" * len(result["paired_transfer"]),
            "| "
            + " | ".join(
                f"{r['difference']:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]"
                for r in result["paired_transfer"].values()
            )
            + " |",
            "",
        ]
    lines += [
        "### Time per method (whole run; learned: fit + judge)",
        "",
        "| method | runs | CPU s | wall s | epochs run (mean) | best epoch (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in result["time"].items():
        ep = result["epochs"].get(name)
        ep_cells = (
            f"{np.mean([e[0] for e in ep]):.1f} | {np.mean([e[1] for e in ep]):.1f}"
            if ep
            else " | "
        )
        lines.append(
            f"| {name} | {t['runs']} | {t['cpu_s']:.1f} | {t['wall_s']:.1f} | "
            f"{ep_cells} |"
        )
    lines += ["", f"Total wall time: {result['wall_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-transfer", action="store_true")
    parser.add_argument(
        "--classical", action="store_true", help="the classical detectors only"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="JSON path (default: benchmarks/results/fixed_text.json, or "
        "fixed_text_quick.json with --quick); the table goes next to it as .md",
    )
    args = parser.parse_args(argv)
    if args.output is None:
        name = "fixed_text_quick.json" if args.quick else "fixed_text.json"
        if args.classical:
            name = "fixed_text_classical.json"
        args.output = ROOT / "benchmarks" / "results" / name
    if not args.data.exists():
        print(f"GREYC-NISLAB data not found at {args.data}; nothing to run.")
        return 0
    torch.set_num_threads(1)
    passphrases = ("P1",) if args.quick else PASSPHRASES
    folds = (0, 1) if args.quick else tuple(range(N_FOLDS))
    seeds = (0,) if args.quick or args.classical else tuple(range(args.seeds))
    transfer = not (args.quick or args.no_transfer or args.classical)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    data = load(args.data, PASSPHRASES if transfer else passphrases, transfer)
    clock = Clock()
    with warnings.catch_warnings():
        # 5 genuine probes per subject and condition: the protocol's choice
        warnings.simplefilter("ignore", skeer.metrics.UnreliableMetricWarning)
        results, epochs = run_within(
            data, passphrases, folds, seeds, clock, log, learned=not args.classical
        )
        if transfer:
            more, more_epochs = run_transfer(data, folds, 0, clock, log)
            results.update(more)
            epochs.update(more_epochs)
    summary = summarise(results)
    selection = [p for p in SELECTION if p in passphrases]
    best = None
    if not args.classical:
        best = min(
            LEARNED, key=lambda n: overall(summary, n, "within", selection).mean()
        )
    result = {
        "benchmark": "fixed_text",
        "quick": args.quick,
        "classical_only": args.classical,
        "data": "GREYC-NISLAB",
        "passphrases": list(passphrases),
        "folds": "subjects sorted by User_ID, fold = rank mod 5",
        "folds_run": list(folds),
        "seeds": list(seeds),
        "protocol": "evaluate_fixed_text within each condition: n_train=5, "
        "n_impostor_reps=5; subject EER = mean of its 2 conditions; 'shift': "
        "n_train=10 on all 20 reps (condition 1 enrols, condition 2 probes)",
        "selection_passphrases": selection,
        "best_learned": best,
        "summary": summary,
        "paired": {}
        if best is None
        else paired(results, best, BASELINE, list(passphrases), seeds),
        "epochs": {k: [list(e) for e in v] for k, v in epochs.items()},
        "time": {
            k: {"runs": clock.n[k], "cpu_s": clock.cpu[k], "wall_s": clock.wall[k]}
            for k in clock.cpu
        },
        "wall_s": time.perf_counter() - START,
        "dropped_rows": {p: data[p]["dropped"] for p in data},
        "torch": torch.__version__,
        "skeer": skeer.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "processor": platform.processor(),
    }
    if transfer:
        result["transfer_seed"] = 0
        result["paired_transfer"] = paired(
            results, TRANSFER[1], BASELINE, list(PASSPHRASES), (0,)
        )[0]
    table = markdown(result)
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(table)
    return 0


START = time.perf_counter()

if __name__ == "__main__":
    sys.exit(main())
