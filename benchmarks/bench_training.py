"""Training overhead of KeystrokeVerifier over a plain PyTorch loop.

Question: how much slower is a training step through ``KeystrokeVerifier.fit``
(skorch's loop, callbacks, history, DataLoader) than the same step in a plain
PyTorch loop? Target: at most 10 %.

Both sides do the same work, step for step: the same network built from the
same seed (the estimator's ``torch.manual_seed(seeds[3])``), the same
identity-balanced batches (:class:`~skeer.verifier.SubjectBatchSampler` with
the estimator's batch seed, P x K = 40 x 8, ``batches_per_epoch=None``: as many
samples per epoch as the data has), the same EERLoss on L2-normalised
embeddings, the same Adam steps (lr 1e-3). Validation and early stopping are
off (``validation_size=0``, ``patience=None``). Cases:

- TypeNet on ``KeystrokeFeatures(max_len=50)`` of ``make_keystrokes`` (200
  subjects x 15 sessions: 10 batches an epoch), 1 epoch per run;
- the MLP on fixed-text vectors (CMU layout, 31 = 11 holds + 10 press-press +
  10 release-press latencies of 11-key ``make_keystrokes`` sessions; 10
  batches an epoch), 5 epochs per run.

The machine is shared and noisy, so the two sides are interleaved: every
repeat runs the plain loop and the estimator back to back (order alternating
between repeats: AB, BA, AB, ...), after one warm-up pair that is not counted.
A repeat's ratio is the estimator's per-step time over the plain loop's, from
that pair; the table gives the median ratio over repeats with its
interquartile range, on the wall clock and on the process's CPU time (which
leaves out time the process spent descheduled by other jobs).

What is timed: the plain loop from building the tensors and the sampler to the
last optimizer step (not building the network and optimizer); the estimator's
``fit_loop`` (skorch's whole training loop: datasets, DataLoader, steps,
callbacks, history). The estimator's fixed costs are reported apart: set-up
(``fit`` until the loop: validation, seeding, ``initialize``) and, after
training, enrolment (embedding every training session, one template per
identity) plus calibration of ``threshold_``.

Before timing, each case checks that the two sides start from equal weights
and draw equal batches. Then cProfile, on the training loops only (median of
three runs of each side),
says where a step's time goes: network forward, loss, backward, optimizer,
data, and everything else (the loop itself: skorch's machinery for the
estimator). cProfile inflates Python-heavy parts; its numbers locate the time,
the interleaved timings measure it.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_training.py     # ~3.5 min, 2 cores
    python benchmarks/bench_training.py --quick               # smoke run

Prints markdown tables and writes ``benchmarks/results/training.json`` and
``training.md``.
"""

import argparse
import cProfile
import importlib
import inspect
import json
import platform
import pstats
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from skeer import EERLoss, KeystrokeFeatures, KeystrokeVerifier, MLPEmbedder, TypeNet
from skeer.datasets import make_keystrokes
from skeer.verifier import SubjectBatchSampler

P, K, LR = 40, 8, 1e-3
TARGET = 0.10


def _clock():
    return np.array([time.perf_counter(), time.process_time()])


def _seeds(random_state):
    # KeystrokeVerifier.fit's seeds: [split, train batches, valid batches, torch]
    seeds = np.random.SeedSequence(random_state).spawn(4)
    return [int(s.generate_state(1)[0]) for s in seeds]


# -- the plain PyTorch loop -------------------------------------------------
def plain_loop(module_cls, X, y, *, epochs, n_batches, seed, profiler=None):
    """Train like the estimator, by hand; returns (set-up, loop) clocks, steps."""
    seeds = _seeds(seed)
    with torch.random.fork_rng():
        t0 = _clock()
        torch.manual_seed(seeds[3])
        module = module_cls(X.shape[-1])
        criterion = EERLoss()
        optimizer = torch.optim.Adam(module.parameters(), lr=LR)

        def train():  # a function, so that cProfile sees the loop's own time
            X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
            sampler = SubjectBatchSampler(
                y, P, K, n_batches=n_batches, random_state=seeds[1]
            )
            module.train()
            steps = 0
            for _ in range(epochs):
                for batch in sampler:
                    idx = torch.as_tensor(batch)
                    optimizer.zero_grad()
                    embeddings = F.normalize(module(X_t[idx]), dim=1)
                    loss = criterion(embeddings, y_t[idx])
                    loss.backward()
                    optimizer.step()
                    steps += 1
            return steps

        t1 = _clock()
        if profiler is not None:
            profiler.enable()
        steps = train()
        if profiler is not None:
            profiler.disable()
        t2 = _clock()
    return {"setup": t1 - t0, "loop": t2 - t1, "steps": steps}


