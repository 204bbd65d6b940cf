"""Writers of small files in the datasets' formats, for tests and examples."""

import tarfile
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from skeer.datasets._aalto_files import _COLUMNS, _ROW_REASONS, _SESSION_REASONS
from skeer.datasets._cmu import FEATURE_NAMES

__all__ = ["write_aalto_files", "archive_folder", "write_kvc_files", "write_cmu_csv"]
__all__ += ["write_greyc_csv"]

_T0 = 1471995141966  # epoch ms, as in the study (August 2016)


def write_aalto_files(
    folder, n_participants=3, n_sessions=2, *, quirks=False, random_state=0
):
    """Write Aalto files (session ``pid * 100 + s``; ``quirks``: the real data's);
    -> Bunch ``sessions`` ((pid, sid) -> array), ``sentence``, ``dropped``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(random_state)
    header = "\t".join(_COLUMNS)
    sessions, sentences = {}, {}
    dropped = dict.fromkeys(_ROW_REASONS + _SESSION_REASONS + ("files",), 0)
    kid = 1000
    for pid in range(1, n_participants + 1):
        lines = [header]
        t = _T0 + pid * 10_000_000
        for s in range(n_sessions):
            sid = pid * 100 + s
            n = int(rng.integers(8, 20))
            press = t + np.cumsum(rng.integers(40, 300, size=n))
            release = press + rng.integers(50, 160, size=n)
            codes = rng.integers(65, 91, size=n)
            if quirks and pid == 1 and s == 0:
                # shift so that key 3 is released at 1472007000000 ms exactly,
                # which the study's files write as 1.472007e+12
                shift = 1472007000000 - int(release[3])
                press, release = press + shift, release + shift
            typed = sentence = f"Sentence {s} of participant {pid}."
            rows = [
                [pid, sid, sentence, typed, kid + k, press[k], release[k],
                 chr(codes[k]), codes[k]]
                for k in range(n)
            ]  # fmt: skip
            kid += n
            keep = np.ones(n, dtype=bool)
            session_ok = True
            if quirks and pid == 1 and s == 0:
                # real-data quirks that must be read correctly
                rows[0][3] = typed = 'don\xb4t say "hi"'  # latin-1 byte, quote
                for r in rows:
                    r[3] = typed
                rows[1][7], rows[1][8] = '"', 222
                codes[1] = 222
                rows[2][7] = "\xe7"
                rows[2][4] = "9e+05"
                rows[3][6] = "1.472007e+12"
                # dropped rows
                rows[4][6] = press[4] - 5  # release before press
                release[4] = press[4] - 5
                keep[4] = False
                dropped["release before press"] += 1
                rows[5][3] = typed + "\textra"  # a tab in a text field
                rows[6] = rows[6][:6]  # a truncated row
                rows[7][5] = "n/a"  # a non-numeric time
                keep[5:8] = False
                dropped["malformed"] += 3
            if quirks and pid == 1 and s == 1:
                keep[1:] = False  # only one key survives -> session dropped
                for r in rows[1:]:
                    r[8] = "?"
                dropped["malformed"] += n - 1
                dropped["fewer than 2 keys"] += 1
                session_ok = False
            if quirks and pid == 2 and s == 0:
                rows[3][5] = press[3] = press[1] - 1  # press goes backwards
                dropped["press times going backwards"] += 1
                session_ok = False
            lines += ["\t".join(str(v) for v in r) for r in rows]
            if session_ok:
                arr = np.column_stack([press, release, codes]).astype(np.float64)
                sessions[(pid, sid)] = arr[keep]
                sentences[(pid, sid)] = sentence
            t = int(press[-1]) + 100_000
        eol = "\r\n" if quirks and pid == 2 else "\n"
        (folder / f"{pid}_keystrokes.txt").write_bytes(
            (eol.join(lines) + eol).encode("latin-1")
        )
    if quirks:
        (folder / "999_keystrokes.txt").write_bytes(b"not a keystroke log\n1\t2\n")
        dropped["files"] += 1
        (folder / "readme.txt").write_text("not a participant file\n")
    return Bunch(sessions=sessions, sentence=sentences, dropped=dropped, folder=folder)


def archive_folder(folder, dest, *, prefix="keystroke-samples"):
    """Pack ``folder``'s files into ``dest`` (zip or tar.gz) in reverse name order."""
    folder, dest = Path(folder), Path(dest)
    files = sorted((p for p in folder.iterdir() if p.is_file()), reverse=True)
    if dest.name.endswith(".zip"):
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, f"{prefix}/{p.name}")
    else:
        with tarfile.open(dest, "w:gz") as tf:
            for p in files:
                tf.add(p, f"{prefix}/{p.name}")
    return dest


def _random_session(rng, n):
    press = 1_600_000_000_000 + np.cumsum(rng.integers(40, 300, size=n))
    release = press + rng.integers(50, 160, size=n)
    return np.column_stack([press, release, rng.integers(32, 127, size=n)]).astype(
        np.float64
    )


