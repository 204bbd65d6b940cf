"""Keystroke features: raw typing sessions to padded float32 latency sequences."""

import numbers

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_array, validate_data

from skeer._validation import check_positive_int
from skeer.features import _keys as _keys
from skeer.features._sessions import (
    _is_fixed_text_frame,
    _is_frame,
    _missing_columns,
    _session_list,
    sessions_from_frame,
)

__all__ = [
    "FEATURE_NAMES",
    "KeystrokeFeatures",
    "key_codes",
    "sequence_lengths",
]

#: Names of the output channels of :class:`KeystrokeFeatures`, in order.
FEATURE_NAMES = ("hold", "inter_press", "inter_release", "inter_key", "key")
#: The largest ``max_len`` a model file may set (sessions are hundreds of keys).
MAX_LEN_LOADED = 100_000


def _check_3d(Xt):
    Xt = np.asarray(Xt)
    if Xt.ndim != 3:
        raise ValueError(
            f"Xt must be 3-D (n_sessions, max_len, n_features), got shape {Xt.shape}."
        )
    return Xt


def sequence_lengths(Xt, *, key_channel=-1):
    """Return the true number of keys of each padded feature sequence.

    Parameters
    ----------
    Xt : array-like of shape (n_sessions, max_len, n_features)
        Output of :class:`KeystrokeFeatures`.
    key_channel : int, default=-1
        Index of the key channel on the last axis.

    Returns
    -------
    lengths : ndarray of shape (n_sessions,), dtype int64
        One past the last row whose key channel is non-zero (for the output of
        :class:`KeystrokeFeatures`, the number of real keys).

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.features._keystroke import KeystrokeFeatures, sequence_lengths
    >>> session = np.array([[0, 90, 72], [150, 260, 73], [330, 400, 32]])
    >>> sequence_lengths(KeystrokeFeatures(max_len=5).transform([session]))
    array([3])
    """
    return _keys.sequence_lengths(_check_3d(Xt)[..., [key_channel]])


def key_codes(Xt, *, key_channel=-1):
    """Recover the integer key codes of padded feature sequences.

    Parameters
    ----------
    Xt, key_channel
        As in :func:`sequence_lengths`.

    Returns
    -------
    codes : ndarray of shape (n_sessions, max_len), dtype int64
        ``round(key * 256) - 1``: the key code (clipped to [0, 255]) of each
        real key, and -1 on padding rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.features._keystroke import KeystrokeFeatures, key_codes
    >>> session = np.array([[0, 90, 72], [150, 260, 73]])
    >>> key_codes(KeystrokeFeatures(max_len=3).transform([session]))
    array([[72, 73, -1]])
    """
    return _keys.decode_key_codes(_check_3d(Xt)[..., key_channel])


def _featurize(sessions, max_len, clip):
    """Validate sessions and build the (n, max_len, 5) float32 tensor."""
    n = len(sessions)
    lengths = np.fromiter((len(s) for s in sessions), dtype=np.int64, count=n)
    short = np.flatnonzero(lengths < 2)
    if short.size:
        i = short[0]
        raise ValueError(
            f"X[{i}] has {lengths[i]} key(s); a session needs at least 2 keys "
            f"({short.size} session(s) too short)."
        )
    flat = np.concatenate(sessions)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    sess = np.repeat(np.arange(n), lengths)
    pos = np.arange(len(flat)) - starts[sess]

    def fail(rows, fault):
        r = rows[0]
        i, j = sess[r], pos[r]
        bad = np.unique(sess[rows]).size
        raise ValueError(
            f"X[{i}] is invalid: {fault} at key {j} ({bad} invalid session(s) "
            "of this kind)."
        )

    bad = np.flatnonzero(~np.isfinite(flat).all(axis=1))
    if bad.size:
        fail(bad, "NaN or infinite value")
    press, release, code = flat[:, 0], flat[:, 1], flat[:, 2]
    hold = release - press
    bad = np.flatnonzero(hold < 0)
    if bad.size:
        fail(bad, "release time before press time")
    step = np.diff(press)
    bad = np.flatnonzero((step < 0) & (sess[1:] == sess[:-1])) + 1
    if bad.size:
        fail(bad, "press times go backwards (keys must be in typing order)")

    kept = np.minimum(lengths, max_len)[sess]
    keep = pos < kept
    has_next = (pos[:-1] + 1) < kept[:-1]
    feats = np.zeros((len(flat), 5), dtype=np.float64)
    feats[:, 0] = hold
    feats[:-1, 1] = np.where(has_next, step, 0.0)
    feats[:-1, 2] = np.where(has_next, np.diff(release), 0.0)
    feats[:-1, 3] = np.where(has_next, press[1:] - release[:-1], 0.0)
    feats[:, :4] /= 1000.0
    if clip is not None:
        np.clip(feats[:, :4], -clip, clip, out=feats[:, :4])
    feats[:, 4] = _keys.encode_key_codes(code)
    out = np.zeros((n, max_len, 5), dtype=np.float32)
    out[sess[keep], pos[keep]] = feats[keep]
    return out


