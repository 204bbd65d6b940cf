"""Tests of skeer.losses against independent (loop / numpy) computations."""

import itertools
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from skeer.losses import ContrastiveLoss, EERLoss, Set2SetLoss, TripletMarginLoss
from skeer.losses._pairs import pair_batch
from skeer.losses._smooth import implicit_threshold
from skeer.metrics import equal_error_rate


# ----------------------------------------------------------------------
# independent oracles (plain loops / numpy, written apart from the module)
def _np_distance(a, b, distance):
    if distance == "cosine":
        return 1.0 - float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.sqrt(np.sum((a - b) ** 2)))


def _np_pairs(X, y, distance="euclidean", ref=None, ref_y=None):
    """Genuine and impostor distances: pairs i < j, or every query x reference."""
    gen, imp = [], []
    if ref is None:
        for i in range(len(X)):
            for j in range(i + 1, len(X)):
                d = _np_distance(X[i], X[j], distance)
                (gen if y[i] == y[j] else imp).append(d)
    else:
        for i in range(len(X)):
            for j in range(len(ref)):
                d = _np_distance(X[i], ref[j], distance)
                (gen if y[i] == ref_y[j] else imp).append(d)
    return np.array(gen), np.array(imp)


def _np_area_loss(
    gen, imp, *, target=None, k=100.0, steps=16, beta=0.85, alpha=0.0, eps=1e-7
):
    """The paper's area loss, straight from its description."""

    def frr(d):
        return 100.0 * np.mean(np.tanh(k * (np.maximum(d, gen) - d)))

    def far(d):
        return 100.0 * np.mean(np.tanh(k * (d - np.minimum(d, imp))))

    lo, hi = 0.5 * gen.mean(), 1.5 * imp.mean()
    for _ in range(steps):
        m = (lo + hi) / 2.0
        left_rate = frr(m) if target is None else 100.0 * target
        right_rate = far(m)
        top = max(left_rate, right_rate)
        c_left = math.exp(k * (left_rate - top))
        c_right = math.exp(k * (right_rate - top))
        lo = (1.0 - c_left) * lo + c_left * m
        hi = (1.0 - c_right) * hi + c_right * m
    d = (lo + hi) / 2.0
    t_gen = np.mean(np.maximum(eps, (gen - (1.0 - alpha) * d) / d) ** beta) ** (
        1 / beta
    )
    t_imp = np.mean(np.maximum(eps, ((1.0 + alpha) * d - imp) / d) ** beta) ** (
        1 / beta
    )
    return 100.0 * (t_gen + t_imp), d


def _np_exact_eer(gen, imp):
    """Brute force: min over thresholds t of max(FNMR(t), FMR(t)), accept d <= t."""
    thresholds = np.concatenate([[-np.inf], np.unique(np.concatenate([gen, imp]))])
    fnmr = 1.0 - np.searchsorted(np.sort(gen), thresholds, side="right") / len(gen)
    fmr = np.searchsorted(np.sort(imp), thresholds, side="right") / len(imp)
    return float(np.min(np.maximum(fnmr, fmr)))


def _np_smooth(u, smoothing, k):
    """phi(k·u): one-sided tanh or sigmoid."""
    if smoothing == "tanh":
        return np.tanh(k * np.maximum(u, 0.0))
    return 1.0 / (1.0 + np.exp(-k * u))


