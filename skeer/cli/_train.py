"""``skeer train`` (fit, judge, save a pipeline) and ``skeer bench`` (loss ablation)."""

import time
import warnings

import numpy as np

from skeer.cli._output import (
    Interrupted,
    RunFolder,
    config,
    emit_json,
    epoch_progress,
    epochs_text,
    info,
    matplotlib_or_warn,
    protocol_name,
    run_name,
    save_figure,
    show,
    table,
    versions,
    write_json,
)
from skeer.cli._parser import UsageError, data_kind
from skeer.cli._shared import (
    _FEATURES_FILE,
    MODEL_FILE,
    data_summary,
    evaluate,
    given,
    in_out_folder,
    load_data,
    make_verifier,
    n_subjects,
)
from skeer.datasets._spec import FIXED_TEXT
from skeer.registry import label

REPORT_FILE = "report.json"
# the files of a run, in the order they are renamed into place (report last)
RUN_FILES = (MODEL_FILE, _FEATURES_FILE, "det.png", "training.png", REPORT_FILE)
BENCH_REPORT = "bench.json"
BENCH_FILES = ("bench.md", "convergence.png", BENCH_REPORT)


def _best_epoch(history):
    """1-based epoch of the lowest validation EER, or None."""
    eers = [h.get("valid_eer") for h in history]
    if not any(e is not None for e in eers):
        return None
    return int(np.nanargmin([np.nan if e is None else e for e in eers])) + 1


def _weights_epoch(net):
    """1-based epoch of the weights kept: early stopping's best, or the last."""
    stopper = dict(net.callbacks_).get("early_stopping")
    best = getattr(stopper, "best_epoch_", None)
    if best is not None and getattr(stopper, "best_model_weights_", None) is not None:
        return int(best)
    return len(net.history)


def _baseline(features, X_train, y_train, X_test, y_test, args, fixed_text, proto):
    """``(name, (report, y_binary, scores))`` of the non-learned baseline."""
    from skeer.baselines import ScaledManhattan, make_timing_baseline

    if fixed_text:
        name = "scaled Manhattan (Killourhy & Maxion)"
        model = ScaledManhattan()
    else:
        name = "timing statistics + cosine (no learning)"
        model = make_timing_baseline(**features.get_params()).fit(X_train, y_train)
    return name, evaluate(model, X_test, y_test, args, fixed_text=fixed_text, **proto)


def _plots(args, run, curve, history, baseline_curve, model_name):
    if not matplotlib_or_warn("det.png and training.png"):
        return {}
    from skeer.plotting import plot_det, plot_training

    title = run_name(model_name, args.loss)

    def det(ax):
        plot_det(*curve, ax=ax, label=title)
        if baseline_curve is not None:
            plot_det(*baseline_curve, ax=ax, label="baseline")
        ax.set_title("DET curve, unseen subjects", fontsize="medium")

    def training(ax):
        plot_training(history, ax=ax)
        ax.set_title(title, fontsize="medium")

    files = {}
    if curve is not None:  # no test subjects (--test-size 0): no DET curve
        save_figure(det, run.path("det.png"), (5.5, 5.5))
        files["det"] = "det.png"
    save_figure(training, run.path("training.png"), (6.5, 4.0))
    files["training"] = "training.png"
    return files


def cmd_train(args):
    return in_out_folder(args, _train)


