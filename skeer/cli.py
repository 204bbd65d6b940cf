"""The ``skeer`` command: train, evaluate and benchmark keystroke verifiers.

Sub-commands (``skeer <command> --help`` lists every option):

- ``skeer train`` (also ``skeer`` with no arguments): train a
  :class:`~skeer.KeystrokeVerifier` on an identity-disjoint split, judge it on
  the held-out identities and write the model, ``features.json``,
  ``report.json``, ``det.png`` and ``training.png`` into ``--out``.
- ``skeer evaluate MODEL``: the protocol report of a saved model on new data.
- ``skeer bench``: the loss ablation (same network, split, batches and budget
  for every loss), as a markdown table, JSON and a convergence plot.
- ``skeer kvc-predict MODEL``: score the KVC-onGoing test comparisons.

Data are named ``synthetic``, ``aalto:PATH``, ``kvc:PATH`` or ``cmu:PATH``.

A saved model is ``model.skeer`` (:meth:`KeystrokeVerifier.save`) with a
``features.json`` beside it holding the :class:`~skeer.KeystrokeFeatures`
parameters the model was trained with, so ``evaluate`` and ``kvc-predict``
rebuild the same features from raw sessions.

Exit codes: 0 success, 1 runtime error (one line on stderr, e.g. a missing
file), 2 usage error (argparse's). Set ``SKEER_DEBUG=1`` to get the traceback
of a runtime error.
"""

import argparse
import contextlib
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._version import __version__

__all__ = ["main"]

_PROG = "skeer"
_FORMATS = ("synthetic", "aalto", "kvc", "cmu")
_MODELS = ("typenet", "type2branch", "mlp")
_LOSSES = ("eer", "eer-area", "eer-direct", "triplet", "set2set", "contrastive")
_FIXED_TEXT = ("cmu",)
_FEATURES_FILE = "features.json"
_MODEL_FILE = "model.skeer"

# defaults of the main job (``skeer`` with no arguments), sized to finish in
# well under 3 minutes on a 2-core CPU (measured: about 1.5 min on 2 busy cores)
# while the learned verifier clearly beats the non-learned baseline
_DEFAULT_SUBJECTS = 300
_DEFAULT_SESSIONS = 15
_DEFAULT_EPOCHS = 20
_DEFAULT_BATCH = (20, 15)
_DEFAULT_LR = 2e-3
_DEFAULT_PATIENCE = 10


class _UsageError(Exception):
    """A usage error found after parsing (exit code 2)."""


# ---------------------------------------------------------------------------
# argument parsing
class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``prog: error: msg (see --help)``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _data_spec(text):
    kind, sep, path = text.partition(":")
    kind = kind.strip().lower()
    if kind not in _FORMATS:
        raise argparse.ArgumentTypeError(
            f"unknown data format {text!r}; expected synthetic, aalto:PATH, "
            "kvc:PATH or cmu:PATH"
        )
    if kind == "synthetic":
        if path:
            raise argparse.ArgumentTypeError("'synthetic' takes no path")
        return ("synthetic", None)
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"{kind} data need a path: {kind}:PATH")
    return (kind, path)


def _operating_point(text):
    if text.strip().lower() == "eer":
        return "eer"
    try:
        value = float(text.rstrip("%")) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"invalid operating point {text!r}; expected 'eer' or a target "
            "false-match rate in (0, 1) such as 0.01 or 1%"
        )
    return value


def _device(text):
    import torch

    try:
        torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r}; expected cpu, cuda, cuda:N or mps"
        ) from None
    return text


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def _validation_fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _loss_list(text):
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in _LOSSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown loss {', '.join(unknown) or text!r}; choose from "
            f"{', '.join(_LOSSES)}"
        )
    return list(dict.fromkeys(names))


def _operating_point_list(text):
    return list(dict.fromkeys(_operating_point(t) for t in text.split(",") if t))


def _add_common(p):
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="torch CPU threads (default 1: small recurrent networks gain little "
        "from more, and on busy cores extra threads slow training down by an "
        "order of magnitude); 0 keeps torch's default",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars, no table"
    )


def _add_data(p, *, default="synthetic"):
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        type=_data_spec,
        default=_data_spec(default) if default else None,
        required=default is None,
        metavar="SPEC",
        help="synthetic, aalto:PATH (folder/archive of *_keystrokes.txt), "
        "kvc:PATH (KVC-onGoing release folder) or cmu:PATH "
        "(DSL-StrongPasswordData.csv)" + (f"; default {default}" if default else ""),
    )
    g.add_argument(
        "--scenario",
        choices=("desktop", "mobile"),
        default="desktop",
        help="KVC-onGoing scenario (default desktop)",
    )
    g.add_argument(
        "--subjects",
        type=_positive_int,
        default=None,
        metavar="N",
        help=f"synthetic: subjects generated (default {_DEFAULT_SUBJECTS}); "
        "other data: keep the first N identities (default all)",
    )
    g.add_argument(
        "--sessions",
        type=_positive_int,
        default=_DEFAULT_SESSIONS,
        metavar="N",
        help=f"synthetic: sessions per subject (default {_DEFAULT_SESSIONS})",
    )
    g.add_argument(
        "--data-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the synthetic data (default 0)",
    )


