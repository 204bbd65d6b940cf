"""The ``skeer`` command's argument parser: options, their types and defaults."""

import argparse
from pathlib import Path

from skeer._version import __version__
from skeer.cli._types import (
    SCENARIOS,
    _device,
    _epochs,
    _loss_list,
    _n_jobs,
    _non_negative_float,
    _non_negative_int,
    _operating_point,
    _operating_point_list,
    _path,
    _positive_float,
    _positive_int,
    _scenario_model,
    _test_fraction,
    _validation_fraction,
    data_kind,
    data_spec,
)
from skeer.evaluation._benchmark import DEFAULT_LOSSES, QUICK_PROFILE
from skeer.registry import LOSSES, NETWORKS

PROG = "skeer"
# the losses 'skeer bench' compares by default: compare_losses'
DEFAULT_BENCH_LOSSES = list(DEFAULT_LOSSES)
PROFILES = ("default", "quick")


# ---------------------------------------------------------------------------
# One source of defaults: an option whose default belongs to the library holds
# a LibraryDefault; main() replaces it by the library's value (or the quick
# profile's, skeer.evaluation.QUICK_PROFILE) once the options are parsed. Reading
# a default imports the library (torch), so it happens only then, or when
# --help prints it, never for '--version' or a usage error.
def _verifier_defaults():
    from skeer.verifier._estimator import KeystrokeVerifier

    return KeystrokeVerifier().get_params()


def _features_defaults():
    from skeer.features._keystroke import KeystrokeFeatures

    return KeystrokeFeatures().get_params()


