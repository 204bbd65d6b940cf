"""The ``skeer`` command: train, evaluate and benchmark keystroke verifiers.

Sub-commands (``skeer <command> --help`` lists every option):

- ``skeer train`` (also ``skeer`` with no arguments): fit a pipeline of
  :class:`~skeer.KeystrokeFeatures` and :class:`~skeer.KeystrokeVerifier` on a
  subject-disjoint split, judge it on the held-out subjects and write the
  model, ``report.json``, ``det.png`` and ``training.png`` into ``--out``.
- ``skeer evaluate MODEL``: the protocol report of a saved model on new data.
- ``skeer bench``: the loss ablation of :func:`skeer.benchmark.compare_losses`
  (same network, split, batches and budget for every loss), as a markdown
  table, JSON and a convergence plot.
- ``skeer kvc-predict MODEL``: score the KVC-onGoing test comparisons
  (:func:`skeer.kvc.score_comparisons`).

Data are named ``synthetic``, ``aalto:PATH``, ``kvc:PATH`` or ``cmu:PATH``, as
:func:`skeer.datasets.load_dataset` takes them.

The command is a client of the library: each sub-command parses its options,
calls public functions of skeer and prints or writes their results.

Exit codes: 0 success, 1 runtime error (one line on stderr, e.g. a missing
file), 2 usage error (argparse's). Set ``SKEER_DEBUG=1`` to get the traceback
of a runtime error.
"""

import contextlib
import os
import sys
import warnings

from ._bench import cmd_bench
from ._evaluate import cmd_evaluate
from ._kvc import cmd_kvc_predict
from ._output import note, showwarning
from ._parser import PROG, UsageError, build_parser
from ._train import cmd_train

__all__ = ["main"]

_MAIN_OPTIONS = ("-h", "--help", "--version")
_COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "bench": cmd_bench,
    "kvc-predict": cmd_kvc_predict,
}


@contextlib.contextmanager
def _torch_threads(n):
    """Use ``n`` torch CPU threads inside the block (``n <= 0``: unchanged)."""
    if n is None or n <= 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def main(argv=None):
    """Run the ``skeer`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.
        No arguments at all runs ``skeer train`` with its defaults.

    Returns
    -------
    code : int
        0 on success, 1 on a runtime error (reported on one line of stderr),
        2 on a usage error.

    Examples
    --------
    >>> from skeer.cli import main
    >>> code = main(["--version"])  # doctest: +ELLIPSIS
    skeer ...
    >>> code
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in _MAIN_OPTIONS):
        argv = ["train", *argv]  # no command: options go to 'skeer train'
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        note("error: a command is required: train, evaluate, bench or kvc-predict")
        return 2
    command = _COMMANDS[args.command]
    prog = f"{PROG} {args.command}"
    with warnings.catch_warnings(), _torch_threads(args.threads):
        warnings.showwarning = showwarning
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        try:
            return command(args)
        except UsageError as exc:
            print(f"{prog}: error: {exc} (see '{prog} --help')", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            note("interrupted")
            return 130
        except (OSError, ValueError, ImportError, RuntimeError, KeyError) as exc:
            if os.environ.get("SKEER_DEBUG"):
                raise
            message = str(exc).strip().splitlines()
            text = message[0] if message else type(exc).__name__
            if isinstance(exc, KeyError):
                text = f"missing key {text}"
            print(f"{prog}: error: {text}", file=sys.stderr)
            return 1
