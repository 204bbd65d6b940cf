"""Synthetic free-text keystroke data with per-subject typing styles."""

import functools
import numbers
from importlib import resources

import numpy as np
from sklearn.utils import check_random_state

from skeer._validation import is_integer
from skeer.features._keys import N_KEY_CODES

__all__ = ["make_keystrokes"]

_BACKSPACE, _SHIFT, _SPACE, _COMMA, _PERIOD = 8, 16, 32, 188, 190
_LETTERS = np.arange(65, 91)
#: JavaScript key codes of the generator; position = compact key index.
_CODES = np.concatenate([_LETTERS, [_SPACE, _BACKSPACE, _SHIFT, _COMMA, _PERIOD]])
_CODE_TO_INDEX = np.full(N_KEY_CODES, -1, dtype=np.int64)
_CODE_TO_INDEX[_CODES] = np.arange(len(_CODES))

# QWERTY geometry: (x, y) key centres in key widths, and the touch-typing finger
# (0-3 left pinky..index, 4-7 right index..pinky, 8 thumb).
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_ROW_SHIFT = (0.0, 0.25, 0.75)
_FINGER_OF_COLUMN = (0, 1, 2, 3, 3, 4, 4, 5, 6, 7)


@functools.lru_cache(maxsize=1)
def _layout():
    """(positions (V, 2), finger (V,), neighbours list of letter-code arrays)."""
    pos = np.zeros((len(_CODES), 2))
    finger = np.zeros(len(_CODES), dtype=np.int64)
    for row, (letters, shift) in enumerate(zip(_ROWS, _ROW_SHIFT)):
        for col, ch in enumerate(letters):
            k = _CODE_TO_INDEX[ord(ch.upper())]
            pos[k] = (col + shift, row)
            finger[k] = _FINGER_OF_COLUMN[col]
    extra = [_SPACE, _BACKSPACE, _SHIFT, _COMMA, _PERIOD]
    pos[_CODE_TO_INDEX[extra]] = [(4.5, 3), (12.5, -1), (-1, 2), (7.75, 2), (8.75, 2)]
    finger[_CODE_TO_INDEX[extra]] = (8, 7, 0, 5, 6)
    letters = _CODE_TO_INDEX[_LETTERS]
    dist = np.linalg.norm(pos[letters][:, None] - pos[letters][None], axis=-1)
    neighbours = np.zeros((26, 26), dtype=bool)
    neighbours[(dist > 0) & (dist < 1.3)] = True
    return pos, finger, neighbours


