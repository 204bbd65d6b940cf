"""Speed and memory of skeer.metrics against scikit-learn's curves, side by side.

On ``n`` scores (10 % genuine, N(2, 1) against N(0, 1); float64 and float32),
best of ``--repeats`` in the same run:

- ``equal_error_rate`` against the usual baseline, ``sklearn.metrics.roc_curve``
  plus a linear interpolation of the FNMR = FMR crossing (the same EER: checked);
- ``fnmr_at_fmr`` at three targets against ``roc_curve`` plus a lookup;
- ``det_points`` against ``sklearn.metrics.det_curve``.

Peak extra memory (tracemalloc, which NumPy reports its buffers to) is given as
a multiple of the score array's size. Target: ``equal_error_rate`` at least 2x
faster than the baseline at 10^7 scores, with a few copies of the input at most.

Run ``python benchmarks/bench_metrics.py`` (10^7 scores; ``--quick``: 10^6);
prints a markdown table and writes ``benchmarks/results/metrics.json``.
"""

import argparse
import json
import os
import platform
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import det_curve, roc_curve

from skeer.metrics import det_points, equal_error_rate, fnmr_at_fmr

LEVELS = (0.001, 0.01, 0.1)


def sklearn_eer(y, s):
    """EER from roc_curve: interpolate between the points around FNMR = FMR."""
    fpr, tpr, _ = roc_curve(y, s)
    fnr = 1 - tpr
    d = fnr - fpr  # roc_curve runs from high thresholds to low: d decreases
    k = np.flatnonzero(d <= 0)[0]
    lam = d[k - 1] / (d[k - 1] - d[k])
    return float(fnr[k - 1] + lam * (fnr[k] - fnr[k - 1]))


def sklearn_fnmr_at_fmr(y, s, levels):
    fpr, tpr, _ = roc_curve(y, s)
    # fpr increases; the last point with fpr <= level has the highest tpr
    idx = np.searchsorted(fpr, levels, side="right") - 1
    return 1 - tpr[idx]


CASES = {
    "equal_error_rate": (
        lambda y, s: equal_error_rate(y, s),
        lambda y, s: sklearn_eer(y, s),
        "roc_curve + interpolation",
    ),
    "fnmr_at_fmr (3 levels)": (
        lambda y, s: fnmr_at_fmr(y, s, fmr=LEVELS),
        lambda y, s: sklearn_fnmr_at_fmr(y, s, LEVELS),
        "roc_curve + lookup",
    ),
    "det_points": (
        lambda y, s: det_points(y, s),
        lambda y, s: det_curve(y, s),
        "det_curve",
    ),
}


def best_time(fn, y, s, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(y, s)
        best = min(best, time.perf_counter() - start)
    return best, out


def peak_memory(fn, y, s):
    tracemalloc.start()
    try:
        fn(y, s)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def make_data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(np.int8)
    s = rng.standard_normal(n, dtype=np.float32 if dtype == "float32" else None)
    s += 2 * y
    return y, s.astype(dtype, copy=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^6 scores")
    parser.add_argument("--n", type=int, default=None, help="number of scores")
    parser.add_argument("--repeats", type=int, default=None, help="best of N")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "metrics.json",
    )
    args = parser.parse_args(argv)
    n = args.n or (10**6 if args.quick else 10**7)
    repeats = args.repeats or (2 if args.quick else 3)
    warnings.simplefilter("ignore")  # sklearn's curves on huge inputs are quiet

    rows = []
    for dtype in ("float64", "float32"):
        y, s = make_data(n, dtype)
        for name, (ours, theirs, baseline) in CASES.items():
            t_ours, v_ours = best_time(ours, y, s, repeats)
            t_base, v_base = best_time(theirs, y, s, repeats)
            if name == "det_points":  # sklearn trims the curve: compare its points
                idx = np.searchsorted(v_ours[2], v_base[2])
                agree = bool(
                    np.array_equal(v_ours[2][idx], v_base[2])
                    and np.allclose(v_ours[0][idx], v_base[0], rtol=0, atol=1e-12)
                    and np.allclose(v_ours[1][idx], v_base[1], rtol=0, atol=1e-12)
                )
            else:
                agree = bool(np.allclose(v_ours, v_base, rtol=1e-9, atol=1e-12))
            rows.append(
                {
                    "metric": name,
                    "dtype": dtype,
                    "n_scores": n,
                    "baseline": baseline,
                    "seconds": {"skeer": t_ours, "baseline": t_base},
                    "speedup": t_base / t_ours,
                    "peak_memory_x_input": {
                        "skeer": peak_memory(ours, y, s) / s.nbytes,
                        "baseline": peak_memory(theirs, y, s) / s.nbytes,
                    },
                    "same_result": agree,
                    "value": float(v_ours) if name == "equal_error_rate" else None,
                }
            )

    print(f"{n:.0e} scores, best of {repeats}\n")
    print(
        "| metric | dtype | skeer s | baseline | baseline s | speedup "
        "| peak mem skeer (x input) | baseline | same result |"
    )
    print("|---" * 9 + "|")
    for r in rows:
        print(
            f"| {r['metric']} | {r['dtype']} | {r['seconds']['skeer']:.3f} | "
            f"{r['baseline']} | {r['seconds']['baseline']:.3f} | "
            f"{r['speedup']:.1f}x | {r['peak_memory_x_input']['skeer']:.1f} | "
            f"{r['peak_memory_x_input']['baseline']:.1f} | {r['same_result']} |"
        )
    result = {
        "benchmark": "metrics",
        "quick": args.quick,
        "repeats": repeats,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "machine": {
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "loadavg_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "rows": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
