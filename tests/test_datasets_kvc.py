"""Tests of skeer.datasets.load_kvc and the KVC-onGoing submission writers.

The fixtures are written by ``skeer.datasets._testing.write_kvc_files`` in the
formats of the release and of the challenge kit (``generate_submission_files.py``
reads ``{scenario}_comparisons.txt`` as ONE line holding a Python list of
session-id pairs, ``{scenario}_test_sessions.npy`` as a dict session id ->
(n_keys, 3) array, and writes ``str(list_of_scores)`` to
``{scenario}_predictions.txt``); expected values come from what was written.
Hostile files (pickles that run code, truncated files) are in
``test_datasets_safe_pickle.py`` and at the end of this file.
"""

import ast
import os
import zipfile

import numpy as np
import pandas as pd
import pytest

from skeer import KeystrokeFeatures
from skeer.datasets import (
    _kvc,
    load_kvc,
    make_kvc_submission,
    read_kvc_predictions,
    write_kvc_predictions,
)
from skeer.datasets._safe_pickle import load_npy
from skeer.datasets._testing import write_kvc_files


@pytest.fixture
def release(tmp_path):
    return write_kvc_files(tmp_path, "desktop", n_users=3, n_sessions=4, n_test=5)


def test_reads_what_was_written(release):
    kvc = load_kvc(release.folder, "desktop")
    expected = [
        (user, sid, arr)
        for user, sessions in release.dev.items()
        for sid, arr in sessions.items()
    ]
    assert len(kvc.data) == len(expected) == 12
    for x, (user, sid, arr), t, s in zip(kvc.data, expected, kvc.target, kvc.session):
        assert x.dtype == np.float64 and x.shape == arr.shape
        np.testing.assert_array_equal(x, arr)
        assert t == user and s == sid
    assert list(kvc.test_session) == list(release.test)
    for x, sid in zip(kvc.test_data, kvc.test_session):
        np.testing.assert_array_equal(x, release.test[sid])
    assert kvc.comparisons.shape == (len(release.pairs), 2)
    assert [tuple(p) for p in kvc.comparisons.tolist()] == release.pairs
    assert kvc.comparison_index.dtype.kind == "i"
    np.testing.assert_array_equal(
        kvc.test_session[kvc.comparison_index], kvc.comparisons
    )
    assert kvc.feature_names == ["press", "release", "keycode"]
    assert "Stragapede" in kvc.DESCR


def test_fixture_files_are_in_the_kit_format(release):
    """What the kit reads: one line, a list of pairs; a dict of sessions."""
    text = (release.folder / "desktop_comparisons.txt").read_text()
    assert "\n" not in text and text.startswith("[[")
    assert ast.literal_eval(text) == [list(p) for p in release.pairs]
    test = load_npy(release.folder / "desktop_test_sessions.npy").item()
    assert isinstance(test, dict) and list(test) == list(release.test)
    for sid, arr in test.items():
        assert arr.ndim == 2 and arr.shape[1] == 3
        np.testing.assert_array_equal(arr, release.test[sid])
    dev = load_npy(release.folder / "desktop_dev_set.npy").item()
    assert list(dev) == list(release.dev)
    assert all(isinstance(v, dict) for v in dev.values())


def test_scenario_subfolder_and_mobile(tmp_path):
    truth = write_kvc_files(tmp_path / "mobile", "mobile", n_users=2, n_sessions=2)
    kvc = load_kvc(tmp_path, scenario="mobile")
    assert len(kvc.data) == 4
    assert set(kvc.target.tolist()) == set(truth.dev)
    with pytest.raises(FileNotFoundError, match="desktop_dev_set"):
        load_kvc(tmp_path, "desktop")


@pytest.mark.parametrize(
    "fmt",
    [
        "{a},{b}\n",
        "{a}\t{b}\n",
        "  {a} ;  {b}  \n\n",
        "('{a}', '{b}')\n",
        "['{a}', '{b}']\n",
        '"{a}", "{b}"\r\n',
    ],
)
def test_comparisons_one_pair_a_line(release, fmt):
    file = release.folder / "desktop_comparisons.txt"
    file.write_text(
        "# comment\n" + "".join(fmt.format(a=a, b=b) for a, b in release.pairs)
    )
    kvc = load_kvc(release.folder)
    assert [tuple(p) for p in kvc.comparisons.tolist()] == release.pairs


