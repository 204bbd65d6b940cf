"""The baseline losses EERLoss is compared with (see :mod:`skeer.losses`)."""

import torch

from skeer._validation import check_positive_int, check_real
from skeer.losses._base import _check_choice, _MetricLoss
from skeer.losses._pairs import DISTANCES, pairwise_distances

_MININGS = ("semihard", "hard", "all")


def _import_pml(what):
    try:
        from pytorch_metric_learning import distances, losses, miners
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(
            f"{what} wraps pytorch-metric-learning, a dependency of skeer that "
            "is not installed: pip install pytorch-metric-learning"
        ) from exc
    return distances, losses, miners


def _pml_distance(distances, distance):
    if distance == "cosine":
        return distances.CosineSimilarity()
    return distances.LpDistance(normalize_embeddings=False, p=2, power=1)


class _PMLLoss(_MetricLoss):
    """A pml loss and miner from ``_build(distances, losses, miners, *_params())``.

    Built at the first call, rebuilt when a parameter has changed.
    """

    def __init__(self, **params):
        super().__init__(**params)
        self._pml = None  # (params, pml loss, pml miner or None)
        self._pml_objects()  # validates; ImportError without the extra

    def _pml_objects(self):
        params = self._settings()
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
    with a non-zero loss, on the embeddings as given. Wraps
    pytorch-metric-learning.

    Parameters
    ----------
    margin : float >= 0, default=0.5
        Triplet margin (TypeNet's 1.5 keeps almost every triplet active on
        L2-normalised embeddings).
    mining : {"semihard", "hard", "all"}, default="all"
        ``"semihard"``: ``0 < d(a, n) − d(a, p) <= margin``; ``"hard"``:
        batch-hard; ``"all"``: every triplet. Ignored with an ``indices_tuple``.
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
        super().__init__(margin=margin, mining=mining, distance=distance)

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
        if mining == "all":
            return loss, None
        if mining == "hard":
            return loss, miners.BatchHardMiner(
                distance=_pml_distance(distances, distance)
            )
        return loss, miners.TripletMarginMiner(
            margin=margin,
            type_of_triplets="semihard",
            distance=_pml_distance(distances, distance),
        )


