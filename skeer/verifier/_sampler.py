"""Identity-balanced mini-batches: P identities × K samples each."""

import math
import warnings

import numpy as np
from torch.utils.data import Sampler

from skeer._validation import check_positive_int, is_integer

__all__ = ["SubjectBatchSampler"]


class SubjectBatchSampler(Sampler):
    """Batch sampler drawing ``n_subjects`` identities × ``n_samples`` each.

    Every batch holds genuine and impostor pairs. Identities are drawn
    without replacement within a batch; an identity's samples without
    replacement when it has at least K of them, with replacement otherwise.
    Identities with a single sample are skipped, with one warning counting
    them. Use it as ``DataLoader(dataset, batch_sampler=...)``.

    Sharded (``world_size > 1``): each batch draws ``P·world_size`` identities
    and process ``rank`` takes its slice of P (:ref:`gpu`).

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Identity of each sample of the dataset.
    n_subjects : int, default=40
        Identities per batch (P) per process, at least 2 (1 when sharded),
        capped at the usable identities divided by ``world_size``.
    n_samples : int, default=8
        Samples per identity in a batch (K), at least 2.
    n_batches : int or None, default=None
        Batches per epoch; ``None``: ``ceil(n_usable_samples /
        (P·K·world_size))``.
    random_state : int, numpy Generator or None, default=None
        Seed of the draw (successive epochs differ); an integer when sharded.
    reseed_each_epoch : bool, default=False
        Restart every epoch from ``random_state`` (the same batches).
    rank : int, default=0
        This process's index among the ``world_size`` processes.
    world_size : int, default=1
        Number of processes sharing the draw; 1 = not sharded.

    Attributes
    ----------
    n_skipped_ : int
        Number of identities skipped because they have a single sample.

    Examples
    --------
    >>> from skeer.verifier._sampler import SubjectBatchSampler
    >>> labels = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    >>> sampler = SubjectBatchSampler(
    ...     labels, n_subjects=2, n_samples=2, n_batches=3, random_state=0
    ... )
    >>> batches = list(sampler)
    >>> len(batches), [len(b) for b in batches]
    (3, [4, 4, 4])
    """

    def __init__(
        self,
        labels,
        n_subjects=40,
        n_samples=8,
        *,
        n_batches=None,
        random_state=None,
        reseed_each_epoch=False,
        rank=0,
        world_size=1,
    ):
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.size == 0:
            raise ValueError(
                f"labels must be a non-empty 1-D array, got shape {labels.shape}."
            )
        world_size = check_positive_int(world_size, "world_size")
        if not is_integer(rank) or not 0 <= rank < world_size:
            raise ValueError(
                f"rank must be an integer in [0, world_size={world_size}), got "
                f"{rank!r}."
            )
        if world_size > 1 and not is_integer(random_state):
            raise ValueError(
                "random_state must be an integer, the same on every process, when "
                f"world_size > 1 (the processes share one draw), got {random_state!r}."
            )
        min_identities = 2 if world_size == 1 else 1
        if not is_integer(n_subjects) or n_subjects < min_identities:
            raise ValueError(
                f"n_subjects must be an integer >= {min_identities}, got "
                f"{n_subjects!r}."
            )
        if not is_integer(n_samples) or n_samples < 2:
            raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}.")
        n_batches = check_positive_int(n_batches, "n_batches", allow_none=True)
        _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        order = np.argsort(inverse, kind="stable")
        groups = np.split(order, np.cumsum(counts)[:-1])
        self.groups_ = [g for g in groups if len(g) >= 2]
        self.n_skipped_ = len(groups) - len(self.groups_)
        if self.n_skipped_:
            warnings.warn(
                f"{self.n_skipped_} identities have a single sample and cannot "
                "form a genuine pair; they are not drawn into training batches.",
                UserWarning,
                stacklevel=2,
            )
        if len(self.groups_) < max(2, world_size):
            need = 2 if len(self.groups_) < 2 else f"world_size={world_size}"
            raise ValueError(
                f"labels must contain at least {need} identities with 2 or more "
                f"samples each, got {len(self.groups_)}."
            )
        self.rank = int(rank)
        self.world_size = world_size
        self.n_subjects = int(min(n_subjects, len(self.groups_) // world_size))
        self.n_samples = int(n_samples)
        n_usable = sum(len(g) for g in self.groups_)
        batch = self.n_subjects * self.n_samples * self.world_size
        self.n_batches = (
            n_batches if n_batches is not None else math.ceil(n_usable / batch)
        )
        self.random_state = random_state
        self.reseed_each_epoch = reseed_each_epoch
        self._rng = np.random.default_rng(random_state)

    def __len__(self):
        return self.n_batches

    def __iter__(self):
        rng = (
            np.random.default_rng(self.random_state)
            if self.reseed_each_epoch
            else self._rng
        )
        groups, k, p = self.groups_, self.n_samples, self.n_subjects
        # every process draws the whole global batch (same generator, same
        # stream) and keeps its slice of identities
        mine = slice(self.rank * p, (self.rank + 1) * p)
        for _ in range(self.n_batches):
            chosen = rng.choice(len(groups), size=p * self.world_size, replace=False)
            batch = [
                rng.choice(groups[g], size=k, replace=len(groups[g]) < k)
                for g in chosen
            ]
            yield np.concatenate(batch[mine]).tolist()
