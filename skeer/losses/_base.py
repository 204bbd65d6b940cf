"""The call contract of skeer's losses: :class:`_MetricLoss` and its input checks.

Examples
--------
>>> import torch
>>> from skeer.losses._base import _prepare
>>> emb, labels, _, _, encoded = _prepare(
...     torch.zeros(3, 2, dtype=torch.float16), ["ann", "bob", "ann"], None, None)
>>> emb.dtype, labels.tolist(), encoded
(torch.float32, [0, 1, 0], True)
"""

import contextlib
import warnings

import numpy as np
import torch


def _check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}.")


def _host_labels(labels, name):
    """``labels`` as given (a tensor) or as a NumPy array, checked on the host."""
    if labels is None:
        raise ValueError(f"{name} are required.")
    if isinstance(labels, torch.Tensor):
        arr = labels
        nan = (
            labels.is_floating_point()
            and labels.device.type == "cpu"
            and not torch.compiler.is_compiling()
            and torch.isnan(labels).any()
        )
    else:
        arr = np.asarray(labels)
        nan = arr.dtype.kind == "f" and np.isnan(arr).any()
    if nan:
        raise ValueError(f"{name} contain NaN: every embedding needs an identity.")
    if isinstance(arr, np.ndarray) and arr.dtype.kind not in "biufUSO":
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
    parts = np.split(codes, np.cumsum([np.size(a) for a in arrays])[:-1])
    return [part.reshape(np.shape(a)) for part, a in zip(parts, arrays)]


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
    """Validated ``(embeddings, labels, ref_emb, ref_labels, encoded)``."""
    embeddings = _as_embeddings(embeddings, "embeddings")
    labels = _host_labels(labels, "labels")
    if ref_emb is None and ref_labels is not None:
        raise ValueError("ref_labels was given without ref_emb.")
    if ref_emb is not None:
        ref_emb = _as_embeddings(ref_emb, "ref_emb").to(embeddings.dtype)
        if ref_emb.shape[1] != embeddings.shape[1]:
            raise ValueError(
                f"ref_emb must have {embeddings.shape[1]} columns like embeddings, "
                f"got {ref_emb.shape[1]}."
            )
        ref_labels = _host_labels(ref_labels, "ref_labels")
    encoded = _needs_codes(labels) or _needs_codes(ref_labels)
    if encoded and ref_emb is None:
        (labels,) = _encode(labels)
    elif encoded:
        if isinstance(labels, torch.Tensor) or isinstance(ref_labels, torch.Tensor):
            raise ValueError(
                "labels and ref_labels must name identities the same way: one is "
                "a tensor of numbers, the other holds strings or objects."
            )
        labels, ref_labels = _encode(labels, ref_labels)
    device = embeddings.device
    labels = _as_labels(labels, embeddings.shape[0], "labels", device)
    if ref_emb is not None:
        ref_labels = _as_labels(ref_labels, ref_emb.shape[0], "ref_labels", device)
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
    """Refuse NaN or infinite embeddings (``mode``: as EERLoss's ``check_finite``)."""
    if mode is False or emb.numel() == 0:
        return
    if mode == "async" or torch.compiler.is_compiling():
        torch._assert_async(torch.isfinite(emb).all(), _nonfinite_message(name, ""))
        return
    bad = int((~torch.isfinite(emb)).any(dim=1).sum())
    if bad:
        raise ValueError(_nonfinite_message(name, f" in {bad} of {emb.shape[0]} rows"))


def _index_tensor(value, device):
    """One validated 1-D integer index tensor of an ``indices_tuple``."""
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
    """Validated pml triplets or pairs as long tensors (anchors < n, others < m)."""
    if not isinstance(indices_tuple, tuple | list) or len(indices_tuple) not in (3, 4):
        got = type(indices_tuple).__name__
        if hasattr(indices_tuple, "__len__"):
            got += f" of length {len(indices_tuple)}"
        raise ValueError(
            "indices_tuple must be pytorch-metric-learning pairs (a1, p, a2, n) "
            f"or triplets (a, p, n), got {got}."
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


def _autocast_off(device_type):
    """Context manager that disables autocast on ``device_type``."""
    if torch.amp.is_autocast_available(device_type):
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()


class _MetricLoss(torch.nn.Module):
    """Base of skeer's losses: validates inputs, calls :meth:`compute_loss`."""

    #: Whether the loss is defined on the identity sets of one batch only
    #: (then ``indices_tuple`` and ``ref_emb`` must be None).
    _one_batch_only = False

    #: Refuse NaN/inf embeddings: True, False or "async" (see EERLoss).
    check_finite = True

    def __init__(self, **params):
        super().__init__()
        self._warned_empty = False
        self._labels_encoded = False
        for name, value in params.items():  # the parameters, in signature order
            setattr(self, name, value)

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if not name.startswith("_") and not name.endswith("_") and name != "training":
            self.__dict__["_settings_cache"] = None  # a parameter changed

    def _settings(self):
        """``_params()``, validated again only after a parameter changed."""
        cached = self.__dict__.get("_settings_cache")
        if cached is None:
            cached = self.__dict__["_settings_cache"] = self._params()
        return cached

    def forward(
        self, embeddings, labels, indices_tuple=None, ref_emb=None, ref_labels=None
    ):
        """Loss of a batch.

        Parameters
        ----------
        embeddings : Tensor of shape (n_samples, n_dims)
            Query embeddings (float16/bfloat16 are computed in float32).
        labels : Tensor of shape (n_samples,)
            Identity of each embedding (numbers or strings).
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
            On malformed inputs, NaN or infinite embeddings, invalid parameters.
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
