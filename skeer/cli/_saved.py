"""``skeer evaluate``, ``enroll``, ``verify`` and ``kvc-predict``: saved models."""

import csv
import time
from pathlib import Path

import numpy as np
from sklearn.utils import _safe_indexing

from skeer.cli._output import (
    OutputGuard,
    RunFolder,
    atomic_write,
    check_out_file,
    check_out_folder,
    config,
    emit_json,
    info,
    matplotlib_or_warn,
    protocol_name,
    save_figure,
    show,
    table,
    versions,
    write_json,
)
from skeer.cli._parser import SCENARIOS, UsageError, data_kind
from skeer.cli._shared import (
    check_data_path,
    check_model_data,
    data_summary,
    evaluate,
    first_samples,
    load_data,
    load_model,
    n_subjects,
)

REPORT_FILE = "report.json"
EVALUATION_FILES = ("det.png", REPORT_FILE)
PRETRAINED_PREFIX = "pretrained:"


def _model(spec, device):
    """The pipeline named by ``MODEL``: a file or ``pretrained:NAME``."""
    text = str(spec)
    if text.startswith(PRETRAINED_PREFIX):
        from skeer.pretrained import load_pretrained

        return load_pretrained(text[len(PRETRAINED_PREFIX) :], map_location=device)
    return load_model(spec, device)


def _model_and_data(args, load=_model):
    """``(pipeline, data)`` of ``MODEL`` and ``--data``, checked to fit each other."""
    pipe = load(args.model, args.device)
    data = load_data(args)
    check_model_data(pipe, data.fixed_text, data.spec, data.data)
    return pipe, data


def cmd_evaluate(args):
    if args.out is not None:
        check_out_folder(args.out)
    with OutputGuard(None if args.out is None else f"{args.out}/") as guard:
        return _evaluate(args, guard)


def _evaluate(args, guard):
    t0 = time.perf_counter()
    pipe, data = _model_and_data(args, load_model)
    t1 = time.perf_counter()
    info(
        args,
        f"skeer evaluate: {args.model} on {data.description} "
        f"({n_subjects(data.target)} subjects, all unseen)",
    )
    metrics, y_bin, scores = evaluate(
        pipe,
        data.data,
        data.target,
        args,
        fixed_text=data.fixed_text,
        protocol=data.get("protocol"),
        groups=data.get("groups"),
    )
    t2 = time.perf_counter()
    report = {
        "command": "evaluate",
        "model": str(args.model),
        "config": config(args),
        "features": pipe[0].get_params(),
        "protocol": protocol_name(data.fixed_text, data.get("groups") is not None),
        "data": data_summary(data),
        "metrics": metrics,
        "timings": {"load_s": t1 - t0, "evaluation_s": t2 - t1},
        "versions": versions(),
    }
    if args.out is not None:
        files = {}
        with RunFolder(args.out, EVALUATION_FILES, REPORT_FILE, guard=guard) as run:
            if matplotlib_or_warn("det.png"):
                from skeer.plotting import plot_det

                save_figure(
                    lambda ax: plot_det(y_bin, scores, ax=ax, label=args.model.name),
                    run.path("det.png"),
                    (5.5, 5.5),
                )
                files["det"] = "det.png"
            files["report"] = REPORT_FILE
            report["files"] = files
            write_json(run.path(REPORT_FILE), report)
            run.commit()
    show(args, "", *table([("model", metrics)], data.fixed_text), "")
    if args.out is not None:
        info(args, f"wrote {args.out}/: " + ", ".join(sorted(files.values())))
    emit_json(args, report)
    return 0


def cmd_enroll(args):
    from skeer.persistence._io import save

    check_out_file(args.out, "--out")
    with OutputGuard(str(args.out)) as guard:
        pipe, data = _model_and_data(args)
        rows = first_samples(data.target, args.n_enroll)
        y = np.asarray(data.target)[rows]
        verifier = pipe[-1]
        before = len(verifier.classes_)
        X = _safe_indexing(data.data, rows)
        verifier.enroll(pipe[:-1].transform(X), y, reset=args.reset)
        atomic_write(args.out, lambda tmp: save(pipe, tmp), guard=guard)
    n_new = len(np.unique(y))
    report = {
        "command": "enroll",
        "model": str(args.model),
        "out": str(args.out),
        "enrolled": n_new,
        "samples": len(rows),
        "subjects_before": 0 if args.reset else before,
        "subjects_after": len(verifier.classes_),
    }
    info(
        args,
        f"skeer enroll: {n_new} subjects ({len(rows)} samples) of "
        f"{data.description} into {args.out} ({len(verifier.classes_)} enrolled)",
    )
    emit_json(args, report)
    return 0