@functools.lru_cache(maxsize=1)
def _word_table():
    """(codes, starts, lengths, n_words): each word + space, then + comma + space."""
    text = resources.files("skeer.datasets").joinpath("data/words.txt").read_text()
    words = [w.strip() for w in text.splitlines()]
    words = [w for w in words if w and not w.startswith("#")]
    plain = [np.frombuffer(w.upper().encode("ascii"), np.uint8) for w in words]
    entries = [np.append(c, _SPACE) for c in plain]
    entries += [np.append(c, (_COMMA, _SPACE)) for c in plain]
    lengths = np.array([len(e) for e in entries], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return np.concatenate(entries).astype(np.int64), starts, lengths, len(words)


def _check_int(value, name, low):
    if not is_integer(value) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _ragged_take(source, starts, lengths):
    """Concatenate ``source[s : s + n]`` for each (s, n), vectorised."""
    total = int(lengths.sum())
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    idx = np.repeat(starts - offsets, lengths) + np.arange(total)
    return source[idx]


def _subject_styles(rng, n_subjects, difficulty):
    """Per-subject typing parameters (log-ms scale unless stated)."""
    V = len(_CODES)
    pos, finger, _ = _layout()
    speed = rng.normal(size=n_subjects)
    return {
        # overall latency and hold levels (between-subject SDs as in Aalto data)
        "mu_ip": np.log(150.0) + 0.32 * speed,
        "mu_hold": np.log(100.0)
        + 0.20 * (0.3 * speed + np.sqrt(1 - 0.09) * rng.normal(size=n_subjects)),
        "hold_key": 0.15 * rng.normal(size=(n_subjects, V)),
        # per key-pair latency: finger speed, hand alternation, digraphs
        "pair": (
            0.10 * rng.normal(size=(n_subjects, 1, 9))[:, :, finger]
            + 0.12 * rng.normal(size=(n_subjects, 1, 1)) * _alternation(finger)
            + 0.20 * rng.normal(size=(n_subjects, V, V))
        ),
        # within-subject variability, scaled by difficulty
        "sigma_ip": 0.35 * difficulty * np.exp(0.2 * rng.normal(size=n_subjects)),
        "sigma_hold": 0.20 * difficulty * np.exp(0.2 * rng.normal(size=n_subjects)),
        "drift_step": 0.02 * difficulty,
        "drift_iid": 0.07 * difficulty,
        # habits of errors, pauses and shift
        "typo_rate": 0.035 * np.exp(0.5 * rng.normal(size=n_subjects)),
        "pause_word": 0.06 * np.exp(0.5 * rng.normal(size=n_subjects)),
        "pause_other": 0.01 * np.exp(0.5 * rng.normal(size=n_subjects)),
        "reaction": np.log(250.0) + 0.3 * rng.normal(size=n_subjects),
        "shift_lag": np.log(90.0) + 0.4 * rng.normal(size=n_subjects),
    }


def _alternation(finger):
    """+1 for key pairs typed by different hands, 0 otherwise (thumb neutral)."""
    hand = np.where(finger < 4, 0, np.where(finger < 8, 1, -1))
    alt = (hand[:, None] != hand[None, :]) & (hand[:, None] >= 0) & (hand[None] >= 0)
    return alt.astype(np.float64)


def _population_effects(rng):
    """Shared (not per-subject) key and key-pair effects on the log-ms scale."""
    pos, finger, _ = _layout()
    V = len(_CODES)
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    same_finger = (finger[:, None] == finger[None, :]) & (dist > 0)
    pair = (
        0.06 * np.minimum(dist, 6.0)
        + 0.35 * same_finger
        - 0.15 * _alternation(finger)
        + 0.10 * rng.normal(size=(V, V))
    )
    bs = _CODE_TO_INDEX[_BACKSPACE]
    pair[bs, bs] -= 0.35  # repeated backspace is fast
    hold = 0.08 * rng.normal(size=V)
    hold[_CODE_TO_INDEX[_SPACE]] += 0.05
    return pair, hold


def _texts(rng, lengths):
    """Key codes of each session's text (shift + words), exactly ``lengths`` keys."""
    table, starts, wlens, n_words = _word_table()
    ranks = np.arange(n_words)
    p = 1.0 / (ranks + 3.0)
    p /= p.sum()
    slack = 2 * int(wlens.max())
    need = int((lengths + slack).sum())
    n_draw = need // 3 + 100
    while True:
        words = rng.choice(n_words, size=n_draw, p=p)
        words += n_words * (rng.random(n_draw) < 0.04)  # a comma after 4 %
        bounds = np.concatenate(([0], np.cumsum(wlens[words])))
        if bounds[-1] >= need:
            break
        n_draw *= 2
    stream = _ragged_take(table, starts[words], wlens[words])
    # each session starts at a word boundary, sessions never overlap
    offsets = np.concatenate(([0], np.cumsum(lengths + slack)[:-1]))
    begin = bounds[np.searchsorted(bounds, offsets)]
    text = _ragged_take(stream, begin, lengths - 1)
    session = np.repeat(np.arange(len(lengths)), lengths - 1)
    # prepend the shift key of the capital first letter
    firsts = np.concatenate(([0], np.cumsum(lengths - 1)[:-1]))
    text = np.insert(text, firsts, _SHIFT)
    session = np.insert(session, firsts, np.arange(len(lengths)))
    return text, session


def _add_typos(rng, codes, session, subject, typo_rate):
    """Insert corrected typos -> codes, session, kind (0, error 1, BS 2, retyped 3)."""
    _, _, neighbours = _layout()
    kind = np.zeros(len(codes), dtype=np.int8)
    is_letter = (codes >= 65) & (codes <= 90)
    hit = np.flatnonzero(is_letter & (rng.random(len(codes)) < typo_rate[subject]))
    if hit.size == 0:
        return codes, session, kind
    # wrong key: a random neighbour of the intended letter
    letter = codes[hit] - 65
    cand = neighbours[letter]
    cum = np.cumsum(cand, axis=1)
    choice = (rng.random(hit.size) * cum[:, -1]).astype(np.int64)
    wrong = 65 + (cum > choice[:, None]).argmax(axis=1)
    # noticed at once ([wrong, BS]) or one key later ([wrong, next, BS, BS])
    nxt = np.minimum(hit + 1, len(codes) - 1)
    late = (
        (rng.random(hit.size) < 0.3)
        & (hit + 1 < len(codes))
        & (session[nxt] == session[hit])
    )
    seg_len = np.where(late, 4, 2)
    where = np.repeat(hit, seg_len)
    first = np.concatenate(([0], np.cumsum(seg_len)[:-1]))
    values = np.full(int(seg_len.sum()), _BACKSPACE, dtype=codes.dtype)
    kinds = np.full(values.size, 2, dtype=np.int8)
    values[first] = wrong
    kinds[first] = 1
    values[first[late] + 1] = codes[nxt[late]]
    kinds[first[late] + 1] = 1
    kind[hit] = 3
    codes = np.insert(codes, where, values)
    kind = np.insert(kind, where, kinds)
    session = np.insert(session, where, session[where])
    return codes, session, kind


def make_keystrokes(
    n_subjects=100,
    n_sessions=15,
    *,
    n_keys=(30, 70),
    difficulty=1.0,
    random_state=None,
):
    """Generate synthetic free-text keystroke sessions of many typists.

    Each subject has a typing style (speed, key holds, key-pair latencies,
    typos corrected with backspace, pauses, shift); sessions are short texts of
    common English words, with log-normal timing noise and drift.

    Parameters
    ----------
    n_subjects : int, default=100
        Number of typists (identities).
    n_sessions : int, default=15
        Sessions per subject, in chronological order.
    n_keys : int or tuple of (int, int), default=(30, 70)
        Keys per session (at least 2): a fixed number, or a (low, high) range
        drawn log-uniformly (median about 46 by default, as in Aalto data).
    difficulty : float, default=1.0
        Scale of the timing noise and drift within a subject (0: none; larger
        values make subjects harder to tell apart).
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : list of ndarray of shape (n_keys, 3), dtype float64
        Sessions: press time (whole ms, from 0), release time (ms), JavaScript
        key code.
    y : ndarray of shape (n_subjects * n_sessions,), dtype int64
        Subject of each session, grouped by subject in chronological order.

    Raises
    ------
    ValueError
        If a parameter is out of range.

    Notes
    -----
    Statistics follow the Aalto 136M desktop data. A non-learned baseline
    under :func:`~skeer.evaluation.evaluate_verification` has an EER of about
    18 % (13 % with ``difficulty=0.5``, 27 % with ``difficulty=2``).

    Examples
    --------
    >>> from skeer.datasets import make_keystrokes
    >>> X, y = make_keystrokes(n_subjects=3, n_sessions=4, random_state=0)
    >>> len(X), y.tolist()
    (12, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    """
    n_subjects = _check_int(n_subjects, "n_subjects", 1)
    n_sessions = _check_int(n_sessions, "n_sessions", 1)
    if is_integer(n_keys):
        low = high = _check_int(n_keys, "n_keys", 2)
    else:
        try:
            low, high = n_keys
        except (TypeError, ValueError):
            raise ValueError(
                f"n_keys must be an integer or a (low, high) pair, got {n_keys!r}."
            ) from None
        low = _check_int(low, "n_keys[0]", 2)
        high = _check_int(high, "n_keys[1]", 2)
        if high < low:
            raise ValueError(f"n_keys must have low <= high, got {n_keys!r}.")
    if (
        not isinstance(difficulty, numbers.Real)
        or isinstance(difficulty, bool)
        or not np.isfinite(difficulty)
        or difficulty < 0
    ):
        raise ValueError(
            f"difficulty must be a finite number >= 0, got {difficulty!r}."
        )
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)

    n_total = n_subjects * n_sessions
    pop_pair, pop_hold = _population_effects(rng)
    style = _subject_styles(rng, n_subjects, float(difficulty))
    lengths = np.exp(rng.uniform(np.log(low), np.log(high + 1), size=n_total))
    lengths = np.clip(lengths.astype(np.int64), low, high)

    # text with typos, cut to exactly `lengths` keys per session
    codes, session = _texts(rng, lengths)
    codes, session, kind = _add_typos(
        rng, codes, session, session // n_sessions, style["typo_rate"]
    )
    starts = np.concatenate(([0], np.cumsum(np.bincount(session))[:-1]))
    pos = np.arange(len(codes)) - starts[session]
    keep = pos < lengths[session]
    codes, session, kind = codes[keep], session[keep], kind[keep]
    n = len(codes)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    subject = session // n_sessions
    k = _CODE_TO_INDEX[codes]

    # session drift of speed: a random walk plus session-level jitter
    walk = np.cumsum(
        style["drift_step"] * rng.normal(size=(n_subjects, n_sessions)), axis=1
    )
    drift = (walk + style["drift_iid"] * rng.normal(size=walk.shape)).ravel()
    drift_hold = 0.5 * drift + 0.5 * style["drift_iid"] * rng.normal(size=n_total)

    # latency from each key to the next one (assigned to the next key)
    a, b, u = k[:-1], k[1:], subject[:-1]
    log_ip = (
        style["mu_ip"][u]
        + drift[session[:-1]]
        + pop_pair[a, b]
        + style["pair"][u, a, b]
        + style["sigma_ip"][u] * rng.normal(size=n - 1)
    )
    ip = np.exp(log_ip)
    after_space = codes[:-1] == _SPACE
    p_pause = np.where(after_space, style["pause_word"][u], style["pause_other"][u])
    pause = rng.random(n - 1) < p_pause
    ip[pause] += np.exp(np.log(500.0) + 0.7 * rng.normal(size=int(pause.sum())))
    noticed = (kind[1:] == 2) & (kind[:-1] != 2)
    ip[noticed] += np.exp(
        style["reaction"][u[noticed]] + 0.3 * rng.normal(size=int(noticed.sum()))
    )
    ip = np.clip(ip, 10.0, 20_000.0)
    step = np.zeros(n)
    step[1:] = np.rint(ip)
    step[starts] = 0.0
    cum = np.cumsum(step)
    press = cum - cum[starts][session]

    hold = np.exp(
        style["mu_hold"][subject]
        + drift_hold[session]
        + pop_hold[k]
        + style["hold_key"][subject, k]
        + style["sigma_hold"][subject] * rng.normal(size=n)
    )
    shift = np.flatnonzero(codes[:-1] == _SHIFT)
    hold[shift] = step[shift + 1] + np.exp(
        style["shift_lag"][subject[shift]] + 0.3 * rng.normal(size=shift.size)
    )
    release = press + np.maximum(np.rint(np.clip(hold, 15.0, 5_000.0)), 1.0)

    data = np.column_stack([press, release, codes.astype(np.float64)])
    X = np.split(data, starts[1:])
    y = np.repeat(np.arange(n_subjects, dtype=np.int64), n_sessions)
    return X, y
