"""Judging verifiers: protocols, splits, scorers, KVC, loss comparisons.

Protocols :func:`evaluate_verification` (open set) and
:func:`evaluate_fixed_text` (Killourhy & Maxion), :func:`paired_difference`;
splits :class:`SubjectKFold`, :func:`train_test_split_subjects`; scorers
:data:`eer_scorer`, :data:`VERIFICATION_SCORERS`, :func:`get_scorer`...;
KVC-onGoing scoring :func:`predict_kvc`. Only :func:`compare_losses` and
:data:`QUICK_PROFILE`, loaded on first use, import torch.

Examples
--------
>>> from skeer.evaluation import train_test_split_subjects
>>> import numpy as np
>>> X, y = np.arange(20).reshape(-1, 1), np.repeat(np.arange(10), 2)
>>> X_train, X_test, y_train, y_test = train_test_split_subjects(
...     X, y, test_size=0.2, random_state=0)
>>> len(y_train), len(y_test), bool(np.intersect1d(y_train, y_test).size)
(16, 4, False)
"""

import importlib

from skeer.evaluation._fixed_text import evaluate_fixed_text
from skeer.evaluation._kvc import find_test_scenarios, predict_kvc, score_comparisons
from skeer.evaluation._model_selection import SubjectKFold, train_test_split_subjects
from skeer.evaluation._paired import paired_difference
from skeer.evaluation._protocols import VerificationReport, evaluate_verification
from skeer.evaluation._scorers import (
    VERIFICATION_SCORERS,
    eer_scorer,
    get_scorer,
    get_scorer_names,
    make_fnmr_scorer,
    make_verification_scorer,
)

__all__ = [
    "QUICK_PROFILE",
    "VERIFICATION_SCORERS",
    "SubjectKFold",
    "LossComparison",
    "VerificationReport",
    "compare_losses",
    "eer_scorer",
    "evaluate_fixed_text",
    "evaluate_verification",
    "find_test_scenarios",
    "get_scorer",
    "get_scorer_names",
    "make_fnmr_scorer",
    "make_verification_scorer",
    "paired_difference",
    "predict_kvc",
    "score_comparisons",
    "train_test_split_subjects",
]

_BENCHMARK = ("QUICK_PROFILE", "LossComparison", "compare_losses")


def __getattr__(name):
    if name in _BENCHMARK:
        return getattr(importlib.import_module("skeer.evaluation._benchmark"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
