"""Tests of skeer.datasets.load_cmu / fetch_cmu, offline only.

CSV fixtures come from ``skeer.datasets._testing.write_cmu_csv`` (private), which
writes the CMU benchmark's layout; expected values are read back from the
written file with the csv module. The network is never used: ``urlopen`` is
replaced by a function that fails the test.
"""

import csv
import gzip
import hashlib
import os
import shutil
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

from skeer import KeystrokeFeatures
from skeer.datasets import _cmu, fetch_cmu, load_cmu
from skeer.datasets._testing import write_cmu_csv


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def _read_csv_module(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_reads_what_was_written(tmp_path):
    path = write_cmu_csv(tmp_path / "cmu.csv", n_subjects=3, n_sessions=2, n_reps=5)
    header, rows = _read_csv_module(path)
    cmu = load_cmu(path)
    assert cmu.data.shape == (3 * 2 * 5, 31) and cmu.data.dtype == np.float64
    assert cmu.feature_names == header[3:]
    assert cmu.feature_names[0] == "H.period" and cmu.feature_names[-1] == "H.Return"
    np.testing.assert_array_equal(
        cmu.data, np.array([r[3:] for r in rows], dtype=float)
    )
    assert cmu.target.tolist() == [r[0] for r in rows]
    assert cmu.target[0] == "s002"
    np.testing.assert_array_equal(cmu.session, [int(r[1]) for r in rows])
    np.testing.assert_array_equal(cmu.rep, [int(r[2]) for r in rows])
    assert "Killourhy" in cmu.DESCR


def test_full_shape(tmp_path):
    path = write_cmu_csv(tmp_path / "full.csv", n_subjects=51, n_sessions=8, n_reps=50)
    cmu = load_cmu(path)
    assert cmu.data.shape == (20400, 31)
    assert len(np.unique(cmu.target)) == 51
    counts = pd.Series(cmu.target).value_counts()
    assert (counts == 400).all()
    assert set(cmu.session.tolist()) == set(range(1, 9))
    assert set(cmu.rep.tolist()) == set(range(1, 51))


def test_as_frame_and_return_X_y(tmp_path):
    path = write_cmu_csv(tmp_path / "cmu.csv")
    plain = load_cmu(path)
    framed = load_cmu(path, as_frame=True)
    assert isinstance(framed.data, pd.DataFrame) and isinstance(
        framed.target, pd.Series
    )
    assert list(framed.data.columns) == plain.feature_names
    np.testing.assert_array_equal(framed.data.to_numpy(), plain.data)
    assert list(framed.frame.columns[:3]) == ["subject", "session", "rep"]
    np.testing.assert_array_equal(framed.frame["session"], plain.session)
    assert framed.target.name == "subject"
    # fixed-text vectors go through KeystrokeFeatures unchanged, names kept
    Xt = KeystrokeFeatures().fit_transform(framed.data)
    # but the whole table (ids included) is never taken for timings
    with pytest.raises(ValueError, match="without the column"):
        KeystrokeFeatures().fit_transform(framed.frame)
    np.testing.assert_allclose(Xt, plain.data, rtol=1e-6)
    assert Xt.dtype == np.float32 and Xt.shape == (30, 31)
    X, y = load_cmu(path, return_X_y=True)
    np.testing.assert_array_equal(X, plain.data)
    assert list(y) == list(plain.target)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        load_cmu(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="path"):
        load_cmu(tmp_path)
    path = write_cmu_csv(tmp_path / "cmu.csv")
    df = pd.read_csv(path)
    df.drop(columns=["UD.a.n"]).to_csv(tmp_path / "missing_col.csv", index=False)
    with pytest.raises(ValueError, match="UD.a.n"):
        load_cmu(tmp_path / "missing_col.csv")
    df["H.t"] = df["H.t"].astype(object)
    df.loc[3, "H.t"] = "oops"
    df.to_csv(tmp_path / "bad_value.csv", index=False)
    with pytest.raises(ValueError, match="1 rows.*lines \\[5\\]"):
        load_cmu(tmp_path / "bad_value.csv")


def test_hostile_files_are_clear_errors(tmp_path):
    """Truncated .gz, UTF-16, header only, empty: one-line ValueErrors."""
    path = write_cmu_csv(tmp_path / "cmu.csv")
    raw = path.read_bytes()
    gz = gzip.compress(raw)
    (tmp_path / "cut.csv.gz").write_bytes(gz[: len(gz) // 2])
    (tmp_path / "utf16.csv").write_bytes(raw.decode().encode("utf-16"))
    (tmp_path / "header.csv").write_bytes(raw.splitlines()[0] + b"\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    for name, match in [
        ("cut.csv.gz", "not a readable CSV"),
        ("utf16.csv", "not a readable CSV.*not UTF-8"),
        ("header.csv", "header line only"),
        ("empty.csv", "not a readable CSV"),
    ]:
        with pytest.raises(ValueError, match=match) as info:
            load_cmu(tmp_path / name)
        assert name in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "ok.csv.gz").write_bytes(gz)
    np.testing.assert_array_equal(
        load_cmu(tmp_path / "ok.csv.gz").data, load_cmu(path).data
    )


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_fetch_uses_present_file_without_network(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "cmu").mkdir(parents=True)
    path = write_cmu_csv(home / "cmu" / "DSL-StrongPasswordData.csv")
    monkeypatch.setattr(_cmu, "CMU_MD5", _md5(path))

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded although the file is present")

    monkeypatch.setattr(_cmu, "_download", no_download)
    cmu = fetch_cmu(home)
    np.testing.assert_array_equal(cmu.data, load_cmu(path).data)
    monkeypatch.setenv("SKEER_DATA", str(home))
    assert fetch_cmu().data.shape == cmu.data.shape


def test_fetch_rejects_corrupt_present_file(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "cmu").mkdir(parents=True)
    path = write_cmu_csv(home / "cmu" / "DSL-StrongPasswordData.csv")
    monkeypatch.setattr(_cmu, "CMU_MD5", "0" * 32)
    with pytest.raises(OSError, match="MD5"):
        fetch_cmu(home)
    assert path.exists()  # kept for the user to inspect or delete


def test_fetch_missing_without_download(tmp_path):
    with pytest.raises(OSError, match="download_if_missing"):
        fetch_cmu(tmp_path, download_if_missing=False)


def test_fetch_downloads_and_checks(tmp_path, monkeypatch):
    source = write_cmu_csv(tmp_path / "server.csv")
    calls = []

    def fake_download(url, dest, timeout=60):
        calls.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, dest)

    monkeypatch.setattr(_cmu, "_download", fake_download)
    monkeypatch.setattr(_cmu, "CMU_MD5", _md5(source))
    cmu = fetch_cmu(tmp_path / "home")
    assert calls == ["https://www.cs.cmu.edu/~keystroke/DSL-StrongPasswordData.csv"]
    assert (tmp_path / "home" / "cmu" / "DSL-StrongPasswordData.csv").is_file()
    np.testing.assert_array_equal(cmu.data, load_cmu(source).data)
    fetch_cmu(tmp_path / "home")  # second call: from disk
    assert len(calls) == 1

    monkeypatch.setattr(_cmu, "CMU_MD5", "0" * 32)
    with pytest.raises(OSError, match="checksum"):
        fetch_cmu(tmp_path / "other")
    assert not (tmp_path / "other" / "cmu" / "DSL-StrongPasswordData.csv").exists()


def test_fetch_reports_download_failure(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(OSError, match="could not download"):
        fetch_cmu(tmp_path)
    assert not list((tmp_path / "cmu").glob("*"))  # no partial file left


def test_a_fifo_is_not_a_regular_file(tmp_path, refused_at_once):
    """load_cmu called a FIFO "the folder"."""
    fifo = tmp_path / "cmu.csv"
    os.mkfifo(fifo)
    msg = refused_at_once(lambda: load_cmu(fifo), fifo)
    assert f"path {str(fifo)!r} is a FIFO, not a regular file" in msg