def _add_protocol(p):
    g = p.add_argument_group("evaluation protocol")
    g.add_argument(
        "--n-enroll",
        type=_positive_int,
        default=None,
        metavar="G",
        help="enrolment samples per identity (default 5); fixed text: training "
        "repetitions per subject (default 200, as Killourhy & Maxion)",
    )
    g.add_argument(
        "--n-probe",
        type=_positive_int,
        default=None,
        metavar="N",
        help="genuine probes per identity (default 5); fixed text: keep only "
        "the first G + N repetitions per subject (default: all, i.e. 200)",
    )
    g.add_argument(
        "--n-impostor",
        type=_positive_int,
        default=None,
        metavar="N",
        help="fixed text: impostor probes taken from each other subject (default 5)",
    )


def _add_training(p, *, single_loss):
    g = p.add_argument_group("model and training")
    g.add_argument(
        "--model",
        choices=_MODELS,
        default=None,
        help="embedding network (default typenet; mlp for fixed-text data)",
    )
    if single_loss:
        g.add_argument(
            "--loss",
            choices=_LOSSES,
            default="eer",
            help="training loss (default eer: EERLoss with its default variant)",
        )
        g.add_argument(
            "--operating-point",
            type=_operating_point,
            default="eer",
            metavar="OP",
            help="'eer' or a target false-match rate such as 0.01 (default eer)",
        )
    g.add_argument(
        "--epochs",
        type=_positive_int,
        default=_DEFAULT_EPOCHS,
        metavar="N",
        help=f"maximum training epochs (default {_DEFAULT_EPOCHS})",
    )
    g.add_argument(
        "--batch",
        nargs=2,
        type=_positive_int,
        default=_DEFAULT_BATCH,
        metavar=("P", "K"),
        help="identities per batch and samples per identity (default "
        f"{_DEFAULT_BATCH[0]} {_DEFAULT_BATCH[1]})",
    )
    g.add_argument(
        "--batches-per-epoch",
        type=_positive_int,
        default=None,
        metavar="N",
        help="training batches per epoch (default: about one pass over the data)",
    )
    g.add_argument(
        "--lr",
        type=_positive_float,
        default=_DEFAULT_LR,
        help=f"learning rate (default {_DEFAULT_LR:g})",
    )
    g.add_argument(
        "--patience",
        type=int,
        default=None,
        metavar="N",
        help="stop after N epochs without a better validation EER and keep the "
        f"best epoch's weights (default: {_DEFAULT_PATIENCE} in train, off in "
        "bench); 0 disables it",
    )
    g.add_argument(
        "--max-len",
        type=_positive_int,
        default=50,
        metavar="L",
        help="keys per session fed to the network (default 50)",
    )
    g.add_argument(
        "--test-size",
        type=_fraction,
        default=1 / 3,
        metavar="F",
        help="share of identities held out for the test (default 1/3)",
    )
    g.add_argument(
        "--validation-size",
        type=_validation_fraction,
        default=0.2,
        metavar="F",
        help="share of training identities held out for validation (default 0.2)",
    )
    g.add_argument(
        "--device",
        type=_device,
        default="cpu",
        help="torch device: cpu, cuda, cuda:N, mps (default cpu)",
    )
    g.add_argument("--amp", action="store_true", help="automatic mixed precision")


def _build_parser():
    parser = _Parser(
        prog=_PROG,
        description="Train, evaluate and benchmark keystroke-dynamics verifiers "
        "trained with EERLoss. Without a command (e.g. 'skeer' or 'skeer --epochs "
        "5') the options go to 'skeer train', on synthetic data by default.",
    )
    parser.add_argument("--version", action="version", version=f"skeer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "train",
        help="train a verifier, evaluate it on unseen identities, write a report",
        description="Train a KeystrokeVerifier on an identity-disjoint split, "
        "evaluate it with the open-set protocol (Killourhy & Maxion for fixed "
        "text) and write model.skeer, features.json, report.json, det.png and "
        "training.png into --out.",
    )
    _add_data(p)
    _add_training(p, single_loss=True)
    _add_protocol(p)
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("skeer_out"),
        help="output folder (default skeer_out)",
    )
    p.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the non-learned baseline evaluated for comparison",
    )
    _add_common(p)

    p = sub.add_parser(
        "evaluate",
        help="protocol report of a saved model on new data",
        description="Evaluate a saved model on data whose identities are all "
        "test identities.",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="a model.skeer file")
    _add_data(p, default=None)
    _add_protocol(p)
    p.add_argument(
        "--out", type=Path, default=None, help="write report.json and det.png here"
    )
    p.add_argument(
        "--device", type=_device, default="cpu", help="torch device (default cpu)"
    )
    _add_common(p)

    p = sub.add_parser(
        "bench",
        help="loss ablation: same network, split, batches and budget per loss",
        description="Train the same network on the same split with the same "
        "batches and epoch budget for every loss and seed; write bench.md, "
        "bench.json and convergence.png into --out.",
    )
    _add_data(p)
    _add_training(p, single_loss=False)
    _add_protocol(p)
    p.add_argument(
        "--losses",
        type=_loss_list,
        default=["eer-area", "eer-direct", "triplet", "set2set", "contrastive"],
        metavar="L1,L2",
        help="comma-separated losses (default eer-area,eer-direct,triplet,"
        "set2set,contrastive)",
    )
    p.add_argument(
        "--operating-points",
        type=_operating_point_list,
        default=["eer"],
        metavar="OP1,OP2",
        help="operating points for the EER losses, e.g. eer,0.01 (default eer)",
    )
    p.add_argument(
        "--seeds", type=_positive_int, default=3, metavar="K", help="seeds 0..K-1"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("skeer_bench"),
        help="output folder (default skeer_bench)",
    )
    _add_common(p)

    p = sub.add_parser(
        "kvc-predict",
        help="score the KVC-onGoing comparisons with a saved model",
        description="Embed the KVC-onGoing test sessions with a saved model and "
        "write one score (cosine similarity) per comparison.",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="a model.skeer file")
    p.add_argument(
        "--data",
        type=_data_spec,
        required=True,
        metavar="kvc:PATH",
        help="the KVC-onGoing release folder",
    )
    p.add_argument("--scenario", choices=("desktop", "mobile"), default="desktop")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="prediction file (default {scenario}_predictions.txt)",
    )
    p.add_argument(
        "--device", type=_device, default="cpu", help="torch device (default cpu)"
    )
    _add_common(p)
    return parser


