"""Save and load fitted estimators; no code runs on load.

A file (``torch.save``) is a dict of ``"config"`` (JSON: format, versions and
``steps``), ``"arrays"`` (tensors the config refers to), ``"module_states"``
(``{step index: state dict}``) and ``"checksum"`` (SHA-256 of the rest).
"""

import contextlib
import inspect
import json
import os
import stat
import warnings
from pathlib import Path

import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from skeer import registry
from skeer._version import __version__
from skeer.persistence._model_codec import (
    Encoder,
    InvalidFile,
    check_checksum,
    checksum,
    decode_mapping,
    history_records,
)
from skeer.persistence._model_file import (
    check_estimator_state,
    check_module_sizes,
    check_network_output,
    check_pipeline_widths,
    check_unsaved_params,
    check_verifier_state,
    check_weights_finite,
    saved_params,
)
from skeer.verifier._estimator import KeystrokeVerifier

__all__ = ["load", "save"]

#: Version of the file layout written by :func:`save` (1: a verifier only).
_FORMAT_VERSION = 4  # 3: subject vocabulary, geometry=; 4: checksum
_VERIFIER = "skeer.KeystrokeVerifier"
_PIPELINE = "skeer.Pipeline"
_ESTIMATOR = "skeer.Estimator"
_FORMATS = (_VERIFIER, _PIPELINE, _ESTIMATOR)
#: Fitted attributes of every verifier, besides its class's ``_persisted_arrays``.
_VERIFIER_STATE = (
    "classes_",
    "threshold_",
    "n_features_in_",
    "input_ndim_",
    "embedding_dim_",
    "feature_names_in_",
    "interrupted_",
    "geometry_",
    "max_epochs_",
    "batches_per_epoch_",
)
#: Private state saved besides the fitted attributes (``set_output``'s choice).
_EXTRA_STATE = ("_sklearn_output_config",)
#: Verifier parameters that are not saved: objects the estimator rebuilds.
_SKIPPED = ("iterator_train", "iterator_valid", "callbacks", "dataset", "train_split")
_SKIPPED_PREFIXES = ("iterator_", "callbacks__")
#: Verifier parameters saved as class names -> their registry kind.
_COMPONENTS = {"module": "network", "criterion": "loss", "optimizer": "optimizer"}


def _is_state(name):
    """Whether an attribute is saved: fitted (``name_``) or ``_EXTRA_STATE``."""
    return (name.endswith("_") and not name.startswith("__")) or name in _EXTRA_STATE


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
    try:  # what load checks: a file it would refuse is not written
        check_estimator_state(est)
    except InvalidFile as exc:
        raise ValueError(f"Cannot save {where}: {exc}.") from None
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
    if getattr(est, "_wrapped_with_accelerator", False):
        raise ValueError(
            f"{where}'s module is still wrapped by the accelerator; "
            "fit with unwrap_after_train=True (the default) to save it."
        )
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
    for key, value in saved_params(est.get_params(deep=False)).items():
        if key in _COMPONENTS:
            params[key] = None if value is None else registry.qualified_name(value)
        elif key in _SKIPPED or key.startswith(_SKIPPED_PREFIXES):
            continue
        elif key in own or "__" in key:  # not a subclass's own (e.g. Accelerate's)
            try:
                params[key] = encode(value, f"{where}'s parameter {key!r}")
            except TypeError:
                warnings.warn(
                    f"Parameter {key}={value!r} is not saved (not storable).",
                    UserWarning,
                    stacklevel=4,
                )
    names = dict.fromkeys((*_VERIFIER_STATE, *cls._persisted_arrays, *_EXTRA_STATE))
    fitted = {
        attr: encode(getattr(est, attr), f"{where}'s attribute {attr!r}")
        for attr in names
        if hasattr(est, attr)
    }
    module = getattr(est.module_, "_orig_mod", est.module_)
    states[str(index)] = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    return {
        "name": name,
        "class": registry.qualified_name(KeystrokeVerifier),
        "params": params,
        "module_class": registry.qualified_name(module),
        "fitted": fitted,
        "history": history_records(est.history),
    }


