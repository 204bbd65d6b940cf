"""What the ``skeer`` command prints and writes (streams and files: :ref:`cli`)."""

import contextlib
import importlib
import json
import math
import os
import platform
import secrets
import signal
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from skeer._version import __version__
from skeer.cli._parser import PROG
from skeer.registry import label as _label


def _print(args, lines):
    stream = sys.stderr if getattr(args, "json", False) else sys.stdout
    for line in lines:
        print(line, file=stream, flush=True)


def info(args, *lines):
    """Progress lines: on stdout (stderr with ``--json``), none with ``--quiet``."""
    if not args.quiet:
        _print(args, lines)


def show(args, *lines):
    """Result lines: on stdout; with ``--json`` on stderr unless ``--quiet``."""
    if not (getattr(args, "json", False) and args.quiet):
        _print(args, lines)


def emit_json(args, report):
    """With ``--json``: ``report`` as JSON on stdout (the only thing there)."""
    if getattr(args, "json", False):
        print(json.dumps(jsonable(report), indent=2), flush=True)


def note(message):
    """One ``skeer: message`` line on stderr."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def showwarning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` replacement: one line, no source location."""
    text = str(message).strip().splitlines()
    note(f"warning: {text[0] if text else category.__name__}")


def pct(value, digits=2):
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.{digits}f} %"


def run_name(model, loss):
    return f"{_label(model)} + {_label(loss)}"