def _train(args, model_name, guard):
    from sklearn.pipeline import make_pipeline
    from sklearn.utils import _safe_indexing

    from skeer.evaluation._model_selection import train_test_split_subjects
    from skeer.features._keystroke import KeystrokeFeatures
    from skeer.persistence._io import save

    t_start = time.perf_counter()
    data = load_data(args)
    t_loaded = time.perf_counter()

    idx, y = np.arange(len(data.target)), np.asarray(data.target)
    if args.test_size == 0:  # a submission model: every subject trains
        train_idx, test_idx, y_train, y_test = idx, idx[:0], y, y[:0]
    else:
        train_idx, test_idx, y_train, y_test = train_test_split_subjects(
            idx, data.target, test_size=args.test_size, random_state=args.seed
        )
    X_train = _safe_indexing(data.data, train_idx)
    X_test = _safe_indexing(data.data, test_idx)
    groups = data.get("groups")
    n_train_ids, n_test_ids = n_subjects(y_train), n_subjects(y_test)
    info(
        args,
        f"skeer train: {run_name(model_name, args.loss)} (operating point "
        f"{args.operating_point}) on {data.description}",
        f"  {n_train_ids} training subjects ({len(y_train)} samples), "
        + (
            f"{n_test_ids} test subjects ({len(y_test)} samples), "
            if n_test_ids
            else "no test subjects (--test-size 0: nothing held out is judged), "
        )
        + f"up to {epochs_text(args.epochs)} on {args.device}",
    )
    features = KeystrokeFeatures(max_len=args.max_len)
    verifier = make_verifier(
        args,
        model=model_name,
        loss=args.loss,
        operating_point=args.operating_point,
        seed=args.seed,
        patience=args.patience,
        callbacks=[epoch_progress(args.quiet, args.epochs, "training")],
    )
    with warnings.catch_warnings():
        # an interruption is reported once, by this command (see below)
        warnings.filterwarnings("ignore", "Training was interrupted", UserWarning)
        pipe = make_pipeline(features, verifier).fit(X_train, y_train)
    interrupted = bool(getattr(verifier, "interrupted_", False))
    t_trained = time.perf_counter()

    proto = {
        "protocol": data.get("protocol"),
        "groups": None if groups is None else groups[test_idx],
    }
    metrics, curve = None, None
    if n_test_ids:
        metrics, *curve = evaluate(
            pipe, X_test, y_test, args, fixed_text=data.fixed_text, **proto
        )
    t_evaluated = time.perf_counter()
    baseline, baseline_curve = None, None
    if n_test_ids and not args.no_baseline:
        name, (b_metrics, *baseline_curve) = _baseline(
            features, X_train, y_train, X_test, y_test, args, data.fixed_text, proto
        )
        baseline = {"name": name, "metrics": b_metrics}
    t_baseline = time.perf_counter()

    keys = ("epoch", "train_loss", "valid_loss", "valid_eer", "valid_eer_smooth")
    keys += ("lr", "dur")
    history = [{k: row[k] for k in keys if k in row} for row in verifier.history]
    timings = {
        "data_load_s": t_loaded - t_start,
        "training_s": t_trained - t_loaded,
        "evaluation_s": t_evaluated - t_trained,
        "baseline_s": t_baseline - t_evaluated,
    }
    report = {
        "command": "train",
        "interrupted": interrupted,
        "config": config(args, model=model_name),
        "features": features.get_params(),
        "data": data_summary(
            data,
            n_train_subjects=n_train_ids,
            n_test_subjects=n_test_ids,
            n_train_samples=len(y_train),
            n_test_samples=len(y_test),
        ),
        "protocol": protocol_name(data.fixed_text, groups is not None),
        "metrics": metrics,
        "baseline": baseline,
        "threshold": verifier.threshold_,
        "epochs_run": len(verifier.history),
        "best_epoch": _best_epoch(history),
        "weights_epoch": _weights_epoch(verifier),
        "history": history,
        "timings": timings,
        "versions": versions(),
    }

    with RunFolder(args.out, RUN_FILES, REPORT_FILE, guard=guard) as run:
        save(pipe, run.path(MODEL_FILE))
        files = {"model": MODEL_FILE}
        files.update(_plots(args, run, curve, history, baseline_curve, model_name))
        files["report"] = REPORT_FILE
        report["files"] = files
        timings["total_s"] = time.perf_counter() - t_start
        write_json(run.path(REPORT_FILE), report)
        run.commit()

    if metrics is None:
        lines = [
            f"trained on all {n_train_ids} subjects ({len(verifier.history)} "
            "epochs; the verifier held out its validation share to stop and "
            "calibrate); no test subjects, nothing judged here"
        ]
    else:
        columns = [("model", metrics)]
        if baseline is not None:
            columns.append(("baseline", baseline["metrics"]))
        lines = table(columns, data.fixed_text)
    show(args, "", *lines, "")
    info(
        args,
        f"time: data {timings['data_load_s']:.1f} s, training "
        f"{timings['training_s']:.1f} s ({len(verifier.history)} epochs), "
        f"evaluation {timings['evaluation_s']:.1f} s",
        f"wrote {args.out}/: " + ", ".join(sorted(files.values())),
    )
    emit_json(args, report)
    if interrupted:
        raise Interrupted(
            f"interrupted: training stopped after {len(verifier.history)} of "
            f"{getattr(verifier, 'max_epochs_', args.epochs)} epochs; the model "
            "as it was then is judged and saved "
            f'in {args.out}/ (report.json: "interrupted": true)'
        )
    return 0


def cmd_bench(args):
    if data_kind(args.data) in FIXED_TEXT:
        raise UsageError("bench runs on free-text data (synthetic, aalto, kvc)")
    if args.test_size == 0:
        raise UsageError("bench judges each loss on held-out subjects: --test-size > 0")
    return in_out_folder(args, _bench)


def _bench(args, model_name, guard):
    from skeer.evaluation._benchmark import compare_losses
    from skeer.features._keystroke import KeystrokeFeatures

    data = load_data(args)
    # the template of every run (compare_losses sets loss, operating point, seed)
    estimator = make_verifier(
        args,
        model=model_name,
        loss="eer",
        operating_point="eer",
        seed=0,
        patience=args.patience,
    )
    features = KeystrokeFeatures(max_len=args.max_len)
    info(
        args,
        f"skeer bench: {model_name}, losses {','.join(args.losses)} x "
        f"{args.seeds} seeds, {epochs_text(args.epochs)} each, on {data.description}",
    )
    result = compare_losses(
        data.data,
        data.target,
        losses=args.losses,
        operating_points=args.operating_points,
        estimator=estimator,
        features=features,
        n_seeds=args.seeds,
        test_size=args.test_size,
        n_jobs=args.n_jobs,
        verbose=not args.quiet,
        **given(args, n_enroll="n_enroll", n_probe="n_probe"),
    )
    md = result.to_markdown(data_description=data.description)
    report = {
        "command": "bench",
        "config": config(args, model=model_name),
        "features": features.get_params(),
        "data": data_summary(data),
        **result.to_dict(),
        "versions": versions(),
    }
    files = ["bench.md"]
    with RunFolder(args.out, BENCH_FILES, BENCH_REPORT, guard=guard) as run:
        run.path("bench.md").write_text(md, encoding="utf-8")
        if matplotlib_or_warn("convergence.png"):
            from skeer.plotting import plot_convergence

            def draw(ax):
                plot_convergence(result.curves(), ax=ax)
                ax.set_title(
                    f"{label(model_name)}: validation EER per epoch "
                    f"({args.seeds} seed{'s' * (args.seeds > 1)})",
                    fontsize="medium",
                )

            save_figure(draw, run.path("convergence.png"), (6.5, 4.0))
            files.append("convergence.png")
        files.append(BENCH_REPORT)
        write_json(run.path(BENCH_REPORT), report)
        run.commit()
    show(args, "", md.rstrip(), "")
    info(args, f"wrote {args.out}/: " + ", ".join(files))
    emit_json(args, report)
    return 0
