"""Training throughput of KeystrokeVerifier against a plain PyTorch loop.

Both sides do the same work: the same network and initial weights, the same
identity-balanced batches (P identities x K sessions), the same EERLoss on
L2-normalised embeddings and the same Adam steps. The estimator's overhead is
everything skorch and the estimator add (callbacks, history, data loading).
Validation is off on both sides so that only training is timed.

Usage::

    python benchmarks/bench_training.py           # 40 x 8 batches, 30 per run
    python benchmarks/bench_training.py --quick   # fewer batches

Prints a markdown table and writes ``benchmarks/results/training.json``.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from skeer import EERLoss, KeystrokeFeatures, KeystrokeVerifier, Type2Branch, TypeNet
from skeer.datasets import make_keystrokes
from skeer.sampler import IdentityBatchSampler


def _plain_loop(module_cls, X, y, *, p, k, n_batches, seed):
    torch.manual_seed(seed)
    module = module_cls(X.shape[-1])
    criterion = EERLoss()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    sampler = IdentityBatchSampler(y, p, k, n_batches=n_batches, random_state=seed)
    module.train()
    start = time.perf_counter()
    for batch in sampler:
        idx = torch.as_tensor(batch)
        optimizer.zero_grad()
        emb = F.normalize(module(X_t[idx]), dim=1)
        loss = criterion(emb, y_t[idx])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def _estimator(module_cls, X, y, *, p, k, n_batches, seed):
    clf = KeystrokeVerifier(
        module=module_cls,
        max_epochs=1,
        n_identities_per_batch=p,
        n_samples_per_identity=k,
        batches_per_epoch=n_batches,
        validation_size=0,
        patience=None,
        random_state=seed,
    )
    clf.fit(X, y)
    # skorch's EpochTimer: the whole epoch (data loading, steps, callbacks),
    # excluding the one-off set-up and the enrolment after training
    return clf.history[-1, "dur"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches")
    parser.add_argument("--repeats", type=int, default=3, help="best of N runs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "training.json")
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    p, k = 40, 8
    n_batches = 5 if args.quick else 30
    sessions, y = make_keystrokes(n_subjects=200, n_sessions=15, random_state=0)
    X = KeystrokeFeatures(max_len=50).fit_transform(sessions)
    y = y.astype(np.int64)
    rows = []
    for name, cls in (("TypeNet", TypeNet), ("Type2Branch", Type2Branch)):
        nb = max(2, n_batches // 3) if cls is Type2Branch else n_batches
        plain, est = [], []
        for r in range(args.repeats):  # interleaved, best of N
            plain.append(_plain_loop(cls, X, y, p=p, k=k, n_batches=nb, seed=r))
            est.append(_estimator(cls, X, y, p=p, k=k, n_batches=nb, seed=r))
        n_sessions = nb * p * k
        best_plain, best_est = min(plain), min(est)
        rows.append(
            {
                "network": name,
                "batches": nb,
                "plain_sessions_per_s": n_sessions / best_plain,
                "estimator_sessions_per_s": n_sessions / best_est,
                "overhead": best_est / best_plain - 1,
            }
        )
    print(f"Training throughput, batches of {p} x {k}, {args.threads} thread(s)\n")
    print(
        "| network | batches | plain loop (sessions/s) | KeystrokeVerifier "
        "(sessions/s) | overhead |"
    )
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['network']} | {r['batches']} | {r['plain_sessions_per_s']:.0f} | "
            f"{r['estimator_sessions_per_s']:.0f} | {100 * r['overhead']:+.1f} % |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "training",
                "batch": [p, k],
                "threads": args.threads,
                "repeats": args.repeats,
                "torch": torch.__version__,
                "machine": platform.machine(),
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
