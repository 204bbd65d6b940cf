"""What the ``skeer`` command prints and writes: messages, tables, JSON, figures."""

import json
import math
import platform
import sys
from pathlib import Path

import numpy as np

from .._version import __version__
from ._parser import PROG

_MODEL_NAMES = {"typenet": "TypeNet", "type2branch": "Type2Branch", "mlp": "MLP"}
_LOSS_NAMES = {
    "eer": "EERLoss",
    "eer-area": "EERLoss (area)",
    "eer-direct": "EERLoss (direct)",
    "triplet": "triplet loss",
    "set2set": "Set2Set loss",
    "contrastive": "contrastive loss",
}


def say(args, *lines):
    """Print ``lines`` on stdout unless ``--quiet``."""
    if not args.quiet:
        for line in lines:
            print(line, flush=True)


def note(message):
    """One ``skeer: message`` line on stderr."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def showwarning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` replacement: one line, no source location."""
    text = str(message).strip().splitlines()
    note(f"warning: {text[0] if text else category.__name__}")


def progress(quiet, **kwargs):
    """A tqdm bar on stderr, hidden with ``--quiet``."""
    from tqdm.auto import tqdm

    return tqdm(disable=quiet, file=sys.stderr, dynamic_ncols=True, **kwargs)


def pct(value, digits=2):
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.{digits}f} %"


def run_name(model, loss):
    return f"{_MODEL_NAMES[model]} + {_LOSS_NAMES.get(loss, loss)}"


def network_name(model):
    return _MODEL_NAMES[model]


def jsonable(obj):
    """``obj`` with numpy scalars and arrays, paths and non-finite floats made JSON."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return repr(obj)


def write_json(path, obj):
    path.write_text(json.dumps(jsonable(obj), indent=2) + "\n", encoding="utf-8")
    return path


def versions():
    import sklearn
    import skorch
    import torch

    return {
        "python": platform.python_version(),
        "skeer": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "skorch": skorch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def config(args, **extra):
    """The parsed options as a JSON-ready dict (``extra`` overrides)."""
    skip = {"func", "quiet"}
    cfg = {k: v for k, v in vars(args).items() if k not in skip}
    cfg.update(extra)
    return jsonable(cfg)


def protocol_name(fixed_text):
    if fixed_text:
        return "Killourhy & Maxion fixed-text protocol (per-subject EER)"
    return (
        "open set: first G sessions enrol, last sessions probe, one session of "
        "every other test subject as impostor"
    )


def matplotlib_or_warn(what):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        note(
            f"warning: matplotlib is not installed, skipping {what} "
            "(pip install skeer[plots])"
        )
        return False
    return True


def save_figure(draw, path, figsize):
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    draw(ax)
    fig.savefig(path, dpi=120)
    return path


# rows of the printed table: (report keys, the first present is shown; label; format)
def _metric_rows(fixed_text):
    if fixed_text:
        return [
            (("mean_subject_eer", "mean_eer"), "mean per-subject EER", pct),
            (("std_subject_eer", "std_eer"), "SD of per-subject EER", pct),
        ]
    return [
        (("eer",), "global EER", pct),
        (("mean_subject_eer", "mean_identity_eer"), "mean per-subject EER", pct),
        (("fnmr_at_fmr_0.001",), "FNMR @ FMR 0.1 %", pct),
        (("fnmr_at_fmr_0.01",), "FNMR @ FMR 1 %", pct),
        (("fnmr_at_fmr_0.1",), "FNMR @ FMR 10 %", pct),
        (("auc",), "AUC", lambda v: "n/a" if v is None else f"{v:.4f}"),
    ]


def _first(report, keys, default=None):
    for key in keys:
        if key in report:
            return report[key]
    return default


def table(columns, fixed_text):
    """Text table: one row per metric, one column per ``(name, report)``."""
    rows = [
        (label, [fmt(_first(rep, keys)) for _, rep in columns])
        for keys, label, fmt in _metric_rows(fixed_text)
        if any(key in rep for _, rep in columns for key in keys)
    ]
    counts = [
        ("subjects", ("n_subjects", "n_identities")),
        ("genuine scores", ("n_genuine",)),
        ("impostor scores", ("n_impostor",)),
    ]
    for label, keys in counts:
        if any(key in rep for _, rep in columns for key in keys):
            rows.append((label, [str(_first(rep, keys, "")) for _, rep in columns]))
    width = max(len(r[0]) for r in rows) + 2
    colw = [max(12, len(name) + 2) for name, _ in columns]
    head = "".ljust(width) + "".join(n.rjust(w) for (n, _), w in zip(columns, colw))
    lines = [head]
    for label, values in rows:
        lines.append(
            label.ljust(width) + "".join(v.rjust(w) for v, w in zip(values, colw))
        )
    return lines


def epoch_progress(quiet, total, desc):
    """``(name, callback)``: a skorch callback showing one tqdm bar over epochs."""
    from skorch.callbacks import Callback

    class _EpochBar(Callback):
        def on_train_begin(self, net, **kwargs):
            self.bar_ = progress(
                quiet, total=total, desc=desc, unit="epoch", leave=False
            )

        def on_epoch_end(self, net, **kwargs):
            row = net.history[-1]
            postfix = {}
            if "train_loss" in row:
                postfix["loss"] = f"{row['train_loss']:.4f}"
            if "valid_eer" in row:
                postfix["valid_eer"] = pct(row["valid_eer"])
            self.bar_.set_postfix(postfix, refresh=False)
            self.bar_.update()

        def on_train_end(self, net, **kwargs):
            self.bar_.close()

    return ("epoch_progress", _EpochBar())
