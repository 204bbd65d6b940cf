"""The consistency checks of :func:`skeer.load`: each raises ``InvalidFile``
naming the disagreement; sizes are checked before anything is allocated."""

import inspect
import numbers
import warnings

import numpy as np
import torch

from skeer._validation import is_integer
from skeer.networks import _networks as _networks
from skeer.persistence._model_codec import InvalidFile
from skeer.templates import _enrol as _enrol

__all__ = [
    "check_estimator_state",
    "check_module_sizes",
    "check_network_output",
    "check_pipeline_widths",
    "check_unsaved_params",
    "check_verifier_state",
    "saved_params",
]

#: Per-feature fitted arrays of the allow-listed scikit-learn scalers.
_PER_FEATURE = ("mean_", "var_", "scale_", "center_", "min_")
_PER_FEATURE += ("data_min_", "data_max_", "data_range_")
#: Parameters of skeer's networks that count layers (each adds tensors).
_LAYER_COUNTS = ("num_layers",)
#: Verifier parameters a file holds only at a harmless value: a later
#: ``load_params`` would call ``torch.load`` with ``torch_load_kwargs`` (e.g.
#: ``weights_only=False``: unpickling), and ``predict_nonlinearity`` names
#: what runs on the network's output.
DEFAULT_ONLY = {"torch_load_kwargs": (None,), "predict_nonlinearity": ("auto", None)}


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


# fitted attributes
def _check_classes(classes):
    """``classes_``: 1-D, plain identities (objects only str / int), sorted, unique."""
    if not isinstance(classes, np.ndarray) or classes.ndim != 1:
        raise InvalidFile("classes_ is not a 1-D array")
    kind = classes.dtype.kind
    if kind not in "biufUO":
        raise InvalidFile(f"classes_ has dtype {classes.dtype}, not identities")
    if kind == "O":
        items = classes.tolist()
        kinds = {
            str if isinstance(v, str) else int if is_integer(v) else None for v in items
        }
        if None in kinds or len(kinds) > 1:
            raise InvalidFile(
                "classes_ is an object array whose items are not all str or all int"
            )
    if kind == "f" and not np.isfinite(classes).all():
        raise InvalidFile("classes_ holds NaN or infinity")
    # claims are looked up by binary search
    if len(classes) > 1 and not bool(np.all(classes[1:] > classes[:-1])):
        raise InvalidFile("classes_ is not sorted and unique")


def _check_float_matrix(value, name):
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        raise InvalidFile(f"{name} is not a 2-D array")
    if value.dtype.kind != "f":
        raise InvalidFile(f"{name} has dtype {value.dtype}, not float")
    if not np.isfinite(value).all():
        raise InvalidFile(f"{name} holds NaN or infinity")


def _check_templates(est, geometry):
    """Templates, their scales and ``threshold_`` against the geometry, each other."""
    if geometry not in _enrol.GEOMETRIES:
        raise InvalidFile(f"the template geometry is {geometry!r}, not a known one")
    classes = getattr(est, "classes_", None)
    _check_classes(classes)
    if not hasattr(est, "templates_"):
        raise InvalidFile("templates_ is missing")
    center = est.templates_
    _check_float_matrix(center, "templates_")
    if len(center) != len(classes):
        raise InvalidFile(
            f"templates_ has {len(center)} rows but classes_ holds {len(classes)} "
            "identities"
        )
    if center.shape[1] < 1:
        raise InvalidFile("templates_ has no columns")
    scale = getattr(est, "template_scales_", None)
    if geometry == "scaled_manhattan":
        if scale is None:
            raise InvalidFile(
                "template_scales_ is missing but the template geometry is "
                "'scaled_manhattan'"
            )
        _check_float_matrix(scale, "template_scales_")
        if scale.shape != center.shape:
            raise InvalidFile(
                f"template_scales_ has shape {scale.shape} but templates_ "
                f"{center.shape}"
            )
        if not bool((scale > 0).all()):
            raise InvalidFile("template_scales_ holds values that are not positive")
    elif scale is not None:
        raise InvalidFile(
            f"template_scales_ is set but the template geometry {geometry!r} has "
            "none (only 'scaled_manhattan' does)"
        )
    if geometry == "cosine" and len(center):
        norms = np.linalg.norm(center.astype(np.float64), axis=1)
        if not bool(np.all((np.abs(norms - 1) <= 1e-3) | (norms == 0))):
            raise InvalidFile("cosine templates_ are not unit vectors")
    threshold = _check_threshold(est, None)
    op = getattr(est, "operating_point", "eer")
    # the one infinite threshold skeer sets: -inf (accept all) at a target rate
    if np.isinf(threshold) and (threshold > 0 or op == "eer"):
        raise InvalidFile(
            f"threshold_ is {threshold} but operating_point={op!r} never "
            "gives it (only a target false-match rate can give -inf)"
        )


