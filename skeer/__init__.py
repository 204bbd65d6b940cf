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

from skeer._version import __version__

# public name -> submodule that defines it
_LAZY = {
    # metrics (numpy only)
    "equal_error_rate": "metrics",
    "fnmr_at_fmr": "metrics",
    "fmr_at_fnmr": "metrics",
    "det_points": "metrics",
    "verification_pairs": "metrics",
    "rates_at_threshold": "metrics",
    "half_total_error_rate": "metrics",
    "expected_performance_curve": "metrics",
    "decidability": "metrics",
    "identification_rate": "metrics",
    "UnreliableMetricWarning": "metrics",
    "StreamingVerificationMetrics": "metrics",
    # scorers
    "eer_scorer": "evaluation",
    "make_verification_scorer": "evaluation",
    "make_fnmr_scorer": "evaluation",
    "VERIFICATION_SCORERS": "evaluation",
    # features (numpy only)
    "KeystrokeFeatures": "features",
    "sessions_from_frame": "features",
    # losses (torch)
    "EERLoss": "losses",
    "TripletMarginLoss": "losses",
    "ContrastiveLoss": "losses",
    "Set2SetLoss": "losses",
    "SupConLoss": "losses",
    "SupConEERLoss": "losses",
    "MultiSimilarityLoss": "losses",
    "ArcFaceLoss": "losses",
    # networks (torch)
    "TypeNet": "networks",
    "Type2Branch": "networks",
    "MLPEmbedder": "networks",
    # estimator
    "KeystrokeVerifier": "verifier",
    "SubjectBatchSampler": "verifier",
    "AcceleratedKeystrokeVerifier": "verifier",
    # protocols
    "evaluate_verification": "evaluation",
    "evaluate_fixed_text": "evaluation",
    "paired_difference": "evaluation",
    "SubjectKFold": "evaluation",
    "train_test_split_subjects": "evaluation",
    # fairness (numpy, pandas)
    "fairness_report": "metrics",
    # persistence
    "save": "persistence",
    "load": "persistence",
}

_SUBMODULES = [
    "baselines",
    "cli",
    "datasets",
    "evaluation",
    "export",
    "features",
    "losses",
    "metrics",
    "networks",
    "persistence",
    "plotting",
    "registry",
    "templates",
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
