"""StreamingVerificationMetrics equals skeer.metrics on the concatenated chunks."""

import pickle
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skeer.metrics import (
    StreamingVerificationMetrics,
    UnreliableMetricWarning,
    det_points,
    equal_error_rate,
    fmr_at_fnmr,
    fnmr_at_fmr,
)

quiet = pytest.mark.filterwarnings("ignore::skeer.metrics.UnreliableMetricWarning")
LEVELS = [0.0, 0.05, 0.1, 0.25, 0.5, 1.0]


def assert_same_as_in_memory(acc, y, s):
    """Every metric of the accumulator equals the in-memory one, bit for bit."""
    assert acc.n_genuine == int(np.sum(y == 1))
    assert acc.n_impostor == len(y) - acc.n_genuine
    assert acc.equal_error_rate() == equal_error_rate(y, s)
    assert acc.equal_error_rate(return_threshold=True) == equal_error_rate(
        y, s, return_threshold=True
    )
    assert acc.fnmr_at_fmr(LEVELS).tolist() == fnmr_at_fmr(y, s, fmr=LEVELS).tolist()
    assert acc.fmr_at_fnmr(LEVELS).tolist() == fmr_at_fnmr(y, s, fnmr=LEVELS).tolist()
    assert acc.fnmr_at_fmr(0.1) == fnmr_at_fmr(y, s, fmr=0.1)
    for a, b in zip(acc.det_points(), det_points(y, s)):
        np.testing.assert_array_equal(a, b)
    for method in ("nearest", "pyeer", "bob"):
        assert acc.equal_error_rate(
            method=method, return_threshold=True
        ) == equal_error_rate(y, s, method=method, return_threshold=True)
        assert (
            acc.fnmr_at_fmr(LEVELS, method=method).tolist()
            == fnmr_at_fmr(y, s, fmr=LEVELS, method=method).tolist()
        )


# chunks of (labels, small integer scores): many ties, across chunks too;
# a chunk may hold one class only, or nothing
chunk = st.integers(0, 12).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
    )
)
chunks = st.lists(chunk, min_size=1, max_size=8).filter(
    lambda cs: {v for labels, _ in cs for v in labels} == {0, 1}
)
budgets = st.sampled_from([1, 24, 200, 2**20])  # bytes: spill always ... never


def concat(cs, dtype=np.float64):
    y = np.concatenate([np.asarray(lab, dtype=int) for lab, _ in cs])
    s = np.concatenate([np.asarray(sc, dtype=dtype) for _, sc in cs])
    return y, s


@quiet
@settings(max_examples=120, deadline=None)
@given(cs=chunks, budget=budgets, use_float32=st.booleans())
def test_random_chunks_equal_the_concatenation(cs, budget, use_float32):
    dtype = np.float32 if use_float32 else np.float64
    acc = StreamingVerificationMetrics(memory_budget=budget)
    for labels, scores in cs:
        acc.update(np.asarray(labels, dtype=int), np.asarray(scores, dtype=dtype))
    assert acc.dtype == dtype
    assert_same_as_in_memory(acc, *concat(cs, dtype))
    if budget == 1:
        assert acc.disk_bytes == acc.n_genuine * acc.dtype.itemsize + (
            acc.n_impostor * acc.dtype.itemsize
        )
    acc.close()


@quiet
@settings(max_examples=60, deadline=None)
@given(
    cs=chunks,
    budgets=st.lists(budgets, min_size=3, max_size=3),
    owner=st.lists(st.integers(0, 2), min_size=8, max_size=8),
)
def test_merged_worker_states_equal_the_concatenation(cs, budgets, owner):
    workers = [StreamingVerificationMetrics(memory_budget=b) for b in budgets]
    for k, (labels, scores) in enumerate(cs):
        workers[owner[k]].update(labels, scores)
    y, s = concat(cs)
    assert_same_as_in_memory(sum(workers), y, s)
    assert_same_as_in_memory(workers[0] + workers[1] + workers[2], y, s)
    merged = workers[2].merge(workers[1]).merge(workers[0])
    assert merged is workers[2]
    assert_same_as_in_memory(merged, y, s)
    # merging a state with itself counts every comparison twice
    assert_same_as_in_memory(merged.merge(merged), np.r_[y, y], np.r_[s, s])
    for worker in workers:
        worker.close()


