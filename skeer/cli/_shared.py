"""Steps shared by the commands: load data, build a verifier, load a model, judge."""

import json
from pathlib import Path

import numpy as np

from skeer.cli._output import OutLock, OutputGuard, check_out_folder, info, note
from skeer.cli._parser import UsageError, data_kind
from skeer.datasets._spec import FIXED_TEXT


def given(args, **options):
    """``{name: args.<option>}`` of the options given (not None)."""
    values = {name: getattr(args, option) for name, option in options.items()}
    return {name: value for name, value in values.items() if value is not None}


def data_summary(data, **extra):
    """The ``"data"`` entry of a report."""
    return {
        "description": data.description,
        "n_samples": len(data.target),
        "n_subjects": n_subjects(data.target),
        **extra,
    }


def in_out_folder(args, run):
    """``run(args, model_name, guard)`` with ``--out`` checked and locked first."""
    check_out_folder(args.out)  # before any work: a bad --out fails at once
    model_name = resolve_model(args)
    with OutLock(args.out), OutputGuard(f"{args.out}/") as guard:
        return run(args, model_name, guard)


def check_data_path(spec):
    kind, _, path = spec.partition(":")
    if path and not Path(path).expanduser().exists():
        raise FileNotFoundError(f"--data {kind}: no such file or folder: {path!r}")


def load_data(args):
    """:func:`~skeer.datasets.load_dataset` of ``--data`` and its options."""
    from skeer.datasets import load_dataset

    check_data_path(args.data)
    if data_kind(args.data) != "synthetic":
        info(args, f"loading {args.data} ...")
    return load_dataset(
        args.data,
        scenario=args.scenario,
        passphrase=args.passphrase,
        n_subjects=args.subjects,
        n_sessions=args.sessions,
        cache=args.cache,
        random_state=args.data_seed,
    )


def resolve_model(args):
    """The network's name, checked against the data's kind; sets the default --loss."""
    fixed_text = data_kind(args.data) in FIXED_TEXT
    if getattr(args, "loss", "") is None:
        args.loss = "eer" if fixed_text else "supcon+eer"
    name = args.model or ("mlp" if fixed_text else "typenet")
    if fixed_text and name != "mlp":
        raise UsageError(
            f"--model {name} needs free-text sessions; fixed-text data "
            f"({args.data}) needs --model mlp"
        )
    if not fixed_text and name == "mlp":
        raise UsageError(
            "--model mlp is for fixed-text data (cmu:PATH, greyc:PATH); use "
            "typenet or type2branch for free text"
        )
    return name


def check_device(device):
    import torch

    kind = torch.device(device).type
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"--device {device}: CUDA is not available (torch {torch.__version__})"
        )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"--device {device}: MPS is not available")


def make_verifier(args, *, model, loss, operating_point, seed, patience, callbacks=()):
    """An unfitted KeystrokeVerifier of the options (``patience`` 0: no early stop)."""
    from skeer.registry import get_loss, get_network
    from skeer.verifier._estimator import KeystrokeVerifier

    check_device(args.device)
    criterion, kwargs = get_loss(loss)
    return KeystrokeVerifier(
        module=get_network(model),
        criterion=criterion,
        operating_point=operating_point,
        max_epochs=args.epochs,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        warmup_epochs=args.warmup_epochs,
        n_subjects_per_batch=args.batch[0],
        n_samples_per_subject=args.batch[1],
        batches_per_epoch=args.batches_per_epoch,
        validation_size=args.validation_size,
        patience=patience or None,
        device=args.device,
        amp=args.amp,
        random_state=seed,
        callbacks=list(callbacks) or None,
        verbose=0,
        **{f"criterion__{k}": v for k, v in kwargs.items()},
    )