class ContrastiveLoss(_PMLLoss):
    """Contrastive loss over all pairs of the batch.

    ``relu(d − pos_margin)`` over genuine pairs plus ``relu(neg_margin − d)``
    over impostor pairs, each averaged over its non-zero terms. Wraps
    pytorch-metric-learning.

    Parameters
    ----------
    pos_margin : float >= 0, default=0.0
        Genuine distances below it cost nothing.
    neg_margin : float >= 0, default=1.0
        Impostor distances above it cost nothing.
    distance : {"euclidean", "cosine"}, default="euclidean"
        With ``"cosine"`` the margins apply to cosine similarities.

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
        super().__init__(
            pos_margin=pos_margin, neg_margin=neg_margin, distance=distance
        )

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


class SupConLoss(_PMLLoss):
    """Supervised contrastive loss (Khosla et al., NeurIPS 2020).

    For each anchor, the log-softmax of its temperature-scaled cosine
    similarities, averaged over its positives. Wraps pytorch-metric-learning.

    Parameters
    ----------
    temperature : float > 0, default=0.1
        Scale of the similarities; lower is sharper.

    Examples
    --------
    >>> import torch
    >>> from skeer.losses import SupConLoss
    >>> emb = torch.nn.functional.normalize(
    ...     torch.tensor([[1.0, 0.0], [0.9, 0.3], [0.0, 1.0], [0.2, 0.9]]), dim=1)
    >>> round(float(SupConLoss()(emb, [0, 0, 1, 1])), 3)
    0.007
    """

    def __init__(self, temperature=0.1):
        super().__init__(temperature=temperature)

    def _params(self):
        return (check_real(self.temperature, "temperature", low=0.0),)

    @staticmethod
    def _build(distances, losses, miners, temperature):
        return losses.SupConLoss(temperature=temperature), None


class MultiSimilarityLoss(_PMLLoss):
    """Multi-Similarity loss (Wang et al., CVPR 2019), no miner.

    Soft-weighted positive and negative cosine similarities around ``base``.
    Wraps pytorch-metric-learning.

    Parameters
    ----------
    alpha : float > 0, default=2.0
        Weight of the positive pairs.
    beta : float > 0, default=50.0
        Weight of the negative pairs.
    base : float, default=0.5
        The similarity the pairs are weighed around.

    Examples
    --------
    >>> import torch
    >>> from skeer.losses import MultiSimilarityLoss
    >>> emb = torch.nn.functional.normalize(
    ...     torch.tensor([[1.0, 0.0], [0.9, 0.3], [0.0, 1.0], [0.2, 0.9]]), dim=1)
    >>> round(float(MultiSimilarityLoss()(emb, [0, 0, 1, 1])), 3)
    0.178
    """

    def __init__(self, alpha=2.0, beta=50.0, base=0.5):
        super().__init__(alpha=alpha, beta=beta, base=base)

    def _params(self):
        return (
            check_real(self.alpha, "alpha", low=0.0),
            check_real(self.beta, "beta", low=0.0),
            check_real(self.base, "base"),
        )

    @staticmethod
    def _build(distances, losses, miners, alpha, beta, base):
        return losses.MultiSimilarityLoss(alpha=alpha, beta=beta, base=base), None


class ArcFaceLoss(_MetricLoss):
    """Additive angular margin loss (ArcFace, Deng et al., CVPR 2019).

    One learnable proxy per class and a softmax over the scaled cosines to
    them, with an angular ``margin`` added to the true class. The proxies
    are parameters of the loss (:class:`~skeer.KeystrokeVerifier` trains
    them and fills in ``num_classes`` and ``embedding_size``). Labels must
    be class indices in ``[0, num_classes)``. Wraps pytorch-metric-learning.

    Parameters
    ----------
    num_classes : int
        Number of classes (one proxy each).
    embedding_size : int
        Dimension of the embeddings.
    margin : float >= 0, default=28.6
        Angular margin in degrees (pml's default, 0.5 rad).
    scale : float > 0, default=64.0
        Scale of the cosines in the softmax.

    Examples
    --------
    >>> import torch
    >>> from skeer.losses import ArcFaceLoss
    >>> _ = torch.manual_seed(0)
    >>> loss = ArcFaceLoss(num_classes=3, embedding_size=2)
    >>> emb = torch.nn.functional.normalize(torch.randn(6, 2), dim=1)
    >>> loss(emb, torch.tensor([0, 0, 1, 1, 2, 2])).shape, len(list(loss.parameters()))
    (torch.Size([]), 1)
    """

    def __init__(self, num_classes=None, embedding_size=None, margin=28.6, scale=64.0):
        super().__init__()
        self.num_classes = num_classes
        self.embedding_size = embedding_size
        self.margin = margin
        self.scale = scale
        _, losses, _ = _import_pml(type(self).__name__)  # ImportError first
        n, d, margin, scale = self._settings()
        # a registered submodule: its proxies are parameters of this loss
        self.pml_loss_ = losses.ArcFaceLoss(
            num_classes=n, embedding_size=d, margin=margin, scale=scale
        )

    def _params(self):
        return (
            check_positive_int(self.num_classes, "num_classes"),
            check_positive_int(self.embedding_size, "embedding_size"),
            check_real(self.margin, "margin", low=0.0, low_open=False),
            check_real(self.scale, "scale", low=0.0),
        )

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        if indices_tuple is not None or ref_emb is not None:
            raise ValueError(
                "ArcFaceLoss compares each embedding with the class proxies: "
                "indices_tuple and ref_emb must be None."
            )
        n = self.pml_loss_.W.shape[1]
        if self._labels_encoded:
            raise ValueError(
                f"ArcFaceLoss needs integer class indices in [0, {n}) as labels "
                "(one proxy per class), got labels of another kind."
            )
        bad = (labels < 0) | (labels >= n)
        message = f"ArcFaceLoss labels must be class indices in [0, {n})."
        if labels.device.type != "cpu" or torch.compiler.is_compiling():
            torch._assert_async(~bad.any(), message)
        elif bool(bad.any()):
            raise ValueError(message + f" Got {int(bad.sum())} outside.")
        return self.pml_loss_(embeddings, labels)


class Set2SetLoss(_MetricLoss):
    """Set-to-set loss of the KVC-onGoing winner (Type2Branch, Gonzalez et al.).

    The sets are the identities of the batch. For every ordered pair of sets
    ``A != B``, the mean over ``i < j`` in ``A`` and ``k`` in ``B`` of
    ``max(0, d(a_i, a_j) − d(a_i, b_k) + margin)``, averaged over the pairs
    of sets, plus ``beta`` times the mean over sets of ``|r_s / r̄ − 1|``
    (``r_s``: a set's mean distance to its centroid). A single-sample set
    only plays the role of ``B``. Not compilable (host synchronisations).

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
        super().__init__(margin=margin, beta=beta, distance=distance)
        self._settings()  # validates

    def _params(self):
        margin = check_real(self.margin, "margin", low=0.0, low_open=False)
        beta = check_real(self.beta, "beta", low=0.0, low_open=False)
        _check_choice("distance", self.distance, DISTANCES)
        return margin, beta, self.distance

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        """The loss of the identity sets of one batch (see the class)."""
        margin, beta, distance = self._settings()
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