@quiet
def test_many_spilled_runs(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 6000)
    s = np.round(rng.normal(size=6000) + y, 1).astype(np.float32)
    acc = StreamingVerificationMetrics(memory_budget=1, temp_dir=tmp_path)
    for part in np.array_split(np.arange(6000), 60):
        acc.update(y[part], s[part])
    assert len(acc._genuine.disk) == len(acc._impostor.disk) == 60
    assert_same_as_in_memory(acc, y, s)


def test_streaming_from_a_memory_mapped_file(tmp_path):
    rng = np.random.default_rng(1)
    n = 50_000
    y = (rng.random(n) < 0.2).astype(np.int8)
    s = (rng.normal(size=n) + 2 * y).astype(np.float32)
    y.tofile(tmp_path / "y.bin")
    s.tofile(tmp_path / "s.bin")
    ym = np.memmap(tmp_path / "y.bin", dtype=np.int8, mode="r")
    sm = np.memmap(tmp_path / "s.bin", dtype=np.float32, mode="r")
    with StreamingVerificationMetrics(memory_budget=40_000, temp_dir=tmp_path) as acc:
        for start in range(0, n, 7_000):
            acc.update(ym[start : start + 7_000], sm[start : start + 7_000])
        assert acc.disk_bytes > 0
        assert_same_as_in_memory(acc, y, s)


@quiet
def test_identity_matrix_chunks():
    rng = np.random.default_rng(2)
    names = np.array(["a", "b", "c", "d"])
    y = names[rng.integers(0, 4, 40)]
    S = rng.integers(0, 5, (40, 4)).astype(float)
    acc = StreamingVerificationMetrics(memory_budget=100)
    for part in np.array_split(np.arange(40), 3):
        acc.update(y[part], S[part], labels=names)
    own = y[:, None] == names[None, :]
    assert_same_as_in_memory(acc, own.ravel().astype(int), S.ravel())
    acc.close()


@quiet
def test_generator_of_chunks_and_label_forms():
    def batches():
        rng = np.random.default_rng(3)
        for _ in range(5):
            y = rng.integers(0, 2, 100)
            yield y.astype(bool), rng.normal(size=100) + y

    acc = StreamingVerificationMetrics()
    parts = list(batches())
    for y, s in batches():
        acc.update(y, s)
    y, s = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    assert_same_as_in_memory(acc, y.astype(int), s)
    # {-1, 1} labels are fine as long as every chunk agrees
    minus = StreamingVerificationMetrics()
    minus.update(2 * y[:250] - 1, s[:250]).update(2 * y[250:] - 1, s[250:])
    assert minus.equal_error_rate() == acc.equal_error_rate()


@quiet
@pytest.mark.parametrize("budget", [1, 2**20])
def test_pickle_round_trip(budget, tmp_path):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 3000)
    s = (rng.normal(size=3000) + y).astype(np.float32)
    acc = StreamingVerificationMetrics(memory_budget=budget, temp_dir=tmp_path)
    for part in np.array_split(np.arange(3000), 4):
        acc.update(y[part], s[part])
    clone = pickle.loads(pickle.dumps(acc))
    assert clone.dtype == np.float32
    assert (clone.disk_bytes > 0) == (budget == 1)
    assert_same_as_in_memory(clone, y, s)
    acc.close()  # the clone has its own files
    assert_same_as_in_memory(clone, y, s)
    clone.update([1, 0], [0.5, 0.5])
    assert_same_as_in_memory(clone, np.r_[y, 1, 0], np.r_[s, 0.5, 0.5])


def test_dtype_is_kept_and_conversions_are_exact():
    y = np.r_[np.ones(20, int), np.zeros(20, int)]
    s32 = np.linspace(0, 1, 40, dtype=np.float32)
    acc = StreamingVerificationMetrics()
    acc.update(y[:10], s32[:10])
    # float64 values that float32 holds exactly are accepted...
    acc.update(y[10:20], s32[10:20].astype(np.float64))
    # ...others are refused, and nothing is added
    with pytest.raises(ValueError, match="y_score holds float64 values"):
        acc.update(y[20:], s32[20:].astype(np.float64) + 1e-12)
    assert acc.n_genuine + acc.n_impostor == 20
    acc.update(y[20:], s32[20:])
    assert acc.dtype == np.float32
    assert acc.equal_error_rate() == equal_error_rate(y, s32)
    # dtype=float64 keeps everything
    wide = StreamingVerificationMetrics(dtype="float64").update(y, s32)
    assert wide.dtype == np.float64
    assert wide.equal_error_rate() == equal_error_rate(y, s32)


