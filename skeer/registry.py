"""Names of skeer's networks and losses, and the classes a saved file may name.

Shared by the command line (``--model typenet``, ``--loss eer-area``) and
:mod:`skeer.persistence`, which restores only the classes allow-listed here:
the public classes of :mod:`skeer.networks` and :mod:`skeer.losses`, the
optimizers of :mod:`torch.optim`, and the estimators
:class:`~skeer.features.KeystrokeFeatures`, :class:`~skeer.verifier.KeystrokeVerifier`,
the public ones of ``skeer.baselines`` and scikit-learn's ``StandardScaler``,
``RobustScaler`` and ``MinMaxScaler``. Torch is imported only when needed.

Examples
--------
>>> from skeer import registry
>>> registry.NETWORKS
('typenet', 'type2branch', 'mlp')
"""

import contextlib
import importlib
import inspect

__all__ = [
    "KINDS",
    "LOSSES",
    "NETWORKS",
    "get_loss",
    "get_network",
    "label",
    "qualified_name",
    "resolve",
]

#: Kinds of allow-listed classes, see :func:`resolve`.
KINDS = ("network", "loss", "optimizer", "estimator")

# Adding a network or a loss is one line here (its class exported by its package).
# short name -> (class name in skeer.networks, label in reports)
_NETWORK_TABLE = {
    "typenet": ("TypeNet", "TypeNet"),
    "type2branch": ("Type2Branch", "Type2Branch"),
    "mlp": ("MLPEmbedder", "MLP"),
}
# short name -> (class name in skeer.losses, preset keyword arguments, label)
_LOSS_TABLE = {
    "eer": ("EERLoss", {}, "EERLoss"),
    "eer-area": ("EERLoss", {"variant": "area"}, "EERLoss (area)"),
    "eer-direct": ("EERLoss", {"variant": "direct"}, "EERLoss (direct)"),
    "triplet": ("TripletMarginLoss", {}, "triplet loss"),
    "contrastive": ("ContrastiveLoss", {}, "contrastive loss"),
    "set2set": ("Set2SetLoss", {}, "Set2Set loss"),
    "supcon": ("SupConLoss", {}, "SupCon loss"),
    "multi-similarity": ("MultiSimilarityLoss", {}, "Multi-Similarity loss"),
    "arcface": ("ArcFaceLoss", {}, "ArcFace loss"),
    "supcon+eer": ("SupConEERLoss", {}, "SupCon + EERLoss"),
}
#: Short names of the embedding networks (the command line's ``--model``).
NETWORKS = tuple(_NETWORK_TABLE)
#: Short names of the losses (the command line's ``--loss``).
LOSSES = tuple(_LOSS_TABLE)
# estimators outside skeer.baselines: public module -> class names
_ESTIMATORS = {
    "skeer.features": ("KeystrokeFeatures",),
    "skeer.verifier": ("KeystrokeVerifier",),
    "sklearn.preprocessing": ("StandardScaler", "RobustScaler", "MinMaxScaler"),
}
_BASELINES = "skeer.baselines"


def _unknown(what, name, valid):
    return ValueError(
        f"Unknown {what} {name!r}; valid names are: {', '.join(map(repr, valid))}."
    )


def get_network(name):
    """The embedding network class called ``name``.

    Parameters
    ----------
    name : str
        A short name from :data:`NETWORKS` or a class name (``"TypeNet"``).

    Returns
    -------
    network : type
        A network of :mod:`skeer.networks`, for ``KeystrokeVerifier(module=...)``.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists the valid names).

    Examples
    --------
    >>> from skeer.registry import get_network
    >>> get_network("MLPEmbedder") is get_network("mlp")
    True
    """
    names = {k: v[0] for k, v in _NETWORK_TABLE.items()}
    names.update({v: v for v in names.values()})
    if not isinstance(name, str) or name not in names:
        raise _unknown("network", name, list(names))
    return getattr(importlib.import_module("skeer.networks"), names[name])


def label(name):
    """The label reports give a network or loss short name (the name if unknown).

    Parameters
    ----------
    name : str
        A short name from :data:`NETWORKS` or :data:`LOSSES`.

    Returns
    -------
    label : str

    Examples
    --------
    >>> from skeer.registry import label
    >>> label("mlp"), label("eer-area"), label("my-loss")
    ('MLP', 'EERLoss (area)', 'my-loss')
    """
    entry = _NETWORK_TABLE.get(name) or _LOSS_TABLE.get(name)
    return name if entry is None else entry[-1]


