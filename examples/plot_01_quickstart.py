"""
Quick start: a keystroke verifier trained with EERLoss
======================================================

This example goes from raw keystroke sessions to a verifier judged the way it
will be deployed, on people it has never seen:

1. generate synthetic keystroke sessions;
2. split them **by identity** into training and test people;
3. train a :class:`~skeer.KeystrokeVerifier` (a TypeNet embedding network
   trained with SupCon + 0.3 × :class:`~skeer.EERLoss`, the default) behind
   :class:`~skeer.KeystrokeFeatures` in a scikit-learn pipeline;
4. evaluate it open set and draw its DET curve.
"""

# %%
# Data
# ----
# A *session* is one typing sample: an array of shape ``(n_keys, 3)`` holding
# the press time (ms), release time (ms) and key code of each key, in typing
# order. ``y`` holds the identity of each session.
from skeer.datasets import make_keystrokes

X, y = make_keystrokes(n_subjects=80, n_sessions=12, random_state=0)
print(f"{len(X)} sessions of {len(set(y))} people; the first one:")
print(X[0][:5])

# %%
# A verifier is judged on people it never saw in training, so the split is by
# identity: :func:`~skeer.evaluation.train_test_split_subjects` keeps every
# person on one side.
from skeer.evaluation import train_test_split_subjects

X_train, X_test, y_train, y_test = train_test_split_subjects(
    X, y, test_size=0.25, random_state=0
)
print(f"train: {len(set(y_train))} people, test: {len(set(y_test))} other people")

# %%
# The pipeline
# ------------
# :class:`~skeer.KeystrokeFeatures` turns each session into a fixed-size array
# of timing features (hold time and three latencies, in seconds, and the key
# code). :class:`~skeer.KeystrokeVerifier` trains an embedding network on
# identity-balanced batches with SupCon + 0.3 × :class:`~skeer.EERLoss`
# (:class:`~skeer.losses.SupConEERLoss`), holds out 20 % of the
# training *people* to stop early and to calibrate its decision threshold, and
# enrols every training person.
from sklearn.pipeline import make_pipeline

from skeer import KeystrokeFeatures, KeystrokeVerifier

pipe = make_pipeline(
    KeystrokeFeatures(max_len=40),
    KeystrokeVerifier(
        max_epochs=30,
        lr=3e-3,  # a short run: a larger step than the default 1e-3
        n_subjects_per_batch=8,
        n_samples_per_subject=8,
        # a small TypeNet (64 units instead of 128) keeps the example fast
        module__hidden_size=64,
        module__embedding_dim=64,
        random_state=0,
    ),
)
pipe.fit(X_train, y_train)

verifier = pipe[-1]
print(f"stopped after {len(verifier.history_)} epochs")
print(f"threshold_ = {verifier.threshold_:.3f} (cosine similarity)")

# %%
# The training curves: the loss on the training batches and the EER of the
# held-out training people after each epoch.
from skeer.plotting import plot_training

plot_training(verifier.history_)

# %%
# Open-set evaluation
# -------------------
# :func:`~skeer.evaluation.evaluate_verification` runs the TypeNet / KVC
# protocol on the test people: each enrols with its first sessions and probes
# with its last ones; one session of every other test person is an impostor
# probe.
from skeer.evaluation import evaluate_verification

report, y_binary, scores = evaluate_verification(
    pipe, X_test, y_test, return_scores=True
)
print(f"{report['n_genuine']} genuine and {report['n_impostor']} impostor comparisons")
for key in ("eer", "mean_subject_eer", "fnmr_at_fmr_0.01", "fnmr_at_fmr_0.1"):
    print(f"{key:>20}: {report[key]:.3f}")

# %%
# The DET curve
# -------------
# The detection error trade-off: the false non-match rate against the false
# match rate at every threshold, on probit axes. The marked point is the EER.
from skeer.plotting import plot_det

plot_det(y_binary, scores, label="TypeNet + SupCon + EERLoss")
