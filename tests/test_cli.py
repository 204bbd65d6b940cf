"""Tests of the ``skeer`` command, run in-process through ``skeer.cli.main``.

Interruption, atomic output and the one-line error contract are tested in
``test_cli_faults.py``.
"""

import contextlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from skeer import KeystrokeFeatures, KeystrokeVerifier, __version__
from skeer.baselines import ScaledManhattan, make_timing_baseline
from skeer.cli import main
from skeer.cli._parser import build_parser, resolve_defaults
from skeer.datasets import (
    load_cmu,
    load_dataset,
    load_greyc_nislab,
    load_kvc,
    make_keystrokes,
    read_kvc_predictions,
)
from skeer.datasets._testing import (
    write_aalto_files,
    write_cmu_csv,
    write_greyc_csv,
    write_kvc_files,
)
from skeer.evaluation import (
    QUICK_PROFILE,
    evaluate_fixed_text,
    evaluate_verification,
    predict_kvc,
    train_test_split_subjects,
)
from skeer.persistence import load, save

# tiny problem: 12 synthetic subjects x 15 sessions, short sequences, small batches
TINY = ["--subjects", "12", "--max-len", "20", "--batch", "4", "4"]


def _report_keys():
    """Keys of the free-text protocol's report (whatever the protocol names them)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 10)
    return set(evaluate_verification(rng.normal(size=(30, 4)), None, y))


METRIC_KEYS = _report_keys()


def run(argv):
    """``(exit code, stdout, stderr)`` of ``main(argv)``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.strip()]


def warning_lines(stderr):
    """stderr's lines but the metrics' small-sample warnings (tiny test data)."""
    return [line for line in error_lines(stderr) if "resolution of" not in line]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "out"
    code, stdout, stderr = run(["train", *TINY, "--epochs", "2", "--out", out])
    return {"out": out, "code": code, "stdout": stdout, "stderr": stderr}