def evaluate(model, X, y, args, *, fixed_text, protocol=None, groups=None):
    """``(report, y_binary, scores)`` of ``model`` under the data's protocol."""
    from sklearn.utils import _safe_indexing

    from skeer.evaluation import _fixed_text, _protocols

    verbose = not getattr(args, "quiet", False)
    if not fixed_text:
        report, y_bin, scores = _protocols.evaluate_verification(
            model,
            X,
            y,
            return_scores=True,
            verbose=verbose,
            **given(args, n_enroll="n_enroll", n_probe="n_probe"),
        )
        return _with_subjects(report), y_bin, scores
    kw = dict(protocol or {})
    kw.update(given(args, n_train="n_enroll", n_impostor_reps="n_impostor"))
    y, groups = np.asarray(y), None if groups is None else np.asarray(groups)
    if args.n_probe is not None:
        # the first n_train + n_probe repetitions of each subject (and condition)
        unit = y if groups is None else _pairs(y, groups)
        counts = np.unique(unit, return_counts=True)[1]
        kw["n_train"] = _fixed_text._resolve_n_train(kw.get("n_train", "auto"), counts)
        keep = first_samples(unit, kw["n_train"] + args.n_probe)
        X, y = _safe_indexing(X, keep), y[keep]
        groups = None if groups is None else groups[keep]
    report, y_bin, scores = _fixed_text.evaluate_fixed_text(
        model, X, y, groups=groups, return_scores=True, verbose=verbose, **kw
    )
    return _with_subjects(report), y_bin, scores


def _pairs(y, groups):
    """One code per (subject, condition) pair."""
    codes = np.c_[np.unique(y, return_inverse=True)[1].ravel(),
                  np.unique(groups, return_inverse=True)[1].ravel()]  # fmt: skip
    return np.unique(codes, axis=0, return_inverse=True)[1].ravel()


def first_samples(unit, n):
    """Sorted indices of the first ``n`` samples of each ``unit`` (None: all)."""
    if n is None:
        return np.arange(len(unit))
    from skeer.datasets import select_subjects

    return select_subjects(np.arange(len(unit)), unit, n_per_subject=n)[0]


def _with_subjects(report):
    """The report as a plain dict, with its per-subject table as records."""
    return {**report, "subjects": json.loads(report.subjects.to_json(orient="records"))}


def check_model_data(pipe, fixed_text, spec, X=None):
    """ValueError if the model's input (free or fixed text, width) is not the data's."""
    ndims = [s.input_ndim_ for _, s in pipe.steps if hasattr(s, "input_ndim_")]
    if not ndims:
        return
    fixed_model = ndims[-1] == 2
    if fixed_model != fixed_text:
        kind = "fixed-text" if fixed_model else "free-text"
        raise ValueError(
            f"the model was trained on {kind} data and cannot score {spec}"
        )
    expected = getattr(pipe[-1], "n_features_in_", None)
    if fixed_text and expected is not None and np.ndim(X) == 2:
        got = np.shape(X)[1]
        if got != expected:
            raise ValueError(
                f"the model takes {expected} timing features per sample and "
                f"{spec} has {got} (another passphrase or data set?)"
            )


def n_subjects(y):
    return len(np.unique(y))


MODEL_FILE = "model.skeer"  # the saved model: one file holding the fitted pipeline
_FEATURES_FILE = "features.json"  # an earlier skeer's sidecar: a run removes it


def load_model(path, device):
    """The pipeline saved at ``path`` (a lone verifier gets default features)."""
    from sklearn.pipeline import Pipeline, make_pipeline

    from skeer.features._keystroke import KeystrokeFeatures
    from skeer.persistence._io import load

    path = Path(path).expanduser()
    if not path.is_file():
        if path.exists():
            raise ValueError(
                f"MODEL: not a regular file (a folder, FIFO or device): {str(path)!r}"
            )
        raise FileNotFoundError(f"MODEL: no such file: {str(path)!r}")
    check_device(device)
    model = load(path, map_location=device)
    if isinstance(model, Pipeline):
        return model
    note(
        f"warning: {path.name} holds a verifier without its feature step; using "
        "KeystrokeFeatures() with its default settings (save the whole pipeline "
        "to keep yours)"
    )
    return make_pipeline(KeystrokeFeatures(), model)
