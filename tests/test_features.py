"""Tests of skeer.features: KeystrokeFeatures and its helpers."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skeer.features import (
    FEATURE_NAMES,
    KeystrokeFeatures,
    key_codes,
    sequence_lengths,
    sessions_from_frame,
)
from skeer.features._keys import N_KEY_CODES, decode_key_codes, encode_key_codes
from skeer.features._keys import sequence_lengths as _sequence_lengths

SESSION = np.array(
    [
        [1000.0, 1090.0, 72.0],  # h
        [1150.0, 1260.0, 69.0],  # e  (overlaps the next key)
        [1230.0, 1300.0, 89.0],  # y
        [1500.0, 1580.0, 32.0],  # space
    ]
)


def _expected_rows(session, clip=None):
    """Independent per-key computation of the five channels (seconds)."""
    rows = []
    for i, (p, r, c) in enumerate(session):
        if i + 1 < len(session):
            pn, rn = session[i + 1, 0], session[i + 1, 1]
            lat = [pn - p, rn - r, pn - r]
        else:
            lat = [0.0, 0.0, 0.0]
        timing = [(r - p) / 1000] + [v / 1000 for v in lat]
        if clip is not None:
            timing = [min(max(v, -clip), clip) for v in timing]
        code = min(max(round(c), 0), 255)
        rows.append([*timing, (code + 1) / 256])  # written out: an oracle
    return np.array(rows)


def test_channels_match_definition():
    Xt = KeystrokeFeatures(max_len=6).transform([SESSION])
    assert Xt.shape == (1, 6, 5) and Xt.dtype == np.float32
    np.testing.assert_allclose(Xt[0, :4], _expected_rows(SESSION), rtol=1e-6)
    assert np.all(Xt[0, 4:] == 0)
    # keys overlapping give a negative inter-key latency
    assert Xt[0, 1, 3] < 0


def test_truncation_keeps_first_keys_and_equals_cut_session():
    rng = np.random.default_rng(0)
    press = np.cumsum(rng.integers(50, 300, size=12)).astype(float)
    session = np.column_stack([press, press + 80, rng.integers(65, 91, size=12)])
    Xt = KeystrokeFeatures(max_len=5).transform([session])
    np.testing.assert_array_equal(
        Xt, KeystrokeFeatures(max_len=5).transform([session[:5]])
    )
    np.testing.assert_allclose(Xt[0], _expected_rows(session[:5]), rtol=1e-6)
    assert np.all(Xt[0, -1, 1:4] == 0)  # last kept key's latencies are 0


def test_lengths_and_key_codes_round_trip():
    s2 = np.array([[0, 50, -4], [100, 150, 300]], dtype=float)  # codes clipped
    Xt = KeystrokeFeatures(max_len=5).transform([SESSION, s2])
    np.testing.assert_array_equal(sequence_lengths(Xt), [4, 2])
    np.testing.assert_array_equal(
        key_codes(Xt), [[72, 69, 89, 32, -1], [0, 255, -1, -1, -1]]
    )
    assert np.all(Xt[..., -1][key_codes(Xt) >= 0] > 0)
    with pytest.raises(ValueError, match="3-D"):
        sequence_lengths(Xt[0])
    with pytest.raises(ValueError, match="3-D"):
        key_codes(Xt[0])


def test_key_encoding_and_lengths_are_the_private_definitions():
    codes = np.arange(-2, 260)
    key = encode_key_codes(codes)
    np.testing.assert_array_equal(key, (np.clip(codes, 0, 255) + 1) / 256)
    np.testing.assert_array_equal(decode_key_codes(key), np.clip(codes, 0, 255))
    assert decode_key_codes(key).dtype == np.int64 and N_KEY_CODES == 256
    Xt = KeystrokeFeatures(max_len=6).transform([SESSION, SESSION[:2]])
    np.testing.assert_array_equal(key_codes(Xt), decode_key_codes(Xt[..., -1]))
    np.testing.assert_array_equal(sequence_lengths(Xt), _sequence_lengths(Xt))
    # the length is one past the last real row, whatever lies before it
    Xt[0, 1] = 0
    np.testing.assert_array_equal(sequence_lengths(Xt), [4, 2])
    np.testing.assert_array_equal(_sequence_lengths(np.zeros((2, 0, 5))), [0, 0])
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        _sequence_lengths(np.zeros(3))


def test_clipping_default_and_none():
    session = np.array([[0, 100, 65], [12_100, 12_300, 66], [12_200, 30_000, 67]])
    default = KeystrokeFeatures(max_len=3).transform([session])[0]
    assert default[0, 1] == pytest.approx(5.0)  # 12 s pause clipped
    assert default[2, 0] == pytest.approx(5.0)  # 17.8 s hold clipped
    np.testing.assert_allclose(default, _expected_rows(session, clip=5.0), rtol=1e-6)
    raw = KeystrokeFeatures(max_len=3, clip=None).transform([session])[0]
    np.testing.assert_allclose(raw, _expected_rows(session), rtol=1e-6)
    small = KeystrokeFeatures(max_len=3, clip=0.05).transform([session])[0]
    assert np.abs(small[:, :4]).max() == pytest.approx(0.05)
    assert small[1, 3] == pytest.approx(-0.05)  # negative latencies clip too


@pytest.mark.parametrize(
    ("bad", "fault"),
    [
        (np.array([[0, 50, 65], [100, np.nan, 66]]), "NaN or infinite"),
        (np.array([[0, 50, 65], [np.inf, 150, 66]]), "NaN or infinite"),
        (np.array([[0, 50, 65]]), "at least 2 keys"),
        (np.array([[0, 50, 65], [100, 90, 66]]), "release time before press"),
        (np.array([[0, 50, 65], [100, 150, 66], [90, 160, 67]]), "backwards"),
        (np.zeros((4, 2)), r"shape \(n_keys, 3\)"),
    ],
)
def test_invalid_session_names_index_and_fault(bad, fault):
    X = [SESSION, SESSION, bad, SESSION]
    with pytest.raises(ValueError, match=fault) as info:
        KeystrokeFeatures().transform(X)
    assert "X[2]" in str(info.value)
    with pytest.raises(ValueError, match=r"X\[2\]"):
        KeystrokeFeatures().fit(X)


def test_equal_press_times_and_zero_hold_are_valid():
    session = np.array([[0, 0, 65], [0, 40, 66]], dtype=float)
    Xt = KeystrokeFeatures(max_len=2).transform([session])
    assert np.all(np.isfinite(Xt))


def test_parameter_validation():
    for params in ({"max_len": 0}, {"max_len": 2.5}, {"max_len": True}):
        with pytest.raises(ValueError, match="max_len"):
            KeystrokeFeatures(**params).transform([SESSION])
    for clip in (0, -1.0, np.inf, "5"):
        with pytest.raises(ValueError, match="clip"):
            KeystrokeFeatures(clip=clip).fit([SESSION])
    with pytest.raises(ValueError, match="press_col"):
        KeystrokeFeatures(press_col=3).transform([SESSION])
    with pytest.raises(ValueError, match="no sessions"):
        KeystrokeFeatures().transform(np.zeros((0, 4, 3)))


def _frame(sessions, subjects, session_ids, names=("subject", "session")):
    rows = []
    for s, subj, sid in zip(sessions, subjects, session_ids):
        for p, r, c in s:
            rows.append((subj, sid, p, r, c))
    cols = [*names, "press", "release", "keycode"]
    return pd.DataFrame(rows, columns=cols)


def test_long_frame_matches_sessions_and_keeps_order():
    rng = np.random.default_rng(1)
    sessions = []
    for n in (5, 3, 7):
        press = np.cumsum(rng.integers(40, 400, size=n)).astype(float)
        sessions.append(
            np.column_stack(
                [press, press + rng.integers(30, 150, n), rng.integers(8, 91, n)]
            )
        )
    df = _frame(sessions, ["b", "a", "b"], [2, 1, 1])
    # interleave rows of different sessions: order within a session is kept
    df = df.iloc[[0, 5, 1, 8, 2, 3, 6, 4, 7, 9, 10, 11, 12, 13, 14]].reset_index(
        drop=True
    )
    got, subjects, ids = sessions_from_frame(df)
    assert subjects.tolist() == ["b", "a", "b"] and ids.tolist() == [2, 1, 1]
    for g, s in zip(got, sessions):
        np.testing.assert_array_equal(g, s)
    feats = KeystrokeFeatures(max_len=8)
    np.testing.assert_array_equal(feats.transform(df), feats.transform(sessions))


def test_frame_custom_columns_and_errors():
    df = _frame([SESSION, SESSION], [1, 2], [1, 1], names=("user", "sid"))
    df = df.rename(columns={"press": "P", "release": "R", "keycode": "K"})
    feats = KeystrokeFeatures(
        max_len=4,
        subject_col="user",
        session_col="sid",
        press_col="P",
        release_col="R",
        keycode_col="K",
    )
    Xt = feats.fit_transform(df)
    assert Xt.shape == (2, 4, 5)
    assert not hasattr(feats, "n_features_in_")
    # without a subject column both rows of session id 1 form one session
    got, subjects, ids = sessions_from_frame(
        df, subject=None, session="sid", press="P", release="R", keycode="K"
    )
    assert subjects is None and len(got) == 1 and len(got[0]) == 8
    with pytest.raises(ValueError, match="subject='subject'"):
        sessions_from_frame(df, press="P", release="R", keycode="K")
    with pytest.raises(ValueError, match="without the column"):
        KeystrokeFeatures(
            subject_col="user", session_col="sid", press_col="P"
        ).transform(df)
    bad = df.assign(user=[None] + [1] * 7)
    with pytest.raises(ValueError, match="missing"):
        feats.transform(bad)
    with pytest.raises(ValueError, match="DataFrame"):
        sessions_from_frame(SESSION)


@pytest.mark.parametrize("method", ["fit", "transform", "fit_transform"])
def test_frame_with_other_column_names_is_refused(method):
    """Timing columns named otherwise: never taken, ids and all, as fixed text."""
    df = _frame([SESSION, SESSION], [1, 2], [1, 1])
    df = df.rename(
        columns={"press": "Press", "release": "Release", "keycode": "KeyCode"}
    )
    with pytest.raises(ValueError, match="without the column") as info:
        getattr(KeystrokeFeatures(), method)(df)
    message = str(info.value)
    for named in (
        "press_col='press'",
        "release_col='release'",
        "keycode_col='keycode'",
    ):
        assert named in message
    assert "subject_col='subject'" not in message  # present: not listed missing
    for have in ("'subject'", "'session'", "'Press'", "'Release'", "'KeyCode'"):
        assert have in message  # the names it has
    # named right, it is read as sessions
    feats = KeystrokeFeatures(
        max_len=4, press_col="Press", release_col="Release", keycode_col="KeyCode"
    )
    np.testing.assert_array_equal(
        feats.transform(df), KeystrokeFeatures(max_len=4).transform([SESSION] * 2)
    )


def test_frame_needs_its_id_columns():
    df = _frame([SESSION, SESSION], [1, 2], [1, 1]).drop(columns="session")
    with pytest.raises(ValueError, match="session_col='session'"):
        KeystrokeFeatures().transform(df)
    df = _frame([SESSION, SESSION], [1, 2], [1, 2]).drop(columns="subject")
    with pytest.raises(ValueError, match="subject_col='subject'"):
        KeystrokeFeatures().fit(df)
    assert KeystrokeFeatures(subject_col=None, max_len=4).transform(df).shape == (
        2,
        4,
        5,
    )


def test_fixed_text_frame_passes_with_its_names_but_ids_never_do():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 31))
    df = pd.DataFrame(X, columns=[f"H.k{i}" for i in range(31)])
    feats = KeystrokeFeatures().fit(df)
    np.testing.assert_array_equal(feats.transform(df), X.astype(np.float32))
    assert feats.get_feature_names_out().tolist() == list(df.columns)
    np.testing.assert_array_equal(
        KeystrokeFeatures().fit_transform(df.to_numpy()), X.astype(np.float32)
    )
    # a frame with an id column, or a timing column named otherwise, is refused
    for extra in ("subject", "User", "session_id", "Press"):
        with pytest.raises(ValueError, match="without the column"):
            KeystrokeFeatures().fit(df.assign(**{extra: 1}))
    with pytest.raises(ValueError, match="without the column"):
        KeystrokeFeatures().fit(df.assign(label=["a"] * 6))  # not all numeric


def test_fixed_text_passthrough():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 31))
    feats = KeystrokeFeatures().fit(X)
    assert feats.n_features_in_ == 31
    Xt = feats.transform(X)
    assert Xt.dtype == np.float32 and Xt.shape == (6, 31)
    np.testing.assert_array_equal(Xt, X.astype(np.float32))
    assert feats.get_feature_names_out().tolist() == [f"x{i}" for i in range(31)]
    # list of rows of numbers is fixed text too, and works unfitted
    np.testing.assert_array_equal(KeystrokeFeatures().transform(X.tolist()), Xt)
    X[0, 0] = np.nan
    with pytest.raises(ValueError):
        KeystrokeFeatures().transform(X)
    with pytest.raises(ValueError, match="features"):
        feats.transform(np.ones((2, 30)))
    # refitting on sessions forgets the fixed-text input
    feats.fit([SESSION])
    assert not hasattr(feats, "n_features_in_")
    assert feats.get_feature_names_out().tolist() == list(FEATURE_NAMES)


def test_three_d_array_and_object_array_are_sessions():
    X3 = np.stack([SESSION, SESSION + 10])
    Xt = KeystrokeFeatures(max_len=4).transform(X3)
    assert Xt.shape == (2, 4, 5)
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = SESSION, SESSION[:2]
    np.testing.assert_array_equal(
        KeystrokeFeatures(max_len=4).transform(obj),
        KeystrokeFeatures(max_len=4).transform([SESSION, SESSION[:2]]),
    )


def test_stateless_fit_transform_equals_transform():
    feats = KeystrokeFeatures(max_len=6)
    assert feats.fit([SESSION]) is feats
    np.testing.assert_array_equal(
        feats.fit_transform([SESSION]),
        KeystrokeFeatures(max_len=6).transform([SESSION]),
    )
    assert KeystrokeFeatures().__sklearn_tags__().requires_fit is False


def test_import_does_not_import_torch():
    code = "import sys, skeer.features; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@st.composite
def sessions(draw):
    n = draw(st.integers(2, 60))
    gaps = draw(st.lists(st.integers(0, 8000), min_size=n, max_size=n))
    holds = draw(st.lists(st.integers(0, 7000), min_size=n, max_size=n))
    codes = draw(st.lists(st.integers(-5, 300), min_size=n, max_size=n))
    start = draw(st.integers(0, 2**41))
    press = start + np.cumsum(gaps).astype(np.float64)
    return np.column_stack([press, press + np.asarray(holds), codes]).astype(float)


@settings(max_examples=60, deadline=None)
@given(
    X=st.lists(sessions(), min_size=1, max_size=6),
    max_len=st.integers(1, 70),
    clip=st.one_of(st.none(), st.floats(0.01, 10.0)),
)
def test_properties_random_sessions(X, max_len, clip):
    feats = KeystrokeFeatures(max_len=max_len, clip=clip)
    Xt = feats.transform(X)
    assert Xt.shape == (len(X), max_len, 5) and Xt.dtype == np.float32
    assert np.all(np.isfinite(Xt))
    np.testing.assert_array_equal(Xt, feats.transform(X))  # deterministic
    lengths = np.array([min(len(s), max_len) for s in X])
    np.testing.assert_array_equal(sequence_lengths(Xt), lengths)
    for i, s in enumerate(X):
        n = lengths[i]
        assert np.all(Xt[i, n:] == 0)  # padding only at the end, all zero
        assert np.all(Xt[i, :n, -1] > 0)
        expected = _expected_rows(s[:n], clip=clip)
        np.testing.assert_allclose(Xt[i, :n], expected, rtol=1e-6, atol=1e-6)
    if clip is not None:
        assert np.abs(Xt[..., :4]).max() <= np.float32(clip)


def test_pandas_output_is_refused_clearly_for_sessions_and_works_for_vectors():
    pd = pytest.importorskip("pandas")
    feats = KeystrokeFeatures(max_len=6).set_output(transform="pandas")
    with pytest.raises(ValueError, match="cannot hold the 3-D"):
        feats.transform([SESSION, SESSION[:2]])
    out = feats.fit(np.ones((3, 2))).transform(np.ones((3, 2)))
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x0", "x1"]
