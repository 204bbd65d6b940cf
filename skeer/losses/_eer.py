"""EERLoss: the smooth equal-error-rate loss (Gonzalez et al. 2026).

Its call contract (``forward``, input checks, autocast) is
:class:`~skeer.losses._base._MetricLoss`'s; the pairs and the smooth rates
come from :mod:`skeer.losses` and :mod:`skeer.losses`, the distributed
all-gather from :mod:`skeer.losses._gather`.
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
    implicit_threshold,
    smooth_rates,
    soft_bisection,
)

#: The ``skeer.losses`` package. ``_gather_active`` is looked up on it when a
#: loss is computed, so that ``skeer.losses._gather_active`` stays the one
#: place to replace it (tests fake a distributed run that way).
_package = sys.modules[__package__]

_VARIANTS = ("area", "direct")

#: The largest ``sharpness``: at ``K = 1e6`` every gradient of a batch of
#: unit embeddings was exactly zero (the sigmoid saturates in float32).
MAX_SHARPNESS = 1e4

#: ``sharpness=None`` resolves to these per variant.
_DEFAULT_SHARPNESS = {"area": 100.0, "direct": 40.0}


def _all_tied(pairs):
    """Whether every pair counted is at the same distance (a 0-d bool tensor).

    Distances that agree to within ``sqrt(eps)`` (relative, with an absolute
    floor of ``sqrt(eps)``, the resolution of the clamped Euclidean distance)
    count as equal: collapsed embeddings give exactly such distances, up to
    rounding. Branch-free, no host sync.
    """
    x = pairs.x.detach()
    if pairs.restricted:
        counted = pairs.weights.sum(dim=0) > 0
        hi = torch.where(counted, x, torch.full_like(x, -math.inf)).amax()
        lo = torch.where(counted, x, torch.full_like(x, math.inf)).amin()
    else:
        hi, lo = x.amax(), x.amin()
    scale = torch.maximum(torch.maximum(hi.abs(), lo.abs()), torch.ones_like(hi))
    tol = math.sqrt(torch.finfo(x.dtype).eps) * scale
    # True with no pair counted (hi - lo = -inf): that batch is zeroed anyway
    return (hi - lo) <= tol


def _check_directions(emb, mode):
    """Refuse all-zero embeddings under the cosine distance: a zero vector has
    no direction, and normalising it gave gradients of 1e13. ``mode`` is
    ``check_finite``'s (``True``: one host sync, ``"async"``: none)."""
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
        ``"area"``, the paper's training loss: the overlap of the genuine and
        impostor distributions around the threshold ``d``,
        ``100·[(mean_L max(eps, (l − (1−α)·d)/d)^β)^(1/β)
        + (mean_I max(eps, ((1+α)·d − i)/d)^β)^(1/β)]``, with ``d`` from the
        paper's smooth bisection (gradients flow through its soft weights).
        ``"direct"``: the smooth error rate itself at a threshold with an
        exact implicit gradient (see Notes).
    beta : float in (0, 2), default=0.85
        Exponent β of the area variant's generalised means.
    alpha : float in [0, 1), default=0.0
        Margin α of the area variant, relative to the threshold.
    distance : {"euclidean", "cosine"}, default="euclidean"
        Pair distance: L2, or ``1 − cosine similarity``.
        :class:`~skeer.verifier.KeystrokeVerifier` uses ``"euclidean"`` on
        L2-normalised embeddings, which is ``sqrt(2·(1 − cos))``: monotone in
        the cosine score it reports.
    search_steps : int, default=16
        Steps of the threshold search: the paper's smooth bisection for
        ``"area"``; plain bisection steps (followed by three Newton steps)
        for ``"direct"``.
    smoothing : {"auto", "tanh", "sigmoid"}, default="auto"
        ``phi``. ``"tanh"``: ``tanh(K·max(0, ·))``, one-sided as in the
        paper; ``"sigmoid"``: ``sigmoid(K·(·))``, two-sided. ``"auto"`` is
        ``"tanh"`` for ``"area"`` (the paper's) and ``"sigmoid"`` for
        ``"direct"`` (trained best with implicit gradients on L2-normalised
        embeddings in prior experiments).
    sharpness : float > 0 or None, default=None
        ``K``, in inverse distance units, at most ``1e4`` (above, the
        smoothed rates saturate and the gradient vanishes). ``None``: the
        paper's ``K = 100``
        for ``"area"`` and ``K = 40`` for ``"direct"``: with the verifier's
        converging recipe (cosine-annealed learning rate, 60 epochs), 40
        beat 10 and 20 on held-out Aalto users (TypeNet; see the benchmarks
        page); resolved at each call, from the variant set then. It also
        sets the softness ``exp(K·Δrate%)`` of the area variant's bisection.
        The direct loss approaches the batch's exact EER as ``K`` grows;
        ``K`` up to ``1e4`` is supported (tested) for distances of order 1.
    eps : float > 0, default=1e-7
        Floor ``eps`` of the area variant's ratios (the paper's ``1e-7``).
    gather : bool or None, default=None
        Compute the loss on the global batch of a distributed run: every
        process's embeddings and labels are all-gathered (rank order) before
        the pairs are formed, so the threshold and the rates see every pair
        of the global batch. ``None``: on when ``torch.distributed`` is
        initialised with more than one process, off otherwise (no effect on a
        single process). ``True``: always (``RuntimeError`` without an
        initialised process group); ``False``: never, each process's loss
        sees its own rows only. See "Distributed training" in the Notes.
    check_finite : bool or "async", default=True
        Refuse NaN or infinite embeddings (a diverged run) instead of
        returning a NaN loss and NaN gradients. ``True``: a ``ValueError``
        with the number of bad rows; on an accelerator this reads one number
        back to the host (a synchronisation) per call, and inside
        ``torch.compile`` it becomes ``"async"``. ``"async"``:
        ``torch._assert_async``, no synchronisation; a failure raises
        ``RuntimeError`` on CPU and a device-side assertion on CUDA (which
        ends the CUDA context). ``False``: no check.

    Attributes
    ----------
    threshold_ : Tensor (0-d) or None
        The threshold (a distance) of the last call, detached; ``None`` before
        the first call. Kept on the loss's device: reading it is the caller's
        (possible) synchronisation, never the loss's.

    Notes
    -----
    The parameters are read each time the loss is computed: setting one
    after construction (``loss.sharpness = 40``) takes effect at the next
    call, and is validated there.

    Pairs: without ``ref_emb`` every unordered pair ``i < j`` of the batch
    once; with ``ref_emb`` every (query, reference) pair. ``indices_tuple``
    (pytorch-metric-learning pairs ``(a1, p, a2, n)`` or triplets
    ``(a, p, n)``) restricts the pairs to those it lists, each once whatever
    its role; labels still decide genuine versus impostor. This keeps a
    wrapper's choice (e.g. removing self comparisons from a memory bank)
    intact; a hard-pair miner biases the rates the loss estimates.

    Returned value:

    - ``"area"``: the paper's value, percent-scaled (100 × the sum of the two
      overlap terms, each at least ``100·eps``); not a rate. For a target
      false-match rate the same formula is evaluated at the threshold where
      ``FAR_s(d) = f`` (the bisection compares ``FAR_s(m)`` with ``100·f``
      where the EER search compares it with ``FRR_s(m)``).
    - ``"direct"``: a fraction in [0, 1]: ``(FAR_s + FRR_s)/2`` at the root
      of ``FAR_s(d) = FRR_s(d)`` (the smooth EER), or ``FRR_s(d)`` at the root
      of ``FAR_s(d) = f`` (the smooth false non-match rate at false-match
      rate ``f``). The root is found without a graph (bisection on a bracket
      that always holds it, then Newton) and the gradient through it is the
      exact implicit one, ``dd/dθ = −(∂g/∂θ)/(∂g/∂d)`` with
      ``g = FAR_s − FRR_s`` (or ``FAR_s − f``), not the search's.

    Everything is computed on flat pair vectors with masked means, static
    shapes and a fixed number of steps: no ``.item()``, no host
    synchronisation, no data-dependent Python branch, so
    ``torch.compile(loss, fullgraph=True)`` works. The one exception is the
    eager check of NaN/inf embeddings on an accelerator with
    ``check_finite=True`` (one value read back per call); ``"async"`` or
    ``False`` avoid it, and inside ``torch.compile`` the check is
    asynchronous anyway. Half-precision and bfloat16 inputs (autocast) are
    computed in float32; float64 stays float64.

    A batch without a genuine or without an impostor pair gives a zero that
    keeps the graph (zero gradient, never NaN), computed branch-free. It
    warns once per loss object, only for CPU tensors outside
    ``torch.compile``: elsewhere the check would need a host sync.

    A batch whose pairs are all at the same distance (collapsed embeddings:
    every embedding equal, or distances that agree to within the square root
    of the machine epsilon, relative) cannot tell a genuine pair from an
    impostor one: its EER is 0.5. It scores as such, branch-free: ``"direct"``
    returns 0.5 (1.0 for a target false-match rate, which only rejecting
    everyone meets), ``"area"`` its worst value, 200 (each overlap term at 1,
    every pair counted a full threshold on the wrong side), where the formula
    alone would see no overlap at all (about 0, like a perfect separation;
    with cosine distances, a near-infinite value). The gradient there is zero:
    no infinitesimal move separates tied distances. It warns once per loss
    object (CPU tensors outside ``torch.compile`` only).

    NaN or infinite embeddings raise ``ValueError`` ("training diverged?");
    see ``check_finite``. Labels may be integers or strings.

    Distributed training (``gather`` on). Each process passes its own rows;
    the returned value, on every process, is the loss of the global batch:
    what one process computes on the concatenation of every process's batch
    (rank order). The gradient a process's own rows receive is the sum, over
    the processes, of what each process's copy of that loss sends them, that
    is ``world_size`` times the single-process gradient.
    ``DistributedDataParallel`` (and Accelerate, which uses it) averages
    parameter gradients over the processes, which cancels that factor: the
    parameter gradient is exactly that of one process training on the global
    batch, so the loss must **not** be scaled by ``world_size``. (When
    gradients are summed over processes instead of averaged, divide the loss
    by ``world_size``.)

    - Labels must name identities globally: the same identity has the same
      label on every process.
    - Batch sizes may differ between processes: they are exchanged first,
      a small collective and a host synchronisation (so the distributed path
      does not compile with ``fullgraph=True``), and padded rows are dropped
      after the all-gather.
    - The loss is a collective: every process must call it, and backward
      through it, the same number of times, as with any
      ``DistributedDataParallel`` step.
    - ``ref_emb``/``ref_labels`` are gathered the same way;
      ``indices_tuple`` (indices into one process's rows) cannot be combined
      with gathering and raises ``ValueError``.
    - With the sharded :class:`~skeer.verifier.SubjectBatchSampler`
      (``rank``/``world_size``) the processes draw disjoint identities and
      the global batch is a P·world_size × K batch.

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
    >>> shuffled = labels[torch.randperm(20, generator=g)]
    >>> bool(EERLoss()(emb, labels) < EERLoss()(emb, shuffled))
    True
    >>> smooth_eer = EERLoss(variant="direct")(emb, labels)
    >>> 0.0 <= smooth_eer.item() <= 1.0
    True
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
        if self.smoothing != "auto":
            smoothing = self.smoothing
        else:
            smoothing = "tanh" if self.variant == "area" else "sigmoid"
        if self.sharpness is None:
            sharpness = _DEFAULT_SHARPNESS[self.variant]
        else:
            # beyond 1e4 the smoothed rates are step functions in float32 for
            # distances of order 1: the gradient is exactly zero
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
        """The loss of validated inputs (see "Returned value" in the Notes).

        When gathering, the loss of the global batch (the same on every
        process); ``indices_tuple`` cannot be combined with gathering
        (``ValueError``), ``gather=True`` needs an initialised process group
        (``RuntimeError``).
        """
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
        """Warn (once) about a batch whose pairs are all at one distance.

        Only for CPU tensors outside ``torch.compile`` (no host sync).
        """
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
        """Warn (once) about a batch without genuine or impostor pairs.

        Only for CPU tensors outside ``torch.compile``: elsewhere reading the
        counts would need a host sync.
        """
        if self._warned_empty or torch.compiler.is_compiling():
            return
        if counts is not None and (
            counts.device.type != "cpu" or bool((counts > 0).all())
        ):
            return
        if counts is None:
            detail = "a single sample, no pair"
        else:
            detail = f"{int(counts[0])} genuine and {int(counts[1])} impostor pairs"
        self._warn_zero_loss("genuine and impostor pairs", detail)

    def smooth_rates(self, embeddings, labels, threshold):
        """Smooth ``[FRR_s, FAR_s]`` (fractions) of a batch at ``threshold``.

        Uses the loss's distance, smoothing and sharpness; for inspection
        (e.g. checking ``threshold_``).

        Parameters
        ----------
        embeddings : Tensor of shape (n_samples, n_dims)
        labels : Tensor of shape (n_samples,)
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
