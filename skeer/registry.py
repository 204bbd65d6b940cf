"""Names of skeer's networks and losses, and the classes a saved file may name.

One table shared by the command line (``--model typenet``, ``--loss eer-area``)
and by :mod:`skeer.persistence`, which restores a class from its dotted name
only if it is on the allow-list kept here:

========== =============================================================
kind       allow-listed classes
========== =============================================================
network    the public classes of :mod:`skeer.networks`
loss       the public classes of :mod:`skeer.losses`
optimizer  the optimizers of :mod:`torch.optim` (``torch.optim.Adam``, ...)
estimator  :class:`~skeer.features.KeystrokeFeatures`,
           :class:`~skeer.verifier.KeystrokeVerifier`, the public estimators
           of ``skeer.baselines`` (looked up when needed, so the list
           follows that module) and scikit-learn's ``StandardScaler``,
           ``RobustScaler`` and ``MinMaxScaler``
========== =============================================================

Nothing here imports torch until a network, loss or optimizer is asked for.

Examples
--------
>>> from skeer import registry
>>> registry.NETWORKS
('typenet', 'type2branch', 'mlp')
"""

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

# The registration table: adding a network or a loss to the command line and
# to model files is one line here (its class exported by its package).
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
_NETWORK_CLASSES = {k: v[0] for k, v in _NETWORK_TABLE.items()}
_LOSS_CLASSES = {k: v[:2] for k, v in _LOSS_TABLE.items()}
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
        A :class:`torch.nn.Module` subclass of :mod:`skeer.networks`, to pass
        as ``KeystrokeVerifier(module=...)``.

    Raises
    ------
    ValueError
        If ``name`` is not one of the names above (the message lists them).

    Examples
    --------
    >>> from skeer.registry import get_network
    >>> get_network("MLPEmbedder") is get_network("mlp")
    True
    """
    names = {**_NETWORK_CLASSES, **{v: v for v in _NETWORK_CLASSES.values()}}
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
    if name in _NETWORK_TABLE:
        return _NETWORK_TABLE[name][1]
    if name in _LOSS_TABLE:
        return _LOSS_TABLE[name][2]
    return name


def get_loss(name, **kwargs):
    """The criterion class called ``name`` and its keyword arguments.

    A pair rather than an instance, so that a
    :class:`~skeer.KeystrokeVerifier` given the class passes its own
    ``operating_point`` to it: pass it on as ``criterion=cls`` and
    ``criterion__<key>=value``.

    Parameters
    ----------
    name : str
        A short name from :data:`LOSSES` (``"eer-area"``: EERLoss with
        ``variant="area"``) or a class name of :mod:`skeer.losses`.
    **kwargs
        Keyword arguments for the criterion, added to the name's presets
        (checked by the criterion when built).

    Returns
    -------
    criterion : type
        A :class:`torch.nn.Module` subclass of :mod:`skeer.losses`.
    kwargs : dict
        The keyword arguments to build it with: the name's presets (e.g.
        ``{"variant": "area"}``) updated with ``kwargs``.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists the valid names), or if
        ``kwargs`` contradicts the name's preset (``"eer-area"`` with
        ``variant="direct"``).

    Examples
    --------
    >>> from skeer.registry import get_loss
    >>> cls, kwargs = get_loss("eer-area", beta=0.8)
    >>> cls.__name__, kwargs
    ('EERLoss', {'variant': 'area', 'beta': 0.8})
    """
    classes = {cls for cls, _ in _LOSS_CLASSES.values()}
    names = {**_LOSS_CLASSES, **{c: (c, {}) for c in sorted(classes)}}
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
    table = {}
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name, None)
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base:
            table[f"{module_name}.{name}"] = obj
    return table


def _allowed(kind, *, baselines=True):
    """``{dotted name: class}`` of one kind's allow-list."""
    if kind in ("network", "loss", "optimizer"):
        import torch

        module, base = {
            "network": ("skeer.networks", torch.nn.Module),
            "loss": ("skeer.losses", torch.nn.Module),
            "optimizer": ("torch.optim", torch.optim.Optimizer),
        }[kind]
        return _public_classes(module, base)
    if kind == "estimator":
        from sklearn.base import BaseEstimator

        table = {}
        for module_name, names in _ESTIMATORS.items():
            module = importlib.import_module(module_name)
            for name in names:
                table[f"{module_name}.{name}"] = getattr(module, name)
        if baselines:
            try:
                table.update(_public_classes(_BASELINES, BaseEstimator))
            except ImportError:  # not written (yet) or an optional dependency
                pass
        return table
    raise ValueError(f"Unknown kind {kind!r}; valid kinds are: {', '.join(KINDS)}.")


def qualified_name(obj):
    """The dotted name a class (or an instance's class) is saved under.

    Allow-listed classes get the name of the public module that exports them
    (``"sklearn.preprocessing.StandardScaler"``, not its private module);
    others get ``"<module>.<qualname>"``, which :func:`resolve` refuses.

    Parameters
    ----------
    obj : type or object
        A class, or an instance of it.

    Returns
    -------
    name : str
        The dotted name.

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
        for kind in KINDS:
            baselines = module.startswith(_BASELINES)
            for name, allowed in _allowed(kind, baselines=baselines).items():
                if allowed is cls:
                    return name
    return f"{module}.{cls.__qualname__}"


def resolve(name, *, kind=None):
    """The allow-listed class named ``name``; nothing is imported otherwise.

    No other module is imported and no other name looked up, so a saved file
    naming any other class cannot make skeer run its code.

    Parameters
    ----------
    name : str
        A dotted name as written by :func:`qualified_name`.
    kind : {"network", "loss", "optimizer", "estimator"} or None, default=None
        Search only this kind's allow-list; ``None`` searches all of them.

    Returns
    -------
    cls : type
        The class.

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
    kinds = KINDS if kind is None else (kind,)
    for k in kinds:
        baselines = isinstance(name, str) and name.startswith(_BASELINES)
        table = _allowed(k, baselines=baselines)
        if isinstance(name, str) and name in table:
            return table[name]
    what = "a class" if kind is None else f"an allow-listed {kind} class"
    raise ValueError(f"{name!r} is not {what} skeer may load (see skeer.registry).")
