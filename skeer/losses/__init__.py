"""Metric-learning losses: EERLoss and the baselines it is compared with.

Every loss is a :class:`torch.nn.Module` called with pytorch-metric-learning's
convention, ``loss(embeddings, labels, indices_tuple=None, ref_emb=None,
ref_labels=None)``, and returns a scalar tensor. Labels decide which pairs are
genuine (same label) and which are impostor: batches may hold any number of
samples per identity, in any order. :class:`TripletMarginLoss`,
:class:`ContrastiveLoss`, :class:`SupConLoss`, :class:`MultiSimilarityLoss`
and :class:`ArcFaceLoss` wrap pytorch-metric-learning's losses of the same
names (imported at construction); :class:`SupConEERLoss`, SupCon plus
EERLoss, is :class:`~skeer.KeystrokeVerifier`'s default for sequences.

Examples
--------
>>> import torch
>>> from skeer.losses import EERLoss
>>> emb = torch.tensor([[0.0, 1.0], [0.1, 1.0], [1.0, 0.0], [1.0, 0.1]])
>>> EERLoss()(emb, ["ann", "ann", "bob", "bob"]).shape
torch.Size([])
"""

from skeer.losses._baselines import (
    ArcFaceLoss,
    ContrastiveLoss,
    MultiSimilarityLoss,
    Set2SetLoss,
    SupConLoss,
    TripletMarginLoss,
)
from skeer.losses._combined import SupConEERLoss
from skeer.losses._eer import EERLoss
from skeer.losses._gather import (
    _gather_active as _gather_active,  # replaceable: see _eer
)

__all__ = [
    "ArcFaceLoss",
    "ContrastiveLoss",
    "EERLoss",
    "MultiSimilarityLoss",
    "Set2SetLoss",
    "SupConEERLoss",
    "SupConLoss",
    "TripletMarginLoss",
]