@pytest.mark.parametrize(
    "render",
    [
        lambda pairs: str([list(p) for p in pairs]),  # the kit's own file
        lambda pairs: str([list(p) for p in pairs]) + "\n",
        lambda pairs: str(pairs),  # pairs as tuples
        lambda pairs: "[" + ",".join(f'["{a}","{b}"]' for a, b in pairs) + ",]",
        lambda pairs: (
            "[\n" + ",\n".join(f"  ('{a}' , '{b}')" for a, b in pairs) + "\n]"
        ),
        # not the fast path's shape: escapes go through ast.literal_eval
        lambda pairs: str([list(p) for p in pairs]).replace("'t", "'\\x74"),
    ],
    ids=["kit", "newline", "tuples", "double-quotes", "multi-line", "escapes"],
)
def test_comparisons_python_list(release, render):
    (release.folder / "desktop_comparisons.txt").write_text(render(release.pairs))
    kvc = load_kvc(release.folder)
    assert [tuple(p) for p in kvc.comparisons.tolist()] == release.pairs
    np.testing.assert_array_equal(
        kvc.test_session[kvc.comparison_index], kvc.comparisons
    )


def test_comparisons_integer_ids(tmp_path):
    """Ids may be ints in the comparisons and in the test dict's keys."""
    write_kvc_files(tmp_path, n_test=3)
    test = {7: np.zeros((3, 3)), 8: np.ones((4, 3)), 9: np.ones((2, 3))}
    np.save(tmp_path / "desktop_test_sessions.npy", test, allow_pickle=True)
    (tmp_path / "desktop_comparisons.txt").write_text("[[7, 8], [9, 7]]")
    kvc = load_kvc(tmp_path)
    assert kvc.comparisons.tolist() == [["7", "8"], ["9", "7"]]
    assert kvc.comparison_index.tolist() == [[0, 1], [2, 0]]


def test_comparisons_large_kit_file_is_fast(tmp_path):
    """200,000 pairs: matched pair by pair, not by ast.literal_eval (slow)."""
    pairs = [[f"{i}_s{i % 15}", f"{i * 7 % 9973}_s{i % 13}"] for i in range(200_000)]
    file = tmp_path / "desktop_comparisons.txt"
    file.write_text(str(pairs))
    got = _kvc._read_comparisons(file)
    assert got.shape == (200_000, 2)
    assert got[0].tolist() == pairs[0] and got[-1].tolist() == pairs[-1]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("t0 t1\nt0 t1 t2\n", "line 2"),
        ("t0 nope\n", "nope"),
        ("[['t0', 't1', 't2']]", "list of session-id pairs"),
        ("[['t0', 't1']] [['t0', 't2']]", "list of session-id pairs"),
        ("[['t0', 't1']]\n[['t0', 't2']]", "list of session-id pairs"),
        ("[['t0', {'a': 1}]]", "list of session-id pairs"),
        ("[['t0', True]]", "list of session-id pairs"),
        ("[['t0', 't1'], ('t2')]", "list of session-id pairs"),
        ("[[__import__('os').getcwd(), 't1']]", "list of session-id pairs"),
    ],
)
def test_bad_comparisons(release, text, match):
    (release.folder / "desktop_comparisons.txt").write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        load_kvc(release.folder)
    assert "desktop_comparisons.txt" in str(info.value)


def test_comparisons_never_evaluated(release, tmp_path):
    """What the kit would ``eval`` is parsed as a literal, so nothing runs."""
    marker = tmp_path / "evaluated"
    payload = f"[[__import__('pathlib').Path({str(marker)!r}).touch(), 't1']]"
    (release.folder / "desktop_comparisons.txt").write_text(payload)
    with pytest.raises(ValueError, match="desktop_comparisons.txt"):
        load_kvc(release.folder)
    assert not marker.exists()


def test_comparisons_size_limits(release, monkeypatch):
    file = release.folder / "desktop_comparisons.txt"
    monkeypatch.setattr(_kvc, "_MAX_COMPARISONS_BYTES", 100)
    file.write_text(str([list(p) for p in release.pairs]))
    with pytest.raises(ValueError, match="more than the 100"):
        load_kvc(release.folder)
    monkeypatch.undo()
    # the general literal parser (escapes) is limited: it needs ~150x memory
    monkeypatch.setattr(_kvc, "_MAX_LITERAL_EVAL_BYTES", 50)
    file.write_text(str([list(p) for p in release.pairs]).replace("'t", "'\\x74"))
    with pytest.raises(ValueError, match="too large"):
        load_kvc(release.folder)


