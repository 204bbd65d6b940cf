"""Loss ablation on a locked split of the Aalto development users, over seeds.

Does the metric-trained verifier beat the strongest proxy (SupCon) on people
it never saw, with the library's defaults? Every method is
``KeystrokeVerifier(criterion=C, random_state=seed)`` on
``KeystrokeFeatures()`` of the raw sessions: TypeNet, the default training
recipe (P x K = 40 x 8, Adam, peak lr 1e-3 with one epoch of warm-up and a
cosine decay over 1,750 training steps, ``max_epochs="auto"``: 45 epochs on
this split; no early stopping), only the criterion differs. Named variants
(``--losses "eer 60 epochs,triplet 60 epochs" --baseline "triplet 60
epochs"``) change one setting on top of the defaults.

The split is locked by a rule, not drawn: a subject is a test subject when
``blake2b(str(subject), digest_size=8)`` read as an integer is divisible by 3
(:func:`locked_test_subjects`; 530 of the 1,565 development users). Nothing
is tuned on them: every run trains on the other subjects (the verifier holds
out 20 % of those to stop early and calibrate), and the test subjects are
judged once, with the open-set protocol (5 enrolment sessions, 5 genuine
probes, one impostor probe from every other test subject). Seeds vary the
initialisation, the validation subjects and the batches; the CI of each
method's EER difference from ``--baseline`` is a paired bootstrap over the
locked test subjects, pooled over seeds (:func:`skeer.evaluation.compare_losses`
with ``test_subjects``).

Run ``python benchmarks/bench_ablation.py`` (two runs in parallel, one torch
thread each: about 2.5 hours on the 2-core development machine for the
default 3 losses x 3 seeds); ``--quick`` is a smoke run on synthetic data. It
prints a markdown table and writes ``benchmarks/results/ablation_aalto.json``
and ``.md`` (``ablation_quick.*`` with ``--quick``). The data are read from
``../shared/data/aalto136m-dev-1565users.tar.gz`` (``--data``); the benchmark
exits with a message when they are absent.
"""

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from skeer import KeystrokeFeatures, KeystrokeVerifier
from skeer.evaluation import compare_losses

#: Named variants (``--losses``): ``(loss name, estimator parameters)`` set on
#: top of ``KeystrokeVerifier()``; the plain registry names run as they are.
VARIANTS = {
    "eer K=10": ("eer", {"criterion__sharpness": 10.0}),
    "eer 30 epochs": ("eer", {"max_epochs": 30}),
    "triplet 30 epochs": ("triplet", {"max_epochs": 30}),
    "eer 60 epochs": ("eer", {"max_epochs": 60}),
    "triplet 60 epochs": ("triplet", {"max_epochs": 60}),
    "eer 90 epochs": ("eer", {"max_epochs": 90}),
    "triplet 90 epochs": ("triplet", {"max_epochs": 90}),
    "supcon 90 epochs": ("supcon", {"max_epochs": 90}),
    "supcon+eer 90 epochs": ("supcon+eer", {"max_epochs": 90}),
    # half the budget, for screens against the strongest proxies
    "eer 45 epochs": ("eer", {"max_epochs": 45}),
    "supcon 45 epochs": ("supcon", {"max_epochs": 45}),
    "multi-similarity 45 epochs": ("multi-similarity", {"max_epochs": 45}),
    # SupConEERLoss's defaults (weight 0.3, EER over 5-sample templates)
    "supcon+eer(0.3, templates) 45 epochs": ("supcon+eer", {"max_epochs": 45}),
    # ... and its EER term over pairs of samples, weight 0.3 or 1
    "supcon+eer(0.3) 45 epochs": (
        "supcon+eer",
        {"max_epochs": 45, "criterion__n_enroll": None},
    ),
    "supcon+eer 45 epochs": (
        "supcon+eer",
        {"max_epochs": 45, "criterion__eer_weight": 1.0, "criterion__n_enroll": None},
    ),
    "arcface 45 epochs": ("arcface", {"max_epochs": 45}),
    "triplet 45 epochs": ("triplet", {"max_epochs": 45}),
}

ROOT = Path(__file__).resolve().parent
DATA = ROOT.parent.parent / "shared" / "data" / "aalto136m-dev-1565users.tar.gz"


def locked_test_subjects(subjects):
    """The test subjects of the locked split: a hash of the id divisible by 3.

    Parameters
    ----------
    subjects : array-like
        Subject ids (any values; compared through ``str``).

    Returns
    -------
    test : ndarray
        The sorted test subjects, independent of the order and of which other
        subjects are present.

    Examples
    --------
    >>> locked_test_subjects(range(1, 31))
    array([15, 17, 21, 25, 29, 30])
    """
    subjects = np.unique(np.asarray(subjects))
    keep = [
        int(hashlib.blake2b(str(s).encode(), digest_size=8).hexdigest(), 16) % 3 == 0
        for s in subjects
    ]
    return subjects[np.asarray(keep, dtype=bool)]


def load(args):
    if args.quick:
        from skeer.datasets import make_keystrokes

        X, y = make_keystrokes(n_subjects=60, n_sessions=12, random_state=0)
        return X, y, "synthetic keystrokes (60 subjects)"
    if not args.data.exists():
        sys.exit(f"bench_ablation: no data at {args.data}; pass --data PATH")
    from skeer.datasets import load_aalto

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        X, y = load_aalto(args.data, return_X_y=True)
    return X, y, f"the {len(np.unique(y)):,} Aalto 136M development users"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--losses",
        default="supcon+eer,supcon,eer",
        help="comma-separated loss names or variants: " + ", ".join(VARIANTS),
    )
    parser.add_argument(
        "--baseline",
        default="supcon",
        help="label of the reference run (differences and epochs-to-best)",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument("--name", help="file name of the results (no suffix)")
    args = parser.parse_args(argv)

    X, y, description = load(args)
    test = locked_test_subjects(y)
    estimator = KeystrokeVerifier()
    protocol = {"n_enroll": 5, "n_probe": 5}
    if args.quick:
        estimator = KeystrokeVerifier(
            max_epochs=3, n_subjects_per_batch=8, n_samples_per_subject=4
        )
        protocol = {"n_enroll": 3, "n_probe": 3}
    t0 = time.perf_counter()
    result = compare_losses(
        X,
        y,
        losses=[
            (name, *VARIANTS[name]) if name in VARIANTS else name
            for name in args.losses.split(",")
        ],
        estimator=estimator,
        features=KeystrokeFeatures(),
        n_seeds=args.seeds,
        test_subjects=test,
        n_jobs=args.n_jobs,
        baseline=args.baseline,
        verbose=1,
        **protocol,
    )
    wall = time.perf_counter() - t0
    md = result.to_markdown(
        data_description=f"{description}, locked split ({len(test)} test subjects)"
    )
    print(md)
    name = args.name or ("ablation_quick" if args.quick else "ablation_aalto")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.md").write_text(md, encoding="utf-8")
    report = {
        "description": description,
        "n_test_subjects": len(test),
        "wall_s": wall,
        "n_jobs": args.n_jobs,
        "estimator": {
            k: v
            for k, v in estimator.get_params(deep=False).items()
            if isinstance(v, (int, float, str, bool, type(None)))
        },
        **result.to_dict(),
    }
    with open(args.out / f"{name}.json", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, default=_plain)
    print(f"wrote {args.out / name}.json and .md ({wall / 60:.1f} min)")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict(orient="list")
    return str(value)


if __name__ == "__main__":
    main()
