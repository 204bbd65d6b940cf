"""Load any supported dataset from a spec (``skeer --data``), and select subjects."""

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.utils import Bunch, _safe_indexing

from skeer._validation import check_positive_int
from skeer.datasets._aalto import load_aalto
from skeer.datasets._cmu import load_cmu
from skeer.datasets._greyc import load_greyc_nislab
from skeer.datasets._kvc import load_kvc
from skeer.datasets._synthetic import make_keystrokes

__all__ = ["load_dataset", "select_subjects"]


class _Format(NamedTuple):
    """How one data format loads, and what its data need downstream."""

    load: Callable  # load(path, **options) -> Bunch
    describe: Callable  # describe(path, loaded, **options) -> str
    per_sample: tuple = ()  # per-sample arrays returned besides data/target
    fixed_text: bool = False  # fixed-text vectors (an MLP network)
    protocol: dict = {}  # keyword arguments of its evaluation protocol
    groups: str | None = None  # the per-sample array the protocol runs within


#: The one table of dataset formats: a new loader is its module and one row here.
#: Fixed text: CMU enrols 200 of 400 repetitions as the paper; GREYC-NISLAB runs
#: within each typing condition (groups), 5 of its 10 repetitions enrol.
_TABLE = {
    "aalto": _Format(
        lambda path, *, cache, **_: load_aalto(path, cache=cache),
        lambda path, loaded, **_: f"Aalto 136M ({path})",
        ("session", "sentence", "user_input"),
    ),
    "kvc": _Format(
        lambda path, *, scenario, **_: load_kvc(path, scenario=scenario),
        lambda path, loaded, *, scenario, **_: (
            f"KVC-onGoing {scenario} dev set ({path})"
        ),
        ("session",),
    ),
    "cmu": _Format(
        lambda path, **_: load_cmu(path),
        lambda path, loaded, **_: f"CMU fixed text ({path})",
        ("session", "rep"),
        fixed_text=True,
        protocol={"n_train": 200},
    ),
    "greyc": _Format(
        lambda path, *, passphrase, **_: load_greyc_nislab(path, passphrase=passphrase),
        lambda path, loaded, **_: (
            f"GREYC-NISLAB fixed text, {loaded.sheet} {loaded.passphrase!r} ({path})"
        ),
        ("rep", "condition"),
        fixed_text=True,
        protocol={"n_train": 5},
        groups="condition",
    ),
}
FORMATS = ("synthetic", *_TABLE)
FIXED_TEXT = tuple(k for k, f in _TABLE.items() if f.fixed_text)


def _parse_spec(spec):
    """``(kind, path or None)`` of a dataset spec; ValueError if malformed."""
    if not isinstance(spec, str):
        raise ValueError(
            f"a dataset spec is a string such as 'synthetic' or 'aalto:PATH', "
            f"got {spec!r}"
        )
    kind, sep, path = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in FORMATS:
        expected = ", ".join(["synthetic"] + [f"{k}:PATH" for k in _TABLE])
        raise ValueError(f"unknown data format {spec!r}; expected {expected}")
    if kind == "synthetic":
        if path:
            raise ValueError("'synthetic' takes no path")
        return "synthetic", None
    if not sep or not path:
        raise ValueError(f"{kind} data need a path: {kind}:PATH")
    return kind, path


def _selection(y, n_subjects=None, n_per_subject=None):
    """Indices (sorted) of the first subjects' first samples."""
    y = np.asarray(y)
    keep = np.ones(len(y), dtype=bool)
    if n_subjects is not None:
        _, first = np.unique(y, return_index=True)
        keep &= np.isin(y, y[np.sort(first)][:n_subjects])
    if n_per_subject is not None:
        _, inverse = np.unique(y, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        counts = np.bincount(inverse)
        rank = np.empty(len(y), dtype=np.int64)
        rank[order] = np.arange(len(y)) - np.repeat(np.cumsum(counts) - counts, counts)
        keep &= rank < n_per_subject
    return np.flatnonzero(keep)


def select_subjects(X, y, *, n_subjects=None, n_per_subject=None):
    """Keep the first subjects, and the first samples of each subject.

    Subjects count in order of first appearance; samples keep their order.

    Parameters
    ----------
    X : sequence or array-like of length n_samples
        Samples: a list of sessions or an array of fixed-text vectors.
    y : array-like of shape (n_samples,)
        Subject of each sample.
    n_subjects : int, default=None
        Keep the first ``n_subjects`` subjects (None: all).
    n_per_subject : int, default=None
        Keep each kept subject's first ``n_per_subject`` samples (None: all).

    Returns
    -------
    X_subset : same kind as X
        The selected samples, in their original order.
    y_subset : ndarray
        Their subjects.

    Raises
    ------
    ValueError
        If ``X`` and ``y`` differ in length or a count is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.datasets import select_subjects
    >>> X = np.arange(8).reshape(-1, 1)
    >>> y = np.array([7, 7, 7, 3, 3, 3, 5, 5])
    >>> X_sub, y_sub = select_subjects(X, y, n_subjects=2, n_per_subject=2)
    >>> X_sub.ravel().tolist(), y_sub.tolist()
    ([0, 1, 3, 4], [7, 7, 3, 3])
    """
    n_subjects = check_positive_int(n_subjects, "n_subjects", allow_none=True)
    n_per_subject = check_positive_int(n_per_subject, "n_per_subject", allow_none=True)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"y must be 1-D with one subject per sample of X ({len(X)}), got shape "
            f"{y.shape}."
        )
    idx = _selection(y, n_subjects, n_per_subject)
    return _safe_indexing(X, idx), y[idx]