def get_loss(name, **kwargs):
    """The criterion class called ``name`` and its keyword arguments.

    A pair, not an instance, so that the verifier passes its own
    ``operating_point``: use ``criterion=cls``, ``criterion__<key>=value``.

    Parameters
    ----------
    name : str
        A short name from :data:`LOSSES` or a class name of :mod:`skeer.losses`.
    **kwargs
        Keyword arguments for the criterion, added to the name's presets.

    Returns
    -------
    criterion : type
        A loss of :mod:`skeer.losses`.
    kwargs : dict
        The name's presets updated with ``kwargs``.

    Raises
    ------
    ValueError
        If ``name`` is unknown, or ``kwargs`` contradicts the name's preset.

    Examples
    --------
    >>> from skeer.registry import get_loss
    >>> cls, kwargs = get_loss("eer-area", beta=0.8)
    >>> cls.__name__, kwargs
    ('EERLoss', {'variant': 'area', 'beta': 0.8})
    """
    names = {k: v[:2] for k, v in _LOSS_TABLE.items()}
    names.update({c: (c, {}) for c in sorted({v[0] for v in _LOSS_TABLE.values()})})
    if not isinstance(name, str) or name not in names:
        raise _unknown("loss", name, list(names))
    class_name, preset = names[name]
    for key, value in preset.items():
        if key in kwargs and kwargs[key] != value:
            raise ValueError(
                f"Loss {name!r} sets {key}={value!r}; got {key}={kwargs[key]!r}. "
                f"Use {class_name!r} to choose {key} freely."
            )
    cls = getattr(importlib.import_module("skeer.losses"), class_name)
    return cls, {**preset, **kwargs}


def _public_classes(module_name, base):
    module = importlib.import_module(module_name)
    public = {n: getattr(module, n, None) for n in getattr(module, "__all__", ())}
    return {
        f"{module_name}.{name}": obj
        for name, obj in public.items()
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base
    }


def _allowed(kind, *, baselines=True):
    """``{dotted name: class}`` of one kind's allow-list."""
    if kind == "estimator":
        from sklearn.base import BaseEstimator

        table = {
            f"{module}.{name}": getattr(importlib.import_module(module), name)
            for module, names in _ESTIMATORS.items()
            for name in names
        }
        if baselines:
            with contextlib.suppress(ImportError):  # e.g. an optional dependency
                table.update(_public_classes(_BASELINES, BaseEstimator))
        return table
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; valid kinds are: {', '.join(KINDS)}.")
    import torch

    module, base = {
        "network": ("skeer.networks", torch.nn.Module),
        "loss": ("skeer.losses", torch.nn.Module),
        "optimizer": ("torch.optim", torch.optim.Optimizer),
    }[kind]
    return _public_classes(module, base)


def qualified_name(obj):
    """The dotted name a class (or an instance's class) is saved under.

    Allow-listed classes get their public module's name; others get
    ``"<module>.<qualname>"``, which :func:`resolve` refuses.

    Parameters
    ----------
    obj : type or object
        A class, or an instance of it.

    Returns
    -------
    name : str

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skeer.registry import qualified_name
    >>> qualified_name(StandardScaler())
    'sklearn.preprocessing.StandardScaler'
    """
    cls = obj if inspect.isclass(obj) else type(obj)
    module = cls.__module__ or ""
    if module.startswith(("skeer.", "sklearn.", "torch.")):
        baselines = module.startswith(_BASELINES)
        for kind in KINDS:
            for name, allowed in _allowed(kind, baselines=baselines).items():
                if allowed is cls:
                    return name
    return f"{module}.{cls.__qualname__}"


def resolve(name, *, kind=None):
    """The allow-listed class named ``name``; nothing else is imported.

    Parameters
    ----------
    name : str
        A dotted name as written by :func:`qualified_name`.
    kind : {"network", "loss", "optimizer", "estimator"} or None, default=None
        Search only this kind's allow-list; ``None`` searches all of them.

    Returns
    -------
    cls : type

    Raises
    ------
    ValueError
        If ``name`` is not allow-listed (for ``kind``).

    Examples
    --------
    >>> from skeer.registry import resolve
    >>> resolve("os.system")
    Traceback (most recent call last):
    ...
    ValueError: 'os.system' is not a class skeer may load (see skeer.registry).
    """
    is_str = isinstance(name, str)
    for k in KINDS if kind is None else (kind,):
        table = _allowed(k, baselines=is_str and name.startswith(_BASELINES))
        if is_str and name in table:
            return table[name]
    what = "a class" if kind is None else f"an allow-listed {kind} class"
    raise ValueError(f"{name!r} is not {what} skeer may load (see skeer.registry).")
