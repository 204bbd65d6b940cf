"""skeer: train biometric verifiers on the metric they are judged by.

The public API is importable from ``skeer`` itself and from its modules. Names are
loaded lazily (PEP 562) so that ``import skeer.metrics`` or ``import
skeer.features`` never imports torch.

Examples
--------
>>> import skeer
>>> skeer.equal_error_rate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
0.5
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
    # scorers
    "eer_scorer": "scorers",
    "make_verification_scorer": "scorers",
    # features (numpy only)
    "KeystrokeFeatures": "features",
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
    # protocols
    "evaluate_verification": "protocols",
    "IdentityKFold": "protocols",
}

_SUBMODULES = [
    "datasets",
    "features",
    "losses",
    "metrics",
    "networks",
    "protocols",
    "scorers",
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