# -- the estimator ----------------------------------------------------------
class _TimedVerifier(KeystrokeVerifier):
    """KeystrokeVerifier that stamps the clock around its training loop.

    Only clock reads are added (and, when asked, cProfile around the loop);
    the training itself is the estimator's.
    """

    _profiler = None

    def fit_loop(self, X, y=None, **fit_params):
        self.loop_start_ = _clock()
        if self._profiler is not None:
            self._profiler.enable()
        try:
            return super().fit_loop(X, y, **fit_params)
        finally:
            if self._profiler is not None:
                self._profiler.disable()
            self.loop_end_ = _clock()

    def _calibrate(self, *args, **kwargs):
        self.calibrate_start_ = _clock()
        return super()._calibrate(*args, **kwargs)


def estimator_fit(module_cls, X, y, *, epochs, n_batches, seed, profiler=None):
    """``KeystrokeVerifier.fit``, timed in parts; returns clocks and steps."""
    clf = _TimedVerifier(
        module=module_cls,
        lr=LR,
        # the plain loop's constant rate: the same work (the default schedule
        # only sets the rate before each step, microseconds a step)
        lr_schedule="constant",
        warmup_epochs=0,
        max_epochs=epochs,
        n_subjects_per_batch=P,
        n_samples_per_subject=K,
        batches_per_epoch=n_batches,
        validation_size=0,
        patience=None,
        random_state=seed,
    )
    clf._profiler = profiler
    t0 = _clock()
    clf.fit(X, y)
    t1 = _clock()
    steps = int(sum(clf.history[:, "train_batch_count"]))
    sizes = {b["train_batch_size"] for h in clf.history for b in h["batches"]}
    assert sizes == {P * K}, sizes
    return {
        "setup": clf.loop_start_ - t0,
        "loop": clf.loop_end_ - clf.loop_start_,
        "enrol": clf.calibrate_start_ - clf.loop_end_,
        "calibrate": t1 - clf.calibrate_start_,
        "steps": steps,
    }


def check_same_work(module_cls, X, y, *, n_batches, seed=0):
    """Assert both sides start from equal weights and draw equal batches."""
    clf = KeystrokeVerifier(
        module=module_cls,
        max_epochs=0,
        n_subjects_per_batch=P,
        n_samples_per_subject=K,
        batches_per_epoch=n_batches,
        validation_size=0,
        patience=None,
        random_state=seed,
    ).fit(X, y)
    seeds = _seeds(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seeds[3])
        module = module_cls(X.shape[-1])
    theirs = clf.module_.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in module.state_dict().items())
    ours = SubjectBatchSampler(y, P, K, n_batches=n_batches, random_state=seeds[1])
    dataset = clf.get_split_datasets(X, y)[0]
    assert list(ours) == list(clf.get_batch_sampler(dataset, training=True))


# -- data -------------------------------------------------------------------
def free_text_data():
    sessions, y = make_keystrokes(n_subjects=200, n_sessions=15, random_state=0)
    X = KeystrokeFeatures(max_len=50).fit_transform(sessions)
    return X, np.unique(y, return_inverse=True)[1].astype(np.int64)


def fixed_text_data():
    sessions, y = make_keystrokes(
        n_subjects=200, n_sessions=15, n_keys=11, random_state=1
    )
    Z = KeystrokeFeatures(max_len=11).fit_transform(sessions)
    # CMU layout: hold of each key, then press-press and release-press
    # latencies of each key pair
    X = np.hstack([Z[:, :, 0], Z[:, 1:, 1], Z[:, 1:, 3]]).astype(np.float32)
    return X, np.unique(y, return_inverse=True)[1].astype(np.int64)


# -- statistics -------------------------------------------------------------
def _summary(values):
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3)}