def test_comparisons_not_utf8(release):
    file = release.folder / "desktop_comparisons.txt"
    file.write_bytes(str([list(p) for p in release.pairs]).encode("utf-16"))
    with pytest.raises(ValueError, match="desktop_comparisons.txt.*UTF-16"):
        load_kvc(release.folder)


def test_optional_files(release):
    (release.folder / "desktop_comparisons.txt").unlink()
    kvc = load_kvc(release.folder)
    assert kvc.comparisons is None and kvc.comparison_index is None
    assert len(kvc.test_data) == 5
    (release.folder / "desktop_test_sessions.npy").unlink()
    kvc = load_kvc(release.folder)
    assert kvc.test_data is None and kvc.test_session is None
    assert len(kvc.data) == 12


def test_as_frame_and_return_X_y(release):
    kvc = load_kvc(release.folder)
    framed = load_kvc(release.folder, as_frame=True)
    frame = framed.frame
    assert framed.data is frame
    assert list(frame.columns) == ["subject", "session", "press", "release", "keycode"]
    np.testing.assert_array_equal(
        frame[["press", "release", "keycode"]].to_numpy(), np.concatenate(kvc.data)
    )
    lengths = [len(x) for x in kvc.data]
    np.testing.assert_array_equal(frame["subject"], np.repeat(kvc.target, lengths))
    assert isinstance(framed.target, pd.Series) and framed.target.name == "subject"
    X, y = load_kvc(release.folder, return_X_y=True)
    assert len(X) == len(y) == 12


def test_errors(release, tmp_path):
    with pytest.raises(ValueError, match="scenario"):
        load_kvc(release.folder, scenario="tablet")
    with pytest.raises(FileNotFoundError, match="path"):
        load_kvc(tmp_path / "missing")
    with pytest.raises(ValueError, match="path"):
        load_kvc(release.folder / "desktop_comparisons.txt")
    np.save(tmp_path / "desktop_dev_set.npy", {1: {"s": np.zeros((4, 2))}})
    with pytest.raises(ValueError, match="shape"):
        load_kvc(tmp_path)
    np.save(tmp_path / "desktop_dev_set.npy", np.zeros(3))
    with pytest.raises(ValueError, match="dict"):
        load_kvc(tmp_path)


def test_write_predictions_in_the_kit_format(tmp_path, release):
    """One line, ``str`` of the list of floats, full precision, in order."""
    kvc = load_kvc(release.folder)
    rng = np.random.default_rng(0)
    scores = rng.uniform(-1, 1, size=len(kvc.comparisons))
    scores[0] = 1 / 3
    scores[1] = np.float32(0.1)  # not a short decimal in float64
    out = write_kvc_predictions(scores, tmp_path / "desktop_predictions.txt")
    text = out.read_text()
    assert text == str([float(v) for v in scores])  # exactly what the kit writes
    assert "\n" not in text
    read_back = ast.literal_eval(text)
    assert read_back == scores.tolist()  # bit-exact
    np.testing.assert_array_equal(read_kvc_predictions(out), scores)
    # float32 and integer scores are written as floats
    write_kvc_predictions(np.array([1, 0], dtype=np.int64), out)
    assert out.read_text() == "[1.0, 0.0]"


def test_read_predictions_formats_and_errors(tmp_path):
    out = tmp_path / "mobile_predictions.txt"
    for text in ("[0.5, -1e-3, 2]", "[0.5,-1e-3,2,]\n", "0.5\n-0.001\n2\n"):
        out.write_text(text)
        np.testing.assert_array_equal(read_kvc_predictions(out), [0.5, -0.001, 2])
    for text, match in [
        ("[0.5, nan]", "found 'nan'"),
        ("[0.5, __import__('os')]", "found"),
        ("[]", "empty"),
        ("[[0.5]]", "found"),
    ]:
        out.write_text(text)
        with pytest.raises(ValueError, match=match) as info:
            read_kvc_predictions(out)
        assert "mobile_predictions.txt" in str(info.value)
    with pytest.raises(FileNotFoundError):
        read_kvc_predictions(tmp_path / "missing.txt")


def test_make_submission_zip(tmp_path):
    desktop = np.array([0.25, 1 / 3, -2.0])
    mobile_file = write_kvc_predictions([0.5, 0.125], tmp_path / "m.txt")
    out = make_kvc_submission(
        {"mobile": mobile_file, "desktop": desktop}, tmp_path / "sub.zip"
    )
    assert out == tmp_path / "sub.zip"
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == ["desktop_predictions.txt", "mobile_predictions.txt"]
        assert zf.read("desktop_predictions.txt").decode() == str(desktop.tolist())
        assert zf.read("mobile_predictions.txt") == b"[0.5, 0.125]"
    # one scenario only, replacing the archive; no temporary file left behind
    make_kvc_submission({"desktop": [0.75]}, out)
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["desktop_predictions.txt"]
        assert ast.literal_eval(zf.read("desktop_predictions.txt").decode()) == [0.75]
    assert sorted(os.listdir(tmp_path)) == ["m.txt", "sub.zip"]