def _save_step(name, est, index, encode, states):
    if name is not None and (est is None or isinstance(est, str)):
        return {"name": name, "class": est}
    if isinstance(est, KeystrokeVerifier):
        return _save_verifier(name, est, index, encode, states)
    return _save_estimator(name, est, encode)


def save(estimator, path):
    """Save a fitted verifier, pipeline or estimator to one file.

    Parameters
    ----------
    estimator : KeystrokeVerifier, Pipeline or estimator
        Fitted: a :class:`~skeer.KeystrokeVerifier` (a subclass from outside
        skeer is saved as a plain one, with a warning), a Pipeline of
        verifiers, allow-listed estimators or ``"passthrough"``, or one
        allow-listed estimator. A verifier's callbacks, iterators and
        unstorable parameters are not saved (with a warning). Storable: None,
        bool, int, float, str, arrays, tensors, and lists, tuples and
        str-keyed dicts of them.
    path : str or path-like
        Destination file (conventionally ``*.skeer``); overwritten.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    TypeError
        If a class is not allow-listed, or a value is not storable.

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
    >>> len(skeer.load(path).history)
    2
    """
    encode = Encoder()
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
        _check_pipeline_params(params, "estimator")
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
    blob["checksum"] = checksum(blob)
    path = Path(path)
    torch.save(blob, path)
    return path


class _Reader:
    def __init__(self, blob, *, map_location, module, criterion):
        self.blob = blob
        self.map_location = map_location
        self.given = {"module": module, "criterion": criterion}

    def _dict(self, value, what):
        if not isinstance(value, dict):
            raise InvalidFile(f"{what} is not a mapping")
        return value

    def _set_state(self, est, fitted):
        for name, value in self._dict(fitted, "fitted state").items():
            if not (isinstance(name, str) and name.isidentifier() and _is_state(name)):
                raise InvalidFile(f"{name!r} is not a fitted attribute")
            setattr(est, name, value)

    def verifier(self, params, fitted, state, history):
        params = dict(self._dict(params, "parameters"))
        for key, kind in _COMPONENTS.items():
            name = params.get(key)
            if self.given.get(key) is not None:
                params[key] = self.given[key]
                continue
            try:
                if name is not None:
                    params[key] = registry.resolve(name, kind=kind)
            except ValueError:
                if key != "optimizer":  # the optimizer is not needed to predict
                    raise ValueError(
                        f"The saved {key} {name!r} is not one of skeer's own (see "
                        f"skeer.registry); pass {key}=<the class> to load it."
                    ) from None
                warnings.warn(
                    f"The saved optimizer {name!r} is not one of torch's; "
                    "the default is used.",
                    UserWarning,
                    stacklevel=5,
                )
                del params[key]
        check_unsaved_params(params, _SKIPPED, _SKIPPED_PREFIXES)
        params["device"] = str(self.map_location)
        net = KeystrokeVerifier(**params)
        self._set_state(net, fitted)
        state = self._dict(state, "module state")
        check_verifier_state(net)
        check_module_sizes(net, state)
        check_weights_finite(state)
        net.initialize()
        getattr(net.module_, "_orig_mod", net.module_).load_state_dict(state)
        check_network_output(net)
        if history is not None:
            if not isinstance(history, list) or not all(
                isinstance(h, dict) for h in history
            ):
                raise InvalidFile("history is not a list of epochs")
            net.history_ = History(history)
        return net

    def step(self, index, spec, *, in_pipeline):
        spec = self._dict(spec, "a step")
        class_name = spec["class"]
        if in_pipeline and (class_name is None or class_name == "passthrough"):
            return class_name
        cls = registry.resolve(class_name, kind="estimator")
        arrays = self.blob.get("arrays", {})
        params = decode_mapping(spec["params"], arrays, "parameters")
        fitted = decode_mapping(spec["fitted"], arrays, "fitted attributes")
        if issubclass(cls, KeystrokeVerifier):
            states = self._dict(self.blob.get("module_states"), "module states")
            return self.verifier(
                params, fitted, states[str(index)], spec.get("history")
            )
        est = cls(**params)
        self._set_state(est, fitted)
        check_estimator_state(est)
        return est

    def read(self, config):
        check_checksum(self.blob)
        fmt, steps = config["format"], config["steps"]
        if not isinstance(steps, list) or not steps:
            raise InvalidFile("no steps")
        if fmt != _PIPELINE:
            if len(steps) != 1:
                raise InvalidFile(f"{len(steps)} steps in a single estimator")
            est = self.step(0, steps[0], in_pipeline=False)
            if (fmt == _VERIFIER) != isinstance(est, KeystrokeVerifier):
                raise InvalidFile(f"a {type(est).__name__} in a {fmt} file")
            return est
        named = []
        for i, spec in enumerate(steps):
            est = self.step(i, spec, in_pipeline=True)
            if not isinstance(spec.get("name"), str):
                raise InvalidFile("a step has no name")
            named.append((spec["name"], est))
        check_pipeline_widths(named)
        params = decode_mapping(
            config.get("pipeline_params", {}), self.blob.get("arrays"), "parameters"
        )
        _check_pipeline_params(params, "the file")
        return Pipeline(named, **params)