def write_kvc_files(
    folder,
    scenario="desktop",
    n_users=3,
    n_sessions=4,
    n_test=5,
    random_state=0,
    *,
    comparisons="kit",
):
    """Write a KVC release (users ``100, ...``, all pairs of test sessions ``"t<k>"``
    compared); -> Bunch ``dev`` and ``test`` (the dicts written), ``pairs``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(random_state)
    dev = {
        100 + u: {
            f"u{100 + u}_s{k}": _random_session(rng, int(rng.integers(5, 30)))
            for k in range(n_sessions)
        }
        for u in range(n_users)
    }
    test = {
        f"t{k}": _random_session(rng, int(rng.integers(5, 30))) for k in range(n_test)
    }
    ids = list(test)
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    np.save(folder / f"{scenario}_dev_set.npy", dev, allow_pickle=True)
    np.save(folder / f"{scenario}_test_sessions.npy", test, allow_pickle=True)
    if comparisons == "kit":
        text = str([[a, b] for a, b in pairs])
    elif comparisons == "lines":
        text = "".join(f"{a} {b}\n" for a, b in pairs)
    else:
        raise ValueError(f"comparisons must be 'kit' or 'lines', got {comparisons!r}")
    (folder / f"{scenario}_comparisons.txt").write_text(text)
    return Bunch(dev=dev, test=test, pairs=pairs, folder=folder)


def write_cmu_csv(path, n_subjects=3, n_sessions=2, n_reps=5, random_state=0):
    """Write (and return) a CSV in the CMU layout, subjects ``"s002", ...``."""
    import pandas as pd

    path = Path(path)
    rng = np.random.default_rng(random_state)
    n_keys = 11
    rows = []
    for i in range(n_subjects):
        hold_mu = rng.uniform(0.06, 0.14, n_keys)
        gap_mu = rng.uniform(-0.02, 0.35, n_keys - 1)
        n = n_sessions * n_reps
        hold = np.abs(hold_mu + 0.015 * rng.standard_normal((n, n_keys))) + 0.005
        ud = gap_mu + 0.04 * rng.standard_normal((n, n_keys - 1))
        dd = hold[:, :-1] + ud
        feats = np.empty((n, 31))
        feats[:, 0:30:3] = hold[:, :-1]
        feats[:, 1:30:3] = dd
        feats[:, 2:30:3] = ud
        feats[:, 30] = hold[:, -1]
        frame = pd.DataFrame(np.round(feats, 4), columns=FEATURE_NAMES)
        frame.insert(0, "rep", np.tile(np.arange(1, n_reps + 1), n_sessions))
        frame.insert(0, "sessionIndex", np.repeat(np.arange(1, n_sessions + 1), n_reps))
        frame.insert(0, "subject", f"s{i + 2:03d}")
        rows.append(frame)
    pd.concat(rows, ignore_index=True).to_csv(path, index=False, float_format="%.4f")
    return path


#: The benchmark's sheets and passphrases.
GREYC_PASSPHRASES = {
    "P1": "leonardo dicaprio",
    "P2": "the rolling stones",
    "P3": "michael schumacher",
    "P4": "red hot chilli peppers",
    "P5": "united states of america",
}


def greyc_vector(press, release):
    """Press and release times (ms) -> the GREYC-NISLAB vector (PP, RR, RP, PR)."""
    press, release = np.asarray(press), np.asarray(release)
    blocks = [
        press[1:] - press[:-1],
        release[1:] - release[:-1],
        press[1:] - release[:-1],
        release[1:] - press[:-1],
    ]
    return (np.concatenate(blocks) * 10_000).astype(np.int64)


def write_greyc_csv(path, n_subjects=3, n_reps=4, random_state=0):
    """Write (and return) a GREYC-NISLAB table: five sheets, first half ``Class`` 1."""
    import pandas as pd

    path = Path(path)
    rng = np.random.default_rng(random_state)
    rows = []
    for sheet, text in GREYC_PASSPHRASES.items():
        n = len(text)
        for subject in range(1, n_subjects + 1):
            hold_mu = rng.uniform(60, 140, n)
            gap_mu = rng.uniform(-20, 250, n - 1)  # release-press
            for rep in range(n_reps):
                hold = np.rint(np.maximum(hold_mu + rng.normal(0, 15, n), 1))
                gap = np.rint(gap_mu + rng.normal(0, 30, n - 1))
                press = np.zeros(n)
                press[1:] = np.cumsum(np.maximum(hold[:-1] + gap, 10))
                release = press + hold
                vector = " ".join(map(str, greyc_vector(press, release)))
                rows.append(
                    {
                        "Sheet": sheet,
                        "User_ID": subject,
                        "Gender": "MF"[subject % 2],
                        "Age": 19 + subject,
                        "Handedness": "RL"[subject % 3 == 0],
                        "Password": text,
                        "Class": 1 + (rep >= n_reps // 2),
                        "Keystroke Template Vector": " " * (rep % 2) + vector,
                    }
                )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