def _signature_defaults(func):
    import inspect

    return {
        name: p.default
        for name, p in inspect.signature(func).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _split_defaults():
    from skeer.evaluation._model_selection import train_test_split_subjects

    return _signature_defaults(train_test_split_subjects)


def _data_defaults():
    from skeer.datasets import load_dataset

    return _signature_defaults(load_dataset)


_OWNERS = {
    "KeystrokeVerifier": _verifier_defaults,
    "KeystrokeFeatures": _features_defaults,
    "train_test_split_subjects": _split_defaults,
    "load_dataset": _data_defaults,
}


class LibraryDefault:
    """The default of an option: parameter(s) ``names`` of ``owner``.

    ``value(profile)`` is the profile's value of each name where it has one,
    else the library's; ``str()`` (what ``--help`` shows as ``%(default)s``)
    is the library's value.
    """

    def __init__(self, owner, *names):
        self.owner = owner
        self.names = names

    def value(self, profile=None):
        library = _OWNERS[self.owner]()
        profile = profile or {}
        values = [profile.get(n, library[n]) for n in self.names]
        return values[0] if len(values) == 1 else values

    def __str__(self):
        value = self.value()
        values = value if isinstance(value, list) else [value]
        text = " ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values)
        return f"{text}: {self.owner}'s"

    def __repr__(self):
        return f"LibraryDefault({self.owner!r}, {', '.join(map(repr, self.names))})"


def _profile(name):
    """The parameter values of a profile (``{}`` for the library's defaults)."""
    if name != "quick":
        return {}
    return dict(QUICK_PROFILE)


def resolve_defaults(args):
    """Replace every :class:`LibraryDefault` of ``args`` by its value, in place.

    A profile's synthetic-data size (``n_subjects``) applies to synthetic data
    only; otherwise ``args.subjects`` stays None (the library's default for
    synthetic data, all subjects for the others).
    """
    profile = _profile(getattr(args, "profile", "default"))
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


class UsageError(Exception):
    """A usage error found after parsing (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``prog: error: msg (see --help)``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


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
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bars and no progress messages; results are still "
        "written and printed",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON on stdout and nothing else there (the "
        "human-readable lines go to stderr)",
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
        "kvc:PATH (KVC-onGoing release folder), cmu:PATH "
        "(DSL-StrongPasswordData.csv) or greyc:PATH (GREYC-NISLAB CSV table, "
        "see --passphrase)" + (f"; default {default}" if default else ""),
    )
    g.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="desktop",
        help="KVC-onGoing scenario (default desktop)",
    )
    g.add_argument(
        "--passphrase",
        default="P1",
        metavar="P",
        help="GREYC-NISLAB passphrase: P1 to P5 or its text (default P1)",
    )
    g.add_argument(
        "--subjects",
        type=_positive_int,
        default=None,
        metavar="N",
        help="synthetic: subjects generated (default: make_keystrokes's, or "
        "the profile's); other data: keep the first N subjects (default all)",
    )
    g.add_argument(
        "--sessions",
        type=_positive_int,
        default=LibraryDefault("load_dataset", "n_sessions"),
        metavar="N",
        help="synthetic: sessions per subject (default %(default)s)",
    )
    g.add_argument(
        "--data-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the synthetic data (default 0)",
    )
    g.add_argument(
        "--no-cache",
        dest="cache",
        action="store_false",
        help="aalto: neither read nor write the on-disk cache of parsed files",
    )


def _add_protocol(p):
    g = p.add_argument_group("evaluation protocol")
    g.add_argument(
        "--n-enroll",
        type=_positive_int,
        default=None,
        metavar="G",
        help="enrolment samples per subject (default 5); fixed text: training "
        "repetitions per subject (default 200 for cmu, as Killourhy & Maxion; "
        "greyc: 5 in each typing condition, judged within each condition)",
    )
    g.add_argument(
        "--n-probe",
        type=_positive_int,
        default=None,
        metavar="N",
        help="genuine probes per subject (default 5); fixed text: keep only "
        "the first G + N repetitions per subject and condition (default: all)",
    )
    g.add_argument(
        "--n-impostor",
        type=_positive_int,
        default=None,
        metavar="N",
        help="fixed text: impostor probes taken from each other subject (default 5)",
    )


def _add_training(p, *, single_loss):
    quick = ", ".join(f"{k}={v:g}" for k, v in QUICK_PROFILE.items())
    g = p.add_argument_group(
        "model and training",
        "Defaults are the library's (KeystrokeVerifier(), KeystrokeFeatures(), "
        "train_test_split_subjects). '--profile quick' (what 'skeer' without "
        "a command uses) takes skeer.evaluation.QUICK_PROFILE where it has a "
        f"value ({quick}): the quick demo, one to two minutes on 2 CPU cores.",
    )
    g.add_argument(
        "--profile",
        choices=PROFILES,
        default="default",
        help="where the defaults below come from (default: the library's)",
    )
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
        type=_epochs,
        default=LibraryDefault("KeystrokeVerifier", "max_epochs"),
        metavar="N|auto",
        help="maximum training epochs, or 'auto': enough for 3,500 training "
        "batches (fixed text: at most 90 passes over the data; default "
        "%(default)s max_epochs)",
    )
    g.add_argument(
        "--batch",
        nargs=2,
        type=_positive_int,
        default=LibraryDefault(
            "KeystrokeVerifier", "n_subjects_per_batch", "n_samples_per_subject"
        ),
        metavar=("P", "K"),
        help="subjects per batch and samples per subject (default %(default)s "
        "n_subjects_per_batch and n_samples_per_subject)",
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
        default=LibraryDefault("KeystrokeVerifier", "lr"),
        help="peak learning rate (default %(default)s lr)",
    )
    g.add_argument(
        "--lr-schedule",
        choices=("cosine", "constant"),
        default=LibraryDefault("KeystrokeVerifier", "lr_schedule"),
        help="learning rate after the warm-up: cosine decay to 0 over --epochs, "
        "or constant (default %(default)s lr_schedule)",
    )
    g.add_argument(
        "--warmup-epochs",
        type=_non_negative_float,
        default=LibraryDefault("KeystrokeVerifier", "warmup_epochs"),
        metavar="E",
        help="epochs of linear learning-rate warm-up (default %(default)s "
        "warmup_epochs)",
    )
    if single_loss:
        g.add_argument(
            "--patience",
            type=_non_negative_int,
            default=LibraryDefault("KeystrokeVerifier", "patience"),
            metavar="N",
            help="stop after N epochs without a better smoothed validation EER "
            "(mean of the last 3 epochs) and keep the best smoothed epoch's "
            "weights; 0 disables it (default %(default)s patience; None: off)",
        )
    else:
        g.add_argument(
            "--patience",
            type=_non_negative_int,
            default=0,
            metavar="N",
            help="early stopping as in 'skeer train' (default 0, off: every "
            "loss gets the same epoch budget)",
        )
    g.add_argument(
        "--max-len",
        type=_positive_int,
        default=LibraryDefault("KeystrokeFeatures", "max_len"),
        metavar="L",
        help="keys per session fed to the network (default %(default)s max_len)",
    )
    g.add_argument(
        "--test-size",
        type=_test_fraction,
        default=LibraryDefault("train_test_split_subjects", "test_size"),
        metavar="F",
        help="share of subjects held out for the test (default %(default)s; "
        "0 for kvc data: a submission model trains on every development "
        "subject, the organisers judge it); train: 0 trains on all subjects "
        "and judges none",
    )
    g.add_argument(
        "--validation-size",
        type=_validation_fraction,
        default=LibraryDefault("KeystrokeVerifier", "validation_size"),
        metavar="F",
        help="share of training subjects held out for validation (default %(default)s)",
    )
    g.add_argument(
        "--device",
        type=_device,
        default="cpu",
        help="torch device: cpu, cuda, cuda:N, mps (default cpu)",
    )
    g.add_argument("--amp", action="store_true", help="automatic mixed precision")


def _add_device(p):
    p.add_argument(
        "--device", type=_device, default="cpu", help="torch device (default cpu)"
    )


def _add_model_file(p):
    p.add_argument(
        "model", type=_path, metavar="MODEL", help="a model file written by skeer train"
    )


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

    p = sub.add_parser(
        "train",
        help="train a verifier, evaluate it on unseen subjects, write a report",
        description="Train a KeystrokeVerifier on a subject-disjoint split, "
        "evaluate it with the open-set protocol (Killourhy & Maxion for fixed "
        "text) and write model.skeer (the fitted pipeline), report.json, "
        "det.png and training.png into --out. The files are written under "
        "temporary names and renamed into place at the end, report.json last: "
        "--out holds one run, never a mix of two. Ctrl-C stops training early: "
        "the run is still judged and written, report.json says "
        '"interrupted": true and the exit code is 130.',
    )
    _add_data(p)
    _add_training(p, single_loss=True)
    _add_protocol(p)
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument(
        "--out",
        type=_path,
        default=Path("skeer_out"),
        help="output folder, created if needed (default skeer_out)",
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
        "--out", type=_path, default=None, help="write report.json and det.png here"
    )
    _add_device(p)
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
        "--n-jobs",
        type=_n_jobs,
        default=1,
        metavar="N",
        help="runs fitted in parallel processes, -1 for one per core; results "
        "do not depend on it (default 1)",
    )
    p.add_argument(
        "--out",
        type=_path,
        default=Path("skeer_bench"),
        help="output folder (default skeer_bench)",
    )
    _add_common(p)

    p = sub.add_parser(
        "enroll",
        help="enrol the subjects of some data into a model (no training)",
        description="Enrol every subject of --data (their first --n-enroll "
        "samples, all by default) into MODEL, a model file or "
        "'pretrained:aalto-typenet' (skeer.pretrained), and write the model "
        "to --out. A subject already enrolled is replaced.",
    )
    p.add_argument("model", type=_path, metavar="MODEL", help="file or pretrained:NAME")
    _add_data(p, default=None)
    p.add_argument(
        "--n-enroll", type=_positive_int, default=None, metavar="G",
        help="samples per subject that enrol (default: all)",
    )  # fmt: skip
    p.add_argument("--reset", action="store_true", help="drop the enrolled subjects")
    p.add_argument("--out", type=_path, required=True, help="model file to write")
    _add_device(p)
    _add_common(p)

    p = sub.add_parser(
        "verify",
        help="verify the claims of some data with an enrolled model",
        description="Score each sample of --data as a claim of its own subject "
        "(or of --claim) against MODEL's templates and say which claims the "
        "model accepts (score >= its threshold); --out writes one CSV row a "
        "sample: sample, subject, claimed, score, accepted.",
    )
    p.add_argument(
        "model", type=_path, metavar="MODEL", help="a model file with enrolled subjects"
    )
    _add_data(p, default=None)
    p.add_argument(
        "--claim", default=None, metavar="ID", help="the id every sample claims"
    )
    p.add_argument("--out", type=_path, default=None, help="CSV file to write")
    _add_device(p)
    _add_common(p)

    p = sub.add_parser(
        "kvc-predict",
        help="score the KVC-onGoing comparisons with a saved model",
        description="Embed the KVC-onGoing test sessions with a saved model, "
        "score each comparison (cosine similarity) and write the prediction "
        "files and/or the submission archive (--zip) in the challenge kit's "
        "format. MODEL scores every scenario; 'desktop=MODEL' and "
        "'mobile=MODEL' give each scenario its own model.",
    )
    p.add_argument(
        "model",
        type=_scenario_model,
        nargs="+",
        metavar="MODEL",
        help="a model file written by skeer train, or SCENARIO=MODEL",
    )
    p.add_argument(
        "--data",
        type=data_spec,
        required=True,
        metavar="kvc:PATH",
        help="the KVC-onGoing release folder",
    )
    p.add_argument(
        "--scenario",
        choices=(*SCENARIOS, "both"),
        default=None,
        help="scenarios to score (default: those named by SCENARIO=MODEL, else "
        "every scenario whose test sessions and comparisons are in the folder)",
    )
    p.add_argument(
        "--out",
        type=_path,
        default=None,
        metavar="FILE",
        help="prediction file of a single scenario (default, without --zip: "
        "{scenario}_predictions.txt in the current folder, for each scenario)",
    )
    p.add_argument(
        "--zip",
        type=_path,
        default=None,
        metavar="FILE",
        help="write the submission archive: {scenario}_predictions.txt of "
        "every scenario scored",
    )
    _add_device(p)
    _add_common(p)
    return parser
