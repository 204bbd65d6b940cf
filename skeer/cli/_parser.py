"""The ``skeer`` command's argument parser: options, their types and defaults."""

import argparse
import importlib
import inspect
import math
from math import inf
from pathlib import Path

from skeer._version import __version__
from skeer.datasets._spec import _parse_spec
from skeer.evaluation._benchmark import DEFAULT_LOSSES, QUICK_PROFILE
from skeer.registry import LOSSES, NETWORKS

PROG = "skeer"
# the losses 'skeer bench' compares by default: compare_losses'
DEFAULT_BENCH_LOSSES = list(DEFAULT_LOSSES)
PROFILES = ("default", "quick")
SCENARIOS = ("desktop", "mobile")


# option types: parse a string or say what was expected
def data_spec(text):
    """The normalised dataset spec (``"synthetic"`` or ``"kind:PATH"``)."""
    try:
        kind, path = _parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return kind if path is None else f"{kind}:{path}"


def data_kind(spec):
    """``"synthetic"``, ``"aalto"``, ``"kvc"``, ``"cmu"`` or ``"greyc"``."""
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


def _operating_point_list(text):
    return list(dict.fromkeys(_operating_point(t) for t in text.split(",") if t))


def _device(text):
    import torch

    try:
        torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r}; expected cpu, cuda, cuda:N or mps"
        ) from None
    return text


def _number(cast, ok, expected):
    """The type of a number option: ``cast(text)`` where ``ok``, else an error."""

    def parse(text):
        try:
            value = cast(text)
        except ValueError:
            value = math.nan
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


# (NaN fails every comparison: a value that does not parse is refused)
_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number(float, lambda v: 0 < v < inf, "a finite positive number")
_non_negative_float = _number(float, lambda v: 0 <= v < inf, "a finite number >= 0")
_n_jobs = _number(int, lambda v: v >= 1 or v == -1, "a positive integer or -1")
_share = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")  # held-out share
_auto_epochs = _number(int, lambda v: v >= 1, "a positive integer or 'auto'")


def _epochs(text):
    return "auto" if text.strip().lower() == "auto" else _auto_epochs(text)