# ---------------------------------------------------------------------------
# output helpers
def _say(args, *lines):
    if not args.quiet:
        for line in lines:
            print(line, flush=True)


def _note(message):
    print(f"{_PROG}: {message}", file=sys.stderr, flush=True)


def _showwarning(message, category, filename, lineno, file=None, line=None):
    text = str(message).strip().splitlines()
    _note(f"warning: {text[0] if text else category.__name__}")


def _progress(args, **kwargs):
    from tqdm.auto import tqdm

    return tqdm(disable=args.quiet, file=sys.stderr, dynamic_ncols=True, **kwargs)


def _pct(value, digits=2):
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.{digits}f} %"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return repr(obj)


def _write_json(path, obj):
    path.write_text(json.dumps(_jsonable(obj), indent=2) + "\n", encoding="utf-8")
    return path


def _versions():
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


def _matplotlib_or_warn(what):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        _note(
            f"warning: matplotlib is not installed, skipping {what} "
            "(pip install skeer[plots])"
        )
        return False
    return True


def _save_figure(draw, path, figsize):
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    draw(ax)
    fig.savefig(path, dpi=120)
    return path


# ---------------------------------------------------------------------------
# data
class _Data:
    """Loaded data: sessions (or fixed-text vectors) with identities."""

    def __init__(self, spec, X, y, *, fixed_text, description, extra=None):
        self.spec = spec
        self.X = X
        self.y = np.asarray(y)
        self.fixed_text = fixed_text
        self.description = description
        self.extra = extra or {}


def _spec_text(spec):
    kind, path = spec
    return kind if path is None else f"{kind}:{path}"


def _check_data_path(spec):
    kind, path = spec
    if path is not None and not Path(path).expanduser().exists():
        raise FileNotFoundError(f"--data {kind}: no such file or folder: {path!r}")


def _limit_identities(X, y, n, extra):
    y = np.asarray(y)
    _, first = np.unique(y, return_index=True)
    keep_ids = y[np.sort(first)][:n]
    mask = np.isin(y, keep_ids)
    idx = np.flatnonzero(mask)
    if isinstance(X, np.ndarray):
        X = X[idx]
    else:
        X = [X[i] for i in idx]
    extra = {k: np.asarray(v)[idx] for k, v in extra.items()}
    return X, y[idx], extra


def _load_data(args, *, subjects_default=_DEFAULT_SUBJECTS):
    from . import datasets

    kind, path = args.data
    _check_data_path(args.data)
    if not args.quiet and kind != "synthetic":
        _note(f"loading {_spec_text(args.data)} ...")
    extra = {}
    if kind == "synthetic":
        n = args.subjects or subjects_default
        X, y = datasets.make_keystrokes(
            n_subjects=n, n_sessions=args.sessions, random_state=args.data_seed
        )
        desc = f"synthetic ({n} subjects x {args.sessions} sessions)"
        return _Data(args.data, X, y, fixed_text=False, description=desc)
    if kind == "aalto":
        bunch = datasets.load_aalto(path)
        X, y = bunch.data, bunch.target
        desc = f"Aalto 136M ({path})"
    elif kind == "kvc":
        bunch = datasets.load_kvc(path, scenario=args.scenario)
        X, y = bunch.data, bunch.target
        desc = f"KVC-onGoing {args.scenario} dev set ({path})"
    else:  # cmu
        bunch = datasets.load_cmu(path)
        X, y = np.asarray(bunch.data, dtype=np.float32), bunch.target
        extra = {"session": bunch.session, "rep": bunch.rep}
        desc = f"CMU fixed text ({path})"
    if args.subjects is not None:
        X, y, extra = _limit_identities(X, y, args.subjects, extra)
        desc += f", first {args.subjects} identities"
    return _Data(
        args.data, X, y, fixed_text=kind in _FIXED_TEXT, description=desc, extra=extra
    )


def _subset(data, idx):
    X = data.X[idx] if isinstance(data.X, np.ndarray) else [data.X[i] for i in idx]
    extra = {k: np.asarray(v)[idx] for k, v in data.extra.items()}
    return _Data(
        data.spec,
        X,
        data.y[idx],
        fixed_text=data.fixed_text,
        description=data.description,
        extra=extra,
    )


def _split(data, test_size, seed):
    """Identity-disjoint train/test split (as train_test_split_identities)."""
    from .protocols import train_test_split_identities

    idx = np.arange(len(data.y))
    idx_train, idx_test, _, _ = train_test_split_identities(
        idx, data.y, test_size=test_size, random_state=seed
    )
    return _subset(data, np.asarray(idx_train)), _subset(data, np.asarray(idx_test))


# ---------------------------------------------------------------------------
# models, losses, features
_MODEL_NAMES = {"typenet": "TypeNet", "type2branch": "Type2Branch", "mlp": "MLP"}
_LOSS_NAMES = {
    "eer": "EERLoss",
    "eer-area": "EERLoss (area)",
    "eer-direct": "EERLoss (direct)",
    "triplet": "triplet loss",
    "set2set": "Set2Set loss",
    "contrastive": "contrastive loss",
}


