"""EERLoss: the smooth equal-error-rate loss (Gonzalez et al. 2026).

Its call contract is :class:`~skeer.losses._base._MetricLoss`'s.
"""

import math
import sys
import typing
import warnings

import torch

from skeer._validation import check_operating_point, check_positive_int, check_real
from skeer.losses._base import (
    _check_choice,
    _check_finite,
    _check_finite_mode,
    _MetricLoss,
    _prepare,
)
from skeer.losses._gather import _check_gather, _gather_rows
from skeer.losses._pairs import DISTANCES, pair_batch
from skeer.losses._smooth import (
    SMOOTHINGS,
    area_terms,
    counted_range,
    implicit_threshold,
    smooth_rates,
    soft_bisection,
)

#: ``_gather_active`` is looked up on the package so tests can replace it.
_package = sys.modules[__package__]

_VARIANTS = ("area", "direct")

#: The largest ``sharpness`` (the float32 sigmoid saturates above).
MAX_SHARPNESS = 1e4

#: ``sharpness=None`` resolves to these per variant.
_DEFAULT_SHARPNESS = {"area": 100.0, "direct": 40.0}


def _all_tied(pairs):
    """Whether every pair counted is at one distance, to ``sqrt(eps)`` relative."""
    lo, hi = counted_range(pairs)
    scale = torch.maximum(torch.maximum(hi.abs(), lo.abs()), torch.ones_like(hi))
    tol = math.sqrt(torch.finfo(pairs.x.dtype).eps) * scale
    # True with no pair counted (hi - lo = -inf): that batch is zeroed anyway
    return (hi - lo) <= tol


def _check_directions(emb, mode):
    """Refuse all-zero embeddings under the cosine distance (no direction)."""
    if mode is False or emb.numel() == 0:
        return
    zero = emb.detach().abs().amax(dim=1) == 0
    message = (
        "embeddings hold an all-zero row: its cosine distance is undefined "
        "(no direction). Use distance='euclidean' or a network whose "
        "embeddings are never zero."
    )
    if mode == "async" or torch.compiler.is_compiling():
        torch._assert_async(~zero.any(), message)
    elif bool(zero.any()):
        raise ValueError(f"{int(zero.sum())} of {emb.shape[0]} " + message)


class _EERSettings(typing.NamedTuple):
    """:class:`EERLoss`'s parameters, validated and resolved for one call."""

    target: float | None  # None: the EER
    variant: str
    beta: float
    alpha: float
    distance: str
    search_steps: int
    smoothing: str
    sharpness: float
    eps: float


