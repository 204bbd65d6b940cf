"""Tests of skeer.datasets._safe_pickle: .npy and pickles read without running code.

Hostile payloads are real pickles: each is first shown to do harm through
``pickle.loads`` / ``numpy.load(allow_pickle=True)`` where that is safe to show
(it only creates a marker file), then shown refused.
"""

import io
import os
import pickle

import numpy as np
import pytest
from numpy._core import multiarray as _multiarray

from skeer.datasets._safe_pickle import load_npy, loads_restricted


def _save_pickle_npy(file, payload):
    """An .npy file of a 0-d object array whose pickle is ``payload``."""
    with open(file, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        f.write(payload)
    return file


def _kvc_dev_set(rng):
    """A dict in exactly the KVC layout: user -> session id -> (n_keys, 3)."""
    return {
        user: {
            f"{user}_{k}": np.column_stack(
                [
                    np.cumsum(rng.integers(50, 300, n)) + 1.6e12,
                    np.cumsum(rng.integers(50, 300, n)) + 1.6e12 + 80,
                    rng.integers(8, 223, n),
                ]
            ).astype(np.float64)
            for k, n in enumerate(rng.integers(5, 40, size=3))
        }
        for user in (1001, 1002, 1003)
    }


def test_kvc_layout_round_trip(tmp_path):
    dev = _kvc_dev_set(np.random.default_rng(0))
    np.save(tmp_path / "dev.npy", dev, allow_pickle=True)
    arr = load_npy(tmp_path / "dev.npy")
    assert arr.dtype == object and arr.shape == ()
    got = arr.item()
    assert list(got) == list(dev)
    for user, sessions in dev.items():
        assert list(got[user]) == list(sessions)
        for sid, x in sessions.items():
            y = got[user][sid]
            assert y.dtype == np.float64 and y.flags.writeable
            np.testing.assert_array_equal(y, x)


def test_plain_data_of_every_allowed_kind():
    data = {
        "big-endian": np.arange(6, dtype=">f4").reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
        "bool": np.array([True, False]),
        "complex": np.array([1 + 2j]),
        "empty": np.zeros((0, 3)),
        "scalars": [np.int64(3), np.float32(0.5), np.bool_(True), np.str_("t0")],
        "python": (1, 2.5, "x", None, True, [b"raw"]),
        "objects": np.array([{"a": 1}, [2]], dtype=object),
    }
    # numpy.save writes protocol 3 (numpy 1.x) or 4 (numpy 2.x)
    for protocol in (2, 3, 4):
        got = loads_restricted(pickle.dumps(data, protocol=protocol))
        for key in ("big-endian", "fortran", "bool", "complex", "empty"):
            # numpy's own unpickling also makes big-endian data native
            assert got[key].dtype == data[key].dtype.newbyteorder("=")
            np.testing.assert_array_equal(got[key], data[key])
        assert got["fortran"].flags.f_contiguous
        assert got["scalars"] == [3, 0.5, True, "t0"]
        assert type(got["scalars"][3]) is str
        assert got["python"] == data["python"]
        assert got["objects"].tolist() == [{"a": 1}, [2]]
    # protocol 5 stores arrays with numpy's _frombuffer: refused, clearly
    with pytest.raises(ValueError, match="_frombuffer"):
        loads_restricted(pickle.dumps(data, protocol=5))


@pytest.mark.parametrize("module", ["numpy.core.multiarray", "numpy._core.multiarray"])
def test_both_numpy_module_paths(tmp_path, module):
    """Files written by numpy 1.x name numpy.core, by numpy 2.x numpy._core."""
    payload = pickle.dumps(np.array({"t0": np.ones((2, 3))}, dtype=object), 3)
    for old in (b"numpy._core.multiarray", b"numpy.core.multiarray"):
        payload = payload.replace(old, module.encode())
    got = load_npy(_save_pickle_npy(tmp_path / "x.npy", payload)).item()
    np.testing.assert_array_equal(got["t0"], np.ones((2, 3)))


class _Marker:
    """Pickles to a call that creates ``path`` when unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_reduce_payload_is_refused_and_does_not_run(tmp_path):
    control, marker = tmp_path / "control", tmp_path / "marker"
    pickle.loads(pickle.dumps({"s": [_Marker(control)]}))  # the payload works
    assert control.exists()
    file = tmp_path / "desktop_dev_set.npy"
    np.save(file, {"u": {"s": [_Marker(marker)]}}, allow_pickle=True)
    with pytest.raises(ValueError, match="desktop_dev_set.npy: refusing") as info:
        load_npy(file)
    assert "system" in str(info.value) and "\n" not in str(info.value)
    assert not marker.exists()


class _Reduce:
    def __init__(self, *reduced):
        self.reduced = reduced

    def __reduce__(self):
        return self.reduced


_NDARRAY = np.ndarray
_F8 = np.dtype("f8")
_O = np.dtype("O")


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (_Reduce(eval, ("1 + 1",)), "builtins.eval"),
        (_Reduce(getattr, (1, "real")), "builtins.getattr"),
        (_Reduce(complex, (1, 2)), "builtins.complex"),
        ({1, 2}, "EMPTY_SET"),
        (frozenset({1}), "FROZENSET"),
        (np.array(["a", "b"]), "non-numeric dtype"),
        (np.array(["2020-01-01"], dtype="M8[D]"), "non-numeric dtype"),
        (np.zeros(2, dtype=[("a", "f8")]), "non-numeric dtype"),
        (np.matrix([[1.0]]), "numpy.matrix"),
        (np.float64, "numpy.float64"),
        # a float dtype whose state claims object fields: numpy would take it
        (
            _Reduce(
                np.dtype,
                ("f8", False, True),
                (3, "<", None, ("a",), {"a": (_O, 0)}, 8, 8, 63),
            ),
            "unexpected state of the dtype",
        ),
        # an object array whose data are raw bytes (pointers, to numpy)
        (
            _Reduce(
                _multiarray._reconstruct,
                (_NDARRAY, (0,), b"b"),
                (1, (1,), _O, False, b"A" * 8),
            ),
            "malformed object array",
        ),
        # a shape far larger than the data
        (
            _Reduce(
                _multiarray._reconstruct,
                (_NDARRAY, (0,), b"b"),
                (1, (10**12,), _F8, False, b""),
            ),
            "wrong size",
        ),
        (
            _Reduce(_multiarray._reconstruct, (_NDARRAY, (10**9,), b"b")),
            "unexpected arguments",
        ),
        (
            _Reduce(_multiarray._reconstruct, (_NDARRAY, (0,), b"b")),
            "left without its state",
        ),
        (_Reduce(_multiarray.scalar, (_O, None)), "scalar of dtype object"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_refused(payload, match):
    data = pickle.dumps({"k": [payload]}, protocol=4)
    with pytest.raises(ValueError, match=match) as info:
        loads_restricted(data, name="the.npy")
    assert str(info.value).startswith("the.npy: ")
    assert "\n" not in str(info.value)


def test_dtype_flags_from_the_file_are_ignored():
    """Only the byte order of a pickled dtype's state is used."""
    fake = _Reduce(
        np.dtype, ("f8", False, True), (3, ">", None, None, None, -1, -1, 63)
    )
    got = loads_restricted(pickle.dumps(fake, protocol=4))
    assert got == np.dtype(">f8") and not got.hasobject
    assert not np.dtype("f8").hasobject  # numpy's shared dtype is untouched


def test_state_set_twice_is_refused():
    arr = pickle.dumps(np.arange(3.0), protocol=2)
    # append a second BUILD on the same array before STOP
    extra = pickle.dumps((1, (3,), _F8, False, np.arange(3.0).tobytes()), 2)[2:-1]
    payload = arr[:-1] + extra + pickle.BUILD + pickle.STOP
    np.testing.assert_array_equal(pickle.loads(arr), np.arange(3.0))
    with pytest.raises(ValueError, match="state of a ndarray"):
        loads_restricted(payload)


@pytest.mark.parametrize(
    "opcodes",
    [
        pickle.PROTO + b"\x02" + pickle.BININT1 + b"\x01" + pickle.BINPERSID,
        pickle.PROTO + b"\x02" + pickle.EXT1 + b"\x01",
        pickle.PROTO + b"\x02" + pickle.MARK + pickle.INST + b"os\nsystem\n",
    ],
    ids=["persistent-id", "extension", "inst"],
)
def test_refused_opcodes(opcodes):
    with pytest.raises(ValueError, match="refusing"):
        loads_restricted(opcodes + pickle.STOP)


def test_truncated_and_malformed(tmp_path):
    data = pickle.dumps({"t0": np.ones((50, 3))}, protocol=4)
    for cut in (1, len(data) // 3, len(data) - 1):
        with pytest.raises(ValueError, match="x.npy: truncated or malformed"):
            loads_restricted(data[:cut], name="x.npy")
    with pytest.raises(ValueError, match="truncated or malformed"):
        loads_restricted(b"\x80\x04garbage")
    # numeric arrays: numpy's reader, without pickle
    np.save(tmp_path / "num.npy", np.arange(100.0))
    np.testing.assert_array_equal(load_npy(tmp_path / "num.npy"), np.arange(100.0))
    raw = (tmp_path / "num.npy").read_bytes()
    (tmp_path / "num.npy").write_bytes(raw[:300])
    with pytest.raises(ValueError, match="num.npy: not a readable .npy file, or trunc"):
        load_npy(tmp_path / "num.npy")
    # a pickled payload cut short
    np.save(tmp_path / "obj.npy", {"t0": np.ones((50, 3))}, allow_pickle=True)
    raw = (tmp_path / "obj.npy").read_bytes()
    (tmp_path / "obj.npy").write_bytes(raw[: len(raw) - 100])
    with pytest.raises(ValueError, match="obj.npy: truncated or malformed"):
        load_npy(tmp_path / "obj.npy")
    # not .npy at all, or a format version this reader does not parse
    (tmp_path / "text.npy").write_text("hello")
    with pytest.raises(ValueError, match="text.npy: not a readable .npy"):
        load_npy(tmp_path / "text.npy")
    (tmp_path / "v3.npy").write_bytes(b"\x93NUMPY\x03\x00" + b"\0" * 120)
    with pytest.raises(ValueError, match="unsupported .npy format version"):
        load_npy(tmp_path / "v3.npy")


def test_payload_must_match_header(tmp_path):
    file = _save_pickle_npy(tmp_path / "x.npy", pickle.dumps({"a": 1}, 4))
    with pytest.raises(ValueError, match="does not match the .npy header"):
        load_npy(file)


def test_does_not_touch_the_pickle_module_state():
    """The restricted unpickler leaves pickle's own loaders unchanged."""
    payload = pickle.dumps(_Reduce(int, ("7",)), protocol=4)
    with pytest.raises(ValueError):
        loads_restricted(payload)
    assert pickle.loads(payload) == 7
    assert pickle._Unpickler(io.BytesIO(payload)).load() == 7
