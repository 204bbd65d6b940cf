"""Save and load fitted verifiers and pipelines; no code runs on load.

:func:`save` writes one file: a JSON configuration plus tensors, written with
``torch.save``; :func:`load` reads it with ``torch.load(weights_only=True)``,
which refuses arbitrary objects. Classes are stored by dotted name and
restored only from the allow-list of :mod:`skeer.registry`; a file naming any
other class is refused before anything is imported. What can be saved:

- a fitted :class:`~skeer.KeystrokeVerifier` (an
  :class:`~skeer.distributed.AcceleratedKeystrokeVerifier` is saved as a plain
  one): its parameters, network weights, enrolled templates, threshold and
  training ``history``;
- a fitted single allow-listed estimator (:class:`~skeer.KeystrokeFeatures`,
  the detectors of ``skeer.baselines``, scikit-learn's ``StandardScaler``,
  ``RobustScaler``, ``MinMaxScaler``): its ``get_params(deep=False)`` and
  its fitted attributes (names ending in ``_``);
- a fitted :class:`~sklearn.pipeline.Pipeline` of such steps.

Storable values are None, bool, int, float, str, numpy arrays and scalars,
tensors, and lists, tuples and str-keyed dicts of them; :func:`save` refuses
anything else with a TypeError naming it. Files written by earlier skeer
versions (``format_version`` 1, a verifier) still load.

The file (``format_version`` 2) is a dict of ``"config"`` (a JSON string),
``"arrays"`` (``{key: tensor}``) and ``"module_states"`` (``{step index:
state dict}``). The configuration holds ``format`` (``"skeer.KeystrokeVerifier"``,
``"skeer.Pipeline"`` or ``"skeer.Estimator"``), ``format_version``, the skeer
and torch versions, ``steps`` (one per pipeline step, or one: each with
``name``, ``class``, ``params`` and ``fitted``; a verifier's also with
``module_class`` and ``history``) and, for a pipeline, ``pipeline_params``.
Values that JSON cannot hold are tagged objects (``{"__skeer__": "ndarray",
"dtype": ..., "shape": ..., "key": ...}``, ``"tuple"``, ``"scalar"``, ...).

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> import skeer
>>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
>>> y = np.repeat(np.arange(4), 10)
>>> pipe = make_pipeline(StandardScaler(), skeer.KeystrokeVerifier(
...     max_epochs=1, validation_size=0, random_state=0)).fit(X, y)
>>> path = skeer.save(pipe, os.path.join(tempfile.mkdtemp(), "pipe.skeer"))
>>> loaded = skeer.load(path)
>>> bool(np.array_equal(loaded.decision_function(X), pipe.decision_function(X)))
True
"""

import inspect
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from . import networks as _networks
from . import registry
from ._version import __version__
from .verifier import KeystrokeVerifier

__all__ = ["load", "save"]

#: Version of the file layout written by :func:`save` (1: a verifier only).
_FORMAT_VERSION = 2
_VERIFIER = "skeer.KeystrokeVerifier"
_PIPELINE = "skeer.Pipeline"
_ESTIMATOR = "skeer.Estimator"
_FORMATS = (_VERIFIER, _PIPELINE, _ESTIMATOR)
#: Key marking a non-JSON value (array, tensor, tuple, ...) in the configuration.
_TAG = "__skeer__"
#: Fitted attributes of every verifier, besides its class's ``_persisted_arrays``.
_VERIFIER_STATE = (
    "classes_",
    "threshold_",
    "n_features_in_",
    "input_ndim_",
    "interrupted_",
)
#: Private state saved besides the fitted attributes (``set_output``'s choice).
_EXTRA_STATE = ("_sklearn_output_config",)
#: Verifier parameters that are not saved: objects the estimator rebuilds.
_SKIPPED = ("iterator_train", "iterator_valid", "callbacks", "dataset", "train_split")
_SKIPPED_PREFIXES = ("iterator_", "callbacks__")
#: Verifier parameters saved as class names -> their registry kind.
_COMPONENTS = {"module": "network", "criterion": "loss", "optimizer": "optimizer"}
#: Widest string dtype (in characters) an array of short items may declare.
_MAX_STR_WIDTH = 1024


