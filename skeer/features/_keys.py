"""The key channel and sequence length of padded features, shared with the networks.

Torch-free duck typing: a tensor's result stays on its device (no host sync). A real
key's channel is never 0, so a padding row can be all zero.
"""

import numpy as np

__all__ = ["N_KEY_CODES", "decode_key_codes", "encode_key_codes", "sequence_lengths"]

#: Number of distinct key codes the key channel holds (codes 0 .. 255).
N_KEY_CODES = 256


def _is_tensor(x):
    """True for a torch tensor (duck typing: no torch import)."""
    return type(x).__module__.split(".", 1)[0] == "torch" and hasattr(x, "detach")


def encode_key_codes(codes):
    """Key codes -> float64 key channel ``(clip(round(code), 0, 255) + 1) / 256``."""
    codes = np.asarray(codes, dtype=np.float64)
    return (np.clip(np.rint(codes), 0, N_KEY_CODES - 1) + 1) / N_KEY_CODES


def decode_key_codes(key):
    """Key channel -> int64 key codes ``round(key * 256) - 1`` (-1: padding)."""
    if _is_tensor(key):
        return (key.float() * N_KEY_CODES).round().long() - 1
    key = np.asarray(key, dtype=np.float64)
    return np.rint(key * N_KEY_CODES).astype(np.int64) - 1


def sequence_lengths(x):
    """One past the last non-zero row of each sequence of ``x`` ``(..., L, C)``, int64.

    Measure by one channel with ``x[..., [c]]``."""
    if not _is_tensor(x):
        x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(
            f"x must have at least 2 dimensions (..., L, C), got shape "
            f"{tuple(x.shape)}."
        )
    nonzero = (x != 0).any(-1)  # (..., L)
    if nonzero.shape[-1] == 0:
        lengths = nonzero.sum(-1)
    else:
        # rows before the last non-zero one count below the total, plus that row
        # (an integer cumsum: ONNX runtimes refuse CumSum on booleans)
        count = (nonzero.long() if _is_tensor(nonzero) else nonzero).cumsum(-1)
        total = count[..., -1:]
        lengths = (count < total).sum(-1) + (total[..., 0] > 0)
    return lengths if _is_tensor(lengths) else np.asarray(lengths, dtype=np.int64)
