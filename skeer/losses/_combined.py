"""SupConEERLoss: the SupCon proxy plus EERLoss on the same batch."""

import torch
import torch.nn.functional as F

from skeer._validation import check_positive_int, check_real
from skeer.losses._base import _MetricLoss
from skeer.losses._baselines import SupConLoss
from skeer.losses._eer import EERLoss

__all__ = ["SupConEERLoss"]


def _templates_and_probes(embeddings, labels, n_enroll):
    """``(probes, probe_labels, templates, template_labels)`` of the batch."""
    subjects, inverse, counts = torch.unique(
        labels, return_inverse=True, return_counts=True
    )
    shuffled = torch.randperm(len(labels), device=embeddings.device)
    order = shuffled[torch.argsort(inverse[shuffled], stable=True)]
    owner = inverse[order]
    rank = (
        torch.arange(len(labels), device=labels.device)
        - (torch.cumsum(counts, 0) - counts)[owner]
    )
    n_enrol = torch.clamp(counts - 1, max=n_enroll)  # per subject
    grid = embeddings.new_zeros(len(subjects), int(counts.max()), embeddings.shape[1])
    ordered = embeddings[order]
    grid[owner, rank] = ordered
    enrolled = n_enrol > 0
    if bool((n_enrol == n_enroll).all()):  # the usual batch: K > n_enroll each
        # (a plain mean: bit for bit the runs the default was chosen on)
        templates = grid[:, :n_enroll].mean(1)
    else:
        rows = torch.arange(grid.shape[1], device=labels.device)
        weight = (rows[None, :] < n_enrol[:, None]).to(grid.dtype)
        templates = (grid * weight[..., None]).sum(1) / n_enrol.clamp(min=1)[:, None]
    probe = rank >= n_enrol[owner]
    return (
        ordered[probe],
        labels[order][probe],
        F.normalize(templates[enrolled], dim=1),
        subjects[enrolled],
    )


class SupConEERLoss(_MetricLoss):
    """Supervised contrastive loss plus ``eer_weight`` × the smooth EER.

    :class:`~skeer.KeystrokeVerifier`'s default criterion for sequences. With
    ``n_enroll`` the EERLoss term judges the batch as the open-set protocol
    does: each subject's samples are shuffled, the first ``min(n_enroll, n -
    1)`` enrol a template (their renormalised mean) and the others probe
    every template; without it, every pair of samples is compared.

    Parameters
    ----------
    operating_point : "eer" or float in (0, 1), default="eer"
        EERLoss's operating point (a verifier passes its own).
    eer_weight : float >= 0, default=0.3
        Weight of the EERLoss term (0: SupCon alone; :ref:`benchmark_results`).
    temperature : float > 0, default=0.1
        SupCon's temperature.
    sharpness : float > 0 or None, default=None
        EERLoss's ``sharpness`` (None: its default).
    n_enroll : int >= 1 or None, default=5
        Samples per template in the EERLoss term (a verifier passes its own);
        None compares samples pairwise (:ref:`benchmark_results`).
    check_finite : bool or "async", default=True
        As in :class:`~skeer.losses.EERLoss`.

    Attributes
    ----------
    threshold_ : Tensor (0-d) or None
        The EERLoss term's threshold at the last call.

    See Also
    --------
    EERLoss, SupConLoss : The two terms.

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("pytorch_metric_learning")
    >>> import torch
    >>> from skeer.losses import EERLoss, SupConEERLoss, SupConLoss
    >>> g = torch.Generator().manual_seed(0)
    >>> labels = torch.arange(4).repeat_interleave(5)
    >>> emb = torch.nn.functional.normalize(torch.randn(20, 8, generator=g), dim=1)
    >>> pairs = SupConEERLoss(eer_weight=0.5, n_enroll=None)(emb, labels)
    >>> parts = SupConLoss()(emb, labels) + 0.5 * EERLoss()(emb, labels)
    >>> bool(torch.isclose(pairs, parts))
    True
    >>> _ = torch.manual_seed(0)  # templates: each subject's 4 of 5 samples, drawn
    >>> SupConEERLoss()(emb, labels).shape
    torch.Size([])
    """

    _one_batch_only = True

    def __init__(
        self,
        operating_point="eer",
        *,
        eer_weight=0.3,
        temperature=0.1,
        sharpness=None,
        n_enroll=5,
        check_finite=True,
    ):
        super().__init__()
        self.operating_point = operating_point
        self.eer_weight = eer_weight
        self.temperature = temperature
        self.sharpness = sharpness
        self.n_enroll = n_enroll
        self.check_finite = check_finite
        self._supcon = SupConLoss(temperature)  # ImportError without the extra
        self._eer = EERLoss(operating_point)
        self._settings()  # validates

    @property
    def threshold_(self):
        return self._eer.threshold_

    def extra_repr(self):
        return (
            f"operating_point={self.operating_point!r}, "
            f"eer_weight={self.eer_weight}, temperature={self.temperature}, "
            f"sharpness={self.sharpness}, n_enroll={self.n_enroll}, "
            f"check_finite={self.check_finite!r}"
        )

    def _params(self):
        self._supcon.temperature = self.temperature
        self._eer.operating_point = self.operating_point
        self._eer.sharpness = self.sharpness
        self._eer.check_finite = self.check_finite
        self._supcon._settings()
        self._eer._settings()
        weight = check_real(self.eer_weight, "eer_weight", low=0.0, low_open=False)
        return weight, check_positive_int(self.n_enroll, "n_enroll", allow_none=True)

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        """SupCon plus the weighted smooth EER of the batch."""
        weight, n_enroll = self._settings()
        # string labels are encoded per process: the EERLoss term refuses them
        self._eer._labels_encoded = self._labels_encoded
        loss = self._supcon.compute_loss(embeddings, labels, None, None, None)
        if not weight:
            return loss
        if n_enroll is None:
            eer = self._eer.compute_loss(embeddings, labels, None, None, None)
        else:
            probes, probe_labels, templates, subjects = _templates_and_probes(
                embeddings, labels, n_enroll
            )
            eer = self._eer.compute_loss(
                probes, probe_labels, None, templates, subjects
            )
        return loss + weight * eer
