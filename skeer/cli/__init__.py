"""The ``skeer`` command: train, evaluate and benchmark keystroke verifiers.

Sub-commands ``train`` (``skeer`` alone: ``skeer train --profile quick``),
``evaluate``, ``bench``, ``enroll``, ``verify`` and ``kvc-predict``; each
parses its options, calls public functions of skeer and prints or writes
their results, with the library's defaults. Options, outputs and exit codes
(0, 1 runtime error, 2 usage error, 130 Ctrl-C, 143 SIGTERM): :ref:`cli`.
"""

import contextlib
import os
import re
import sys
import warnings

from skeer.cli._output import TERMINATED, Interrupted, handle_sigterm, note, showwarning
from skeer.cli._parser import PROG, UsageError, build_parser, resolve_defaults
from skeer.cli._saved import cmd_enroll, cmd_evaluate, cmd_kvc_predict, cmd_verify
from skeer.cli._train import cmd_bench, cmd_train

__all__ = ["main"]

_MAIN_OPTIONS = ("-h", "--help", "--version")
_COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "bench": cmd_bench,
    "kvc-predict": cmd_kvc_predict,
    "enroll": cmd_enroll,
    "verify": cmd_verify,
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
        No arguments at all runs the quick demo, ``skeer train --profile quick``.

    Returns
    -------
    code : int
        0 success, 1 runtime error, 2 usage error, 130 Ctrl-C (:ref:`cli`).

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
        # no command: the quick demo, 'skeer train --profile quick [options]'
        argv = ["train", "--profile", "quick", *argv]
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        note("error: a command is required: train, evaluate, bench or kvc-predict")
        return 2
    prog = f"{PROG} {args.command}"
    with warnings.catch_warnings(), _torch_threads(args.threads), handle_sigterm():
        warnings.showwarning = showwarning
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        try:
            resolve_defaults(args)
            return _COMMANDS[args.command](args)
        except UsageError as exc:
            print(f"{prog}: error: {exc} (see '{prog} --help')", file=sys.stderr)
            return 2
        except (Interrupted, KeyboardInterrupt) as exc:
            what = exc if isinstance(exc, Interrupted) else "interrupted"
            by = " (by SIGTERM)" if TERMINATED else ""
            print(f"{prog}: {what}{by}", file=sys.stderr, flush=True)
            return 143 if TERMINATED else 130
        except Exception as exc:
            if os.environ.get("SKEER_DEBUG"):
                raise
            print(f"{prog}: error: {_error_line(exc, args)}", file=sys.stderr)
            return 1


# errors whose message is enough; any other exception is named by its type
_PLAIN = (OSError, ValueError, ImportError, RuntimeError)


def _error_line(exc, args):
    """The one line that reports ``exc``."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if isinstance(exc, ValueError) and text.startswith("Training diverged"):
        # TrainingDivergedError: its first sentence, and the option to change
        first = re.split(r"\.\s", text, maxsplit=1)[0].rstrip(".")
        hint = ""
        lr = getattr(args, "lr", None)
        if isinstance(lr, float):
            hint = f"; lower --lr (now {lr:g})"
            if getattr(args, "amp", False):
                hint += " or drop --amp"
        return "t" + first[1:] + hint
    if isinstance(exc, KeyError):
        return f"missing key {text or '?'}"
    if isinstance(exc, _PLAIN) and text:
        return text
    name = type(exc).__name__
    return f"{name}{': ' + text if text else ''} (set SKEER_DEBUG=1 for the traceback)"
