"""Embedding networks for keystroke dynamics (``torch.nn.Module``).

Inputs: zero-padded ``(n, max_len, n_features)`` sessions (key channel last) or
``(n, n_features)`` vectors; outputs raw embeddings. Padding is masked, and no
forward pass synchronises with the host.
"""

import functools

import torch
from torch import nn

from skeer._validation import check_positive_int, is_integer
from skeer.features._keys import N_KEY_CODES
from skeer.networks._layers import (
    MASK_VALUE,
    ChannelAttention,
    MaskedBatchNorm,
    MaskedBiGRU,
    TemporalAttention,
    check_dropout,
    check_input,
    conv1d_same,
    gather_last,
    key_codes,
    masked_mean,
    valid_lengths,
)

__all__ = ["MLPEmbedder", "Type2Branch", "TypeNet"]


if tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 4):
    _cpu_autocast = functools.partial(torch.is_autocast_enabled, "cpu")
else:  # pragma: no cover - torch < 2.4
    _cpu_autocast = torch.is_autocast_cpu_enabled


def _run_lstm(lstm, x):
    """``lstm(x)``'s output, in float32 under CPU autocast (no oneDNN bf16 LSTM)."""
    if x.device.type == "cpu" and _cpu_autocast():
        with torch.autocast("cpu", enabled=False):
            return lstm(x.float())[0]
    return lstm(x)[0]


class _SequenceEmbedder(nn.Module):
    """A network over zero-padded sessions, ``_embed(x, lengths, mask)``."""

    def forward(self, x):
        """Embed a padded batch.

        Parameters
        ----------
        x : Tensor of shape (n, max_len, n_features)
            Zero-padded sessions.

        Returns
        -------
        Tensor of shape (n, embedding_dim)
            Raw (unnormalised) embeddings.
        """
        check_input(x, self.n_features, 3, type(self).__name__)
        return self._embed(x, *valid_lengths(x))


class TypeNet(_SequenceEmbedder):
    """TypeNet: stacked LSTMs read to each session's last key (Acien et al. 2022).

    Two LSTM layers (by default) with batch normalisation and dropout between
    them; the embedding is the last layer's output at each session's last
    real key.

    Parameters
    ----------
    n_features : int, default=5
        Channels per key (5 for :class:`~skeer.features.KeystrokeFeatures`).
    hidden_size : int, default=128
        Units of every LSTM layer but the last.
    embedding_dim : int, default=128
        Units of the last LSTM layer, i.e. the embedding size.
    num_layers : int, default=2
        Number of stacked LSTM layers.
    dropout : float, default=0.5
        Dropout rate between LSTM layers, in [0, 1).

    Notes
    -----
    The LSTMs run over the padded batch (no ``pack_padded_sequence``: its
    lengths live on the CPU); the batch normalisation uses real keys only.
    The key channel is used as a plain number, as in the paper.

    References
    ----------
    A. Acien, A. Morales, J. V. Monaco, R. Vera-Rodriguez, J. Fierrez,
    "TypeNet: Deep Learning Keystroke Biometrics", IEEE Transactions on
    Biometrics, Behavior, and Identity Science 4(1), 2022.

    Examples
    --------
    >>> import torch
    >>> from skeer.networks._networks import TypeNet
    >>> _ = torch.manual_seed(0)
    >>> net = TypeNet(5, hidden_size=16, embedding_dim=8).eval()
    >>> x = torch.rand(4, 10, 5)
    >>> x[0, 6:] = 0  # the first session has 6 keys, then padding
    >>> padded = torch.cat([x, torch.zeros(4, 7, 5)], dim=1)
    >>> net(x).shape, torch.allclose(net(x), net(padded), atol=1e-6)
    (torch.Size([4, 8]), True)
    """

    def __init__(
        self,
        n_features=5,
        *,
        hidden_size=128,
        embedding_dim=128,
        num_layers=2,
        dropout=0.5,
    ):
        super().__init__()
        self.n_features = check_positive_int(n_features, "n_features")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.dropout = check_dropout("dropout", dropout)

        sizes = [self.hidden_size] * (self.num_layers - 1) + [self.embedding_dim]
        inputs = [self.n_features, *sizes[:-1]]
        self.lstms = nn.ModuleList(
            nn.LSTM(i, o, batch_first=True) for i, o in zip(inputs, sizes)
        )
        self.norms = nn.ModuleList(MaskedBatchNorm(s) for s in sizes[:-1])
        self.drop = nn.Dropout(self.dropout)

    def _embed(self, x, lengths, mask):
        h = _run_lstm(self.lstms[0], x)
        for norm, lstm in zip(self.norms, self.lstms[1:]):
            h = _run_lstm(lstm, self.drop(norm(h, mask)))
        return gather_last(h, lengths)


