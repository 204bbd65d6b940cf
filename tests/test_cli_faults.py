"""The ``skeer`` command under faults: Ctrl-C, hostile files, bad options.

- An interrupted run exits 130, says so in one line on stderr and in
  ``report.json``; ``--out`` holds the old run or the new one, never a mix.
- Every runtime error is one line on stderr with exit code 1 (2 for usage
  errors), never a traceback.
"""

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import skeer.cli._output as cli_output
import skeer.cli._train as cli_train
from skeer.cli import main
from skeer.datasets._testing import (
    archive_folder,
    write_aalto_files,
    write_greyc_csv,
    write_kvc_files,
)
from skeer.persistence import load

TINY = ["--subjects", "12", "--max-len", "20", "--batch", "4", "4"]
RUN_FILES = {"model.skeer", "report.json", "det.png", "training.png"}


def run(argv):
    """``(exit code, stdout, stderr)`` of ``main(argv)``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except KeyboardInterrupt:  # would end the whole pytest session
            pytest.fail("KeyboardInterrupt escaped skeer.cli.main")
    return code, out.getvalue(), err.getvalue()


def own_lines(stderr):
    """skeer's messages on stderr, but the metrics' small-sample warnings.

    Found anywhere in a line: a message may follow a progress bar's text.
    """
    found = re.findall(r"skeer(?: [a-z-]+)?: [^\r\n]*", stderr)
    return [line.strip() for line in found if "resolution of" not in line]


def old_run(folder):
    """Pre-populate ``folder`` with an earlier run (and a legacy sidecar)."""
    folder.mkdir(parents=True, exist_ok=True)
    content = {
        "model.skeer": b"old model",
        "report.json": b'{"old": true}',
        "det.png": b"old det",
        "training.png": b"old training",
        "features.json": b'{"params": {}}',  # an earlier skeer's sidecar
        "notes.txt": b"the user's own file",  # not skeer's: never touched
    }
    for name, data in content.items():
        (folder / name).write_bytes(data)
    return content


def assert_old_run_intact(folder, content):
    assert {p.name for p in folder.iterdir()} == set(content)  # no temp file left
    for name, data in content.items():
        assert (folder / name).read_bytes() == data


def assert_new_run(folder, *, interrupted):
    names = {p.name for p in folder.iterdir()}
    assert names == RUN_FILES | {"notes.txt"}  # no old sidecar, no temp file
    report = json.loads((folder / "report.json").read_text())
    assert report["interrupted"] is interrupted
    for name in ("det.png", "training.png"):
        assert (folder / name).read_bytes()[:4] == b"\x89PNG"
    pipe = load(folder / "model.skeer")  # a real model, of this very run
    assert len(pipe[-1].history) == report["epochs_run"]
    assert (folder / "notes.txt").read_bytes() == b"the user's own file"
    return report


# ---------------------------------------------------------------------------
# Ctrl-C
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_or_sigterm_during_training_subprocess(tmp_path, sig, code):
    """A real ``skeer train`` process, SIGINT (Ctrl-C) or SIGTERM (a scheduler,
    ``docker stop``) once training has started: the run is saved, marked."""
    out = tmp_path / "out"
    old_run(out)
    argv = [sys.executable, "-m", "skeer", "train", *TINY, "--epochs", "500"]
    argv += ["--patience", "0", "--no-baseline", "--out", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    stdout_file = tmp_path / "stdout.txt"
    with stdout_file.open("wb") as stdout:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=env)
    stderr = bytearray()

    def read():
        while chunk := proc.stderr.read1(4096):
            stderr.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # marker: the epoch progress bar has counted a finished epoch
        deadline = time.monotonic() + 120
        while not re.search(rb" [1-9]\d*/500 ", bytes(stderr)):
            assert proc.poll() is None, bytes(stderr).decode(errors="replace")
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.05)
        proc.send_signal(sig)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    err = bytes(stderr).decode(errors="replace")
    assert proc.returncode == code, err
    assert "Traceback" not in err
    lines = [line for line in own_lines(err) if "interrupt" in line.lower()]
    assert len(lines) == 1, err  # said once (the verifier's warning is not shown)
    assert lines[0].startswith("skeer train: interrupted")
    assert '"interrupted": true' in lines[0]
    report = assert_new_run(out, interrupted=True)
    assert 1 <= report["epochs_run"] < 500
    assert "global EER" in stdout_file.read_text()  # judged and reported as usual


def _interrupt_at_epoch(epoch):
    """A stand-in of the progress callback that sends SIGINT at ``epoch``'s end."""
    from skorch.callbacks import Callback

    class _SigInt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == epoch:
                signal.raise_signal(signal.SIGINT)

    return lambda quiet, total, desc: ("epoch_progress", _SigInt())


