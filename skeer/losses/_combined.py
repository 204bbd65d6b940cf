"""SupConEERLoss: the SupCon proxy plus EERLoss on the same batch."""

from skeer._validation import check_real
from skeer.losses._base import _MetricLoss
from skeer.losses._baselines import SupConLoss
from skeer.losses._eer import EERLoss

__all__ = ["SupConEERLoss"]


class SupConEERLoss(_MetricLoss):
    """Supervised contrastive loss plus ``eer_weight`` × the smooth EER.

    :class:`~skeer.KeystrokeVerifier`'s default criterion for sequences.

    ``SupConLoss(temperature)(emb, labels) + eer_weight *
    EERLoss(operating_point, sharpness=sharpness)(emb, labels)`` on the same
    batch (the SupCon term wraps pytorch-metric-learning).

    Parameters
    ----------
    operating_point : "eer" or float in (0, 1), default="eer"
        EERLoss's operating point (a verifier passes its own).
    eer_weight : float >= 0, default=0.3
        Weight of the EERLoss term; 0 is SupCon alone. 0.3 did better than 1
        on held-out Aalto users (:ref:`benchmark_results`).
    temperature : float > 0, default=0.1
        SupCon's temperature.
    sharpness : float > 0 or None, default=None
        EERLoss's ``sharpness`` (None: its default).
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
    >>> both = SupConEERLoss(eer_weight=0.5)(emb, labels)
    >>> parts = SupConLoss()(emb, labels) + 0.5 * EERLoss()(emb, labels)
    >>> bool(torch.isclose(both, parts))
    True
    """

    _one_batch_only = True

    def __init__(
        self,
        operating_point="eer",
        *,
        eer_weight=0.3,
        temperature=0.1,
        sharpness=None,
        check_finite=True,
    ):
        super().__init__()
        self.operating_point = operating_point
        self.eer_weight = eer_weight
        self.temperature = temperature
        self.sharpness = sharpness
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
            f"sharpness={self.sharpness}, check_finite={self.check_finite!r}"
        )

    def _params(self):
        self._supcon.temperature = self.temperature
        self._eer.operating_point = self.operating_point
        self._eer.sharpness = self.sharpness
        self._eer.check_finite = self.check_finite
        # the terms validate their own parameters
        self._supcon._settings()
        self._eer._settings()
        return (check_real(self.eer_weight, "eer_weight", low=0.0, low_open=False),)

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        """SupCon plus the weighted smooth EER of the batch."""
        (weight,) = self._settings()
        loss = self._supcon.compute_loss(embeddings, labels, None, None, None)
        if weight:
            eer = self._eer.compute_loss(embeddings, labels, None, None, None)
            loss = loss + weight * eer
        return loss