def test_train_writes_every_output(trained):
    assert trained["code"] == 0, trained["stderr"]
    out = trained["out"]
    names = {"model.skeer", "report.json", "det.png", "training.png"}
    assert {p.name for p in out.iterdir()} == names  # one model file, no sidecar
    for name in names:
        assert (out / name).stat().st_size > 0
    for name in ("det.png", "training.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert "Traceback" not in trained["stderr"]


def test_train_report_contents(trained):
    report = json.loads((trained["out"] / "report.json").read_text())
    assert METRIC_KEYS <= set(report["metrics"])
    assert METRIC_KEYS <= set(report["baseline"]["metrics"])
    assert {"python", "torch", "skeer", "sklearn", "skorch"} <= set(report["versions"])
    assert report["versions"]["skeer"] == __version__
    assert {"data_load_s", "training_s", "evaluation_s"} <= set(report["timings"])
    assert all(v >= 0 for v in report["timings"].values())
    cfg = report["config"]
    assert cfg["data"] == "synthetic" and cfg["model"] == "typenet"
    assert cfg["loss"] == "supcon+eer" and cfg["epochs"] == 2 and cfg["batch"] == [4, 4]
    assert report["data"]["n_subjects"] == 12
    assert report["data"]["n_train_subjects"] + report["data"]["n_test_subjects"] == 12
    assert len(report["history"]) == report["epochs_run"] <= 2
    assert {"train_loss", "valid_eer", "valid_eer_smooth", "lr", "dur"} <= set(
        report["history"][0]
    )
    assert set(report["files"]) == {"model", "report", "det", "training"}
    assert report["features"]["max_len"] == 20


def test_early_stop_keeps_the_best_smoothed_epoch(tmp_path):
    """An early stop is a normal end (exit 0, not "interrupted"), and the
    report names the epoch whose weights were kept: early stopping's best
    smoothed validation EER, not the lowest raw one."""
    out = tmp_path / "out"
    argv = ["train", *TINY, "--epochs", "30", "--patience", "1", "--lr", "1e-9"]
    code, _, stderr = run([*argv, "--batches-per-epoch", "2", "--out", out])
    assert code == 0, stderr
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is False
    assert report["epochs_run"] < 30
    smooth = [h["valid_eer_smooth"] for h in report["history"]]
    assert report["weights_epoch"] == int(np.argmin(smooth)) + 1


def _test_split():
    X, y = make_keystrokes(n_subjects=12, n_sessions=15, random_state=0)
    return train_test_split_subjects(X, y, test_size=1 / 3, random_state=0)


def test_train_report_matches_saved_model_on_unseen_identities(trained):
    """Re-derive the reported metrics from the saved files and the same split."""
    out = trained["out"]
    pipe = load(out / "model.skeer")  # the fitted pipeline, features included
    assert pipe[0].get_params()["max_len"] == 20
    X_train, X_test, y_train, y_test = _test_split()
    # subject-disjoint: no test subject was enrolled in training
    classes = set(pipe[-1].classes_.tolist())
    assert not set(y_test) & classes and classes == set(y_train.tolist())
    expected = evaluate_verification(pipe, X_test, y_test)
    report = json.loads((out / "report.json").read_text())
    for key in ("eer", "fnmr_at_fmr_0.01", "auc", "mean_subject_eer"):
        if key in expected:
            assert report["metrics"][key] == pytest.approx(expected[key], abs=1e-6)
    # the baseline is the library's timing-statistics pipeline
    baseline = make_timing_baseline(max_len=20).fit(X_train, y_train)
    expected = evaluate_verification(baseline, X_test, y_test)
    assert report["baseline"]["metrics"]["eer"] == pytest.approx(expected["eer"])


def test_train_prints_table(trained):
    stdout = trained["stdout"]
    assert "global EER" in stdout and "FNMR @ FMR 1 %" in stdout
    assert "baseline" in stdout and "wrote" in stdout


def test_evaluate_saved_model(trained, tmp_path):
    model = trained["out"] / "model.skeer"
    dest = tmp_path / "eval"
    code, stdout, stderr = run(
        [
            "evaluate",
            model,
            "--data",
            "synthetic",
            "--subjects",
            "6",
            "--data-seed",
            "1",
            "--out",
            dest,
        ]
    )
    assert code == 0, stderr
    report = json.loads((dest / "report.json").read_text())
    assert METRIC_KEYS <= set(report["metrics"])
    # all identities of the new data are test identities
    assert report["data"]["n_subjects"] == 6
    assert (dest / "det.png").read_bytes()[:4] == b"\x89PNG"
    assert "global EER" in stdout

    # --quiet silences progress only: the result (the table) is still printed
    code, quiet_stdout, stderr = run(
        ["evaluate", model, "--data", "synthetic", "--subjects", "6", "--quiet"]
    )
    assert code == 0 and "global EER" in quiet_stdout
    assert "skeer evaluate:" not in quiet_stdout and "embedding" not in stderr
    # --json: the report on stdout, as JSON and nothing else
    code, json_stdout, _ = run(
        ["evaluate", model, "--data", "synthetic", "--subjects", "6"]
        + ["--data-seed", "1", "--json"]
    )
    assert code == 0
    printed = json.loads(json_stdout)
    for key in METRIC_KEYS & {"eer", "auc", "mean_subject_eer"}:
        assert printed["metrics"][key] == pytest.approx(report["metrics"][key])
    assert printed["data"]["n_subjects"] == 6


def test_evaluate_reads_a_verifier_saved_alone(trained, tmp_path):
    """A verifier saved without its feature step gets the default features,
    with a one-line warning; a features.json beside it (an earlier skeer's
    sidecar, a hostile input: max_len 10**9) is never read."""
    pipe = load(trained["out"] / "model.skeer")
    save(pipe[-1], tmp_path / "model.skeer")
    (tmp_path / "features.json").write_text(
        json.dumps({"params": {"max_len": 10**9}}), encoding="utf-8"
    )
    argv = ["evaluate", tmp_path / "model.skeer", "--data", "synthetic"]
    argv += ["--subjects", "6", "--quiet", "--out", tmp_path / "eval"]
    code, _, stderr = run(argv)
    assert code == 0 and "without its feature step" in stderr
    assert len(warning_lines(stderr)) == 1
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["features"]["max_len"] == KeystrokeFeatures().max_len
    X, y = make_keystrokes(n_subjects=6, n_sessions=15, random_state=0)
    expected = evaluate_verification(make_pipeline(KeystrokeFeatures(), pipe[-1]), X, y)
    assert report["metrics"]["eer"] == pytest.approx(expected["eer"], abs=1e-6)


def test_evaluate_on_aalto_files(trained, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("SKEER_DATA", str(cache))
    write_aalto_files(tmp_path / "aalto", n_participants=4, n_sessions=6)
    argv = ["evaluate", trained["out"] / "model.skeer"]
    argv += ["--data", f"aalto:{tmp_path / 'aalto'}", "--n-enroll", "3"]
    argv += ["--n-probe", "3"]
    # --no-cache: the loader neither reads nor writes its cache
    code, stdout, stderr = run([*argv, "--no-cache"])
    assert code == 0, stderr
    assert "global EER" in stdout and not cache.exists()
    code, stdout, stderr = run(argv)
    assert code == 0, stderr
    assert "global EER" in stdout and any(cache.rglob("*.npz"))


def test_evaluate_without_matplotlib_skips_plots(trained, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    dest = tmp_path / "eval"
    code, _, stderr = run(
        [
            "evaluate",
            trained["out"] / "model.skeer",
            "--data",
            "synthetic",
            "--subjects",
            "6",
            "--out",
            dest,
            "--quiet",
        ]
    )
    assert code == 0, stderr
    assert (dest / "report.json").is_file()
    assert not (dest / "det.png").exists()
    lines = warning_lines(stderr)
    assert len(lines) == 1 and "matplotlib" in lines[0] and "skeer[plots]" in lines[0]


def test_kvc_predict(trained, tmp_path):
    truth = write_kvc_files(
        tmp_path / "kvc", "mobile", n_users=3, n_sessions=4, n_test=6
    )
    pred = tmp_path / "preds" / "mobile_predictions.txt"
    code, _, stderr = run(
        [
            "kvc-predict",
            trained["out"] / "model.skeer",
            "--data",
            f"kvc:{tmp_path / 'kvc'}",
            "--scenario",
            "mobile",
            "--out",
            pred,
            "--quiet",
        ]
    )
    assert code == 0, stderr
    assert pred.read_text().startswith("[")  # the kit's one-line list
    scores = read_kvc_predictions(pred)
    assert scores.shape == (len(truth.pairs),) == (15,)
    # independently: cosine similarity of the two sessions' embeddings
    pipe = load(trained["out"] / "model.skeer")
    kvc = load_kvc(tmp_path / "kvc", "mobile")
    emb = pipe[-1].transform(KeystrokeFeatures(max_len=20).transform(kvc.test_data))
    a, b = kvc.comparison_index.T
    np.testing.assert_allclose(scores, (emb[a] * emb[b]).sum(axis=1), atol=1e-6)


def test_kvc_train_trains_on_every_development_subject_by_default(tmp_path):
    """A KVC model is for a submission: no test split unless asked for."""
    kvc = tmp_path / "kvc"
    write_kvc_files(kvc, "desktop", n_users=8, n_sessions=8, n_test=5)
    out = tmp_path / "out"
    argv = ["train", "--data", f"kvc:{kvc}", "--epochs", "1", "--max-len", "20"]
    argv += ["--batch", "4", "4", "--out", out]
    code, stdout, stderr = run(argv)
    assert code == 0, stderr
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["n_train_subjects"] == 8
    assert report["data"]["n_test_subjects"] == 0
    assert report["metrics"] is None and report["baseline"] is None
    assert report["config"]["test_size"] == 0
    assert "no test subjects" in stderr + stdout
    assert "trained on all 8 subjects" in stdout
    assert (out / "model.skeer").is_file() and not (out / "det.png").exists()
    # the fitted model saw every development subject (its validation share too)
    assert len(load(out / "model.skeer")[-1].classes_) == 8
    # --test-size still holds subjects out when asked; bench refuses 0
    code, _, stderr = run([*argv[:-2], "--test-size", "0.25", "--out", out, "-q"])
    assert code == 0, stderr
    assert json.loads((out / "report.json").read_text())["data"]["n_test_subjects"] == 2
    code, _, stderr = run(["bench", "--test-size", "0", "--epochs", "1"])
    assert code == 2 and "--test-size" in stderr


def test_kvc_train_then_submission_zip(tmp_path):
    """From a KVC-onGoing release (the kit's file formats) to the zip submitted."""
    kvc = tmp_path / "kvc"
    desktop = write_kvc_files(kvc, "desktop", n_users=8, n_sessions=8, n_test=5)
    mobile = write_kvc_files(kvc, "mobile", n_users=4, n_sessions=4, n_test=4)
    assert (kvc / "desktop_comparisons.txt").read_text().startswith("[[")
    out = tmp_path / "out"
    code, stdout, stderr = run(
        [
            "train",
            "--data",
            f"kvc:{kvc}",
            "--epochs",
            "1",
            "--max-len",
            "20",
            "--batch",
            "4",
            "4",
            "--n-enroll",
            "3",
            "--n-probe",
            "3",
            "--test-size",
            "0.4",
            "--out",
            out,
            "--quiet",
            "--json",
        ]
    )
    assert code == 0, stderr
    report = json.loads((out / "report.json").read_text())
    assert json.loads(stdout) == report  # --json: the report, nothing else
    assert report["interrupted"] is False
    assert report["data"]["n_subjects"] == 8
    n_test = report["data"]["n_test_subjects"]
    assert report["metrics"]["n_subjects"] == n_test

    model = out / "model.skeer"
    submission = tmp_path / "submission" / "kvc.zip"
    code, stdout, stderr = run(
        ["kvc-predict", model, "--data", f"kvc:{kvc}", "--zip", submission, "-q"]
    )
    assert code == 0, stderr
    with zipfile.ZipFile(submission) as zf:
        assert zf.namelist() == ["desktop_predictions.txt", "mobile_predictions.txt"]
        texts = {n: zf.read(n).decode() for n in zf.namelist()}
    expected = predict_kvc(load(model), kvc)
    for scenario, truth in (("desktop", desktop), ("mobile", mobile)):
        text = texts[f"{scenario}_predictions.txt"]
        assert text.startswith("[") and text.endswith("]") and "\n" not in text
        scores = np.array(json.loads(text))
        assert scores.shape == (len(truth.pairs),)
        np.testing.assert_allclose(scores, expected[scenario], atol=1e-6)
    assert not list(tmp_path.glob("*_predictions.txt"))  # only the archive

    # one model per scenario; --out writes one scenario's file beside the zip
    pred = tmp_path / "mobile_predictions.txt"
    argv = ["kvc-predict", f"mobile={model}", "--data", f"kvc:{kvc}", "--out", pred]
    code, stdout, stderr = run([*argv, "--zip", tmp_path / "mobile.zip", "--json"])
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert list(summary["scenarios"]) == ["mobile"]
    np.testing.assert_allclose(read_kvc_predictions(pred), expected["mobile"])
    with zipfile.ZipFile(tmp_path / "mobile.zip") as zf:
        assert zf.namelist() == ["mobile_predictions.txt"]
    # two scenarios cannot share one --out file: refused before any scoring
    code, _, stderr = run(["kvc-predict", model, "--data", f"kvc:{kvc}", "--out", pred])
    assert code == 2 and "--zip" in stderr and len(error_lines(stderr)) == 1


def test_train_and_evaluate_cmu(tmp_path):
    csv = write_cmu_csv(tmp_path / "cmu.csv", n_subjects=9, n_sessions=2, n_reps=10)
    out = tmp_path / "out"
    protocol = ["--n-enroll", "10", "--n-impostor", "3"]
    code, stdout, stderr = run(
        [
            "train",
            "--data",
            f"cmu:{csv}",
            "--epochs",
            "2",
            "--batch",
            "4",
            "4",
            *protocol,
            "--out",
            out,
        ]
    )
    assert code == 0, stderr
    report = json.loads((out / "report.json").read_text())
    assert (report["config"]["model"], report["config"]["loss"]) == ("mlp", "eer")
    expected_keys = {"mean_subject_eer", "std_subject_eer", "n_subjects"}
    assert expected_keys <= set(report["metrics"])
    assert "Manhattan" in report["baseline"]["name"]
    # the baseline is Killourhy & Maxion's scaled Manhattan on the test subjects
    cmu = load_cmu(csv)
    _, X_test, _, y_test = train_test_split_subjects(
        cmu.data, cmu.target, test_size=1 / 3, random_state=0
    )
    expected = evaluate_fixed_text(
        ScaledManhattan(), X_test, y_test, n_train=10, n_impostor_reps=3
    )
    assert report["baseline"]["metrics"]["mean_subject_eer"] == pytest.approx(
        expected["mean_subject_eer"]
    )
    assert report["metrics"]["n_subjects"] == len(set(y_test))
    assert "mean per-subject EER" in stdout
    assert (out / "training.png").is_file()

    code, stdout, stderr = run(
        ["evaluate", out / "model.skeer", "--data", f"cmu:{csv}", *protocol]
    )
    assert code == 0, stderr
    assert "mean per-subject EER" in stdout
    # a fixed-text model cannot score free text, and vice versa
    code, _, stderr = run(
        [
            "evaluate",
            out / "model.skeer",
            "--data",
            "synthetic",
            "--subjects",
            "4",
            "--quiet",
        ]
    )
    assert code == 1 and "fixed-text" in stderr
    code, _, stderr = run(["train", "--data", f"cmu:{csv}", "--model", "typenet"])
    assert code == 2 and "--model mlp" in stderr


def test_train_and_evaluate_greyc(tmp_path):
    """GREYC-NISLAB (fixed text): the MLP and the scaled-Manhattan baseline."""
    csv = write_greyc_csv(tmp_path / "greyc.csv.gz", n_subjects=9, n_reps=12)
    out = tmp_path / "out"
    data = ["--data", f"greyc:{csv}", "--passphrase", "P2"]
    code, stdout, stderr = run(
        ["train", *data, "--epochs", "2", "--batch", "4", "4", "--out", out, "-q"]
    )
    assert code == 0, stderr
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["model"] == "mlp"
    assert report["config"]["passphrase"] == "P2"
    assert "the rolling stones" in report["data"]["description"]
    assert {"mean_subject_eer", "std_subject_eer", "n_subjects"} <= set(
        report["metrics"]
    )
    # the baseline: Killourhy & Maxion's detector, within each typing condition
    # (5 of its 6 reps enrol), not condition 1 enrolling for condition 2
    greyc = load_greyc_nislab(csv, passphrase="P2")
    _, test, _, y_test = train_test_split_subjects(
        np.arange(len(greyc.target)), greyc.target, test_size=1 / 3, random_state=0
    )
    X_test, c_test = greyc.data[test], greyc.condition[test]
    expected = evaluate_fixed_text(
        ScaledManhattan(), X_test, y_test, groups=c_test, n_train=5
    )
    assert "within each typing condition" in report["protocol"]
    assert "Manhattan" in report["baseline"]["name"]
    assert report["baseline"]["metrics"]["mean_subject_eer"] == pytest.approx(
        expected["mean_subject_eer"]
    )
    assert report["metrics"]["n_subjects"] == len(set(y_test))
    # the per-subject table and the interval are in the report
    subjects = report["metrics"]["subjects"]
    assert len(subjects) == report["metrics"]["n_subjects"]
    assert {"subject", "n_genuine", "n_impostor", "eer"} <= set(subjects[0])
    lo, hi = report["metrics"]["ci"]["mean_subject_eer"]
    assert lo <= report["metrics"]["mean_subject_eer"] <= hi
    assert "mean per-subject EER" in stdout  # -q: the results are still printed

    model = out / "model.skeer"
    code, stdout, stderr = run(["evaluate", model, *data, "--json"])
    assert code == 0, stderr
    metrics = json.loads(stdout)["metrics"]
    expected = evaluate_fixed_text(
        load(model), greyc.data, greyc.target, groups=greyc.condition, n_train=5
    )
    assert metrics["n_train"] == {"1": 5, "2": 5}  # JSON keys
    assert metrics["mean_subject_eer"] == pytest.approx(expected["mean_subject_eer"])
    # P1 has other keys (49 features, not 52): refused in one line
    code, _, stderr = run(["evaluate", model, "--data", f"greyc:{csv}", "-q"])
    assert code == 1 and "52" in stderr and len(error_lines(stderr)) == 1


def test_bench(tmp_path):
    out = tmp_path / "bench"
    code, stdout, stderr = run(
        [
            "bench",
            *TINY,
            "--epochs",
            "2",
            "--seeds",
            "1",
            "--losses",
            "eer-area,triplet",
            "--out",
            out,
            "--json",
        ]
    )
    assert code == 0, stderr
    assert json.loads(stdout) == json.loads((out / "bench.json").read_text())
    assert {p.name for p in out.iterdir()} == {
        "bench.md",
        "bench.json",
        "convergence.png",
    }
    result = json.loads((out / "bench.json").read_text())
    assert list(result["summary"]) == ["eer-area", "triplet"]
    for label, summary in result["summary"].items():
        assert set(summary) == {
            "global_eer",
            "mean_subject_eer",
            "fnmr_at_fmr_0.01",
            "epochs_to_baseline_best",
            "seconds_per_epoch",
            "eer_difference",
        }
        (run_,) = result["runs"][label]
        assert run_["epochs"] == 2  # no early stopping: the same budget for all
        assert summary["global_eer"]["mean"] == pytest.approx(run_["metrics"]["eer"])
        assert summary["global_eer"]["sd"] == 0.0
    # the triplet run reaches its own best validation EER at its best epoch
    trip = result["runs"]["triplet"][0]
    assert trip["epochs_to_baseline_best"] == int(np.argmin(trip["valid_eer"])) + 1
    md = (out / "bench.md").read_text()
    assert md.count("\n| eer-area |") == 1 and md.count("\n| triplet |") == 1
    assert "| eer-area |" in stderr  # with --json the table goes to stderr


def test_bench_skips_unavailable_loss(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pytorch_metric_learning", None)
    out = tmp_path / "bench"
    code, _, stderr = run(
        [
            "bench",
            *TINY,
            "--epochs",
            "1",
            "--seeds",
            "1",
            "--losses",
            "eer-direct,contrastive",
            "--out",
            out,
            "--quiet",
        ]
    )
    assert code == 0, stderr
    warnings_ = [line for line in error_lines(stderr) if "contrastive" in line]
    assert len(warnings_) == 1 and "skipping" in warnings_[0]
    result = json.loads((out / "bench.json").read_text())
    assert list(result["summary"]) == ["eer-direct"]
    assert result["summary"]["eer-direct"]["epochs_to_baseline_best"]["mean"] is None
    assert "no triplet run" in (out / "bench.md").read_text()


def test_version():
    code, stdout, _ = run(["--version"])
    assert code == 0 and stdout.strip() == f"skeer {__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "skeer", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"skeer {__version__}"


def test_help_lists_commands():
    code, stdout, _ = run(["--help"])
    assert code == 0
    for command in ("train", "evaluate", "bench", "kvc-predict"):
        assert command in stdout


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["train", "--data", "foo:bar"], 2, "unknown data format"),
        (["train", "--data", "aalto"], 2, "need a path"),
        (["train", "--model", "lstm"], 2, "invalid choice"),
        (["train", "--loss", "focal"], 2, "invalid choice"),
        (["train", "--operating-point", "2"], 2, "invalid operating point"),
        (["train", "--epochs", "0"], 2, "positive integer or 'auto'"),
        (["train", "--epochs", "many"], 2, "positive integer or 'auto'"),
        (["bench", "--losses", "eer-area,focal"], 2, "unknown loss"),
        (["train", "--bogus"], 2, "unrecognized arguments"),
        (["--bogus"], 2, "unrecognized arguments"),
        (["train", "--device", "gpu"], 2, "unknown device"),
        (["frobnicate"], 2, "invalid choice"),
        (["train", "--data", "aalto:/nonexistent/skeer"], 1, "no such file"),
        (["train", "--data", "cmu:/nonexistent/skeer.csv"], 1, "no such file"),
        (
            ["evaluate", "/nonexistent/model.skeer", "--data", "synthetic"],
            1,
            "no such file",
        ),
        (["evaluate", "/nonexistent/model.skeer"], 2, "--data"),
        (
            ["kvc-predict", "/nonexistent/model.skeer", "--data", "synthetic"],
            2,
            "kvc:PATH",
        ),
        (["train", "--subjects", "12", "--model", "mlp"], 2, "fixed-text"),
    ],
)
def test_errors_are_one_line(argv, code, message):
    got, stdout, stderr = run(argv)
    assert got == code
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    assert message in lines[0] and "error" in lines[0]
    assert "Traceback" not in stderr


@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="needs a machine without CUDA"
)
def test_error_on_unavailable_cuda():
    code, _, stderr = run(["train", *TINY, "--device", "cuda", "--quiet"])
    assert code == 1
    lines = error_lines(stderr)
    assert len(lines) == 1 and "CUDA is not available" in lines[0]


