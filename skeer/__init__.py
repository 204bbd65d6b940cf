"""skeer: train biometric verifiers on the metric they are judged by.

The public API is importable from ``skeer`` itself and from its modules. Names are
loaded lazily (PEP 562) so that ``import skeer.metrics`` or ``import
skeer.features`` never imports torch.

Examples
--------
>>> import skeer
>>> y = [0] * 10 + [1] * 10  # 10 impostor, then 10 genuine comparisons
>>> scores = [0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 8, 10, 11, 13, 14, 15, 16, 17, 18, 19]
>>> skeer.equal_error_rate(y, scores)
0.1
"""

import importlib

from ._version import __version__

# public name -> submodule that defines it
_LAZY = {
    # metrics (numpy only)
    "equal_error_rate": "metrics",
    "fnmr_at_fmr": "metrics",
    "fmr_at_fnmr": "metrics",
    "det_points": "metrics",
    "verification_pairs": "metrics",
    "UnreliableMetricWarning": "metrics",
    "StreamingVerificationMetrics": "streaming",
    # scorers
    "eer_scorer": "scorers",
    "make_verification_scorer": "scorers",
    "make_fnmr_scorer": "scorers",
    "VERIFICATION_SCORERS": "scorers",
    # features (numpy only)
    "KeystrokeFeatures": "features",
    "sessions_from_frame": "features",
    # losses (torch)
    "EERLoss": "losses",
    "TripletMarginLoss": "losses",
    "ContrastiveLoss": "losses",
    "Set2SetLoss": "losses",
    # networks (torch)
    "TypeNet": "networks",
    "Type2Branch": "networks",
    "MLPEmbedder": "networks",
    # estimator
    "KeystrokeVerifier": "verifier",
    "IdentityBatchSampler": "sampler",
    "AcceleratedKeystrokeVerifier": "distributed",
    # protocols
    "evaluate_verification": "protocols",
    "evaluate_fixed_text": "protocols",
    "paired_difference": "protocols",
    "IdentityKFold": "model_selection",
    "train_test_split_identities": "model_selection",
    # fairness (numpy, pandas)
    "fairness_report": "fairness",
    # persistence
    "save": "persistence",
    "load": "persistence",
}

_SUBMODULES = [
    "baselines",
    "benchmark",
    "cli",
    "datasets",
    "distributed",
    "export",
    "fairness",
    "features",
    "losses",
    "metrics",
    "model_selection",
    "networks",
    "kvc",
    "persistence",
    "plotting",
    "protocols",
    "registry",
    "sampler",
    "scorers",
    "streaming",
    "verifier",
]

__all__ = ["__version__", *_LAZY, *_SUBMODULES]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