def load_dataset(
    spec,
    *,
    scenario="desktop",
    passphrase="P1",
    n_subjects=None,
    n_sessions=15,
    cache=True,
    random_state=0,
):
    """Load a dataset named by a spec such as ``"synthetic"`` or ``"cmu:PATH"``.

    The same fields come back whatever the format (``skeer --data``).

    Parameters
    ----------
    spec : str
        ``"synthetic"`` (:func:`make_keystrokes`), ``"aalto:PATH"``,
        ``"kvc:PATH"`` (the development set), ``"cmu:PATH"`` or
        ``"greyc:PATH"`` (:func:`load_greyc_nislab`); the format name is
        case-insensitive.
    scenario : {"desktop", "mobile"}, default="desktop"
        KVC-onGoing scenario; ignored by the other formats.
    passphrase : str, default="P1"
        GREYC-NISLAB passphrase (sheet or text); ignored by the others.
    n_subjects : int, default=None
        Synthetic data: subjects generated (None: 100). Other data: keep the
        first ``n_subjects`` subjects (None: all).
    n_sessions : int, default=15
        Synthetic data: sessions per subject; ignored by the others.
    cache : bool, default=True
        Aalto data: use :func:`load_aalto`'s cache; ignored by the others.
    random_state : int, RandomState instance or None, default=0
        Synthetic data: the generator's seed; ignored by the others.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        ``data`` (free-text sessions or fixed-text float64 vectors),
        ``target``, ``fixed_text`` (True for ``cmu`` and ``greyc``: use an
        :class:`~skeer.networks.MLPEmbedder`), ``protocol`` (keyword arguments
        of :func:`~skeer.evaluation.evaluate_fixed_text`: ``n_train`` 200 for
        ``cmu``, 5 for ``greyc``), ``groups`` (``greyc``'s ``condition``, else
        None), ``description`` (one line), ``spec`` and ``kind``; then the
        loader's per-sample arrays (e.g. ``session``, ``frame``), selected like
        ``data``, and its other fields (e.g. ``DESCR``).

    Raises
    ------
    ValueError
        If the spec, a count or the file is invalid (the loader's message).
    FileNotFoundError
        If the spec's path does not exist.

    Examples
    --------
    >>> from skeer.datasets import load_dataset
    >>> ds = load_dataset("synthetic", n_subjects=4, n_sessions=3)
    >>> len(ds.data), ds.fixed_text, ds.description
    (12, False, 'synthetic (4 subjects x 3 sessions)')
    """
    kind, path = _parse_spec(spec)
    n_subjects = check_positive_int(n_subjects, "n_subjects", allow_none=True)
    if kind == "synthetic":
        kwargs = {} if n_subjects is None else {"n_subjects": n_subjects}
        X, y = make_keystrokes(
            n_sessions=n_sessions, random_state=random_state, **kwargs
        )
        n = len(np.unique(y))
        return Bunch(
            data=X,
            target=y,
            fixed_text=False,
            protocol={},
            groups=None,
            description=f"synthetic ({n} subjects x {n_sessions} sessions)",
            spec="synthetic",
            kind="synthetic",
        )
    if not Path(path).expanduser().exists():
        raise FileNotFoundError(f"{kind} data: no such file or folder: {path!r}")
    fmt = _TABLE[kind]
    options = dict(scenario=scenario, passphrase=passphrase, cache=cache)
    loaded = fmt.load(path, **options)
    description = fmt.describe(path, loaded, **options)
    y = np.asarray(loaded.target)
    per_sample = {k: loaded[k] for k in fmt.per_sample if k in loaded}
    frame = loaded.get("frame")
    if frame is not None and len(frame) == len(y):
        per_sample["frame"] = frame
    others = {
        k: v
        for k, v in loaded.items()
        if k not in per_sample and k not in ("data", "target", "frame")
    }
    X = loaded.data
    if n_subjects is not None:
        idx = _selection(y, n_subjects)
        X, y = _safe_indexing(X, idx), y[idx]
        per_sample = {
            k: v.iloc[idx].reset_index(drop=True)
            if k == "frame"
            else np.asarray(v)[idx]
            for k, v in per_sample.items()
        }
        description += f", first {n_subjects} subjects"
    groups = per_sample.get(fmt.groups)
    return Bunch(
        data=X,
        target=y,
        fixed_text=fmt.fixed_text,
        protocol=dict(fmt.protocol),
        groups=None if groups is None else np.asarray(groups).copy(),
        description=description,
        spec=f"{kind}:{path}",
        kind=kind,
        **per_sample,
        **others,
    )
