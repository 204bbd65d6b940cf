"""The ``skeer`` command's argument parser: options, their types and defaults."""

import argparse
import math
from pathlib import Path

from .._version import __version__
from ..datasets._spec import _parse_spec
from ..registry import LOSSES, NETWORKS

PROG = "skeer"

# defaults of the main job (``skeer`` with no arguments), sized to finish in
# well under 3 minutes on a 2-core CPU (measured: about 1.5 min on 2 busy cores)
# while the learned verifier clearly beats the non-learned baseline
DEFAULT_SUBJECTS = 300
DEFAULT_SESSIONS = 15
DEFAULT_EPOCHS = 20
DEFAULT_BATCH = (20, 15)
DEFAULT_LR = 2e-3
DEFAULT_PATIENCE = 10
DEFAULT_BENCH_LOSSES = ["eer-area", "eer-direct", "triplet", "set2set", "contrastive"]


class UsageError(Exception):
    """A usage error found after parsing (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``prog: error: msg (see --help)``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def data_spec(text):
    """The normalised dataset spec (``"synthetic"`` or ``"kind:PATH"``)."""
    try:
        kind, path = _parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return kind if path is None else f"{kind}:{path}"


def data_kind(spec):
    """``"synthetic"``, ``"aalto"``, ``"kvc"`` or ``"cmu"``."""
    return _parse_spec(spec)[0]


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


def _number(text, cast, ok, expected):
    try:
        value = cast(text)
    except ValueError:
        value = math.nan
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _positive_int(text):
    return _number(text, int, lambda v: v == v and v >= 1, "a positive integer")


def _positive_float(text):
    return _number(text, float, lambda v: v > 0, "a positive number")


def _fraction(text):
    return _number(text, float, lambda v: 0 < v < 1, "a number in (0, 1)")


def _validation_fraction(text):
    return _number(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def _loss_list(text):
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in LOSSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown loss {', '.join(unknown) or text!r}; choose from "
            f"{', '.join(LOSSES)}"
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
        type=data_spec,
        default=data_spec(default) if default else None,
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
        help=f"synthetic: subjects generated (default {DEFAULT_SUBJECTS}); "
        "other data: keep the first N subjects (default all)",
    )
    g.add_argument(
        "--sessions",
        type=_positive_int,
        default=DEFAULT_SESSIONS,
        metavar="N",
        help=f"synthetic: sessions per subject (default {DEFAULT_SESSIONS})",
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
        help="enrolment samples per subject (default 5); fixed text: training "
        "repetitions per subject (default 200, as Killourhy & Maxion)",
    )
    g.add_argument(
        "--n-probe",
        type=_positive_int,
        default=None,
        metavar="N",
        help="genuine probes per subject (default 5); fixed text: keep only "
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
        choices=NETWORKS,
        default=None,
        help="embedding network (default typenet; mlp for fixed-text data)",
    )
    if single_loss:
        g.add_argument(
            "--loss",
            choices=LOSSES,
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
        default=DEFAULT_EPOCHS,
        metavar="N",
        help=f"maximum training epochs (default {DEFAULT_EPOCHS})",
    )
    g.add_argument(
        "--batch",
        nargs=2,
        type=_positive_int,
        default=DEFAULT_BATCH,
        metavar=("P", "K"),
        help="subjects per batch and samples per subject (default "
        f"{DEFAULT_BATCH[0]} {DEFAULT_BATCH[1]})",
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
        default=DEFAULT_LR,
        help=f"learning rate (default {DEFAULT_LR:g})",
    )
    g.add_argument(
        "--patience",
        type=int,
        default=None,
        metavar="N",
        help="stop after N epochs without a better validation EER and keep the "
        f"best epoch's weights (default: {DEFAULT_PATIENCE} in train, off in "
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
        help="share of subjects held out for the test (default 1/3)",
    )
    g.add_argument(
        "--validation-size",
        type=_validation_fraction,
        default=0.2,
        metavar="F",
        help="share of training subjects held out for validation (default 0.2)",
    )
    g.add_argument(
        "--device",
        type=_device,
        default="cpu",
        help="torch device: cpu, cuda, cuda:N, mps (default cpu)",
    )
    g.add_argument("--amp", action="store_true", help="automatic mixed precision")


def _add_model_file(p):
    p.add_argument(
        "model", type=Path, metavar="MODEL", help="a model file written by skeer train"
    )


def build_parser():
    """The ``skeer`` parser with its four sub-commands."""
    parser = _Parser(
        prog=PROG,
        description="Train, evaluate and benchmark keystroke-dynamics verifiers "
        "trained with EERLoss. Without a command (e.g. 'skeer' or 'skeer --epochs "
        "5') the options go to 'skeer train', on synthetic data by default.",
    )
    parser.add_argument("--version", action="version", version=f"skeer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "train",
        help="train a verifier, evaluate it on unseen subjects, write a report",
        description="Train a KeystrokeVerifier on a subject-disjoint split, "
        "evaluate it with the open-set protocol (Killourhy & Maxion for fixed "
        "text) and write model.skeer (the fitted pipeline), report.json, "
        "det.png and training.png into --out.",
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
        description="Evaluate a saved model on data whose subjects are all "
        "test subjects.",
    )
    _add_model_file(p)
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
        default=DEFAULT_BENCH_LOSSES,
        metavar="L1,L2",
        help=f"comma-separated losses (default {','.join(DEFAULT_BENCH_LOSSES)})",
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
    _add_model_file(p)
    p.add_argument(
        "--data",
        type=data_spec,
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