@pytest.mark.parametrize(
    ("predictions", "match"),
    [
        ({}, "non-empty dict"),
        ([0.1, 0.2], "non-empty dict"),
        ({"tablet": [0.1]}, "scenarios"),
        ({"desktop": [0.1, np.nan]}, r"predictions\['desktop'\] must be finite"),
        ({"mobile": []}, "empty"),
    ],
)
def test_make_submission_validates(tmp_path, predictions, match):
    out = tmp_path / "sub.zip"
    with pytest.raises(ValueError, match=match):
        make_kvc_submission(predictions, out)
    assert not out.exists() and not os.listdir(tmp_path)


@pytest.mark.parametrize(
    "scores, match",
    [
        ([[0.1, 0.2]], "1-D"),
        ([0.1, np.nan], "finite"),
        ([0.1, np.inf], "finite"),
        ([], "empty"),
        (["a", "b"], "numeric"),
    ],
)
def test_write_predictions_validates(tmp_path, scores, match):
    out = tmp_path / "p.txt"
    with pytest.raises(ValueError, match=match):
        write_kvc_predictions(scores, out)
    assert not out.exists()


def test_frame_goes_through_keystroke_features(release):
    """``subject`` is the identity column: the defaults of KeystrokeFeatures fit."""
    kvc = load_kvc(release.folder)
    framed = load_kvc(release.folder, as_frame=True)
    Xt = KeystrokeFeatures(max_len=30).fit_transform(framed.data)
    assert Xt.shape == (12, 30, 5)
    np.testing.assert_array_equal(Xt, KeystrokeFeatures(max_len=30).transform(kvc.data))


# --------------------------------------------------------------- hostile files


def _evil_dict(marker):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    return {100: {"s0": Evil()}}


@pytest.mark.parametrize("name", ["desktop_dev_set.npy", "desktop_test_sessions.npy"])
def test_code_in_a_release_file_is_not_run(release, tmp_path, name):
    marker = tmp_path / "pwned"
    np.save(release.folder / name, _evil_dict(marker), allow_pickle=True)
    # the file is really hostile: numpy's own loader runs it
    control = tmp_path / "control"
    np.save(tmp_path / "control.npy", _evil_dict(control), allow_pickle=True)
    np.load(tmp_path / "control.npy", allow_pickle=True)
    assert control.exists()
    with pytest.raises(ValueError, match=f"{name}: refusing .*system") as info:
        load_kvc(release.folder)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_object_array_of_dicts_is_not_a_release(tmp_path):
    """Plain data in another layout is read safely, then refused clearly."""
    write_kvc_files(tmp_path)
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = {"s0": np.zeros((3, 3))}, {"s1": np.ones((2, 3))}
    np.save(tmp_path / "desktop_dev_set.npy", arr, allow_pickle=True)
    with pytest.raises(ValueError, match=r"dict saved with numpy.save.*shape \(2,\)"):
        load_kvc(tmp_path)


@pytest.mark.parametrize("name", ["desktop_dev_set.npy", "desktop_test_sessions.npy"])
@pytest.mark.parametrize("keep", [0.05, 0.5, 0.99])
def test_truncated_release_file(release, name, keep):
    file = release.folder / name
    raw = file.read_bytes()
    file.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(ValueError, match=f"{name}.*truncated") as info:
        load_kvc(release.folder)
    assert "\n" not in str(info.value)


def test_not_an_npy_file(release):
    (release.folder / "desktop_dev_set.npy").write_text("{'a': 1}")
    with pytest.raises(ValueError, match="desktop_dev_set.npy: not a readable .npy"):
        load_kvc(release.folder)


def test_read_kvc_predictions_reads_the_zip_skeer_writes(tmp_path):
    import zipfile

    from skeer.datasets import make_kvc_submission, read_kvc_predictions

    preds = {"desktop": [0.25, -1.0], "mobile": [0.5]}
    back = read_kvc_predictions(make_kvc_submission(preds, tmp_path / "s.zip"))
    assert list(back) == ["desktop", "mobile"]
    for scenario, scores in preds.items():
        np.testing.assert_array_equal(back[scenario], scores)
    # anything else in a submission is refused, naming it
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        zf.writestr("desktop_predictions.txt", "[0.5]")
        zf.writestr("../evil.txt", "x")
    with pytest.raises(ValueError, match="holds only desktop_predictions.txt"):
        read_kvc_predictions(tmp_path / "bad.zip")


