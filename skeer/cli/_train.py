"""``skeer train``: fit a pipeline on a subject-disjoint split, judge it, save it."""

import time
from pathlib import Path

import numpy as np

from ._output import (
    config,
    epoch_progress,
    matplotlib_or_warn,
    protocol_name,
    run_name,
    save_figure,
    say,
    table,
    versions,
    write_json,
)
from ._parser import DEFAULT_PATIENCE
from ._shared import (
    MODEL_FILE,
    evaluate,
    load_data,
    make_verifier,
    n_subjects,
    resolve_model,
)


def _best_epoch(history):
    """1-based epoch of the lowest validation EER, or None."""
    eers = [h.get("valid_eer") for h in history]
    if not any(e is not None for e in eers):
        return None
    return int(np.nanargmin([np.nan if e is None else e for e in eers])) + 1


def _history_records(net):
    keys = ("epoch", "train_loss", "valid_loss", "valid_eer", "dur")
    return [{k: row[k] for k in keys if k in row} for row in net.history]


def _baseline(features, X_train, y_train, X_test, y_test, args, fixed_text):
    """``(name, (report, y_binary, scores))`` of the non-learned baseline.

    Fixed text: Killourhy & Maxion's scaled Manhattan detector. Free text:
    :func:`skeer.baselines.make_timing_baseline` with the model's features,
    fitted on the training subjects.
    """
    from ..baselines import ScaledManhattan, make_timing_baseline

    if fixed_text:
        name = "scaled Manhattan (Killourhy & Maxion)"
        return name, evaluate(ScaledManhattan(), X_test, y_test, args, fixed_text=True)
    name = "timing statistics + cosine (no learning)"
    pipe = make_timing_baseline(**features.get_params()).fit(X_train, y_train)
    return name, evaluate(pipe, X_test, y_test, args, fixed_text=False)


def _plots(args, out, curve, history, baseline, model_name):
    if not matplotlib_or_warn("det.png and training.png"):
        return {}
    from ..plotting import plot_det, plot_training

    title = run_name(model_name, args.loss)

    def det(ax):
        plot_det(*curve, ax=ax, label=title)
        if baseline is not None:
            plot_det(*baseline["_curve"], ax=ax, label="baseline")
        ax.set_title("DET curve, unseen subjects", fontsize="medium")

    def training(ax):
        plot_training(history, ax=ax)
        ax.set_title(title, fontsize="medium")

    return {
        "det": save_figure(det, out / "det.png", (5.5, 5.5)),
        "training": save_figure(training, out / "training.png", (6.5, 4.0)),
    }


def cmd_train(args):
    from sklearn.pipeline import make_pipeline

    from ..features import KeystrokeFeatures
    from ..persistence import save
    from ..protocols import train_test_split_identities

    t_start = time.perf_counter()
    model_name = resolve_model(args)
    data = load_data(args)
    t_loaded = time.perf_counter()

    X_train, X_test, y_train, y_test = train_test_split_identities(
        data.data, data.target, test_size=args.test_size, random_state=args.seed
    )
    n_train_ids, n_test_ids = n_subjects(y_train), n_subjects(y_test)
    say(
        args,
        f"skeer train: {run_name(model_name, args.loss)} (operating point "
        f"{args.operating_point}) on {data.description}",
        f"  {n_train_ids} training subjects ({len(y_train)} samples), "
        f"{n_test_ids} test subjects ({len(y_test)} samples), "
        f"up to {args.epochs} epochs on {args.device}",
    )
    patience = DEFAULT_PATIENCE if args.patience is None else (args.patience or None)
    features = KeystrokeFeatures(max_len=args.max_len)
    verifier = make_verifier(
        args,
        model=model_name,
        loss=args.loss,
        operating_point=args.operating_point,
        seed=args.seed,
        patience=patience,
        callbacks=[epoch_progress(args.quiet, args.epochs, "training")],
    )
    pipe = make_pipeline(features, verifier).fit(X_train, y_train)
    t_trained = time.perf_counter()

    metrics, *curve = evaluate(pipe, X_test, y_test, args, fixed_text=data.fixed_text)
    t_evaluated = time.perf_counter()
    baseline = None
    if not args.no_baseline:
        name, (b_metrics, *b_curve) = _baseline(
            features, X_train, y_train, X_test, y_test, args, data.fixed_text
        )
        baseline = {"name": name, "metrics": b_metrics, "_curve": b_curve}
    t_baseline = time.perf_counter()

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = {"model": save(pipe, out / MODEL_FILE)}
    history = _history_records(verifier)
    files.update(_plots(args, out, curve, history, baseline, model_name))
    timings = {
        "data_load_s": t_loaded - t_start,
        "training_s": t_trained - t_loaded,
        "evaluation_s": t_evaluated - t_trained,
        "baseline_s": t_baseline - t_evaluated,
    }
    report = {
        "command": "train",
        "config": config(args, model=model_name),
        "features": features.get_params(),
        "data": {
            "description": data.description,
            "n_samples": len(data.target),
            "n_subjects": n_subjects(data.target),
            "n_train_subjects": n_train_ids,
            "n_test_subjects": n_test_ids,
            "n_train_samples": len(y_train),
            "n_test_samples": len(y_test),
        },
        "protocol": protocol_name(data.fixed_text),
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
        "versions": versions(),
    }
    files["report"] = out / "report.json"
    report["files"] = {k: Path(v).name for k, v in files.items()}
    timings["total_s"] = time.perf_counter() - t_start
    write_json(files["report"], report)

    columns = [("model", metrics)]
    if baseline is not None:
        columns.append(("baseline", baseline["metrics"]))
    say(
        args,
        "",
        *table(columns, data.fixed_text),
        "",
        f"time: data {timings['data_load_s']:.1f} s, training "
        f"{timings['training_s']:.1f} s ({len(verifier.history)} epochs), "
        f"evaluation {timings['evaluation_s']:.1f} s",
        f"wrote {out}/: " + ", ".join(sorted(report["files"].values())),
    )
    return 0
