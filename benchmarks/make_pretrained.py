"""Train and write the pretrained model shipped in ``skeer/pretrained/``.

``aalto-typenet``: ``make_pipeline(KeystrokeFeatures(), KeystrokeVerifier(
random_state=0))`` (the library's defaults: TypeNet, the default criterion,
``max_epochs="auto"``) fitted on all 1,565 Aalto development users, every
training subject then unenrolled, saved with :func:`skeer.save` to
``skeer/pretrained/aalto-typenet.skeer``, and its model card written beside
it (``aalto-typenet.md``): the data and their terms, the command, the commit,
the fit time and the figures of the same recipe on people it never saw
(the locked-split benchmark, ``benchmarks/results/ablation_aalto_45epochs.json``).

Run ``python benchmarks/make_pretrained.py`` (about 20 minutes on 2 cores)
whenever the defaults change. The data are read from
``../shared/data/aalto136m-dev-1565users.tar.gz`` (``--data``).
"""

import argparse
import hashlib
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline

import skeer
from skeer import KeystrokeFeatures, KeystrokeVerifier
from skeer.datasets import load_aalto

ROOT = Path(__file__).resolve().parent
DATA = ROOT.parent.parent / "shared" / "data" / "aalto136m-dev-1565users.tar.gz"
OUT = ROOT.parent / "skeer" / "pretrained"
FIGURES = ROOT / "results" / "ablation_aalto_45epochs.json"
#: The run of ``FIGURES`` that is the default recipe (1,750 steps on the split).
RECIPE = "supcon+eer(0.3, templates) 45 epochs"

CARD = """\
# Model card: aalto-typenet

A free-text keystroke verifier: `KeystrokeFeatures(max_len={max_len})` then a
TypeNet embedding (`KeystrokeVerifier`, {criterion}, {geometry} templates),
shipped with nobody enrolled. Load it with
`skeer.pretrained.load_pretrained("aalto-typenet")`, enrol people from a few
raw sessions each, verify their claims.

## Data and terms

Trained on all {n_subjects:,} users ({n_sessions:,} sessions: typed English
sentences, desktop keyboards) of the Aalto "136M Keystrokes" development
archive (`{data_name}`, BLAKE2b `{data_hash}`): Dhakal, Feit, Kristensson,
Oulasvirta, "Observations on Typing from 136 Million Keystrokes", CHI 2018.
The data are for non-commercial research with attribution: use this model
under the same terms and cite the paper. The model holds no
session and no template of those users (they were unenrolled before saving),
only network weights and the feature settings.

## How it was trained

- Command: `python benchmarks/make_pretrained.py` at skeer commit
  `{commit}` ({version}), {date}.
- Recipe: skeer's defaults, `random_state=0`: batches of
  {p} subjects x {k} sessions, Adam, peak learning rate {lr}, one epoch of
  warm-up and a cosine decay over `max_epochs="auto"` = {epochs} epochs;
  {valid_share:.0%} of the users held out to stop and calibrate
  (`threshold_` = {threshold:.4f}, at the EER of 5-session templates on those
  held-out users).
- Fit time: {fit_min:.1f} minutes on {cpus} CPU cores.

## Figures on people it never saw

The shipped model saw every development user, so it is not judged on them.
The same recipe, trained on the other users of a locked split and judged on
530 users it never saw (open set, 5 enrolment sessions, 5 genuine probes,
one impostor probe from every other test user; 3 seeds, mean ± SD):

| | global EER | mean per-subject EER | FNMR @ 1 % FMR |
|---|---|---|---|
| this recipe (`{figures_label}`) | {eer} | {subject_eer} | {fnmr} |

Paired 95 % bootstrap CI of its EER difference from {baseline} (same
network, batches and budget), pooled over the seeds: {ci}. Source:
`benchmarks/results/ablation_aalto_45epochs.json`.

## What it is and is not for

- For: research, prototypes and baselines of free-text verification on
  desktop keyboards, enrolled from about 5 sessions of ~50 keys each, with a
  threshold recalibrated on your own population (the shipped one is a
  starting point: it was calibrated on Aalto users with 5-session templates).
- Not for: a security decision on its own (at 1 % false matches it misses
  about half of the genuine attempts of unseen users); fixed-text
  passwords (train a fixed-text model: `skeer train --data cmu:...`); mobile
  touch keyboards or other languages without checking its error rates on
  your data first.

## Known limits

- Trained on English sentences typed on physical keyboards; key codes are
  JavaScript key codes as in the Aalto data.
- Its threshold depends on the template size and the population: recompute
  it (e.g. `threshold_at` of `skeer.templates` on your own genuine and
  impostor scores).
- Per-group figures (gender, age, handedness): the Aalto development archive
  carries no demographic fields, so none can be given for this model; for
  fixed text, `docs/fairness.rst` shows how skeer measures them on
  GREYC-NISLAB.
"""


def _pct(values):
    values = 100 * np.asarray(values, dtype=float)
    return f"{values.mean():.2f} ± {values.std(ddof=1):.2f} %"


def _figures():
    report = json.loads(FIGURES.read_text(encoding="utf-8"))
    label = RECIPE
    rows = report["runs"][label]
    metric = lambda key: [r["metrics"][key] for r in rows]  # noqa: E731
    diffs = [r.get("vs_baseline") for r in rows if r.get("vs_baseline")]
    ci = "n/a"
    if diffs:
        reps = np.mean([d["replicates"] for d in diffs], axis=0) * 100
        mean = np.mean([d["difference"] for d in diffs]) * 100
        lo, hi = np.percentile(reps, [2.5, 97.5])
        ci = f"{mean:+.2f} [{lo:+.2f}, {hi:+.2f}] percentage points"
    return {
        "figures_label": label,
        "eer": _pct(metric("eer")),
        "subject_eer": _pct(metric("mean_subject_eer")),
        "fnmr": _pct(metric("fnmr_at_fmr_0.01")),
        "ci": ci,
        "baseline": f"`{report['baseline']}`",
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not args.data.exists():
        sys.exit(f"make_pretrained: no data at {args.data}; pass --data PATH")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        X, y = load_aalto(args.data, return_X_y=True)
    model = make_pipeline(KeystrokeFeatures(), KeystrokeVerifier(random_state=0))
    t0 = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - t0
    verifier = model[-1]
    verifier.unenroll(verifier.classes_)
    args.out.mkdir(parents=True, exist_ok=True)
    path = skeer.save(model, args.out / "aalto-typenet.skeer")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    import os

    card = CARD.format(
        max_len=model[0].max_len,
        criterion=type(verifier.criterion_).__name__,
        geometry=verifier.geometry_,
        n_subjects=len(np.unique(y)),
        n_sessions=len(y),
        data_name=args.data.name,
        data_hash=hashlib.blake2b(args.data.read_bytes(), digest_size=8).hexdigest(),
        commit=commit or "unknown",
        version=skeer.__version__,
        date=time.strftime("%Y-%m-%d"),
        p=verifier.n_subjects_per_batch,
        k=verifier.n_samples_per_subject,
        lr=verifier.lr,
        epochs=len(verifier.history),
        valid_share=verifier.validation_size,
        threshold=float(verifier.threshold_),
        fit_min=fit_s / 60,
        cpus=os.cpu_count(),
        **_figures(),
    )
    (args.out / "aalto-typenet.md").write_text(card, encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) and its card")
    print(f"fit: {fit_s / 60:.1f} min, {len(verifier.history)} epochs")


if __name__ == "__main__":
    main()
