"""Tests of skeer.datasets.load_aalto on files written in the raw Aalto format.

The fixture writer lives in ``skeer.datasets._testing`` (private): it writes the
files from arrays and returns those arrays, so every expected value here comes
from what was written, not from the loader.
"""

import errno
import functools
import io
import os
import shutil
import socket
import tarfile
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skeer import KeystrokeFeatures
from skeer.datasets import _aalto, _aalto_files, get_data_home, load_aalto
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


def test_cache_keyed_on_content_not_path_size_or_mtime(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_aalto_files(src, 2, 2)
    home = tmp_path / "home"
    first = load_aalto(src, data_home=home)
    # same size and modification time, different content: a miss
    file = src / "2_keystrokes.txt"
    stat = file.stat()
    raw = file.read_bytes()
    assert b"\t201\t" in raw
    file.write_bytes(raw.replace(b"\t201\t", b"\t209\t"))
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file.stat().st_size == stat.st_size
    second = load_aalto(src, data_home=home)
    assert 209 in second.session and 201 not in second.session
    assert len(list((home / "aalto").glob("*.npz"))) == 2
    # the same content elsewhere, touched: a hit, nothing parsed
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    os.utime(copy / "1_keystrokes.txt")
    monkeypatch.setattr(_aalto, "_parse_source", _no_parse)
    _assert_same_bunch(load_aalto(copy, data_home=home), second)
    # a non-participant file is never read, so it does not change the key
    (copy / "readme.txt").write_text("notes")
    _assert_same_bunch(load_aalto(copy, data_home=home), second)
    assert first.session.tolist() != second.session.tolist()


def _no_parse(*args, **kwargs):
    raise AssertionError("parsed again instead of reading the cache")


def test_read_only_data_home_loads_uncached(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_aalto_files(src, 2, 2)
    expected = load_aalto(src, cache=False)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    with monkeypatch.context() as m:
        m.setattr(_aalto.tempfile, "mkstemp", read_only)
        with pytest.warns(UserWarning, match="could not write its cache.*Read-only"):
            got = load_aalto(src, data_home=tmp_path / "home")
    _assert_same_bunch(got, expected)
    assert not list((tmp_path / "home").rglob("*.npz"))
    # a data_home that cannot even be created (a file is in the way)
    (tmp_path / "file").write_text("")
    with pytest.warns(UserWarning, match="could not write its cache"):
        got = load_aalto(src, data_home=tmp_path / "file")
    _assert_same_bunch(got, expected)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="permissions do not bind the root user",
)
def test_read_only_data_home_by_permissions(tmp_path):
    src = tmp_path / "src"
    write_aalto_files(src, 2, 2)
    home = tmp_path / "home"
    (home / "aalto").mkdir(parents=True)
    (home / "aalto").chmod(0o555)
    try:
        with pytest.warns(UserWarning, match="could not write its cache"):
            got = load_aalto(src, data_home=home)
    finally:
        (home / "aalto").chmod(0o755)
    assert len(got.data) == 4


def test_cache_parameter_is_validated(tmp_path):
    write_aalto_files(tmp_path, 1, 2)
    with pytest.raises(ValueError, match="cache must be True or False"):
        load_aalto(tmp_path, cache="no")


def _truncations(raw, members):
    """Cuts of a plain tar: at a member boundary, inside a member's data,
    inside a header, and right after the last member (no end marker)."""

    def data_end(m):  # member data is padded to 512-byte blocks
        return m.offset_data + (m.size + 511) // 512 * 512

    return {
        "at a member boundary": raw[: members[-1].offset],
        "inside a member": raw[: members[1].offset_data + 100],
        "inside a header": raw[: members[-1].offset + 200],
        "after the first member": raw[: data_end(members[0])],
        "after the last member": raw[: data_end(members[-1])],
    }


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_truncated_plain_tar_is_an_error(tmp_path, monkeypatch, n_jobs):
    truth = write_aalto_files(tmp_path / "src", 4, 2)
    tar = tmp_path / "a.tar"
    with tarfile.open(tar, "w") as tf:
        for p in sorted(truth.folder.iterdir()):
            tf.add(p, f"keystroke-samples/{p.name}")
    with tarfile.open(tar) as tf:
        members = tf.getmembers()
    raw = tar.read_bytes()
    monkeypatch.setattr(_aalto_files, "_CHUNK_BYTES", 1)  # one batch a file
    assert len(load_aalto(tar, cache=False, n_jobs=n_jobs).data) == 8
    for how, cut in _truncations(raw, members).items():
        bad = tmp_path / "cut.tar"
        bad.write_bytes(cut)
        with pytest.raises(ValueError, match="truncated") as info:
            load_aalto(bad, cache=False, n_jobs=n_jobs)
        message = str(info.value)
        assert "cut.tar" in message and "\n" not in message, how


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.8, 0.97])
def test_truncated_compressed_tar_is_an_error(quirky, tmp_path, keep):
    _, sources = quirky
    raw = sources["tar.gz"].read_bytes()
    bad = tmp_path / "cut.tar.gz"
    bad.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(ValueError, match=r"cut.tar.gz.*(truncated|corrupt)") as info:
        load_aalto(bad, cache=False)
    assert "\n" not in str(info.value)


