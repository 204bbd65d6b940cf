"""Ship a fitted verifier: its network as ONNX, its enrolment as JSON.

:func:`export_onnx` writes two files that let a service verify identity
claims without Python skeer (or PyTorch):

- ``<path>`` (conventionally ``*.onnx``): the embedding network
  (:class:`~skeer.TypeNet`, :class:`~skeer.Type2Branch`,
  :class:`~skeer.MLPEmbedder` or a custom module that the TorchScript ONNX
  exporter handles), one float32 input ``"input"`` and one float32 output
  ``"embedding"``, with a dynamic batch axis. The other axes are fixed: a
  sequence model takes ``(batch, max_len, n_features)``, ``max_len`` being
  that of the example input (``KeystrokeFeatures(max_len=...)`` pads and
  truncates to it). The output is the *raw* embedding: L2-normalise it.
  ``StandardScaler``, ``RobustScaler`` and ``MinMaxScaler`` steps right
  before the verifier in a :class:`~sklearn.pipeline.Pipeline` are part of
  the graph. A verifier fitted with ``template_input=True`` makes its
  templates of the embedding followed by its own input standardised; its
  model has a second output, ``"verifier_input"``: the input as the
  verifier receives it (after the scalers of the graph), ``(batch,
  n_features)``.
- ``<path>.json`` (the *sidecar*, strict RFC 8259 JSON): the template
  geometry, the enrolled identities and their templates, the threshold and
  operating point, and the preprocessing steps the service must run itself.

Why JSON, not ``.npz``: every language reads it with its standard library,
it holds string identities without pickles, and a float32 written as the
shortest decimal of its float64 value reads back exactly. It is about 20
bytes per template value (25 MB for 10,000 enrolees of 128 dimensions).

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

:class:`OnnxVerifier` is a reference scorer of these files: numpy,
onnxruntime and the standard library only, written to be copied (its modules,
``skeer/export/_onnx_verifier.py`` and ``skeer/export/_sidecar.py``, which
reads and checks every field of the sidecar, import nothing else). It
re-implements the geometry in a few numpy lines rather than importing
``skeer.templates``, on purpose: a service without skeer needs exactly these
lines, and skeer's tests check them against ``skeer.templates`` (the one owner
of the geometry), so neither can drift unnoticed. The same holds for the
feature step: when a pipeline starts with :class:`~skeer.KeystrokeFeatures`
(its one service step), :class:`OnnxVerifier` takes raw sessions ``(n_keys,
3)`` and featurises them in numpy exactly as ``KeystrokeFeatures`` does
(tested bit for bit, sessions longer and shorter than ``max_len`` included),
so raw sessions score as through the whole pipeline.

Exporting needs the optional ``onnx`` extra (``pip install skeer[onnx]``:
``onnx`` and ``onnxruntime``); the exported graph is checked against the
network with onnxruntime before the files are kept.

Examples
--------
>>> import pytest
>>> _ = pytest.importorskip("onnxruntime")  # skeer[onnx]: onnx, onnxruntime
>>> import os, tempfile
>>> import numpy as np
>>> import skeer
>>> from skeer.export._export import OnnxVerifier, export_onnx
>>> rng = np.random.default_rng(0)
>>> y = np.repeat(np.arange(4), 10)
>>> X = (rng.normal(size=(4, 6))[y] + 0.3 * rng.normal(size=(40, 6))).astype("float32")
>>> clf = skeer.KeystrokeVerifier(max_epochs=1, validation_size=0,
...                               random_state=0).fit(X, y)
>>> model, sidecar = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "m.onnx"))
>>> sidecar.name
'm.onnx.json'
>>> onnx_clf = OnnxVerifier(model)
>>> bool(np.allclose(onnx_clf.claim_scores(X, y), clf.claim_scores(X, y), atol=1e-5))
True
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


# ----------------------------------------------------------------------
# which steps the graph holds, which the service runs
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


# ----------------------------------------------------------------------
# export
def export_onnx(estimator, path, *, example_input=None, opset=None):
    """Export a fitted verifier's network to ONNX, its enrolment beside it.

    Writes the embedding network to ``path`` with PyTorch's TorchScript
    ONNX exporter and a JSON sidecar ``<path>.json`` with everything else a
    service needs to verify claims without skeer: the template geometry, the
    enrolled identities, templates and template scales, the threshold and
    operating point (the layout is in :mod:`skeer.export`).
    :class:`OnnxVerifier` reads both. A verifier fitted with
    ``template_input=True`` gets a model with a second output,
    ``"verifier_input"`` (its input after the scalers of the graph), and a
    sidecar (``format_version`` 2) with its ``input_mean`` and
    ``input_scale``: its templates are made of the embedding followed by
    that input standardised.

    Parameters
    ----------
    estimator : KeystrokeVerifier or Pipeline
        Fitted. A :class:`~skeer.KeystrokeVerifier`, or a
        :class:`~sklearn.pipeline.Pipeline` whose last step is one. The
        ``StandardScaler`` / ``RobustScaler`` / ``MinMaxScaler`` steps right
        before it (``"passthrough"`` skipped) become part of the graph;
        every earlier step (e.g. :class:`~skeer.KeystrokeFeatures`) must be
        run by the service itself: the sidecar lists them, with their plain
        parameters, under ``preprocessing.service``.
    path : str or path-like
        Destination of the model (conventionally ``*.onnx``); overwritten,
        and so is ``<path>.json``.
    example_input : array-like of shape (n, n_features) or \
            (n, max_len, n_features), default=None
        An input to trace the network with (what the model's first step
        takes: scaled in the graph when a scaler is folded). Its length
        ``max_len`` becomes the model's fixed sequence length; the batch
        axis stays dynamic. None: random values of the right shape, with
        ``max_len`` from the pipeline's ``KeystrokeFeatures`` step (a
        verifier of sequences alone needs ``example_input``).
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
    TypeError
        If ``estimator`` is not a verifier or a pipeline ending in one.
    sklearn.exceptions.NotFittedError
        If it is not fitted.
    ValueError
        If ``example_input`` does not fit the verifier, or a sequence
        verifier has no ``example_input`` and no ``KeystrokeFeatures`` step.
    ImportError
        If ``onnx`` or ``onnxruntime`` is missing (``pip install
        'skeer[onnx]'``).
    RuntimeError
        If the exported graph does not reproduce the network (every output,
        on the example input and on batches of other sizes) within 1e-4; no
        file is left.

    See Also
    --------
    OnnxVerifier : Score claims with the exported files.
    skeer.save : Save the whole estimator for Python (training included).

    Notes
    -----
    The graph is traced in evaluation mode, in float32, on the CPU (a
    verifier trained with ``amp=True`` is exported in float32: its scores
    then differ slightly from ``claim_scores``, which runs under autocast).
    PyTorch's TorchScript exporter (``dynamo=False``) needs no other package
    than ``onnx``; one of its ops (a cumulative sum of a bool mask, in
    skeer's length computation) is not valid ONNX as emitted and is patched
    with a cast to int64 after export.

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
    >>> [step["class"] for step in meta["preprocessing"]["in_graph"]]
    ['sklearn.preprocessing.StandardScaler']
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
