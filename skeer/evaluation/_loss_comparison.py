"""The results of a loss comparison: runs, summary over seeds, tables (NumPy only)."""

import numpy as np

# summary key: report key
_SUMMARY_METRICS = {
    "global_eer": "eer",
    "mean_subject_eer": "mean_subject_eer",
    "fnmr_at_fmr_0.01": "fnmr_at_fmr_0.01",
}


def _epochs_to(curve, target):
    hits = (i for i, v in enumerate(curve, 1) if v is not None and v <= target)
    return None if target is None else next(hits, None)


def _mean_sd(values):
    vals = np.asarray([v for v in values if v is not None], dtype=float)
    if vals.size == 0:
        return {"mean": None, "sd": None, "n": 0}
    sd = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
    return {"mean": float(vals.mean()), "sd": sd, "n": int(vals.size)}


def _fmt(stat, *, pct=True, digits=2):
    if stat["mean"] is None:
        return "n/a"
    scale = 100 if pct else 1
    text = f"{scale * stat['mean']:.{digits}f} ± {scale * stat['sd']:.{digits}f}"
    return text + (" %" if pct else "")


class LossComparison:
    """Results of a loss ablation, as :func:`compare_losses` returns them.

    Parameters
    ----------
    runs : dict of str to list of dict
        Per label, one dict per seed with at least ``"seed"``, ``"metrics"``,
        ``"valid_eer"`` (per epoch, None where not measured), ``"seconds_per_epoch"``.
    baseline : str or None, default="triplet"
        The reference run's label (for ``"epochs_to_baseline_best"``).
    skipped : dict of str to str, default=None
        Losses left out and why.
    params : dict, default=None
        Settings shared by every run, for the table's caption.

    Attributes
    ----------
    runs : dict of str to list of dict
        The runs; each gains ``"epochs_to_baseline_best"``: the first epoch at
        which its validation EER is at most the baseline's best (same seed).
    summary : dict of str to dict
        Per label: ``"global_eer"``, ``"mean_subject_eer"``,
        ``"fnmr_at_fmr_0.01"``, ``"epochs_to_baseline_best"`` and
        ``"seconds_per_epoch"``, each ``{"mean", "sd", "n"}`` over seeds
        (``ddof=1``), and ``"eer_difference"`` from the baseline
        (``{"mean", "ci", "n"}``, 95 % paired-bootstrap CI) or None.
    baseline, skipped, params
        As given (``skipped`` and ``params`` as dicts).

    Examples
    --------
    >>> from skeer.evaluation import LossComparison
    >>> run = lambda seed, eer, curve: {"seed": seed, "metrics": {"eer": eer},
    ...     "valid_eer": curve, "seconds_per_epoch": 1.0}
    >>> result = LossComparison({
    ...     "eer-area": [run(0, 0.10, [0.3, 0.2, 0.1])],
    ...     "triplet": [run(0, 0.12, [0.3, 0.25, 0.2])],
    ... })
    >>> result.summary["eer-area"]["global_eer"]
    {'mean': 0.1, 'sd': 0.0, 'n': 1}
    >>> result.runs["eer-area"][0]["epochs_to_baseline_best"]
    2
    """

    def __init__(self, runs, *, baseline="triplet", skipped=None, params=None):
        self.runs = {label: [dict(r) for r in rs] for label, rs in runs.items()}
        self.baseline = baseline
        self.skipped = dict(skipped or {})
        self.params = dict(params or {})
        best = {  # the reference run's best validation EER, per seed
            r["seed"]: min((v for v in r["valid_eer"] if v is not None), default=None)
            for r in self.runs.get(baseline, [])
        }
        for rs in self.runs.values():
            for r in rs:
                r["epochs_to_baseline_best"] = _epochs_to(
                    r["valid_eer"], best.get(r["seed"])
                )
        self.summary = {}
        for label, rs in self.runs.items():
            row = {
                key: _mean_sd([r["metrics"].get(name) for r in rs])
                for key, name in _SUMMARY_METRICS.items()
            }
            for key in ("epochs_to_baseline_best", "seconds_per_epoch"):
                row[key] = _mean_sd([r[key] for r in rs])
            row["eer_difference"] = _pooled_difference(rs)
            self.summary[label] = row

    def __repr__(self):
        return (
            f"{type(self).__name__}(losses={list(self.runs)}, "
            f"baseline={self.baseline!r})"
        )

    def curves(self, key="valid_eer"):
        """Per-epoch curves of every run, for :func:`~skeer.plotting.plot_convergence`.

        Parameters
        ----------
        key : {"valid_eer", "train_loss"}, default="valid_eer"
            Which per-epoch record of the runs.

        Returns
        -------
        curves : dict of str to list of list
            Per label, one curve per seed.

        Examples
        --------
        >>> from skeer.evaluation import LossComparison
        >>> result = LossComparison({"triplet": [{"seed": 0, "metrics": {},
        ...     "valid_eer": [0.3, 0.2], "seconds_per_epoch": 1.0}]})
        >>> result.curves()
        {'triplet': [[0.3, 0.2]]}
        """
        return {label: [r[key] for r in rs] for label, rs in self.runs.items()}

    def to_dict(self):
        """Everything as plain dicts and lists (JSON-ready but for NaN).

        Returns
        -------
        result : dict
            ``"summary"``, ``"runs"``, ``"baseline"``, ``"skipped"`` and
            ``"params"``.

        Examples
        --------
        >>> from skeer.evaluation import LossComparison
        >>> sorted(LossComparison({}).to_dict())
        ['baseline', 'params', 'runs', 'skipped', 'summary']
        """
        keys = ("summary", "runs", "baseline", "skipped", "params")
        return {k: getattr(self, k) for k in keys}

    def to_markdown(self, *, data_description=None):
        """The summary as a markdown table, one row per loss, with a caption.

        Parameters
        ----------
        data_description : str, default=None
            Names the data in the caption ("... on <data_description>, ...").

        Returns
        -------
        text : str
            A caption, a blank line and the table (mean ± SD over seeds).

        Examples
        --------
        >>> from skeer.evaluation import LossComparison
        >>> result = LossComparison({"triplet": [{"seed": 0,
        ...     "metrics": {"eer": 0.125}, "valid_eer": [0.3, 0.2],
        ...     "seconds_per_epoch": 1.5}]})
        >>> print(result.to_markdown().splitlines()[-1])
        | triplet | 12.50 ± 0.00 % | n/a | n/a | — | 2.0 ± 0.0 | 1.50 ± 0.00 |
        """
        p = self.params
        n_seeds = p.get("n_seeds") or max(
            (len(rs) for rs in self.runs.values()), default=0
        )
        on = f" on {data_description}" if data_description else ""
        caption = ["Loss ablation:", f"{p.get('model', 'network')}{on},"]
        if p.get("max_epochs") == "auto":
            from skeer.verifier import AUTO_MAX_EPOCHS, AUTO_TRAINING_STEPS

            caption.append(
                f"max_epochs='auto' ({AUTO_TRAINING_STEPS:,} training steps; fixed "
                f"text at most {AUTO_MAX_EPOCHS} epochs) unless a variant sets epochs,"
            )
        elif p.get("max_epochs") is not None:
            caption.append(f"{p['max_epochs']} epochs unless a variant sets them,")
        if p.get("batch") is not None:
            caption.append(f"batches {p['batch'][0]} x {p['batch'][1]},")
        caption.append(
            f"{n_seeds} seed(s) (mean ± SD over seeds; test subjects unseen in "
            "training)."
        )
        base = self.baseline
        columns = ["loss", "global EER", "mean per-subject EER", "FNMR @ 1 % FMR"]
        if base is not None:
            columns += [f"Δ EER vs {base} [95 % CI]", f"epochs to {base}'s best"]
        columns.append("s / epoch")
        lines = [
            " ".join(caption),
            "",
            "| " + " | ".join(columns) + " |",
            "|" + "---|" * len(columns),
        ]
        for label, s in self.summary.items():
            cells = [label, *(_fmt(s[key]) for key in _SUMMARY_METRICS)]
            if base is not None:
                diff = s.get("eer_difference")
                cells.append(
                    "—"
                    if diff is None
                    else f"{100 * diff['mean']:+.2f} "
                    f"[{100 * diff['ci'][0]:+.2f}, {100 * diff['ci'][1]:+.2f}] pp"
                )
                reach = s["epochs_to_baseline_best"]
                if base not in self.runs:
                    text = f"n/a (no {base} run)"
                elif reach["n"] == 0:
                    text = "not reached"
                else:
                    text = _fmt(reach, pct=False, digits=1)
                    if reach["n"] < len(self.runs[label]):
                        text += f" ({reach['n']}/{len(self.runs[label])} seeds reached)"
                cells.append(text)
            cells.append(_fmt(s["seconds_per_epoch"], pct=False))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


def _pooled_difference(runs, confidence=0.95):
    """Mean EER difference from the baseline over seeds, with its bootstrap CI."""
    diffs = [r["vs_baseline"] for r in runs if r.get("vs_baseline")]
    if not diffs:
        return None
    reps = np.mean([d["replicates"] for d in diffs], axis=0)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(reps, [tail, 100 - tail])
    return {
        "mean": float(np.mean([d["difference"] for d in diffs])),
        "ci": [float(lo), float(hi)],
        "n": len(diffs),
    }
