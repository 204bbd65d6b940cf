"""Throughput and peak memory of StreamingVerificationMetrics against the in-memory EER.

``n`` float32 scores (10 % genuine, N(2, 1) against N(0, 1)) arrive as a
generator of chunks. Each measurement runs in its own subprocess so that its
peak resident set size (``resource.getrusage``) is its own:

- ``generate``: the generator alone (the floor: interpreter, NumPy, one chunk);
- ``streaming``: ``StreamingVerificationMetrics.update`` on every chunk, then
  ``equal_error_rate()`` (spilling to a temporary folder beyond its memory
  budget); ``fnmr_at_fmr`` at three levels is timed apart;
- ``in_memory``: the same chunks gathered into one array, then
  ``skeer.metrics.equal_error_rate`` on it (the baseline).

Timings exclude generating the data and are the best of ``--repeats``; the
streaming and in-memory results (EER, its threshold, FNMR at 0.1 %, 1 % and
10 % FMR) must be identical. Target: 10^8 scores within
1.5 GB peak RSS for the streaming accumulator.

Run ``python benchmarks/bench_streaming.py`` (10^8 scores; ``--quick``: 10^7);
prints a markdown table and writes ``benchmarks/results/streaming.json``.
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

LEVELS = (0.001, 0.01, 0.1)
SEED = 2024


def chunks(n, size):
    """The benchmark's data: deterministic (labels, float32 scores) chunks."""
    for k, start in enumerate(range(0, n, size)):
        m = min(size, n - start)
        rng = np.random.default_rng([SEED, k])
        y = (rng.random(m, dtype=np.float32) < 0.1).astype(np.int8)
        s = rng.standard_normal(m, dtype=np.float32)
        s += 2 * y
        yield y, s


def peak_rss_bytes():
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def run_generate(args):
    start = time.perf_counter()
    total = sum(len(y) for y, _ in chunks(args.n, args.chunk))
    return {"seconds": time.perf_counter() - start, "n": total}


def run_streaming(args):
    from skeer.metrics import StreamingVerificationMetrics

    best, result = float("inf"), None
    for _ in range(args.repeats):
        acc = StreamingVerificationMetrics(memory_budget=args.memory_budget)
        elapsed = 0.0
        for y, s in chunks(args.n, args.chunk):
            start = time.perf_counter()
            acc.update(y, s)
            elapsed += time.perf_counter() - start
        start = time.perf_counter()
        eer, threshold = acc.equal_error_rate(return_threshold=True)
        query = time.perf_counter() - start
        start = time.perf_counter()
        fnmr = acc.fnmr_at_fmr(LEVELS).tolist()
        query_fnmr = time.perf_counter() - start
        if elapsed + query < best:
            best = elapsed + query
            result = {
                "seconds": best,
                "seconds_update": elapsed,
                "seconds_eer": query,
                "seconds_fnmr_at_fmr_3_levels": query_fnmr,
                "disk_bytes": acc.disk_bytes,
                "eer": eer,
                "threshold": threshold,
                "fnmr_at_fmr": fnmr,
            }
        acc.close()
    return result


def run_in_memory(args):
    from skeer.metrics import equal_error_rate, fnmr_at_fmr

    y_all = np.empty(args.n, dtype=np.int8)
    s_all = np.empty(args.n, dtype=np.float32)
    start = 0
    for y, s in chunks(args.n, args.chunk):
        y_all[start : start + len(y)] = y
        s_all[start : start + len(s)] = s
        start += len(y)
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        eer, threshold = equal_error_rate(y_all, s_all, return_threshold=True)
        best = min(best, time.perf_counter() - start)
    fnmr = fnmr_at_fmr(y_all, s_all, fmr=LEVELS).tolist()
    return {"seconds": best, "eer": eer, "threshold": threshold, "fnmr_at_fmr": fnmr}


WORKERS = {
    "generate": run_generate,
    "streaming": run_streaming,
    "in_memory": run_in_memory,
}


def spawn(worker, args):
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        worker,
        "--n",
        str(args.n),
        "--chunk",
        str(args.chunk),
        "--repeats",
        str(args.repeats),
        "--memory-budget",
        str(args.memory_budget),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^7 scores")
    parser.add_argument("--n", type=int, default=None, help="number of scores")
    parser.add_argument("--chunk", type=int, default=10**6, help="scores per chunk")
    parser.add_argument("--repeats", type=int, default=None, help="best of N")
    parser.add_argument(
        "--memory-budget",
        type=int,
        default=256 * 2**20,
        help="StreamingVerificationMetrics(memory_budget=...), bytes",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "streaming.json",
    )
    args = parser.parse_args(argv)
    args.n = args.n or (10**7 if args.quick else 10**8)
    args.repeats = args.repeats or (3 if args.quick else 2)

    if args.worker:  # inside a subprocess: measure, print one JSON line
        result = WORKERS[args.worker](args)
        result["peak_rss_bytes"] = peak_rss_bytes()
        print(json.dumps(result))
        return

    rows = {name: spawn(name, args) for name in WORKERS}
    stream, memory = rows["streaming"], rows["in_memory"]
    same = (
        stream["eer"] == memory["eer"]
        and stream["threshold"] == memory["threshold"]
        and stream["fnmr_at_fmr"] == memory["fnmr_at_fmr"]
    )
    gib = 2**30
    print(
        f"{args.n:.0e} float32 scores in chunks of {args.chunk:.0e}, "
        f"memory budget {args.memory_budget / 2**20:.0f} MiB, best of {args.repeats}\n"
    )
    print("| run | seconds | Mscores/s | peak RSS (GiB) | EER |")
    print("|---|---|---|---|---|")
    for name, row in rows.items():
        eer = f"{row['eer']:.6f}" if "eer" in row else "-"
        print(
            f"| {name} | {row['seconds']:.2f} | {args.n / row['seconds'] / 1e6:.1f} | "
            f"{row['peak_rss_bytes'] / gib:.2f} | {eer} |"
        )
    ratio = memory["seconds"] / stream["seconds"]
    print(
        f"\nstreaming throughput / in-memory: {ratio:.2f}; identical results: {same}; "
        f"spilled {stream['disk_bytes'] / 2**20:.0f} MiB to disk; peak RSS within "
        "1.5 GB: "
        f"{stream['peak_rss_bytes'] <= 1.5e9}"
    )
    result = {
        "benchmark": "streaming",
        "quick": args.quick,
        "n_scores": args.n,
        "chunk": args.chunk,
        "memory_budget": args.memory_budget,
        "repeats": args.repeats,
        "numpy": np.__version__,
        "machine": {
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "loadavg_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "runs": rows,
        "throughput_ratio_streaming_to_in_memory": ratio,
        "identical_results": same,
        "streaming_peak_rss_within_1_5_GB": stream["peak_rss_bytes"] <= 1.5e9,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