def _run_name(model, loss):
    return f"{_MODEL_NAMES[model]} + {_LOSS_NAMES[loss]}"


def _model_class(name):
    from . import networks

    return {
        "typenet": networks.TypeNet,
        "type2branch": networks.Type2Branch,
        "mlp": networks.MLPEmbedder,
    }[name]


def _resolve_model(args):
    """The network's name, checked against the kind of data (before loading it)."""
    fixed_text = args.data[0] in _FIXED_TEXT
    name = args.model or ("mlp" if fixed_text else "typenet")
    if fixed_text and name != "mlp":
        raise _UsageError(
            f"--model {name} needs free-text sessions; fixed-text data "
            f"({_spec_text(args.data)}) needs --model mlp"
        )
    if not fixed_text and name == "mlp":
        raise _UsageError(
            "--model mlp is for fixed-text data (cmu:PATH); use typenet or "
            "type2branch for free text"
        )
    return name


def _criterion(loss):
    """``(criterion class, criterion kwargs)`` of a loss name."""
    from . import losses

    if loss == "eer":
        return losses.EERLoss, {}
    if loss in ("eer-area", "eer-direct"):
        return losses.EERLoss, {"variant": loss.split("-", 1)[1]}
    cls = {
        "triplet": losses.TripletMarginLoss,
        "contrastive": losses.ContrastiveLoss,
        "set2set": losses.Set2SetLoss,
    }[loss]
    return cls, {}


def _check_loss_available(loss):
    """None if the loss can be built, else the reason (e.g. a missing package)."""
    cls, kwargs = _criterion(loss)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls(**kwargs)
    except ImportError as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def _features_params(args):
    return _make_features({"max_len": args.max_len}).get_params()


def _make_features(params):
    from .features import KeystrokeFeatures

    return KeystrokeFeatures(**params)


def _check_device(device):
    import torch

    kind = torch.device(device).type
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"--device {device}: CUDA is not available (torch {torch.__version__})"
        )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"--device {device}: MPS is not available")


def _verifier(args, *, model, loss, operating_point, seed, patience, callbacks=()):
    from .verifier import KeystrokeVerifier

    _check_device(args.device)

    criterion, ckw = _criterion(loss)
    P, K = args.batch
    kwargs = {f"criterion__{k}": v for k, v in ckw.items()}
    return KeystrokeVerifier(
        module=_model_class(model),
        criterion=criterion,
        operating_point=operating_point,
        max_epochs=args.epochs,
        lr=args.lr,
        n_identities_per_batch=P,
        n_samples_per_identity=K,
        batches_per_epoch=args.batches_per_epoch,
        validation_size=args.validation_size,
        patience=patience,
        device=args.device,
        amp=args.amp,
        random_state=seed,
        callbacks=list(callbacks) or None,
        verbose=0,
        **kwargs,
    )


def _epoch_progress(args, desc):
    """A skorch callback showing one tqdm bar over the epochs."""
    from skorch.callbacks import Callback

    quiet, total = args.quiet, args.epochs

    class _EpochBar(Callback):
        def on_train_begin(self, net, **kwargs):
            self.bar_ = _progress(
                argparse.Namespace(quiet=quiet),
                total=total,
                desc=desc,
                unit="epoch",
                leave=False,
            )

        def on_epoch_end(self, net, **kwargs):
            row = net.history[-1]
            postfix = {}
            if "train_loss" in row:
                postfix["loss"] = f"{row['train_loss']:.4f}"
            if "valid_eer" in row:
                postfix["valid_eer"] = _pct(row["valid_eer"])
            self.bar_.set_postfix(postfix, refresh=False)
            self.bar_.update()

        def on_train_end(self, net, **kwargs):
            self.bar_.close()

    return ("epoch_progress", _EpochBar())


def _best_epoch(history):
    """1-based epoch of the lowest validation EER, or None."""
    eers = [h.get("valid_eer") for h in history]
    if not any(e is not None for e in eers):
        return None
    return int(np.nanargmin([np.nan if e is None else e for e in eers])) + 1


def _history_records(net):
    keys = ("epoch", "train_loss", "valid_loss", "valid_eer", "dur")
    return [{k: row[k] for k in keys if k in row} for row in net.history]


# ---------------------------------------------------------------------------
# evaluation
def _first_per_identity(data, n):
    """The first ``n`` samples of each identity (order kept)."""
    y = data.y
    _, inverse = np.unique(y, return_inverse=True)
    rank = np.empty(len(y), dtype=np.int64)
    seen = {}
    for i, code in enumerate(inverse):
        rank[i] = seen.get(code, 0)
        seen[code] = rank[i] + 1
    return _subset(data, np.flatnonzero(rank < n))


def _evaluate(model, data, args):
    """``(metrics, y_binary, scores)`` of a model on test data.

    Free text: :func:`~skeer.protocols.evaluate_verification`. Fixed text:
    :func:`~skeer.protocols.evaluate_fixed_text` (``model=None`` is the scaled
    Manhattan detector); ``y_binary`` and ``scores`` are None when the
    protocol does not return pooled scores.
    """
    import inspect

    from . import protocols

    if not data.fixed_text:
        kw = {}
        if args.n_enroll is not None:
            kw["n_enroll"] = args.n_enroll
        if args.n_probe is not None:
            kw["n_probe"] = args.n_probe
        report, y_bin, scores = protocols.evaluate_verification(
            model, data.X, data.y, return_scores=True, **kw
        )
        return dict(report), np.asarray(y_bin), np.asarray(scores)
    kw = {}
    if args.n_enroll is not None:
        kw["n_train"] = args.n_enroll
    if args.n_impostor is not None:
        kw["n_impostor_reps"] = args.n_impostor
    if args.n_probe is not None:
        data = _first_per_identity(data, kw.get("n_train", 200) + args.n_probe)
    func = protocols.evaluate_fixed_text
    if "return_scores" in inspect.signature(func).parameters:
        report, y_bin, scores = func(model, data.X, data.y, return_scores=True, **kw)
        return dict(report), np.asarray(y_bin), np.asarray(scores)
    return dict(func(model, data.X, data.y, **kw)), None, None


