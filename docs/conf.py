"""Sphinx configuration of the skeer documentation.

Build the site with ``sphinx-build -W --keep-going -b html docs docs/_build/html``
(``docs/build.sh``); add ``-D plot_gallery=0`` to skip running the examples.
"""

import inspect
import os
import re
import warnings
from pathlib import Path

# The gallery examples run inside this process. On a busy machine (CI runners,
# shared servers) OpenMP threads that busy-wait for work make PyTorch's CPU
# training several times slower; passive waiting costs nothing on an idle one.
# Set before torch is first imported (``import skeer`` below may import it).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import skeer

DOCS = Path(__file__).resolve().parent

# -- Project -----------------------------------------------------------------
project = "skeer"
author = "The skeer developers"
copyright = "the skeer developers, BSD-3-Clause"
version = release = skeer.__version__

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_intersphinx",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
]
root_doc = "index"
default_role = "literal"
nitpicky = False

# -- API reference -------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"
# skorch's own docstrings are not skeer's: an overridden hook without a docstring
# stays undocumented instead of inheriting the parent's text.
autodoc_inherit_docstrings = False

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- Links to the documentation of other projects ----------------------------------
# Each inventory (the list of a project's documented objects and their addresses)
# is read from the project's site first and, where that cannot be reached (no
# network), from _intersphinx/<name>.inv: a subset of the real inventory listing
# the objects these pages refer to, written by _intersphinx/make_inventories.py.
# A failed download with a working fallback is not a warning, so the build passes
# with -W either way. SKEER_DOCS_OFFLINE=1 skips the download.
INTERSPHINX_URLS = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "pandas": "https://pandas.pydata.org/docs/",
    "matplotlib": "https://matplotlib.org/stable/",
    "sklearn": "https://scikit-learn.org/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "skorch": "https://skorch.readthedocs.io/en/stable/",
}
_OFFLINE = os.environ.get("SKEER_DOCS_OFFLINE", "").strip() not in ("", "0")
intersphinx_mapping = {
    name: (url, (() if _OFFLINE else (None,)) + (f"_intersphinx/{name}.inv",))
    for name, url in INTERSPHINX_URLS.items()
}
intersphinx_timeout = 10  # seconds; an unreachable site falls back to the file
# Download the real inventories on every build: a cached one would be replaced by
# the local subset (Sphinx always reads local files) on the next build.
intersphinx_cache_limit = 0

# Parameter types link to their documentation: numpydoc's aliases (int, str, bool,
# ndarray, array-like, ...) and those below; other words stay plain text.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
_LINKED_TYPES = (
    "matplotlib.axes.Axes",
    "matplotlib.figure.Figure",
    "matplotlib.lines.Line2D",
    "matplotlib.patches.StepPatch",
    "numpy.ndarray",
    "pandas.DataFrame",
    "pathlib.Path",
    "torch.device",
    "torch.nn.Module",
    "torch.Tensor",
)
numpydoc_xref_aliases = {
    **{name: f":class:`{name}`" for name in _LINKED_TYPES},
    "array-like": ":term:`array-like <numpy:array_like>`",
    "Bunch": "sklearn.utils.Bunch",
    "DataFrame": "pandas.DataFrame",
    "Generator": "numpy.random.Generator",
    "History": "skorch.history.History",
    "path-like": ":term:`path-like <python:path-like object>`",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "Series": "pandas.Series",
    "Tensor": "torch.Tensor",
    "Tensors": "torch.Tensor",
}

# -- Example gallery -----------------------------------------------------------
# Run the examples headless; keep matplotlib's font cache quiet.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings(
    "ignore",
    message="Matplotlib is currently using agg",
    category=UserWarning,
)

sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skeer",),
    "reference_url": {"skeer": None},
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "abort_on_example_error": False,
    "show_signature": False,
    # a plotting function's returned Axes is not worth printing
    "ignore_repr_types": r"matplotlib\.(text|axes|figure)",
}

