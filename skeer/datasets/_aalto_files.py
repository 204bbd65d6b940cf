"""Parsing the raw Aalto "136M Keystrokes" files into sessions, counting drops."""

import csv
import functools
import io
from collections import Counter

import numpy as np

from skeer.datasets import _archive

_COLUMNS = ("PARTICIPANT_ID", "TEST_SECTION_ID", "SENTENCE", "USER_INPUT")
_COLUMNS += ("KEYSTROKE_ID", "PRESS_TIME", "RELEASE_TIME", "LETTER", "KEYCODE")
_NUMERIC = ("PARTICIPANT_ID", "TEST_SECTION_ID", "PRESS_TIME", "RELEASE_TIME")
_NUMERIC += ("KEYCODE",)
_TEXT = ("SENTENCE", "USER_INPUT")
_SUFFIX = "_keystrokes.txt"
_CHUNK_BYTES = 32 * 2**20  # text parsed per pandas call
_MIN_CHUNK_BYTES = 2**20  # smallest task handed to a worker

_ROW_REASONS = ("malformed", "release before press")
_SESSION_REASONS = ("fewer than 2 keys", "press times going backwards")
_FILE_REASONS = ("empty", "no Aalto header line", "header line only")
_FILE_REASONS += ("UTF-16 that does not decode",)
_LABELS = {r: f"with {r}" for r in ("release before press", *_SESSION_REASONS)}


def _split_header(raw):
    """-> (columns tuple or None, body bytes ending with a newline)."""
    nl = raw.find(b"\n")
    first, body = (raw, b"") if nl < 0 else (raw[:nl], raw[nl + 1 :])
    first = first.rstrip(b"\r")
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    columns = tuple(c.strip() for c in first.decode("latin-1").split("\t"))
    if not set(_NUMERIC + _TEXT) <= set(columns):
        return None, b""
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return columns, body


def _fix_text(s):
    """Latin-1 decoded text: re-decode as UTF-8 when it was UTF-8 after all."""
    if s.isascii():
        return s
    try:
        return s.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return s


def _empty_part():
    ints = {k: np.empty(0, np.int64) for k in ("pid", "sid", "length")}
    texts = {k: np.empty(0, object) for k in ("sentence", "user_input")}
    return {"keys": np.empty((0, 3)), **ints, **texts}


def _parse_buffer(buf, columns):
    """Parse concatenated bodies sharing one header -> (runs part, row counts)."""
    import pandas as pd

    n_fields = len(columns)
    counts = Counter()
    if b"\r" in buf:
        buf = buf.replace(b"\r\n", b"\n")
    n_lines = buf.count(b"\n")
    if buf.count(b"\t") != (n_fields - 1) * n_lines:
        # keep only the lines with exactly n_fields fields (blank ones hold no data)
        kept = []
        for line in buf.split(b"\n")[:-1]:
            if line.count(b"\t") == n_fields - 1:
                kept.append(line)
            elif line.strip():
                counts["malformed"] += 1
        buf = b"\n".join(kept) + b"\n" if kept else b""
    if not buf:
        return _empty_part(), counts

    idx = {c: columns.index(c) for c in _NUMERIC + _TEXT}
    df = pd.read_csv(
        io.BytesIO(buf),
        sep="\t",
        header=None,
        names=range(n_fields),
        usecols=sorted(idx.values()),
        dtype={idx[c]: "category" for c in _TEXT},
        quoting=csv.QUOTE_NONE,
        encoding="latin-1",
        engine="c",
        lineterminator="\n",
        skip_blank_lines=False,
        keep_default_na=False,
        na_values=[""],
    )
    num = {}
    for c in _NUMERIC:
        col = df[idx[c]]
        if not pd.api.types.is_numeric_dtype(col.dtype):
            col = pd.to_numeric(col, errors="coerce")
        num[c] = col.to_numpy(np.float64, na_value=np.nan)
    pid, sid = num["PARTICIPANT_ID"], num["TEST_SECTION_ID"]
    press, release = num["PRESS_TIME"], num["RELEASE_TIME"]
    ok = np.isfinite(np.column_stack(list(num.values()))).all(axis=1)
    ok &= (pid == np.floor(pid)) & (sid == np.floor(sid))
    counts["malformed"] += int(np.count_nonzero(~ok))
    backwards = ok & (release < press)
    counts["release before press"] += int(np.count_nonzero(backwards))
    ok &= ~backwards
    rows = np.flatnonzero(ok)
    if not len(rows):
        return _empty_part(), counts

    pid, sid = pid[rows].astype(np.int64), sid[rows].astype(np.int64)
    keys = np.column_stack([press[rows], release[rows], num["KEYCODE"][rows]])
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (pid[1:] != pid[:-1]) | (sid[1:] != sid[:-1])
    starts = np.flatnonzero(new)
    part = {
        "keys": keys,
        "pid": pid[starts],
        "sid": sid[starts],
        "length": np.diff(np.append(starts, len(rows))),
    }
    for c, name in zip(_TEXT, ("sentence", "user_input")):
        cat = df[idx[c]]
        cats = np.array([_fix_text(s) for s in cat.cat.categories] + [""], object)
        part[name] = cats[cat.cat.codes.to_numpy()[rows[starts]]]
    return part, counts


