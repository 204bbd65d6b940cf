"""Ship a fitted verifier: its network as ONNX, its enrolment as a JSON sidecar.

The sidecar (``"format": "skeer.onnx-sidecar"``, version 3) holds the tensor
specs, ``normalize`` (``"l2"``), ``geometry``, ``classes``, ``templates``
(and ``template_scales``, ``input_mean``, ``input_scale`` where set),
``threshold``, ``operating_point`` and ``preprocessing``; :func:`_sidecar` builds
it, :func:`~skeer.export._sidecar.read_sidecar` checks it.
"""

import json
import math
import numbers
from pathlib import Path

import numpy as np

from skeer._version import __version__
from skeer.export._onnx_verifier import OnnxVerifier, need
from skeer.export._sidecar import FORMAT, sidecar_path

__all__ = ["OnnxVerifier", "export_onnx"]

#: ONNX opset used when ``opset`` is None.
DEFAULT_OPSET = 17
#: Scaler classes (by dotted name) folded into the graph.
_FOLDABLE = (
    "sklearn.preprocessing.StandardScaler",
    "sklearn.preprocessing.RobustScaler",
    "sklearn.preprocessing.MinMaxScaler",
)


def _split(estimator):
    """``(verifier, service steps, folded steps)`` of a verifier or pipeline."""
    from sklearn.pipeline import Pipeline

    from skeer import registry
    from skeer.verifier._estimator import KeystrokeVerifier

    steps = list(estimator.steps) if isinstance(estimator, Pipeline) else []
    net = steps.pop()[1] if steps else estimator
    if not isinstance(net, KeystrokeVerifier):
        raise TypeError(
            "export_onnx exports a fitted KeystrokeVerifier or a Pipeline whose "
            f"last step is one, got {type(net).__name__}."
        )
    net._check_fitted()
    folded = []
    while steps:
        name, step = steps[-1]
        if step is None or isinstance(step, str):  # "passthrough"
            steps.pop()
            continue
        if registry.qualified_name(step) not in _FOLDABLE:
            break
        folded.insert(0, steps.pop())
    service = [(n, s) for n, s in steps if s is not None and not isinstance(s, str)]
    return net, service, folded


def _plain(value):
    """A parameter as plain JSON data, or None when it is not."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)  # np.int64(20) from a grid search: not dropped
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        lost = any(i is None and v is not None for i, v in zip(items, value))
        return None if lost else items
    return None


def _describe(name, step):
    from skeer import registry

    params = {
        key: plain
        for key, value in step.get_params(deep=False).items()
        if (plain := _plain(value)) is not None or value is None
    }
    return {"name": name, "class": registry.qualified_name(step), "params": params}


def export_onnx(estimator, path, *, example_input=None, opset=None):
    """Export a fitted verifier's network to ONNX, its enrolment beside it.

    Writes the network to ``path`` and a JSON sidecar ``<path>.json`` with all
    else a service needs without skeer; :class:`OnnxVerifier` reads both.

    Parameters
    ----------
    estimator : KeystrokeVerifier or Pipeline
        Fitted, or a Pipeline ending in one; the scalers right before it are
        folded into the graph, earlier steps are left to the service.
    path : str or path-like
        Destination of the model (``*.onnx``); it and ``<path>.json`` are overwritten.
    example_input : array-like of shape (n, n_features) or \
            (n, max_len, n_features), default=None
        Input to trace the network with; its ``max_len`` becomes the model's.
        None: random values, ``max_len`` from a ``KeystrokeFeatures`` step.
    opset : int, default=None
        ONNX opset version; None means :data:`DEFAULT_OPSET` (17).

    Returns
    -------
    model_path : pathlib.Path
        The ONNX model.
    sidecar_path : pathlib.Path
        The JSON sidecar, ``<path>.json``.

    Raises
    ------
    ImportError
        Without ``onnx`` or ``onnxruntime`` (``pip install 'skeer[onnx]'``).
    RuntimeError
        If the graph does not reproduce the network within 1e-4 (no file left).

    See Also
    --------
    OnnxVerifier : Score claims with the exported files.
    skeer.save : Save the whole estimator for Python (training included).

    Notes
    -----
    Traced in eval mode, float32, on the CPU: an ``amp=True`` verifier's scores
    differ slightly.

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("onnxruntime")  # skeer[onnx]: onnx, onnxruntime
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import skeer
    >>> from skeer.export._export import export_onnx
    >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
    >>> y = np.repeat(np.arange(4), 10)
    >>> pipe = make_pipeline(StandardScaler(), skeer.KeystrokeVerifier(
    ...     max_epochs=1, validation_size=0, random_state=0)).fit(X, y)
    >>> model, sidecar = export_onnx(pipe, os.path.join(tempfile.mkdtemp(), "m.onnx"))
    >>> import json
    >>> meta = json.loads(sidecar.read_text())
    >>> meta["geometry"], meta["input"]["shape"], len(meta["templates"])
    ('scaled_manhattan', ['batch', 5], 4)
    """
    from skeer.export import _onnx_graph as _onnx_graph

    need("onnx")
    need("onnxruntime")
    net, service, folded = _split(estimator)
    x = _onnx_graph.example_input(net, service, example_input)
    opset = DEFAULT_OPSET if opset is None else opset
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < 7:
        raise ValueError(f"opset must be an int >= 7 (or None), got {opset!r}.")
    graph = _onnx_graph.graph_module(net, folded)
    path = Path(path)
    d = _onnx_graph.export_graph(graph, x, path, opset=opset)
    sidecar = sidecar_path(path)
    sidecar.write_text(
        json.dumps(_sidecar(net, service, folded, path, x.shape, d), allow_nan=False)
    )
    return path, sidecar


def _sidecar(net, service, folded, path, shape, d):
    """The sidecar's content (the layout is in the module's docstring)."""
    from skeer import registry
    from skeer.export._onnx_graph import EMBEDDING, INPUT, VERIFIER_INPUT

    def spec(name, *axes):
        return {"name": name, "shape": ["batch", *axes], "dtype": "float32"}

    def values(a):
        return None if a is None else np.asarray(a).tolist()

    classes = np.asarray(net.classes_)
    if classes.dtype == object:  # str ids held as objects (a pandas Series)
        classes = np.asarray(classes.tolist())
    if classes.dtype.byteorder == ">":  # the sidecar names little-endian ids
        classes = classes.astype(classes.dtype.newbyteorder("<"))
    mean = getattr(net, "input_mean_", None)
    threshold = float(net.threshold_)
    op = net.operating_point
    return {
        "format": FORMAT,
        "format_version": 3,
        "skeer_version": __version__,
        "model": path.name,
        "input": spec(INPUT, *shape[1:]),
        "output": spec(EMBEDDING, d),
        "verifier_input": None if mean is None else spec(VERIFIER_INPUT, len(mean)),
        "network": registry.qualified_name(
            getattr(net.module_, "_orig_mod", net.module_)
        ),
        "normalize": "l2",
        "geometry": net._template_geometry,
        "operating_point": op if isinstance(op, str) else float(op),
        "threshold": threshold if math.isfinite(threshold) else str(threshold),
        "classes": classes.tolist(),
        "classes_dtype": classes.dtype.str,
        "templates_dtype": np.asarray(net.templates_).dtype.str,
        "templates": values(net.templates_),
        "template_scales": values(getattr(net, "template_scales_", None)),
        "input_mean": values(mean),
        "input_scale": values(getattr(net, "input_scale_", None)),
        "preprocessing": {
            "service": [_describe(n, s) for n, s in service],
            "in_graph": [_describe(n, s) for n, s in folded],
        },
    }