def _check_threshold(est, default):
    """``threshold_`` (``default`` if unset): a number, not NaN, as a float."""
    threshold = getattr(est, "threshold_", default)
    if not _is_real(threshold):
        raise InvalidFile(f"threshold_ is {threshold!r}, not a number")
    if np.isnan(float(threshold)):
        raise InvalidFile("threshold_ is NaN")
    return float(threshold)


def _check_input_shape(est):
    n = getattr(est, "n_features_in_", None)
    if not is_integer(n) or n < 1:
        raise InvalidFile(f"n_features_in_ is {n!r}, not a positive integer")
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        return
    if not isinstance(names, np.ndarray) or names.shape != (n,):
        raise InvalidFile(f"feature_names_in_ does not hold {n} names")
    if not all(isinstance(v, str) for v in names.tolist()):
        raise InvalidFile("feature_names_in_ holds names that are not strings")


def _check_per_feature(est, name):
    """``est.<name>``: None, or one finite float per input feature."""
    value = getattr(est, name, None)
    if value is None:
        return None
    n = est.n_features_in_
    if not isinstance(value, np.ndarray) or value.shape != (n,):
        raise InvalidFile(f"{name} does not hold one value per feature ({n})")
    if value.dtype.kind != "f" or not np.isfinite(value).all():
        raise InvalidFile(f"{name} holds values that are not finite floats")
    return value


def _check_input_standardization(net):
    """``input_mean_``, ``input_scale_``: both None, or both set (2-D input only)."""
    mean = _check_per_feature(net, "input_mean_")
    scale = _check_per_feature(net, "input_scale_")
    if (mean is None) != (scale is None):
        raise InvalidFile("input_mean_ and input_scale_ are not both set or both None")
    if scale is None:
        return
    if not bool((scale > 0).all()):
        raise InvalidFile("input_scale_ holds values that are not positive")
    if net.input_ndim_ != 2:
        raise InvalidFile(
            "input_mean_ is set but the input is not fixed text (input_ndim_ is "
            f"{net.input_ndim_}, not 2)"
        )


def check_verifier_state(net):
    """Fitted attributes of a verifier, before its network is built."""
    net._validate_params()
    _check_input_shape(net)
    ndim = getattr(net, "input_ndim_", None)
    if not is_integer(ndim) or ndim not in (2, 3):
        raise InvalidFile(f"input_ndim_ is {ndim!r}, not 2 or 3")
    interrupted = getattr(net, "interrupted_", False)
    if not isinstance(interrupted, bool | np.bool_):
        raise InvalidFile(f"interrupted_ is {interrupted!r}, not a bool")
    dim = getattr(net, "embedding_dim_", None)
    if dim is not None and (not is_integer(dim) or dim < 1):
        raise InvalidFile(f"embedding_dim_ is {dim!r}, not a positive integer")
    _check_input_standardization(net)
    _check_template_params(net)
    _check_templates(net, net._template_geometry)