def _sigint_on_call(func, n=1, sig=signal.SIGINT):
    """``func`` that raises ``sig`` (a real signal) before its ``n``-th call."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            signal.raise_signal(sig)
        return func(*args, **kwargs)

    return wrapper


TRAIN = ["train", *TINY, "--epochs", "3", "--patience", "0", "--no-baseline", "-q"]


def test_second_sigint_during_evaluation_writes_nothing(tmp_path, monkeypatch):
    """Ctrl-C stops training; a second one, while judging, keeps the old run."""
    out = tmp_path / "out"
    content = old_run(out)
    monkeypatch.setattr(cli_train, "epoch_progress", _interrupt_at_epoch(1))
    monkeypatch.setattr(cli_train, "evaluate", _sigint_on_call(cli_train.evaluate))
    code, _, stderr = run([*TRAIN, "--out", out])
    assert code == 130
    lines = own_lines(stderr)
    assert len(lines) == 1 and "nothing written" in lines[0], stderr
    assert_old_run_intact(out, content)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_while_writing_keeps_the_old_run(tmp_path, monkeypatch, sig, code):
    out = tmp_path / "out"
    content = old_run(out)
    # the signal comes while the second figure is written (the model is done)
    monkeypatch.setattr(
        cli_train, "save_figure", _sigint_on_call(cli_train.save_figure, 2, sig)
    )
    status, _, stderr = run([*TRAIN, "--out", out])
    assert status == code
    lines = own_lines(stderr)
    assert len(lines) == 1 and "nothing written" in lines[0], stderr
    assert_old_run_intact(out, content)
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_while_renaming_is_held_back(tmp_path, monkeypatch, sig, code):
    """Ctrl-C or SIGTERM among the renames: they all happen, then it stops."""
    out = tmp_path / "out"
    old_run(out)
    real_replace = os.replace
    seen = []

    def replace(src, dst):
        if Path(dst).parent == out:
            seen.append(Path(dst).name)
            if len(seen) == 1:
                signal.raise_signal(sig)
        real_replace(src, dst)

    monkeypatch.setattr(cli_output.os, "replace", replace)
    status, _, stderr = run([*TRAIN, "--out", out])
    assert status == code
    assert seen == ["model.skeer", "det.png", "training.png", "report.json"]
    lines = own_lines(stderr)
    assert len(lines) == 1 and "complete" in lines[0], stderr
    assert_new_run(out, interrupted=False)


def test_interrupted_training_is_saved_and_reported(tmp_path, monkeypatch):
    """In-process twin of the subprocess test, with --json."""
    out = tmp_path / "out"
    monkeypatch.setattr(cli_train, "epoch_progress", _interrupt_at_epoch(2))
    code, stdout, stderr = run([*TRAIN, "--out", out, "--json"])
    assert code == 130
    lines = own_lines(stderr)
    assert len(lines) == 1 and "after 2 of 3 epochs" in lines[0], stderr
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is True and report["epochs_run"] == 2
    assert json.loads(stdout) == report  # --json still prints the results


# ---------------------------------------------------------------------------
# --out is checked before any work
@pytest.fixture
def no_loading(monkeypatch):
    """Fail the test if the command gets as far as loading data."""

    def refuse(args):
        raise AssertionError("data loaded before --out was checked")

    monkeypatch.setattr(cli_train, "load_data", refuse)


def test_out_is_a_file(tmp_path, no_loading):
    file = tmp_path / "taken"
    file.write_text("x")
    for out in (file, file / "sub"):
        code, _, stderr = run(["train", *TINY, "--out", out])
        assert code == 1 and len(own_lines(stderr)) == 1
        assert "--out" in stderr and "not a folder" in stderr
    assert file.read_text() == "x"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_out_cannot_be_written(no_loading):
    # /proc refuses new files, whoever runs the test (root too)
    code, _, stderr = run(["train", *TINY, "--out", "/proc/skeer-test-out"])
    assert code == 1 and len(own_lines(stderr)) == 1
    assert "--out: cannot write to '/proc'" in stderr


def test_unwritable_folder(tmp_path, no_loading):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user can write to a read-only folder (root)")
        code, _, stderr = run(["train", *TINY, "--out", folder / "run"])
        assert code == 1 and "cannot write" in stderr and len(own_lines(stderr)) == 1
    finally:
        folder.chmod(0o700)


# ---------------------------------------------------------------------------
# one-line errors
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Corrupt and truncated files of every format."""
    root = tmp_path_factory.mktemp("hostile")
    write_aalto_files(root / "aalto", n_participants=3, n_sessions=3)
    good = archive_folder(root / "aalto", root / "good.tar.gz").read_bytes()
    (root / "truncated.tar.gz").write_bytes(good[: len(good) // 2])
    (root / "garbage.tar.gz").write_bytes(b"not an archive " * 20)
    (root / "garbage.zip").write_bytes(b"PK\x03\x04 not a zip " * 20)
    write_kvc_files(root / "kvc", "desktop", n_users=3, n_sessions=3, n_test=3)
    npy = root / "kvc" / "desktop_dev_set.npy"
    npy.write_bytes(npy.read_bytes()[: npy.stat().st_size // 2])
    greyc = write_greyc_csv(root / "greyc.csv.gz", n_subjects=3, n_reps=4)
    (root / "truncated.csv.gz").write_bytes(greyc.read_bytes()[:40])
    (root / "model.skeer").write_text("not a model")
    (root / "notes.txt").write_text("notes")
    return root


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["train", "--data", "aalto:{root}/truncated.tar.gz"], 1, "truncated"),
        (["train", "--data", "aalto:{root}/garbage.tar.gz"], 1, "corrupt"),
        (["train", "--data", "aalto:{root}/garbage.zip"], 1, "corrupt"),
        (["train", "--data", "kvc:{root}/kvc"], 1, "desktop_dev_set.npy"),
        (["train", "--data", "greyc:{root}/truncated.csv.gz"], 1, "CSV"),
        (["evaluate", "{root}/model.skeer", "--data", "synthetic"], 1, "not a skeer"),
        (
            ["kvc-predict", "{root}/model.skeer", "--data", "kvc:{root}", "--zip", "."],
            1,
            "is a folder",
        ),
        (["train", "--patience", "-3"], 2, "--patience"),
        (["train", "--lr", "inf"], 2, "--lr"),
        (["train", "--lr", "0"], 2, "--lr"),
        (["train", "--out", ""], 2, "--out"),
        (["bench", "--out", "{root}/notes.txt"], 1, "not a folder"),
        (
            ["evaluate", "{root}/model.skeer", "--data", "synthetic", "--out", ""],
            2,
            "--out",
        ),
        (
            ["train", "--data", "greyc:{root}/greyc.csv.gz", "--passphrase", "P9"],
            1,
            "P9",
        ),
        (["kvc-predict", "a.skeer", "desktop=b.skeer", "--data", "kvc:x"], 2, "MODEL"),
        (
            ["kvc-predict", "desktop=a", "--scenario", "mobile", "--data", "kvc:x"],
            2,
            "contradicts",
        ),
    ],
)
def test_errors_are_one_line(hostile, argv, code, message, monkeypatch, tmp_path):
    monkeypatch.setenv("SKEER_DATA", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    argv = [a.format(root=hostile) for a in argv]
    got, _, stderr = run([*argv, "-q"] if argv[0] != "kvc-predict" else argv)
    assert got == code, stderr
    lines = own_lines(stderr)
    assert len(lines) == 1, stderr
    assert message in lines[0] and "error" in lines[0]
    assert "Traceback" not in stderr
    assert not (tmp_path / "skeer_out").exists()  # nothing written


def test_truncated_model_file(tmp_path):
    code, _, stderr = run(["train", *TINY, "--epochs", "1", "--out", tmp_path, "-q"])
    assert code == 0, stderr
    model = tmp_path / "model.skeer"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    code, _, stderr = run(["evaluate", model, "--data", "synthetic", "-q"])
    assert code == 1 and len(own_lines(stderr)) == 1
    assert "not a skeer model" in stderr and "Traceback" not in stderr


def test_diverged_training_is_one_line(tmp_path):
    """A learning rate that makes the loss NaN: 'training diverged at epoch 1'."""
    argv = ["train", *TINY, "--epochs", "2", "--model", "type2branch"]
    argv += ["--lr", "1e12", "--no-baseline", "--out", tmp_path / "out", "-q"]
    code, _, stderr = run(argv)
    assert code == 1
    lines = own_lines(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("skeer train: error: training diverged at epoch 1")
    assert "--lr" in lines[0] and "finite" not in lines[0]
    assert not (tmp_path / "out").exists()


def test_unexpected_exception_is_one_line(monkeypatch):
    import tarfile

    def boom(args):
        raise tarfile.ReadError("bad tar header\nsecond line")

    monkeypatch.setitem(sys.modules["skeer.cli"]._COMMANDS, "train", boom)
    code, _, stderr = run(["train"])
    assert code == 1
    assert own_lines(stderr) == [
        "skeer train: error: ReadError: bad tar header "
        "(set SKEER_DEBUG=1 for the traceback)"
    ]
    monkeypatch.setenv("SKEER_DEBUG", "1")
    with pytest.raises(tarfile.ReadError):
        main(["train"])


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "scores.txt"
    target.write_text("old")

    def fail(tmp):
        Path(tmp).write_text("half")
        raise ValueError("disk full")

    with pytest.raises(ValueError):
        cli_output.atomic_write(target, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["scores.txt"]
    assert target.read_text() == "old"
    cli_output.atomic_write(target, lambda tmp: Path(tmp).write_text("new"))
    assert target.read_text() == "new" and len(list(tmp_path.iterdir())) == 1


def test_a_second_run_on_the_same_out_fails_at_once(tmp_path):
    """Two runs on one --out both exited 0 and the last writer won."""
    out = tmp_path / "new" / "out"
    argv = ["train", *TINY, "--epochs", "1", "--no-baseline", "--out", str(out), "-q"]
    with cli_output.OutLock(out):  # another run holds the folder
        code, _, stderr = run(argv)
        assert code == 1
        assert "another skeer run is writing" in stderr and str(out) in stderr
        assert not (out / "report.json").exists()
    # released (however the first run ended): the next run writes its files
    code, _, stderr = run(argv)
    assert code == 0, stderr
    assert (out / "report.json").is_file()
    assert not (out / ".skeer.lock").exists()  # the folder holds the run's files
    # a lock file a killed run left behind holds nothing: taken over
    (out / ".skeer.lock").touch()
    with cli_output.OutLock(out):
        pass
    # a run that wrote nothing leaves no folder behind, as before
    empty = tmp_path / "never"
    with cli_output.OutLock(empty):
        assert empty.is_dir()
    assert not empty.exists()
