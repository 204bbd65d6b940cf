"""``skeer evaluate``: the protocol report of a saved model on new subjects."""

import time

from skeer.cli._output import (
    OutputGuard,
    RunFolder,
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
from skeer.cli._shared import (
    check_model_data,
    data_summary,
    evaluate,
    load_data,
    load_model,
    n_subjects,
)

REPORT_FILE = "report.json"
EVALUATION_FILES = ("det.png", REPORT_FILE)


def cmd_evaluate(args):
    if args.out is not None:
        check_out_folder(args.out)
    with OutputGuard(None if args.out is None else f"{args.out}/") as guard:
        return _evaluate(args, guard)


def _evaluate(args, guard):
    t0 = time.perf_counter()
    pipe = load_model(args.model, args.device)
    data = load_data(args)
    check_model_data(pipe, data.fixed_text, data.spec, data.data)
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