def cmd_verify(args):
    if args.out is not None:
        check_out_file(args.out, "--out")
    with OutputGuard(None if args.out is None else str(args.out)) as guard:
        pipe, data = _model_and_data(args)
        verifier = pipe[-1]
        if not len(verifier.classes_):
            raise UsageError(
                f"{args.model} has nobody enrolled: run skeer enroll first"
            )
        y = np.asarray(data.target)
        claimed = (
            y if args.claim is None else _claim(args.claim, verifier.classes_, len(y))
        )
        features = pipe[:-1].transform(data.data)
        scores = verifier.claim_scores(features, claimed)
        accepted = scores >= verifier.threshold_
        if args.out is not None:
            atomic_write(
                args.out,
                lambda tmp: _write_csv(tmp, y, claimed, scores, accepted),
                guard=guard,
            )
    genuine = claimed == y
    report = {
        "command": "verify",
        "model": str(args.model),
        "claims": len(y),
        "accepted": int(accepted.sum()),
        "genuine_claims": int(genuine.sum()),
        "genuine_accepted": int((accepted & genuine).sum()),
        "impostor_claims": int((~genuine).sum()),
        "impostor_accepted": int((accepted & ~genuine).sum()),
        "threshold": float(verifier.threshold_),
    }
    show(
        args,
        f"{len(y)} claims: {report['accepted']} accepted "
        f"({report['genuine_accepted']} of {report['genuine_claims']} of their own "
        f"subject, {report['impostor_accepted']} of {report['impostor_claims']} "
        "of another)" + ("" if args.out is None else f"; wrote {args.out}"),
    )
    emit_json(args, report)
    return 0


def _claim(text, classes, n):
    """``--claim`` as an enrolled id of the model's kind."""
    value = text
    if classes.dtype.kind in "iu":
        try:
            value = int(text)
        except ValueError:
            raise UsageError(
                f"--claim {text!r}: the model's ids are integers"
            ) from None
    if value not in set(classes.tolist()):
        raise UsageError(f"--claim {text!r} is not enrolled in the model")
    return np.full(n, value, dtype=classes.dtype)


def _write_csv(path, y, claimed, scores, accepted):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["sample", "subject", "claimed", "score", "accepted"])
        for i, row in enumerate(zip(y.tolist(), claimed.tolist(), scores, accepted)):
            writer.writerow([i, row[0], row[1], f"{float(row[2]):.6g}", int(row[3])])


def _models(args):
    """``{scenario or None: path}`` of the MODEL arguments."""
    models = {}
    for scenario, path in args.model:
        if scenario in models:
            what = f"{scenario}=MODEL" if scenario else "a MODEL without SCENARIO="
            raise UsageError(f"{what} is given twice")
        models[scenario] = path
    if None in models and len(models) > 1:
        raise UsageError(
            "give one MODEL for every scenario, or desktop=MODEL and/or "
            "mobile=MODEL, not both"
        )
    return models


def cmd_kvc_predict(args):
    from skeer.datasets import make_kvc_submission, write_kvc_predictions
    from skeer.evaluation._kvc import find_test_scenarios, predict_kvc

    if data_kind(args.data) != "kvc":
        raise UsageError(f"--data must be kvc:PATH, got {args.data!r}")
    path = args.data.partition(":")[2]
    models = _models(args)
    # the scenarios the options name (None: find them in the folder)
    asked = {None: None, "both": list(SCENARIOS)}.get(args.scenario, [args.scenario])
    if None not in models:
        if asked is not None and set(asked) != set(models):
            raise UsageError(
                f"--scenario {args.scenario} contradicts the models given for "
                f"{', '.join(models)}"
            )
        asked = [s for s in SCENARIOS if s in models]
    for option, target in (("--out", args.out), ("--zip", args.zip)):
        if target is not None:
            check_out_file(target, option)
    check_data_path(args.data)
    scenarios = asked if asked is not None else find_test_scenarios(path)
    if not scenarios:
        raise FileNotFoundError(
            f"--data {path!r} holds no {{desktop,mobile}}_test_sessions.npy "
            "with its _comparisons.txt"
        )
    if args.out is not None and len(scenarios) != 1:
        raise UsageError(
            f"--out names one prediction file, but {' and '.join(scenarios)} are "
            "scored; use --zip, or --scenario"
        )
    files = {} if args.out is None else {scenarios[0]: args.out}  # scenario: file
    if args.out is None and args.zip is None:
        files = {s: Path(f"{s}_predictions.txt") for s in scenarios}
        for file in files.values():
            check_out_file(file, "prediction file")
    model_of = {s: models.get(s, models.get(None)) for s in scenarios}
    pipes = {}  # one load per model file
    for file in model_of.values():
        if str(file) not in pipes:
            pipes[str(file)] = load_model(file, args.device)
            check_model_data(pipes[str(file)], False, args.data)
    predictions = predict_kvc(
        {s: pipes[str(file)] for s, file in model_of.items()},
        path,
        scenarios=scenarios,
        verbose=not args.quiet,
    )

    outputs = ([args.zip] if args.zip is not None else []) + list(files.values())
    with OutputGuard(" and ".join(map(str, outputs))) as guard:
        written = []
        if args.zip is not None:
            args.zip.parent.mkdir(parents=True, exist_ok=True)
            written.append(make_kvc_submission(predictions, args.zip))
        for scenario, file in files.items():
            scores = predictions[scenario]
            written.append(
                atomic_write(file, lambda tmp, s=scores: write_kvc_predictions(s, tmp))
            )
        guard.written = True
    summary = {
        "command": "kvc-predict",
        "data": args.data,
        "scenarios": {
            s: {"model": str(model_of[s]), "n_comparisons": int(len(predictions[s]))}
            for s in scenarios
        },
        "files": [str(f) for f in written],
    }
    show(
        args,
        *(
            f"{s}: {len(predictions[s])} comparisons scored with {model_of[s]}"
            for s in scenarios
        ),
    )
    info(args, "wrote " + ", ".join(map(str, written)))
    emit_json(args, summary)
    return 0
