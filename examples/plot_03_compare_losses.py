"""
DET curves of two losses
========================

:class:`~skeer.EERLoss` trains on the error rate the verifier is judged by. This
example trains the same network, on the same batches and for the same small
budget, with EERLoss and with :class:`~skeer.Set2SetLoss` (the set-to-set
triplet loss of the KVC-onGoing winner, Type2Branch), and compares their DET
curves on people neither model saw.

The budget is tiny so that the example runs in seconds: it shows *how* to run
the comparison, not which loss wins. See the benchmarks page for comparisons on
real data, and ``skeer bench`` to run them.
"""

# %%
# Data
# ----
from skeer.datasets import make_keystrokes
from skeer.evaluation import train_test_split_subjects

X, y = make_keystrokes(n_subjects=80, n_sessions=12, random_state=1)
X_train, X_test, y_train, y_test = train_test_split_subjects(
    X, y, test_size=0.3, random_state=0
)

# %%
# Two verifiers, two losses
# -------------------------
# The ``criterion`` of :class:`~skeer.KeystrokeVerifier` is any loss called as
# ``loss(embeddings, labels)``. Everything else (network, batches, seed,
# early stopping on the held-out people's EER) is shared.
from sklearn.pipeline import make_pipeline

from skeer import EERLoss, KeystrokeFeatures, KeystrokeVerifier, Set2SetLoss


def make_verifier(criterion):
    return make_pipeline(
        KeystrokeFeatures(max_len=40),
        KeystrokeVerifier(
            criterion=criterion,
            max_epochs=30,
            lr=3e-3,
            n_subjects_per_batch=8,
            n_samples_per_subject=8,
            module__hidden_size=64,  # a small TypeNet, for speed
            module__embedding_dim=64,
            random_state=0,
        ),
    )


models = {"EERLoss": make_verifier(EERLoss), "Set2SetLoss": make_verifier(Set2SetLoss)}
for model in models.values():
    model.fit(X_train, y_train)

# %%
# Convergence
# -----------
# The EER of the held-out training people after each epoch; early stopping
# watches its mean over the last three epochs (``valid_eer_smooth``).
from skeer.plotting import plot_convergence

curves = {name: model[-1].history_[:, "valid_eer"] for name, model in models.items()}
plot_convergence(curves)

# %%
# Open-set evaluation and DET curves
# ----------------------------------
# Both models are judged with the same protocol on the same unseen people.
import matplotlib.pyplot as plt

from skeer.evaluation import evaluate_verification
from skeer.plotting import plot_det

fig, ax = plt.subplots(figsize=(5, 5))
for name, model in models.items():
    report, y_binary, scores = evaluate_verification(
        model, X_test, y_test, return_scores=True
    )
    print(
        f"{name:>12}: EER {report['eer']:.3f}, "
        f"FNMR@1%FMR {report['fnmr_at_fmr_0.01']:.3f}"
    )
    plot_det(y_binary, scores, ax=ax, label=name)
fig.tight_layout()
