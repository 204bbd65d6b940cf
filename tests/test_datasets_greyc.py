"""Tests of skeer.datasets.load_greyc_nislab (GREYC-NISLAB fixed-text benchmark).

Small files are written by the tests: one with hand-computed vectors, and
bigger ones from ``skeer.datasets._testing.write_greyc_csv``. The real file is
read from ``../shared/data`` when present (skipped otherwise).
"""

import gzip
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skeer import KeystrokeFeatures
from skeer.datasets import load_greyc_nislab
from skeer.datasets._testing import GREYC_PASSPHRASES, greyc_vector, write_greyc_csv

REAL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "greyc-nislab-fixed-text.csv.gz"
)
HEADER = "Sheet,User_ID,Gender,Age,Handedness,Password,Class,Keystroke Template Vector"

# Passphrase "a b" (keys a, space, b): two key pairs, so a vector is 4 blocks of
# 2 latencies (PP, RR, RP, PR) in 100 ns units (1 ms = 10,000).
#
# A: press 0, 150, 230 ms; release 100, 260, 300 ms
#    holds 100, 110, 70; PP 150, 80; RR 160, 40; RP 50, -30; PR 260, 150
VEC_A = "1500000 800000 1600000 400000 500000 -300000 2600000 1500000"
ROW_A = [0.100, 0.150, 0.050, 0.110, 0.080, -0.030, 0.070]
# B: press 0, 200, 300; release 120, 290, 390
#    holds 120, 90, 90; PP 200, 100; RR 170, 100; RP 80, 10; PR 290, 190
VEC_B = " 2000000 1000000 1700000 1000000 800000 100000 2900000 1900000"
ROW_B = [0.120, 0.200, 0.080, 0.090, 0.100, 0.010, 0.090]
# C: press 0, 140, 260; release 90, 250, 330
#    holds 90, 110, 70; PP 140, 120; RR 160, 80; RP 50, 10; PR 250, 190
VEC_C = "1400000 1200000 1600000 800000 500000 100000 2500000 1900000"
ROW_C = [0.090, 0.140, 0.050, 0.110, 0.120, 0.010, 0.070]
# A with RR of the first pair off by 1 ms: PP + RR != RP + PR
VEC_INCONSISTENT = "1500000 800000 1610000 400000 500000 -300000 2600000 1500000"
# press 0, 150, 230; release -20, 260, 300: consistent, but the first hold is -20
VEC_NEGATIVE = "1500000 800000 2800000 400000 1700000 -300000 2600000 1500000"
FEATURES = [
    "H.a1",
    "DD.a1.space2",
    "UD.a1.space2",
    "H.space2",
    "DD.space2.b3",
    "UD.space2.b3",
    "H.b3",
]
LINES = [
    f"P1,2,F,41,L,a b,1,{VEC_A}",  # subject 2, rep 1
    f"P1,1,M,30,R,a b,1,{VEC_B}",  # subject 1, rep 1
    "P1,2,F,41,L,a b,2,1500000 800000 1600000 400000 500000 -300000 2600000",
    f"P1,2,F,41,L,a b,2,{VEC_C}",  # subject 2, rep 3 (rep 2 dropped)
    "P1,1,M,30,R,a b,2,1500000 800000 1600000 400000 500000 -300000 2600000 1.5",
    f"P1,1,M,30,R,a b,2,{VEC_INCONSISTENT}",
    f"P1,1,M,30,R,a b,2,{VEC_NEGATIVE}",
    f"P1,,M,30,R,a b,1,{VEC_A}",  # no User_ID
    f"P1,1,M,30,R,a b,x,{VEC_A}",  # non-integer Class
    # another passphrase, ignored when loading P1; press 0, 50; release 80, 120
    "P2,1,M,30,R,xy,1,500000 400000 -300000 1200000",
]


def _write(path, lines, header=HEADER):
    text = "\n".join([header, *lines]) + "\n"
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def _load_quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning expected
        return load_greyc_nislab(*args, **kwargs)


@pytest.fixture
def tiny(tmp_path):
    return _write(tmp_path / "tiny.csv.gz", LINES)


def test_hand_computed_values(tiny):
    with pytest.warns(UserWarning) as record:
        greyc = load_greyc_nislab(tiny, passphrase="P1")
    assert len(record) == 1
    message = str(record[0].message)
    assert message == (
        "load_greyc_nislab dropped 6 of 9 rows (2 with a missing or non-integer "
        "User_ID or Class, 1 with a vector of the wrong length, 1 with a "
        "non-integer value in the vector, 1 with inconsistent latencies (PP + RR "
        "!= RP + PR, or a hold that differs between two key pairs), 1 with a "
        "negative hold time)."
    )
    assert greyc.dropped["rows"] == 9 and sum(greyc.dropped.values()) == 9 + 6
    # subjects ascending, file order within a subject; seconds
    assert greyc.data.dtype == np.float64
    np.testing.assert_allclose(greyc.data, [ROW_B, ROW_A, ROW_C], atol=1e-12)
    assert greyc.feature_names == FEATURES
    np.testing.assert_array_equal(greyc.target, [1, 2, 2])
    assert greyc.target.dtype == np.int64
    np.testing.assert_array_equal(greyc.rep, [1, 1, 3])  # counted before drops
    np.testing.assert_array_equal(greyc.condition, [1, 1, 2])
    assert greyc.passphrase == "a b" and greyc.sheet == "P1"
    expected = pd.DataFrame(
        {
            "subject": [1, 2, 2],
            "rep": [1, 1, 3],
            "condition": [1, 1, 2],
            "gender": ["M", "F", "F"],
            "age": pd.array([30, 41, 41], dtype="Int64"),
            "handedness": ["R", "L", "L"],
        }
    )
    pd.testing.assert_frame_equal(greyc.frame, expected, check_dtype=False)
    assert greyc.frame["age"].dtype == "Int64"
    assert "Syed Idrus" in greyc.DESCR and "2013" in greyc.DESCR