def jsonable(obj):
    """``obj`` with numpy scalars and arrays, paths and non-finite floats made JSON."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return repr(obj)


def write_json(path, obj):
    path.write_text(json.dumps(jsonable(obj), indent=2) + "\n", encoding="utf-8")


# interruption and atomic output
class Interrupted(Exception):
    """Ctrl-C stopped the command; the message says what was (not) written (130)."""


#: Signals that stopped the command (SIGTERM: exit status 143, not 130).
TERMINATED = []


def _on_sigterm(signum, frame):
    TERMINATED.append(signum)
    raise KeyboardInterrupt


@contextlib.contextmanager
def handle_sigterm():
    """Inside the block (main thread only) SIGTERM stops the command as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    TERMINATED.clear()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred_sigint():
    """Hold SIGINT and SIGTERM inside the block (main thread), deliver them after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: received.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            # None: a handler installed outside Python; restore the default
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        term, sigint = previous[signal.SIGTERM], previous[signal.SIGINT]
        if signal.SIGTERM in received and term is not signal.SIG_IGN:
            if callable(term):
                term(signal.SIGTERM, None)
            else:
                signal.raise_signal(signal.SIGTERM)
        if signal.SIGINT in received and sigint not in (signal.SIG_IGN, None):
            raise KeyboardInterrupt


class OutputGuard:
    """Turn Ctrl-C in the block into :class:`Interrupted` saying whether ``what`` was
    written (``written``, set by :class:`RunFolder` and :func:`atomic_write`)."""

    def __init__(self, what):
        self.what = what
        self.written = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or not issubclass(exc_type, KeyboardInterrupt):
            return False
        if self.what is None:
            message = "interrupted"
        elif self.written:
            message = f"interrupted after {self.what} was written (it is complete)"
        else:
            message = f"interrupted; nothing written ({self.what} keeps what it held)"
        raise Interrupted(message) from None


class OutLock:
    """Hold ``folder`` for one run (``flock`` on ``.skeer.lock``; none without fcntl).

    A folder created for the lock is removed again if the run wrote nothing.
    """

    NAME = ".skeer.lock"

    def __init__(self, folder, option="--out"):
        self.folder = Path(folder)
        self.option = option
        self._fd = None
        self._created = False

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self
        self._created = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / self.NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # the file may have been unlinked by the run that just ended: then
            # this lock guards nothing (another run may lock a new file)
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise BlockingIOError
        except OSError:
            os.close(fd)
            raise BlockingIOError(
                f"{self.option}: another skeer run is writing {str(self.folder)!r}; "
                f"wait for it to finish or choose another {self.option}"
            ) from None
        self._fd = fd
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._fd is None:
            return False
        with contextlib.suppress(OSError):  # the folder holds the run's files only
            (self.folder / self.NAME).unlink()
            if self._created and not any(self.folder.iterdir()):
                self.folder.rmdir()  # nothing written: no folder, as before
        os.close(self._fd)  # releases the lock
        self._fd = None
        return False


class RunFolder:
    """Write the files ``names`` of one run into ``folder``, all or none (:ref:`cli`).

    :meth:`commit` renames them into place, deletes those not written, ``report`` last.
    """

    def __init__(self, folder, names, report, *, guard=None):
        self.folder = Path(folder)
        self.names = tuple(names)
        self.report = report
        self.guard = guard
        self.token = secrets.token_hex(4)
        self.committed = False
        self._tmp = {}

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self.committed:
            self.discard()
        return False

    def path(self, name):
        """The temporary path to write ``name`` to (its extension kept)."""
        if name not in self.names:
            raise ValueError(f"{name!r} is not one of the run's files {self.names}")
        stem, dot, ext = name.rpartition(".")
        tmp = self.folder / f".{stem or ext}.{self.token}.tmp{dot}{ext if stem else ''}"
        self._tmp[name] = tmp
        return tmp

    def discard(self):
        for tmp in self._tmp.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._tmp.clear()

    def commit(self):
        if self.report not in self._tmp:
            raise ValueError(f"commit without {self.report}")
        with deferred_sigint():
            (self.folder / self.report).unlink(missing_ok=True)
            for name in (n for n in self.names if n != self.report):
                if name in self._tmp:
                    os.replace(self._tmp[name], self.folder / name)
                else:
                    (self.folder / name).unlink(missing_ok=True)
            os.replace(self._tmp[self.report], self.folder / self.report)
            self.committed = True
            if self.guard is not None:
                self.guard.written = True


def atomic_write(path, write, *, guard=None):
    """``write(tmp)`` to a temporary file beside ``path``, then rename it there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        with deferred_sigint():
            os.replace(tmp, path)
            if guard is not None:
                guard.written = True
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_out_folder(path, option="--out"):
    """OSError unless ``path`` is a folder, or can be one, that can be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{option}: {str(path)!r} exists and is not a folder")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{option}: {str(parent)!r} is not a folder")
    try:  # a file can be created in it
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=".skeer-probe-")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PermissionError(
            f"{option}: cannot write to {str(parent)!r} ({reason})"
        ) from None
    os.close(fd)
    os.unlink(tmp)


def check_out_file(path, option):
    """OSError unless ``path`` is a file, or can be one, that can be written."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{option}: {str(path)!r} is a folder, not a file")
    check_out_folder(path.parent, option)


def versions():
    libraries = ("torch", "sklearn", "skorch", "numpy")
    return {
        "python": platform.python_version(),
        "skeer": __version__,
        **{name: importlib.import_module(name).__version__ for name in libraries},
        "platform": platform.platform(),
    }


def config(args, **extra):
    """The parsed options as a JSON-ready dict (``extra`` overrides)."""
    cfg = {k: v for k, v in vars(args).items() if k not in {"func", "quiet", "json"}}
    return jsonable({**cfg, **extra})


def protocol_name(fixed_text, grouped=False):
    if fixed_text:
        within = ", within each typing condition" if grouped else ""
        return f"Killourhy & Maxion fixed-text protocol (per-subject EER{within})"
    return (
        "open set: first G sessions enrol, last sessions probe, one session of "
        "every other test subject as impostor"
    )


def matplotlib_or_warn(what):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        note(
            f"warning: matplotlib is not installed, skipping {what} "
            "(pip install skeer[plots])"
        )
        return False
    return True


def save_figure(draw, path, figsize):
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    draw(ax)
    fig.savefig(path, dpi=120)


