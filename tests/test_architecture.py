"""The package's plan, checked: folders by concept, imports that point downstream."""

import ast
from pathlib import Path

import pytest

import skeer

PACKAGE = Path(skeer.__file__).resolve().parent

#: Layer of each top-level module or subpackage: one may import only from
#: lower layers (and from itself). docs/architecture.rst draws the same graph.
LAYERS = {
    "_version": 0,
    "_validation": 0,
    "registry": 0,  # names only: it imports the classes it names lazily
    "metrics": 1,
    "features": 1,
    "losses": 1,
    "templates": 2,
    "networks": 2,
    "datasets": 2,
    "verifier": 3,
    "baselines": 3,
    "evaluation": 4,
    "persistence": 4,
    "export": 5,
    "plotting": 5,
    "pretrained": 5,
    "cli": 6,
    "__main__": 7,
}


def _node(module):
    """The top-level node (module or subpackage) of a dotted skeer name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _edges():
    """``{(importer, imported)}`` between top-level nodes, lazy imports included."""
    edges = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("").parts
        if rel == ("__init__",):
            continue  # the root only maps public names to their homes, lazily
        src = rel[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                pytest.fail(f"{path}: relative import (use absolute skeer.* imports)")
            if isinstance(node, ast.ImportFrom) and (node.module or "") == "skeer":
                targets = [skeer._LAZY.get(a.name, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module.startswith("skeer."):
                targets = [_node(node.module)]
            elif isinstance(node, ast.Import):
                targets = [
                    _node(a.name) for a in node.names if a.name.startswith("skeer.")
                ]
            else:
                continue
            edges |= {(src, t) for t in targets if t not in (None, src, "_version")}
    return edges


def test_the_root_holds_few_modules_and_every_folder_is_a_layer():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 8, modules
    nodes = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    nodes |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert nodes == set(LAYERS), nodes ^ set(LAYERS)


def test_no_module_is_over_600_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not long, long


def test_imports_point_downstream_only():
    upward = sorted(
        f"{a} -> {b}" for a, b in _edges() if LAYERS[b] >= LAYERS[a] and a != b
    )
    assert not upward, upward


def test_numpy_only_packages_import_no_torch_package():
    torch_land = {"losses", "networks", "verifier", "persistence", "export"}
    for a, b in _edges():
        if a in {"metrics", "features", "templates", "baselines", "datasets"}:
            assert b not in torch_land, f"{a} -> {b}"


def _modules_crossed(call):
    """skeer's modules a call runs in (the network and loss not counted)."""
    import sys

    seen = []

    def profile(frame, event, arg):
        name = frame.f_globals.get("__name__", "")
        if event == "call" and name.startswith("skeer."):
            if not name.startswith(("skeer.networks", "skeer.losses")):
                seen.append(name)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return set(seen)


def test_decision_function_crosses_at_most_four_modules():
    import numpy as np

    from skeer import KeystrokeVerifier

    X = np.random.default_rng(0).normal(size=(24, 5)).astype(np.float32)
    y = np.repeat(np.arange(4), 6)
    net = KeystrokeVerifier(max_epochs=1, validation_size=0, random_state=0)
    net.fit(X, y)
    crossed = _modules_crossed(lambda: net.decision_function(X[:3]))
    # the scoring mixin, the estimator, the input checks, the templates; the
    # training hooks and skorch's data pipeline are not on this path
    assert crossed <= {
        "skeer.templates._verification",
        "skeer.verifier._estimator",
        "skeer._validation",
        "skeer.templates._templates",
    }, crossed
