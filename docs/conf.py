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
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
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
numpydoc_xref_param_type = False

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
    # before numpydoc (priority 500) parses the sections
    app.connect("autodoc-process-docstring", _escape_type_references, priority=400)
    app.connect("autodoc-skip-member", _skip_members)
