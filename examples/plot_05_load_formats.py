"""
Loading the Aalto and KVC-onGoing formats
=========================================

skeer reads the raw files of the public keystroke datasets; it ships none of
them (see the datasets page of the user guide for where to get them and their
terms). This example writes a few small files in each raw format to a temporary
folder, loads them back with :func:`skeer.datasets.load_aalto` and
:func:`skeer.datasets.load_kvc`, and writes a KVC-onGoing submission file with
:func:`skeer.datasets.write_kvc_predictions`. Nothing is downloaded.

Both loaders return sessions in one format: an array of shape ``(n_keys, 3)``
per typed sample, holding the press time (ms), the release time (ms) and the
key code of each key, in typing order.
"""

# %%
# Sessions to write
# -----------------
# We take synthetic sessions from :func:`~skeer.datasets.make_keystrokes` and
# write them as the datasets' owners do.
import tempfile
from pathlib import Path

import numpy as np

from skeer.datasets import load_aalto, load_kvc, make_keystrokes, write_kvc_predictions

sessions, subjects = make_keystrokes(n_subjects=8, n_sessions=5, random_state=0)
folder = Path(tempfile.mkdtemp(prefix="skeer_formats_"))
print(f"{len(sessions)} sessions of {len(set(subjects))} subjects; first session:")
print(sessions[0][:4])

# %%
# The Aalto 136M Keystrokes format
# --------------------------------
# The study publishes one tab-separated file per participant,
# ``<PARTICIPANT_ID>_keystrokes.txt``, one row per key press, with the times in
# epoch milliseconds. One ``TEST_SECTION_ID`` (one typed sentence) is one
# session. The files are latin-1 text.
aalto_dir = folder / "aalto"
aalto_dir.mkdir()
header = [
    "PARTICIPANT_ID",
    "TEST_SECTION_ID",
    "SENTENCE",
    "USER_INPUT",
    "KEYSTROKE_ID",
    "PRESS_TIME",
    "RELEASE_TIME",
    "LETTER",
    "KEYCODE",
]
t0 = 1_471_995_141_966  # epoch ms, August 2016 like the study
# JavaScript key codes of make_keystrokes: letters 65-90 and these
LETTERS = {32: " ", 8: "BKSP", 16: "SHIFT", 188: ","}
keystroke_id = 0
rows_by_participant = {}
for i, (session, subject) in enumerate(zip(sessions, subjects)):
    participant = 1000 + int(subject)
    section = 50_000 + i
    codes = session[:, 2].astype(int)
    text = "".join(LETTERS.get(c, chr(c).lower()) for c in codes if c != 16)
    for press, release, code in session:
        keystroke_id += 1
        letter = LETTERS.get(int(code), chr(int(code)).lower())
        rows_by_participant.setdefault(participant, []).append(
            [participant, section, text, text, keystroke_id,
             int(t0 + press), int(t0 + release), letter, int(code)]
        )  # fmt: skip

for participant, rows in rows_by_participant.items():
    lines = ["\t".join(header)] + ["\t".join(map(str, row)) for row in rows]
    path = aalto_dir / f"{participant}_keystrokes.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))

print(path.name)
print(path.read_text(encoding="latin-1").splitlines()[1])

# %%
# :func:`~skeer.datasets.load_aalto` reads a folder, a zip or a tar archive of
# such files and keeps an ``.npz`` cache (``data_home``) so that a second load of
# the full study is fast.
aalto = load_aalto(aalto_dir, data_home=folder / "cache")
print(len(aalto.data), "sessions,", len(np.unique(aalto.target)), "participants")
print("first session (ms, ms, key code):\n", aalto.data[0][:3].astype(np.int64))
print(aalto.DESCR.splitlines()[0])

# %%
# The loaded sessions are the ones written (times shifted to epoch ms).
original = sessions[0] + [t0, t0, 0]
print("round trip exact:", np.array_equal(aalto.data[0], np.round(original)))

# %%
# The KVC-onGoing format
# ----------------------
# The challenge releases, per scenario (``desktop`` or ``mobile``), a
# development set of labelled sessions, unlabelled test sessions and the list
# of test comparisons to score. The ``.npy`` files hold **pickled** Python
# dictionaries (saved with :func:`numpy.save`); loading one runs pickle, so
# only ever load the official files.
kvc_dir = folder / "kvc"
kvc_dir.mkdir()
dev = {}
for session, subject in zip(sessions[:30], subjects[:30]):
    user_sessions = dev.setdefault(int(subject), {})
    user_sessions[f"u{subject}_s{len(user_sessions)}"] = session
test = {f"t{k}": session for k, session in enumerate(sessions[30:])}
np.save(kvc_dir / "desktop_dev_set.npy", dev, allow_pickle=True)
np.save(kvc_dir / "desktop_test_sessions.npy", test, allow_pickle=True)
test_ids = list(test)
pairs = [(a, b) for i, a in enumerate(test_ids) for b in test_ids[i + 1 :]]
(kvc_dir / "desktop_comparisons.txt").write_text(
    "".join(f"{a} {b}\n" for a, b in pairs)
)

kvc = load_kvc(kvc_dir, "desktop")
print(len(kvc.data), "development sessions of", len(np.unique(kvc.target)), "users")
print(len(kvc.test_data), "test sessions,", len(kvc.comparisons), "comparisons")
print("first comparison:", kvc.comparisons[0], "->", kvc.comparison_index[0])

# %%
# Scoring the comparisons and writing a submission
# ------------------------------------------------
# A submission holds one score per comparison, in the order of the comparisons
# file, higher meaning the same person. Here a tiny verifier trained for a few
# epochs on the development set scores each pair by the cosine similarity of
# the two sessions' embeddings.
from sklearn.pipeline import make_pipeline

from skeer import KeystrokeFeatures, KeystrokeVerifier

pipe = make_pipeline(
    KeystrokeFeatures(max_len=40),
    KeystrokeVerifier(
        max_epochs=30,
        module__hidden_size=32,
        module__embedding_dim=32,
        n_subjects_per_batch=4,
        n_samples_per_subject=4,
        validation_size=0,  # too few users to hold some out
        patience=None,
        random_state=0,
    ),
)
pipe.fit(kvc.data, kvc.target)
embeddings = pipe.transform(kvc.test_data)
a, b = kvc.comparison_index.T
scores = np.einsum("ij,ij->i", embeddings[a], embeddings[b])

out = write_kvc_predictions(scores, folder / "desktop_predictions.txt")
print(out.name, out.read_text().splitlines()[:3])