# rows of the printed table: (report keys, the first present is shown; label; format)
def _metric_rows(fixed_text):
    if fixed_text:
        return [
            (("mean_subject_eer", "mean_eer"), "mean per-subject EER", pct),
            (("std_subject_eer", "std_eer"), "SD of per-subject EER", pct),
        ]
    return [
        (("eer",), "global EER", pct),
        (("mean_subject_eer",), "mean per-subject EER", pct),
        (("fnmr_at_fmr_0.001",), "FNMR @ FMR 0.1 %", pct),
        (("fnmr_at_fmr_0.01",), "FNMR @ FMR 1 %", pct),
        (("fnmr_at_fmr_0.1",), "FNMR @ FMR 10 %", pct),
        (("auc",), "AUC", lambda v: "n/a" if v is None else f"{v:.4f}"),
    ]


def _first(report, keys):
    return next((report[key] for key in keys if key in report), None)


def _with_ci(report, keys, fmt):
    """The value, and its bootstrap interval when the report has one."""
    text = fmt(_first(report, keys))
    bounds = _first(report.get("ci") or {}, keys)
    if bounds is None or fmt is not pct:
        return text
    return f"{text} [{100 * bounds[0]:.1f}, {100 * bounds[1]:.1f}]"


_COUNTS = (
    ("subjects", "n_subjects"),
    ("genuine scores", "n_genuine"),
    ("impostor scores", "n_impostor"),
)


def table(columns, fixed_text):
    """Text table: one row per metric, one column per ``(name, report)``."""
    rows = [
        (label, [_with_ci(rep, keys, fmt) for _, rep in columns])
        for keys, label, fmt in _metric_rows(fixed_text)
        if any(key in rep for _, rep in columns for key in keys)
    ]
    rows += [
        (label, [str(rep.get(key, "")) for _, rep in columns])
        for label, key in _COUNTS
        if any(key in rep for _, rep in columns)
    ]
    width = max(len(r[0]) for r in rows) + 2
    colw = [
        max(12, len(name) + 2, *(len(values[j]) + 2 for _, values in rows))
        for j, (name, _) in enumerate(columns)
    ]
    head = ("", [name for name, _ in columns])  # the header: a row without label
    return [
        label.ljust(width) + "".join(v.rjust(w) for v, w in zip(values, colw))
        for label, values in [head, *rows]
    ]


def epochs_text(epochs):
    """How an ``--epochs`` value reads in a message ("up to ...")."""
    if epochs == "auto":
        from skeer.verifier import AUTO_MAX_EPOCHS, AUTO_TRAINING_STEPS

        return (
            f"{AUTO_TRAINING_STEPS:,} training steps, fixed text at most "
            f"{AUTO_MAX_EPOCHS} epochs (epochs: auto)"
        )
    return f"{epochs} epochs"


def epoch_progress(quiet, total, desc):
    """``(name, callback)``: a skorch callback showing one tqdm bar over epochs."""
    from skorch.callbacks import Callback
    from tqdm.auto import tqdm

    class _EpochBar(Callback):
        def on_train_begin(self, net, **kwargs):
            # max_epochs="auto" is resolved by now (max_epochs_)
            epochs = getattr(net, "max_epochs_", None)
            self.bar_ = tqdm(
                disable=quiet,
                file=sys.stderr,
                dynamic_ncols=True,
                total=epochs if isinstance(epochs, int) else total,
                desc=desc,
                unit="epoch",
                leave=False,
            )

        def on_epoch_end(self, net, **kwargs):
            row = net.history[-1]
            postfix = {}
            if "train_loss" in row:
                postfix["loss"] = f"{row['train_loss']:.4f}"
            if "valid_eer" in row:
                postfix["valid_eer"] = pct(row["valid_eer"])
            self.bar_.set_postfix(postfix, refresh=False)
            self.bar_.update()

        def on_train_end(self, net, **kwargs):
            self.bar_.close()

    return ("epoch_progress", _EpochBar())
