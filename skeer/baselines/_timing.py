"""Free text: per-session timing statistics, the non-learned baseline."""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array

from skeer.baselines._template import Cosine
from skeer.features._keystroke import FEATURE_NAMES, KeystrokeFeatures

_STATISTICS = ("mean", "std", "q25", "median", "q75")
_N_CHANNELS = len(FEATURE_NAMES)


class TimingStatistics(TransformerMixin, BaseEstimator):
    """Summary statistics of each session's keystroke timings.

    Stateless: the ``(n_sessions, max_len, 5)`` output of
    :class:`~skeer.KeystrokeFeatures` to ``(n_sessions, 20)``: the mean, standard
    deviation and quartiles of each timing channel, as ``sign(t) * log1p(10 * |t|)``,
    over the real keys (key channel positive). No real key gives zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer import KeystrokeFeatures
    >>> from skeer.baselines import TimingStatistics
    >>> session = np.array([[0, 90, 72], [150, 260, 73], [330, 400, 32]])
    >>> Xt = KeystrokeFeatures(max_len=5).transform([session, session])
    >>> TimingStatistics().fit_transform(Xt).shape
    (2, 20)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    def _check_X(self, X):
        X = check_array(X, dtype=np.float64, allow_nd=True, input_name="X")
        if X.ndim != 3 or X.shape[-1] != _N_CHANNELS:
            raise ValueError(
                "X must be the (n_sessions, max_len, 5) output of KeystrokeFeatures, "
                f"got an array of shape {X.shape}."
            )
        return X

    def fit(self, X, y=None):
        """Validate ``X`` (the transformer has nothing to learn).

        Parameters
        ----------
        X : array-like of shape (n_sessions, max_len, 5)
            As in :meth:`transform`.
        y : None
            Ignored.

        Returns
        -------
        self : TimingStatistics
            Unchanged.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import TimingStatistics
        >>> TimingStatistics().fit(np.zeros((2, 3, 5)))
        TimingStatistics()
        """
        self._check_X(X)
        return self

    def transform(self, X):
        """Timing statistics of each session.

        Parameters
        ----------
        X : array-like of shape (n_sessions, max_len, 5)
            Output of :class:`~skeer.KeystrokeFeatures`: four timing channels
            (seconds) then the key channel, positive for real keys.

        Returns
        -------
        Xt : ndarray of shape (n_sessions, 20), float64
            Columns as :meth:`get_feature_names_out`.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer.baselines import TimingStatistics
        >>> F = np.zeros((1, 3, 5))
        >>> F[0, :2] = [[0.1, 0.2, 0.2, 0.1, 0.3], [0.1, 0.0, 0.0, 0.0, 0.4]]
        >>> TimingStatistics().transform(F)[0, :4].round(4).tolist()
        [0.6931, 0.5493, 0.5493, 0.3466]
        """
        F = self._check_X(X)
        valid = F[..., -1] > 0
        timings = F[..., :4]
        timings = np.sign(timings) * np.log1p(10 * np.abs(timings))
        timings = np.where(valid[..., None], timings, np.nan)
        with warnings.catch_warnings():  # all-padding sessions: NaN -> 0 below
            warnings.simplefilter("ignore", RuntimeWarning)
            stats = np.concatenate(
                [
                    np.nanmean(timings, axis=1),
                    np.nanstd(timings, axis=1),
                    *np.nanpercentile(timings, [25, 50, 75], axis=1),
                ],
                axis=1,
            )
        return np.nan_to_num(stats)

    def get_feature_names_out(self, input_features=None):
        """Names of the 20 output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the 5 input channels (the first four name the timing ones).
            Default: :data:`skeer.features.FEATURE_NAMES`.

        Returns
        -------
        feature_names_out : ndarray of str objects, shape (20,)
            ``"<channel>_<statistic>"``, statistic-major (means, standard
            deviations, 25th percentiles, medians, 75th percentiles).

        Examples
        --------
        >>> from skeer.baselines import TimingStatistics
        >>> TimingStatistics().get_feature_names_out()[-1]
        'inter_key_q75'
        """
        channels = FEATURE_NAMES if input_features is None else input_features
        channels = np.asarray(channels, dtype=object)
        if channels.ndim != 1 or len(channels) != _N_CHANNELS:
            raise ValueError(
                f"input_features must name the {_N_CHANNELS} input channels, got "
                f"{input_features!r}."
            )
        return np.asarray(
            [f"{c}_{s}" for s in _STATISTICS for c in channels[:4]], dtype=object
        )


def make_timing_baseline(**feature_params):
    """The non-learned free-text baseline: timing statistics, scaled, cosine.

    ``make_pipeline(KeystrokeFeatures(**feature_params), TimingStatistics(),
    StandardScaler(), Cosine())``.

    Parameters
    ----------
    **feature_params : dict
        Parameters of :class:`~skeer.KeystrokeFeatures` (e.g. ``max_len``).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted, steps named as by :func:`~sklearn.pipeline.make_pipeline`.

    Examples
    --------
    >>> from skeer.baselines import make_timing_baseline
    >>> from skeer.datasets import make_keystrokes
    >>> X, y = make_keystrokes(n_subjects=6, n_sessions=8, random_state=0)
    >>> pipe = make_timing_baseline(max_len=30).fit(X, y)
    >>> pipe.decision_function(X[:2]).shape
    (2, 6)
    """
    return make_pipeline(
        KeystrokeFeatures(**feature_params),
        TimingStatistics(),
        StandardScaler(),
        Cosine(),
    )
