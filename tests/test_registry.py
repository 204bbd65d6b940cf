"""Network and loss names, and the persistence allow-list (skeer.registry)."""

import subprocess
import sys

import pytest
import torch
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from skeer import (
    ContrastiveLoss,
    EERLoss,
    KeystrokeFeatures,
    KeystrokeVerifier,
    MLPEmbedder,
    Set2SetLoss,
    TripletMarginLoss,
    Type2Branch,
    TypeNet,
    registry,
)
from skeer.losses import ArcFaceLoss, MultiSimilarityLoss, SupConLoss


def test_network_names():
    assert registry.NETWORKS == ("typenet", "type2branch", "mlp")
    expected = {"typenet": TypeNet, "type2branch": Type2Branch, "mlp": MLPEmbedder}
    for name, cls in expected.items():
        assert registry.get_network(name) is cls
        assert registry.get_network(cls.__name__) is cls


@pytest.mark.parametrize(
    "name, cls, kwargs",
    [
        ("eer", EERLoss, {}),
        ("eer-area", EERLoss, {"variant": "area"}),
        ("eer-direct", EERLoss, {"variant": "direct"}),
        ("triplet", TripletMarginLoss, {}),
        ("contrastive", ContrastiveLoss, {}),
        ("set2set", Set2SetLoss, {}),
        ("supcon", SupConLoss, {}),
        ("multi-similarity", MultiSimilarityLoss, {}),
        ("arcface", ArcFaceLoss, {}),
        ("EERLoss", EERLoss, {}),
        ("Set2SetLoss", Set2SetLoss, {}),
    ],
)
def test_loss_names(name, cls, kwargs):
    assert registry.get_loss(name) == (cls, kwargs)


def test_every_loss_name_is_listed_and_builds_a_verifier():
    assert registry.LOSSES == (
        "eer",
        "eer-area",
        "eer-direct",
        "triplet",
        "contrastive",
        "set2set",
        "supcon",
        "multi-similarity",
        "arcface",
        "supcon+eer",
    )
    for name in registry.LOSSES:
        cls, kwargs = registry.get_loss(name)
        clf = KeystrokeVerifier(
            criterion=cls, **{f"criterion__{k}": v for k, v in kwargs.items()}
        )
        assert clf.get_params()["criterion"] is cls


def test_loss_kwargs_extend_but_never_contradict_the_preset():
    assert registry.get_loss("eer-area", beta=0.8, variant="area") == (
        EERLoss,
        {"variant": "area", "beta": 0.8},
    )
    with pytest.raises(ValueError, match="'eer-area' sets variant='area'"):
        registry.get_loss("eer-area", variant="direct")
    assert registry.get_loss("EERLoss", variant="area")[1] == {"variant": "area"}


@pytest.mark.parametrize(
    "getter, name", [("get_network", "resnet"), ("get_loss", "cosface")]
)
def test_unknown_names_list_the_valid_ones(getter, name):
    valid = registry.NETWORKS if getter == "get_network" else registry.LOSSES
    with pytest.raises(ValueError, match=f"Unknown .* {name!r}") as info:
        getattr(registry, getter)(name)
    for v in valid:
        assert repr(v) in str(info.value)


@pytest.mark.parametrize(
    "kind, cls",
    [
        ("network", TypeNet),
        ("network", Type2Branch),
        ("network", MLPEmbedder),
        ("loss", EERLoss),
        ("loss", TripletMarginLoss),
        ("optimizer", torch.optim.Adam),
        ("optimizer", torch.optim.SGD),
        ("estimator", KeystrokeFeatures),
        ("estimator", KeystrokeVerifier),
        ("estimator", StandardScaler),
        ("estimator", RobustScaler),
        ("estimator", MinMaxScaler),
    ],
)
def test_allow_listed_classes_resolve_from_their_qualified_name(kind, cls):
    name = registry.qualified_name(cls)
    assert registry.resolve(name, kind=kind) is cls
    assert registry.resolve(name) is cls
    if kind == "estimator":
        assert registry.qualified_name(cls()) == name


def test_baseline_estimators_are_allow_listed():
    baselines = pytest.importorskip("skeer.baselines")
    names = ["TimingStatistics", "TemplateDetector", "ScaledManhattan"]
    names += ["Manhattan", "Euclidean"]
    for name in names:
        cls = getattr(baselines, name)
        qualified = registry.qualified_name(cls)
        assert qualified == f"skeer.baselines.{name}"
        assert registry.resolve(qualified, kind="estimator") is cls


@pytest.mark.parametrize(
    "name, kind",
    [
        ("os.system", None),
        ("builtins.eval", None),
        ("skeer.losses.torch", "loss"),  # a module attribute, not a public class
        ("skeer.networks._networks.nn", "network"),
        ("skeer.persistence.save", None),
        ("skeer.networks.TypeNet", "loss"),  # the wrong kind
        ("torch.optim.Optimizer", "optimizer"),  # the abstract base
        ("torch.nn.Linear", None),
        ("sklearn.decomposition.PCA", "estimator"),
        ("skeer.baselines.make_timing_baseline", "estimator"),
        (None, None),
        (3, "estimator"),
    ],
)
def test_everything_else_is_refused(name, kind):
    with pytest.raises(ValueError, match="skeer may load"):
        registry.resolve(name, kind=kind)


def test_unknown_kind():
    with pytest.raises(ValueError, match="valid kinds are"):
        registry.resolve("skeer.networks.TypeNet", kind="module")


def test_resolving_never_imports_other_modules():
    code = (
        "import sys; from skeer import registry\n"
        "for name in ('json.tool.main', 'xml.dom.minidom.Node'):\n"
        "    try: registry.resolve(name)\n"
        "    except ValueError: pass\n"
        "sys.exit('json.tool' in sys.modules or 'xml.dom.minidom' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_importing_the_registry_does_not_import_torch():
    code = "import sys, skeer.registry; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