class Type2Branch(_SequenceEmbedder):
    """Type2Branch: recurrent and convolutional branches with attention.

    The KVC-onGoing winner (González et al., IEEE TIFS 2025): a recurrent and a
    convolutional branch each summarise the session; a dense head maps their
    concatenation to the embedding.

    Parameters
    ----------
    n_features : int, default=5
        Channels per key, including the key channel.
    width : int, default=128
        W: units per GRU direction, of the attention scorers and of the dense
        head (the paper: 512, its ablation model 256).
    filters : int, default=64
        F: the convolutional blocks have F, 2F and 4F filters (the paper: 1024,
        its ablation model 128).
    embedding_dim : int, default=256
        Size of the output embedding.
    dropout : float, default=0.5
        Dropout rate, in [0, 1), used after every normalisation and pooling.
    key_channel : int or None, default=-1
        Index of the key channel ``(code + 1) / 256``, whose code is embedded;
        None treats every channel as a timing feature.
    key_embedding_dim : int, default=8
        Size of the key-code embedding (256 codes).
    kernel_size : int, default=6
        Kernel size of the convolutions.
    n_heads : int, default=4
        Heads of the self-attention; must divide ``2 * width``.

    Notes
    -----
    Architecture (all masked to real keys): key embedding joined to the other
    channels -> masked batch norm; recurrent branch: temporal attention ->
    bidirectional GRU -> batch norm -> dropout -> self-attention ->
    bidirectional GRU (final states) -> batch norm -> dropout; convolutional
    branch: temporal attention -> 3 x [Conv1D ('same' zero padding) -> ReLU ->
    batch norm -> dropout -> channel attention] -> masked mean -> dropout;
    head: concatenation -> dense (W, ReLU) -> batch norm -> dropout -> dense.

    Defaults are CPU-sized (W : F = 2 : 1, as the ablation model; a step costs
    about 5 :class:`TypeNet` steps, :ref:`benchmarks`).

    References
    ----------
    N. González, G. Stragapede, R. Vera-Rodriguez, R. Tolosana, "Type2Branch:
    Keystroke Biometrics based on a Dual-branch Architecture with Attention
    Mechanisms and Set2set Loss", IEEE Transactions on Information Forensics
    and Security, 2025 (arXiv:2405.01088).

    Examples
    --------
    >>> import torch
    >>> from skeer.networks._networks import Type2Branch
    >>> _ = torch.manual_seed(0)
    >>> net = Type2Branch(5, width=8, filters=4, embedding_dim=16).eval()
    >>> x = torch.rand(3, 12, 5)
    >>> x[1, 9:] = 0  # the second session has 9 keys, then padding
    >>> padded = torch.cat([x, torch.zeros(3, 5, 5)], dim=1)
    >>> net(x).shape, torch.allclose(net(x), net(padded), atol=1e-6)
    (torch.Size([3, 16]), True)
    """

    def __init__(
        self,
        n_features=5,
        *,
        width=128,
        filters=64,
        embedding_dim=256,
        dropout=0.5,
        key_channel=-1,
        key_embedding_dim=8,
        kernel_size=6,
        n_heads=4,
    ):
        super().__init__()
        self.n_features = check_positive_int(n_features, "n_features")
        self.width = check_positive_int(width, "width")
        self.filters = check_positive_int(filters, "filters")
        self.embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
        self.dropout = check_dropout("dropout", dropout)
        self.key_embedding_dim = check_positive_int(
            key_embedding_dim, "key_embedding_dim"
        )
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        self.n_heads = check_positive_int(n_heads, "n_heads")
        if (2 * self.width) % self.n_heads:
            raise ValueError(
                f"n_heads must divide 2 * width = {2 * self.width}, got {n_heads!r}."
            )
        if key_channel is None:
            self.key_channel = None
            in_features = self.n_features
        else:
            if not is_integer(key_channel) or not (
                -self.n_features <= key_channel < self.n_features
            ):
                raise ValueError(
                    "key_channel must be None or an int in "
                    f"[-{self.n_features}, {self.n_features}), got {key_channel!r}."
                )
            self.key_channel = int(key_channel)
            self.key_embedding = nn.Embedding(N_KEY_CODES, self.key_embedding_dim)
            in_features = self.n_features - 1 + self.key_embedding_dim

        W, Fi = self.width, self.filters
        self.input_norm = MaskedBatchNorm(in_features)
        self.drop = nn.Dropout(self.dropout)

        self.rec_attention = TemporalAttention(in_features, W)
        self.gru1 = MaskedBiGRU(in_features, W, return_sequences=True)
        self.rec_norm1 = MaskedBatchNorm(2 * W)
        self.self_attention = nn.MultiheadAttention(
            2 * W, self.n_heads, batch_first=True
        )
        self.gru2 = MaskedBiGRU(2 * W, W, return_sequences=False)
        self.rec_norm2 = nn.BatchNorm1d(2 * W)

        self.conv_attention = TemporalAttention(in_features, W)
        channels = [in_features, Fi, 2 * Fi, 4 * Fi]
        self.convs = nn.ModuleList(
            nn.Conv1d(i, o, self.kernel_size) for i, o in zip(channels, channels[1:])
        )
        self.conv_norms = nn.ModuleList(MaskedBatchNorm(c) for c in channels[1:])
        self.channel_attentions = nn.ModuleList(
            ChannelAttention(c) for c in channels[1:]
        )

        self.dense = nn.Linear(2 * W + 4 * Fi, W)
        self.dense_norm = nn.BatchNorm1d(W)
        self.embedding = nn.Linear(W, self.embedding_dim)

    def _embed(self, x, lengths, mask):
        if self.key_channel is None:
            h = x
        else:
            k = self.key_channel % self.n_features
            keys = self.key_embedding(key_codes(x[..., k]))
            h = torch.cat([keys.to(x.dtype), x[..., :k], x[..., k + 1 :]], dim=-1)
        h = self.input_norm(h, mask)
        valid = mask.unsqueeze(-1)

        r = self.gru1(self.rec_attention(h, mask, lengths), lengths)
        r = self.drop(self.rec_norm1(r, mask))
        pad_scores = torch.zeros(mask.shape, dtype=r.dtype, device=r.device)
        pad_scores = pad_scores.masked_fill(~mask, MASK_VALUE)
        r, _ = self.self_attention(
            r, r, r, key_padding_mask=pad_scores, need_weights=False
        )
        r = self.gru2(r * valid, lengths)
        r = self.drop(self.rec_norm2(r))

        c = self.conv_attention(h, mask, lengths)
        for conv, norm, attention in zip(
            self.convs, self.conv_norms, self.channel_attentions
        ):
            c = torch.relu(conv1d_same(conv, c.transpose(1, 2)).transpose(1, 2))
            c = self.drop(norm(c, mask))
            c = attention(c, mask) * valid
        c = self.drop(masked_mean(c, mask))

        z = torch.relu(self.dense(torch.cat([r, c.to(r.dtype)], dim=-1)))
        z = self.drop(self.dense_norm(z))
        return self.embedding(z)