class KeystrokeFeatures(TransformerMixin, BaseEstimator):
    """Turn keystroke sessions into padded latency sequences.

    A stateless transformer: each session of shape ``(n_keys, 3)`` (press ms,
    release ms, key code) becomes ``max_len`` rows of 5 channels: ``hold``,
    ``inter_press``, ``inter_release``, ``inter_key`` (seconds) and ``key``
    (``(code + 1) / 256``). Sessions longer than ``max_len`` keep their first
    ``max_len`` keys (the session is cut first, so the last kept key's
    latencies are 0); shorter ones are zero-padded at the end.

    Parameters
    ----------
    max_len : int, default=50
        Number of keys of each output sequence.
    clip : float or None, default=5.0
        Clip the timing channels to ``[-clip, clip]`` seconds; None: no clipping.
    subject_col, session_col : str, default="subject", "session"
        Identity and session columns of a long-format DataFrame ``X``;
        ``subject_col=None`` groups by session alone.
    press_col, release_col, keycode_col : str, default="press", "release", \
            "keycode"
        Press time (ms), release time (ms) and key-code columns of a
        long-format DataFrame ``X``.

    Attributes
    ----------
    n_features_in_ : int
        Number of features, set only by ``fit`` on fixed-text vectors.

    See Also
    --------
    sessions_from_frame : Split a long-format DataFrame into sessions.
    sequence_lengths : True length of each output sequence.
    key_codes : Integer key codes of the output sequences.

    Notes
    -----
    ``X`` is taken to be, in this order: (1) a long-format keystroke DataFrame
    with the ``*_col`` columns (see :func:`sessions_from_frame`), sessions in
    the order of their first row; a numeric DataFrame with no column named like
    a keystroke or id column (e.g. ``load_cmu(path, as_frame=True).data``) is
    case 3, any other is refused; (2) a 3-D array, or a sequence whose first
    element is 2-D: sessions; (3) anything else: fixed-text vectors
    ``(n_samples, n_features)``, validated (float32, finite), otherwise unchanged.
    To transform one session, pass ``[session]``.

    An invalid session (non-finite, under 2 keys, a release before its press,
    press times going backwards) raises a ValueError naming its index. ``fit``
    only validates; ``transform`` works unfitted.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer import KeystrokeFeatures
    >>> session = np.array([[0, 90, 72], [150, 260, 73], [330, 400, 32]])
    >>> Xt = KeystrokeFeatures(max_len=4).fit_transform([session])
    >>> np.round(Xt[0], 3)
    array([[0.09 , 0.15 , 0.17 , 0.06 , 0.285],
           [0.11 , 0.18 , 0.14 , 0.07 , 0.289],
           [0.07 , 0.   , 0.   , 0.   , 0.129],
           [0.   , 0.   , 0.   , 0.   , 0.   ]], dtype=float32)
    """

    def __init__(
        self,
        max_len=50,
        *,
        clip=5.0,
        subject_col="subject",
        session_col="session",
        press_col="press",
        release_col="release",
        keycode_col="keycode",
    ):
        self.max_len = max_len
        self.clip = clip
        self.subject_col = subject_col
        self.session_col = session_col
        self.press_col = press_col
        self.release_col = release_col
        self.keycode_col = keycode_col

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _check_params(self):
        check_positive_int(self.max_len, "max_len")
        if self.clip is not None and (
            not isinstance(self.clip, numbers.Real)
            or isinstance(self.clip, bool)
            or not np.isfinite(self.clip)
            or self.clip <= 0
        ):
            raise ValueError(
                f"clip must be a positive number of seconds or None, got {self.clip!r}."
            )
        for key in ("session", "press", "release", "keycode", "subject"):
            value, optional = getattr(self, f"{key}_col"), key == "subject"
            if not isinstance(value, str) and not (optional and value is None):
                raise ValueError(
                    f"{key}_col must be a column name (str)"
                    f"{' or None' if optional else ''}, got {value!r}."
                )

    def _columns(self):
        """The ``*_col`` parameters, by parameter name."""
        names = ("subject", "session", "press", "release", "keycode")
        return {f"{k}_col": getattr(self, f"{k}_col") for k in names}

    def _check_frame(self, X):
        """Refuse a DataFrame lacking a named column, listing the ones it has."""
        missing = _missing_columns(X, self._columns())
        if missing:
            shown = [str(c) for c in X.columns[:20]]
            more = f" and {len(X.columns) - 20} more" if len(X.columns) > 20 else ""
            raise ValueError(
                f"X is a DataFrame without the column(s) {', '.join(missing)}; "
                f"its columns are {shown}{more}. A DataFrame must be long-format "
                "keystrokes (one row a key): name its columns with subject_col, "
                "session_col, press_col, release_col and keycode_col "
                "(subject_col=None groups by session alone). Pass fixed-text "
                "vectors as an array (X.to_numpy())."
            )

    def _kind(self, X):
        """'frame', 'sessions' or 'fixed' (see the class Notes)."""
        if _is_frame(X):
            if _is_fixed_text_frame(X, self):
                return "fixed"
            self._check_frame(X)
            return "frame"
        if sparse.issparse(X):
            return "fixed"
        if not isinstance(X, list | tuple) and hasattr(X, "__array__"):
            X = np.asarray(X)
            if X.dtype == object and X.ndim == 1:
                return "sessions"
            return "sessions" if X.ndim == 3 else "fixed"
        try:
            first = X[0]
        except (TypeError, KeyError, IndexError):
            return "fixed"
        return "sessions" if np.ndim(first) == 2 else "fixed"

    def _sessions(self, X, kind):
        if kind == "frame":
            columns = {k[:-4]: v for k, v in self._columns().items()}
            return sessions_from_frame(X, **columns)[0]
        return _session_list(X)

    def fit(self, X, y=None):
        """Validate ``X`` (the transformer has nothing to learn).

        Parameters
        ----------
        X : sequence of array-like, DataFrame, or array-like
            As in :meth:`transform`.
        y : None
            Ignored.

        Returns
        -------
        self : KeystrokeFeatures
            Sets ``n_features_in_`` for fixed-text vectors only.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeFeatures
        >>> KeystrokeFeatures().fit(np.ones((3, 4))).n_features_in_
        4
        """
        self._check_params()
        kind = self._kind(X)
        if kind == "fixed":
            validate_data(self, X, reset=True, dtype=np.float32)
            return self
        for attr in ("n_features_in_", "feature_names_in_"):
            self.__dict__.pop(attr, None)
        _featurize(self._sessions(X, kind), 2, None)
        return self

    def transform(self, X):
        """Featurise sessions, or validate fixed-text vectors.

        Parameters
        ----------
        X : sequence of array-like of shape (n_keys, 3), DataFrame, or \
                array-like of shape (n_samples, n_features)
            Sessions, a long-format DataFrame or fixed-text vectors (see Notes
            of the class).

        Returns
        -------
        Xt : ndarray of shape (n_sessions, max_len, 5) or (n_samples, \
                n_features), dtype float32
            Padded feature sequences, or the validated fixed-text vectors.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeFeatures
        >>> sessions = [np.array([[0, 80, 65], [100, 190, 66]])] * 3
        >>> KeystrokeFeatures(max_len=10).transform(sessions).shape
        (3, 10, 5)
        """
        self._check_params()
        kind = self._kind(X)
        if kind == "fixed":
            if hasattr(self, "n_features_in_"):
                return validate_data(self, X, reset=False, dtype=np.float32)
            return check_array(X, dtype=np.float32)
        output = getattr(self, "_sklearn_output_config", {}).get("transform")
        if output not in (None, "default"):
            raise ValueError(
                f"set_output(transform={output!r}) cannot hold the 3-D "
                "(n_sessions, max_len, 5) output of keystroke sessions: a "
                "DataFrame is 2-D. Use set_output(transform='default') for "
                "sessions (pandas output works for fixed-text vectors)."
            )
        return _featurize(self._sessions(X, kind), self.max_len, self.clip)

    def _check_loaded_state(self):
        """Bound a loaded ``max_len`` (it sizes every output) before any allocation."""
        if (
            not isinstance(self.max_len, int)
            or isinstance(self.max_len, bool)  # True would load as max_len 1
            or not 1 <= self.max_len <= MAX_LEN_LOADED
        ):
            raise ValueError(
                f"KeystrokeFeatures' max_len is {self.max_len!r}, not an integer in "
                f"[1, {MAX_LEN_LOADED}]"
            )

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Fixed-text input names (one-to-one). Ignored for sessions.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The input names when fitted on fixed-text vectors, else
            :data:`FEATURE_NAMES` (the channels of the last output axis).

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeFeatures
        >>> KeystrokeFeatures().fit(np.ones((2, 3))).get_feature_names_out().tolist()
        ['x0', 'x1', 'x2']
        """
        if hasattr(self, "n_features_in_"):
            return OneToOneFeatureMixin.get_feature_names_out(self, input_features)
        return np.asarray(FEATURE_NAMES, dtype=object)
