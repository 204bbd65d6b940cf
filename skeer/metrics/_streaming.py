"""Exact verification metrics over scores that arrive in chunks (NumPy only)."""

import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np

from skeer._validation import check_positive_int
from skeer.metrics._checks import check_both_classes, check_comparisons
from skeer.metrics._sweep import (
    check_method,
    det_sorted,
    eer_by_method,
    fmr_at_fnmr_sorted,
    fnmr_at_fmr_by_method,
    rates_at_targets,
    warn_few_genuine,
)

__all__ = ["StreamingVerificationMetrics"]


class _ClassScores:
    """The scores of one class: sorted runs on disk and arrays in memory."""

    def __init__(self):
        self.disk = []  # sorted, read-only np.memmap runs
        self.memory = []  # read-only arrays, sorted only if memory_sorted
        self.memory_sorted = True
        self.n = 0

    @property
    def memory_bytes(self):
        return sum(a.nbytes for a in self.memory)

    @property
    def disk_bytes(self):
        return sum(a.nbytes for a in self.disk)

    def add(self, values, *, is_sorted=False):
        if len(values):
            values.flags.writeable = False  # may be shared by merged states
            self.memory.append(values)
            self.memory_sorted = (
                self.memory_sorted and is_sorted and (len(self.memory) == 1)
            )
            self.n += len(values)

    def consolidate(self):
        """Make the in-memory part one sorted run (a new array: never in place)."""
        if self.memory and not (self.memory_sorted and len(self.memory) == 1):
            merged = np.concatenate(self.memory)
            merged.sort()
            merged.flags.writeable = False
            self.memory = [merged]
        self.memory_sorted = True

    def spill(self, path):
        """Write the in-memory part as one sorted run to ``path``."""
        if not self.memory:
            return
        self.consolidate()
        run = self.memory[0]
        run.tofile(path)
        self.disk.append(np.memmap(path, dtype=run.dtype, mode="r", shape=run.shape))
        self.memory = []

    def runs(self):
        self.consolidate()
        return [*self.disk, *self.memory]


