"""``skeer kvc-predict``: score the KVC-onGoing test comparisons, build a submission."""

from pathlib import Path

from skeer.cli._output import (
    OutputGuard,
    atomic_write,
    check_out_file,
    emit_json,
    info,
    show,
)
from skeer.cli._parser import UsageError
from skeer.cli._shared import check_data_path, check_model_data, load_model
from skeer.cli._types import SCENARIOS, data_kind


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


def _asked(args, models):
    """The scenarios the options name (None: find them in the folder)."""
    asked = {None: None, "both": list(SCENARIOS)}.get(args.scenario, [args.scenario])
    if None not in models:
        if asked is not None and set(asked) != set(models):
            raise UsageError(
                f"--scenario {args.scenario} contradicts the models given for "
                f"{', '.join(models)}"
            )
        return [s for s in SCENARIOS if s in models]
    return asked


def _scenarios(asked, path):
    """The scenarios to score, in the order desktop, mobile."""
    from skeer.evaluation._kvc import find_test_scenarios

    if asked is not None:
        return asked
    found = find_test_scenarios(path)
    if not found:
        raise FileNotFoundError(
            f"--data {path!r} holds no {{desktop,mobile}}_test_sessions.npy "
            "with its _comparisons.txt"
        )
    return found


def cmd_kvc_predict(args):
    from skeer.datasets import make_kvc_submission, write_kvc_predictions
    from skeer.evaluation._kvc import predict_kvc

    if data_kind(args.data) != "kvc":
        raise UsageError(f"--data must be kvc:PATH, got {args.data!r}")
    path = args.data.partition(":")[2]
    models = _models(args)
    asked = _asked(args, models)
    for option, target in (("--out", args.out), ("--zip", args.zip)):
        if target is not None:
            check_out_file(target, option)
    check_data_path(args.data)
    scenarios = _scenarios(asked, path)
    if args.out is not None and len(scenarios) != 1:
        raise UsageError(
            f"--out names one prediction file, but {' and '.join(scenarios)} are "
            "scored; use --zip, or --scenario"
        )
    if args.out is None and args.zip is None:
        for scenario in scenarios:
            check_out_file(Path(f"{scenario}_predictions.txt"), "prediction file")
    pipes = {}
    for scenario in scenarios:
        file = models.get(scenario, models.get(None))
        key = str(file)
        if key not in pipes:
            pipes[key] = load_model(file, args.device)
            check_model_data(pipes[key], False, args.data)
    per_scenario = {s: pipes[str(models.get(s, models.get(None)))] for s in scenarios}
    predictions = predict_kvc(
        per_scenario, path, scenarios=scenarios, verbose=not args.quiet
    )

    files = {}  # scenario -> its prediction file
    if args.out is not None:
        files[scenarios[0]] = args.out
    elif args.zip is None:
        files = {s: Path(f"{s}_predictions.txt") for s in scenarios}
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
            s: {
                "model": str(models.get(s, models.get(None))),
                "n_comparisons": int(len(predictions[s])),
            }
            for s in scenarios
        },
        "files": [str(f) for f in written],
    }
    show(
        args,
        *(
            f"{s}: {len(predictions[s])} comparisons scored with "
            f"{models.get(s, models.get(None))}"
            for s in scenarios
        ),
    )
    info(args, "wrote " + ", ".join(map(str, written)))
    emit_json(args, summary)
    return 0