def _is_state(name):
    """Whether an attribute name is saved: fitted (``name_``) or ``_EXTRA_STATE``."""
    return (name.endswith("_") and not name.startswith("__")) or name in _EXTRA_STATE


class _Invalid(Exception):
    """A file's content does not follow the format (corrupt or tampered)."""


# ----------------------------------------------------------------------
# values <-> JSON + tensors
class _Encoder:
    """Turn a value into JSON, moving numeric arrays into ``self.arrays``."""

    def __init__(self):
        self.arrays = {}

    def _store(self, tensor):
        key = str(len(self.arrays))
        self.arrays[key] = tensor
        return key

    def __call__(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):  # before float: np.float64 is a float
            if value.dtype.kind in "biufU":
                return {_TAG: "scalar", "dtype": value.dtype.str, "value": value.item()}
        elif type(value) in (int, float):
            return value
        elif isinstance(value, np.ndarray):
            return self._array(value, where)
        elif isinstance(value, torch.Tensor):
            return {_TAG: "tensor", "key": self._store(value.detach().cpu().clone())}
        elif isinstance(value, list):
            return [self(v, where) for v in value]
        elif isinstance(value, tuple):
            return {_TAG: "tuple", "items": [self(v, where) for v in value]}
        elif isinstance(value, dict) and all(isinstance(k, str) for k in value):
            items = {k: self(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {_TAG: "dict", "items": items}
        raise TypeError(
            f"Cannot save {where}: a {type(value).__qualname__} is not storable. "
            "skeer stores None, bool, int, float, str, numpy arrays and scalars, "
            "tensors, and lists, tuples and str-keyed dicts of them."
        )

    def _array(self, a, where):
        spec = {_TAG: "ndarray", "dtype": a.dtype.str, "shape": list(a.shape)}
        if a.dtype.kind in "biufc":
            data = np.ascontiguousarray(a)
            if not data.dtype.isnative:
                data = data.astype(data.dtype.newbyteorder("="))
            if not data.flags.writeable:
                data = data.copy()
            spec["key"] = self._store(torch.from_numpy(data))
            return spec
        if a.dtype.kind in "UO":
            items = [v.item() if isinstance(v, np.generic) else v for v in a.flat]
            if all(v is None or type(v) in (bool, int, float, str) for v in items):
                spec["items"] = items
                return spec
        raise TypeError(
            f"Cannot save {where}: an array of dtype {a.dtype} is not storable "
            "(numeric arrays, and arrays of str, int, float, bool or None are)."
        )


def _dtype(spec, kinds):
    """``np.dtype(spec)`` if its kind is one of ``kinds``, else :class:`_Invalid`."""
    dtype = np.dtype(spec)
    if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype:
        raise _Invalid(f"dtype {spec!r} is not allowed here")
    return dtype


def _tensor(arrays, key):
    tensor = arrays.get(key) if isinstance(arrays, dict) else None
    if not isinstance(tensor, torch.Tensor):
        raise _Invalid(f"missing tensor {key!r}")
    return tensor.cpu()


def _decode(node, arrays):
    """Inverse of :class:`_Encoder`; only plain data comes out."""
    if node is None or type(node) in (bool, int, float, str):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    tag = node.get(_TAG) if isinstance(node, dict) else None
    if tag == "tuple":
        return tuple(_decode(v, arrays) for v in node["items"])
    if tag == "dict":
        return {str(k): _decode(v, arrays) for k, v in node["items"].items()}
    if tag in ("scalar", "ndarray") and not isinstance(node.get("dtype"), str):
        raise _Invalid("a dtype is not a string")
    if tag == "scalar":
        return _dtype(node["dtype"], "biufU").type(node["value"])
    if tag == "tensor":
        return _tensor(arrays, node["key"])
    if tag == "ndarray":
        shape = tuple(node["shape"])
        if "key" in node:
            # numeric kinds only: a dtype read from the file never makes the
            # array more than a few times the size of the tensor present
            dtype = _dtype(node["dtype"], "biufc")
            data = _tensor(arrays, node["key"]).numpy()
            return data.astype(dtype, copy=False).reshape(shape)
        dtype = _dtype(node["dtype"], "biufUO")
        items = node["items"]
        if not isinstance(items, list) or not all(
            v is None or type(v) in (bool, int, float, str) for v in items
        ):
            raise _Invalid("an array item is not a plain value")
        if dtype.kind == "O":
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(shape)
        if dtype.kind == "U":
            # as wide as its longest item needs (or a little wider): a width
            # read from the file does not allocate more than the items hold
            longest = max((len(v) for v in items if isinstance(v, str)), default=0)
            if dtype.itemsize // 4 > max(2 * longest, _MAX_STR_WIDTH):
                raise _Invalid(f"string dtype {dtype.str} is wider than its items")
        return np.asarray(items, dtype=dtype).reshape(shape)
    raise _Invalid(f"unexpected value {str(node)[:60]!r}")


def _decode_mapping(node, arrays, what):
    """A ``{name: encoded value}`` mapping (parameters, fitted state) decoded."""
    if not isinstance(node, dict):
        raise _Invalid(f"{what} are not a mapping")
    return {str(k): _decode(v, arrays) for k, v in node.items()}


def _history(history):
    """``net.history`` as JSON data; values that are not are dropped, with a warning."""
    dropped = set()
    drop = object()

    def clean(value, key):
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            value = value.item()
        elif isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, (list, tuple)):
            items = [clean(v, key) for v in value]
            return [v for v in items if v is not drop]
        if isinstance(value, dict):
            items = {str(k): clean(v, str(k)) for k, v in value.items()}
            return {k: v for k, v in items.items() if v is not drop}
        dropped.add(key)
        return drop

    records = clean(list(history), "history")
    if dropped:
        warnings.warn(
            f"History entries {sorted(dropped)} are not saved (not JSON data).",
            UserWarning,
            stacklevel=5,
        )
    return records


# ----------------------------------------------------------------------
# save
def _where(name, est):
    return f"step {name!r}" if name is not None else type(est).__name__


def _save_estimator(name, est, encode):
    where = _where(name, est)
    class_name = registry.qualified_name(est)
    try:
        allowed = registry.resolve(class_name, kind="estimator") is type(est)
    except ValueError:
        allowed = False
    if not allowed:
        raise TypeError(
            f"Cannot save {where}: {class_name} is not a class skeer may load "
            "(the allow-list is in skeer.registry)."
        )
    check_is_fitted(est)
    params = {
        k: encode(v, f"{where}'s parameter {k!r}")
        for k, v in est.get_params(deep=False).items()
    }
    fitted = {
        k: encode(v, f"{where}'s attribute {k!r}")
        for k, v in vars(est).items()
        if _is_state(k)
    }
    return {"name": name, "class": class_name, "params": params, "fitted": fitted}


def _save_verifier(name, est, index, encode, states):
    est._check_fitted()
    where = _where(name, est)
    cls = type(est)
    if cls is not KeystrokeVerifier and not cls.__module__.startswith("skeer."):
        warnings.warn(
            f"{where} is saved as a plain KeystrokeVerifier: what "
            f"{cls.__qualname__} adds is not saved.",
            UserWarning,
            stacklevel=4,
        )
    own = set(inspect.signature(KeystrokeVerifier.__init__).parameters)
    params = {}
    for key, value in est.get_params(deep=False).items():
        if key in _COMPONENTS:
            params[key] = None if value is None else registry.qualified_name(value)
        elif key in _SKIPPED or key.startswith(_SKIPPED_PREFIXES):
            continue
        elif key not in own and "__" not in key:
            continue  # a subclass's own parameter (e.g. Accelerate's)
        else:
            try:
                params[key] = encode(value, f"{where}'s parameter {key!r}")
            except TypeError:
                warnings.warn(
                    f"Parameter {key}={value!r} is not saved (not storable).",
                    UserWarning,
                    stacklevel=4,
                )
    names = dict.fromkeys((*_VERIFIER_STATE, *cls._persisted_arrays, *_EXTRA_STATE))
    missing = object()
    fitted = {}
    for attr in names:
        value = getattr(est, attr, missing)
        if value is not missing:
            fitted[attr] = encode(value, f"{where}'s attribute {attr!r}")
    module = getattr(est.module_, "_orig_mod", est.module_)
    states[str(index)] = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    return {
        "name": name,
        "class": registry.qualified_name(KeystrokeVerifier),
        "params": params,
        "module_class": registry.qualified_name(module),
        "fitted": fitted,
        "history": _history(est.history),
    }


def _save_step(name, est, index, encode, states):
    if name is not None and (est is None or isinstance(est, str)):
        return {"name": name, "class": est}
    if isinstance(est, KeystrokeVerifier):
        return _save_verifier(name, est, index, encode, states)
    return _save_estimator(name, est, encode)


def save(estimator, path):
    """Save a fitted verifier, pipeline or estimator to one file.

    The file holds a JSON configuration and tensors, written with
    ``torch.save``; :func:`load` reads it back with
    ``torch.load(weights_only=True)`` and restores classes only from the
    allow-list of :mod:`skeer.registry`, so loading never runs code from the
    file.

    Parameters
    ----------
    estimator : KeystrokeVerifier, Pipeline or estimator
        Fitted. A :class:`~skeer.KeystrokeVerifier` (an
        ``AcceleratedKeystrokeVerifier`` is saved as a plain one, a subclass
        defined outside skeer too, with a warning); a
        :class:`~sklearn.pipeline.Pipeline` whose steps are verifiers,
        allow-listed estimators or ``"passthrough"``; or one allow-listed
        estimator. For a verifier: its parameters (those that are not
        storable are skipped with a warning; callbacks and iterators are not
        saved), the network's weights, the fitted attributes ``classes_``,
        ``threshold_``, ``n_features_in_``, ``input_ndim_``, ``interrupted_``
        and every attribute its class lists in ``_persisted_arrays`` (e.g.
        ``templates_``), and ``history``. For another estimator:
        ``get_params(deep=False)`` and every attribute whose name ends in
        ``_``.
    path : str or path-like
        Destination file (conventionally ``*.skeer``); overwritten.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator (or a step) is not fitted.
    TypeError
        If a class is not on the allow-list, or a parameter or fitted
        attribute of a non-verifier estimator is not storable (the message
        names it).

    See Also
    --------
    load : Read the file back.
    skeer.registry.resolve : The allow-list.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import skeer
    >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
    >>> y = np.repeat(np.arange(4), 10)
    >>> clf = skeer.KeystrokeVerifier(max_epochs=2, validation_size=0,
    ...                               random_state=0).fit(X, y)
    >>> path = skeer.save(clf, os.path.join(tempfile.mkdtemp(), "model.skeer"))
    >>> path.suffix
    '.skeer'
    >>> len(skeer.load(path).history)
    2
    """
    encode = _Encoder()
    states = {}
    config = {
        "format": _ESTIMATOR,
        "format_version": _FORMAT_VERSION,
        "skeer_version": __version__,
        "torch_version": torch.__version__,
    }
    if isinstance(estimator, Pipeline):
        config["format"] = _PIPELINE
        params = estimator.get_params(deep=False)
        config["steps"] = [
            _save_step(str(name), est, i, encode, states)
            for i, (name, est) in enumerate(params.pop("steps"))
        ]
        config["pipeline_params"] = {
            k: encode(v, f"the Pipeline's parameter {k!r}") for k, v in params.items()
        }
    else:
        if isinstance(estimator, KeystrokeVerifier):
            config["format"] = _VERIFIER
        config["steps"] = [_save_step(None, estimator, 0, encode, states)]
    blob = {
        "config": json.dumps(config),
        "arrays": encode.arrays,
        "module_states": states,
    }
    path = Path(path)
    torch.save(blob, path)
    return path


# ----------------------------------------------------------------------
# consistency checks: a file must not lie about what it holds
def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def _is_real(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _check_classes(classes):
    """``classes_``: 1-D, plain identities (no objects but str / int), sorted, unique."""
    if not isinstance(classes, np.ndarray) or classes.ndim != 1:
        raise _Invalid("classes_ is not a 1-D array")
    kind = classes.dtype.kind
    if kind not in "biufUO":
        raise _Invalid(f"classes_ has dtype {classes.dtype}, not identities")
    if kind == "O":
        items = classes.tolist()
        kinds = {str if isinstance(v, str) else int if _is_int(v) else None for v in items}
        if None in kinds or len(kinds) > 1:
            raise _Invalid(
                "classes_ is an object array whose items are not all str or all int"
            )
    if kind == "f" and not np.isfinite(classes).all():
        raise _Invalid("classes_ holds NaN or infinity")
    # claims are looked up by binary search: unsorted identities would route a
    # claim to another subject's template
    if len(classes) > 1 and not bool(np.all(classes[1:] > classes[:-1])):
        raise _Invalid("classes_ is not sorted and unique")


def _check_float_matrix(value, name):
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        raise _Invalid(f"{name} is not a 2-D array")
    if value.dtype.kind != "f":
        raise _Invalid(f"{name} has dtype {value.dtype}, not float")
    if not np.isfinite(value).all():
        raise _Invalid(f"{name} holds NaN or infinity")


def _check_templates(est, geometry):
    """``templates_`` / ``template_scales_`` / ``threshold_`` against each other.

    Checks what the template geometry ``geometry`` and the estimator's
    ``operating_point`` demand of the enrolled state.
    """
    classes = getattr(est, "classes_", None)
    _check_classes(classes)
    if not hasattr(est, "templates_"):
        raise _Invalid("templates_ is missing")
    center = est.templates_
    _check_float_matrix(center, "templates_")
    if len(center) != len(classes):
        raise _Invalid(
            f"templates_ has {len(center)} rows but classes_ holds {len(classes)} "
            "identities"
        )
    if center.shape[1] < 1:
        raise _Invalid("templates_ has no columns")
    scale = getattr(est, "template_scales_", None)
    if geometry == "scaled_manhattan":
        if scale is None:
            raise _Invalid(
                "template_scales_ is missing but the template geometry is "
                "'scaled_manhattan'"
            )
        _check_float_matrix(scale, "template_scales_")
        if scale.shape != center.shape:
            raise _Invalid(
                f"template_scales_ has shape {scale.shape} but templates_ "
                f"{center.shape}"
            )
        if not bool((scale > 0).all()):
            raise _Invalid("template_scales_ holds values that are not positive")
    elif scale is not None:
        raise _Invalid(
            f"template_scales_ is set but the template geometry {geometry!r} has "
            "none (only 'scaled_manhattan' does)"
        )
    if geometry == "cosine" and len(center):
        norms = np.linalg.norm(center.astype(np.float64), axis=1)
        if not bool(np.all((np.abs(norms - 1) <= 1e-3) | (norms == 0))):
            raise _Invalid("cosine templates_ are not unit vectors")
    threshold = getattr(est, "threshold_", None)
    if not _is_real(threshold):
        raise _Invalid(f"threshold_ is {threshold!r}, not a number")
    threshold = float(threshold)
    if np.isnan(threshold):
        raise _Invalid("threshold_ is NaN")
    if np.isinf(threshold):
        # the only infinite threshold skeer sets: -inf ("accept every claim")
        # at a target false-match rate that allows every impostor through
        op = getattr(est, "operating_point", "eer")
        if threshold > 0 or op == "eer":
            raise _Invalid(
                f"threshold_ is {threshold} but operating_point={op!r} never "
                "gives it (only a target false-match rate can give -inf)"
            )


def _check_input_shape(est):
    n = getattr(est, "n_features_in_", None)
    if not _is_int(n) or n < 1:
        raise _Invalid(f"n_features_in_ is {n!r}, not a positive integer")
    names = getattr(est, "feature_names_in_", None)
    if names is not None and (
        not isinstance(names, np.ndarray) or names.shape != (n,)
    ):
        raise _Invalid(f"feature_names_in_ does not hold {n} names")


def _check_verifier_state(net):
    """Fitted attributes of a verifier, before its network is built."""
    net._validate_params()
    _check_input_shape(net)
    ndim = getattr(net, "input_ndim_", None)
    if not _is_int(ndim) or ndim not in (2, 3):
        raise _Invalid(f"input_ndim_ is {ndim!r}, not 2 or 3")
    interrupted = getattr(net, "interrupted_", False)
    if not isinstance(interrupted, (bool, np.bool_)):
        raise _Invalid(f"interrupted_ is {interrupted!r}, not a bool")
    _check_templates(net, net.template)


#: Per-feature fitted arrays of the allow-listed scikit-learn scalers.
_PER_FEATURE = (
    "mean_",
    "var_",
    "scale_",
    "center_",
    "min_",
    "data_min_",
    "data_max_",
    "data_range_",
)


def _check_estimator_state(est):
    """Fitted attributes of a non-verifier estimator against each other."""
    if type(est).__module__.startswith("sklearn."):
        _check_input_shape(est)
        n = est.n_features_in_
        for name in _PER_FEATURE:
            value = getattr(est, name, None)
            if value is None:
                continue
            if not isinstance(value, np.ndarray) or value.shape != (n,):
                raise _Invalid(f"{name} does not hold one value per feature ({n})")
            if value.dtype.kind != "f" or not np.isfinite(value).all():
                raise _Invalid(f"{name} holds values that are not finite floats")
    if hasattr(est, "templates_") and hasattr(est, "_template_geometry"):
        _check_templates(est, est._template_geometry)
        n = getattr(est, "n_features_in_", None)
        if n is not None:
            _check_input_shape(est)
            if est.templates_.shape[1] != n:
                raise _Invalid(
                    f"templates_ has {est.templates_.shape[1]} columns but "
                    f"n_features_in_ is {n}"
                )


def _check_pipeline_widths(named):
    """A scaler's output feeds the next step: their feature counts agree."""
    steps = [(n, e) for n, e in named if e is not None and not isinstance(e, str)]
    for (name, prev), (next_name, est) in zip(steps, steps[1:]):
        if not type(prev).__module__.startswith("sklearn."):
            continue
        n_in = getattr(est, "n_features_in_", None)
        if n_in is not None and n_in != prev.n_features_in_:
            raise _Invalid(
                f"step {next_name!r} takes {n_in} features but step {name!r} "
                f"outputs {prev.n_features_in_}"
            )


def _int_sizes(value, name):
    """``(name, int)`` of every positive int in a parameter (lists included)."""
    if _is_int(value) and value > 0:
        yield name, int(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _int_sizes(v, name)


def _module_shapes(state):
    """``{key: shape}`` of a saved state dict; every value must be a tensor."""
    shapes = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise _Invalid("the module state holds something that is not a tensor")
        shapes[key] = tuple(value.shape)
    return shapes


def _check_module_sizes(net, state):
    """The network the saved parameters describe fits the saved weights.

    Checked before anything is allocated: every size parameter of one of
    skeer's networks is at most the number of values the saved weights hold,
    then the network is built on the ``meta`` device (no memory) and its
    parameter and buffer shapes are compared with the saved tensors.
    """
    saved = _module_shapes(state)
    n_values = sum(int(np.prod(s, dtype=object)) for s in saved.values())
    module = net.module
    if module is None:
        module = _networks.TypeNet if net.input_ndim_ == 3 else _networks.MLPEmbedder
    cls = module if inspect.isclass(module) else type(module)
    if cls.__module__ == _networks.__name__:
        kwargs = net.get_params_for("module")
        kwargs.setdefault("n_features", net.n_features_in_)
        for name, size in (
            pair for key, value in kwargs.items() for pair in _int_sizes(value, key)
        ):
            if size > max(n_values, 1):
                raise _Invalid(
                    f"module__{name}={size} describes a network larger than the "
                    f"{n_values} values of the saved weights"
                )
    with torch.device("meta"), net._current_init_context("module"):
        try:
            net.initialize_module()
            expected = {
                k: tuple(v.shape)
                for k, v in getattr(
                    net.module_, "_orig_mod", net.module_
                ).state_dict().items()
            }
        except RuntimeError as exc:  # e.g. a size overflows
            raise _Invalid(
                f"the saved parameters describe no buildable {cls.__name__} ({exc})"
            ) from None
        finally:
            net.__dict__.pop("module_", None)
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    if missing or unexpected:
        raise _Invalid(
            f"the saved weights do not fit {cls.__name__} built from the saved "
            f"parameters (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for key, shape in expected.items():
        if saved[key] != shape:
            raise _Invalid(
                f"the saved weight {key!r} has shape {saved[key]} but "
                f"{cls.__name__} built from the saved parameters needs {shape}"
            )


def _check_embedding_dim(net):
    """The network's output has as many columns as the templates."""
    module = getattr(net.module_, "_orig_mod", net.module_)
    n = net.n_features_in_
    shape = (2, n) if net.input_ndim_ == 2 else (2, 1, n)
    first = next(module.parameters(), None)
    device = first.device if first is not None else torch.device(net.device or "cpu")
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(torch.zeros(shape, device=device))
    except Exception as exc:
        raise _Invalid(
            f"the network does not take the saved input shape (input_ndim_="
            f"{net.input_ndim_}, n_features_in_={n}): {exc}"
        ) from None
    finally:
        module.train(training)
    d = net.templates_.shape[1]
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, d):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise _Invalid(
            f"the network embeds into {got[1:] if isinstance(got, tuple) else got} "
            f"but templates_ has {d} columns"
        )


# ----------------------------------------------------------------------
# load
class _Reader:
    def __init__(self, blob, *, map_location, module, criterion, verifier_class):
        self.blob = blob
        self.map_location = map_location
        self.given = {"module": module, "criterion": criterion}
        self.verifier_class = verifier_class

    def _dict(self, value, what):
        if not isinstance(value, dict):
            raise _Invalid(f"{what} is not a mapping")
        return value

    def _set_state(self, est, fitted):
        for name, value in self._dict(fitted, "fitted state").items():
            if not (isinstance(name, str) and name.isidentifier() and _is_state(name)):
                raise _Invalid(f"{name!r} is not a fitted attribute")
            setattr(est, name, value)

    def verifier(self, params, fitted, state, history):
        params = dict(self._dict(params, "parameters"))
        for key, kind in _COMPONENTS.items():
            name = params.get(key)
            if self.given.get(key) is not None:
                params[key] = self.given[key]
            elif name is not None:
                try:
                    params[key] = registry.resolve(name, kind=kind)
                except ValueError:
                    if key == "optimizer":  # not needed to predict
                        warnings.warn(
                            f"The saved optimizer {name!r} is not one of torch's; "
                            "the default is used.",
                            UserWarning,
                            stacklevel=6,
                        )
                        del params[key]
                        continue
                    raise ValueError(
                        f"The saved {key} {name!r} is not one of skeer's own (see "
                        f"skeer.registry); pass {key}=<the class> to load it."
                    ) from None
        params["device"] = str(self.map_location)
        net = self.verifier_class(**params)
        self._set_state(net, fitted)
        state = self._dict(state, "module state")
        _check_verifier_state(net)
        _check_module_sizes(net, state)
        net.initialize()
        target = getattr(net.module_, "_orig_mod", net.module_)
        target.load_state_dict(state)
        _check_embedding_dim(net)
        if history is not None:
            if not isinstance(history, list) or not all(
                isinstance(h, dict) for h in history
            ):
                raise _Invalid("history is not a list of epochs")
            net.history_ = History(history)
        return net

    def load_v1(self, config):
        fitted = self._dict(config["fitted"], "fitted state")
        templates = self.blob["templates"]
        if not isinstance(templates, torch.Tensor):
            raise _Invalid("templates are not a tensor")
        state = {
            "classes_": np.asarray(
                fitted["classes"], dtype=np.dtype(fitted["classes_dtype"])
            ),
            "templates_": templates.cpu().numpy(),
            "threshold_": float(fitted["threshold"]),
            "n_features_in_": int(fitted["n_features_in"]),
            "input_ndim_": int(fitted["input_ndim"]),
        }
        return self.verifier(config["params"], state, self.blob["module_state"], None)

    def step(self, index, spec, *, in_pipeline):
        spec = self._dict(spec, "a step")
        class_name = spec["class"]
        if in_pipeline and (class_name is None or class_name == "passthrough"):
            return class_name
        cls = registry.resolve(class_name, kind="estimator")
        arrays = self.blob.get("arrays", {})
        params = _decode_mapping(spec["params"], arrays, "parameters")
        fitted = _decode_mapping(spec["fitted"], arrays, "fitted attributes")
        if issubclass(cls, KeystrokeVerifier):
            states = self._dict(self.blob.get("module_states"), "module states")
            return self.verifier(
                params, fitted, states[str(index)], spec.get("history")
            )
        est = cls(**params)
        self._set_state(est, fitted)
        _check_estimator_state(est)
        return est

    def load_v2(self, config):
        fmt, steps = config["format"], config["steps"]
        if not isinstance(steps, list) or not steps:
            raise _Invalid("no steps")
        if fmt != _PIPELINE:
            if len(steps) != 1:
                raise _Invalid(f"{len(steps)} steps in a single estimator")
            est = self.step(0, steps[0], in_pipeline=False)
            if (fmt == _VERIFIER) != isinstance(est, KeystrokeVerifier):
                raise _Invalid(f"a {type(est).__name__} in a {fmt} file")
            return est
        named = []
        for i, spec in enumerate(steps):
            est = self.step(i, spec, in_pipeline=True)
            if not isinstance(spec.get("name"), str):
                raise _Invalid("a step has no name")
            named.append((spec["name"], est))
        _check_pipeline_widths(named)
        params = _decode_mapping(
            config.get("pipeline_params", {}), self.blob.get("arrays"), "parameters"
        )
        return Pipeline(named, **params)


def _load(path, *, map_location, module, criterion, verifier_class):
    shown = repr(str(path))
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # not a zip / pickle, or a refused object
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ValueError(
            f"path {shown} is not a skeer model file: torch.load(weights_only=True) "
            f"refused it ({type(exc).__name__}: {reason})."
        ) from exc
    config = None
    if isinstance(blob, dict) and isinstance(blob.get("config"), str):
        try:
            config = json.loads(blob["config"])
        except ValueError:
            config = None
    if not isinstance(config, dict) or config.get("format") not in _FORMATS:
        raise ValueError(f"path {shown} is not a skeer model file.")
    version = config.get("format_version")
    if type(version) is not int or version < 1:
        raise ValueError(
            f"path {shown} is not a valid skeer model file (format_version "
            f"{version!r})."
        )
    if version > _FORMAT_VERSION:
        raise ValueError(
            f"path {shown} was written by a newer skeer "
            f"({config.get('skeer_version')}, format_version {version}); upgrade "
            "skeer to load it."
        )
    reader = _Reader(
        blob,
        map_location=map_location,
        module=module,
        criterion=criterion,
        verifier_class=verifier_class,
    )
    try:
        if version == 1:
            if config["format"] != _VERIFIER:
                raise _Invalid(f"format_version 1 of {config['format']}")
            return reader.load_v1(config)
        return reader.load_v2(config)
    except _Invalid as exc:
        raise ValueError(
            f"path {shown} is not a valid skeer model file ({exc}); it is corrupt "
            "or was tampered with."
        ) from None
    except ValueError as exc:
        if shown in str(exc):
            raise
        raise ValueError(f"path {shown}: {exc}") from exc
    except (KeyError, IndexError, AttributeError, TypeError, RuntimeError) as exc:
        raise ValueError(
            f"path {shown} could not be loaded ({type(exc).__name__}: {exc}); the "
            "file is corrupt or was tampered with, or module= / criterion= does "
            "not match it."
        ) from exc


def load(path, *, map_location="cpu", module=None, criterion=None):
    """Load a verifier, pipeline or estimator written by :func:`save`.

    Reads with ``torch.load(weights_only=True)`` and restores classes only
    from the allow-list of :mod:`skeer.registry`: no code from the file runs.
    Files written by earlier skeer versions (``format_version`` 1) load too.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save` (or by ``KeystrokeVerifier.save``).
    map_location : str or torch.device, default="cpu"
        Device for the verifiers' networks (a model trained on a GPU loads on
        a CPU machine with the default); it becomes their ``device``.
    module, criterion : class or None, default=None
        The network / loss class of the saved verifiers, needed only for
        classes that are not skeer's own (they are stored by name only).

    Returns
    -------
    estimator : KeystrokeVerifier, Pipeline or estimator
        What was saved, fitted: ``transform`` / ``decision_function`` give
        the same output as before saving.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a skeer model file, is corrupt or tampered with,
        was written by a newer skeer, or names a class that is not on the
        allow-list (the message names ``path``).

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> import skeer
    >>> scaler = StandardScaler().fit(np.arange(12.0).reshape(6, 2))
    >>> path = skeer.save(scaler, os.path.join(tempfile.mkdtemp(), "s.skeer"))
    >>> skeer.load(path).mean_
    array([5., 6.])
    """
    return _load(
        path,
        map_location=map_location,
        module=module,
        criterion=criterion,
        verifier_class=KeystrokeVerifier,
    )