# --------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("y_true", "y_score", "kwargs", "match"),
    [
        ([0, 1], [0.1, np.nan], {}, "y_score must be finite"),
        ([0, 1], [0.1, np.inf], {}, "y_score must be finite"),
        ([0, 1, 1], [0.1, 0.2], {}, "y_true and y_score have different lengths"),
        ([0, 2], [0.1, 0.2], {}, "y_true must be binary"),
        ([0, 1], [0.1, 0.2], {"labels": [0, 1]}, "labels"),
        (["a", "b"], np.eye(3)[:2], {}, "3 columns but y_true has 2"),
        (["a", "x"], np.eye(2), {"labels": ["a", "b"]}, "not in labels"),
        ([0, 1], np.zeros((2, 2, 2)), {}, "y_score must be"),
    ],
)
def test_bad_chunks_raise_and_add_nothing(y_true, y_score, kwargs, match):
    acc = StreamingVerificationMetrics().update([1, 0], [0.3, 0.2])
    with pytest.raises(ValueError, match=match):
        acc.update(y_true, y_score, **kwargs)
    assert (acc.n_genuine, acc.n_impostor) == (1, 1)


def test_changing_the_impostor_label_is_refused():
    acc = StreamingVerificationMetrics().update([1, 0], [0.3, 0.2])
    with pytest.raises(ValueError, match="y_true marks impostors with -1"):
        acc.update([1, -1], [0.3, 0.2])
    other = StreamingVerificationMetrics().update([-1], [0.0])
    with pytest.raises(ValueError, match="other marks impostors with -1"):
        acc.merge(other)
    assert acc.n_impostor == 1