def test_error_on_a_file_that_is_not_a_model(tmp_path):
    bogus = tmp_path / "model.skeer"
    bogus.write_text("not a model")
    code, _, stderr = run(["evaluate", bogus, "--data", "synthetic"])
    assert code == 1
    lines = error_lines(stderr)
    assert len(lines) == 1 and "not a skeer model" in lines[0]


def _parsed(argv):
    """The options of ``argv`` as ``main`` resolves them (nothing runs)."""
    if not argv or argv[0].startswith("-"):
        argv = ["train", "--profile", "quick", *argv]  # what main() does
    return resolve_defaults(build_parser().parse_args(argv))


def test_training_defaults_are_the_librarys():
    """One source of defaults: KeystrokeVerifier(), KeystrokeFeatures(), ..."""
    lib = KeystrokeVerifier().get_params()
    for command in ("train", "bench"):
        args = _parsed([command])
        assert args.epochs == lib["max_epochs"] and args.lr == lib["lr"]
        assert args.batch == [
            lib["n_subjects_per_batch"],
            lib["n_samples_per_subject"],
        ]
        assert args.validation_size == lib["validation_size"]
        assert args.max_len == KeystrokeFeatures().max_len
        assert args.test_size == pytest.approx(1 / 3)
        assert args.subjects is None  # load_dataset's: make_keystrokes's default
    assert _parsed(["train"]).patience == lib["patience"]
    assert _parsed(["bench"]).patience == 0  # off: the same budget for every loss
    # explicit options win over every default
    args = _parsed(["train", "--epochs", "3", "--batch", "5", "6", "--lr", "0.1"])
    assert (args.epochs, args.batch, args.lr) == (3, [5, 6], 0.1)


