"""Building blocks of :mod:`skeer.networks` over padded ``(n, L, C)`` batches."""

import torch
from torch import nn
from torch.nn import functional as F

from skeer._validation import check_real
from skeer.features._keys import N_KEY_CODES, decode_key_codes, sequence_lengths

__all__ = [
    "ChannelAttention",
    "MaskedBatchNorm",
    "MaskedBiGRU",
    "TemporalAttention",
    "check_dropout",
    "check_input",
    "conv1d_same",
    "gather_last",
    "key_codes",
    "masked_mean",
    "reverse_within_length",
    "valid_lengths",
]

#: Score of padded steps before a softmax: finite (no NaN), survives half casts.
MASK_VALUE = -1e4


def check_dropout(name, value):
    """Return ``value`` as a float in [0, 1), or raise ValueError naming ``name``."""
    return check_real(value, name, low=0.0, high=1.0, low_open=False)


def check_input(x, n_features, ndim, cls_name):
    """Check a forward input's rank and feature count (static shape checks)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{cls_name} expects a torch.Tensor, got {type(x).__name__}.")
    if x.ndim != ndim or x.shape[-1] != n_features:
        want = f"(n, max_len, {n_features})" if ndim == 3 else f"(n, {n_features})"
        raise ValueError(
            f"{cls_name} expects input of shape {want}, got {tuple(x.shape)}."
        )
    if x.ndim == 3 and x.shape[1] == 0:
        raise ValueError(f"{cls_name} needs max_len >= 1, got shape {tuple(x.shape)}.")


def valid_lengths(x):
    """``(lengths, mask)`` of a zero-padded batch (each length at least 1)."""
    lengths = sequence_lengths(x).clamp_min(1)
    steps = torch.arange(1, x.shape[1] + 1, device=x.device)
    mask = steps[None, :] <= lengths[:, None]
    return lengths, mask


def gather_last(x, lengths):
    """Row ``lengths[i] - 1`` of each sequence of ``x`` ``(n, L, C)`` -> ``(n, C)``."""
    index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, x.shape[-1])
    return x.gather(1, index).squeeze(1)


def reverse_within_length(x, lengths):
    """Reverse each sequence of ``x`` within its own length (padding stays)."""
    steps = torch.arange(x.shape[1], device=x.device)[None, :]
    last = lengths[:, None] - 1
    index = torch.where(steps <= last, last - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def masked_mean(x, mask):
    """Mean of ``x`` ``(n, L, C)`` over the valid steps of each sequence."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp_min(1)


def key_codes(key):
    """Integer key codes from the key channel, clamped to embedding indices."""
    return decode_key_codes(key).clamp(0, N_KEY_CODES - 1)


class MaskedBatchNorm(nn.Module):
    """Batch normalisation over the valid steps only, in float32; padding gives zero."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x, mask):
        dtype = x.dtype
        x = x.float()
        m = mask.unsqueeze(-1).to(x.dtype)
        if self.training:
            count = m.sum((0, 1))
            mean = (x * m).sum((0, 1)) / count.clamp_min(1)
            var = (((x - mean) * m) ** 2).sum((0, 1)) / count.clamp_min(1)
            with torch.no_grad():
                unbiased = var * count / (count - 1).clamp_min(1)
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(unbiased.detach(), self.momentum)
                self.num_batches_tracked.add_(1)
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
        return (y * m).to(dtype)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class TemporalAttention(nn.Module):
    """Re-weight the valid steps by ``length * softmax(v . tanh(W x_t + b))``."""

    def __init__(self, in_features, units):
        super().__init__()
        self.score = nn.Sequential(
            nn.Linear(in_features, units), nn.Tanh(), nn.Linear(units, 1, bias=False)
        )

    def forward(self, x, mask, lengths):
        scores = self.score(x).squeeze(-1).float().masked_fill(~mask, MASK_VALUE)
        weights = torch.softmax(scores, dim=1) * lengths[:, None].to(scores.dtype)
        return x * weights.unsqueeze(-1).to(x.dtype)


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation gate of each channel over the valid steps."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.excite = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.ReLU(),
            nn.Linear(hidden, channels),
            nn.Sigmoid(),
        )

    def forward(self, x, mask):
        gate = self.excite(masked_mean(x, mask))
        return x * gate.unsqueeze(1).to(x.dtype)


class MaskedBiGRU(nn.Module):
    """Bidirectional GRU reading each sequence reversed within its own length."""

    def __init__(self, input_size, hidden_size, return_sequences=True):
        super().__init__()
        self.return_sequences = return_sequences
        self.forward_gru = nn.GRU(input_size, hidden_size, batch_first=True)
        self.backward_gru = nn.GRU(input_size, hidden_size, batch_first=True)

    def forward(self, x, lengths):
        out_f, _ = self.forward_gru(x)
        out_b, _ = self.backward_gru(reverse_within_length(x, lengths))
        if self.return_sequences:
            return torch.cat([out_f, reverse_within_length(out_b, lengths)], dim=-1)
        return torch.cat([gather_last(out_f, lengths), gather_last(out_b, lengths)], -1)


def conv1d_same(conv, x):
    """``conv`` with zero 'same' padding (without PyTorch's even-kernel warning)."""
    k = conv.kernel_size[0]
    left = (k - 1) // 2
    return conv(F.pad(x, (left, k - 1 - left)))