def check_estimator_state(est):
    """Fitted attributes of a non-verifier estimator against each other."""
    _check_threshold(est, 0.0)
    if hasattr(est, "_check_loaded_state"):
        try:
            est._check_loaded_state()
        except ValueError as exc:
            raise InvalidFile(str(exc)) from None
    if type(est).__module__.startswith("sklearn."):
        _check_input_shape(est)
        for name in _PER_FEATURE:
            _check_per_feature(est, name)
    if hasattr(est, "templates_") and hasattr(est, "_template_geometry"):
        _check_templates(est, est._template_geometry)
        n = getattr(est, "n_features_in_", None)
        if n is not None:
            _check_input_shape(est)
            if est.templates_.shape[1] != n:
                raise InvalidFile(
                    f"templates_ has {est.templates_.shape[1]} columns but "
                    f"n_features_in_ is {n}"
                )


def check_pipeline_widths(named):
    """A scaler's output feeds the next step: their feature counts agree."""
    steps = [(n, e) for n, e in named if e is not None and not isinstance(e, str)]
    for (name, prev), (next_name, est) in zip(steps, steps[1:]):
        if not type(prev).__module__.startswith("sklearn."):
            continue
        n_in = getattr(est, "n_features_in_", None)
        if n_in is not None and n_in != prev.n_features_in_:
            raise InvalidFile(
                f"step {next_name!r} takes {n_in} features but step {name!r} "
                f"outputs {prev.n_features_in_}"
            )


# the network against its saved weights and the templates
def _int_sizes(value, name):
    """``(name, int)`` of every positive int in a parameter (lists included)."""
    if is_integer(value) and value > 0:
        yield name, int(value)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _int_sizes(v, name)


def _module_shapes(state):
    """``{key: shape}`` of a saved state dict; every value must be a tensor."""
    if not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise InvalidFile("the module state holds something that is not a tensor")
    return {key: tuple(value.shape) for key, value in state.items()}


def _check_size_parameters(net, saved):
    """Size and layer-count parameters within the saved values and tensors."""
    n_values = sum(int(np.prod(s, dtype=object)) for s in saved.values())
    kwargs = net.get_params_for("module")
    kwargs.setdefault("n_features", net.n_features_in_)
    sizes = (pair for key, value in kwargs.items() for pair in _int_sizes(value, key))
    for name, size in sizes:
        if size > max(n_values, 1):
            raise InvalidFile(
                f"module__{name}={size} describes a network larger than the "
                f"{n_values} values of the saved weights"
            )
    for key, value in kwargs.items():
        count = len(value) if isinstance(value, list | tuple) else value
        if key in _LAYER_COUNTS or isinstance(value, list | tuple):
            if is_integer(count) and count > len(saved):
                raise InvalidFile(
                    f"module__{key} describes {count} layers but the saved "
                    f"weights hold {len(saved)} tensors"
                )