def _parse_raw_files(raws):
    """Parse raw file contents (header + body each) -> (parts, counts)."""
    groups = {}
    counts = Counter()
    for raw in raws:
        counts["files read"] += 1
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                raw = raw.decode("utf-16").encode("utf-8", "surrogatepass")
            except UnicodeError:
                counts["UTF-16 that does not decode"] += 1
                continue
        if not raw or raw.isspace():
            counts["empty"] += 1
            continue
        columns, body = _split_header(raw)
        if columns is None:
            counts["no Aalto header line"] += 1
        elif not body or body.isspace():
            counts["header line only"] += 1
        else:
            groups.setdefault(columns, []).append(body)
    parts = []
    for columns, bodies in groups.items():
        part, c = _parse_buffer(b"".join(bodies), columns)
        parts.append(part)
        counts.update(c)
    return parts, counts


def _read_members(path, kind, names):
    """Worker task: read the named members of a folder/zip/file and parse them."""
    return _parse_raw_files(_archive.read_members(path, kind, names))


def _parse_source(path, kind, n_jobs, verbose=False):
    """All (parts, counts) of a source, serially or with joblib workers."""
    from joblib import Parallel, delayed, effective_n_jobs
    from tqdm.auto import tqdm

    n_jobs = effective_n_jobs(n_jobs)
    if kind == "tar":  # this thread decompresses (zlib frees the GIL), threads parse
        contents = _archive.iter_tar_contents(path, _SUFFIX)
        batches = _archive.batched(contents, len, _CHUNK_BYTES)
        task, prefer, serial = _parse_raw_files, "threads", n_jobs == 1
    else:
        members = _archive.list_members(path, kind, _SUFFIX)
        limit = _CHUNK_BYTES
        if n_jobs != 1:
            total = sum(s for _, s in members)
            limit = max(min(_CHUNK_BYTES, total // (4 * n_jobs)), _MIN_CHUNK_BYTES)
        batches = [
            [n for n, _ in b] for b in _archive.batched(members, lambda m: m[1], limit)
        ]
        task, prefer = functools.partial(_read_members, path, kind), None
        serial = n_jobs == 1 or len(batches) <= 1
    if serial:
        results = map(task, batches)
    else:
        results = Parallel(n_jobs=n_jobs, prefer=prefer, return_as="generator")(
            delayed(task)(b) for b in batches
        )
    parts = []
    counts = Counter()
    n_batches = 0
    with tqdm(
        desc="load_aalto", unit=" files", delay=3.0, leave=False, disable=not verbose
    ) as bar:
        for p, c in results:
            n_batches += 1
            parts.extend(p)
            counts.update(c)
            bar.update(c["files read"])
    if not n_batches:
        raise ValueError(f"path {str(path)!r} holds no '*{_SUFFIX}' file.")
    return parts, counts


def _assemble(parts, counts):
    """Concatenate parsed runs into sessions sorted by (participant, session)."""
    parts = [p for p in parts if len(p["pid"])] or [_empty_part()]
    texts = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    del parts
    keys, pid, sid, length = (texts.pop(k) for k in ("keys", "pid", "sid", "length"))
    n_rows = len(keys) + sum(counts[r] for r in _ROW_REASONS)

    # Sessions ordered by (participant, session id); rows keep file order. A
    # session whose rows are split into several runs is joined (stable sort).
    order = np.lexsort((sid, pid))
    if np.any(order[1:] < order[:-1]):
        starts = np.concatenate([[0], np.cumsum(length)[:-1]])
        length, pid, sid = length[order], pid[order], sid[order]
        texts = {k: v[order] for k, v in texts.items()}
        new_starts = np.concatenate([[0], np.cumsum(length)[:-1]])
        gather = np.arange(len(keys)) + np.repeat(starts[order] - new_starts, length)
        keys = keys[gather]
        del gather
    first = np.ones(len(pid), dtype=bool)
    first[1:] = (pid[1:] != pid[:-1]) | (sid[1:] != sid[:-1])
    if not first.all():
        heads = np.flatnonzero(first)
        length = np.add.reduceat(length, heads)
        pid, sid = pid[heads], sid[heads]
        texts = {k: v[heads] for k, v in texts.items()}

    # Sessions the feature transformer cannot use.
    n_sessions = len(length)
    too_short = length < 2
    session_of_row = np.repeat(np.arange(n_sessions), length)
    step_back = np.flatnonzero(np.diff(keys[:, 0]) < 0)
    step_back = step_back[session_of_row[step_back] == session_of_row[step_back + 1]]
    backwards = np.zeros(n_sessions, dtype=bool)
    backwards[session_of_row[step_back]] = True
    backwards &= ~too_short
    keep = ~(too_short | backwards)
    if not keep.all():
        keys = keys[np.repeat(keep, length)]
        length, pid, sid = length[keep], pid[keep], sid[keep]
        texts = {k: v[keep] for k, v in texts.items()}
    offsets = np.zeros(len(length) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    dropped = {
        "rows": n_rows,
        **{r: counts[r] for r in _ROW_REASONS},
        "sessions": n_sessions,
        "fewer than 2 keys": int(too_short.sum()),
        "press times going backwards": int(backwards.sum()),
        "files read": counts["files read"],
        "files": sum(counts[r] for r in _FILE_REASONS),
        **{r: counts[r] for r in _FILE_REASONS},
    }
    return {
        "keys": np.ascontiguousarray(keys, dtype=np.float64),
        "offsets": offsets,
        "target": pid,
        "session": sid,
        **texts,
        "dropped": dropped,
    }