class EERLoss(_MetricLoss):
    """Smooth equal-error-rate loss (EERLoss, Gonzalez et al. 2026).

    From a batch of embeddings and identity labels it takes every genuine
    (same label) and impostor (different labels) pair once, smooths the two
    error rates of the distance threshold ``d``,

    - ``FRR_s(d) = mean_L phi(K·(l − d))`` (false non-match rate),
    - ``FAR_s(d) = mean_I phi(K·(d − i))`` (false match rate),

    finds the threshold of the operating point and penalises the errors
    there. ``phi`` is ``tanh(max(0, ·))`` (the paper's one-sided smoothing) or
    the logistic sigmoid.

    Parameters
    ----------
    operating_point : "eer" or float in (0, 1), default="eer"
        ``"eer"``: the threshold solves ``FAR_s(d) = FRR_s(d)``. A float
        ``f``: a target false-match rate, the threshold solves
        ``FAR_s(d) = f`` and the loss penalises the miss side there.
    variant : {"area", "direct"}, default="direct"
        ``"area"``: the paper's overlap of the genuine and impostor
        distributions around ``d``; ``"direct"``: the smooth error rate at
        ``d``, with an exact implicit gradient (:ref:`eerloss`).
    beta : float in (0, 2), default=0.85
        Exponent β of the area variant's generalised means.
    alpha : float in [0, 1), default=0.0
        Margin α of the area variant, relative to the threshold.
    distance : {"euclidean", "cosine"}, default="euclidean"
        Pair distance: L2, or ``1 − cosine similarity``.
    search_steps : int, default=16
        Steps of the threshold search (smooth bisection for ``"area"``;
        bisection then three Newton steps for ``"direct"``).
    smoothing : {"auto", "tanh", "sigmoid"}, default="auto"
        ``phi``: ``"tanh"`` (one-sided, the paper's) or ``"sigmoid"``
        (two-sided); ``"auto"``: ``"tanh"`` for ``"area"``, else ``"sigmoid"``.
    sharpness : float > 0 or None, default=None
        ``K``, in inverse distance units, at most ``1e4``. ``None``: 100 for
        ``"area"`` (the paper's), 40 for ``"direct"`` (:ref:`eerloss`).
    eps : float > 0, default=1e-7
        Floor ``eps`` of the area variant's ratios (the paper's ``1e-7``).
    gather : bool or None, default=None
        Compute the loss of the global batch of a distributed run. ``None``:
        when ``torch.distributed`` runs more than one process.
    check_finite : bool or "async", default=True
        Refuse NaN or infinite embeddings: ``True`` raises ``ValueError`` (a
        host sync on an accelerator), ``"async"`` uses ``torch._assert_async``
        (no sync), ``False`` does not check.

    Attributes
    ----------
    threshold_ : Tensor (0-d) or None
        The threshold (a distance) of the last call, detached, on the loss's
        device; ``None`` before the first call.

    Notes
    -----
    Pairs: every ``i < j`` of the batch once, or every (query, reference) pair
    with ``ref_emb``; ``indices_tuple`` keeps those it lists. The value is the
    paper's percent-scaled overlap for ``"area"``, a fraction for ``"direct"``.
    A batch without a genuine or an impostor pair gives a zero that keeps the
    graph; one whose pairs are all at one distance its worst value (``"direct"``
    0.5, 1.0 for a target rate; ``"area"`` 200) with a zero gradient; both warn
    once. With ``gather``, do not scale the loss, and ``indices_tuple`` and
    string labels are refused (:ref:`gpu`, :ref:`eerloss`).

    References
    ----------
    Gonzalez, Robledo-Moreno, DeAndres-Tame, Vera-Rodriguez, Tolosana.
    "EERLoss: A Novel Loss Function for Training Deep Biometric Models. A
    Case Study in Keystroke Dynamics", arXiv 2606.24586, 2026.

    Examples
    --------
    >>> import torch
    >>> from skeer.losses import EERLoss
    >>> g = torch.Generator().manual_seed(0)
    >>> labels = torch.arange(4).repeat_interleave(5)
    >>> centers = torch.randn(4, 8, generator=g)
    >>> emb = centers[labels] + 0.3 * torch.randn(20, 8, generator=g)
    >>> emb = torch.nn.functional.normalize(emb, dim=1).requires_grad_()
    >>> loss = EERLoss()(emb, labels)
    >>> loss.backward()
    >>> loss.shape, bool(torch.isfinite(emb.grad).all())
    (torch.Size([]), True)
    """

    def __init__(
        self,
        operating_point="eer",
        *,
        variant="direct",
        beta=0.85,
        alpha=0.0,
        distance="euclidean",
        search_steps=16,
        smoothing="auto",
        sharpness=None,
        eps=1e-7,
        gather=None,
        check_finite=True,
    ):
        super().__init__()
        self.operating_point = operating_point
        self.variant = variant
        self.beta = beta
        self.alpha = alpha
        self.distance = distance
        self.search_steps = search_steps
        self.smoothing = smoothing
        self.sharpness = sharpness
        self.eps = eps
        self.gather = gather
        self.check_finite = check_finite
        self.threshold_ = None
        self._warned_tied = False
        self._settings()  # validates

    def extra_repr(self):
        return (
            f"operating_point={self.operating_point!r}, variant={self.variant!r}, "
            f"beta={self.beta}, alpha={self.alpha}, distance={self.distance!r}, "
            f"search_steps={self.search_steps}, smoothing={self.smoothing!r}, "
            f"sharpness={self.sharpness}, gather={self.gather}, "
            f"check_finite={self.check_finite!r}"
        )

    def _params(self):
        """The parameters as they are now, validated, with defaults resolved."""
        operating_point = check_operating_point(self.operating_point)
        _check_choice("variant", self.variant, _VARIANTS)
        _check_choice("distance", self.distance, DISTANCES)
        _check_choice("smoothing", self.smoothing, ("auto", *SMOOTHINGS))
        _check_gather(self.gather)
        _check_finite_mode(self.check_finite)
        smoothing = self.smoothing
        if smoothing == "auto":
            smoothing = "tanh" if self.variant == "area" else "sigmoid"
        sharpness = _DEFAULT_SHARPNESS[self.variant]
        if self.sharpness is not None:
            sharpness = check_real(
                self.sharpness, "sharpness", low=0.0, high=MAX_SHARPNESS,
                high_open=False,
            )  # fmt: skip
        return _EERSettings(
            target=None if operating_point == "eer" else operating_point,
            variant=self.variant,
            beta=check_real(self.beta, "beta", low=0.0, high=2.0),
            alpha=check_real(self.alpha, "alpha", low=0.0, high=1.0, low_open=False),
            distance=self.distance,
            search_steps=check_positive_int(self.search_steps, "search_steps"),
            smoothing=smoothing,
            sharpness=sharpness,
            eps=check_real(self.eps, "eps", low=0.0, high=1.0),
        )

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):
        """The loss of validated inputs (see the class Notes)."""
        settings = self._settings()
        if _package._gather_active(self.gather):
            if self._labels_encoded:
                raise ValueError(
                    "labels given as strings are encoded per process and cannot "
                    "be gathered across processes: pass integer identities, the "
                    "same on every process."
                )
            if indices_tuple is not None:
                raise ValueError(
                    "indices_tuple indexes one process's rows and cannot be "
                    "combined with gathering the batch across processes; pass "
                    "gather=False to use it."
                )
            embeddings, labels = _gather_rows(embeddings, labels)
            if ref_emb is not None:
                ref_emb, ref_labels = _gather_rows(ref_emb, ref_labels)
        if settings.distance == "cosine":
            _check_directions(embeddings, self.check_finite)
        pairs = pair_batch(
            embeddings,
            labels,
            settings.distance,
            ref_emb=ref_emb,
            ref_labels=ref_labels,
            indices_tuple=indices_tuple,
        )
        if pairs.x.shape[0] == 0:  # static shape: a single sample
            self._warn_empty(None)
            return embeddings.sum() * 0.0
        tied = _all_tied(pairs)
        loss, threshold = self._loss(pairs, settings, tied)
        self.threshold_ = threshold.detach()
        valid = (pairs.counts > 0).all()
        self._warn_empty(pairs.counts)
        self._warn_tied(tied, valid, settings)
        return loss * valid.to(loss.dtype)

    @staticmethod
    def _tied_value(settings):
        """The loss of a batch whose pairs are all at one distance (EER 0.5)."""
        if settings.variant == "area":
            return 200.0  # each overlap term at 1, in percent
        return 0.5 if settings.target is None else 1.0

    @classmethod
    def _loss(cls, pairs, settings, tied):
        target, k, smoothing = settings.target, settings.sharpness, settings.smoothing
        worst = cls._tied_value(settings)
        if settings.variant == "area":
            threshold = soft_bisection(
                pairs, target, k, smoothing, settings.search_steps
            )
            # a degenerate or tied batch (replaced below or zeroed by the
            # caller) must stay finite, its gradient too
            usable = (pairs.counts > 0).all() & ~tied
            safe = torch.where(usable, threshold, torch.ones_like(threshold))
            terms = area_terms(pairs, safe, settings.beta, settings.alpha, settings.eps)
            loss = 100.0 * terms.sum()
            return torch.where(tied, torch.full_like(loss, worst), loss), threshold
        threshold, rates, slopes = implicit_threshold(
            pairs, target, k, smoothing, settings.search_steps
        )
        # rates/slopes at the root: add the threshold's implicit dependence
        # to first order (value unchanged: threshold - threshold.detach() == 0)
        shift = threshold - threshold.detach()
        if target is None:
            loss = 0.5 * (rates.sum() + slopes.sum() * shift)
        else:
            loss = rates[0] + slopes[0] * shift
        return torch.where(tied, torch.full_like(loss, worst), loss), threshold

    def _warn_tied(self, tied, valid, settings):
        """Warn once about a tied batch."""
        if (
            getattr(self, "_warned_tied", False)  # absent from older pickles
            or torch.compiler.is_compiling()
            or tied.device.type != "cpu"
            or not bool(tied & valid)
        ):
            return
        self._warned_tied = True
        warnings.warn(
            "EERLoss: every pair of the batch is at the same distance (collapsed "
            "embeddings?): nothing tells genuine from impostor pairs (EER 0.5), "
            f"so the loss takes its worst value, {self._tied_value(settings)}, "
            "with a zero gradient. This warning is shown once per loss object.",
            UserWarning,
            stacklevel=6,  # _warn_tied, compute_loss, forward, torch's two calls
        )

    def _warn_empty(self, counts):
        """Warn once about a batch without genuine or impostor pairs."""
        if self._warned_empty or torch.compiler.is_compiling():
            return
        if counts is None:
            detail = "a single sample, no pair"
        elif counts.device.type != "cpu" or bool((counts > 0).all()):
            return
        else:
            detail = f"{int(counts[0])} genuine and {int(counts[1])} impostor pairs"
        self._warn_zero_loss("genuine and impostor pairs", detail)

    def smooth_rates(self, embeddings, labels, threshold):
        """Smooth ``[FRR_s, FAR_s]`` (fractions) of a batch at ``threshold``.

        With the loss's distance, smoothing and sharpness, for inspection.

        Parameters
        ----------
        embeddings, labels : Tensor
            As in ``forward``.
        threshold : float or Tensor (0-d)
            A distance.

        Returns
        -------
        rates : Tensor of shape (2,)
            False non-match and false match rate, smoothed.

        Examples
        --------
        >>> import torch
        >>> from skeer.losses import EERLoss
        >>> emb = torch.tensor([[0.0], [0.1], [1.0], [1.1]])
        >>> rates = EERLoss(sharpness=1000).smooth_rates(emb, [0, 0, 1, 1], 1.05)
        >>> [round(r, 3) for r in rates.tolist()]
        [0.0, 0.75]
        """
        settings = self._settings()
        embeddings, labels, _, _, _ = _prepare(embeddings, labels, None, None)
        _check_finite(embeddings, "embeddings", _check_finite_mode(self.check_finite))
        pairs = pair_batch(embeddings, labels, settings.distance)
        threshold = torch.as_tensor(threshold, dtype=embeddings.dtype)
        return smooth_rates(pairs, threshold, settings.sharpness, settings.smoothing)
