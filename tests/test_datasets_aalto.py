"""Tests of skeer.datasets.load_aalto on files written in the raw Aalto format.

The fixture writer lives in ``skeer.datasets._testing`` (private): it writes the
files from arrays and returns those arrays, so every expected value here comes
from what was written, not from the loader.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skeer import KeystrokeFeatures
from skeer.datasets import _aalto, get_data_home, load_aalto
from skeer.datasets._testing import archive_folder, write_aalto_files


@pytest.fixture
def quirky(tmp_path):
    truth = write_aalto_files(tmp_path / "src", 3, 3, quirks=True)
    sources = {
        "dir": truth.folder,
        "zip": archive_folder(truth.folder, tmp_path / "aalto.zip"),
        "tar.gz": archive_folder(truth.folder, tmp_path / "aalto.tar.gz"),
    }
    return truth, sources


def _load_one_warning(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bunch = load_aalto(*args, **kwargs)
    user = [w for w in caught if issubclass(w.category, UserWarning)]
    assert len(user) == 1, [str(w.message) for w in user]
    return bunch, str(user[0].message)


def _as_dict(bunch):
    return {
        (int(p), int(s)): x
        for p, s, x in zip(bunch.target, bunch.session, bunch.data, strict=True)
    }


def _assert_same_bunch(a, b):
    assert len(a.data) == len(b.data)
    for x, y in zip(a.data, b.data):
        assert x.dtype == y.dtype == np.float64
        np.testing.assert_array_equal(x, y)
    for field in ("target", "session", "sentence", "user_input"):
        np.testing.assert_array_equal(a[field], b[field])
    assert a.dropped == b.dropped


@pytest.mark.parametrize("kind", ["dir", "zip", "tar.gz"])
def test_reads_what_was_written(quirky, kind):
    truth, sources = quirky
    bunch, message = _load_one_warning(sources[kind], cache=False)
    got = _as_dict(bunch)
    assert set(got) == set(truth.sessions)
    for key, expected in truth.sessions.items():
        np.testing.assert_array_equal(got[key], expected)  # typing order kept
    assert {k: bunch.dropped[k] for k in truth.dropped} == truth.dropped
    for label, n in [
        ("malformed", truth.dropped["malformed"]),
        ("with release before press", truth.dropped["release before press"]),
        ("with fewer than 2 keys", truth.dropped["fewer than 2 keys"]),
        (
            "with press times going backwards",
            truth.dropped["press times going backwards"],
        ),
        ("no Aalto header line", truth.dropped["files"]),
    ]:
        assert f"{n:,} {label}" in message
    n_rows = truth.dropped["malformed"] + truth.dropped["release before press"]
    assert f"dropped {n_rows:,} of {bunch.dropped['rows']:,} rows" in message
    # rows read = the data lines of the files with a header
    n_lines = sum(
        len(f.read_bytes().splitlines()) - 1
        for f in truth.folder.glob("[0-9]_keystrokes.txt")
    )
    assert bunch.dropped["rows"] == n_lines


def test_sessions_are_valid_and_sorted(quirky):
    _, sources = quirky
    bunch, _ = _load_one_warning(sources["dir"], cache=False)
    order = np.lexsort((bunch.session, bunch.target))
    np.testing.assert_array_equal(order, np.arange(len(order)))
    for x in bunch.data:
        assert x.shape[0] >= 2 and x.shape[1] == 3
        assert np.isfinite(x).all()
        assert (x[:, 1] >= x[:, 0]).all()
        assert (np.diff(x[:, 0]) >= 0).all()
    assert bunch.feature_names == ["press", "release", "keycode"]
    assert "Dhakal" in bunch.DESCR and "non-commercial" in bunch.DESCR


def test_text_fields(quirky):
    truth, sources = quirky
    bunch, _ = _load_one_warning(sources["tar.gz"], cache=False)
    sentence = dict(
        zip(zip(bunch.target.tolist(), bunch.session.tolist()), bunch.sentence)
    )
    assert sentence == truth.sentence
    # latin-1 byte and a literal quote survive in what the participant typed
    assert bunch.user_input[0] == 'don\xb4t say "hi"'


def test_three_sources_identical(quirky):
    _, sources = quirky
    bunches = [_load_one_warning(s, cache=False)[0] for s in sources.values()]
    _assert_same_bunch(bunches[0], bunches[1])
    _assert_same_bunch(bunches[0], bunches[2])


def test_utf8_text_is_decoded(tmp_path):
    truth = write_aalto_files(tmp_path, 1, 1)
    file = tmp_path / "1_keystrokes.txt"
    raw = file.read_bytes().replace(b"Sentence 0", "Café 0".encode())
    file.write_bytes(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped: no warning
        bunch = load_aalto(tmp_path, cache=False)
    assert bunch.sentence[0].startswith("Café 0")
    np.testing.assert_array_equal(bunch.data[0], truth.sessions[(1, 100)])


def test_cache_hit_identical(quirky, tmp_path, monkeypatch):
    _, sources = quirky
    home = tmp_path / "home"
    for source in sources.values():
        first, msg1 = _load_one_warning(source, data_home=home)
        assert len(list((home / "aalto").glob("*.npz"))) >= 1

        def fail(*args, **kwargs):
            raise AssertionError("parsed again instead of reading the cache")

        with monkeypatch.context() as m:
            m.setattr(_aalto, "_parse_source", fail)
            second, msg2 = _load_one_warning(source, data_home=home)
        _assert_same_bunch(first, second)
        assert msg1 == msg2  # drops are reported on a cache hit too
    assert len(list((home / "aalto").glob("*.npz"))) == 3
    assert not list((home / "aalto").glob("*.tmp"))


def test_cache_invalidated_when_source_changes(tmp_path):
    src = tmp_path / "src"
    write_aalto_files(src, 2, 2)
    home = tmp_path / "home"
    assert len(set(load_aalto(src, data_home=home).target.tolist())) == 2
    write_aalto_files(tmp_path / "more", 3, 2)
    (src / "3_keystrokes.txt").write_bytes(
        (tmp_path / "more" / "3_keystrokes.txt").read_bytes()
    )
    assert len(set(load_aalto(src, data_home=home).target.tolist())) == 3


def test_cache_false_writes_nothing_and_env_data_home(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_aalto_files(src, 1, 2)
    monkeypatch.setenv("SKEER_DATA", str(tmp_path / "env_home"))
    assert get_data_home() == tmp_path / "env_home"
    load_aalto(src, cache=False)
    assert not (tmp_path / "env_home").exists()
    load_aalto(src)
    assert len(list((tmp_path / "env_home" / "aalto").glob("*.npz"))) == 1
    monkeypatch.delenv("SKEER_DATA")
    assert get_data_home() == Path("~/skeer_data").expanduser()
    assert get_data_home(tmp_path) == tmp_path


def test_unreadable_cache_is_rebuilt(tmp_path):
    src = tmp_path / "src"
    write_aalto_files(src, 2, 2)
    first = load_aalto(src, data_home=tmp_path / "home")
    (cache_file,) = (tmp_path / "home" / "aalto").glob("*.npz")
    cache_file.write_bytes(b"not an npz")
    second = load_aalto(src, data_home=tmp_path / "home")
    _assert_same_bunch(first, second)


def test_as_frame_and_return_X_y(quirky):
    _, sources = quirky
    bunch, _ = _load_one_warning(sources["dir"], cache=False)
    framed, _ = _load_one_warning(sources["dir"], cache=False, as_frame=True)
    frame = framed.frame
    assert framed.data is frame
    assert list(frame.columns) == [
        "subject",
        "session",
        "press",
        "release",
        "keycode",
    ]
    assert len(frame) == sum(len(x) for x in bunch.data)
    np.testing.assert_array_equal(
        frame[["press", "release", "keycode"]].to_numpy(), np.concatenate(bunch.data)
    )
    lengths = [len(x) for x in bunch.data]
    np.testing.assert_array_equal(frame["subject"], np.repeat(bunch.target, lengths))
    np.testing.assert_array_equal(frame["session"], np.repeat(bunch.session, lengths))
    assert isinstance(framed.target, pd.Series) and framed.target.name == "subject"
    np.testing.assert_array_equal(framed.target.to_numpy(), bunch.target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        X, y = load_aalto(sources["dir"], cache=False, return_X_y=True)
    assert len(X) == len(y) == len(bunch.data)


def test_frame_goes_through_keystroke_features(tmp_path):
    """``subject`` is the identity column: the defaults of KeystrokeFeatures fit."""
    write_aalto_files(tmp_path / "raw", n_participants=3, n_sessions=2)
    bunch = load_aalto(tmp_path / "raw", cache=False)
    framed = load_aalto(tmp_path / "raw", cache=False, as_frame=True)
    Xt = KeystrokeFeatures().fit_transform(framed.data)
    np.testing.assert_array_equal(Xt, KeystrokeFeatures().transform(bunch.data))
    assert Xt.shape == (6, 50, 5)


@pytest.mark.parametrize("kind", ["dir", "zip", "tar.gz"])
def test_parallel_matches_serial(quirky, kind, monkeypatch):
    _, sources = quirky
    serial, _ = _load_one_warning(sources[kind], cache=False, n_jobs=1)
    # force one task per file so that several workers get work
    monkeypatch.setattr(_aalto, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(_aalto, "_MIN_CHUNK_BYTES", 1)
    parallel, _ = _load_one_warning(sources[kind], cache=False, n_jobs=2)
    _assert_same_bunch(serial, parallel)


def test_single_file(tmp_path):
    truth = write_aalto_files(tmp_path, 2, 2)
    bunch = load_aalto(tmp_path / "2_keystrokes.txt", cache=False)
    assert set(_as_dict(bunch)) == {k for k in truth.sessions if k[0] == 2}


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        load_aalto(tmp_path / "missing.tar.gz")
    other = tmp_path / "notes.csv"
    other.write_text("a,b\n")
    with pytest.raises(ValueError, match="path"):
        load_aalto(other, cache=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing\n")
    with pytest.raises(ValueError, match="path.*holds no"):
        load_aalto(empty, cache=False)
    with pytest.raises(ValueError, match="path"):
        load_aalto(None)


def test_real_dev_archive(aalto_dev_path, tmp_path):
    """The shared development subset: 1,565 participants x 15 sentences."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bunch = load_aalto(aalto_dev_path, data_home=tmp_path)
        again = load_aalto(aalto_dev_path, data_home=tmp_path)
    assert len(set(bunch.target.tolist())) == 1565  # the data README's figures
    assert len(bunch.data) == 23475
    assert (np.unique(bunch.target, return_counts=True)[1] == 15).all()
    d = bunch.dropped
    kept = sum(len(x) for x in bunch.data)
    assert kept + d["malformed"] + d["release before press"] == d["rows"]
    assert d["malformed"] + d["release before press"] < 1e-4 * d["rows"]
    # one summary per load (also on the cache hit), consistent with `dropped`
    assert len(caught) == 2
    for w in caught:
        assert f"{d['release before press']:,} with release before press" in str(
            w.message
        )
    for x in bunch.data:
        assert len(x) >= 2 and (x[:, 1] >= x[:, 0]).all()
        assert (np.diff(x[:, 0]) >= 0).all()
    assert np.median([len(x) for x in bunch.data]) == 47  # the README's median
    _assert_same_bunch(bunch, again)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # counted above
        framed = load_aalto(aalto_dev_path, data_home=tmp_path, as_frame=True)
    assert framed.frame.columns[0] == "subject"
    Xt = KeystrokeFeatures().fit_transform(framed.data)
    assert Xt.shape == (23475, 50, 5)
    np.testing.assert_array_equal(
        Xt[:100], KeystrokeFeatures().transform(bunch.data[:100])
    )