# -- Command-line reference ------------------------------------------------------
# The option lists of docs/cli.rst are the ``--help`` texts of the installed
# ``skeer`` command, so they cannot drift from the code.
CLI_COMMANDS = ("train", "evaluate", "bench", "kvc-predict")


def _write_cli_help():
    import contextlib
    import io

    from skeer.cli import main

    out = DOCS / "generated" / "cli"
    out.mkdir(parents=True, exist_ok=True)
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"
    try:
        for command in ("", *CLI_COMMANDS):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                main([command, "--help"] if command else ["--help"])
            text = buffer.getvalue()
            if not text.strip():
                raise RuntimeError(f"'skeer {command} --help' printed nothing")
            target = out / f"{command or 'skeer'}.txt"
            if not target.exists() or target.read_text() != text:
                target.write_text(text)
    finally:
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns


_write_cli_help()

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skeer {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_context = {"default_mode": "light"}


# -- Cross-references to top-level names -------------------------------------------
# ``skeer.EERLoss`` is documented where it is defined, ``skeer.losses.EERLoss``.
# Resolve references written with the short, top-level path (in docstrings and in
# the user guide) to the documented object instead of leaving them unlinked.
def _top_level_modules():
    names = {}
    for name in skeer.__all__:
        if name.startswith("_"):
            continue
        obj = getattr(skeer, name)
        if inspect.ismodule(obj):
            continue
        module = getattr(obj, "__module__", None)
        if module and module.startswith("skeer."):
            names[name] = module
    return names


_TOP_LEVEL = _top_level_modules()


def _resolve_top_level(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if target.startswith("skeer."):
        target = target[len("skeer.") :]
    head, _, rest = target.partition(".")
    if head not in _TOP_LEVEL:
        return None
    new_target = f"{_TOP_LEVEL[head]}.{head}" + (f".{rest}" if rest else "")
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], new_target, node, contnode
    )


# ``skorch.NeuralNet`` is documented as ``skorch.net.NeuralNet``, where it is
# defined: retry an unresolved reference to another project's object with the name
# of the module that defines it (a no-op where that name is not documented either).
def _defining_name(target):
    import importlib

    parts = target.split(".")
    for k in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except Exception:  # not a module, or one that fails to import
            continue
        try:
            for attr in parts[k:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if isinstance(module, str) and isinstance(qualname, str):
            return f"{module}.{qualname}"
        return None
    return None


def _resolve_reexported(app, env, node, contnode):
    from sphinx.ext.intersphinx import missing_reference

    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or target.partition(".")[0] not in (
        set(INTERSPHINX_URLS) - {"python"}
    ):
        return None
    defined = _defining_name(target)
    if defined is None or defined == target:
        return None
    alias = node.deepcopy()
    alias["reftarget"] = defined
    return missing_reference(app, env, alias, contnode)


# -- Docstring tweaks -------------------------------------------------------------
# scikit-learn writes shapes such as ``(n_samples, n_classes_)`` in parameter types;
# to reStructuredText a word ending in "_" is a hyperlink reference. Escape it in
# the type part of numpydoc "name : type" lines only (descriptions use literals).
_TYPE_LINE = re.compile(r"^(\s*[\w*][\w*, ]* : )(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"\b([A-Za-z]\w*[A-Za-z0-9])_(?=[\s,)\]]|$)")


def _escape_type_references(app, what, name, obj, options, lines):
    for k, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match and "``" not in match.group(2) and "`" not in match.group(2):
            lines[k] = match.group(1) + _TRAILING_UNDERSCORE.sub(
                r"\1\\_", match.group(2)
            )


# sklearn's generated ``set_*_request`` methods (metadata routing) document
# sklearn's machinery with references to its own glossary; they are not skeer's.
def _skip_members(app, what, name, obj, skip, options):
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("missing-reference", _resolve_top_level)
    # after intersphinx's own look-up (priority 500)
    app.connect("missing-reference", _resolve_reexported, priority=600)
    # before numpydoc (priority 500) parses the sections
    app.connect("autodoc-process-docstring", _escape_type_references, priority=400)
    app.connect("autodoc-skip-member", _skip_members)