def run_case(name, module_cls, X, y, *, epochs, n_batches, repeats, seed0=0):
    """Interleaved repeats of (plain, estimator); per-repeat ratios."""
    kwargs = dict(epochs=epochs, n_batches=n_batches)
    plain_loop(module_cls, X, y, seed=seed0, **kwargs)  # warm-up, not counted
    estimator_fit(module_cls, X, y, seed=seed0, **kwargs)
    pairs = []
    for r in range(repeats):
        seed = seed0 + 1 + r
        if r % 2 == 0:
            a = plain_loop(module_cls, X, y, seed=seed, **kwargs)
            b = estimator_fit(module_cls, X, y, seed=seed, **kwargs)
        else:
            b = estimator_fit(module_cls, X, y, seed=seed, **kwargs)
            a = plain_loop(module_cls, X, y, seed=seed, **kwargs)
        assert a["steps"] == b["steps"], (a["steps"], b["steps"])
        pairs.append((a, b))
    steps = pairs[0][0]["steps"]
    row = {"network": name, "epochs": epochs, "steps": steps, "repeats": repeats}
    for i, clock in enumerate(("wall", "cpu")):
        plain = np.array([a["loop"][i] / steps for a, _ in pairs])
        est = np.array([b["loop"][i] / steps for _, b in pairs])
        row[clock] = {
            "plain_ms_per_step": _summary(1e3 * plain),
            "estimator_ms_per_step": _summary(1e3 * est),
            "ratio": _summary(est / plain),
            "ratios": (est / plain).round(4).tolist(),
            "extra_ms_per_step": _summary(1e3 * (est - plain)),
        }
        row[clock]["fixed_ms"] = {
            "plain_setup": _summary([1e3 * a["setup"][i] for a, _ in pairs]),
            "setup": _summary([1e3 * b["setup"][i] for _, b in pairs]),
            "enrol": _summary([1e3 * b["enrol"][i] for _, b in pairs]),
            "calibrate": _summary([1e3 * b["calibrate"][i] for _, b in pairs]),
            "enrol_and_calibrate": _summary(
                [1e3 * (b["enrol"][i] + b["calibrate"][i]) for _, b in pairs]
            ),
        }
    row["within_target"] = bool(
        max(row[c]["ratio"]["median"] for c in ("wall", "cpu")) <= 1 + TARGET
    )
    return row


# -- profile ----------------------------------------------------------------
def _code(fn):
    code = inspect.unwrap(fn).__code__
    return code.co_filename, code.co_firstlineno, code.co_name


def _profile_breakdown(prof, module_cls, steps):
    """ms per step by category, from a cProfile of one training loop."""
    stats = pstats.Stats(prof).stats
    loop_s = sum(v[2] for v in stats.values())  # all own time while profiling
    parts = {
        "network forward": [module_cls.forward],
        "loss": [EERLoss.forward],
        "backward": [torch.autograd.backward],
        "optimizer (zero_grad + Adam update)": [
            torch.optim.Optimizer.zero_grad,
            importlib.import_module("torch.optim.adam").adam,
        ],
        "batch sampling": [SubjectBatchSampler.__iter__],
    }
    out = {}
    for label, fns in parts.items():
        total = 0.0
        for fn in fns:
            key = _code(fn)
            total += stats[key][3] if key in stats else 0.0
        out[label] = 1e3 * total / steps
    total_ms = 1e3 * loop_s / steps
    out["everything else (loop, data, callbacks, history)"] = total_ms - sum(
        out.values()
    )
    out["total (under cProfile)"] = total_ms
    return out


_FRAMEWORK = (
    "skorch/",
    "torch/utils/data/",
    "torch/amp/",
    "skeer/verifier/_training.py",
    "skeer/verifier/_data.py",
    "skeer/verifier/_callbacks.py",
    "skeer/verifier/_estimator.py",
)


def _framework_top(prof, steps, n=8):
    """The estimator's own machinery with the most own time, ms per step."""
    stats = pstats.Stats(prof).stats
    rows = [
        (f"{Path(f).name}:{line}({fn})", v[1], 1e3 * v[2] / steps)
        for (f, line, fn), v in stats.items()
        if any(part in f.replace("\\", "/") for part in _FRAMEWORK)
    ]
    rows.sort(key=lambda r: r[2], reverse=True)
    return [
        {"function": name, "calls": calls, "own_ms_per_step": ms}
        for name, calls, ms in rows[:n]
    ]


def profile_case(name, module_cls, X, y, *, epochs, n_batches, repeats=3):
    """Median per-step breakdown over ``repeats`` profiled (plain, estimator) pairs."""
    kwargs = dict(epochs=epochs, n_batches=n_batches)
    runs = {"plain": [], "estimator": []}
    top = None
    for r in range(repeats):
        for side, fn in (("plain", plain_loop), ("estimator", estimator_fit)):
            prof = cProfile.Profile()
            res = fn(module_cls, X, y, profiler=prof, seed=1000 + r, **kwargs)
            prof.create_stats()
            runs[side].append(_profile_breakdown(prof, module_cls, res["steps"]))
            if side == "estimator" and r == 0:
                top = _framework_top(prof, res["steps"])
    out = {"network": name, "repeats": repeats}
    for side, parts in runs.items():
        out[side] = {k: float(np.median([p[k] for p in parts])) for k in parts[0]}
    out["estimator_framework_own_time"] = top
    return out


# -- report -----------------------------------------------------------------
def _pct(x):
    return f"{100 * (x - 1):+.1f} %"


