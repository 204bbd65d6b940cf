"""Benchmark ``skeer.datasets.load_aalto`` against a plain pandas loop.

Data: the development subset of the Aalto "136M Keystrokes" study
(``../shared/data/aalto136m-dev-1565users.tar.gz``, 1,565 participants).

Baseline (measured in the same run): extract the archive, then for each file
``pd.read_csv(f, sep="\\t", encoding="latin-1", on_bad_lines="skip",
quoting=csv.QUOTE_NONE)`` and ``groupby`` into sessions. ``quoting=QUOTE_NONE`` is
needed: without it pandas stops with "EOF inside string" (the files hold
unbalanced quote characters).

Timed (best of ``--repeats``):

- ``baseline``: extract + read_csv loop + groupby;
- ``load_aalto cold``: ``cache=False`` (stream the archive and parse), n_jobs=1;
- ``load_aalto cold n_jobs=2``;
- ``load_aalto cold + cache write``: first load into an empty ``data_home``;
- ``load_aalto cached``: a second load, from the ``.npz`` cache.

Usage::

    python benchmarks/bench_datasets.py            # full dev archive, 3 repeats
    python benchmarks/bench_datasets.py --quick    # 200 participants, 1 repeat
"""

import argparse
import csv
import json
import os
import platform
import shutil
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from skeer.datasets import load_aalto

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared" / "data" / "aalto136m-dev-1565users.tar.gz"


def baseline(archive):
    """Plain pandas: extract, read each file, group rows into sessions."""
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")
        data, target = [], []
        for f in sorted(Path(tmp).rglob("*_keystrokes.txt")):
            df = pd.read_csv(
                f,
                sep="\t",
                encoding="latin-1",
                on_bad_lines="skip",
                quoting=csv.QUOTE_NONE,
            )
            for (pid, _), g in df.groupby(["PARTICIPANT_ID", "TEST_SECTION_ID"]):
                data.append(
                    g[["PRESS_TIME", "RELEASE_TIME", "KEYCODE"]].to_numpy(float)
                )
                target.append(pid)
    return data, np.asarray(target)


def best_of(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def subset_archive(src, dest, n_files):
    """A tar.gz of the first ``n_files`` participant files of ``src``."""
    with tarfile.open(src, "r|gz") as tin, tarfile.open(dest, "w:gz") as tout:
        n = 0
        for m in tin:
            if m.isfile() and m.name.endswith("_keystrokes.txt"):
                tout.addfile(m, tin.extractfile(m))
                n += 1
                if n == n_files:
                    break
    return dest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, default=ARCHIVE)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="200 files, 1 repeat")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="JSON file (default benchmarks/results/datasets[_quick].json)",
    )
    args = parser.parse_args(argv)
    if args.output is None:
        name = "datasets_quick.json" if args.quick else "datasets.json"
        args.output = ROOT / "benchmarks" / "results" / name
    if not args.archive.exists():
        parser.exit(1, f"archive not found: {args.archive}\n")
    repeats = args.repeats or (1 if args.quick else 3)
    warnings.simplefilter("ignore", UserWarning)  # the loader's drop summary

    work = Path(tempfile.mkdtemp(prefix="bench_datasets_"))
    try:
        archive = args.archive
        if args.quick:
            archive = subset_archive(archive, work / "subset.tar.gz", 200)

        rows = []
        t_base, (base_data, base_target) = best_of(lambda: baseline(archive), repeats)
        rows.append(("baseline: extract + pd.read_csv loop + groupby", t_base))

        def cold(n_jobs):
            return load_aalto(archive, cache=False, n_jobs=n_jobs)

        t_cold, bunch = best_of(lambda: cold(1), repeats)
        rows.append(("load_aalto cold (cache=False), n_jobs=1", t_cold))
        t_cold2, _ = best_of(lambda: cold(2), repeats)
        rows.append(("load_aalto cold (cache=False), n_jobs=2", t_cold2))

        def first_load():
            home = work / "home"
            shutil.rmtree(home, ignore_errors=True)
            return load_aalto(archive, data_home=home)

        t_write, _ = best_of(first_load, repeats)
        rows.append(("load_aalto cold + cache write", t_write))
        t_hit, cached = best_of(
            lambda: load_aalto(archive, data_home=work / "home"), max(repeats, 3)
        )
        rows.append(("load_aalto cached (2nd load)", t_hit))

        # Same sessions as the baseline, less the rows load_aalto drops.
        n_keys_base = sum(len(s) for s in base_data)
        n_keys_ours = sum(len(s) for s in bunch.data)
        dropped = bunch.dropped
        assert (
            len(base_data)
            == len(bunch.data)
            + dropped["fewer than 2 keys"]
            + (dropped["press times going backwards"])
        )
        assert all(np.array_equal(a, b) for a, b in zip(bunch.data, cached.data))

        print(
            f"\nData: {archive.name}, {len(set(bunch.target.tolist())):,} "
            f"participants, {len(bunch.data):,} sessions, {n_keys_ours:,} keys "
            f"(baseline: {len(base_data):,} sessions, {n_keys_base:,} keys); "
            f"best of {repeats}.\n"
        )
        print("| method | seconds | speed-up vs baseline |")
        print("| --- | ---: | ---: |")
        for name, t in rows:
            print(f"| {name} | {t:.3f} | {t_base / t:.1f}x |")
        print(f"\nDropped by load_aalto: {dropped}")

        result = {
            "benchmark": "datasets.load_aalto",
            "archive": archive.name,
            "quick": args.quick,
            "repeats": repeats,
            "n_subjects": len(set(bunch.target.tolist())),
            "n_sessions": len(bunch.data),
            "n_keys": n_keys_ours,
            "baseline_n_sessions": len(base_data),
            "baseline_n_keys": n_keys_base,
            "dropped": dropped,
            "timings_s": {name: round(t, 4) for name, t in rows},
            "speedup_vs_baseline": {name: round(t_base / t, 2) for name, t in rows},
            "machine": {
                "cpu_count": os.cpu_count(),
                "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                "python": platform.python_version(),
                "pandas": pd.__version__,
                "numpy": np.__version__,
            },
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.output}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
