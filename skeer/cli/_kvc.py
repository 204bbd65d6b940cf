"""``skeer kvc-predict``: score the KVC-onGoing test comparisons."""

from pathlib import Path

from ._output import say
from ._parser import UsageError, data_kind
from ._shared import check_data_path, check_model_data, load_model


def cmd_kvc_predict(args):
    from ..datasets import load_kvc, write_kvc_predictions
    from ..kvc import score_comparisons

    if data_kind(args.data) != "kvc":
        raise UsageError(f"--data must be kvc:PATH, got {args.data!r}")
    path = args.data.partition(":")[2]
    pipe = load_model(args.model, args.device)
    check_data_path(args.data)
    kvc = load_kvc(path, scenario=args.scenario)
    if kvc.test_data is None or kvc.comparison_index is None:
        raise FileNotFoundError(
            f"--data {path!r} lacks {args.scenario}_test_sessions.npy or "
            f"{args.scenario}_comparisons.txt"
        )
    check_model_data(pipe, False, args.data)
    scores = score_comparisons(
        pipe, kvc.test_data, kvc.comparison_index, verbose=not args.quiet
    )
    out = args.out or Path(f"{args.scenario}_predictions.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_kvc_predictions(scores, out)
    say(
        args,
        f"wrote {len(scores)} scores ({len(kvc.test_data)} test sessions) to {out}",
    )
    return 0