def test_truncated_or_corrupt_zip_is_an_error(quirky, tmp_path):
    _, sources = quirky
    raw = sources["zip"].read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.zip' is a truncated or corrupt zip"):
        load_aalto(cut, cache=False)
    # central directory intact, a member's compressed bytes damaged
    bad = bytearray(raw)
    bad[200:216] = b"\x00" * 16
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="corrupt.zip': truncated or corrupt zip"):
        load_aalto(corrupt, cache=False)
    # a damaged gzip stream
    bad = bytearray(sources["tar.gz"].read_bytes())
    bad[len(bad) // 2 : len(bad) // 2 + 16] = b"\xff" * 16
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="damaged.tar.gz.*corrupt"):
        load_aalto(damaged, cache=False)


def test_utf16_header_only_and_empty_files_are_counted(tmp_path):
    truth = write_aalto_files(tmp_path / "src", 3, 2)
    src = truth.folder
    one = src / "1_keystrokes.txt"
    header = one.read_bytes().splitlines()[0]
    one.write_bytes(one.read_bytes().decode("latin-1").encode("utf-16"))
    (src / "2_keystrokes.txt").write_bytes(header + b"\r\n")  # header only
    (src / "3_keystrokes.txt").write_bytes(b"")
    (src / "4_keystrokes.txt").write_bytes(b"\xff\xfe\x00")  # broken UTF-16
    bunch, message = _load_one_warning(src, cache=False)
    # the UTF-16 file is decoded; the others are counted, never silent
    assert set(_as_dict(bunch)) == {k for k in truth.sessions if k[0] == 1}
    for key, expected in truth.sessions.items():
        if key[0] == 1:
            np.testing.assert_array_equal(_as_dict(bunch)[key], expected)
    assert "3 of 4 files (1 empty, 1 header line only, 1 UTF-16 that does not " in (
        message
    )
    assert bunch.dropped["files"] == 3 and bunch.dropped["files read"] == 4
    assert bunch.dropped["header line only"] == 1


def test_nothing_loaded_is_an_error(tmp_path):
    truth = write_aalto_files(tmp_path / "src", 2, 1)
    header = (truth.folder / "1_keystrokes.txt").read_bytes().splitlines()[0]
    (truth.folder / "1_keystrokes.txt").write_bytes(header + b"\n")
    (truth.folder / "2_keystrokes.txt").write_text("hello\n", encoding="utf-16")
    for source in (truth.folder, archive_folder(truth.folder, tmp_path / "a.zip")):
        with pytest.raises(ValueError, match="no session could be loaded") as info:
            load_aalto(source, data_home=tmp_path / "home")
        assert "2 of 2 files (1 no Aalto header line, 1 header line only)" in str(
            info.value
        )
    assert not (tmp_path / "home").exists()  # nothing cached


def test_unreadable_cache_is_rebuilt(tmp_path):
    src = tmp_path / "src"
    write_aalto_files(src, 2, 2)
    first = load_aalto(src, data_home=tmp_path / "home")
    (cache_file,) = (tmp_path / "home" / "aalto").glob("*.npz")
    cache_file.write_bytes(b"not an npz")
    second = load_aalto(src, data_home=tmp_path / "home")
    _assert_same_bunch(first, second)


def test_hostile_cache_is_never_unpickled_and_is_rebuilt(tmp_path):
    """A cache file replaced by pickled objects or inconsistent arrays."""
    src = tmp_path / "src"
    write_aalto_files(src, 2, 2)
    home = tmp_path / "home"
    first = load_aalto(src, data_home=home)
    (cache_file,) = (home / "aalto").glob("*.npz")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(cache_file, "wb") as f:
        np.savez(f, keys=np.array([Evil()], dtype=object))
    _assert_same_bunch(load_aalto(src, data_home=home), first)
    assert not marker.exists()
    # well-formed arrays that do not fit together (codes out of range, ...)
    with np.load(cache_file) as z:
        arrays = dict(z)
    for name, value in [
        ("offsets", arrays["offsets"] + 1),
        ("sentence_codes", arrays["sentence_codes"] + 100),
        ("dropped", arrays["dropped"][:3]),
        ("target", arrays["target"][:1]),
    ]:
        with open(cache_file, "wb") as f:
            np.savez(f, **{**arrays, name: value})
        _assert_same_bunch(load_aalto(src, data_home=home), first)


