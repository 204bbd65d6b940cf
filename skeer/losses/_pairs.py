"""Pair distances and genuine/impostor masks of a batch as flat vectors (private).

Each pair ``i < j`` once, or every (query, reference) pair; static shapes.
"""

import math

import torch
import torch.nn.functional as F

__all__ = ["DISTANCES", "PairBatch", "pair_batch", "pairwise_distances"]

DISTANCES = ("euclidean", "cosine")


def _range_scale(*tensors):
    """A detached scale ``s >= 1`` (1 unless squared distances would overflow)."""
    x = tensors[0]
    limit = math.sqrt(torch.finfo(x.dtype).max / (16.0 * max(x.shape[-1], 1)))
    top = torch.stack([t.detach().abs().amax() for t in tensors]).amax()
    return (top / limit).clamp_min(1.0)


def pairwise_distances(a, b, distance):
    """Distance matrix ``(len(a), len(b))``, with a NaN-free gradient at 0."""
    if distance == "cosine":
        return 1.0 - _unit_rows(a) @ _unit_rows(b).T
    s = _range_scale(a, b)
    return s * _sqrt_clamped(_squared_euclidean(a / s, b / s))


def _unit_rows(x):
    """Unit rows (pre-scaled by the detached largest entry: no float32 overflow)."""
    top = x.detach().abs().amax(dim=1, keepdim=True)
    return F.normalize(x / top.clamp_min(torch.finfo(x.dtype).tiny), dim=1)


def _squared_euclidean(a, b):
    center = a.mean(dim=0, keepdim=True).detach()
    a = a - center
    b = b - center
    sq_a = (a * a).sum(dim=1)
    sq_b = (b * b).sum(dim=1)
    return torch.addmm(sq_a[:, None] + sq_b[None, :], a, b.T, alpha=-2.0)


def _sqrt_clamped(d2):
    return torch.sqrt(d2.clamp_min(torch.finfo(d2.dtype).eps))


class PairBatch:
    """The pairs of a batch: distances ``x``, ``sign`` (+1 genuine, -1 impostor),
    genuine/impostor indicator ``weights`` (2, n_pairs), their ``counts``, and
    ``restricted`` (an ``indices_tuple`` may zero some weights)."""

    __slots__ = ("counts", "restricted", "sign", "weights", "x")

    def __init__(self, x, sign, weights, counts, restricted):
        self.x = x
        self.sign = sign
        self.weights = weights
        self.counts = counts
        self.restricted = restricted


def _indices_mask(indices_tuple, n, m, device):
    """Boolean (n, m) matrix of the pairs a (checked) ``indices_tuple`` lists."""
    idx = [torch.as_tensor(t, device=device).long() for t in indices_tuple]
    keep = torch.zeros(n, m, dtype=torch.bool, device=device)
    if len(idx) == 3:  # triplets (a, p, n): pairs (a, p) and (a, n)
        idx.insert(2, idx[0])
    for rows, cols in ((idx[0], idx[1]), (idx[2], idx[3])):
        keep[rows, cols] = True
    return keep


def pair_batch(
    embeddings, labels, distance, ref_emb=None, ref_labels=None, indices_tuple=None
):
    """Build the :class:`PairBatch` of a batch (see the module docstring)."""
    n = embeddings.shape[0]
    dtype = embeddings.dtype
    if ref_emb is None:
        rows, cols = torch.triu_indices(n, n, offset=1, device=embeddings.device)
        flat = rows * n + cols  # index_select: its backward (index_add) is cheap
        same = (labels[:, None] == labels[None, :]).reshape(-1).index_select(0, flat)
        if distance == "cosine":
            unit = _unit_rows(embeddings)
            x = (1.0 - unit @ unit.T).reshape(-1).index_select(0, flat)
        else:
            s = _range_scale(embeddings)
            d2 = _squared_euclidean(embeddings / s, embeddings / s).reshape(-1)
            x = s * _sqrt_clamped(d2.index_select(0, flat))
        keep = None
        if indices_tuple is not None:
            mask = _indices_mask(indices_tuple, n, n, embeddings.device)
            keep = (mask | mask.T).reshape(-1).index_select(0, flat)
    else:
        same = (labels[:, None] == ref_labels[None, :]).reshape(-1)
        x = pairwise_distances(embeddings, ref_emb, distance).reshape(-1)
        keep = None
        if indices_tuple is not None:
            keep = _indices_mask(
                indices_tuple, n, ref_emb.shape[0], embeddings.device
            ).reshape(-1)
    genuine = same
    impostor = ~same
    if keep is not None:
        genuine = genuine & keep
        impostor = impostor & keep
    weights = torch.stack([genuine, impostor]).to(dtype)
    sign = same.to(dtype) * 2.0 - 1.0
    counts = weights.sum(dim=1)
    return PairBatch(x, sign, weights, counts, restricted=keep is not None)