def test_select_by_text_or_sheet(tiny):
    with pytest.warns(UserWarning):
        by_sheet = load_greyc_nislab(tiny, passphrase="p1")
    with pytest.warns(UserWarning):
        by_text = load_greyc_nislab(tiny, passphrase="  A   B ")
    np.testing.assert_array_equal(by_sheet.data, by_text.data)
    other = _load_quiet(tiny, passphrase="xy")
    assert other.sheet == "P2" and other.passphrase == "xy"
    assert other.feature_names == ["H.x1", "DD.x1.y2", "UD.x1.y2", "H.y2"]
    np.testing.assert_allclose(other.data, [[0.08, 0.05, -0.03, 0.07]], atol=1e-12)


def test_as_frame_return_X_y_and_features(tiny):
    with pytest.warns(UserWarning):
        plain = load_greyc_nislab(tiny)
    with pytest.warns(UserWarning):
        framed = load_greyc_nislab(tiny, as_frame=True)
    assert isinstance(framed.data, pd.DataFrame)
    assert list(framed.data.columns) == FEATURES
    np.testing.assert_array_equal(framed.data.to_numpy(), plain.data)
    assert isinstance(framed.target, pd.Series) and framed.target.name == "subject"
    assert list(framed.frame.columns) == list(plain.frame.columns) + FEATURES
    with pytest.warns(UserWarning):
        X, y = load_greyc_nislab(tiny, return_X_y=True)
    np.testing.assert_array_equal(X, plain.data)
    np.testing.assert_array_equal(y, plain.target)
    # fixed-text vectors go through KeystrokeFeatures unchanged, names kept;
    # the whole table (ids included) is refused
    feats = KeystrokeFeatures()
    Xt = feats.fit_transform(framed.data)
    assert feats.get_feature_names_out().tolist() == list(framed.data.columns)
    with pytest.raises(ValueError, match="without the column"):
        KeystrokeFeatures().fit_transform(framed.frame)
    np.testing.assert_allclose(Xt, plain.data, rtol=1e-6)


