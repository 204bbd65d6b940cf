import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import skeer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", skeer.__all__)
def test_every_public_name_imports_and_is_documented(name):
    obj = getattr(skeer, name)
    if name == "__version__":
        assert isinstance(obj, str)
        return
    if name in ("eer_scorer", "VERIFICATION_SCORERS"):
        return  # instances, documented in skeer.evaluation' module docstring
    assert obj.__doc__, f"{name} has no docstring"


@pytest.mark.parametrize(
    "module",
    [
        "skeer.metrics",
        "skeer.features",
        "skeer.datasets",
        "skeer.evaluation",
        "skeer.metrics",
        "skeer.evaluation",
    ],
)
def test_numpy_only_modules_never_import_torch(module):
    code = f"import sys, {module}; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_modules_without_skorch_import_without_docstrings():
    """``python -OO`` strips docstrings: the code that fills shared docstring
    sections must not need them (skorch itself does, so the verifier cannot)."""
    code = "import skeer.baselines, skeer.metrics, skeer.plotting"
    out = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True)
    assert out.returncode == 0, out.stderr.decode()


def test_submodules_declare_all():
    for name in skeer._SUBMODULES:
        module = importlib.import_module(f"skeer.{name}")
        assert hasattr(module, "__all__"), name
        for public in module.__all__:
            assert hasattr(module, public), f"{name}.{public}"


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    install = 'pip install torch==2.13.0 && pip install -e ".[test]"'
    assert install in readme and install in ci
    assert "&& python -m pytest" in readme
    assert "\npython -m pytest\n" in ci