# rows of the printed table: (report key, label, formatter)
def _metric_rows(fixed_text):
    if fixed_text:
        return [
            ("mean_eer", "mean per-subject EER", _pct),
            ("std_eer", "SD of per-subject EER", _pct),
        ]
    return [
        ("eer", "global EER", _pct),
        ("mean_identity_eer", "mean per-identity EER", _pct),
        ("fnmr_at_fmr_0.001", "FNMR @ FMR 0.1 %", _pct),
        ("fnmr_at_fmr_0.01", "FNMR @ FMR 1 %", _pct),
        ("fnmr_at_fmr_0.1", "FNMR @ FMR 10 %", _pct),
        ("auc", "AUC", lambda v: "n/a" if v is None else f"{v:.4f}"),
    ]


def _table(columns, fixed_text):
    """Text table: one row per metric, one column per (name, report)."""
    rows = [
        (label, [fmt(rep.get(key)) for _, rep in columns])
        for key, label, fmt in _metric_rows(fixed_text)
        if any(key in rep for _, rep in columns)
    ]
    counts = [
        ("identities", "n_identities"),
        ("subjects", "n_subjects"),
        ("genuine scores", "n_genuine"),
        ("impostor scores", "n_impostor"),
    ]
    for label, key in counts:
        if any(key in rep for _, rep in columns):
            rows.append((label, [str(rep.get(key, "")) for _, rep in columns]))
    width = max(len(r[0]) for r in rows) + 2
    colw = [max(12, len(name) + 2) for name, _ in columns]
    head = "".ljust(width) + "".join(n.rjust(w) for (n, _), w in zip(columns, colw))
    lines = [head]
    for label, values in rows:
        lines.append(
            label.ljust(width) + "".join(v.rjust(w) for v, w in zip(values, colw))
        )
    return lines


# ---------------------------------------------------------------------------
# the non-learned baseline
def _baseline(data_train, data_test, args):
    """Metrics of a non-learned baseline on the test data.

    Fixed text: the scaled Manhattan detector of Killourhy & Maxion
    (``evaluate_fixed_text(None, ...)``). Free text: summary statistics of
    each session's timings (mean, SD and quartiles of the log hold and
    latencies), standardised on the training identities, cosine similarity.
    """
    if data_test.fixed_text:
        name = "scaled Manhattan (Killourhy & Maxion)"
        return name, _evaluate(None, data_test, args)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    name = "timing statistics + cosine (no learning)"
    pipe = make_pipeline(
        _make_features(_features_params(args)),
        FunctionTransformer(_timing_statistics),
        StandardScaler(),
    )
    pipe.fit(data_train.X, data_train.y)
    return name, _evaluate(pipe, data_test, args)