def render(result):
    lines = []
    add = lines.append
    add(
        f"Training step overhead of KeystrokeVerifier.fit over a plain PyTorch "
        f"loop: batches of {P} x {K}, {result['threads']} torch thread(s), "
        f"median over {result['repeats']} interleaved repeats (IQR), "
        f"target <= {100 * TARGET:.0f} %.\n"
    )
    add(
        "| network | clock | steps/run | plain ms/step | estimator ms/step "
        "| overhead, median | IQR | single pairs, min to max | extra ms/step |"
    )
    add("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in result["rows"]:
        for clock in ("wall", "cpu"):
            c = row[clock]
            r = c["ratio"]
            add(
                f"| {row['network']} | {clock} | {row['steps']} "
                f"| {c['plain_ms_per_step']['median']:.2f} "
                f"| {c['estimator_ms_per_step']['median']:.2f} "
                f"| {_pct(r['median'])} | {_pct(r['q1'])} to {_pct(r['q3'])} "
                f"| {_pct(min(c['ratios']))} to {_pct(max(c['ratios']))} "
                f"| {c['extra_ms_per_step']['median']:+.2f} |"
            )
    add("")
    for row in result["rows"]:
        worst = max(row[c]["ratio"]["median"] for c in ("wall", "cpu"))
        verdict = "within" if row["within_target"] else "ABOVE"
        add(
            f"- {row['network']}: median overhead at most {_pct(worst)} "
            f"({verdict} the {100 * TARGET:.0f} % target)."
        )
    add("")
    add("Fixed costs of the estimator, outside the training loop (wall, median ms):\n")
    add(
        "| network | plain set-up (module, optimizer) | estimator set-up "
        "| enrolment | calibration | enrolment + calibration, in plain steps |"
    )
    add("|---|---:|---:|---:|---:|---:|")
    for row in result["rows"]:
        f = row["wall"]["fixed_ms"]
        step = row["wall"]["plain_ms_per_step"]["median"]
        add(
            f"| {row['network']} | {f['plain_setup']['median']:.1f} "
            f"| {f['setup']['median']:.1f} | {f['enrol']['median']:.1f} "
            f"| {f['calibrate']['median']:.1f} "
            f"| {f['enrol_and_calibrate']['median'] / step:.1f} |"
        )
    for prof in result.get("profiles", []):
        add("")
        add(
            f"Where a step's time goes, {prof['network']} (cProfile, wall ms per "
            f"step, median of {prof['repeats']} runs of each side):\n"
        )
        add("| part | plain loop | KeystrokeVerifier |")
        add("|---|---:|---:|")
        for label in prof["plain"]:
            add(
                f"| {label} | {prof['plain'][label]:.2f} "
                f"| {prof['estimator'][label]:.2f} |"
            )
        add("")
        add(
            f"The estimator's own machinery in {prof['network']}'s loop (skorch, "
            "DataLoader, autocast, skeer's hooks and callbacks), own time:\n"
        )
        add("| function | calls | ms per step |")
        add("|---|---:|---:|")
        for t in prof["estimator_framework_own_time"]:
            add(f"| `{t['function']}` | {t['calls']} | {t['own_ms_per_step']:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="default 15")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--no-profile", action="store_true", help="skip cProfile")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "training.json")
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 15)
    start = time.perf_counter()
    X_free, y_free = free_text_data()
    X_fixed, y_fixed = fixed_text_data()
    cases = [
        # (name, module, X, y, epochs, batches per epoch: None = the default)
        ("TypeNet", TypeNet, X_free, y_free, 1, 3 if args.quick else None),
        ("MLP", MLPEmbedder, X_fixed, y_fixed, 2 if args.quick else 5, None),
    ]
    rows, profiles = [], []
    for name, cls, X, y, epochs, nb in cases:
        check_same_work(cls, X, y, n_batches=nb)
        rows.append(
            run_case(name, cls, X, y, epochs=epochs, n_batches=nb, repeats=repeats)
        )
    if not args.no_profile:
        for name, cls, X, y, epochs, nb in cases:
            profiles.append(profile_case(name, cls, X, y, epochs=epochs, n_batches=nb))
    result = {
        "benchmark": "training",
        "batch": [P, K],
        "threads": args.threads,
        "repeats": repeats,
        "target_overhead": TARGET,
        "quick": args.quick,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "seconds": round(time.perf_counter() - start, 1),
        "rows": rows,
        "profiles": profiles,
    }
    table = render(result)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(
        "# Training overhead\n\n`OMP_NUM_THREADS=1 python benchmarks/bench_training.py`"
        f"{' --quick' if args.quick else ''} ({result['seconds']:.0f} s)\n\n"
        + table
        + "\n"
    )
    print(f"\nwrote {out} and {out.with_suffix('.md')} ({result['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
