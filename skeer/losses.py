"""Metric-learning losses: EERLoss and the baselines it is compared with.

Every loss is a :class:`torch.nn.Module` called with pytorch-metric-learning's
convention, ``loss(embeddings, labels, indices_tuple=None, ref_emb=None,
ref_labels=None)``, and returns a scalar tensor. Labels decide which pairs are
genuine (same label) and which are impostor: batches may hold any number of
samples per identity, in any order.
"""

import contextlib
import math
import typing
import warnings

import numpy as np
import torch

from ._pairs import DISTANCES, pair_batch, pairwise_distances
from ._smooth import (
    SMOOTHINGS,
    area_terms,
    implicit_threshold,
    smooth_rates,
    soft_bisection,
)
from ._validation import check_operating_point, check_positive_int, check_real

__all__ = ["ContrastiveLoss", "EERLoss", "Set2SetLoss", "TripletMarginLoss"]

_VARIANTS = ("area", "direct")
_MININGS = ("semihard", "hard", "all")


# ----------------------------------------------------------------------
# shared plumbing
def _check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}.")


def _host_labels(labels, name):
    """``labels`` as given (a tensor) or as a NumPy array, checked on the host."""
    if labels is None:
        raise ValueError(f"{name} are required.")
    if isinstance(labels, torch.Tensor):
        if (
            labels.is_floating_point()
            and labels.device.type == "cpu"
            and not torch.compiler.is_compiling()
        ):
            if torch.isnan(labels).any():
                raise ValueError(
                    f"{name} contain NaN: every embedding needs an identity."
                )
        return labels
    arr = np.asarray(labels)
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} contain NaN: every embedding needs an identity.")
    if arr.dtype.kind not in "biufUSO":
        raise ValueError(
            f"{name} must hold identities (integers or strings), got dtype {arr.dtype}."
        )
    return arr


def _needs_codes(labels):
    return isinstance(labels, np.ndarray) and labels.dtype.kind in "USO"


def _encode(*arrays):
    """Integer codes of identities given as strings or objects, shared by all."""
    values = np.concatenate([np.asarray(a).ravel() for a in arrays])
    try:
        if values.dtype.kind in "US":
            _, codes = np.unique(values, return_inverse=True)
        else:
            seen = {}
            codes = np.array(
                [seen.setdefault(v, len(seen)) for v in values.tolist()],
                dtype=np.int64,
            )
    except TypeError:
        raise ValueError(
            "labels must be hashable identities (integers or strings), got "
            f"{type(values.tolist()[0]).__name__} values."
        ) from None
    codes = np.asarray(codes, dtype=np.int64).ravel()
    out, start = [], 0
    for a in arrays:
        out.append(codes[start : start + np.size(a)].reshape(np.shape(a)))
        start += np.size(a)
    return out


def _as_labels(labels, n, name, device):
    labels = torch.as_tensor(labels, device=device)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(
            f"{name} must be 1-D with one label per embedding ({n}), got shape "
            f"{tuple(labels.shape)}."
        )
    return labels


def _as_embeddings(emb, name):
    if not isinstance(emb, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(emb).__name__}.")
    if emb.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_dims), got shape {tuple(emb.shape)}."
        )
    if not emb.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {emb.dtype}.")
    if emb.dtype in (torch.float16, torch.bfloat16):
        emb = emb.float()  # half precision is computed in float32
    return emb


def _prepare(embeddings, labels, ref_emb, ref_labels):
    """Validate and cast the call arguments (shapes only: no host sync).

    Labels given as strings (or other hashable objects) are encoded as
    integers, one code per identity shared by ``labels`` and ``ref_labels``.
    Returns ``(embeddings, labels, ref_emb, ref_labels, encoded)``.
    """
    embeddings = _as_embeddings(embeddings, "embeddings")
    labels = _host_labels(labels, "labels")
    if ref_emb is None:
        if ref_labels is not None:
            raise ValueError("ref_labels was given without ref_emb.")
        encoded = _needs_codes(labels)
        if encoded:
            (labels,) = _encode(labels)
        labels = _as_labels(labels, embeddings.shape[0], "labels", embeddings.device)
        return embeddings, labels, None, None, encoded
    ref_emb = _as_embeddings(ref_emb, "ref_emb").to(embeddings.dtype)
    if ref_emb.shape[1] != embeddings.shape[1]:
        raise ValueError(
            f"ref_emb must have {embeddings.shape[1]} columns like embeddings, got "
            f"{ref_emb.shape[1]}."
        )
    ref_labels = _host_labels(ref_labels, "ref_labels")
    encoded = _needs_codes(labels) or _needs_codes(ref_labels)
    if encoded:
        if isinstance(labels, torch.Tensor) or isinstance(ref_labels, torch.Tensor):
            raise ValueError(
                "labels and ref_labels must name identities the same way: one is "
                "a tensor of numbers, the other holds strings or objects."
            )
        labels, ref_labels = _encode(labels, ref_labels)
    labels = _as_labels(labels, embeddings.shape[0], "labels", embeddings.device)
    ref_labels = _as_labels(
        ref_labels, ref_emb.shape[0], "ref_labels", embeddings.device
    )
    return embeddings, labels, ref_emb, ref_labels, encoded


_CHECK_FINITE = (True, False, "async")


def _check_finite_mode(value):
    if not any(
        value is v or (isinstance(v, str) and value == v) for v in _CHECK_FINITE
    ):
        raise ValueError(f"check_finite must be True, False or 'async', got {value!r}.")
    return value


def _nonfinite_message(name, detail):
    return (
        f"{name} contain NaN or inf{detail}; training diverged? Lower the "
        "learning rate, check the inputs for NaN/inf, or use amp=False."
    )