def test_epochs_auto_is_the_default_budget_in_steps():
    from skeer.cli._shared import make_verifier

    assert KeystrokeVerifier().max_epochs == "auto"
    assert _parsed(["train"]).epochs == "auto"
    assert _parsed(["train", "--epochs", "AUTO"]).epochs == "auto"
    net = make_verifier(
        _parsed(["train"]),
        model="mlp",
        loss="eer",
        operating_point="eer",
        seed=0,
        patience=0,
    )
    assert net.max_epochs == "auto"


def test_learning_rate_schedule_options_reach_the_verifier():
    from skeer.cli._shared import make_verifier

    lib = KeystrokeVerifier().get_params()
    args = _parsed(["train"])
    assert args.lr_schedule == lib["lr_schedule"]
    assert args.warmup_epochs == lib["warmup_epochs"]
    args = _parsed(["train", "--lr-schedule", "constant", "--warmup-epochs", "0.5"])
    net = make_verifier(
        args, model="mlp", loss="eer", operating_point="eer", seed=0, patience=0
    )
    assert (net.lr_schedule, net.warmup_epochs) == ("constant", 0.5)
    assert _parsed(["bench", "--n-jobs", "-1"]).n_jobs == -1
    assert _parsed(["bench"]).n_jobs == 1
    for argv in (
        ["train", "--lr-schedule", "step"],
        ["train", "--warmup-epochs", "-1"],
        ["train", "--warmup-epochs", "inf"],
        ["bench", "--n-jobs", "0"],
        ["bench", "--n-jobs", "x"],
    ):
        with pytest.raises(SystemExit):
            with contextlib.redirect_stderr(io.StringIO()):
                build_parser().parse_args(argv)


