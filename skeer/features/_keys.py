"""The key channel and the sequence length of padded keystroke features, once.

Private, and torch-free: :mod:`skeer.features` writes the key channel with
:func:`encode_key_codes`; :mod:`skeer.features`, :mod:`skeer.networks` and
:mod:`skeer.networks` read it back with :func:`decode_key_codes` and measure
padded sequences with :func:`sequence_lengths`. The readers take numpy arrays
and torch tensors alike (a tensor is recognised by duck typing, so torch is
never imported here) and a tensor's result stays on its device, without host
synchronisation.

- Encoding: a key code ``c`` (rounded, clipped to ``[0, N_KEY_CODES - 1]``)
  becomes ``(c + 1) / N_KEY_CODES`` in ``(0, 1]``, so a real key is never 0
  and a padding row can be all zero.
- Decoding: ``round(key * N_KEY_CODES) - 1``; padding (0) decodes to -1.
- Length: one past the last row of a sequence that is not all zero; padding
  rows (all zero) only ever come at the end.
"""

import numpy as np

__all__ = ["N_KEY_CODES", "decode_key_codes", "encode_key_codes", "sequence_lengths"]

#: Number of distinct key codes the key channel holds (codes 0 .. 255).
N_KEY_CODES = 256


def _is_tensor(x):
    """True for a torch tensor (duck typing: no torch import)."""
    return type(x).__module__.split(".", 1)[0] == "torch" and hasattr(x, "detach")


def encode_key_codes(codes):
    """Key codes -> key channel ``(clip(round(code), 0, 255) + 1) / 256``.

    Parameters
    ----------
    codes : array-like
        Key codes (any shape, any real dtype).

    Returns
    -------
    key : ndarray of float64, same shape
        Values in ``(0, 1]``.

    Examples
    --------
    >>> from skeer.features._keys import encode_key_codes
    >>> encode_key_codes([72, 255, -3]).tolist()
    [0.28515625, 1.0, 0.00390625]
    """
    codes = np.asarray(codes, dtype=np.float64)
    return (np.clip(np.rint(codes), 0, N_KEY_CODES - 1) + 1) / N_KEY_CODES


def decode_key_codes(key):
    """Key channel -> integer key codes ``round(key * 256) - 1``.

    Parameters
    ----------
    key : array-like or torch.Tensor
        Values of the key channel (any shape).

    Returns
    -------
    codes : ndarray of int64, or LongTensor on ``key``'s device
        The key code of each real key; -1 where ``key`` is 0 (padding).

    Examples
    --------
    >>> from skeer.features._keys import decode_key_codes, encode_key_codes
    >>> decode_key_codes(encode_key_codes([72, 0, 255])).tolist()
    [72, 0, 255]
    >>> decode_key_codes([0.0]).tolist()
    [-1]
    """
    if _is_tensor(key):
        return (key.float() * N_KEY_CODES).round().long() - 1
    key = np.asarray(key, dtype=np.float64)
    return np.rint(key * N_KEY_CODES).astype(np.int64) - 1


def sequence_lengths(x):
    """True length of each zero-padded sequence of ``x`` ``(..., L, C)``.

    The length is one past the last row that is not all zero, so an all-zero
    row inside a sequence does not shorten it; an all-padding sequence has
    length 0. To measure by one channel (e.g. the key channel), pass
    ``x[..., [channel]]``.

    Parameters
    ----------
    x : array-like or torch.Tensor of shape (..., L, C)
        Padded sequences, rows along the second-to-last axis.

    Returns
    -------
    lengths : ndarray of int64 of shape (...), or LongTensor on ``x``'s device

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.features._keys import sequence_lengths
    >>> x = np.zeros((3, 4, 2))
    >>> x[0, :3] = 1
    >>> x[1, [0, 2]] = 1  # an all-zero row inside the sequence
    >>> sequence_lengths(x).tolist()
    [3, 3, 0]
    """
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
        # Rows before the last non-zero row have a running count below the
        # total; add that row itself when there is one. Same ops on numpy and
        # torch, all on the input's device.
        # (an integer cumsum: ONNX runtimes refuse CumSum on booleans)
        count = (nonzero.long() if _is_tensor(nonzero) else nonzero).cumsum(-1)
        total = count[..., -1:]
        lengths = (count < total).sum(-1) + (total[..., 0] > 0)
    return lengths if _is_tensor(lengths) else np.asarray(lengths, dtype=np.int64)