def _path(text):
    """A path option's value; '' (which Path would read as '.') is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got ''")
    return Path(text).expanduser()


def _scenario_model(text):
    """``(scenario or None, path)`` of a kvc-predict MODEL argument."""
    scenario, sep, path = text.partition("=")
    if sep and scenario in SCENARIOS:
        return scenario, _path(path)
    return None, _path(text)


def _loss_list(text):
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in LOSSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown loss {', '.join(unknown) or text!r}; choose from "
            f"{', '.join(LOSSES)}"
        )
    return list(dict.fromkeys(names))


# A LibraryDefault is read (importing torch) only after parsing or for --help
_OWNERS = {
    "KeystrokeVerifier": "skeer.verifier._estimator",
    "KeystrokeFeatures": "skeer.features._keystroke",
    "train_test_split_subjects": "skeer.evaluation._model_selection",
    "load_dataset": "skeer.datasets",
}


def _library_defaults(owner):
    """A class's ``get_params()``, or a function's keyword defaults."""
    obj = getattr(importlib.import_module(_OWNERS[owner]), owner)
    if inspect.isclass(obj):
        return obj().get_params()
    return {
        name: p.default
        for name, p in inspect.signature(obj).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


class LibraryDefault:
    """An option's default: ``owner``'s parameter(s) ``names`` (profile first)."""

    def __init__(self, *names, owner="KeystrokeVerifier"):
        self.owner = owner
        self.names = names

    def value(self, profile=None):
        library = _library_defaults(self.owner)
        values = [(profile or {}).get(n, library[n]) for n in self.names]
        return values[0] if len(values) == 1 else values

    def __str__(self):
        values = [_library_defaults(self.owner)[n] for n in self.names]
        text = " ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values)
        return f"{text}: {self.owner}'s"

    def __repr__(self):
        names = ", ".join(map(repr, self.names))
        return f"LibraryDefault({names}, owner={self.owner!r})"


def resolve_defaults(args):
    """Replace every :class:`LibraryDefault` of ``args`` by its value, in place."""
    quick = getattr(args, "profile", "default") == "quick"
    profile = dict(QUICK_PROFILE) if quick else {}
    if (
        isinstance(getattr(args, "test_size", None), LibraryDefault)
        and getattr(args, "command", None) == "train"
        and data_kind(getattr(args, "data", "synthetic")) == "kvc"
    ):
        # a KVC model is for a submission: every development subject trains it
        args.test_size = 0.0
    for key, value in vars(args).items():
        if isinstance(value, LibraryDefault):
            setattr(args, key, value.value(profile))
    if (
        getattr(args, "subjects", 0) is None
        and getattr(args, "data", None) == "synthetic"
    ):
        args.subjects = profile.get("n_subjects")
    return args


_lib = LibraryDefault


class UsageError(Exception):
    """A usage error found after parsing (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``prog: error: msg (see --help)``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add(p, *specs):
    """Add arguments given as ``(flags, keyword arguments)`` pairs."""
    for flags, kw in specs:
        p.add_argument(*flags.split(), **kw)


# fmt: off
_COMMON = (
    ("--threads", dict(type=int, default=1, metavar="N", help="torch CPU threads "
        "(default 1: small recurrent networks gain little from more, and on busy "
        "cores extra threads slow training down by an order of magnitude); 0 "
        "keeps torch's default")),
    ("-q --quiet", dict(action="store_true", help="no progress bars and no "
        "progress messages; results are still written and printed")),
    ("--json", dict(action="store_true", help="print the report as JSON on stdout "
        "and nothing else there (the human-readable lines go to stderr)")),
)
_DEVICE = ("--device", dict(type=_device, default="cpu",
                            help="torch device (default cpu)"))
_OUT = {"type": _path}


def _data(default="synthetic"):
    return (
        ("--data", dict(type=data_spec, default=data_spec(default) if default
            else None, required=default is None, metavar="SPEC",
            help="synthetic, aalto:PATH (folder/archive of *_keystrokes.txt), "
            "kvc:PATH (KVC-onGoing release folder), cmu:PATH "
            "(DSL-StrongPasswordData.csv) or greyc:PATH (GREYC-NISLAB CSV table, "
            "see --passphrase)" + (f"; default {default}" if default else ""))),
        ("--scenario", dict(choices=SCENARIOS, default="desktop",
            help="KVC-onGoing scenario (default desktop)")),
        ("--passphrase", dict(default="P1", metavar="P",
            help="GREYC-NISLAB passphrase: P1 to P5 or its text (default P1)")),
        ("--subjects", dict(type=_positive_int, default=None, metavar="N",
            help="synthetic: subjects generated (default: make_keystrokes's, or "
            "the profile's); other data: keep the first N subjects (default all)")),
        ("--sessions", dict(type=_positive_int, default=_lib("n_sessions",
            owner="load_dataset"), metavar="N",
            help="synthetic: sessions per subject (default %(default)s)")),
        ("--data-seed", dict(type=int, default=0, metavar="N",
            help="seed of the synthetic data (default 0)")),
        ("--no-cache", dict(dest="cache", action="store_false", help="aalto: "
            "neither read nor write the on-disk cache of parsed files")),
    )


_MODEL = (
    ("--profile", dict(choices=PROFILES, default="default",
        help="where the defaults below come from (default: the library's)")),
    ("--model", dict(choices=NETWORKS, default=None,
        help="embedding network (default typenet; mlp for fixed-text data)")),
)
_PROTOCOL = (
    ("--n-enroll", dict(type=_positive_int, default=None, metavar="G",
        help="enrolment samples per subject (default 5); fixed text: training "
        "repetitions per subject (default 200 for cmu, as Killourhy & Maxion; "
        "greyc: 5 in each typing condition, judged within each condition)")),
    ("--n-probe", dict(type=_positive_int, default=None, metavar="N",
        help="genuine probes per subject (default 5); fixed text: keep only "
        "the first G + N repetitions per subject and condition (default: all)")),
    ("--n-impostor", dict(type=_positive_int, default=None, metavar="N",
        help="fixed text: impostor probes taken from each other subject "
        "(default 5)")),
)
_SINGLE_LOSS = (
    ("--loss", dict(choices=LOSSES, default=None,
        help="training loss (default supcon+eer: SupCon + 0.3 x EERLoss; eer "
        "for fixed-text data)")),
    ("--operating-point", dict(type=_operating_point, default="eer", metavar="OP",
        help="'eer' or a target false-match rate such as 0.01 (default eer)")),
)
_TRAINING = (
    ("--epochs", dict(type=_epochs, default=_lib("max_epochs"), metavar="N|auto",
        help="maximum training epochs, or 'auto': enough for 1,750 training "
        "batches (fixed text: 90 passes over the data, at most 3,500 batches; default "
        "%(default)s max_epochs)")),
    ("--batch", dict(nargs=2, type=_positive_int, default=_lib(
        "n_subjects_per_batch", "n_samples_per_subject"), metavar=("P", "K"),
        help="subjects per batch and samples per subject (default %(default)s "
        "n_subjects_per_batch and n_samples_per_subject)")),
    ("--batches-per-epoch", dict(type=_positive_int, default=None, metavar="N",
        help="training batches per epoch (default: about one pass over the data)")),
    ("--lr", dict(type=_positive_float, default=_lib("lr"),
        help="peak learning rate (default %(default)s lr)")),
    ("--lr-schedule", dict(choices=("cosine", "constant"),
        default=_lib("lr_schedule"), help="learning rate after the warm-up: "
        "cosine decay to 0 over --epochs, or constant (default %(default)s "
        "lr_schedule)")),
    ("--warmup-epochs", dict(type=_non_negative_float,
        default=_lib("warmup_epochs"), metavar="E", help="epochs of linear "
        "learning-rate warm-up (default %(default)s warmup_epochs)")),
)
_PATIENCE = {
    True: dict(default=_lib("patience"), help="stop after N epochs without a "
        "better smoothed validation EER (mean of the last 3 epochs) and keep the "
        "best smoothed epoch's weights; 0 disables it (default %(default)s "
        "patience; None: off)"),
    False: dict(default=0, help="early stopping as in 'skeer train' (default 0, "
        "off: every loss gets the same epoch budget)"),
}
_SPLIT = (
    ("--max-len", dict(type=_positive_int, default=_lib("max_len",
        owner="KeystrokeFeatures"), metavar="L",
        help="keys per session fed to the network (default %(default)s max_len)")),
    ("--test-size", dict(type=_share, default=_lib("test_size",
        owner="train_test_split_subjects"), metavar="F",
        help="share of subjects held out for the test (default %(default)s; "
        "0 for kvc data: a submission model trains on every development "
        "subject, the organisers judge it); train: 0 trains on all subjects "
        "and judges none")),
    ("--validation-size", dict(type=_share,
        default=_lib("validation_size"), metavar="F", help="share of training "
        "subjects held out for validation (default %(default)s)")),
    ("--device", dict(type=_device, default="cpu",
        help="torch device: cpu, cuda, cuda:N, mps (default cpu)")),
    ("--amp", dict(action="store_true", help="automatic mixed precision")),
)
# fmt: on


def _command(sub, name, help, description, *, data=None, training=None, **extra):
    """A sub-command: MODEL, data, training, protocol, own, device, common options."""
    p = sub.add_parser(name, help=help, description=description)
    if "model" in extra:
        p.add_argument("model", metavar="MODEL", **extra.pop("model"))
    if data is not False:
        _add(p.add_argument_group("data"), *_data(data))
    if training is not None:  # True: 'skeer train', False: 'skeer bench'
        quick = ", ".join(f"{k}={v:g}" for k, v in QUICK_PROFILE.items())
        g = p.add_argument_group(
            "model and training",
            "Defaults are the library's (KeystrokeVerifier(), KeystrokeFeatures(), "
            "train_test_split_subjects). '--profile quick' (what 'skeer' without "
            "a command uses) takes skeer.evaluation.QUICK_PROFILE where it has a "
            f"value ({quick}): the quick demo, one to two minutes on 2 CPU cores.",
        )
        patience = dict(type=_non_negative_int, metavar="N", **_PATIENCE[training])
        losses = _SINGLE_LOSS if training else ()
        _add(g, *_MODEL, *losses, *_TRAINING, ("--patience", patience), *_SPLIT)
    if extra.pop("protocol", True):
        _add(p.add_argument_group("evaluation protocol"), *_PROTOCOL)
    _add(p, *extra.pop("options", ()))
    if training is None:
        _add(p, _DEVICE)
    _add(p, *_COMMON)
    return p


def build_parser():
    """The ``skeer`` parser with its six sub-commands."""
    parser = _Parser(
        prog=PROG,
        description="Train, evaluate and benchmark keystroke-dynamics verifiers "
        "trained with EERLoss. Without a command ('skeer', 'skeer --epochs 5') "
        "the options go to 'skeer train --profile quick': the quick demo on "
        "synthetic data.",
    )
    parser.add_argument("--version", action="version", version=f"skeer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # fmt: off
    _command(
        sub, "train",
        "train a verifier, evaluate it on unseen subjects, write a report",
        "Train a KeystrokeVerifier on a subject-disjoint split, "
        "evaluate it with the open-set protocol (Killourhy & Maxion for fixed "
        "text) and write model.skeer (the fitted pipeline), report.json, "
        "det.png and training.png into --out. The files are written under "
        "temporary names and renamed into place at the end, report.json last: "
        "--out holds one run, never a mix of two. Ctrl-C stops training early: "
        "the run is still judged and written, report.json says "
        '"interrupted": true and the exit code is 130.',
        data="synthetic", training=True, options=(
            ("--seed", dict(type=int, default=0, help="training seed (default 0)")),
            ("--out", dict(_OUT, default=Path("skeer_out"),
                help="output folder, created if needed (default skeer_out)")),
            ("--no-baseline", dict(action="store_true", help="skip the "
                "non-learned baseline evaluated for comparison")),
        ),
    )
    _command(
        sub, "evaluate", "protocol report of a saved model on new data",
        "Evaluate a saved model on data whose subjects are all test subjects.",
        model=dict(type=_path, help="a model file written by skeer train"),
        options=(("--out", dict(_OUT, default=None,
                                help="write report.json and det.png here")),),
    )
    _command(
        sub, "bench",
        "loss ablation: same network, split, batches and budget per loss",
        "Train the same network on the same split with the same "
        "batches and epoch budget for every loss and seed; write bench.md, "
        "bench.json and convergence.png into --out.",
        data="synthetic", training=False, options=(
            ("--losses", dict(type=_loss_list, default=DEFAULT_BENCH_LOSSES,
                metavar="L1,L2", help="comma-separated losses (default "
                f"{','.join(DEFAULT_BENCH_LOSSES)})")),
            ("--operating-points", dict(type=_operating_point_list,
                default=["eer"], metavar="OP1,OP2", help="operating points for "
                "the EER losses, e.g. eer,0.01 (default eer)")),
            ("--seeds", dict(type=_positive_int, default=3, metavar="K",
                help="seeds 0..K-1")),
            ("--n-jobs", dict(type=_n_jobs, default=1, metavar="N", help="runs "
                "fitted in parallel processes, -1 for one per core; results do "
                "not depend on it (default 1)")),
            ("--out", dict(_OUT, default=Path("skeer_bench"),
                help="output folder (default skeer_bench)")),
        ),
    )
    _command(
        sub, "enroll",
        "enrol the subjects of some data into a model (no training)",
        "Enrol every subject of --data (their first --n-enroll "
        "samples, all by default) into MODEL, a model file or "
        "'pretrained:aalto-typenet' (skeer.pretrained), and write the model "
        "to --out. A subject already enrolled is replaced.",
        model=dict(type=_path, help="file or pretrained:NAME"),
        protocol=False, options=(
            ("--n-enroll", dict(type=_positive_int, default=None, metavar="G",
                help="samples per subject that enrol (default: all)")),
            ("--reset", dict(action="store_true",
                help="drop the enrolled subjects")),
            ("--out", dict(_OUT, required=True, help="model file to write")),
        ),
    )
    _command(
        sub, "verify",
        "verify the claims of some data with an enrolled model",
        "Score each sample of --data as a claim of its own subject "
        "(or of --claim) against MODEL's templates and say which claims the "
        "model accepts (score >= its threshold); --out writes one CSV row a "
        "sample: sample, subject, claimed, score, accepted.",
        model=dict(type=_path, help="a model file with enrolled subjects"),
        protocol=False, options=(
            ("--claim", dict(default=None, metavar="ID",
                help="the id every sample claims")),
            ("--out", dict(_OUT, default=None, help="CSV file to write")),
        ),
    )
    _command(
        sub, "kvc-predict",
        "score the KVC-onGoing comparisons with a saved model",
        "Embed the KVC-onGoing test sessions with a saved model, "
        "score each comparison (cosine similarity) and write the prediction "
        "files and/or the submission archive (--zip) in the challenge kit's "
        "format. MODEL scores every scenario; 'desktop=MODEL' and "
        "'mobile=MODEL' give each scenario its own model.",
        model=dict(type=_scenario_model, nargs="+", help="a model file written "
                   "by skeer train, or SCENARIO=MODEL"),
        data=False, protocol=False, options=(
            ("--data", dict(type=data_spec, required=True, metavar="kvc:PATH",
                help="the KVC-onGoing release folder")),
            ("--scenario", dict(choices=(*SCENARIOS, "both"), default=None,
                help="scenarios to score (default: those named by "
                "SCENARIO=MODEL, else every scenario whose test sessions and "
                "comparisons are in the folder)")),
            ("--out", dict(_OUT, default=None, metavar="FILE", help="prediction "
                "file of a single scenario (default, without --zip: "
                "{scenario}_predictions.txt in the current folder, for each "
                "scenario)")),
            ("--zip", dict(_OUT, default=None, metavar="FILE", help="write the "
                "submission archive: {scenario}_predictions.txt of every "
                "scenario scored")),
        ),
    )
    # fmt: on
    return parser
