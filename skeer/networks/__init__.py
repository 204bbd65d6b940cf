"""Embedding networks for keystroke dynamics (``torch.nn.Module``).

- ``_networks``: :class:`TypeNet`, :class:`Type2Branch`, :class:`MLPEmbedder`;
- ``_layers``: the masked layers they are built of.

Examples
--------
>>> import torch
>>> from skeer.networks import TypeNet
>>> TypeNet(n_features=5)(torch.zeros(2, 50, 5)).shape
torch.Size([2, 128])
"""

from skeer.networks._networks import MLPEmbedder, Type2Branch, TypeNet

__all__ = ["MLPEmbedder", "Type2Branch", "TypeNet"]