def _timing_statistics(F):
    """(n, L, 5) KeystrokeFeatures -> (n, 20) per-session timing statistics."""
    F = np.asarray(F, dtype=np.float64)
    valid = F[..., -1] > 0
    timings = F[..., :4]
    timings = np.sign(timings) * np.log1p(10 * np.abs(timings))
    timings = np.where(valid[..., None], timings, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        stats = np.concatenate(
            [
                np.nanmean(timings, axis=1),
                np.nanstd(timings, axis=1),
                *np.nanpercentile(timings, [25, 50, 75], axis=1),
            ],
            axis=1,
        )
    return np.nan_to_num(stats)


# ---------------------------------------------------------------------------
# commands
def _cmd_train(args):
    t_start = time.perf_counter()
    model_name = _resolve_model(args)
    data = _load_data(args)
    feat_params = _features_params(args)
    features = _make_features(feat_params)
    t_loaded = time.perf_counter()

    train, test = _split(data, args.test_size, args.seed)
    n_train_ids, n_test_ids = len(np.unique(train.y)), len(np.unique(test.y))
    _say(
        args,
        f"skeer train: {_run_name(model_name, args.loss)} (operating point "
        f"{args.operating_point}) on {data.description}",
        f"  {n_train_ids} training identities ({len(train.y)} samples), "
        f"{n_test_ids} test identities ({len(test.y)} samples), "
        f"up to {args.epochs} epochs on {args.device}",
    )
    patience = _DEFAULT_PATIENCE if args.patience is None else (args.patience or None)
    verifier = _verifier(
        args,
        model=model_name,
        loss=args.loss,
        operating_point=args.operating_point,
        seed=args.seed,
        patience=patience,
        callbacks=[_epoch_progress(args, "training")],
    )
    X_train = features.fit_transform(train.X, train.y)
    verifier.fit(X_train, train.y)
    t_trained = time.perf_counter()

    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(features, verifier)
    metrics, y_bin, scores = _evaluate(pipe, test, args)
    t_evaluated = time.perf_counter()
    baseline = None
    if not args.no_baseline:
        name, (b_metrics, b_y, b_scores) = _baseline(train, test, args)
        baseline = {"name": name, "metrics": b_metrics, "_curve": (b_y, b_scores)}
    t_baseline = time.perf_counter()

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    files["model"] = verifier.save(out / _MODEL_FILE)
    files["features"] = _write_json(
        out / _FEATURES_FILE, _features_json(feat_params, data)
    )
    history = _history_records(verifier)
    files.update(_train_plots(args, out, y_bin, scores, history, baseline, model_name))
    timings = {
        "data_load_s": t_loaded - t_start,
        "training_s": t_trained - t_loaded,
        "evaluation_s": t_evaluated - t_trained,
        "baseline_s": t_baseline - t_evaluated,
    }
    report = {
        "command": "train",
        "config": _config(args, model=model_name),
        "features": feat_params,
        "data": {
            "description": data.description,
            "n_samples": len(data.y),
            "n_identities": len(np.unique(data.y)),
            "n_train_identities": n_train_ids,
            "n_test_identities": n_test_ids,
            "n_train_samples": len(train.y),
            "n_test_samples": len(test.y),
        },
        "protocol": _protocol_name(data.fixed_text),
        "metrics": metrics,
        "baseline": None
        if baseline is None
        else {"name": baseline["name"], "metrics": baseline["metrics"]},
        "threshold": verifier.threshold_,
        "epochs_run": len(verifier.history),
        "best_epoch": _best_epoch(history),
        # early stopping restores the best epoch's weights; without it the last
        "weights_epoch": (patience and _best_epoch(history)) or len(history),
        "history": history,
        "timings": timings,
        "versions": _versions(),
    }
    files["report"] = out / "report.json"
    report["files"] = {k: Path(v).name for k, v in files.items()}
    timings["total_s"] = time.perf_counter() - t_start
    _write_json(files["report"], report)

    columns = [("model", metrics)]
    if baseline is not None:
        columns.append(("baseline", baseline["metrics"]))
    _say(
        args,
        "",
        *_table(columns, data.fixed_text),
        "",
        f"time: data {timings['data_load_s']:.1f} s, training "
        f"{timings['training_s']:.1f} s ({len(verifier.history)} epochs), "
        f"evaluation {timings['evaluation_s']:.1f} s",
        f"wrote {out}/: " + ", ".join(sorted(report["files"].values())),
    )
    return 0


def _protocol_name(fixed_text):
    if fixed_text:
        return "Killourhy & Maxion fixed-text protocol (per-subject EER)"
    return (
        "open set: first G sessions enrol, last sessions probe, one session of "
        "every other test identity as impostor"
    )


def _config(args, **extra):
    skip = {"func", "quiet", "data"}
    cfg = {k: v for k, v in vars(args).items() if k not in skip}
    cfg["data"] = _spec_text(args.data)
    cfg.update({k: v for k, v in extra.items() if k != "data"})
    return _jsonable(cfg)


def _features_json(params, data):
    return {
        "class": "skeer.features.KeystrokeFeatures",
        "params": params,
        "fixed_text": data.fixed_text,
        "skeer_version": __version__,
    }


def _train_plots(args, out, y_bin, scores, history, baseline, model_name):
    if not _matplotlib_or_warn("det.png and training.png"):
        return {}
    from .plotting import plot_det, plot_training

    def det(ax):
        plot_det(y_bin, scores, ax=ax, label=_run_name(model_name, args.loss))
        if baseline is not None and baseline["_curve"][0] is not None:
            b_y, b_scores = baseline["_curve"]
            plot_det(b_y, b_scores, ax=ax, label="baseline")
        ax.set_title("DET curve, unseen identities", fontsize="medium")

    def training(ax):
        plot_training(history, ax=ax)
        ax.set_title(_run_name(model_name, args.loss), fontsize="medium")

    files = {}
    if y_bin is None:
        _note(
            "warning: no pooled scores from the fixed-text protocol, skipping det.png"
        )
    else:
        files["det"] = _save_figure(det, out / "det.png", (5.5, 5.5))
    files["training"] = _save_figure(training, out / "training.png", (6.5, 4.0))
    return files


def _load_model(path, device):
    from .verifier import KeystrokeVerifier

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"MODEL: no such file: {str(path)!r}")
    _check_device(device)
    try:
        verifier = KeystrokeVerifier.load(path, map_location=device)
    except (ValueError, OSError):
        raise
    except Exception as exc:  # torch.load's unpickling errors
        raise ValueError(
            f"MODEL {str(path)!r} is not a skeer model file ({type(exc).__name__})"
        ) from exc
    feat_file = path.parent / _FEATURES_FILE
    if feat_file.is_file():
        spec = json.loads(feat_file.read_text(encoding="utf-8"))
        params = spec.get("params", {})
    else:
        params = {}
        _note(
            f"warning: no {_FEATURES_FILE} beside {path.name}; using the default "
            "feature settings"
        )
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_make_features(params), verifier), params


def _check_model_data(verifier, data):
    fixed_model = getattr(verifier, "input_ndim_", 3) == 2
    if fixed_model != data.fixed_text:
        kind = "fixed-text" if fixed_model else "free-text"
        raise ValueError(
            f"the model was trained on {kind} data and cannot score "
            f"{_spec_text(data.spec)}"
        )


