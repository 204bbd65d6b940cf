"""
Grid-searching the operating point
==================================

A verifier is deployed at an *operating point*: the equal error rate, or a
fixed false-match rate (FMR) that the application can tolerate.
:class:`~skeer.KeystrokeVerifier` makes it a hyperparameter,
``operating_point``: it sets what :class:`~skeer.EERLoss` optimises and where
the decision threshold is calibrated. So
:class:`~sklearn.model_selection.GridSearchCV` can choose it, judged open set
on people held out from training.
"""

# %%
# Data and pipeline
# -----------------
import pandas as pd
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skeer import KeystrokeFeatures, KeystrokeVerifier, make_verification_scorer
from skeer.datasets import make_keystrokes
from skeer.evaluation import SubjectKFold

X, y = make_keystrokes(n_subjects=48, n_sessions=10, random_state=0)

pipe = make_pipeline(
    KeystrokeFeatures(max_len=30),
    KeystrokeVerifier(
        max_epochs=15,
        lr=3e-3,
        n_subjects_per_batch=8,
        n_samples_per_subject=6,
        # a small TypeNet keeps the 7 fits of the search fast
        module__hidden_size=32,
        module__embedding_dim=32,
        random_state=0,
    ),
)

# %%
# The search
# ----------
# :class:`~skeer.evaluation.SubjectKFold` splits by identity, so each
# validation fold holds people the fold's model never saw. The scorers from
# :func:`~skeer.make_verification_scorer` run the open-set protocol on that
# fold through ``transform`` alone, which is why they work on a ``Pipeline``.
# Error rates are negated: greater is better, as everywhere in scikit-learn.
scoring = {
    "eer": make_verification_scorer("eer"),
    "fnmr@5%fmr": make_verification_scorer("fnmr_at_fmr", fmr=0.05),
}
search = GridSearchCV(
    pipe,
    {"keystrokeverifier__operating_point": ["eer", 0.05]},
    cv=SubjectKFold(n_splits=3),
    scoring=scoring,
    refit="fnmr@5%fmr",
)
search = search.fit(X, y)

# %%
# Results
# -------
# Each row is one operating point the verifier was trained for; the columns are
# the mean open-set figures over the three folds (error rates, so lower is
# better). The search refits the pipeline with the operating point that gives
# the lowest miss rate at 5 % FMR, the figure this (imaginary) application is
# judged by.
results = pd.DataFrame(search.cv_results_)
table = pd.DataFrame(
    {
        "operating_point": results["param_keystrokeverifier__operating_point"],
        "EER": -results["mean_test_eer"],
        "FNMR @ 5% FMR": -results["mean_test_fnmr@5%fmr"],
    }
)
print(table.round(3).to_string(index=False))
print("chosen:", search.best_params_)

# %%
# The refitted pipeline's threshold sits at the chosen operating point; it was
# calibrated on people held out from its training.
best = search.best_estimator_[-1]
print(f"operating_point = {best.operating_point}, threshold_ = {best.threshold_:.3f}")

# %%
# .. note::
#    With this tiny budget (15 epochs, 48 synthetic people) the differences
#    between operating points are within the noise of a 3-fold split. On real
#    data, choose the operating point the application will run at, and tune it
#    with the scorer of that same point.
import matplotlib.pyplot as plt
import numpy as np

fig, ax = plt.subplots(figsize=(5, 3.5))
x = np.arange(len(table))
for k, column in enumerate(("EER", "FNMR @ 5% FMR")):
    ax.bar(x + (k - 0.5) * 0.35, table[column], width=0.35, label=column)
ax.set_xticks(x, [str(p) for p in table["operating_point"]])
ax.set_xlabel("operating_point the verifier was trained for")
ax.set_ylabel("open-set error rate (mean of 3 folds)")
ax.legend()
fig.tight_layout()