def test_no_command_is_the_quick_profile():
    quick = dict(QUICK_PROFILE)
    args = _parsed([])
    assert args.command == "train" and args.profile == "quick"
    assert args.subjects == quick["n_subjects"] and args.sessions == quick["n_sessions"]
    assert args.epochs == quick["max_epochs"] and args.lr == quick["lr"]
    assert args.patience == quick["patience"]
    assert args.batch == [
        quick["n_subjects_per_batch"],
        quick["n_samples_per_subject"],
    ]
    # options still apply on top of the profile; other data keep all subjects
    args = _parsed(["--epochs", "2", "--data", "cmu:x.csv"])
    assert args.epochs == 2 and args.lr == quick["lr"] and args.subjects is None
    with pytest.raises(TypeError):
        QUICK_PROFILE["lr"] = 1.0  # read-only: defined once


def test_help_shows_the_library_defaults():
    code, stdout, _ = run(["train", "--help"])
    assert code == 0
    text = " ".join(stdout.split())
    lib = KeystrokeVerifier().get_params()
    assert f"default {lib['max_epochs']}: KeystrokeVerifier's max_epochs" in text
    assert f"default {lib['patience']}: KeystrokeVerifier's patience" in text
    assert "QUICK_PROFILE" in text


@pytest.mark.slow
def test_main_job_defaults(tmp_path, monkeypatch):
    """``skeer`` with no arguments: the README's quick demo (about a minute)."""
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = run([])
    assert code == 0, stderr
    report = json.loads((tmp_path / "skeer_out" / "report.json").read_text())
    cfg = report["config"]
    assert cfg["profile"] == "quick" and cfg["epochs"] == QUICK_PROFILE["max_epochs"]
    assert report["data"]["n_subjects"] == QUICK_PROFILE["n_subjects"]
    assert report["interrupted"] is False
    # the learned verifier beats the non-learned baseline on unseen identities
    assert report["metrics"]["eer"] < report["baseline"]["metrics"]["eer"]
    key = "mean_subject_eer"
    assert report["metrics"][key] < report["baseline"]["metrics"][key]
    # its time is measured (report["timings"]), not asserted: shared cores
    assert report["timings"]["total_s"] > 0


