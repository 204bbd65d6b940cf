"""``skeer evaluate``: the protocol report of a saved model on new subjects."""

import time

from ._output import (
    config,
    matplotlib_or_warn,
    protocol_name,
    save_figure,
    say,
    table,
    versions,
    write_json,
)
from ._shared import check_model_data, evaluate, load_data, load_model, n_subjects


def cmd_evaluate(args):
    t0 = time.perf_counter()
    pipe = load_model(args.model, args.device)
    data = load_data(args)
    check_model_data(pipe, data.fixed_text, data.spec)
    t1 = time.perf_counter()
    say(
        args,
        f"skeer evaluate: {args.model} on {data.description} "
        f"({n_subjects(data.target)} subjects, all unseen)",
    )
    metrics, y_bin, scores = evaluate(
        pipe, data.data, data.target, args, fixed_text=data.fixed_text
    )
    t2 = time.perf_counter()
    say(args, "", *table([("model", metrics)], data.fixed_text), "")
    if args.out is None:
        return 0
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = {"report": "report.json"}
    if matplotlib_or_warn("det.png"):
        from ..plotting import plot_det

        save_figure(
            lambda ax: plot_det(y_bin, scores, ax=ax, label=args.model.name),
            out / "det.png",
            (5.5, 5.5),
        )
        files["det"] = "det.png"
    report = {
        "command": "evaluate",
        "model": str(args.model),
        "config": config(args),
        "features": pipe[0].get_params(),
        "protocol": protocol_name(data.fixed_text),
        "data": {
            "description": data.description,
            "n_samples": len(data.target),
            "n_subjects": n_subjects(data.target),
        },
        "metrics": metrics,
        "timings": {"load_s": t1 - t0, "evaluation_s": t2 - t1},
        "versions": versions(),
        "files": files,
    }
    write_json(out / "report.json", report)
    say(args, f"wrote {out}/: " + ", ".join(sorted(files.values())))
    return 0