def test_bad_inputs(tmp_path, tiny):
    with pytest.raises(ValueError, match="path must be a str"):
        load_greyc_nislab(None)
    with pytest.raises(TypeError):
        load_greyc_nislab()  # no default place for the data
    with pytest.raises(FileNotFoundError, match="path"):
        load_greyc_nislab(tmp_path / "absent.csv.gz")
    with pytest.raises(ValueError, match="folder"):
        load_greyc_nislab(tmp_path)
    with pytest.raises(ValueError, match="load one at a time"):
        load_greyc_nislab(tiny, passphrase=None)
    with pytest.raises(ValueError, match="passphrase must be"):
        load_greyc_nislab(tiny, passphrase=1)
    with pytest.raises(ValueError, match=r"passphrase='P9' matches no row.*'P1'"):
        load_greyc_nislab(tiny, passphrase="P9")
    with pytest.raises(ValueError, match="matches no row"):
        load_greyc_nislab(tiny, passphrase="leonardo dicaprio")
    missing = _write(tmp_path / "m.csv", LINES, header=HEADER.replace(",Class", ""))
    with pytest.raises(ValueError, match=r"lacks the GREYC-NISLAB columns \['Class'\]"):
        load_greyc_nislab(missing)
    garbage = tmp_path / "garbage.csv.gz"
    garbage.write_bytes(b"\x1f\x8b\x08\x00 definitely not gzip")
    with pytest.raises(ValueError, match="not a readable CSV"):
        load_greyc_nislab(garbage)
    whole = _write(tmp_path / "whole.csv", LINES).read_bytes()
    packed = gzip.compress(whole)
    (tmp_path / "cut.csv.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "utf16.csv").write_bytes(whole.decode().encode("utf-16"))
    (tmp_path / "header.csv").write_bytes(whole.splitlines()[0] + b"\n")
    for name, match in [
        ("cut.csv.gz", "not a readable CSV"),
        ("utf16.csv", "not a readable CSV"),
        ("header.csv", "header line only"),
    ]:
        with pytest.raises(ValueError, match=match) as info:
            load_greyc_nislab(tmp_path / name)
        assert name in str(info.value)
    two = _write(tmp_path / "two.csv", [LINES[0], LINES[1].replace("a b", "a c")])
    with pytest.raises(ValueError, match="several"):
        load_greyc_nislab(two, passphrase="P1")
    all_bad = _write(tmp_path / "bad.csv", LINES[4:7])
    with pytest.warns(UserWarning, match="dropped 3 of 3 rows"):
        with pytest.raises(ValueError, match="every one of the 3 rows"):
            load_greyc_nislab(all_bad)


def test_written_benchmark_layout(tmp_path):
    path = write_greyc_csv(tmp_path / "greyc.csv.gz", n_subjects=4, n_reps=6)
    for sheet, text in GREYC_PASSPHRASES.items():
        greyc = _load_quiet(path, passphrase=sheet)
        m = len(text) - 1
        assert greyc.passphrase == text
        assert greyc.data.shape == (4 * 6, 3 * m + 1)
        assert len(set(greyc.feature_names)) == 3 * m + 1
        np.testing.assert_array_equal(greyc.target, np.repeat([1, 2, 3, 4], 6))
        np.testing.assert_array_equal(greyc.rep, np.tile(np.arange(1, 7), 4))
        np.testing.assert_array_equal(greyc.condition, np.tile([1] * 3 + [2] * 3, 4))
        H, DD, UD = greyc.data[:, 0::3], greyc.data[:, 1::3], greyc.data[:, 2::3]
        assert (H > 0).all()
        np.testing.assert_allclose(DD, H[:, :-1] + UD, atol=1e-12)  # PP = H + RP
    frame = pd.read_csv(path)
    assert frame.shape == (5 * 4 * 6, 8)


def test_vector_writer_matches_the_format():
    press, release = [0, 150, 230], [100, 260, 300]
    assert " ".join(map(str, greyc_vector(press, release))) == VEC_A


def test_real_file():
    """The shared GREYC-NISLAB copy: 110 subjects x 20 samples per passphrase."""
    if not REAL.exists():
        pytest.skip(f"development data not found at {REAL}")
    raw = pd.read_csv(REAL, dtype=str)
    raw_lengths = raw.groupby("Sheet")["Keystroke Template Vector"].agg(
        lambda v: sorted(set(v.str.split().str.len()))
    )
    assert raw_lengths.to_dict() == {
        "P1": [64],
        "P2": [68],
        "P3": [68],
        "P4": [84],
        "P5": [92],
    }
    for sheet, text in GREYC_PASSPHRASES.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            greyc = load_greyc_nislab(REAL, passphrase=sheet)
        n_features = {"P1": 49, "P2": 52, "P3": 52, "P4": 64, "P5": 70}[sheet]
        assert greyc.passphrase == text and greyc.sheet == sheet
        assert greyc.data.shape[1] == n_features == 3 * (len(text) - 1) + 1
        subjects, counts = np.unique(greyc.target, return_counts=True)
        np.testing.assert_array_equal(subjects, np.arange(1, 111))
        if sheet == "P1":
            # two rows break PP + RR = RP + PR (every hold would be negative)
            assert len(caught) == 1 and "2 of 2,200 rows" in str(caught[0].message)
            assert greyc.data.shape[0] == 2198
            short = {int(s) for s in subjects[counts == 19]}
            assert short == {55, 67} and (counts[counts != 19] == 20).all()
            missing = {
                s: sorted(set(range(1, 21)) - set(greyc.rep[greyc.target == s]))
                for s in short
            }
            assert missing == {55: [10], 67: [3]}
        else:
            assert not caught
            assert greyc.data.shape[0] == 2200 and (counts == 20).all()
        H, UD = greyc.data[:, 0::3], greyc.data[:, 2::3]
        assert (H >= 0).all() and (H == 0).mean() < 0.005
        assert 0.06 < np.median(H) < 0.09  # holds of about 72 ms
        assert 0.02 < (UD < 0).mean() < 0.1  # some overlapping keys
        # reps in file order: Class 1 first
        assert (greyc.condition[greyc.rep <= 10] == 1).all()
        assert (greyc.condition[greyc.rep > 10] == 2).all()
        # demographics are per subject
        per_subject = greyc.frame.groupby("subject")[["gender", "age", "handedness"]]
        assert (per_subject.nunique() == 1).all().all()
    people = greyc.frame.drop_duplicates("subject")
    assert people["gender"].value_counts().to_dict() == {"M": 78, "F": 32}
    assert people["handedness"].value_counts().to_dict() == {"R": 98, "L": 12}
    framed = load_greyc_nislab(REAL, passphrase="P5", as_frame=True)
    Xt = KeystrokeFeatures().fit_transform(framed.data.to_numpy())
    assert Xt.shape == (2200, 70)


def test_a_fifo_is_not_a_regular_file(tmp_path, refused_at_once):
    """load_greyc_nislab called a FIFO "the folder"."""
    fifo = tmp_path / "greyc.csv"
    os.mkfifo(fifo)
    msg = refused_at_once(lambda: load_greyc_nislab(fifo, passphrase="P1"), fifo)
    assert f"path {str(fifo)!r} is a FIFO, not a regular file" in msg