def test_enroll_then_verify_without_training(trained, tmp_path):
    """A trained model enrols new people from data and verifies their claims."""
    import csv

    model = trained["out"] / "model.skeer"
    data = ["--data", "synthetic", "--subjects", "6", "--sessions", "8"]
    data += ["--data-seed", "7"]
    enrolled = tmp_path / "enrolled.skeer"
    code, _, stderr = run(
        ["enroll", model, *data, "--n-enroll", "5", "--reset", "--out", enrolled,
         "--json"]
    )  # fmt: skip
    assert code == 0, stderr
    pipe = load(enrolled)
    assert pipe[-1].classes_.tolist() == list(range(6))
    # the templates are those of each subject's first 5 sessions
    ds = load_dataset("synthetic", n_subjects=6, n_sessions=8, random_state=7)
    first = np.concatenate([np.flatnonzero(ds.target == s)[:5] for s in range(6)])
    ref = load(model)
    ref[-1].enroll(
        ref[:-1].transform([ds.data[i] for i in first]), ds.target[first], reset=True
    )
    np.testing.assert_allclose(pipe[-1].templates_, ref[-1].templates_, atol=1e-6)
    # every sample claims its own subject; then all claim subject 0
    decisions = tmp_path / "claims.csv"
    code, stdout, stderr = run(
        ["verify", enrolled, *data, "--out", decisions, "--json"]
    )
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["claims"] == report["genuine_claims"] == 48
    rows = list(csv.DictReader(decisions.open()))
    assert len(rows) == 48 and rows[0].keys() == {
        "sample", "subject", "claimed", "score", "accepted"
    }  # fmt: skip
    scores = pipe[-1].claim_scores(pipe[:-1].transform(ds.data), ds.target)
    np.testing.assert_allclose([float(r["score"]) for r in rows], scores, rtol=1e-5)
    assert report["accepted"] == int((scores >= pipe[-1].threshold_).sum())
    code, stdout, _ = run(["verify", enrolled, *data, "--claim", "0", "--json"])
    report = json.loads(stdout)
    assert code == 0 and report["genuine_claims"] == 8
    assert report["impostor_claims"] == 40
    # clear refusals
    code, _, stderr = run(["verify", enrolled, *data, "--claim", "99"])
    assert code == 2 and "not enrolled" in stderr
    empty = tmp_path / "empty.skeer"
    pipe[-1].unenroll(pipe[-1].classes_)
    save(pipe, empty)
    code, _, stderr = run(["verify", empty, *data])
    assert code == 2 and "nobody enrolled" in stderr
    code, _, stderr = run(["enroll", "pretrained:nope", *data, "--out", enrolled])
    assert code == 1 and "Unknown pretrained model 'nope'" in stderr


GREYC_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data"
    / "greyc-nislab-fixed-text.csv.gz"
)  # fmt: skip


@pytest.mark.skipif(not GREYC_DATA.exists(), reason="../shared/data absent")
def test_greyc_through_the_command_gives_the_per_condition_baseline(tmp_path):
    """`skeer train --data greyc:...` reported a 63 % baseline EER (condition
    1 enrolled for condition 2's probes); within each condition it is ~0.13."""
    out = tmp_path / "out"
    code, _, stderr = run(
        ["train", "--data", f"greyc:{GREYC_DATA}", "--passphrase", "P2",
         "--epochs", "1", "--out", out, "-q"]
    )  # fmt: skip
    assert code == 0, stderr
    report = json.loads((out / "report.json").read_text())
    assert "within each typing condition" in report["protocol"]
    baseline = report["baseline"]["metrics"]
    assert 0.08 < baseline["mean_subject_eer"] < 0.2
    assert baseline["n_train"] == {"1": 5, "2": 5}