def check_module_sizes(net, state):
    """The network the parameters describe (built on ``meta``) fits the weights."""
    saved = _module_shapes(state)
    module = net.module
    if module is None:
        module = _networks.TypeNet if net.input_ndim_ == 3 else _networks.MLPEmbedder
    cls = module if inspect.isclass(module) else type(module)
    if cls.__module__ == _networks.__name__:
        _check_size_parameters(net, saved)
    with torch.device("meta"), net._current_init_context("module"):
        try:
            net.initialize_module()
            built = getattr(net.module_, "_orig_mod", net.module_)
            expected = {k: tuple(v.shape) for k, v in built.state_dict().items()}
        except RuntimeError as exc:  # e.g. a size overflows
            raise InvalidFile(
                f"the saved parameters describe no buildable {cls.__name__} ({exc})"
            ) from None
        finally:
            net.__dict__.pop("module_", None)
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    if missing or unexpected:
        raise InvalidFile(
            f"the saved weights do not fit {cls.__name__} built from the saved "
            f"parameters (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for key, shape in expected.items():
        if saved[key] != shape:
            raise InvalidFile(
                f"the saved weight {key!r} has shape {saved[key]} but "
                f"{cls.__name__} built from the saved parameters needs {shape}"
            )


def check_weights_finite(state):
    """Every floating-point tensor of a saved network state is finite."""
    for key, value in state.items():
        if (
            isinstance(value, torch.Tensor)
            and value.is_floating_point()
            and not bool(torch.isfinite(value).all())
        ):
            raise InvalidFile(f"the saved weight {key!r} holds NaN or infinity")


def check_network_output(net):
    """The network's output width fits ``templates_`` and ``embedding_dim_``."""
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
        raise InvalidFile(
            f"the network does not take the saved input shape (input_ndim_="
            f"{net.input_ndim_}, n_features_in_={n}): {exc}"
        ) from None
    finally:
        module.train(training)
    width = net.templates_.shape[1]
    extra = 0 if getattr(net, "input_mean_", None) is None else n
    d = width - extra
    is_tensor = isinstance(out, torch.Tensor)
    if not is_tensor or tuple(out.shape) != (2, d):
        got = tuple(out.shape)[1:] if is_tensor else type(out).__name__
        of_input = f" ({extra} of them the standardised input)" if extra else ""
        raise InvalidFile(
            f"the network embeds into {got} but templates_ has {width} "
            f"columns{of_input}"
        )
    dim = getattr(net, "embedding_dim_", None)
    if dim is not None and dim != d:
        raise InvalidFile(f"embedding_dim_ is {dim} but the network embeds into ({d},)")


def _check_template_params(net):
    """``geometry_`` and the input part of the templates agree with the params."""
    fitted = getattr(net, "geometry_", None)
    if fitted is None:  # a file from before geometry_ (always cosine)
        return
    if not isinstance(fitted, str) or fitted not in _enrol.GEOMETRIES:
        raise InvalidFile(f"the template geometry is {fitted!r}, not a known one")
    try:
        expected, with_input = _enrol.resolve_geometry(
            net.geometry, net.template_input, net.input_ndim_
        )
    except (TypeError, ValueError) as exc:
        raise InvalidFile(f"its template parameters are invalid ({exc})") from None
    if fitted != expected:
        raise InvalidFile(
            f"geometry_ is {fitted!r} but geometry={net.geometry!r} gives "
            f"{expected!r} for {net.input_ndim_}-D input"
        )
    if with_input != (getattr(net, "input_mean_", None) is not None):
        raise InvalidFile(
            f"template_input={net.template_input!r} "
            + ("needs" if with_input else "excludes")
            + " the input standardisation (input_mean_)"
        )


# verifier parameters
def _is_default(key, value):
    """Whether ``value`` is one of the harmless values of :data:`DEFAULT_ONLY`."""
    return any(
        value is ok or (type(value) is type(ok) and value == ok)
        for ok in DEFAULT_ONLY[key]
    )


def saved_params(params):
    """A verifier's parameters less (warning) those of DEFAULT_ONLY off default."""
    kept = {}
    for key, value in params.items():
        if key in DEFAULT_ONLY and not _is_default(key, value):
            warnings.warn(
                f"Parameter {key}={value!r} is not saved: a model file holds only "
                f"{' or '.join(map(repr, DEFAULT_ONLY[key]))}; the loaded verifier "
                "has the default.",
                UserWarning,
                stacklevel=5,
            )
            continue
        kept[key] = value
    return kept


def check_unsaved_params(params, skipped, prefixes):
    """No parameter :func:`skeer.save` never writes."""
    unsaved = [k for k in params if k in skipped or k.startswith(prefixes)]
    if unsaved:
        raise InvalidFile(f"parameters save never writes: {sorted(unsaved)[:3]}")
    for key in DEFAULT_ONLY.keys() & params.keys():
        if not _is_default(key, params[key]):
            raise InvalidFile(
                f"{key}={params[key]!r} is not allowed: a model file holds only "
                f"{' or '.join(map(repr, DEFAULT_ONLY[key]))}"
            )
