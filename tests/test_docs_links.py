"""The documentation links to scikit-learn, PyTorch, NumPy, skorch... offline too.

``docs/conf.py`` maps each project to its site (intersphinx) with a fallback on
the inventories of ``docs/_intersphinx/``, which ``make_inventories.py`` there
writes. The fast tests check those files: they load, they are the script's, and
they list every object of these projects that ``docs/`` and ``skeer/`` refer to,
so the links are made where the sites cannot be reached. The slow one builds the
site offline (``SKEER_DOCS_OFFLINE=1``, from a copy, as tests/test_docs.py does)
and looks for the links in the HTML.
"""

import importlib
import io
import os
import posixpath
import re
import runpy
import shutil
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import pytest

sphinx_inventory = pytest.importorskip(
    "sphinx.util.inventory", reason="the docs extra is not installed"
)
pytest.importorskip("numpydoc", reason="the docs extra is not installed")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
INTERSPHINX = DOCS / "_intersphinx"
_BUILD_ARTIFACTS = shutil.ignore_patterns(
    "_build", "auto_examples", "generated", "gen_modules", "sg_execution_times.rst"
)

# :class:`~sklearn.pipeline.Pipeline`, :func:`Curve <sklearn.metrics.det_curve>`
_PY_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|attr|mod|obj|data|exc):`"
    r"(?:[^`<]*<)?[~.!]?([A-Za-z_][\w.]*)>?`"
)


@pytest.fixture(scope="module")
def conf(tmp_path_factory):
    """The namespace of docs/conf.py, run from a copy (it writes generated/)."""
    if not (DOCS / "conf.py").exists():
        pytest.skip("docs/conf.py not found (not a source checkout)")
    work = tmp_path_factory.mktemp("conf")
    shutil.copy(DOCS / "conf.py", work / "conf.py")
    environ = dict(os.environ)  # conf.py sets a few variables and filters
    try:
        with warnings.catch_warnings():
            return runpy.run_path(str(work / "conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(scope="module")
def script():
    path = INTERSPHINX / "make_inventories.py"
    if not path.exists():
        pytest.skip("docs/_intersphinx/ not found (not a source checkout)")
    return runpy.run_path(str(path))


def _load(path):
    """{(role, name): (project, uri, dispname)} of an inventory file."""
    data = path.read_bytes()
    if hasattr(sphinx_inventory.InventoryFile, "loads"):  # Sphinx >= 8.2
        inventory = sphinx_inventory.InventoryFile.loads(data, uri="").data
    else:
        inventory = sphinx_inventory.InventoryFile.load(
            io.BytesIO(data), "", posixpath.join
        )
    entries = {}
    for role, objects in inventory.items():
        for name, item in objects.items():
            if hasattr(item, "uri"):
                entries[role, name] = (item.project_name, item.uri, item.display_name)
            else:  # a tuple before Sphinx 8.2
                entries[role, name] = (item[0], item[2], item[3])
    return entries


@pytest.fixture(scope="module")
def inventories():
    return {path.stem: _load(path) for path in sorted(INTERSPHINX.glob("*.inv"))}


def test_inventories_are_those_of_the_mapping(conf, inventories):
    mapping = conf["intersphinx_mapping"]
    assert set(inventories) == set(mapping)
    for name, (url, locations) in mapping.items():
        assert url.startswith("https://"), name
        locations = (locations,) if isinstance(locations, str) else locations
        # the site first, unless SKEER_DOCS_OFFLINE is set; the file in any case
        assert locations[-1] == f"_intersphinx/{name}.inv"
        assert (DOCS / locations[-1]).is_file()


def test_inventories_are_the_scripts(script, inventories):
    """A .inv file is regenerated with make_inventories.py when it is edited."""
    assert set(inventories) == set(script["INVENTORIES"])
    for name, (project, entries) in script["INVENTORIES"].items():
        data = (INTERSPHINX / f"{name}.inv").read_bytes()
        header, _, compressed = data.partition(b"compressed using zlib.\n")
        expected = script["inventory_bytes"](project, entries)
        expected_header, _, expected_compressed = expected.partition(
            b"compressed using zlib.\n"
        )
        # compare the text: another zlib may compress the same text differently
        assert header == expected_header, name
        assert zlib.decompress(compressed) == zlib.decompress(expected_compressed), (
            f"docs/_intersphinx/{name}.inv is out of date: run "
            "python docs/_intersphinx/make_inventories.py"
        )
        assert len(inventories[name]) == len(entries), f"{name}: duplicate entries"


def test_inventory_entries(inventories):
    for name, entries in inventories.items():
        assert entries, name
        for (role, obj), (_, uri, _) in entries.items():
            # relative to the project's base URL, which intersphinx prepends
            assert "://" not in uri and not uri.startswith("/"), (name, obj, uri)
            assert re.fullmatch(r"[\w./-]+\.html#[\w.-]+", uri), (name, obj, uri)
            assert role.partition(":")[0] in {"py", "std"}, (name, obj, role)
            if role.startswith("py:") and name != "python":
                # the project's own objects only
                assert obj == name or obj.startswith(f"{name}."), (name, obj)


def _defining_name(target):
    """``skorch.net.NeuralNet`` for ``skorch.NeuralNet`` (as conf.py retries)."""
    parts = target.split(".")
    for k in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for attr in parts[k:]:
            obj = getattr(obj, attr, None)
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        return f"{module}.{qualname}" if module and qualname else None
    return None


def _source_files():
    skip = {"_build", "generated", "auto_examples", "gen_modules"}
    for path in sorted(DOCS.rglob("*.rst")):
        if not skip & set(path.relative_to(DOCS).parts):
            yield path
    yield from sorted((ROOT / "skeer").rglob("*.py"))
    yield from sorted((ROOT / "examples").rglob("*.py"))


def test_references_to_other_projects_have_an_offline_entry(conf, inventories):
    """A new :class:`sklearn...` reference needs a line in make_inventories.py."""
    projects = set(conf["intersphinx_mapping"]) - {"python"}
    documented = {obj for entries in inventories.values() for _, obj in entries}
    missing = set()
    for path in _source_files():
        for target in _PY_ROLE.findall(path.read_text(encoding="utf-8")):
            if target.partition(".")[0] not in projects or target in documented:
                continue
            if _defining_name(target) not in documented:
                missing.add(f"{target} ({path.relative_to(ROOT)})")
    assert not missing, (
        "referenced objects missing from docs/_intersphinx/make_inventories.py: "
        f"{sorted(missing)}"
    )


_ROLE_TARGET = re.compile(r":(\w+):`(?:[^`<]*<)?([^`<>]+)>?`")


def test_type_aliases_resolve_offline(conf, inventories):
    """numpydoc's links of parameter types: a missing :term: or :ref: warns."""
    from numpydoc.xref import DEFAULT_LINKS

    aliases = {**DEFAULT_LINKS, **conf["numpydoc_xref_aliases"]}
    by_role = {}
    for name, entries in inventories.items():
        for role, obj in entries:
            by_role.setdefault(role.partition(":")[2], set()).update(
                {obj, f"{name}:{obj}"}
            )
    py_objects = set().union(
        *(objs for role, objs in by_role.items() if role not in {"term", "label"})
    )
    unresolved = []
    for alias, value in aliases.items():
        match = _ROLE_TARGET.fullmatch(value)
        role, target = match.groups() if match else ("obj", value)
        if role == "ref":
            known = by_role.get("label", set())
        elif role == "term":
            known = by_role.get("term", set())
        else:
            known = py_objects
        if target not in known:
            unresolved.append(f"{alias} -> {value}")
    assert not unresolved, unresolved


@pytest.fixture(scope="module")
def offline_site(tmp_path_factory):
    if not (DOCS / "conf.py").exists():
        pytest.skip("docs/conf.py not found (not a source checkout)")
    for module in ("sphinx_gallery", "pydata_sphinx_theme"):
        pytest.importorskip(module, reason="the docs extra is not installed")
    work = tmp_path_factory.mktemp("docs")
    shutil.copytree(DOCS, work / "docs", ignore=_BUILD_ARTIFACTS)
    shutil.copytree(ROOT / "examples", work / "examples", ignore=_BUILD_ARTIFACTS)
    out = work / "html"
    cmd = [
        *(sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q"),
        *("-b", "html", "-D", "plot_gallery=0", "-d", str(work / "doctrees")),
        *(str(work / "docs"), str(out)),
    ]
    env = {**os.environ, "MPLBACKEND": "Agg", "SKEER_DOCS_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    return proc, out


def _links(page):
    return set(re.findall(r'href="(https://[^"]+)"', page.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_offline_build_links_to_other_projects(conf, offline_site):
    proc, offline_site = offline_site
    assert proc.returncode == 0, (
        f"the offline build failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}"
    )
    urls = conf["INTERSPHINX_URLS"]
    links = set().union(*(_links(page) for page in offline_site.rglob("*.html")))
    for url in urls.values():
        assert any(link.startswith(url) for link in links), f"no link into {url}"
    for name, obj, page in [
        ("sklearn", "sklearn.pipeline.Pipeline", "modules/generated/{}.html"),
        ("sklearn", "sklearn.utils.Bunch", "modules/generated/{}.html"),
        ("torch", "torch.nn.Module", "generated/{}.html"),
        ("numpy", "numpy.ndarray", "reference/generated/{}.html"),
        ("skorch", "skorch.net.NeuralNet", "net.html"),
    ]:
        link = f"{urls[name]}{page.format(obj)}#{obj}"
        assert link in links, link

    # the estimator's page: types (numpydoc) and a skorch re-export
    verifier = _links(offline_site / "generated/skeer.verifier.KeystrokeVerifier.html")
    for name in ("torch", "numpy", "skorch", "python"):
        assert any(link.startswith(urls[name]) for link in verifier), name
    assert f"{urls['skorch']}net.html#skorch.net.NeuralNet" in verifier