def _cmd_evaluate(args):
    t0 = time.perf_counter()
    pipe, feat_params = _load_model(args.model, args.device)
    data = _load_data(args)
    _check_model_data(pipe[-1], data)
    t1 = time.perf_counter()
    _say(
        args,
        f"skeer evaluate: {args.model} on {data.description} "
        f"({len(np.unique(data.y))} identities, all unseen)",
    )
    metrics, y_bin, scores = _evaluate(pipe, data, args)
    t2 = time.perf_counter()
    _say(args, "", *_table([("model", metrics)], data.fixed_text), "")
    if args.out is not None:
        out = args.out
        out.mkdir(parents=True, exist_ok=True)
        files = {"report": "report.json"}
        if y_bin is not None and _matplotlib_or_warn("det.png"):
            from .plotting import plot_det

            _save_figure(
                lambda ax: plot_det(y_bin, scores, ax=ax, label=args.model.name),
                out / "det.png",
                (5.5, 5.5),
            )
            files["det"] = "det.png"
        report = {
            "command": "evaluate",
            "model": str(args.model),
            "config": _config(args),
            "features": feat_params,
            "protocol": _protocol_name(data.fixed_text),
            "data": {
                "description": data.description,
                "n_samples": len(data.y),
                "n_identities": len(np.unique(data.y)),
            },
            "metrics": metrics,
            "timings": {"load_s": t1 - t0, "evaluation_s": t2 - t1},
            "versions": _versions(),
            "files": files,
        }
        _write_json(out / "report.json", report)
        _say(args, f"wrote {out}/: " + ", ".join(sorted(files.values())))
    return 0


def _cmd_kvc_predict(args):
    kind, path = args.data
    if kind != "kvc":
        raise _UsageError(f"--data must be kvc:PATH, got {_spec_text(args.data)!r}")
    from .datasets import load_kvc, write_kvc_predictions

    pipe, _ = _load_model(args.model, args.device)
    _check_data_path(args.data)
    kvc = load_kvc(path, scenario=args.scenario)
    if kvc.test_data is None or kvc.comparison_index is None:
        raise FileNotFoundError(
            f"--data {path!r} lacks {args.scenario}_test_sessions.npy or "
            f"{args.scenario}_comparisons.txt"
        )
    _check_model_data(
        pipe[-1], _Data(args.data, None, [], fixed_text=False, description="")
    )
    sessions = kvc.test_data
    chunk = 2048
    parts = []
    with _progress(
        args, total=len(sessions), desc="embedding", unit="session", leave=False
    ) as bar:
        for start in range(0, len(sessions), chunk):
            part = sessions[start : start + chunk]
            parts.append(pipe.transform(part))
            bar.update(len(part))
    emb = np.concatenate(parts) if parts else np.empty((0, 1), np.float32)
    a, b = kvc.comparison_index[:, 0], kvc.comparison_index[:, 1]
    scores = np.einsum("ij,ij->i", emb[a].astype(np.float64), emb[b].astype(np.float64))
    out = args.out or Path(f"{args.scenario}_predictions.txt")
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    write_kvc_predictions(scores, out)
    _say(args, f"wrote {len(scores)} scores ({len(sessions)} test sessions) to {out}")
    return 0


def _bench_runs(args):
    """``[(label, loss, operating_point)]`` of the ablation, in order."""
    runs = []
    for loss in args.losses:
        if loss.startswith("eer"):
            for op in args.operating_points:
                label = loss if op == "eer" else f"{loss}@{op:g}"
                runs.append((label, loss, op))
        else:
            runs.append((loss, loss, "eer"))
    return runs


def _epochs_to(curve, target):
    for i, v in enumerate(curve, 1):
        if v is not None and v <= target:
            return i
    return None


def _mean_sd(values):
    vals = np.asarray([v for v in values if v is not None], dtype=float)
    if vals.size == 0:
        return {"mean": None, "sd": None, "n": 0}
    sd = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
    return {"mean": float(vals.mean()), "sd": sd, "n": int(vals.size)}


def _cmd_bench(args):
    if args.data[0] in _FIXED_TEXT:
        raise _UsageError("bench runs on free-text data (synthetic, aalto, kvc)")
    model_name = _resolve_model(args)
    data = _load_data(args)
    feat_params = _features_params(args)
    runs = []
    for label, loss, op in _bench_runs(args):
        reason = _check_loss_available(loss)
        if reason is None:
            runs.append((label, loss, op))
        else:
            _note(f"warning: skipping loss {loss}: {reason}")
    if not runs:
        raise RuntimeError("no loss of --losses is available")
    patience = args.patience or None  # off by default: the same budget for all
    features = _make_features(feat_params)
    F = features.fit_transform(data.X, data.y)
    F_data = _Data(data.spec, F, data.y, fixed_text=False, description=data.description)
    results = {label: [] for label, _, _ in runs}
    total = len(runs) * args.seeds
    _say(
        args,
        f"skeer bench: {model_name}, {len(runs)} losses x {args.seeds} seeds, "
        f"{args.epochs} epochs each, on {data.description}",
    )
    with _progress(args, total=total, desc="bench", unit="run") as bar:
        for seed in range(args.seeds):
            train, test = _split(F_data, args.test_size, seed)
            for label, loss, op in runs:
                bar.set_postfix_str(f"{label}, seed {seed}")
                net = _verifier(
                    args,
                    model=model_name,
                    loss=loss,
                    operating_point=op,
                    seed=seed,
                    patience=patience,
                )
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    net.fit(train.X, train.y)
                fit_s = time.perf_counter() - t0
                metrics, _, _ = _evaluate(net, test, args)
                hist = _history_records(net)
                results[label].append(
                    {
                        "seed": seed,
                        "loss": loss,
                        "operating_point": op,
                        "metrics": metrics,
                        "valid_eer": [h.get("valid_eer") for h in hist],
                        "train_loss": [h.get("train_loss") for h in hist],
                        "epochs": len(hist),
                        "seconds_per_epoch": float(np.mean([h["dur"] for h in hist])),
                        "fit_s": fit_s,
                    }
                )
                bar.update()
    # epochs to reach the triplet baseline's best validation EER, per seed
    triplet = {r["seed"]: r for r in results.get("triplet", [])}
    for rs in results.values():
        for r in rs:
            base = triplet.get(r["seed"])
            if base is None:
                r["epochs_to_triplet_best"] = None
                continue
            best = min(v for v in base["valid_eer"] if v is not None)
            r["epochs_to_triplet_best"] = _epochs_to(r["valid_eer"], best)
    summary = {}
    for label, rs in results.items():
        summary[label] = {
            "global_eer": _mean_sd([r["metrics"].get("eer") for r in rs]),
            "mean_identity_eer": _mean_sd(
                [r["metrics"].get("mean_identity_eer") for r in rs]
            ),
            "fnmr_at_fmr_0.01": _mean_sd(
                [r["metrics"].get("fnmr_at_fmr_0.01") for r in rs]
            ),
            "epochs_to_triplet_best": _mean_sd(
                [r["epochs_to_triplet_best"] for r in rs]
            ),
            "seconds_per_epoch": _mean_sd([r["seconds_per_epoch"] for r in rs]),
        }
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    md = _bench_markdown(summary, args, data, model_name)
    (out / "bench.md").write_text(md, encoding="utf-8")
    _write_json(
        out / "bench.json",
        {
            "command": "bench",
            "config": _config(args, model=model_name),
            "features": feat_params,
            "data": {
                "description": data.description,
                "n_samples": len(data.y),
                "n_identities": len(np.unique(data.y)),
            },
            "summary": summary,
            "runs": results,
            "versions": _versions(),
        },
    )
    files = ["bench.md", "bench.json"]
    if _matplotlib_or_warn("convergence.png"):
        from .plotting import plot_convergence

        curves = {label: [r["valid_eer"] for r in rs] for label, rs in results.items()}

        def draw(ax):
            plot_convergence(curves, ax=ax)
            ax.set_title(
                f"{_MODEL_NAMES[model_name]}: validation EER per epoch "
                f"({args.seeds} seed{'s' * (args.seeds > 1)})",
                fontsize="medium",
            )

        _save_figure(draw, out / "convergence.png", (6.5, 4.0))
        files.append("convergence.png")
    _say(args, "", md.rstrip(), "", f"wrote {out}/: " + ", ".join(files))
    return 0