def _check_finite(emb, name, mode):
    """Refuse NaN or infinite embeddings (``mode``: see ``check_finite``).

    Eager and ``mode=True``: one value read back to the host (a
    synchronisation on an accelerator), then a ``ValueError`` with the
    number of bad rows. ``"async"``, or inside ``torch.compile``:
    ``torch._assert_async``, no synchronisation (it compiles with
    ``fullgraph=True``); a failure raises ``RuntimeError`` on CPU and a
    device-side assertion on CUDA.
    """
    if mode is False or emb.numel() == 0:
        return
    if mode == "async" or torch.compiler.is_compiling():
        torch._assert_async(torch.isfinite(emb).all(), _nonfinite_message(name, ""))
        return
    bad = int((~torch.isfinite(emb)).any(dim=1).sum())
    if bad:
        raise ValueError(_nonfinite_message(name, f" in {bad} of {emb.shape[0]} rows"))


def _index_tensor(value, device):
    """One index tensor of an ``indices_tuple``: integers, 1-D (shapes only)."""
    t = torch.as_tensor(value, device=device)
    if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
        raise ValueError(
            f"indices_tuple must hold integer indices, got a tensor of {t.dtype}."
        )
    if t.ndim != 1:
        raise ValueError(
            f"indices_tuple must hold 1-D index tensors, got shape {tuple(t.shape)}."
        )
    return t.long()


def _check_indices(indices_tuple, n, m, device):
    """Validate pytorch-metric-learning pairs or triplets; long tensors back.

    Triplets ``(a, p, n)``: ``a`` indexes the embeddings (``n`` rows), ``p``
    and ``n`` the reference set (``m`` rows: ``ref_emb``, or the embeddings
    again). Pairs ``(a1, p, a2, n)``: ``a1``/``a2`` the embeddings, ``p``/``n``
    the reference set. Negative or too large indices raise ``ValueError``
    (checked on the host: a synchronisation for accelerator tensors; inside
    ``torch.compile`` with ``torch._assert_async`` instead).
    """
    if not isinstance(indices_tuple, tuple | list) or len(indices_tuple) not in (3, 4):
        raise ValueError(
            "indices_tuple must be pytorch-metric-learning pairs (a1, p, a2, n) "
            f"or triplets (a, p, n), got {type(indices_tuple).__name__}"
            + (
                f" of length {len(indices_tuple)}"
                if hasattr(indices_tuple, "__len__")
                else ""
            )
            + "."
        )
    idx = [_index_tensor(t, device) for t in indices_tuple]
    if len(idx) == 3:
        names, queries, groups = ("a", "p", "n"), (True, False, False), ((0, 1, 2),)
    else:
        names, queries, groups = (
            ("a1", "p", "a2", "n"),
            (True, False, True, False),
            ((0, 1), (2, 3)),
        )
    sizes = [n if query else m for query in queries]
    for group in groups:
        lengths = {idx[k].shape[0] for k in group}
        if len(lengths) > 1:
            shown = ", ".join(f"{names[k]}: {idx[k].shape[0]}" for k in group)
            raise ValueError(
                f"indices_tuple's {'/'.join(names[k] for k in group)} must have "
                f"the same length, got {shown}."
            )
    out_of_range = [((t < 0) | (t >= size)).any() for t, size in zip(idx, sizes)]
    if not out_of_range:
        return tuple(idx)
    flags = torch.stack(out_of_range)
    if torch.compiler.is_compiling():
        torch._assert_async(~flags.any(), "indices_tuple holds an index out of range")
        return tuple(idx)
    flags = flags.tolist()
    for name, t, size, query, bad in zip(names, idx, sizes, queries, flags):
        if bad:
            wrong = t[(t < 0) | (t >= size)][:5].tolist()
            rows = "embeddings" if query else "the reference set"
            raise ValueError(
                f"indices_tuple's {name} indices must lie in [0, {size}) (rows of "
                f"{rows}), got {wrong}; negative indices are not counted from "
                "the end."
            )
    return tuple(idx)


def _all_tied(pairs):
    """Whether every pair counted is at the same distance (a 0-d bool tensor).

    Distances that agree to within ``sqrt(eps)`` (relative, with an absolute
    floor of ``sqrt(eps)``, the resolution of the clamped Euclidean distance)
    count as equal: collapsed embeddings give exactly such distances, up to
    rounding. Branch-free, no host sync.
    """
    x = pairs.x.detach()
    if pairs.restricted:
        counted = pairs.weights.sum(dim=0) > 0
        hi = torch.where(counted, x, torch.full_like(x, -math.inf)).amax()
        lo = torch.where(counted, x, torch.full_like(x, math.inf)).amin()
    else:
        hi, lo = x.amax(), x.amin()
    scale = torch.maximum(torch.maximum(hi.abs(), lo.abs()), torch.ones_like(hi))
    tol = math.sqrt(torch.finfo(x.dtype).eps) * scale
    # True with no pair counted (hi - lo = -inf): that batch is zeroed anyway
    return (hi - lo) <= tol


def _autocast_off(device_type):
    """Context manager that disables autocast on ``device_type``."""
    if torch.amp.is_autocast_available(device_type):
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()


def _import_pml(what):
    try:
        from pytorch_metric_learning import distances, losses, miners
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(
            f"{what} wraps pytorch-metric-learning, which is not installed: "
            "pip install skeer[baselines]"
        ) from exc
    return distances, losses, miners


def _pml_distance(distances, distance):
    if distance == "cosine":
        return distances.CosineSimilarity()
    return distances.LpDistance(normalize_embeddings=False, p=2, power=1)


#: ``sharpness=None`` resolves to these per variant.
_DEFAULT_SHARPNESS = {"area": 100.0, "direct": 10.0}


def _check_gather(gather):
    if gather is not None and not isinstance(gather, bool):
        raise ValueError(f"gather must be None, True or False, got {gather!r}.")


