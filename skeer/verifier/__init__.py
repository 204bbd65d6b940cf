"""The verifier: :class:`KeystrokeVerifier` and how it trains.

:class:`AcceleratedKeystrokeVerifier` is loaded on first use (it needs the
``distributed`` extra).

Examples
--------
>>> from skeer.verifier import KeystrokeVerifier
>>> KeystrokeVerifier(operating_point=0.01).operating_point
0.01
"""

import importlib

from skeer.verifier._callbacks import EpochProgress, TrainingDivergedError
from skeer.verifier._estimator import KeystrokeVerifier
from skeer.verifier._sampler import SubjectBatchSampler
from skeer.verifier._training import (
    AUTO_FIXED_TEXT_STEPS,
    AUTO_MAX_EPOCHS,
    AUTO_TRAINING_STEPS,
)

__all__ = [
    "AUTO_FIXED_TEXT_STEPS",
    "AUTO_MAX_EPOCHS",
    "AUTO_TRAINING_STEPS",
    "AcceleratedKeystrokeVerifier",
    "EpochProgress",
    "SubjectBatchSampler",
    "KeystrokeVerifier",
    "TrainingDivergedError",
]


def __getattr__(name):
    if name == "AcceleratedKeystrokeVerifier":
        module = importlib.import_module("skeer.verifier._distributed")
        return module.AcceleratedKeystrokeVerifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