def _fmt_ms(stat, *, pct=True, digits=2):
    if stat["mean"] is None:
        return "n/a"
    scale = 100 if pct else 1
    text = f"{scale * stat['mean']:.{digits}f} ± {scale * stat['sd']:.{digits}f}"
    return text + (" %" if pct else "")


def _bench_markdown(summary, args, data, model_name):
    has_triplet = "triplet" in summary
    head = (
        "| loss | global EER | mean per-identity EER | FNMR @ 1 % FMR | "
        "epochs to triplet's best | s / epoch |"
    )
    lines = [
        f"Loss ablation: {_MODEL_NAMES[model_name]} on {data.description}, "
        f"{args.epochs} epochs, "
        f"batches {args.batch[0]} x {args.batch[1]}, {args.seeds} seed(s) "
        "(mean ± SD over seeds; test identities unseen in training).",
        "",
        head,
        "|" + "---|" * 6,
    ]
    for label, s in summary.items():
        reach = s["epochs_to_triplet_best"]
        if not has_triplet:
            reach_text = "n/a (no triplet run)"
        elif reach["n"] == 0:
            reach_text = "not reached"
        else:
            reach_text = _fmt_ms(reach, pct=False, digits=1)
            if reach["n"] < args.seeds:
                reach_text += f" ({reach['n']}/{args.seeds} seeds reached)"
        lines.append(
            f"| {label} | {_fmt_ms(s['global_eer'])} | "
            f"{_fmt_ms(s['mean_identity_eer'])} | {_fmt_ms(s['fnmr_at_fmr_0.01'])} | "
            f"{reach_text} | {_fmt_ms(s['seconds_per_epoch'], pct=False)} |"
        )
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _torch_threads(n):
    """Use ``n`` torch CPU threads inside the block (``n <= 0``: unchanged)."""
    if n is None or n <= 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_MAIN_OPTIONS = ("-h", "--help", "--version")
_COMMANDS = {
    "train": _cmd_train,
    "evaluate": _cmd_evaluate,
    "bench": _cmd_bench,
    "kvc-predict": _cmd_kvc_predict,
}


def main(argv=None):
    """Run the ``skeer`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.
        No arguments at all runs ``skeer train`` with its defaults.

    Returns
    -------
    code : int
        0 on success, 1 on a runtime error (reported on one line of stderr),
        2 on a usage error.

    Examples
    --------
    >>> from skeer.cli import main
    >>> code = main(["--version"])  # doctest: +ELLIPSIS
    skeer ...
    >>> code
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in _MAIN_OPTIONS):
        argv = ["train", *argv]  # no command: options go to 'skeer train'
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        _note("error: a command is required: train, evaluate, bench or kvc-predict")
        return 2
    command = _COMMANDS[args.command]
    prog = f"{_PROG} {args.command}"
    with warnings.catch_warnings(), _torch_threads(args.threads):
        warnings.showwarning = _showwarning
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        try:
            return command(args)
        except _UsageError as exc:
            print(f"{prog}: error: {exc} (see '{prog} --help')", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            _note("interrupted")
            return 130
        except (OSError, ValueError, ImportError, RuntimeError, KeyError) as exc:
            if os.environ.get("SKEER_DEBUG"):
                raise
            message = str(exc).strip().splitlines()
            text = message[0] if message else type(exc).__name__
            if isinstance(exc, KeyError):
                text = f"missing key {text}"
            print(f"{prog}: error: {text}", file=sys.stderr)
            return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