#: The Pipeline parameters a file may hold, and their values (a ``memory``
#: folder would make ``fit`` unpickle whatever it holds: never saved nor loaded).
_PIPELINE_PARAMS = {
    "memory": (None,),
    "transform_input": (None,),
    "verbose": (False, True),
}


def _check_pipeline_params(params, where):
    for key, value in params.items():
        allowed = _PIPELINE_PARAMS.get(key)
        if allowed is None or not any(
            value is a or (type(value) is bool and value == a) for a in allowed
        ):
            if where == "estimator":
                raise ValueError(
                    f"The Pipeline's parameter {key}={value!r} cannot be saved: a "
                    "saved pipeline holds no cache folder (memory) or other path "
                    "or callable. Set it to None (or the default) first."
                )
            raise InvalidFile(f"Pipeline parameter {key}={value!r} is not allowed")


def _read_config(path, shown):
    """The file's blob and configuration, of this skeer's format_version."""
    if isinstance(path, (str, os.PathLike)):
        # a FIFO or a device would block torch.load forever, a folder fail oddly
        if not stat.S_ISREG(os.stat(path).st_mode):  # FileNotFoundError as is
            raise ValueError(
                f"path {shown} is not a regular file (a folder, FIFO or device); a "
                "skeer model file is one."
            )
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
        with contextlib.suppress(ValueError, RecursionError):  # or absurdly nested
            config = json.loads(blob["config"])
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
            f"path {shown} was written by a newer skeer (format_version "
            f"{version}; this skeer reads {_FORMAT_VERSION}); upgrade skeer to "
            "load it."
        )
    if version < _FORMAT_VERSION:
        raise ValueError(
            f"path {shown} has format_version {version}, written by a pre-release "
            f"skeer; this skeer reads format_version {_FORMAT_VERSION} only. Save "
            "the model again with the skeer that wrote it, or retrain it."
        )
    return blob, config


def load(path, *, map_location="cpu", module=None, criterion=None):
    """Load a verifier, pipeline or estimator written by :func:`save`.

    Reads with ``torch.load(weights_only=True)`` and restores only classes
    allow-listed in :mod:`skeer.registry`: no code from the file runs; the
    file's parts are checked to agree first (:ref:`reliability`).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    map_location : str or torch.device, default="cpu"
        Device for the verifiers' networks; it becomes their ``device``.
    module, criterion : class or None, default=None
        The network / loss class of the saved verifiers, needed only for
        classes that are not skeer's own (stored by name only).

    Returns
    -------
    estimator : KeystrokeVerifier, Pipeline or estimator
        What was saved, fitted, giving the same outputs.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a valid skeer model file (the message says why).

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
    shown = repr(str(path))
    blob, config = _read_config(path, shown)
    reader = _Reader(
        blob, map_location=map_location, module=module, criterion=criterion
    )
    try:
        return reader.read(config)
    except InvalidFile as exc:
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
