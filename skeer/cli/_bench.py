"""``skeer bench``: the loss ablation of :func:`skeer.evaluation.compare_losses`."""

from skeer.cli._output import (
    RunFolder,
    config,
    emit_json,
    epochs_text,
    info,
    matplotlib_or_warn,
    network_name,
    save_figure,
    show,
    versions,
    write_json,
)
from skeer.cli._parser import UsageError
from skeer.cli._shared import (
    data_summary,
    given,
    in_out_folder,
    load_data,
    make_verifier,
)
from skeer.cli._types import data_kind
from skeer.datasets._spec import FIXED_TEXT

REPORT_FILE = "bench.json"
BENCH_FILES = ("bench.md", "convergence.png", REPORT_FILE)


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
    # the template of every run; compare_losses sets each run's loss, operating
    # point and seed. Early stopping is off unless asked for: the same budget
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
    with RunFolder(args.out, BENCH_FILES, REPORT_FILE, guard=guard) as run:
        run.path("bench.md").write_text(md, encoding="utf-8")
        if matplotlib_or_warn("convergence.png"):
            from skeer.plotting import plot_convergence

            def draw(ax):
                plot_convergence(result.curves(), ax=ax)
                ax.set_title(
                    f"{network_name(model_name)}: validation EER per epoch "
                    f"({args.seeds} seed{'s' * (args.seeds > 1)})",
                    fontsize="medium",
                )

            save_figure(draw, run.path("convergence.png"), (6.5, 4.0))
            files.append("convergence.png")
        files.append(REPORT_FILE)
        write_json(run.path(REPORT_FILE), report)
        run.commit()
    show(args, "", md.rstrip(), "")
    info(args, f"wrote {args.out}/: " + ", ".join(files))
    emit_json(args, report)
    return 0
