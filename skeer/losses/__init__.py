"""Metric-learning losses: EERLoss and the baselines it is compared with.

Every loss is a :class:`torch.nn.Module` called with pytorch-metric-learning's
convention, ``loss(embeddings, labels, indices_tuple=None, ref_emb=None,
ref_labels=None)``, and returns a scalar tensor. Labels decide which pairs are
genuine (same label) and which are impostor: batches may hold any number of
samples per identity, in any order.

Examples
--------
>>> import torch
>>> from skeer.losses import EERLoss
>>> emb = torch.tensor([[0.0, 1.0], [0.1, 1.0], [1.0, 0.0], [1.0, 0.1]])
>>> EERLoss()(emb, ["ann", "ann", "bob", "bob"]).shape
torch.Size([])
"""

# Layout: _base (the call contract: forward, input checks, autocast rule),
# _eer (EERLoss), _gather (all-gathering a batch across processes),
# _baselines (TripletMarginLoss, ContrastiveLoss, Set2SetLoss).
import inspect

from ._baselines import ContrastiveLoss, Set2SetLoss, TripletMarginLoss
from ._eer import EERLoss
from ._gather import _gather_active as _gather_active  # replaceable: see _eer

__all__ = ["ContrastiveLoss", "EERLoss", "Set2SetLoss", "TripletMarginLoss"]

# The public classes belong to this module whatever file defines them: pickles,
# the registry's saved names (``skeer.losses.EERLoss``) and the docs'
# cross-references name them ``skeer.losses.<class>``.
_public = (ContrastiveLoss, EERLoss, Set2SetLoss, TripletMarginLoss)
for _cls in _public:
    _cls.__module__ = __name__

# doctest finds a class's docstring through ``__module__`` (here) but its
# methods' only in the module that defines them: list those explicitly.
__test__ = {
    f"{_cls.__name__}.{_name}": _obj
    for _cls in _public
    for _name, _obj in vars(_cls).items()
    if inspect.isfunction(_obj) and ">>>" in (_obj.__doc__ or "")
}
del _cls, _public, inspect