def _gather_active(gather):
    """Whether a loss with this ``gather`` setting all-gathers its batch now."""
    if gather is False:
        return False
    dist = torch.distributed
    ready = dist.is_available() and dist.is_initialized()
    if gather and not ready:
        raise RuntimeError(
            "gather=True needs an initialised torch.distributed process group "
            "(torch.distributed.init_process_group, torchrun or accelerate "
            "launch); there is none. Use gather=None to gather only when "
            "distributed."
        )
    return ready and dist.get_world_size() > 1


class _AllGatherRows(torch.autograd.Function):
    """All-gather equal-size row blocks; backward: this rank's block of the sum.

    Forward concatenates every rank's ``(n, ...)`` block in rank order. Every
    rank computes a loss from the gathered rows, so a row's gradient is the
    sum over ranks of what each rank's loss sends it: backward all-reduces
    (sums) the gradient of the gathered tensor and returns this rank's block.
    """

    @staticmethod
    def forward(ctx, values):
        dist = torch.distributed
        ctx.rank, ctx.n = dist.get_rank(), values.shape[0]
        parts = [torch.empty_like(values) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, values.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        torch.distributed.all_reduce(grad)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


def _gather_rows(values, labels):
    """Rows of every process, concatenated in rank order (a collective).

    Batch sizes may differ between processes: they are exchanged first (the
    one host synchronisation of the distributed path), smaller batches are
    zero-padded for the all-gather and unpadded after. ``values`` keeps its
    graph (see :class:`_AllGatherRows`); ``labels`` need no gradient.
    """
    dist = torch.distributed
    world = dist.get_world_size()
    size = torch.tensor([values.shape[0]], dtype=torch.int64, device=values.device)
    sizes = [torch.empty_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    sizes = torch.cat(sizes).tolist()  # host sync: the padded shape depends on it
    top = max(sizes)
    pad = top - values.shape[0]
    if pad:
        values = torch.cat([values, values.new_zeros((pad, *values.shape[1:]))])
        labels = torch.cat([labels, labels.new_zeros((pad,))])
    label_parts = [torch.empty_like(labels) for _ in range(world)]
    dist.all_gather(label_parts, labels.contiguous())
    keep = [slice(r * top, r * top + n) for r, n in enumerate(sizes)]
    values = _AllGatherRows.apply(values)
    values = torch.cat([values[k] for k in keep])
    labels = torch.cat([part[:n] for part, n in zip(label_parts, sizes)])
    return values, labels


class _MetricLoss(torch.nn.Module):
    """Base class of skeer's losses: the call contract, its checks, autocast.

    It owns :meth:`forward`, pytorch-metric-learning's call convention
    ``loss(embeddings, labels, indices_tuple=None, ref_emb=None,
    ref_labels=None)``: the inputs are validated and cast (half precision to
    float32), and the loss is computed with autocast off, so in float32 (or
    float64). A subclass implements :meth:`compute_loss` only. Its
    parameters are attributes read when the loss is computed (a change after
    construction takes effect); its ``__init__`` stores them and validates
    them with the check the computation uses.
    """

    #: Whether the loss is defined on the identity sets of one batch only
    #: (then ``indices_tuple`` and ``ref_emb`` must be None).
    _one_batch_only = False

    #: Refuse NaN/inf embeddings: True, False or "async" (see EERLoss).
    check_finite = True

    def __init__(self):
        super().__init__()
        self._warned_empty = False
        self._labels_encoded = False

    def forward(
        self, embeddings, labels, indices_tuple=None, ref_emb=None, ref_labels=None
    ):
        """Loss of a batch.

        Parameters
        ----------
        embeddings : Tensor of shape (n_samples, n_dims)
            Query embeddings (float16/bfloat16 are computed in float32).
        labels : Tensor of shape (n_samples,)
            Identity of each embedding.
        indices_tuple : tuple of Tensors, default=None
            Restricts the comparisons (pytorch-metric-learning pairs
            ``(a1, p, a2, n)`` or triplets ``(a, p, n)``).
        ref_emb : Tensor of shape (n_ref, n_dims), default=None
            Reference embeddings: the comparisons are then query × reference.
        ref_labels : Tensor of shape (n_ref,), default=None
            Identities of ``ref_emb``; required with it.

        Returns
        -------
        loss : Tensor (0-d)
            The loss (see the subclass).

        Raises
        ------
        ValueError
            On malformed inputs (or an ``indices_tuple`` or ``ref_emb`` the
            loss does not accept; indices out of range), on NaN or infinite
            embeddings ("training diverged?") and on invalid parameters.

        Notes
        -----
        Labels may be numbers or strings (or other hashable identities, then
        encoded as integers for the call). NaN or infinite embeddings are
        refused before anything is computed: a loss of them would be NaN,
        and so would every gradient.
        """
        if self._one_batch_only and (indices_tuple is not None or ref_emb is not None):
            raise ValueError(
                f"{type(self).__name__} is defined on the identity sets of one "
                "batch: indices_tuple and ref_emb must be None."
            )
        embeddings, labels, ref_emb, ref_labels, encoded = _prepare(
            embeddings, labels, ref_emb, ref_labels
        )
        self._labels_encoded = encoded
        mode = _check_finite_mode(self.check_finite)
        _check_finite(embeddings, "embeddings", mode)
        if ref_emb is not None:
            _check_finite(ref_emb, "ref_emb", mode)
        if indices_tuple is not None:
            n = embeddings.shape[0]
            m = n if ref_emb is None else ref_emb.shape[0]
            indices_tuple = _check_indices(indices_tuple, n, m, embeddings.device)
        with _autocast_off(embeddings.device.type):
            return self.compute_loss(
                embeddings, labels, indices_tuple, ref_emb, ref_labels
            )

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        """The loss of validated inputs, autocast off (implemented by subclasses)."""
        raise NotImplementedError

    def _warn_zero_loss(self, need, detail):
        """Warn, once per loss object, that a batch gives a zero loss."""
        if self._warned_empty:
            return
        self._warned_empty = True
        warnings.warn(
            f"{type(self).__name__} needs {need}; the batch has {detail}: "
            "returning a zero loss (zero gradient). This warning is shown once "
            "per loss object.",
            UserWarning,
            stacklevel=4,
        )


class _EERSettings(typing.NamedTuple):
    """:class:`EERLoss`'s parameters, validated and resolved for one call."""

    target: float | None  # None: the EER
    variant: str
    beta: float
    alpha: float
    distance: str
    search_steps: int
    smoothing: str
    sharpness: float
    eps: float


# ----------------------------------------------------------------------
class EERLoss(_MetricLoss):
    """Smooth equal-error-rate loss (EERLoss, Gonzalez et al. 2026).

    From a batch of embeddings and identity labels it takes every genuine
    (same label) and impostor (different labels) pair once, smooths the two
    error rates of the distance threshold ``d``,

    - ``FRR_s(d) = mean_L phi(K·(l − d))`` (false non-match rate),
    - ``FAR_s(d) = mean_I phi(K·(d − i))`` (false match rate),

    finds the threshold of the operating point and penalises the errors
    there. ``phi`` is ``tanh(max(0, ·))`` (the paper's one-sided smoothing) or
    the logistic sigmoid.

    Parameters
    ----------
    operating_point : "eer" or float in (0, 1), default="eer"
        ``"eer"``: the threshold solves ``FAR_s(d) = FRR_s(d)``. A float
        ``f``: a target false-match rate, the threshold solves
        ``FAR_s(d) = f`` and the loss penalises the miss side there.
    variant : {"area", "direct"}, default="direct"
        ``"area"``, the paper's training loss: the overlap of the genuine and
        impostor distributions around the threshold ``d``,
        ``100·[(mean_L max(eps, (l − (1−α)·d)/d)^β)^(1/β)
        + (mean_I max(eps, ((1+α)·d − i)/d)^β)^(1/β)]``, with ``d`` from the
        paper's smooth bisection (gradients flow through its soft weights).
        ``"direct"``: the smooth error rate itself at a threshold with an
        exact implicit gradient (see Notes).
    beta : float in (0, 2), default=0.85
        Exponent β of the area variant's generalised means.
    alpha : float in [0, 1), default=0.0
        Margin α of the area variant, relative to the threshold.
    distance : {"euclidean", "cosine"}, default="euclidean"
        Pair distance: L2, or ``1 − cosine similarity``.
        :class:`~skeer.verifier.KeystrokeVerifier` uses ``"euclidean"`` on
        L2-normalised embeddings, which is ``sqrt(2·(1 − cos))``: monotone in
        the cosine score it reports.
    search_steps : int, default=16
        Steps of the threshold search: the paper's smooth bisection for
        ``"area"``; plain bisection steps (followed by three Newton steps)
        for ``"direct"``.
    smoothing : {"auto", "tanh", "sigmoid"}, default="auto"
        ``phi``. ``"tanh"``: ``tanh(K·max(0, ·))``, one-sided as in the
        paper; ``"sigmoid"``: ``sigmoid(K·(·))``, two-sided. ``"auto"`` is
        ``"tanh"`` for ``"area"`` (the paper's) and ``"sigmoid"`` for
        ``"direct"`` (trained best with implicit gradients on L2-normalised
        embeddings in prior experiments).
    sharpness : float > 0 or None, default=None
        ``K``, in inverse distance units. ``None``: the paper's ``K = 100``
        for ``"area"`` and ``K = 10`` for ``"direct"``, which trained best of
        10 / 30 / 100 on L2-normalised embeddings of real keystrokes (Aalto,
        TypeNet; see the benchmarks page); resolved at each call, from the
        variant set then. It also sets the softness ``exp(K·Δrate%)`` of the
        area variant's bisection. The direct loss approaches the batch's exact
        EER as ``K`` grows; ``K`` up to ``1e4`` is supported (tested) for
        distances of order 1.
    eps : float > 0, default=1e-7
        Floor ``eps`` of the area variant's ratios (the paper's ``1e-7``).
    gather : bool or None, default=None
        Compute the loss on the global batch of a distributed run: every
        process's embeddings and labels are all-gathered (rank order) before
        the pairs are formed, so the threshold and the rates see every pair
        of the global batch. ``None``: on when ``torch.distributed`` is
        initialised with more than one process, off otherwise (no effect on a
        single process). ``True``: always (``RuntimeError`` without an
        initialised process group); ``False``: never, each process's loss
        sees its own rows only. See "Distributed training" in the Notes.
    check_finite : bool or "async", default=True
        Refuse NaN or infinite embeddings (a diverged run) instead of
        returning a NaN loss and NaN gradients. ``True``: a ``ValueError``
        with the number of bad rows; on an accelerator this reads one number
        back to the host (a synchronisation) per call, and inside
        ``torch.compile`` it becomes ``"async"``. ``"async"``:
        ``torch._assert_async``, no synchronisation; a failure raises
        ``RuntimeError`` on CPU and a device-side assertion on CUDA (which
        ends the CUDA context). ``False``: no check.

    Attributes
    ----------
    threshold_ : Tensor (0-d) or None
        The threshold (a distance) of the last call, detached; ``None`` before
        the first call. Kept on the loss's device: reading it is the caller's
        (possible) synchronisation, never the loss's.

    Notes
    -----
    The parameters are read each time the loss is computed: setting one
    after construction (``loss.sharpness = 40``) takes effect at the next
    call, and is validated there.

    Pairs: without ``ref_emb`` every unordered pair ``i < j`` of the batch
    once; with ``ref_emb`` every (query, reference) pair. ``indices_tuple``
    (pytorch-metric-learning pairs ``(a1, p, a2, n)`` or triplets
    ``(a, p, n)``) restricts the pairs to those it lists, each once whatever
    its role; labels still decide genuine versus impostor. This keeps a
    wrapper's choice (e.g. removing self comparisons from a memory bank)
    intact; a hard-pair miner biases the rates the loss estimates.

    Returned value:

    - ``"area"``: the paper's value, percent-scaled (100 × the sum of the two
      overlap terms, each at least ``100·eps``); not a rate. For a target
      false-match rate the same formula is evaluated at the threshold where
      ``FAR_s(d) = f`` (the bisection compares ``FAR_s(m)`` with ``100·f``
      where the EER search compares it with ``FRR_s(m)``).
    - ``"direct"``: a fraction in [0, 1]: ``(FAR_s + FRR_s)/2`` at the root
      of ``FAR_s(d) = FRR_s(d)`` (the smooth EER), or ``FRR_s(d)`` at the root
      of ``FAR_s(d) = f`` (the smooth false non-match rate at false-match
      rate ``f``). The root is found without a graph (bisection on a bracket
      that always holds it, then Newton) and the gradient through it is the
      exact implicit one, ``dd/dθ = −(∂g/∂θ)/(∂g/∂d)`` with
      ``g = FAR_s − FRR_s`` (or ``FAR_s − f``), not the search's.

    Everything is computed on flat pair vectors with masked means, static
    shapes and a fixed number of steps: no ``.item()``, no host
    synchronisation, no data-dependent Python branch, so
    ``torch.compile(loss, fullgraph=True)`` works. The one exception is the
    eager check of NaN/inf embeddings on an accelerator with
    ``check_finite=True`` (one value read back per call); ``"async"`` or
    ``False`` avoid it, and inside ``torch.compile`` the check is
    asynchronous anyway. Half-precision and bfloat16 inputs (autocast) are
    computed in float32; float64 stays float64.

    A batch without a genuine or without an impostor pair gives a zero that
    keeps the graph (zero gradient, never NaN), computed branch-free. It
    warns once per loss object, only for CPU tensors outside
    ``torch.compile``: elsewhere the check would need a host sync.

    A batch whose pairs are all at the same distance (collapsed embeddings:
    every embedding equal, or distances that agree to within the square root
    of the machine epsilon, relative) cannot tell a genuine pair from an
    impostor one: its EER is 0.5. It scores as such, branch-free: ``"direct"``
    returns 0.5 (1.0 for a target false-match rate, which only rejecting
    everyone meets), ``"area"`` its worst value, 200 (each overlap term at 1,
    every pair counted a full threshold on the wrong side), where the formula
    alone would see no overlap at all (about 0, like a perfect separation;
    with cosine distances, a near-infinite value). The gradient there is zero:
    no infinitesimal move separates tied distances. It warns once per loss
    object (CPU tensors outside ``torch.compile`` only).

    NaN or infinite embeddings raise ``ValueError`` ("training diverged?");
    see ``check_finite``. Labels may be integers or strings.

    Distributed training (``gather`` on). Each process passes its own rows;
    the returned value, on every process, is the loss of the global batch:
    what one process computes on the concatenation of every process's batch
    (rank order). The gradient a process's own rows receive is the sum, over
    the processes, of what each process's copy of that loss sends them, that
    is ``world_size`` times the single-process gradient.
    ``DistributedDataParallel`` (and Accelerate, which uses it) averages
    parameter gradients over the processes, which cancels that factor: the
    parameter gradient is exactly that of one process training on the global
    batch, so the loss must **not** be scaled by ``world_size``. (When
    gradients are summed over processes instead of averaged, divide the loss
    by ``world_size``.)

    - Labels must name identities globally: the same identity has the same
      label on every process.
    - Batch sizes may differ between processes: they are exchanged first,
      a small collective and a host synchronisation (so the distributed path
      does not compile with ``fullgraph=True``), and padded rows are dropped
      after the all-gather.
    - The loss is a collective: every process must call it, and backward
      through it, the same number of times, as with any
      ``DistributedDataParallel`` step.
    - ``ref_emb``/``ref_labels`` are gathered the same way;
      ``indices_tuple`` (indices into one process's rows) cannot be combined
      with gathering and raises ``ValueError``.
    - With the sharded :class:`~skeer.sampler.IdentityBatchSampler`
      (``rank``/``world_size``) the processes draw disjoint identities and
      the global batch is a P·world_size × K batch.

    References
    ----------
    Gonzalez, Robledo-Moreno, DeAndres-Tame, Vera-Rodriguez, Tolosana.
    "EERLoss: A Novel Loss Function for Training Deep Biometric Models. A
    Case Study in Keystroke Dynamics", arXiv 2606.24586, 2026.

    Examples
    --------
    >>> import torch
    >>> from skeer.losses import EERLoss
    >>> g = torch.Generator().manual_seed(0)
    >>> labels = torch.arange(4).repeat_interleave(5)
    >>> centers = torch.randn(4, 8, generator=g)
    >>> emb = centers[labels] + 0.3 * torch.randn(20, 8, generator=g)
    >>> emb = torch.nn.functional.normalize(emb, dim=1).requires_grad_()
    >>> loss = EERLoss()(emb, labels)
    >>> loss.backward()
    >>> loss.shape, bool(torch.isfinite(emb.grad).all())
    (torch.Size([]), True)
    >>> shuffled = labels[torch.randperm(20, generator=g)]
    >>> bool(EERLoss()(emb, labels) < EERLoss()(emb, shuffled))
    True
    >>> smooth_eer = EERLoss(variant="direct")(emb, labels)
    >>> 0.0 <= smooth_eer.item() <= 1.0
    True
    """

    def __init__(
        self,
        operating_point="eer",
        *,
        variant="direct",
        beta=0.85,
        alpha=0.0,
        distance="euclidean",
        search_steps=16,
        smoothing="auto",
        sharpness=None,
        eps=1e-7,
        gather=None,
        check_finite=True,
    ):
        super().__init__()
        self.operating_point = operating_point
        self.variant = variant
        self.beta = beta
        self.alpha = alpha
        self.distance = distance
        self.search_steps = search_steps
        self.smoothing = smoothing
        self.sharpness = sharpness
        self.eps = eps
        self.gather = gather
        self.check_finite = check_finite
        self.threshold_ = None
        self._warned_tied = False
        self._params()  # validates

    def extra_repr(self):
        return (
            f"operating_point={self.operating_point!r}, variant={self.variant!r}, "
            f"beta={self.beta}, alpha={self.alpha}, distance={self.distance!r}, "
            f"search_steps={self.search_steps}, smoothing={self.smoothing!r}, "
            f"sharpness={self.sharpness}, gather={self.gather}, "
            f"check_finite={self.check_finite!r}"
        )

    def _params(self):
        """The parameters as they are now, validated, with defaults resolved."""
        operating_point = check_operating_point(self.operating_point)
        _check_choice("variant", self.variant, _VARIANTS)
        _check_choice("distance", self.distance, DISTANCES)
        _check_choice("smoothing", self.smoothing, ("auto", *SMOOTHINGS))
        _check_gather(self.gather)
        _check_finite_mode(self.check_finite)
        if self.smoothing != "auto":
            smoothing = self.smoothing
        else:
            smoothing = "tanh" if self.variant == "area" else "sigmoid"
        if self.sharpness is None:
            sharpness = _DEFAULT_SHARPNESS[self.variant]
        else:
            sharpness = check_real(self.sharpness, "sharpness", low=0.0)
        return _EERSettings(
            target=None if operating_point == "eer" else operating_point,
            variant=self.variant,
            beta=check_real(self.beta, "beta", low=0.0, high=2.0),
            alpha=check_real(self.alpha, "alpha", low=0.0, high=1.0, low_open=False),
            distance=self.distance,
            search_steps=check_positive_int(self.search_steps, "search_steps"),
            smoothing=smoothing,
            sharpness=sharpness,
            eps=check_real(self.eps, "eps", low=0.0, high=1.0),
        )

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        """The loss of validated inputs (see "Returned value" in the Notes).

        When gathering, the loss of the global batch (the same on every
        process); ``indices_tuple`` cannot be combined with gathering
        (``ValueError``), ``gather=True`` needs an initialised process group
        (``RuntimeError``).
        """
        settings = self._params()
        if _gather_active(self.gather):
            if self._labels_encoded:
                raise ValueError(
                    "labels given as strings are encoded per process and cannot "
                    "be gathered across processes: pass integer identities, the "
                    "same on every process."
                )
            if indices_tuple is not None:
                raise ValueError(
                    "indices_tuple indexes one process's rows and cannot be "
                    "combined with gathering the batch across processes; pass "
                    "gather=False to use it."
                )
            embeddings, labels = _gather_rows(embeddings, labels)
            if ref_emb is not None:
                ref_emb, ref_labels = _gather_rows(ref_emb, ref_labels)
        pairs = pair_batch(
            embeddings,
            labels,
            settings.distance,
            ref_emb=ref_emb,
            ref_labels=ref_labels,
            indices_tuple=indices_tuple,
        )
        if pairs.x.shape[0] == 0:  # static shape: a single sample
            self._warn_empty(None)
            return embeddings.sum() * 0.0
        tied = _all_tied(pairs)
        loss, threshold = self._loss(pairs, settings, tied)
        self.threshold_ = threshold.detach()
        valid = (pairs.counts > 0).all()
        self._warn_empty(pairs.counts)
        self._warn_tied(tied, valid, settings)
        return loss * valid.to(loss.dtype)

    @staticmethod
    def _tied_value(settings):
        """The loss of a batch whose pairs are all at one distance (EER 0.5)."""
        if settings.variant == "area":
            return 200.0  # each overlap term at 1, in percent
        return 0.5 if settings.target is None else 1.0

    @classmethod
    def _loss(cls, pairs, settings, tied):
        target, k, smoothing = settings.target, settings.sharpness, settings.smoothing
        worst = cls._tied_value(settings)
        if settings.variant == "area":
            threshold = soft_bisection(
                pairs, target, k, smoothing, settings.search_steps
            )
            # a degenerate or tied batch (replaced below or zeroed by the
            # caller) must stay finite, its gradient too
            usable = (pairs.counts > 0).all() & ~tied
            safe = torch.where(usable, threshold, torch.ones_like(threshold))
            terms = area_terms(pairs, safe, settings.beta, settings.alpha, settings.eps)
            loss = 100.0 * terms.sum()
            return torch.where(tied, torch.full_like(loss, worst), loss), threshold
        threshold, rates, slopes = implicit_threshold(
            pairs, target, k, smoothing, settings.search_steps
        )
        # rates/slopes at the root: add the threshold's implicit dependence
        # to first order (value unchanged: threshold - threshold.detach() == 0)
        shift = threshold - threshold.detach()
        if target is None:
            loss = 0.5 * (rates.sum() + slopes.sum() * shift)
        else:
            loss = rates[0] + slopes[0] * shift
        return torch.where(tied, torch.full_like(loss, worst), loss), threshold

    def _warn_tied(self, tied, valid, settings):
        """Warn (once) about a batch whose pairs are all at one distance.

        Only for CPU tensors outside ``torch.compile`` (no host sync).
        """
        if (
            getattr(self, "_warned_tied", False)  # absent from older pickles
            or torch.compiler.is_compiling()
            or tied.device.type != "cpu"
            or not bool(tied & valid)
        ):
            return
        self._warned_tied = True
        warnings.warn(
            "EERLoss: every pair of the batch is at the same distance (collapsed "
            "embeddings?): nothing tells genuine from impostor pairs (EER 0.5), "
            f"so the loss takes its worst value, {self._tied_value(settings)}, "
            "with a zero gradient. This warning is shown once per loss object.",
            UserWarning,
            stacklevel=6,  # _warn_tied, compute_loss, forward, torch's two calls
        )

    def _warn_empty(self, counts):
        """Warn (once) about a batch without genuine or impostor pairs.

        Only for CPU tensors outside ``torch.compile``: elsewhere reading the
        counts would need a host sync.
        """
        if self._warned_empty or torch.compiler.is_compiling():
            return
        if counts is not None and (
            counts.device.type != "cpu" or bool((counts > 0).all())
        ):
            return
        if counts is None:
            detail = "a single sample, no pair"
        else:
            detail = f"{int(counts[0])} genuine and {int(counts[1])} impostor pairs"
        self._warn_zero_loss("genuine and impostor pairs", detail)

    def smooth_rates(self, embeddings, labels, threshold):
        """Smooth ``[FRR_s, FAR_s]`` (fractions) of a batch at ``threshold``.

        Uses the loss's distance, smoothing and sharpness; for inspection
        (e.g. checking ``threshold_``).

        Parameters
        ----------
        embeddings : Tensor of shape (n_samples, n_dims)
        labels : Tensor of shape (n_samples,)
        threshold : float or Tensor (0-d)
            A distance.

        Returns
        -------
        rates : Tensor of shape (2,)
            False non-match and false match rate, smoothed.

        Examples
        --------
        >>> import torch
        >>> from skeer.losses import EERLoss
        >>> emb = torch.tensor([[0.0], [0.1], [1.0], [1.1]])
        >>> rates = EERLoss(sharpness=1000).smooth_rates(emb, [0, 0, 1, 1], 1.05)
        >>> [round(r, 3) for r in rates.tolist()]
        [0.0, 0.75]
        """
        settings = self._params()
        embeddings, labels, _, _, _ = _prepare(embeddings, labels, None, None)
        _check_finite(embeddings, "embeddings", _check_finite_mode(self.check_finite))
        pairs = pair_batch(embeddings, labels, settings.distance)
        threshold = torch.as_tensor(threshold, dtype=embeddings.dtype)
        return smooth_rates(pairs, threshold, settings.sharpness, settings.smoothing)


# ----------------------------------------------------------------------
# baselines
class _PMLLoss(_MetricLoss):
    """A pytorch-metric-learning loss (and miner) with skeer's call contract.

    A subclass defines ``_params()`` (its parameters, validated, as a tuple)
    and ``_build(distances, losses, miners, *params)`` (the pml loss and
    miner, or None). They are built at the first call and rebuilt when a
    parameter has changed since.
    """

    def __init__(self):
        super().__init__()
        self._pml = None  # (params, pml loss, pml miner or None)

    def _pml_objects(self):
        params = self._params()
        if self._pml is None or self._pml[0] != params:
            modules = _import_pml(type(self).__name__)
            self._pml = (params, *self._build(*modules, *params))
        return self._pml[1:]

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        """The pml loss, with the miner's pairs unless ``indices_tuple`` is given."""
        loss, miner = self._pml_objects()
        if indices_tuple is None and miner is not None:
            indices_tuple = miner(embeddings, labels, ref_emb, ref_labels)
        return loss(embeddings, labels, indices_tuple, ref_emb, ref_labels)


class TripletMarginLoss(_PMLLoss):
    """Triplet margin loss with online mining (TypeNet's loss).

    ``max(0, d(a, p) − d(a, n) + margin)`` averaged over the mined triplets
    with a non-zero loss (pytorch-metric-learning's ``TripletMarginLoss``
    with its default ``AvgNonZeroReducer``), on the embeddings as given (no
    normalisation inside). Needs the optional dependency
    pytorch-metric-learning (``pip install skeer[baselines]``).

    Parameters
    ----------
    margin : float >= 0, default=0.5
        Triplet margin. TypeNet and Type2Branch use 1.5 on raw embeddings;
        on L2-normalised ones (what :class:`~skeer.KeystrokeVerifier` trains)
        distances lie in [0, 2] and 1.5 keeps almost every triplet active:
        on real keystrokes (Aalto, TypeNet) margin 1.5 with semi-hard mining
        reached 39 % EER where 0.5 with all triplets reached 15 %.
    mining : {"semihard", "hard", "all"}, default="all"
        ``"semihard"``: triplets with ``0 < d(a, n) − d(a, p) <= margin``;
        ``"hard"``: batch-hard, for each anchor its farthest positive and its
        nearest negative; ``"all"``: every triplet. Ignored when an
        ``indices_tuple`` is passed (the caller mined already).
    distance : {"euclidean", "cosine"}, default="euclidean"
        With ``"cosine"`` the margin applies to cosine similarities.

    Examples
    --------
    >>> import torch
    >>> from skeer.losses import TripletMarginLoss
    >>> emb = torch.tensor([[0.0, 0.0], [0.0, 0.5], [1.0, 0.0], [1.0, 0.5]])
    >>> loss = TripletMarginLoss(margin=1.5, mining="all")(emb, [0, 0, 1, 1])
    >>> round(float(loss), 3)
    0.941
    """

    def __init__(self, margin=0.5, *, mining="all", distance="euclidean"):
        super().__init__()
        self.margin = margin
        self.mining = mining
        self.distance = distance
        self._pml_objects()  # validates; ImportError without the extra

    def _params(self):
        _check_choice("mining", self.mining, _MININGS)
        _check_choice("distance", self.distance, DISTANCES)
        margin = check_real(self.margin, "margin", low=0.0, low_open=False)
        return margin, self.mining, self.distance

    @staticmethod
    def _build(distances, losses, miners, margin, mining, distance):
        loss = losses.TripletMarginLoss(
            margin=margin, distance=_pml_distance(distances, distance)
        )
        if mining == "semihard":
            miner = miners.TripletMarginMiner(
                margin=margin,
                type_of_triplets="semihard",
                distance=_pml_distance(distances, distance),
            )
        elif mining == "hard":
            miner = miners.BatchHardMiner(distance=_pml_distance(distances, distance))
        else:
            miner = None
        return loss, miner


class ContrastiveLoss(_PMLLoss):
    """Contrastive loss over all pairs of the batch.

    ``relu(d − pos_margin)`` over genuine pairs plus ``relu(neg_margin − d)``
    over impostor pairs, each averaged over its pairs with a non-zero loss
    (pytorch-metric-learning's ``ContrastiveLoss``). Needs
    pytorch-metric-learning (``pip install skeer[baselines]``).

    Parameters
    ----------
    pos_margin : float >= 0, default=0.0
        Genuine distances below it cost nothing.
    neg_margin : float >= 0, default=1.0
        Impostor distances above it cost nothing.
    distance : {"euclidean", "cosine"}, default="euclidean"
        With ``"cosine"`` the margins apply to cosine similarities (genuine
        similarities above ``pos_margin`` and impostor similarities below
        ``neg_margin`` cost nothing).

    Examples
    --------
    >>> import torch
    >>> from skeer.losses import ContrastiveLoss
    >>> emb = torch.tensor([[0.0], [0.5], [0.8], [2.0]])
    >>> loss = ContrastiveLoss()(emb, [0, 0, 1, 1])
    >>> round(float(loss), 3)
    1.3
    """

    def __init__(self, pos_margin=0.0, neg_margin=1.0, *, distance="euclidean"):
        super().__init__()
        self.pos_margin = pos_margin
        self.neg_margin = neg_margin
        self.distance = distance
        self._pml_objects()  # validates; ImportError without the extra

    def _params(self):
        pos = check_real(self.pos_margin, "pos_margin", low=0.0, low_open=False)
        neg = check_real(self.neg_margin, "neg_margin", low=0.0, low_open=False)
        _check_choice("distance", self.distance, DISTANCES)
        return pos, neg, self.distance

    @staticmethod
    def _build(distances, losses, miners, pos_margin, neg_margin, distance):
        loss = losses.ContrastiveLoss(
            pos_margin=pos_margin,
            neg_margin=neg_margin,
            distance=_pml_distance(distances, distance),
        )
        return loss, None


class Set2SetLoss(_MetricLoss):
    """Set-to-set loss of the KVC-onGoing winner (Type2Branch, Gonzalez et al.).

    The sets are the identities of the batch. For every ordered pair of sets
    ``A != B``, the mean over ``i < j`` in ``A`` (batch order) and ``k`` in
    ``B`` of ``max(0, d(a_i, a_j) − d(a_i, b_k) + margin)``; these means are
    averaged over the pairs of sets, plus ``beta`` times the mean over sets of
    ``|r_s / r̄ − 1|``, where ``r_s`` is a set's mean distance to its centroid
    and ``r̄`` the mean of the ``r_s``. A set with a single sample has no
    ``i < j`` and no spread: it only plays the role of ``B``. With equal set
    sizes (P × K batches) the first term is the plain mean over all such
    triplets.

    Vectorised over label masks (one row per genuine pair), not compiled:
    it uses ``nonzero``/``unique``, which synchronise with the host.

    Parameters
    ----------
    margin : float >= 0, default=1.5
    beta : float >= 0, default=0.05
        Weight of the spread-balancing term.
    distance : {"euclidean", "cosine"}, default="euclidean"

    Examples
    --------
    >>> import torch
    >>> from skeer.losses import Set2SetLoss
    >>> emb = torch.tensor([[0.0], [1.0], [3.0], [4.0]])
    >>> round(float(Set2SetLoss()(emb, [0, 0, 1, 1])), 3)
    0.125
    """

    _one_batch_only = True

    def __init__(self, margin=1.5, beta=0.05, *, distance="euclidean"):
        super().__init__()
        self.margin = margin
        self.beta = beta
        self.distance = distance
        self._params()  # validates

    def _params(self):
        margin = check_real(self.margin, "margin", low=0.0, low_open=False)
        beta = check_real(self.beta, "beta", low=0.0, low_open=False)
        _check_choice("distance", self.distance, DISTANCES)
        return margin, beta, self.distance

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        """The loss of the identity sets of one batch (see the class)."""
        margin, beta, distance = self._params()
        emb = embeddings
        n = emb.shape[0]
        _, inverse = torch.unique(labels, return_inverse=True)
        onehot = torch.nn.functional.one_hot(inverse).to(emb.dtype)  # (n, S)
        sizes = onehot.sum(dim=0)
        n_sets = sizes.shape[0]
        big = sizes >= 2
        n_big = int(big.sum())
        if n_big == 0 or n_sets < 2:
            self._warn_zero_loss(
                "two identities, one with two samples",
                f"{n_sets} identities, {n_big} with two or more samples",
            )
            return emb.sum() * 0.0

        dist = pairwise_distances(emb, emb, distance)
        same = inverse[:, None] == inverse[None, :]
        upper = torch.ones(n, n, dtype=torch.bool, device=emb.device).triu(1)
        ii, jj = (same & upper).nonzero(as_tuple=True)
        # one row per genuine pair (i < j), one column per candidate negative k
        hinge = torch.relu(dist[ii, jj][:, None] - dist[ii] + margin)
        n_pairs = sizes * (sizes - 1) / 2
        col_w = (1.0 / sizes)[inverse]  # 1/|B|
        row_w = (1.0 / n_pairs.clamp_min(1.0))[inverse[ii]]  # 1/#pairs(A)
        weights = (~same[ii]).to(emb.dtype) * col_w[None, :] * row_w[:, None]
        triplet = (hinge * weights).sum() / (n_big * (n_sets - 1))

        centroids = (onehot.T @ emb) / sizes[:, None]
        own = centroids[inverse]
        if distance == "cosine":
            spread = 1.0 - torch.nn.functional.cosine_similarity(emb, own, dim=1)
        else:
            diff = emb - own
            spread = torch.sqrt(
                (diff * diff).sum(dim=1).clamp_min(torch.finfo(emb.dtype).eps)
            )
        radius = (onehot.T @ spread) / sizes  # r_s
        radius = radius[big]
        mean_radius = radius.mean().clamp_min(torch.finfo(emb.dtype).tiny)
        balance = (radius / mean_radius - 1.0).abs().mean()
        return triplet + beta * balance