class MLPEmbedder(nn.Module):
    """Multilayer perceptron embedding fixed-text timing vectors.

    ``Linear -> BatchNorm -> ReLU -> Dropout`` blocks, then a linear
    embedding.

    Parameters
    ----------
    n_features : int
        Length of the input vectors (set from the data by the estimator).
    hidden_sizes : int or sequence of int, default=(256, 256)
        Units of the hidden blocks; an int means one block, an empty sequence
        a linear embedding.
    embedding_dim : int, default=128
        Size of the output embedding.
    dropout : float, default=0.1
        Dropout rate after each hidden block, in [0, 1).

    Examples
    --------
    >>> import torch
    >>> from skeer.networks._networks import MLPEmbedder
    >>> _ = torch.manual_seed(0)
    >>> net = MLPEmbedder(31, hidden_sizes=(16,), embedding_dim=8).eval()
    >>> net(torch.rand(5, 31)).shape
    torch.Size([5, 8])
    """

    def __init__(
        self, n_features, *, hidden_sizes=(256, 256), embedding_dim=128, dropout=0.1
    ):
        super().__init__()
        self.n_features = check_positive_int(n_features, "n_features")
        if isinstance(hidden_sizes, int) and not isinstance(hidden_sizes, bool):
            hidden_sizes = (hidden_sizes,)
        try:
            self.hidden_sizes = tuple(
                check_positive_int(h, "hidden_sizes") for h in hidden_sizes
            )
        except (TypeError, ValueError):
            raise ValueError(
                "hidden_sizes must be a positive int or a sequence of positive "
                f"ints, got {hidden_sizes!r}."
            ) from None
        self.embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
        self.dropout = check_dropout("dropout", dropout)

        layers = []
        size = self.n_features
        for hidden in self.hidden_sizes:
            layers += [  # no bias: the batch norm after it would cancel it
                nn.Linear(size, hidden, bias=False),
                nn.BatchNorm1d(hidden),
                nn.ReLU(),
                nn.Dropout(self.dropout),
            ]
            size = hidden
        layers.append(nn.Linear(size, self.embedding_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        """Embed a batch of vectors.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
            Fixed-text timing vectors.

        Returns
        -------
        Tensor of shape (n, embedding_dim)
            Raw (unnormalised) embeddings.
        """
        check_input(x, self.n_features, 2, type(self).__name__)
        return self.layers(x)