def _npy_member(zf, name, shape, data=b""):
    """A zip member ``name.npy``: a float64 header declaring ``shape``, then
    ``data`` (as many bytes as the header promises, or far fewer)."""
    head = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(head, header)
    zf.writestr(f"{name}.npy", head.getvalue() + data)


def test_cache_declaring_huge_arrays_is_rebuilt_without_allocating(tmp_path):
    """A member whose header declared shape (10**13,) raised a raw MemoryError
    ("72.8 TiB") from the loader; a deflated member of 8 MB of zeros (8 kB on
    disk) was allocated whole before it was rejected. Sizes are now checked
    against the bytes the file holds, before anything is allocated."""
    src = tmp_path / "src"
    write_aalto_files(src, 2, 2)
    home = tmp_path / "home"
    first = load_aalto(src, data_home=home)
    (cache_file,) = (home / "aalto").glob("*.npz")
    with np.load(cache_file) as z:
        arrays = dict(z)
    with zipfile.ZipFile(cache_file, "w") as zf:  # stored, as np.savez writes
        _npy_member(zf, "keys", (10**13,))
    assert _aalto._cache.load_sessions(cache_file, ("target",), ("rows",)) is None
    _assert_same_bunch(load_aalto(src, data_home=home), first)  # rebuilt
    # a member that declares more bytes than the cache file holds
    with zipfile.ZipFile(cache_file, "w") as zf:
        for name, value in arrays.items():
            if name != "keys":
                zf.writestr(f"{name}.npy", _npy_bytes(value))
        _npy_member(zf, "keys", (10**6, 3), b"\0" * 64)
    _assert_same_bunch(load_aalto(src, data_home=home), first)
    # deflated: few bytes on disk, many once read (np.savez never deflates)
    with open(cache_file, "wb") as f:
        np.savez_compressed(f, **{**arrays, "keys": np.zeros((10**6, 3))})
    assert cache_file.stat().st_size < 100_000
    tracemalloc.start()
    try:
        assert _aalto._cache.load_sessions(cache_file, ("target",), ("rows",)) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the 24 MB array was never allocated
    _assert_same_bunch(load_aalto(src, data_home=home), first)


def _npy_bytes(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


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
    monkeypatch.setattr(_aalto_files, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(_aalto_files, "_MIN_CHUNK_BYTES", 1)
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


def test_a_long_parse_shows_progress_and_verbose_false_shows_none(
    tmp_path, monkeypatch, capsys
):
    """The bar waits 3 s; drawn at once here, it counts the files parsed."""
    import tqdm.auto

    write_aalto_files(tmp_path / "src", 4, 2)
    real = tqdm.auto.tqdm

    def at_once(*args, **kwargs):
        return real(*args, **{**kwargs, "delay": 0, "mininterval": 0, "miniters": 1})

    monkeypatch.setattr(tqdm.auto, "tqdm", at_once)
    load_aalto(tmp_path / "src", cache=False, n_jobs=1)
    err = capsys.readouterr().err
    assert "load_aalto" in err and "4 files" in err
    load_aalto(tmp_path / "src", cache=False, n_jobs=1, verbose=False)
    assert capsys.readouterr().err == ""


def test_no_fifo_device_or_socket_is_read(tmp_path, refused_at_once):
    """A FIFO blocked load_aalto forever (zipfile.is_zipfile read it); one in
    a data folder blocked the parse."""
    fifo, home = tmp_path / "9_keystrokes.txt", tmp_path / "home"
    os.mkfifo(fifo)
    for cache in (False, True):
        call = functools.partial(load_aalto, fifo, cache=cache, data_home=home)
        msg = refused_at_once(call, fifo)
        assert f"path {str(fifo)!r} is a FIFO, not a regular file" in msg
    src = tmp_path / "src"
    write_aalto_files(src, 2, 2)
    member = src / "sub" / "7_keystrokes.txt"
    member.parent.mkdir()
    os.mkfifo(member)
    for cache in (False, True):
        call = functools.partial(load_aalto, src, cache=cache, data_home=home)
        msg = refused_at_once(call, member)
        assert f"{str(member)!r} is a FIFO, not a regular file" in msg
    member.unlink()
    member.symlink_to(os.devnull)  # a device behind a member's name
    msg = refused_at_once(lambda: load_aalto(src, cache=False))
    assert "is a character device, not a regular file" in msg
    msg = refused_at_once(lambda: load_aalto(os.devnull, cache=False))
    assert f"{os.devnull!r} is a character device, not a regular file" in msg
    sock = tmp_path / "s_keystrokes.txt"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(sock))
        msg = refused_at_once(lambda: load_aalto(sock, cache=False))
    assert "is a socket, not a regular file" in msg
