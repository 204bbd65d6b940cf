"""The ONNX graph of a fitted verifier: build, trace, patch and check it."""

import copy
import inspect
import warnings

import numpy as np
import torch

from skeer._version import __version__
from skeer.export._onnx_verifier import need, sidecar_path

#: Names of the model's input and outputs (the sidecar repeats them).
INPUT, EMBEDDING, VERIFIER_INPUT = "input", "embedding", "verifier_input"
#: Largest relative difference between the exported graph and the network.
CHECK_TOL = 1e-4


class _Affine(torch.nn.Module):
    """A fitted scaler's affine map: ``(x - a) / b``, or ``x * a + b`` clipped."""

    def __init__(self, kind, a, b, clip):
        super().__init__()
        self.kind = kind
        self.register_buffer("a", a)
        self.register_buffer("b", b)
        self.clip = clip

    def forward(self, x):
        if self.kind == "shift_then_divide":
            return (x - self.a) / self.b
        x = x * self.a + self.b
        if self.clip is not None:
            x = torch.clamp(x, self.clip[0], self.clip[1])
        return x


def scaler_module(scaler):
    """The affine map of a fitted scaler as a ``torch.nn.Module``."""

    def tensor(values, default):
        if values is None:
            return torch.tensor(default, dtype=torch.float32)
        return torch.as_tensor(np.asarray(values, dtype=np.float32))

    # StandardScaler, RobustScaler: (shift, whether used, whether scaled)
    shift, centers, scales = {
        "StandardScaler": ("mean_", "with_mean", "with_std"),
        "RobustScaler": ("center_", "with_centering", "with_scaling"),
    }.get(type(scaler).__name__, (None, None, None))
    if shift is None:  # MinMaxScaler
        clip = tuple(float(v) for v in scaler.feature_range) if scaler.clip else None
        a, b = tensor(scaler.scale_, 1.0), tensor(scaler.min_, 0.0)
        return _Affine("multiply_then_add", a, b, clip)
    a = getattr(scaler, shift, None) if getattr(scaler, centers) else None
    b = scaler.scale_ if getattr(scaler, scales) else None
    return _Affine("shift_then_divide", tensor(a, 0.0), tensor(b, 1.0), None)


class _Graph(torch.nn.Module):
    """Folded scalers, then the network; the verifier's input too on demand."""

    def __init__(self, scalers, network, with_input):
        super().__init__()
        self.scalers = torch.nn.Sequential(*scalers)
        self.network = network
        self.with_input = with_input

    @property
    def output_names(self):
        return [EMBEDDING, VERIFIER_INPUT] if self.with_input else [EMBEDDING]

    def forward(self, x):
        z = self.scalers(x)
        embedding = self.network(z)
        return (embedding, z) if self.with_input else embedding


def graph_module(net, folded):
    """Scalers ``folded``, then ``net``'s network (CPU, float32, eval mode)."""
    network = copy.deepcopy(getattr(net.module_, "_orig_mod", net.module_))
    with_input = getattr(net, "input_mean_", None) is not None
    graph = _Graph([scaler_module(step) for _, step in folded], network, with_input)
    return graph.cpu().float().eval()


def _outputs(graph, batch):
    """The graph's outputs on a numpy batch, as a list of numpy arrays."""
    with torch.no_grad():
        out = graph(torch.from_numpy(batch))
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


def example_input(net, service, example):
    """The input to trace ``net``'s graph with: ``example`` checked, or made up."""
    n_features, ndim = net.n_features_in_, net.input_ndim_
    if example is None:
        rng = np.random.default_rng(0)
        if ndim == 2:
            return rng.uniform(-1, 1, size=(2, n_features)).astype(np.float32)
        lengths = [
            s.max_len for _, s in service if type(s).__name__ == "KeystrokeFeatures"
        ]
        if not lengths:
            raise ValueError(
                "The verifier takes sequences but does not know their length: pass "
                f"example_input of shape (n, max_len, {n_features}), or export the "
                "Pipeline whose KeystrokeFeatures step sets max_len."
            )
        shape = (2, lengths[-1], n_features)
        return rng.uniform(0.01, 1, size=shape).astype(np.float32)
    x = np.asarray(
        example.detach().cpu() if hasattr(example, "detach") else example,
        dtype=np.float32,
    )
    if x.ndim != ndim or x.shape[-1] != n_features or len(x) == 0:
        want = f"(n, {n_features})" if ndim == 2 else f"(n, max_len, {n_features})"
        raise ValueError(
            f"example_input must have shape {want} with n >= 1, got {x.shape}."
        )
    if not np.isfinite(x).all():
        raise ValueError("example_input contains NaN or infinity.")
    return np.ascontiguousarray(x)


def _cast_bool_cumsum(model):
    """Cast the bool input of ``CumSum`` nodes to int64 (ONNX has no bool CumSum)."""
    onnx = need("onnx")
    from onnx import TensorProto, helper

    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    types = {
        v.name: v.type.tensor_type.elem_type
        for v in [*graph.value_info, *graph.input, *graph.output]
    }
    nodes = []
    for node in model.graph.node:
        if node.op_type == "CumSum" and types.get(node.input[0]) == TensorProto.BOOL:
            cast = f"{node.input[0]}__as_int64"
            nodes.append(
                helper.make_node(
                    "Cast",
                    [node.input[0]],
                    [cast],
                    to=TensorProto.INT64,
                    name=f"{node.name}__cast",
                )
            )
            node.input[0] = cast
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def check_graph(path, graph, x):
    """Largest relative difference of onnxruntime's outputs from ``graph``'s."""
    ort = need("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch in [x, x[:1], np.concatenate([x, x[:1]])]:
        got = session.run(graph.output_names, {INPUT: batch})
        for g, want in zip(got, _outputs(graph, batch)):
            if g.shape != want.shape:
                return float("inf")
            scale = max(1.0, float(np.abs(want).max(initial=0.0)))
            worst = max(worst, float(np.abs(g - want).max(initial=0.0)) / scale)
    return worst


def export_graph(graph, x, path, *, opset):
    """Trace ``graph`` on ``x`` into the ONNX file ``path``; checked, or deleted
    (RuntimeError) beyond :data:`CHECK_TOL`. Returns the embedding's width."""
    onnx = need("onnx")
    names = graph.output_names
    # the TorchScript exporter; torch < 2.5 has no other and no dynamo argument
    legacy = (
        {"dynamo": False}
        if "dynamo" in inspect.signature(torch.onnx.export).parameters
        else {}
    )
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings: check_graph is what counts
        torch.onnx.export(
            graph,
            (torch.from_numpy(x),),
            str(path),
            input_names=[INPUT],
            output_names=names,
            dynamic_axes={name: {0: "batch"} for name in [INPUT, *names]},
            opset_version=opset,
            **legacy,
        )
    model = onnx.load(str(path))
    _cast_bool_cumsum(model)
    model.producer_name = "skeer"
    model.producer_version = __version__
    model.doc_string = (
        "Raw embeddings of a skeer verifier's network; L2-normalise them and "
        f"score against the templates of {sidecar_path(path).name}."
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    error = check_graph(path, graph, x)
    if not error <= CHECK_TOL:
        path.unlink()
        raise RuntimeError(
            "The exported ONNX graph does not reproduce "
            f"{type(graph.network).__name__} (largest relative difference "
            f"{error:.3g} > {CHECK_TOL}); the network has an operation the "
            "TorchScript exporter does not trace faithfully."
        )
    return int(_outputs(graph, x[:1])[0].shape[1])
