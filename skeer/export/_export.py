"""Ship a fitted verifier: its network as ONNX, its enrolment as JSON.

:func:`export_onnx` writes ``<path>``, the embedding network (one float32
input ``"input"``, one float32 output ``"embedding"``, the *raw* embedding:
L2-normalise it; a dynamic batch axis, the others fixed; scaler steps right
before the verifier folded in; with ``template_input=True`` a second output
``"verifier_input"``), and ``<path>.json``, the *sidecar* (strict RFC 8259
JSON, which every language reads without pickles).

The sidecar (``"format": "skeer.onnx-sidecar"``, ``"format_version"`` 1,
or 2 when the templates include the standardised verifier input, so that a
reader of version 1 refuses such a file rather than score it wrongly)
holds:

============================ ==============================================
key                          value
============================ ==============================================
``model``                    file name of the ONNX model
``input``, ``output``        ``{"name", "shape", "dtype"}``; ``"batch"``
                             marks the dynamic axis
``verifier_input``           the same for the model's second output
                             (version 2), else ``null``
``normalize``                ``"l2"``: ``e / max(||e||_2, 1e-12)``
``geometry``                 the geometry: ``"cosine"``,
                             ``"scaled_manhattan"``, ``"manhattan"`` or
                             ``"euclidean"`` (see below)
``classes``                  enrolled identities, sorted and unique (JSON
                             numbers or strings); ``classes_dtype`` their
                             numpy dtype
``templates``                one row per identity (``n_classes x d``, or
                             ``d + n_features`` wide in version 2)
``template_scales``          same shape for ``"scaled_manhattan"``, else
                             ``null``
``input_mean``               per-feature mean that standardises
                             ``verifier_input`` (version 2), else ``null``
``input_scale``              per-feature scale (positive), likewise
``threshold``                accept a claim when ``score >= threshold``; a
                             finite number, or the string ``"-inf"``
                             (accept all: at a target rate only)
``operating_point``          ``"eer"`` or the target false-match rate the
                             threshold was calibrated at
``preprocessing``            ``{"service": [...], "in_graph": [...]}``:
                             pipeline steps (``name``, ``class``, plain
                             ``params``) the service must run on raw input
                             before the model, in order (e.g.
                             :class:`~skeer.KeystrokeFeatures`), and those
                             folded into the graph
============================ ==============================================

Scores (higher = same person) of a feature vector ``x`` against the
template ``mu`` (and scales ``s``) of the claimed identity; ``x`` is the
normalised embedding, or in version 2 the normalised embedding ``e``
followed by the standardised verifier input ``v``: ``x = [e, (v -
input_mean) / input_scale]``:

- ``"cosine"``: ``x . mu / max(||x||, tiny)`` (templates are unit rows);
- ``"scaled_manhattan"``: ``-sum_j |x_j - mu_j| / s_j``;
- ``"manhattan"``: ``-sum_j |x_j - mu_j|``;
- ``"euclidean"``: ``-sum_j (x_j - mu_j)**2``.

:class:`OnnxVerifier` is a reference scorer of these files, written to be
copied (``_onnx_verifier.py`` and ``_sidecar.py`` import numpy, onnxruntime
and the standard library only); the tests check its geometry and feature
step against ``skeer.templates`` and ``KeystrokeFeatures``.
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
        value = bool(value)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)  # np.int64(20) from a grid search: not dropped
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
    if value is None or type(value) in (bool, int, float, str):
        return (
            value if not (type(value) is float and not math.isfinite(value)) else None
        )
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return (
            None
            if any(i is None and v is not None for i, v in zip(items, value))
            else items
        )
    return None


def _describe(name, step):
    from skeer import registry

    params = {}
    for key, value in step.get_params(deep=False).items():
        plain = _plain(value)
        if plain is not None or value is None:
            params[key] = plain
    return {"name": name, "class": registry.qualified_name(step), "params": params}


def export_onnx(estimator, path, *, example_input=None, opset=None):
    """Export a fitted verifier's network to ONNX, its enrolment beside it.

    Writes the network to ``path`` with PyTorch's TorchScript ONNX exporter
    and a JSON sidecar ``<path>.json`` with everything else a service needs
    to verify claims without skeer (geometry, identities, templates,
    threshold, operating point); :class:`OnnxVerifier` reads both. With
    ``template_input=True`` the model has a second output,
    ``"verifier_input"``, and the sidecar its ``input_mean`` and
    ``input_scale``.

    Parameters
    ----------
    estimator : KeystrokeVerifier or Pipeline
        Fitted. A :class:`~skeer.KeystrokeVerifier`, or a
        :class:`~sklearn.pipeline.Pipeline` whose last step is one. The
        ``StandardScaler`` / ``RobustScaler`` / ``MinMaxScaler`` steps right
        before it become part of the graph; earlier steps (e.g.
        :class:`~skeer.KeystrokeFeatures`) are the service's, listed in the
        sidecar under ``preprocessing.service``.
    path : str or path-like
        Destination of the model (conventionally ``*.onnx``); overwritten,
        and so is ``<path>.json``.
    example_input : array-like of shape (n, n_features) or \
            (n, max_len, n_features), default=None
        An input to trace the network with (what the model's first step
        takes); its ``max_len`` becomes the model's fixed sequence length.
        None: random values, ``max_len`` from the pipeline's
        ``KeystrokeFeatures`` step.
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
    TypeError, sklearn.exceptions.NotFittedError
        If ``estimator`` is not a fitted verifier or pipeline ending in one.
    ValueError
        If ``example_input`` does not fit, or a sequence verifier has neither
        it nor a ``KeystrokeFeatures`` step.
    ImportError
        Without ``onnx`` or ``onnxruntime`` (``pip install 'skeer[onnx]'``).
    RuntimeError
        If the exported graph does not reproduce the network within 1e-4 (no
        file is left).

    See Also
    --------
    OnnxVerifier : Score claims with the exported files.
    skeer.save : Save the whole estimator for Python (training included).

    Notes
    -----
    The graph is traced in evaluation mode, in float32, on the CPU (an
    ``amp=True`` verifier's scores then differ slightly from
    ``claim_scores``). A bool cumulative sum the TorchScript exporter emits
    is patched with a cast to int64.

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