def _batch(n_ids, n_per, dim=16, noise=0.8, seed=0, dtype=torch.float64):
    """Shuffled, L2-normalised batch of n_ids identities x n_per samples."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_ids), n_per)
    X = rng.normal(size=(n_ids, dim))[y] + noise * rng.normal(size=(len(y), dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    perm = rng.permutation(len(y))
    return torch.tensor(X[perm], dtype=dtype), torch.tensor(y[perm])


# ----------------------------------------------------------------------
# the paper's area formula
@pytest.mark.parametrize("n_per", [8, 15])
def test_area_matches_the_paper_formula(n_per):
    emb, labels = _batch(40, n_per)
    gen, imp = _np_pairs(emb.numpy(), labels.numpy())
    expected, d_expected = _np_area_loss(gen, imp)
    loss = EERLoss(variant="area")
    value = float(loss(emb, labels))
    assert value == pytest.approx(expected, rel=1e-5)
    assert float(loss.threshold_) == pytest.approx(d_expected, rel=1e-6)


@pytest.mark.parametrize(
    ("target", "beta", "alpha", "distance"),
    [(0.05, 0.85, 0.0, "euclidean"), (None, 1.5, 0.1, "cosine")],
)
def test_area_options_match_the_formula(target, beta, alpha, distance):
    emb, labels = _batch(12, 5, seed=1)
    gen, imp = _np_pairs(emb.numpy(), labels.numpy(), distance)
    expected, _ = _np_area_loss(gen, imp, target=target, beta=beta, alpha=alpha)
    loss = EERLoss(
        "eer" if target is None else target,
        variant="area",
        beta=beta,
        alpha=alpha,
        distance=distance,
    )
    assert float(loss(emb, labels)) == pytest.approx(expected, rel=1e-5)


def test_labels_decide_not_the_layout():
    # uneven identity sizes (2 to 7 samples), shuffled
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(6), [2, 7, 3, 5, 4, 6])
    X = rng.normal(size=(6, 8))[y] + 0.7 * rng.normal(size=(len(y), 8))
    perm = rng.permutation(len(y))
    emb, labels = torch.tensor(X[perm]), torch.tensor(y[perm])
    gen, imp = _np_pairs(X[perm], y[perm])
    expected, _ = _np_area_loss(gen, imp)
    assert float(EERLoss(variant="area")(emb, labels)) == pytest.approx(
        expected, rel=1e-5
    )
    # any relabelling / reordering that keeps the identities gives the same loss
    perm2 = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    relabelled = labels * 10 + 7
    assert float(
        EERLoss(variant="area")(emb[perm2], relabelled[perm2])
    ) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("variant", ["area", "direct"])
@pytest.mark.parametrize("smoothing", ["tanh", "sigmoid"])
def test_search_converges_where_the_smooth_rates_are_equal(variant, smoothing):
    emb, labels = _batch(40, 8)
    loss = EERLoss(variant=variant, smoothing=smoothing, sharpness=100.0)
    loss(emb, labels)
    gen, imp = _np_pairs(emb.numpy(), labels.numpy())
    d = float(loss.threshold_)
    frr = np.mean(_np_smooth(gen - d, smoothing, 100.0))
    far = np.mean(_np_smooth(d - imp, smoothing, 100.0))
    # the interval starts ~1 wide, so a wrong-way search would end far away
    tol = 1e-3 if variant == "area" else 1e-9
    assert abs(frr - far) < tol
    assert 0.01 < frr < 0.5


@pytest.mark.parametrize("variant", ["area", "direct"])
@pytest.mark.parametrize("target", [0.01, 0.1])
def test_fmr_operating_point_threshold(variant, target):
    emb, labels = _batch(40, 8)
    gen, imp = _np_pairs(emb.numpy(), labels.numpy())
    assert len(imp) * target >= 10
    loss = EERLoss(target, variant=variant, sharpness=100.0)
    value = float(loss(emb, labels))
    smoothing = "tanh" if variant == "area" else "sigmoid"
    d = float(loss.threshold_)
    fmr = np.mean(_np_smooth(d - imp, smoothing, 100.0))
    assert fmr == pytest.approx(target, rel=0.1)
    if variant == "direct":  # the smooth FNMR at that threshold
        fnmr = np.mean(_np_smooth(gen - d, smoothing, 100.0))
        assert value == pytest.approx(fnmr, rel=1e-9)
        assert 0.0 <= value <= 1.0


# ----------------------------------------------------------------------
# the direct variant
@pytest.mark.parametrize("smoothing", ["sigmoid", "tanh"])
def test_direct_approaches_the_exact_eer(smoothing):
    emb, labels = _batch(40, 8, noise=1.0)
    gen, imp = _np_pairs(emb.numpy(), labels.numpy())
    # skeer.metrics on scores = -distance; the brute force agrees to 1/|L|
    y_true = np.r_[np.ones(len(gen)), np.zeros(len(imp))]
    exact = equal_error_rate(y_true, -np.r_[gen, imp])
    assert exact == pytest.approx(_np_exact_eer(gen, imp), abs=1.0 / len(gen))
    assert 0.05 < exact < 0.4  # a batch with a real overlap
    errors = []
    for k in [10.0, 100.0, 1e3, 1e4]:  # 1e4: the sharpest documented setting
        value = float(
            EERLoss(variant="direct", smoothing=smoothing, sharpness=k)(emb, labels)
        )
        assert 0.0 <= value <= 1.0
        errors.append(abs(value - exact))
    assert errors[-1] < 0.005
    assert errors[-1] < errors[0]


def test_direct_value_is_the_smooth_eer():
    emb, labels = _batch(10, 6, seed=2)
    loss = EERLoss(variant="direct", smoothing="sigmoid", sharpness=30.0)
    value = float(loss(emb, labels))
    gen, imp = _np_pairs(emb.numpy(), labels.numpy())
    d = float(loss.threshold_)
    frr = np.mean(_np_smooth(gen - d, "sigmoid", 30.0))
    far = np.mean(_np_smooth(d - imp, "sigmoid", 30.0))
    assert value == pytest.approx((frr + far) / 2, rel=1e-9)


@pytest.mark.parametrize("target", [None, 0.2])
@pytest.mark.parametrize("smoothing", ["sigmoid", "tanh"])
def test_implicit_threshold_gradient_matches_finite_differences(target, smoothing):
    emb, labels = _batch(4, 3, dim=3, seed=5)
    emb.requires_grad_()

    def threshold(e):
        pairs = pair_batch(e, labels, "euclidean")
        return implicit_threshold(pairs, target, 10.0, smoothing, 16)[0]

    assert torch.autograd.gradcheck(threshold, (emb,), eps=1e-6, atol=1e-7, rtol=1e-5)
    # and the threshold does depend on the embeddings (non-vacuous check)
    (grad,) = torch.autograd.grad(threshold(emb), emb)
    assert grad.abs().max() > 1e-3


@pytest.mark.parametrize(
    ("variant", "operating_point", "distance"),
    list(itertools.product(["area", "direct"], ["eer", 0.2], ["euclidean", "cosine"])),
)
def test_gradcheck(variant, operating_point, distance):
    emb, labels = _batch(4, 3, dim=3, seed=1)
    noise = torch.randn(
        emb.shape, dtype=emb.dtype, generator=torch.Generator().manual_seed(0)
    )
    emb = (emb + 0.1 * noise).requires_grad_()
    loss = EERLoss(operating_point, variant=variant, distance=distance, sharpness=10.0)
    # the area search is stiff (soft weights exp(K·Δrate%)): small FD step
    assert torch.autograd.gradcheck(
        lambda e: loss(e, labels), (emb,), eps=1e-7, atol=1e-5, rtol=1e-4
    )


# ----------------------------------------------------------------------
# pairs: indices_tuple and ref_emb
def test_indices_tuple_restricts_the_pairs():
    pml = pytest.importorskip("pytorch_metric_learning.utils.loss_and_miner_utils")
    emb, labels = _batch(6, 4, seed=4)
    loss = EERLoss(variant="direct", sharpness=30.0)
    full = float(loss(emb, labels))
    all_pairs = pml.get_all_pairs_indices(labels)
    assert float(loss(emb, labels, all_pairs)) == pytest.approx(full, rel=1e-12)
    # pairs of the first 12 samples only == the loss of that sub-batch
    a1, p, a2, n = all_pairs
    keep1 = (a1 < 12) & (p < 12)
    keep2 = (a2 < 12) & (n < 12)
    sub = (a1[keep1], p[keep1], a2[keep2], n[keep2])
    assert float(loss(emb, labels, sub)) == pytest.approx(
        float(loss(emb[:12], labels[:12])), rel=1e-9
    )


def test_ref_emb_pairs_are_query_times_reference():
    emb, labels = _batch(5, 4, seed=6)
    query, q_labels = emb[:8], labels[:8]
    ref, r_labels = emb[8:], labels[8:]
    gen, imp = _np_pairs(
        query.numpy(), q_labels.numpy(), ref=ref.numpy(), ref_y=r_labels.numpy()
    )
    expected, _ = _np_area_loss(gen, imp)
    value = EERLoss(variant="area")(query, q_labels, ref_emb=ref, ref_labels=r_labels)
    assert float(value) == pytest.approx(expected, rel=1e-5)


# ----------------------------------------------------------------------
# robustness
@pytest.mark.parametrize("variant", ["area", "direct"])
@pytest.mark.parametrize("labels", [[0, 0, 0, 0, 0], [0, 1, 2, 3, 4], [7]])
def test_batch_without_genuine_or_impostor_pairs(variant, labels):
    emb = torch.randn(len(labels), 3, dtype=torch.float64, requires_grad=True)
    loss = EERLoss(variant=variant)
    with pytest.warns(UserWarning, match="returning a zero loss"):
        value = loss(emb, torch.tensor(labels))
    value.backward()
    assert value.item() == 0.0
    assert torch.equal(emb.grad, torch.zeros_like(emb))

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warns once per loss object
        loss(emb, torch.tensor(labels))


@pytest.mark.filterwarnings("ignore:EERLoss. every pair:UserWarning")
@pytest.mark.parametrize("variant", ["area", "direct"])
@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_identical_embeddings_give_finite_gradients(variant, distance):
    base = torch.randn(3, 4, dtype=torch.float32)
    emb = base.repeat_interleave(3, dim=0).requires_grad_()  # exact duplicates
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2, 0])
    value = EERLoss(variant=variant, distance=distance)(emb, labels)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(emb.grad).all()
    # every distance 0 (all-zero rows have no direction: refused under cosine)
    same = (torch.zeros(9, 4) + (distance == "cosine")).requires_grad_()
    EERLoss(variant=variant, distance=distance)(same, labels).backward()
    assert torch.isfinite(same.grad).all()


@pytest.mark.parametrize("variant", ["area", "direct"])
def test_float32_matches_float64(variant):
    # ~10^5 pairs: the sums that make the value must not lose float32 digits
    emb, labels = _batch(40, 15, dim=32, noise=1.2)
    loss = EERLoss(variant=variant)
    expected = loss(emb, labels).item()
    assert loss(emb.float(), labels).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("variant", ["area", "direct"])
def test_half_precision_is_computed_in_float32(variant):
    emb, labels = _batch(8, 4, dtype=torch.float32)
    loss = EERLoss(variant=variant, sharpness=30.0)
    reference = loss(emb.bfloat16().float(), labels)
    value = loss(emb.bfloat16(), labels)
    assert value.dtype == torch.float32
    assert float(value) == pytest.approx(float(reference), rel=1e-5)
    lin = torch.nn.Linear(16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = lin(emb)
        assert out.dtype == torch.bfloat16
        value = loss(out, labels)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(loss(out.float(), labels).item(), rel=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["area", "direct"])
def test_compiles_fullgraph(variant):
    emb, labels = _batch(8, 4, dtype=torch.float32)
    loss = EERLoss(variant=variant)
    eager = loss(emb, labels)
    loss.threshold_ = None
    compiled = torch.compile(loss, fullgraph=True)
    leaf = emb.clone().requires_grad_()
    value = compiled(leaf, labels)
    value.backward()
    assert value.item() == pytest.approx(eager.item(), rel=1e-4)
    assert torch.isfinite(leaf.grad).all() and leaf.grad.abs().sum() > 0
    assert loss.threshold_ is not None


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"operating_point": "fmr"}, "operating_point"),
        ({"operating_point": 1.0}, "operating_point"),
        ({"operating_point": 0}, "operating_point"),
        ({"operating_point": True}, "operating_point"),
        ({"variant": "exact"}, "variant"),
        ({"beta": 2.0}, "beta"),
        ({"beta": 0}, "beta"),
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": 1.0}, "alpha"),
        ({"distance": "manhattan"}, "distance"),
        ({"search_steps": 0}, "search_steps"),
        ({"search_steps": 2.5}, "search_steps"),
        ({"smoothing": "relu"}, "smoothing"),
        ({"sharpness": 0.0}, "sharpness"),
        ({"eps": -1.0}, "eps"),
        ({"sharpness": math.inf}, "sharpness"),
        ({"sharpness": math.nan}, "sharpness"),
        ({"sharpness": True}, "sharpness"),
        ({"operating_point": math.nan}, "operating_point"),
        ({"search_steps": True}, "search_steps"),
        ({"gather": "yes"}, "gather"),
    ],
)
def test_parameter_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        EERLoss(**kwargs)


@pytest.mark.parametrize("variant", ["area", "direct"])
def test_parameters_are_read_when_the_loss_is_computed(variant):
    emb, labels = _batch(6, 4, dtype=torch.float64)
    loss = EERLoss(variant=variant)
    loss.sharpness = 40
    assert (
        loss(emb, labels).item()
        == EERLoss(variant=variant, sharpness=40)(emb, labels).item()
    )
    loss.operating_point = 0.1
    expected = EERLoss(0.1, variant=variant, sharpness=40)(emb, labels).item()
    assert loss(emb, labels).item() == expected
    # sharpness=None resolves per variant at use time (100 area, 40 direct)
    other = "direct" if variant == "area" else "area"
    loss = EERLoss(variant=variant)
    loss.variant = other
    assert loss(emb, labels).item() == EERLoss(variant=other)(emb, labels).item()
    default = {"area": 100.0, "direct": 40.0}[other]
    fixed = EERLoss(variant=other, sharpness=default)(emb, labels).item()
    assert loss(emb, labels).item() == fixed
    # a value set after construction is validated when it is used
    loss.sharpness = math.inf
    with pytest.raises(ValueError, match="sharpness"):
        loss(emb, labels)
    rates = EERLoss(sharpness=1000).smooth_rates(emb, labels, 1.0)
    loss = EERLoss()
    loss.sharpness = 1000
    assert torch.equal(loss.smooth_rates(emb, labels, 1.0), rates)


def test_baseline_parameters_are_read_when_the_loss_is_computed():
    X, y = _small_batch()
    emb, labels = torch.tensor(X), torch.tensor(y)
    triplet = TripletMarginLoss(0.3, mining="semihard")
    triplet(emb, labels)
    triplet.margin, triplet.mining = 1.5, "hard"
    expected = TripletMarginLoss(1.5, mining="hard")(emb, labels)
    assert triplet(emb, labels).item() == expected.item()
    contrastive = ContrastiveLoss()
    contrastive.neg_margin = 1.5
    expected = ContrastiveLoss(neg_margin=1.5)(emb, labels)
    assert contrastive(emb, labels).item() == expected.item()
    set2set = Set2SetLoss()
    set2set.margin, set2set.distance = 0.5, "cosine"
    expected = Set2SetLoss(0.5, distance="cosine")(emb, labels)
    assert set2set(emb, labels).item() == expected.item()
    set2set.beta = -1.0
    with pytest.raises(ValueError, match="beta"):
        set2set(emb, labels)


@pytest.mark.parametrize(
    ("cls", "kwargs", "name"),
    [
        (TripletMarginLoss, {"margin": -0.1}, "margin"),
        (TripletMarginLoss, {"margin": math.inf}, "margin"),
        (TripletMarginLoss, {"mining": "easy"}, "mining"),
        (TripletMarginLoss, {"distance": "manhattan"}, "distance"),
        (ContrastiveLoss, {"pos_margin": math.nan}, "pos_margin"),
        (ContrastiveLoss, {"neg_margin": -1.0}, "neg_margin"),
        (Set2SetLoss, {"margin": "1"}, "margin"),
        (Set2SetLoss, {"beta": -0.5}, "beta"),
        (Set2SetLoss, {"distance": "l1"}, "distance"),
    ],
)
def test_baseline_parameter_validation(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


@pytest.mark.parametrize(
    "make",
    [
        EERLoss,
        lambda: TripletMarginLoss(mining="hard"),
        ContrastiveLoss,
        Set2SetLoss,
    ],
    ids=["eer", "triplet", "contrastive", "set2set"],
)
def test_every_loss_shares_the_call_contract(make):
    emb, labels = _batch(4, 3, dtype=torch.float32)
    loss = make()
    with pytest.raises(ValueError, match="labels"):
        loss(emb, labels[:-1])
    with pytest.raises(ValueError, match="embeddings"):
        loss(emb.numpy(), labels)
    with pytest.raises(ValueError, match="ref_labels"):
        loss(emb, labels, ref_labels=labels)
    # half precision is computed in float32, with autocast off
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(emb.bfloat16(), labels)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(loss(emb, labels).item(), rel=1e-2)


def test_call_validation():
    emb = torch.randn(6, 3)
    loss = EERLoss()
    with pytest.raises(ValueError, match="labels"):
        loss(emb, torch.tensor([0, 0, 1, 1, 2]))
    with pytest.raises(ValueError, match="embeddings"):
        loss(emb[0], torch.tensor([0]))
    with pytest.raises(ValueError, match="ref_labels"):
        loss(emb, torch.zeros(6), ref_emb=emb)
    with pytest.raises(ValueError, match="indices_tuple"):
        loss(emb, torch.zeros(6), indices_tuple=(torch.tensor([0]),))


@pytest.mark.parametrize("variant", ["area", "direct"])
def test_training_separates_identities(variant):
    # embeddings as free parameters: the loss alone must pull identities apart
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat_interleave(6)
    raw = torch.nn.Parameter(torch.randn(60, 8, generator=gen))
    loss = EERLoss(variant=variant)
    opt = torch.optim.Adam([raw], lr=0.05)

    def eer():
        e = torch.nn.functional.normalize(raw.detach(), dim=1).double()
        return _np_exact_eer(*_np_pairs(e.numpy(), labels.numpy()))

    before = eer()
    for _ in range(60):
        opt.zero_grad()
        loss(torch.nn.functional.normalize(raw, dim=1), labels).backward()
        opt.step()
    assert before > 0.2
    assert eer() < 0.5 * before


# ----------------------------------------------------------------------
# baselines against loops
def _small_batch():
    rng = np.random.default_rng(7)
    y = np.array([0, 1, 0, 2, 1, 2, 0, 1, 3, 2])
    X = rng.normal(size=(4, 3))[y] + 0.6 * rng.normal(size=(len(y), 3))
    return X, y


def _avg_nonzero(values):
    values = np.asarray(values, dtype=float)
    nonzero = values[values > 0]
    return float(nonzero.mean()) if len(nonzero) else 0.0


def _np_triplets(X, y, margin, mining):
    n = len(y)
    d = np.array(
        [[_np_distance(X[i], X[j], "euclidean") for j in range(n)] for i in range(n)]
    )
    losses = []
    for a in range(n):
        pos = [p for p in range(n) if p != a and y[p] == y[a]]
        neg = [k for k in range(n) if y[k] != y[a]]
        if mining == "hard":
            if pos and neg:
                p = max(pos, key=lambda j: d[a, j])
                k = min(neg, key=lambda j: d[a, j])
                losses.append(max(0.0, d[a, p] - d[a, k] + margin))
            continue
        for p in pos:
            for k in neg:
                gap = d[a, k] - d[a, p]
                if mining == "semihard" and not (0 < gap <= margin):
                    continue
                losses.append(max(0.0, d[a, p] - d[a, k] + margin))
    return _avg_nonzero(losses)


@pytest.mark.parametrize("mining", ["all", "hard", "semihard"])
@pytest.mark.parametrize("margin", [0.3, 1.5])
def test_triplet_matches_loops(mining, margin):
    X, y = _small_batch()
    value = TripletMarginLoss(margin, mining=mining)(torch.tensor(X), torch.tensor(y))
    assert float(value) == pytest.approx(_np_triplets(X, y, margin, mining), rel=1e-9)


def test_contrastive_matches_loops():
    X, y = _small_batch()
    pos, neg = [], []
    for i in range(len(y)):
        for j in range(len(y)):
            if i == j:
                continue
            d = _np_distance(X[i], X[j], "euclidean")
            if y[i] == y[j]:
                pos.append(max(0.0, d - 0.2))
            else:
                neg.append(max(0.0, 1.5 - d))
    expected = _avg_nonzero(pos) + _avg_nonzero(neg)
    value = ContrastiveLoss(0.2, 1.5)(torch.tensor(X), torch.tensor(y))
    assert float(value) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_set2set_matches_loops(distance):
    X, y = _small_batch()  # sets of 3, 3, 3 and a singleton
    margin, beta = 1.5, 0.05
    sets = {s: [i for i in range(len(y)) if y[i] == s] for s in np.unique(y)}
    means = []
    for a, b in itertools.permutations(sets, 2):
        members = sets[a]
        if len(members) < 2:
            continue
        terms = [
            max(
                0.0,
                _np_distance(X[i], X[j], distance)
                - _np_distance(X[i], X[k], distance)
                + margin,
            )
            for i, j in itertools.combinations(members, 2)
            for k in sets[b]
        ]
        means.append(np.mean(terms))
    radii = []
    for members in sets.values():
        if len(members) < 2:
            continue
        centroid = X[members].mean(axis=0)
        radii.append(np.mean([_np_distance(X[i], centroid, distance) for i in members]))
    radii = np.array(radii)
    expected = np.mean(means) + beta * np.mean(np.abs(radii / radii.mean() - 1))
    value = Set2SetLoss(margin, beta, distance=distance)(
        torch.tensor(X), torch.tensor(y)
    )
    assert float(value) == pytest.approx(expected, rel=1e-9)


def test_set2set_gradient_and_empty_batch():
    X, y = _small_batch()
    emb = torch.tensor(X, requires_grad=True)
    Set2SetLoss()(emb, torch.tensor(y)).backward()
    assert torch.isfinite(emb.grad).all() and emb.grad.abs().sum() > 0
    with pytest.warns(UserWarning, match="Set2SetLoss needs two identities"):
        assert Set2SetLoss()(emb, torch.zeros(len(y))).item() == 0.0
    with pytest.raises(ValueError, match="ref_emb"):
        Set2SetLoss()(emb, torch.tensor(y), ref_emb=emb, ref_labels=torch.tensor(y))


def test_baselines_without_pytorch_metric_learning(monkeypatch):
    monkeypatch.setitem(sys.modules, "pytorch_metric_learning", None)
    with pytest.raises(ImportError, match="pip install pytorch-metric-learning"):
        TripletMarginLoss()
    with pytest.raises(ImportError, match="pip install pytorch-metric-learning"):
        ContrastiveLoss()


def test_importing_losses_does_not_import_pytorch_metric_learning():
    code = (
        "import sys, skeer.losses; assert 'pytorch_metric_learning' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------
# faults and hostile inputs
ALL_LOSSES = [
    EERLoss,
    lambda: EERLoss(variant="area"),
    lambda: TripletMarginLoss(mining="hard"),
    ContrastiveLoss,
    Set2SetLoss,
]
ALL_IDS = ["eer-direct", "eer-area", "triplet", "contrastive", "set2set"]


@pytest.mark.parametrize("make", ALL_LOSSES, ids=ALL_IDS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_embeddings_are_refused(make, bad):
    # a diverged network: the loss used to return NaN (and NaN gradients)
    emb, labels = _batch(4, 3, dtype=torch.float32)
    emb[2, 1] = bad
    emb[7, 0] = bad
    with pytest.raises(
        ValueError,
        match=r"embeddings contain NaN or inf in 2 of 12 rows; training diverged\?",
    ):
        make()(emb.requires_grad_(), labels)


def test_nonfinite_reference_embeddings_are_refused():
    emb, labels = _batch(4, 3, dtype=torch.float32)
    ref = emb.clone()
    ref[0, 0] = math.nan
    with pytest.raises(ValueError, match="ref_emb contain NaN or inf in 1 of 12"):
        EERLoss()(emb, labels, ref_emb=ref, ref_labels=labels)


def test_check_finite_modes():
    emb, labels = _batch(4, 3, dtype=torch.float32)
    emb[0, 0] = math.nan
    with pytest.raises(RuntimeError, match="embeddings contain NaN or inf"):
        EERLoss(check_finite="async")(emb, labels)  # torch._assert_async
    assert torch.isnan(EERLoss(check_finite=False)(emb, labels))
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match="check_finite"):
            EERLoss(check_finite=bad)
    assert "check_finite=True" in repr(EERLoss())


@pytest.mark.parametrize(
    "make",
    [
        lambda v: EERLoss(sharpness=v),
        lambda v: EERLoss(beta=v),
        lambda v: EERLoss(alpha=v),
        lambda v: EERLoss(eps=v),
        lambda v: EERLoss(operating_point=v),
        lambda v: TripletMarginLoss(margin=v),
        lambda v: ContrastiveLoss(pos_margin=v),
        lambda v: ContrastiveLoss(neg_margin=v),
        lambda v: Set2SetLoss(margin=v),
        lambda v: Set2SetLoss(beta=v),
    ],
)
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nonfinite_parameters_are_refused(make, bad):
    with pytest.raises(ValueError, match="must be"):
        make(bad)


@pytest.mark.parametrize("make", ALL_LOSSES, ids=ALL_IDS)
def test_string_labels_are_identities(make):
    # torch.as_tensor(["ann", ...]) fails with "too many dimensions 'str'"
    emb, labels = _batch(4, 3, dtype=torch.float64)
    names = np.array(["ann", "bob", "cy", "dee"])[labels.numpy()]
    loss = make()
    expected = loss(emb, labels).item()
    assert loss(emb, names.tolist()).item() == expected
    assert loss(emb, names.astype(object)).item() == expected


def test_string_labels_with_a_reference_set_share_one_code():
    emb, labels = _batch(4, 3, dtype=torch.float64)
    names = np.array(["ann", "bob", "cy", "dee"])[labels.numpy()]
    loss = EERLoss()
    expected = loss(emb[:6], labels[:6], ref_emb=emb[6:], ref_labels=labels[6:])
    got = loss(emb[:6], names[:6], ref_emb=emb[6:], ref_labels=names[6:])
    assert got.item() == expected.item()
    with pytest.raises(ValueError, match="same way"):
        loss(emb[:6], labels[:6], ref_emb=emb[6:], ref_labels=names[6:])


def test_string_labels_are_not_gathered(monkeypatch):
    import skeer.losses

    monkeypatch.setattr(skeer.losses, "_gather_active", lambda gather: True)
    emb, labels = _batch(4, 3, dtype=torch.float64)
    names = np.array(["ann", "bob", "cy", "dee"])[labels.numpy()]
    with pytest.raises(ValueError, match="strings.*cannot be gathered"):
        EERLoss()(emb, names)
    pytest.importorskip("pytorch_metric_learning")
    from skeer.losses import SupConEERLoss

    for n_enroll in (None, 2):  # its EERLoss term: pairs or templates
        with pytest.raises(ValueError, match="strings.*cannot be gathered"):
            SupConEERLoss(n_enroll=n_enroll)(emb, names)


def test_nan_labels_are_refused():
    emb = torch.randn(4, 3)
    for labels in ([0.0, 0.0, math.nan, 1.0], torch.tensor([0.0, math.nan, 1, 1])):
        with pytest.raises(ValueError, match="labels contain NaN"):
            EERLoss()(emb, labels)


@pytest.mark.parametrize(
    ("indices", "match"),
    [
        (([0, 12], [1, 2], [3, 4]), r"a indices must lie in \[0, 12\).*\[12\]"),
        (([0], [-1], [3]), r"p indices must lie in \[0, 12\).*\[-1\].*not counted"),
        (([0], [1], [0], [99]), r"n indices must lie in \[0, 12\).*\[99\]"),
        (([0.0], [1.0], [2.0]), "integer indices"),
        (([True], [False], [True]), "integer indices"),
        (([0, 1], [1], [2, 3]), "a/p/n must have the same length"),
        (([0], [1], [2, 3], [4]), "a2/n must have the same length"),
        (([[0]], [[1]], [[2]]), "1-D index tensors"),
        (([0], [1]), "pairs .* or triplets"),
    ],
)
@pytest.mark.parametrize(
    "make", [EERLoss, lambda: TripletMarginLoss(mining="all")], ids=["eer", "pml"]
)
def test_bad_indices_tuple_is_refused(make, indices, match):
    # out of range used to raise a raw IndexError; negative indices wrapped
    emb, labels = _batch(4, 3, dtype=torch.float32)
    indices = tuple(torch.tensor(t) for t in indices)
    with pytest.raises(ValueError, match=match):
        make()(emb, labels, indices_tuple=indices)


def test_indices_against_a_reference_set_use_its_size():
    emb, labels = _batch(4, 3, dtype=torch.float64)
    anchors = torch.tensor([0, 1])
    loss = EERLoss()
    loss(emb[:4], labels[:4], (anchors, torch.tensor([7, 3]), torch.tensor([5, 6])),
         emb, labels)  # fmt: skip
    with pytest.raises(ValueError, match=r"a indices must lie in \[0, 4\)"):
        loss(emb[:4], labels[:4], (torch.tensor([5]),) * 3, emb, labels)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize(
    ("variant", "operating_point", "worst"),
    [("area", "eer", 200.0), ("area", 0.1, 200.0), ("direct", "eer", 0.5),
     ("direct", 0.1, 1.0)],
)  # fmt: skip
@pytest.mark.parametrize("smoothing", ["tanh", "sigmoid"])
def test_collapsed_embeddings_score_as_eer_one_half(
    distance, variant, operating_point, worst, smoothing
):
    # every embedding equal: the area formula saw no overlap (about 0, like
    # a perfect separation; near-infinite with cosine distances)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2, 0])
    collapsed = torch.ones(9, 4, requires_grad=True)
    loss = EERLoss(
        operating_point, variant=variant, distance=distance, smoothing=smoothing
    )
    with pytest.warns(UserWarning, match="same distance.*EER 0.5.*worst value"):
        value = loss(collapsed, labels)
    value.backward()
    assert value.item() == worst
    assert torch.isfinite(collapsed.grad).all()
    # any separated batch scores better than the collapse
    emb, labels = _batch(3, 3, noise=0.3, dtype=torch.float32)
    emb = torch.nn.functional.normalize(emb, dim=1)
    assert loss(emb, labels).item() < worst


def test_tied_distances_without_collapse_score_as_eer_one_half():
    # an equilateral triangle: one genuine and two impostor pairs, all at
    # distance 1: no threshold separates them
    emb = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    labels = torch.tensor([0, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert EERLoss(variant="area")(emb, labels).item() == 200.0
        assert EERLoss(variant="direct", smoothing="tanh")(emb, labels).item() == 0.5
    # a batch that is merely close to tied is scored by the formula
    emb[2, 1] += 0.1
    assert EERLoss(variant="area")(emb, labels).item() < 200.0


def test_collapse_warns_once_per_loss_object():
    loss = EERLoss(variant="area")
    same = torch.zeros(6, 3)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    with pytest.warns(UserWarning, match="same distance"):
        loss(same, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(same, labels)


def test_a_pytorch_metric_learning_miner_composes_with_eerloss():
    miners = pytest.importorskip("pytorch_metric_learning.miners")
    torch.manual_seed(0)
    emb = torch.nn.functional.normalize(torch.randn(24, 8), dim=1).requires_grad_()
    labels = torch.arange(6).repeat_interleave(4)
    mined = miners.MultiSimilarityMiner(epsilon=0.5)(emb, labels)
    loss = EERLoss()(emb, labels, mined)
    loss.backward()
    assert torch.isfinite(loss) and emb.grad is not None
    # only the mined pairs count: a different set of pairs, a different loss
    assert not torch.isclose(loss, EERLoss()(emb, labels))


def test_parameters_are_validated_once_per_change_not_per_batch(monkeypatch):
    from skeer.losses import EERLoss

    loss = EERLoss()
    calls = []
    params = type(loss)._params
    monkeypatch.setattr(
        type(loss), "_params", lambda self: calls.append(1) or params(self)
    )
    emb = torch.nn.functional.normalize(torch.randn(8, 4), dim=1)
    labels = torch.arange(4).repeat(2)
    for _ in range(3):
        loss(emb, labels)
    loss.train(False)  # not a parameter
    loss(emb, labels)
    assert calls == []  # validated when built, not at each batch
    loss.sharpness = 20.0  # a change: checked at the next call, once
    loss(emb, labels)
    loss(emb, labels)
    assert calls == [1]
    loss.sharpness = -1.0
    with pytest.raises(ValueError, match="sharpness"):
        loss(emb, labels)


def test_eerloss_is_range_safe_or_says_why_it_cannot_be():
    """x1e20 embeddings gave NaN (squared distances overflowed float32),
    K = 1e6 an exactly-zero gradient, a zero embedding under the cosine
    distance gradients of 1e13."""
    from skeer.losses._pairs import _range_scale, pair_batch

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat_interleave(5)
    emb = torch.randn(20, 8, generator=g)
    unit = torch.nn.functional.normalize(emb, dim=1)
    # usual magnitudes: the scale is exactly 1, the distances as before
    assert _range_scale(unit).item() == 1.0 == _range_scale(emb * 1e6).item()
    before = torch.cdist(unit, unit)[tuple(torch.triu_indices(20, 20, 1))]
    torch.testing.assert_close(pair_batch(unit, labels, "euclidean").x, before)
    for variant in ("direct", "area"):
        # Euclidean: finite at 1e20 (the value is that of its distance units)
        e = (emb * 1e20).requires_grad_()
        loss = EERLoss(variant=variant)(e, labels)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(e.grad).all()
        # cosine: the same loss and gradient at any magnitude
        ref = emb.clone().requires_grad_()
        want = EERLoss(variant=variant, distance="cosine")(ref, labels)
        want.backward()
        for scale in (1e20, 1e-20):
            e = (emb * scale).requires_grad_()
            got = EERLoss(variant=variant, distance="cosine")(e, labels)
            got.backward()
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(e.grad * scale, ref.grad, rtol=1e-2, atol=1e-3)
    with pytest.raises(ValueError, match=r"sharpness must be .* \(0.0, 10000.0\]"):
        EERLoss(sharpness=1e6)
    e = unit.clone().requires_grad_()
    EERLoss(sharpness=1e4)(e, labels).backward()
    assert e.grad.abs().sum() > 0  # the largest allowed K still learns
    zero = emb.clone()
    zero[3] = 0.0
    for variant in ("direct", "area"):
        with pytest.raises(ValueError, match="1 of 20 embeddings hold an all-zero"):
            EERLoss(variant=variant, distance="cosine")(zero, labels)
        with pytest.raises(RuntimeError, match="all-zero"):
            EERLoss(variant=variant, distance="cosine", check_finite="async")(
                zero, labels
            )
    EERLoss(distance="euclidean")(zero, labels)  # a zero point is a point


def test_supcon_eer_loss_is_the_sum_of_its_terms():
    pytest.importorskip("pytorch_metric_learning")
    from skeer.losses import SupConEERLoss, SupConLoss

    g = torch.Generator().manual_seed(1)
    labels = torch.arange(5).repeat_interleave(4)
    emb = torch.nn.functional.normalize(torch.randn(20, 6, generator=g), dim=1)
    a = emb.clone().requires_grad_()
    loss = SupConEERLoss(eer_weight=0.3, temperature=0.2, sharpness=20.0, n_enroll=None)
    got = loss(a, labels)
    got.backward()
    b = emb.clone().requires_grad_()
    want = SupConLoss(0.2)(b, labels) + 0.3 * EERLoss(sharpness=20.0)(b, labels)
    want.backward()
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(a.grad, b.grad)
    assert loss.threshold_ is not None
    # parameters are read at each call, and checked
    loss.eer_weight = 0.0
    torch.testing.assert_close(loss(emb, labels), SupConLoss(0.2)(emb, labels))
    loss.operating_point = 0.01
    loss.eer_weight = 1.0
    expected = SupConLoss(0.2)(emb, labels) + EERLoss(0.01, sharpness=20.0)(emb, labels)
    torch.testing.assert_close(loss(emb, labels), expected)
    for bad in (-1.0, float("nan"), True, "1"):
        with pytest.raises(ValueError, match="eer_weight"):
            SupConEERLoss(eer_weight=bad)
    with pytest.raises(ValueError, match="temperature"):
        SupConEERLoss(temperature=0)
    with pytest.raises(ValueError, match="sharpness"):
        SupConEERLoss(sharpness=1e9)
    with pytest.raises(ValueError, match="indices_tuple and ref_emb"):
        SupConEERLoss()(emb, labels, ref_emb=emb, ref_labels=labels)


def test_templates_and_probes_split_each_subject_as_the_protocol_does():
    from skeer.losses._combined import _templates_and_probes

    g = torch.Generator().manual_seed(0)
    labels = torch.tensor([0] * 8 + [1] * 8 + [2] * 3 + [3])[
        torch.randperm(20, generator=g)
    ]
    emb = torch.nn.functional.normalize(torch.randn(20, 6, generator=g), dim=1)
    torch.manual_seed(0)
    probes, probe_labels, templates, subjects = _templates_and_probes(emb, labels, 5)
    # 8 samples: 5 enrol, 3 probe; 3 samples: 2 enrol, 1 probe; 1: a probe
    assert subjects.tolist() == [0, 1, 2]
    assert sorted(probe_labels.tolist()) == [0, 0, 0, 1, 1, 1, 2, 3]
    for subject, template in zip(subjects.tolist(), templates):
        rows = emb[labels == subject]
        used = probes[probe_labels == subject]
        enrolled = [r for r in rows if not any(torch.equal(r, u) for u in used)]
        assert len(enrolled) == min(5, len(rows) - 1)
        want = torch.nn.functional.normalize(torch.stack(enrolled).mean(0), dim=0)
        torch.testing.assert_close(template, want)
    # the split is drawn from torch's generator: seeded, it repeats
    torch.manual_seed(0)
    again = _templates_and_probes(emb, labels, 5)
    assert torch.equal(again[0], probes) and torch.equal(again[2], templates)


def test_supcon_eer_loss_over_templates():
    pytest.importorskip("pytorch_metric_learning")
    from skeer.losses import SupConEERLoss, SupConLoss
    from skeer.losses._combined import _templates_and_probes

    g = torch.Generator().manual_seed(2)
    labels = torch.arange(6).repeat_interleave(8)
    emb = torch.nn.functional.normalize(torch.randn(48, 6, generator=g), dim=1)
    a = emb.clone().requires_grad_()
    torch.manual_seed(3)
    got = SupConEERLoss(eer_weight=0.5, n_enroll=5)(a, labels)
    got.backward()
    b = emb.clone().requires_grad_()
    torch.manual_seed(3)
    probes, probe_labels, templates, subjects = _templates_and_probes(b, labels, 5)
    eer = EERLoss()(probes, probe_labels, ref_emb=templates, ref_labels=subjects)
    want = SupConLoss()(b, labels) + 0.5 * eer
    want.backward()
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(a.grad, b.grad)
    assert bool(torch.isfinite(a.grad).all()) and a.grad.abs().sum() > 0
    for bad in (0, 2.5, True, "5"):
        with pytest.raises(ValueError, match="n_enroll"):
            SupConEERLoss(n_enroll=bad)


def test_a_verifier_trains_saves_and_loads_with_supcon_eer_loss(tmp_path):
    pytest.importorskip("pytorch_metric_learning")
    import skeer
    from skeer import KeystrokeVerifier
    from skeer.losses import SupConEERLoss

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 8)
    X = (rng.normal(size=(10, 6))[y] + 0.3 * rng.normal(size=(80, 6))).astype(
        np.float32
    )
    net = KeystrokeVerifier(
        criterion=SupConEERLoss, operating_point=0.05, max_epochs=2,
        n_subjects_per_batch=4, n_samples_per_subject=4, random_state=0, verbose=0,
    ).fit(X, y)  # fmt: skip
    assert isinstance(net.criterion_, SupConEERLoss)
    assert net.criterion_.operating_point == 0.05  # the verifier's, passed on
    loaded = skeer.load(skeer.save(net, tmp_path / "m.skeer"))
    np.testing.assert_array_equal(
        loaded.decision_function(X[:5]), net.decision_function(X[:5])
    )


# -- proxy-based losses: the verifier sizes them and trains their proxies


def _proxy_data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 8)
    X = (rng.normal(size=(10, 6))[y] + 0.3 * rng.normal(size=(80, 6))).astype(
        np.float32
    )
    return X, y


@pytest.mark.parametrize("source", ["skeer", "pml"])
def test_the_verifier_sizes_a_proxy_loss_and_trains_its_proxies(source):
    pytest.importorskip("pytorch_metric_learning")
    from skeer import KeystrokeVerifier

    if source == "skeer":
        from skeer.losses import ArcFaceLoss
    else:
        from pytorch_metric_learning.losses import ArcFaceLoss
    X, y = _proxy_data()
    net = KeystrokeVerifier(
        criterion=ArcFaceLoss, max_epochs=2, n_subjects_per_batch=4,
        n_samples_per_subject=4, random_state=0, verbose=0,
    )  # fmt: skip
    net.fit(X, y + 100)  # any ids: the loss sees codes 0..9
    W = net.criterion_.pml_loss_.W if source == "skeer" else net.criterion_.W
    assert W.shape == (128, 10)  # embedding_dim x the subjects of fit
    before = W.detach().clone()
    in_optimizer = {id(p) for g in net.optimizer_.param_groups for p in g["params"]}
    assert id(W) in in_optimizer
    net.set_params(warm_start=True).fit(X, y + 100)
    assert not torch.equal(before, W.detach())  # the proxies were trained
    assert np.isfinite(net.history[:, "train_loss"]).all()


def test_a_proxy_loss_refuses_what_it_cannot_index():
    pytest.importorskip("pytorch_metric_learning")
    from skeer.losses import ArcFaceLoss

    with pytest.raises(ValueError, match="num_classes"):
        ArcFaceLoss(embedding_size=4)
    with pytest.raises(ValueError, match="margin"):
        ArcFaceLoss(3, 4, margin=-1)
    loss = ArcFaceLoss(3, 2)
    emb = torch.nn.functional.normalize(torch.randn(4, 2), dim=1)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\).*2 outside"):
        loss(emb, torch.tensor([0, 1, 3, 5]))
    with pytest.raises(ValueError, match="integer class indices"):
        loss(emb, ["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="indices_tuple and ref_emb"):
        loss(emb, torch.tensor([0, 0, 1, 1]), ref_emb=emb, ref_labels=[0, 0, 1, 1])


def test_a_criterion_that_needs_a_size_the_verifier_cannot_know_is_named():
    pytest.importorskip("pytorch_metric_learning")
    from skeer import KeystrokeVerifier
    from skeer.losses import ArcFaceLoss

    class Plain(torch.nn.Module):  # no embedding_dim attribute
        def __init__(self, n_features):
            super().__init__()
            self.lin = torch.nn.Linear(n_features, 8)

        def forward(self, x):
            return self.lin(x)

    X, y = _proxy_data()
    net = KeystrokeVerifier(module=Plain, criterion=ArcFaceLoss, max_epochs=1,
                            n_subjects_per_batch=4, n_samples_per_subject=4,
                            verbose=0)  # fmt: skip
    with pytest.raises(ValueError, match="criterion__embedding_size"):
        net.fit(X, y)
    net.set_params(criterion__embedding_size=8).fit(X, y)
    assert net.criterion_.pml_loss_.W.shape == (8, 10)
