"""The documentation builds without a warning and documents the public API.

The site is built from a copy of ``docs/`` and ``examples/`` in a temporary
folder (the source tree is left untouched), with warnings as errors and the
gallery examples not executed (``-D plot_gallery=0``): this checks every page,
every docstring through numpydoc and every cross-reference, quickly. The full
build with the examples run is ``docs/build.sh``.
"""

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="the docs extra is not installed")
pytest.importorskip("numpydoc", reason="the docs extra is not installed")
pytest.importorskip("sphinx_gallery", reason="the docs extra is not installed")
pytest.importorskip("pydata_sphinx_theme", reason="the docs extra is not installed")

ROOT = Path(__file__).resolve().parents[1]
_BUILD_ARTIFACTS = shutil.ignore_patterns(
    "_build", "auto_examples", "generated", "gen_modules", "sg_execution_times.rst"
)


def _api_names():
    """(module, name) of every entry listed in docs/api.rst's autosummaries."""
    text = (ROOT / "docs" / "api.rst").read_text(encoding="utf-8")
    names, module = [], None
    for block in re.split(r"\n(?=\.\. )", text):
        head = block.splitlines()[0]
        if head.startswith(".. currentmodule::"):
            module = head.split("::", 1)[1].strip()
        elif head.startswith(".. autosummary::"):
            for line in block.splitlines()[1:]:
                entry = line.strip()
                if entry and not entry.startswith(":") and line.startswith("   "):
                    names.append((module, entry))
    return names


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    if not (ROOT / "docs" / "conf.py").exists():
        pytest.skip("docs/conf.py not found (not a source checkout)")
    work = tmp_path_factory.mktemp("docs")
    shutil.copytree(ROOT / "docs", work / "docs", ignore=_BUILD_ARTIFACTS)
    shutil.copytree(ROOT / "examples", work / "examples", ignore=_BUILD_ARTIFACTS)
    out = work / "html"
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        "-D",
        "plot_gallery=0",
        "-d",
        str(work / "doctrees"),
        str(work / "docs"),
        str(out),
    ]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    return proc, out


@pytest.mark.slow
def test_docs_build_without_warnings(built_docs):
    proc, out = built_docs
    assert proc.returncode == 0, (
        f"sphinx-build failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}"
    )
    assert (out / "index.html").exists()
    for page in ("getting_started", "api", "benchmarks", "user_guide/eerloss"):
        assert (out / f"{page}.html").exists(), page
    assert (out / "auto_examples" / "index.html").exists()


@pytest.mark.slow
def test_api_reference_covers_every_public_name(built_docs):
    proc, out = built_docs
    if proc.returncode != 0:
        pytest.skip("the build failed; see test_docs_build_without_warnings")
    listed = _api_names()
    assert listed, "no autosummary entry found in docs/api.rst"
    missing_pages = [
        f"{mod}.{name}"
        for mod, name in listed
        if not (out / "generated" / f"{mod}.{name}.html").exists()
    ]
    assert not missing_pages, f"no generated page for {missing_pages}"
    # every name in a documented module's __all__ has a page
    listed_set = set(listed)
    undocumented = []
    for mod in sorted({mod for mod, _ in listed}):
        module = importlib.import_module(mod)
        for name in getattr(module, "__all__", []):
            if (mod, name) not in listed_set:
                undocumented.append(f"{mod}.{name}")
    assert not undocumented, f"public names missing from docs/api.rst: {undocumented}"


def test_api_reference_covers_every_public_module():
    documented = {mod for mod, _ in _api_names()}
    package = ROOT / "skeer"
    public = {
        f"skeer.{path.stem}"
        for path in package.iterdir()
        if not path.stem.startswith("_")
        and (path.suffix == ".py" or (path / "__init__.py").exists())
    }
    assert public <= documented, (
        f"modules missing from docs/api.rst: {sorted(public - documented)}"
    )


def test_reliability_counts_match_its_tables():
    """The summary table of docs/reliability.rst counts the rows of each
    section's table, and the (new) ones among them."""
    text = (ROOT / "docs" / "reliability.rst").read_text(encoding="utf-8")
    parts = re.split(r"\n([^\n]+)\n-{3,}\n", text)
    counted = {}
    for title, body in zip(parts[1::2], parts[2::2]):
        rows = [r for r in re.findall(r"^   \* - (.*)$", body, re.M) if r != "input"]
        if rows:
            new = sum(r.startswith("**(new)**") for r in rows)
            counted[title.strip()] = (len(rows), new)
    summary = {
        m[1].strip(): (int(m[2]), int(m[3]))
        for m in re.finditer(r"^(\S[^\n]*?)\s{2,}(\d+)\s+(\d+)\s*$", text, re.M)
    }
    assert counted and summary == counted


def test_every_test_the_docs_cite_exists():
    """A test named on a docs page (reliability, benchmarks, ...) is defined."""
    defined = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        defined |= set(re.findall(r"^def (test_\w+)", path.read_text("utf-8"), re.M))
    cited = set()
    for path in (ROOT / "docs").rglob("*.rst"):
        cited |= set(re.findall(r"``(?:[\w/.]*::)?(test_\w+)", path.read_text("utf-8")))
    assert cited and not cited - defined, sorted(cited - defined)