@pytest.mark.parametrize(
    "text, match",
    [
        # not Python (leading zeros): the fast parser read it as id "7"
        ("[[007, 1]]", "expected a Python list"),
        # a 5,000-digit id: int() refused it with no file name, all printed
        ("[[" + "9" * 5000 + ", 1]]", r"comparisons.txt: .*\(5,000 characters\)"),
    ],
)
def test_hostile_comparison_ids_name_the_file(tmp_path, text, match):
    write_kvc_files(tmp_path, "desktop", n_users=3, n_sessions=4, n_test=4)
    (tmp_path / "desktop_comparisons.txt").write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        load_kvc(tmp_path, "desktop")
    assert len(str(info.value)) < 400


def test_signed_integer_ids_read_as_python_reads_them(tmp_path):
    from skeer.datasets._kvc import _read_comparisons

    file = tmp_path / "c.txt"
    file.write_text("[[+7, -0], [0, -12], ['007', \"x\"]]")
    assert _read_comparisons(file).tolist() == [
        ["7", "0"], ["0", "-12"], ["007", "x"]
    ]  # fmt: skip
    assert [[str(a), str(b)] for a, b in ast.literal_eval(file.read_text())] == [
        ["7", "0"], ["0", "-12"], ["007", "x"]
    ]  # fmt: skip


@pytest.mark.parametrize(
    "where, match",
    [
        ("users", "the user ids mix integers, strings"),
        ("sessions", "the session ids mix integers, strings"),
        ("test", "desktop_test_sessions.npy: the session ids mix"),
    ],
)
def test_ids_of_two_kinds_are_refused_not_merged(tmp_path, where, match):
    """User 1 and user "1" are two people; test sessions 1 and "1" two sessions
    (the comparison file names both as the text 1: one would be unreachable)."""
    truth = write_kvc_files(tmp_path)
    dev, test = dict(truth.dev), dict(truth.test)
    session = np.zeros((3, 3))
    if where == "users":
        dev[1], dev["1"] = {"a": session}, {"b": session}
    elif where == "sessions":
        dev[1] = {1: session, "1": session}
    else:
        test[1], test["1"] = session, session
    np.save(tmp_path / "desktop_dev_set.npy", dev, allow_pickle=True)
    np.save(tmp_path / "desktop_test_sessions.npy", test, allow_pickle=True)
    with pytest.raises(ValueError, match=match):
        load_kvc(tmp_path)


def test_a_plain_predictions_file_is_read_within_a_size_cap(tmp_path, monkeypatch):
    """The zip reader had a cap, the plain-text one none (a 10 GB file was read
    whole); a FIFO blocked it forever."""
    import skeer.datasets._kvc_predictions as module

    out = tmp_path / "desktop_predictions.txt"
    out.write_text("0.5\n" * 100)  # 400 bytes
    monkeypatch.setattr(module, "_MAX_PREDICTIONS_BYTES", 399)
    with pytest.raises(ValueError, match="desktop_predictions.txt holds more than 399"):
        read_kvc_predictions(out)
    monkeypatch.setattr(module, "_MAX_PREDICTIONS_BYTES", 400)
    assert len(read_kvc_predictions(out)) == 100
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        read_kvc_predictions(fifo)


@pytest.mark.parametrize(
    "name",
    ["desktop_dev_set.npy", "desktop_test_sessions.npy", "desktop_comparisons.txt"],
)
def test_a_fifo_in_the_release_is_not_a_regular_file(tmp_path, name, refused_at_once):
    """A FIFO dev set was "no desktop_dev_set.npy"; a FIFO test or comparisons
    file was skipped without a word (the bunch had no comparisons)."""
    write_kvc_files(tmp_path, "desktop", n_users=3, n_sessions=4, n_test=5)
    (tmp_path / name).unlink()
    os.mkfifo(tmp_path / name)
    msg = refused_at_once(lambda: load_kvc(tmp_path, "desktop"), tmp_path / name)
    assert f"{str(tmp_path / name)!r} is a FIFO, not a regular file" in msg
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    msg = refused_at_once(lambda: load_kvc(fifo, "desktop"), fifo)
    assert f"path {str(fifo)!r} is a FIFO, not a regular file" in msg