class StreamingVerificationMetrics:
    """Exact EER, FNMR@FMR, FMR@FNMR and DET points over streamed scores.

    Feed chunks with :meth:`update` (either layout of
    :func:`skeer.metrics.equal_error_rate`), combine workers with :meth:`merge` or
    ``+``, then query: each metric returns exactly what the :mod:`skeer.metrics`
    function of that name returns on all chunks concatenated (same value, warnings
    and errors; also ``ValueError`` if nothing was added or the accumulator is
    closed).

    Parameters
    ----------
    memory_budget : int, default=256 * 2**20
        Bytes of scores kept in memory; beyond it they are sorted and spilled to
        disk, one run per class (peak memory: about twice this plus one chunk).
    temp_dir : str or path-like, default=None
        Where the temporary folder goes (default: the system's); removed by
        :meth:`close`, a ``with`` block's end, or garbage collection.
    dtype : numpy float dtype, default=None
        Dtype the scores are kept in, float32 or wider; default: the first
        chunk's (float16 becomes float32, integers and booleans float64). Later
        chunks are converted only if every value survives exactly.

    Attributes
    ----------
    n_genuine, n_impostor : int
        Genuine and impostor comparisons added so far.
    dtype : numpy.dtype or None
        Dtype of the stored scores (None before the first chunk).
    disk_bytes : int
        Bytes of scores spilled to disk.
    closed : bool
        Whether :meth:`close` was called: then updates, merges and queries fail.

    Notes
    -----
    Scores are held as sorted runs (spilled ones memory-mapped) and every metric
    but the DET curve is found by a selection search touching a few pages of each
    run; :meth:`det_points` and the other ``method`` conventions need the whole
    curve in memory. Pickling carries every score, spilled ones included.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.metrics._rates import equal_error_rate
    >>> from skeer.metrics._streaming import StreamingVerificationMetrics
    >>> rng = np.random.default_rng(0)
    >>> y = (rng.random(10_000) < 0.1).astype(int)
    >>> s = rng.normal(size=10_000) + 2 * y
    >>> a = StreamingVerificationMetrics().update(y[:5_000], s[:5_000])
    >>> with StreamingVerificationMetrics() as b:
    ...     _ = b.update(y[5_000:], s[5_000:])
    ...     (a + b).equal_error_rate() == equal_error_rate(y, s)
    True
    """

    def __init__(self, *, memory_budget=256 * 2**20, temp_dir=None, dtype=None):
        memory_budget = check_positive_int(memory_budget, "memory_budget")
        if dtype is not None:
            try:
                dtype = np.dtype(dtype)
            except TypeError:
                msg = f"dtype must be a float dtype, got {dtype!r}."
                raise ValueError(msg) from None
            if dtype.kind != "f":
                raise ValueError(f"dtype must be a float dtype, got {dtype}.")
            if dtype.itemsize < 4:
                raise ValueError(
                    f"dtype must be float32 or wider, got {dtype}: NumPy's "
                    f"{dtype} sort is unreliable on some CPUs."
                )
        self.memory_budget = memory_budget
        self.temp_dir = temp_dir
        self.dtype = dtype
        self._reset()

    def _reset(self, closed=False):
        self._closed = closed
        self._genuine = _ClassScores()
        self._impostor = _ClassScores()
        self._negative = None  # impostor label seen so far: 0 or -1
        self._dir = None
        self._cleanup = None
        self._n_files = 0

    @property
    def n_genuine(self):
        return self._genuine.n

    @property
    def n_impostor(self):
        return self._impostor.n

    @property
    def disk_bytes(self):
        return self._genuine.disk_bytes + self._impostor.disk_bytes

    @property
    def closed(self):
        return self._closed

    def _check_open(self, action):
        if self._closed:
            raise ValueError(
                f"Cannot {action}: this StreamingVerificationMetrics is closed "
                "(close() was called or its with block has ended), and its "
                "comparisons are forgotten. Query it before closing it, or "
                "create a new one."
            )

    def _convert(self, scores):
        """Scores in the stored dtype (fixed by the first chunk); exact, or raise."""
        if self.dtype is None or scores.dtype == self.dtype:
            return scores
        converted = scores.astype(self.dtype)
        if not np.can_cast(scores.dtype, self.dtype, "safe") and not np.array_equal(
            converted, scores
        ):
            raise ValueError(
                f"y_score holds {scores.dtype} values that the accumulator's "
                f"{self.dtype} cannot represent exactly; create it with "
                f"dtype={scores.dtype.name!r} to keep them."
            )
        return converted

    def _check_negative(self, negative, name):
        """The impostor label from now on (0 or -1); raise if it changes."""
        if negative is None or self._negative is None:
            return self._negative if negative is None else negative
        if negative != self._negative:
            raise ValueError(
                f"{name} marks impostors with {negative} but earlier chunks used "
                f"{self._negative}: together they are not binary labels."
            )
        return negative

    def _spill_if_needed(self):
        if self._genuine.memory_bytes + self._impostor.memory_bytes <= (
            self.memory_budget
        ):
            return
        if self._dir is None:
            folder = tempfile.mkdtemp(prefix="skeer-streaming-", dir=self.temp_dir)
            self._dir = Path(folder)
            self._cleanup = weakref.finalize(
                self, shutil.rmtree, self._dir, ignore_errors=True
            )
        for name, part in (("genuine", self._genuine), ("impostor", self._impostor)):
            part.spill(self._dir / f"{name}-{self._n_files}.bin")
        self._n_files += 1

    def update(self, y_true, y_score, *, labels=None):
        """Add a chunk of comparisons (nothing is added if it is refused).

        Parameters
        ----------
        y_true, y_score, labels
            As in :func:`skeer.metrics.equal_error_rate`, the same impostor label in
            every chunk; a chunk may hold one class only, or nothing.

        Returns
        -------
        self : StreamingVerificationMetrics

        Raises
        ------
        ValueError
            On invalid inputs, a new impostor label, inexact dtype or when closed.

        Examples
        --------
        >>> from skeer.metrics._streaming import StreamingVerificationMetrics
        >>> acc = StreamingVerificationMetrics().update([1, 0, 0], [0.9, 0.2, 0.4])
        >>> acc.update([1, 1], [0.7, 0.3]).n_genuine
        3
        """
        self._check_open("update it")
        if labels is None and np.shape(y_true) == np.shape(y_score) == (0,):
            return self  # an empty chunk adds nothing
        genuine, impostor, chunk_negative = check_comparisons(
            y_true, y_score, labels, require_both=False
        )
        negative = self._check_negative(chunk_negative, "y_true")
        genuine, impostor = self._convert(genuine), self._convert(impostor)
        # every check passed: now change the state
        self.dtype, self._negative = genuine.dtype, negative
        self._genuine.add(genuine)
        self._impostor.add(impostor)
        self._spill_if_needed()
        return self

    def merge(self, other):
        """Add every comparison of another accumulator (its runs shared, not copied).

        Parameters
        ----------
        other : StreamingVerificationMetrics
            Another state, e.g. a worker's; it stays usable.

        Returns
        -------
        self : StreamingVerificationMetrics

        Raises
        ------
        TypeError
            If ``other`` is not a :class:`StreamingVerificationMetrics`.
        ValueError
            On different dtypes or impostor labels, or if either is closed.

        Examples
        --------
        >>> from skeer.metrics._streaming import StreamingVerificationMetrics
        >>> a = StreamingVerificationMetrics().update([1, 0], [0.9, 0.2])
        >>> a.merge(StreamingVerificationMetrics().update([1, 0], [0.3, 0.4])).n_genuine
        2
        """
        if not isinstance(other, StreamingVerificationMetrics):
            raise TypeError(
                "other must be a StreamingVerificationMetrics, got "
                f"{type(other).__name__}."
            )
        self._check_open("merge into it")
        if other.closed:
            raise ValueError(
                "other is closed (its comparisons are forgotten): merge it "
                "before closing it."
            )
        if (
            other.dtype is not None
            and self.dtype is not None
            and other.dtype != self.dtype
        ):
            raise ValueError(
                f"other stores {other.dtype} scores and this accumulator "
                f"{self.dtype}; create both with the same dtype."
            )
        self._negative = self._check_negative(other._negative, "other")
        if other.dtype is not None:
            self.dtype = other.dtype
        for mine, theirs in (
            (self._genuine, other._genuine),
            (self._impostor, other._impostor),
        ):
            disk, memory = list(theirs.disk), list(theirs.memory)  # other may be self
            mine.disk.extend(disk)
            mine.n += sum(len(run) for run in disk)
            for values in memory:
                mine.add(values)
        self._spill_if_needed()
        return self

    def __add__(self, other):
        if not isinstance(other, StreamingVerificationMetrics):
            return NotImplemented
        total = StreamingVerificationMetrics(
            memory_budget=self.memory_budget, temp_dir=self.temp_dir, dtype=self.dtype
        )
        return total.merge(self).merge(other)

    def __radd__(self, other):
        if isinstance(other, int) and other == 0:  # sum() starts from 0
            return self + StreamingVerificationMetrics(
                memory_budget=self.memory_budget, temp_dir=self.temp_dir
            )
        return NotImplemented

    def close(self):
        """Forget every comparison and remove the spilled files (twice does nothing).

        Examples
        --------
        >>> from skeer.metrics._streaming import StreamingVerificationMetrics
        >>> acc = StreamingVerificationMetrics().update([1, 0], [0.9, 0.2])
        >>> acc.close()
        >>> acc.n_genuine, acc.closed
        (0, True)
        """
        cleanup = self._cleanup
        self._reset(closed=True)
        if cleanup is not None:
            cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        state = {
            "memory_budget": self.memory_budget,
            "temp_dir": self.temp_dir,
            "dtype": self.dtype,
            "negative": self._negative,
            "closed": self._closed,
        }
        for name, part in (("genuine", self._genuine), ("impostor", self._impostor)):
            state[name] = [np.asarray(run) for run in part.runs()]
        return state

    def __setstate__(self, state):
        self.memory_budget = state["memory_budget"]
        self.temp_dir = state["temp_dir"]
        self.dtype = state["dtype"]
        self._reset(closed=state.get("closed", False))
        self._negative = state["negative"]
        for name, part in (("genuine", self._genuine), ("impostor", self._impostor)):
            for run in state[name]:
                part.add(np.array(run), is_sorted=len(state[name]) == 1)
        self._spill_if_needed()

    def __repr__(self):
        return (
            f"StreamingVerificationMetrics(n_genuine={self.n_genuine}, "
            f"n_impostor={self.n_impostor}, dtype={self.dtype}, "
            f"disk_bytes={self.disk_bytes})"
        )

    def _sorted(self):
        self._check_open("query it")
        if self.n_genuine + self.n_impostor == 0:
            raise ValueError("No comparison has been added yet: call update() first.")
        check_both_classes(self.n_genuine, self.n_impostor)
        return (
            self._genuine.runs(),
            self._impostor.runs(),
            self.n_genuine,
            self.n_impostor,
        )

    def equal_error_rate(self, *, method="interpolate", return_threshold=False):
        """Equal error rate of every comparison added.

        Parameters
        ----------
        method, return_threshold
            As in :func:`skeer.metrics.equal_error_rate`.

        Returns
        -------
        eer : float or tuple
            As :func:`skeer.metrics.equal_error_rate` on all chunks.

        Examples
        --------
        >>> from skeer.metrics._streaming import StreamingVerificationMetrics
        >>> acc = StreamingVerificationMetrics()
        >>> _ = acc.update([0] * 10, range(10)).update([1] * 10, range(4, 14))
        >>> acc.equal_error_rate(return_threshold=True)
        (0.3, 7.0)
        """
        method = check_method(method)
        runs = self._sorted()
        warn_few_genuine(self.n_genuine)
        eer, threshold = eer_by_method(*runs, method)
        return (eer, threshold) if return_threshold else eer

    def fnmr_at_fmr(self, fmr, *, method="interpolate"):
        """FNMR at a target FMR, over every comparison.

        Parameters
        ----------
        fmr, method
            As in :func:`skeer.metrics.fnmr_at_fmr`.

        Returns
        -------
        fnmr : float or ndarray of float
            As :func:`skeer.metrics.fnmr_at_fmr` on all chunks.

        Examples
        --------
        >>> from skeer.metrics._streaming import StreamingVerificationMetrics
        >>> acc = StreamingVerificationMetrics()
        >>> _ = acc.update([0] * 10, range(0, 20, 2)).update([1] * 10, range(10, 20))
        >>> acc.fnmr_at_fmr(0.1)
        0.7
        """
        method = check_method(method)
        return rates_at_targets(
            lambda *runs: fnmr_at_fmr_by_method(*runs, method), fmr, "fmr", self._sorted
        )

    def fmr_at_fnmr(self, fnmr):
        """Lowest FMR with an FNMR not above ``fnmr``, over every comparison.

        Parameters
        ----------
        fnmr : float or array-like of float in [0, 1]
            As in :func:`skeer.metrics.fmr_at_fnmr`.

        Returns
        -------
        fmr : float or ndarray of float
            As :func:`skeer.metrics.fmr_at_fnmr` on all chunks.

        Examples
        --------
        >>> from skeer.metrics._streaming import StreamingVerificationMetrics
        >>> acc = StreamingVerificationMetrics()
        >>> _ = acc.update([0] * 10, range(0, 20, 2)).update([1] * 10, range(10, 20))
        >>> acc.fmr_at_fnmr(0.0)
        0.5
        """
        return rates_at_targets(fmr_at_fnmr_sorted, fnmr, "fnmr", self._sorted)

    def det_points(self):
        """Every operating point of the DET curve of all comparisons (all in memory).

        Returns
        -------
        fmr, fnmr, thresholds : ndarray of float64
            As :func:`skeer.metrics.det_points` on all chunks.

        Examples
        --------
        >>> from skeer.metrics._streaming import StreamingVerificationMetrics
        >>> acc = StreamingVerificationMetrics().update([0, 1], [0.1, 0.8])
        >>> acc.det_points()[1].tolist()
        [0.0, 0.0, 1.0]
        """
        return det_sorted(*self._sorted())