def test_queries_need_both_classes():
    acc = StreamingVerificationMetrics()
    with pytest.raises(ValueError, match="call update"):
        acc.equal_error_rate()
    acc.update([], [])  # an empty chunk adds nothing
    acc.update([1, 1], [0.3, 0.2])
    for query in (
        acc.equal_error_rate,
        acc.det_points,
        lambda: acc.fnmr_at_fmr(0.1),
        lambda: acc.fmr_at_fnmr(0.1),
    ):
        with pytest.raises(ValueError, match="only one class"):
            query()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"memory_budget": 0}, "memory_budget"),
        ({"memory_budget": 1.5}, "memory_budget"),
        ({"memory_budget": True}, "memory_budget"),
        ({"dtype": "int32"}, "dtype"),
        ({"dtype": "not a dtype"}, "dtype"),
        ({"dtype": "float16"}, "float32 or wider"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StreamingVerificationMetrics(**kwargs)


def test_bad_merges_and_targets():
    acc = StreamingVerificationMetrics().update([1, 0], [0.3, 0.2])
    with pytest.raises(TypeError, match="other must be"):
        acc.merge([1, 0])
    with pytest.raises(TypeError):
        acc + 1
    wide = StreamingVerificationMetrics().update([1, 0], [0.3, 0.2])
    narrow = StreamingVerificationMetrics().update([1], np.float32([0.3]))
    with pytest.raises(ValueError, match="other stores float32"):
        wide.merge(narrow)
    with pytest.raises(ValueError, match="fmr"):
        acc.fnmr_at_fmr(1.5)
    with pytest.raises(ValueError, match="fnmr"):
        acc.fmr_at_fnmr(-0.5)
    with pytest.raises(ValueError, match="method must be one of"):
        acc.equal_error_rate(method="kvc")
    with pytest.raises(ValueError, match="method must be one of"):
        acc.fnmr_at_fmr(0.1, method="kvc")


@pytest.mark.parametrize(
    "use",
    [
        lambda acc: acc.equal_error_rate(),
        lambda acc: acc.fnmr_at_fmr(0.1),
        lambda acc: acc.fmr_at_fnmr(0.1),
        lambda acc: acc.det_points(),
        lambda acc: acc.update([1, 0], [0.5, 0.1]),
        lambda acc: acc.merge(StreamingVerificationMetrics()),
        lambda acc: StreamingVerificationMetrics().merge(acc),
        lambda acc: acc + StreamingVerificationMetrics(),
    ],
    ids=["eer", "fnmr", "fmr", "det", "update", "merge", "merged", "add"],
)
def test_a_closed_accumulator_says_it_is_closed(use, tmp_path):
    # used after close(), it used to answer "No comparison has been added yet"
    acc = StreamingVerificationMetrics(memory_budget=8, temp_dir=tmp_path)
    acc.update([1, 0, 1, 0], [0.4, 0.3, 0.2, 0.1])
    acc.close()
    assert acc.closed and acc.n_genuine == 0
    with pytest.raises(ValueError, match="closed"):
        use(acc)
    acc.close()  # closing twice does nothing
    with StreamingVerificationMetrics() as acc:
        acc.update([1, 0], [0.4, 0.3])
    with pytest.raises(ValueError, match="closed"):
        use(acc)


def test_float16_chunks_are_kept_in_float32():
    rng = np.random.default_rng(3)
    y = (rng.random(50_000) < 0.2).astype(int)
    s = (rng.normal(size=50_000) + y).astype(np.float16)
    acc = StreamingVerificationMetrics(memory_budget=40_000)
    for start in range(0, 50_000, 7_000):
        acc.update(y[start : start + 7_000], s[start : start + 7_000])
    assert acc.dtype == np.float32
    fmr, fnmr, _ = acc.det_points()
    assert np.all(np.diff(fmr) <= 0) and np.all(np.diff(fnmr) >= 0)
    assert acc.equal_error_rate() == equal_error_rate(y, s.astype(np.float32))
    acc.close()


@quiet
def test_resolution_warning_is_the_in_memory_one():
    acc = StreamingVerificationMetrics().update(
        np.r_[np.ones(20), np.zeros(12)], np.arange(32.0)
    )
    with pytest.warns(UnreliableMetricWarning, match="12 impostor"):
        acc.fnmr_at_fmr([0.001, 0.01])


@pytest.mark.filterwarnings("ignore:fmr=0.1 is below the resolution")
def test_few_genuine_comparisons_warn():
    acc = StreamingVerificationMetrics()
    acc.update(np.r_[np.ones(9), np.zeros(5)], range(14))
    for query in (
        acc.equal_error_rate,
        lambda: acc.fnmr_at_fmr(0.1),
        lambda: acc.fmr_at_fnmr(0.1),
    ):
        with pytest.warns(UnreliableMetricWarning, match="9 genuine"):
            query()
    acc.update([1], [3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acc.equal_error_rate()


# --------------------------------------------------------------------------
# resources


def test_spilled_files_are_removed(tmp_path):
    acc = StreamingVerificationMetrics(memory_budget=8, temp_dir=tmp_path)
    acc.update([1, 0, 1, 0], [0.4, 0.3, 0.2, 0.1])
    assert acc.disk_bytes == 32
    (folder,) = tmp_path.iterdir()
    assert len(list(folder.iterdir())) == 2
    acc.close()
    assert not folder.exists()
    assert acc.n_genuine == 0 and acc.disk_bytes == 0
    with StreamingVerificationMetrics(memory_budget=8, temp_dir=tmp_path) as acc:
        acc.update([1, 0], [0.4, 0.3])
        assert len(list(tmp_path.iterdir())) == 1
    assert not list(tmp_path.iterdir())
    acc = StreamingVerificationMetrics(memory_budget=8, temp_dir=tmp_path)
    acc.update([1, 0], [0.4, 0.3])
    del acc  # garbage collection removes the folder too
    assert not list(tmp_path.iterdir())


def test_memory_stays_within_the_budget(tmp_path):
    rng = np.random.default_rng(5)
    budget, chunk, n = 400_000, 50_000, 1_000_000  # 4 MB of float32 in total
    y_all = (rng.random(n) < 0.1).astype(np.int8)
    s_all = rng.standard_normal(n, dtype=np.float32) + y_all
    acc = StreamingVerificationMetrics(memory_budget=budget, temp_dir=tmp_path)
    tracemalloc.start()
    try:
        for start in range(0, n, chunk):
            acc.update(y_all[start : start + chunk], s_all[start : start + chunk])
        eer = acc.equal_error_rate()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert acc.disk_bytes > 0.8 * s_all.nbytes
    # buffered scores (budget + one chunk), a sorted copy of them while
    # spilling, and the chunk's boolean masks
    chunk_bytes = chunk * s_all.itemsize
    assert peak < 2 * (budget + chunk_bytes) + 3 * chunk
    assert peak < 0.4 * s_all.nbytes
    assert eer == equal_error_rate(y_all, s_all)
    acc.close()


def test_importing_streaming_does_not_import_torch():
    code = "import sys, skeer.metrics; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_streaming_imports_no_private_name_of_metrics():
    import ast
    from pathlib import Path

    import skeer.metrics

    tree = ast.parse(
        Path(skeer.metrics._streaming.__file__).read_text(encoding="utf-8")
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in (
            "skeer.metrics",
            "skeer.metrics._rates",
        ):
            assert all(not alias.name.startswith("_") for alias in node.names)
