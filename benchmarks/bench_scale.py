"""Evaluation at KVC scale: 15,000 enrolled identities, one million comparisons.

Scores (probe, claimed identity) comparisons in chunks, so that nothing larger
than a chunk is ever materialised, and computes the EER both with
``skeer.metrics.equal_error_rate`` on the collected scores (one million float32
scores are only 4 MB) and with ``StreamingVerificationMetrics`` fed chunk by
chunk; the two must be identical. Each stage runs in its own subprocess so that
its peak resident set size (``resource.getrusage``) is its own:

- ``floor``: the verifier below fitted and enrolled, nothing scored (the
  memory floor of the verifier stages).
- ``embeddings`` (the baseline): random unit templates (one per identity) and
  probe embeddings drawn per chunk near the true identity's template; a score
  is a dot product with the claimed identity's template (numpy only).
- ``verifier``: a tiny :class:`~skeer.KeystrokeVerifier` (MLP on 16-feature
  fixed-text vectors, trained briefly on 300 identities) ``enroll``-s all
  identities (5 samples each), then each chunk of probe vectors is embedded
  with ``transform`` and scored against the claimed templates; ``verify`` is
  timed on the same chunks and must agree with ``score >= threshold_``.
- ``decision``: ``decision_function`` of probe chunks against every enrolled
  identity (the closed-set layout: one column per identity), its EER streamed
  and computed in memory on the whole matrix.
- ``one_call``: for contrast, ``verify`` on all comparisons and
  ``decision_function`` on all probes in one call each (what chunking inside
  the verifier must keep bounded).

Comparisons are 10 % genuine (claimed = true identity) and 90 % impostor
(claimed uniform among the others). Timings are the best of ``--repeats`` and
are quoted as ratios to the baseline's scoring time measured in the same run.

Run ``python benchmarks/bench_scale.py`` (15,000 identities, 10^6 comparisons,
2,000 × 15,000 decision matrix; ``--quick``: 10x smaller); prints a markdown
table and writes ``benchmarks/results/scale.json``.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SEED = 2026
N_FEATURES = 16
DIM = 64
NOISE = 0.6  # within-identity spread of the input vectors
EMB_NOISE = 0.25  # per-dimension spread of the baseline's probe embeddings


def peak_rss_bytes():
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def centers(n_ids):
    return np.random.default_rng([SEED, 0]).normal(size=(n_ids, N_FEATURES))


def comparisons(n, n_ids, size):
    """Deterministic chunks of (true identity, claimed identity, is genuine)."""
    for k, start in enumerate(range(0, n, size)):
        m = min(size, n - start)
        rng = np.random.default_rng([SEED, 1, k])
        true = rng.integers(0, n_ids, m)
        genuine = rng.random(m) < 0.1
        other = (true + rng.integers(1, n_ids, m)) % n_ids  # never the true one
        claimed = np.where(genuine, true, other)
        yield k, true, claimed, genuine.astype(np.int8)


def samples(mu, ids, rng):
    """Input vectors of the given identities (fixed-text style, float32)."""
    return (mu[ids] + NOISE * rng.normal(size=(len(ids), N_FEATURES))).astype(
        np.float32
    )


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def metrics_of(y_all, s_all, stream):
    from skeer.metrics import equal_error_rate

    start = time.perf_counter()
    eer = equal_error_rate(y_all, s_all)
    seconds_in_memory = time.perf_counter() - start
    start = time.perf_counter()
    eer_stream = stream.equal_error_rate()
    seconds_query = time.perf_counter() - start
    return eer, seconds_in_memory, eer_stream, seconds_query


# ----------------------------------------------------------------------
# stages (each in its own subprocess)
def run_floor(args):
    mu = centers(args.n_ids)
    start = time.perf_counter()
    _enrolled_verifier(args, mu)
    return {"seconds": time.perf_counter() - start}


def run_embeddings(args):
    from skeer.metrics import StreamingVerificationMetrics

    rng = np.random.default_rng([SEED, 2])
    templates = unit(rng.normal(size=(args.n_ids, DIM))).astype(np.float32)
    best = None
    for _ in range(args.repeats):
        y_all = np.empty(args.n, np.int8)
        s_all = np.empty(args.n, np.float32)
        stream = StreamingVerificationMetrics()
        t_score = t_update = 0.0
        pos = 0
        for k, true, claimed, genuine in comparisons(args.n, args.n_ids, args.chunk):
            noise = np.random.default_rng([SEED, 3, k]).normal(size=(len(true), DIM))
            probes = unit(templates[true] + EMB_NOISE * noise).astype(np.float32)
            start = time.perf_counter()
            scores = np.einsum("ij,ij->i", probes, templates[claimed])
            t_score += time.perf_counter() - start
            start = time.perf_counter()
            stream.update(genuine, scores)
            t_update += time.perf_counter() - start
            y_all[pos : pos + len(scores)] = genuine
            s_all[pos : pos + len(scores)] = scores
            pos += len(scores)
        eer, t_mem, eer_stream, t_query = metrics_of(y_all, s_all, stream)
        stream.close()
        if best is None or t_score < best["seconds_score"]:
            best = {
                "seconds_score": t_score,
                "seconds_eer_in_memory": t_mem,
                "seconds_eer_streaming": t_update + t_query,
                "eer": eer,
                "eer_streaming": eer_stream,
            }
    return best


def _fitted_verifier(args, mu):
    import torch

    from skeer import KeystrokeVerifier
    from skeer.networks import MLPEmbedder

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng([SEED, 4])
    n_train = min(300, args.n_ids)
    y = np.repeat(np.arange(n_train), 10)
    clf = KeystrokeVerifier(
        MLPEmbedder,
        module__hidden_sizes=(64,),
        module__embedding_dim=DIM,
        module__dropout=0.0,
        max_epochs=3,
        n_subjects_per_batch=32,
        n_samples_per_subject=5,
        validation_size=0.2,
        batch_size=8192,
        random_state=0,
    )
    return clf.fit(samples(mu, y, rng), y)


def _enrolled_verifier(args, mu):
    clf = _fitted_verifier(args, mu)
    enrol_ids = np.repeat(np.arange(args.n_ids), 5)
    X_enrol = samples(mu, enrol_ids, np.random.default_rng([SEED, 5]))
    return clf.enroll(X_enrol, enrol_ids), X_enrol, enrol_ids


def run_verifier(args):
    from skeer.metrics import StreamingVerificationMetrics

    mu = centers(args.n_ids)
    start = time.perf_counter()
    clf, X_enrol, enrol_ids = _enrolled_verifier(args, mu)
    t_fit = time.perf_counter() - start
    best = None
    for _ in range(args.repeats):
        start = time.perf_counter()
        clf.enroll(X_enrol, enrol_ids)
        t_enroll = time.perf_counter() - start
        y_all = np.empty(args.n, np.int8)
        s_all = np.empty(args.n, np.float32)
        stream = StreamingVerificationMetrics()
        t_score = t_verify = t_update = 0.0
        agree = True
        pos = 0
        for k, true, claimed, genuine in comparisons(args.n, args.n_ids, args.chunk):
            X = samples(mu, true, np.random.default_rng([SEED, 6, k]))
            start = time.perf_counter()
            scores = np.einsum("ij,ij->i", clf.transform(X), clf.templates_[claimed])
            t_score += time.perf_counter() - start
            start = time.perf_counter()
            accepted = clf.verify(X, claimed)
            t_verify += time.perf_counter() - start
            agree &= bool(np.array_equal(accepted, scores >= clf.threshold_))
            start = time.perf_counter()
            stream.update(genuine, scores)
            t_update += time.perf_counter() - start
            y_all[pos : pos + len(scores)] = genuine
            s_all[pos : pos + len(scores)] = scores
            pos += len(scores)
        eer, t_mem, eer_stream, t_query = metrics_of(y_all, s_all, stream)
        stream.close()
        if best is None or t_score < best["seconds_score"]:
            best = {
                "seconds_fit": t_fit,
                "seconds_enroll": t_enroll,
                "seconds_score": t_score,
                "seconds_verify": t_verify,
                "seconds_eer_in_memory": t_mem,
                "seconds_eer_streaming": t_update + t_query,
                "eer": eer,
                "eer_streaming": eer_stream,
                "verify_agrees_with_scores": agree,
                "n_enrolled": len(clf.classes_),
                "threshold": clf.threshold_,
            }
    return best


def run_decision(args):
    from skeer.metrics import StreamingVerificationMetrics, equal_error_rate

    mu = centers(args.n_ids)
    clf, _, _ = _enrolled_verifier(args, mu)
    true = np.random.default_rng([SEED, 7]).integers(0, args.n_ids, args.n_probes)
    X = samples(mu, true, np.random.default_rng([SEED, 8]))
    # probes per decision_function call: a block of at most --decision-block scores
    block = max(1, args.decision_block // args.n_ids)
    best = None
    for _ in range(args.repeats):
        stream = StreamingVerificationMetrics()
        matrix = np.empty((args.n_probes, args.n_ids), np.float32)
        t_decision = t_update = 0.0
        for start_row in range(0, args.n_probes, block):
            rows = slice(start_row, start_row + block)
            start = time.perf_counter()
            scores = clf.decision_function(X[rows])
            t_decision += time.perf_counter() - start
            start = time.perf_counter()
            stream.update(true[rows], scores, labels=clf.classes_)
            t_update += time.perf_counter() - start
            matrix[rows] = scores
        start = time.perf_counter()
        eer = equal_error_rate(true, matrix, labels=clf.classes_)
        t_mem = time.perf_counter() - start
        start = time.perf_counter()
        eer_stream = stream.equal_error_rate()
        t_query = time.perf_counter() - start
        stream.close()
        del matrix
        if best is None or t_decision < best["seconds_score"]:
            best = {
                "seconds_score": t_decision,
                "seconds_eer_in_memory": t_mem,
                "seconds_eer_streaming": t_update + t_query,
                "eer": eer,
                "eer_streaming": eer_stream,
                "probes_per_call": block,
                "n_comparisons": args.n_probes * args.n_ids,
            }
    return best


def run_one_call(args):
    """``verify`` and ``decision_function`` each called once on everything."""
    mu = centers(args.n_ids)
    clf, _, _ = _enrolled_verifier(args, mu)
    parts = list(comparisons(args.n, args.n_ids, args.chunk))
    X = np.concatenate(
        [samples(mu, t, np.random.default_rng([SEED, 6, k])) for k, t, _, _ in parts]
    )
    claimed = np.concatenate([c for _, _, c, _ in parts])
    rss_inputs = peak_rss_bytes()
    start = time.perf_counter()
    accepted = clf.verify(X, claimed)
    t_verify = time.perf_counter() - start
    rss_verify = peak_rss_bytes()
    true = np.random.default_rng([SEED, 7]).integers(0, args.n_ids, args.n_probes)
    probes = samples(mu, true, np.random.default_rng([SEED, 8]))
    start = time.perf_counter()
    matrix = clf.decision_function(probes)
    t_decision = time.perf_counter() - start
    return {
        "seconds_verify": t_verify,
        "seconds_decision": t_decision,
        "peak_rss_before_verify_bytes": rss_inputs,
        "peak_rss_after_verify_bytes": rss_verify,
        "accepted": int(accepted.sum()),
        "decision_shape": list(matrix.shape),
    }


WORKERS = {
    "floor": run_floor,
    "embeddings": run_embeddings,
    "verifier": run_verifier,
    "decision": run_decision,
    "one_call": run_one_call,
}


def spawn(worker, args):
    cmd = [sys.executable, __file__, "--worker", worker]
    names = ("n", "n_ids", "n_probes", "chunk", "decision_block", "repeats", "threads")
    for name in names:
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller")
    parser.add_argument("--n", type=int, default=None, help="comparisons")
    parser.add_argument("--n-ids", type=int, default=None, help="enrolled identities")
    parser.add_argument(
        "--n-probes", type=int, default=None, help="decision_function probes"
    )
    parser.add_argument("--chunk", type=int, default=50_000, help="scores per chunk")
    parser.add_argument(
        "--decision-block",
        type=int,
        default=5_000_000,
        help="scores per decision_function call (probes x identities)",
    )
    parser.add_argument("--repeats", type=int, default=None, help="best of N")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "scale.json",
    )
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    args.n = args.n or 10**6 // scale
    args.n_ids = args.n_ids or 15_000 // scale
    args.n_probes = args.n_probes or 2_000 // scale
    args.repeats = args.repeats or (3 if args.quick else 2)

    if args.worker:  # inside a subprocess: measure, print one JSON line
        result = WORKERS[args.worker](args)
        result["peak_rss_bytes"] = peak_rss_bytes()
        print(json.dumps(result))
        return

    rows = {name: spawn(name, args) for name in WORKERS}
    base = rows["embeddings"]["seconds_score"]
    mib = 2**20
    print(
        f"{args.n_ids:,} enrolled identities, {args.n:,} (probe, claim) comparisons "
        f"in chunks of {args.chunk:,}; decision_function {args.n_probes:,} x "
        f"{args.n_ids:,}; torch threads {args.threads}; best of {args.repeats}\n"
    )
    print(
        "| stage | scoring s | x baseline | EER in memory s | EER streaming s "
        "| peak RSS MiB | EER | streaming identical |"
    )
    print("|---|---|---|---|---|---|---|---|")
    chunked = ("embeddings", "verifier", "decision")
    for name in chunked:
        row = rows[name]
        print(
            f"| {name} | {row['seconds_score']:.2f} | "
            f"{row['seconds_score'] / base:.1f} | "
            f"{row['seconds_eer_in_memory']:.2f} | "
            f"{row['seconds_eer_streaming']:.2f} | "
            f"{row['peak_rss_bytes'] / mib:.0f} | {row['eer']:.4f} | "
            f"{row['eer'] == row['eer_streaming']} |"
        )
    one = rows["one_call"]
    print(
        f"\nmemory floor (imports, a fitted verifier, {args.n_ids:,} enrolled): "
        f"{rows['floor']['peak_rss_bytes'] / mib:.0f} MiB peak RSS. One call on "
        f"everything: verify({args.n:,} claims) {one['seconds_verify']:.2f} s, peak "
        f"RSS {one['peak_rss_before_verify_bytes'] / mib:.0f} -> "
        f"{one['peak_rss_after_verify_bytes'] / mib:.0f} MiB (inputs held, then the "
        f"call); decision_function({args.n_probes:,} probes) "
        f"{one['seconds_decision']:.2f} s, whole process "
        f"{one['peak_rss_bytes'] / mib:.0f} MiB."
    )
    ver = rows["verifier"]
    print(
        f"\nverifier: enroll {args.n_ids:,} identities {ver['seconds_enroll']:.2f} s, "
        f"verify {args.n:,} claims {ver['seconds_verify']:.2f} s "
        f"({ver['seconds_verify'] / base:.1f} x baseline), verify == (score >= "
        f"threshold_): {ver['verify_agrees_with_scores']}"
    )
    identical = all(rows[k]["eer"] == rows[k]["eer_streaming"] for k in chunked)
    result = {
        "benchmark": "scale",
        "quick": args.quick,
        "n_comparisons": args.n,
        "n_subjects": args.n_ids,
        "n_decision_probes": args.n_probes,
        "chunk": args.chunk,
        "repeats": args.repeats,
        "torch_threads": args.threads,
        "numpy": np.__version__,
        "machine": {
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "loadavg_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "runs": rows,
        "ratios_to_baseline_scoring": {
            name: rows[name]["seconds_score"] / base for name in chunked
        },
        "streaming_identical_to_in_memory": identical,
        "verify_agrees_with_scores": ver["verify_agrees_with_scores"],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
