"""Write the offline intersphinx inventories of ``docs/_intersphinx/``.

The documentation links to the API references of the projects skeer builds on
(``intersphinx_mapping`` in ``docs/conf.py``). Sphinx reads the real inventory,
``objects.inv``, of each project from its website first; where that cannot be
reached (no network: a sandbox, a CI job without internet access) it falls back
to the ``<name>.inv`` file of this folder, so the links are made offline as well
and the build stays free of warnings. Set ``SKEER_DOCS_OFFLINE=1`` to skip the
network and use these files only.

These files are not copies of the real inventories: they list only the objects
that skeer's documentation refers to -- roles such as
``:class:`sklearn.pipeline.Pipeline``` in ``docs/`` and in the docstrings, the
types of numpydoc parameter lists (``numpydoc_xref_aliases`` in ``docs/conf.py``)
and the names that the gallery examples call -- with their addresses on the
projects' sites, relative to the base URL of ``intersphinx_mapping``.
``tests/test_docs_links.py`` fails when a reference in ``docs/`` or ``skeer/``
has no entry here, or when a ``.inv`` file is out of date with this script.

To add an object, add it to ``INVENTORIES`` below and regenerate the files::

    python docs/_intersphinx/make_inventories.py

then commit the script and the ``.inv`` files together. The format is Sphinx's
inventory version 2: four header lines, then zlib-compressed lines
``name domain:role priority uri display-name`` (``-`` when the display name is
the name itself). To check the entries against a real inventory, where there is
network::

    python -m sphinx.ext.intersphinx https://scikit-learn.org/stable/objects.inv
"""

import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _py(names, role, page):
    """Entries of Python objects on ``page`` (``{name}``: the object's name)."""
    return [
        (name, f"py:{role}", 1, f"{page.format(name=name)}#{name}", "-")
        for name in names.split()
    ]


def _entry(name, role, uri, priority=1, dispname="-"):
    return [(name, role, priority, uri, dispname)]


# name -> (project name shown in the link tooltips, entries); the names are the
# keys of ``intersphinx_mapping`` in docs/conf.py.
INVENTORIES = {
    # numpydoc's default aliases of parameter types (int, str, iterable, ...)
    "python": (
        "Python",
        _py("None True False", "data", "library/constants.html")
        + _py("bool int float", "class", "library/functions.html")
        + _py("str list tuple dict", "class", "library/stdtypes.html")
        + _py("callable", "function", "library/functions.html")
        + _py("pathlib.Path", "class", "library/pathlib.html")
        + _py("contextlib.contextmanager", "function", "library/contextlib.html")
        + _py("collections.namedtuple", "function", "library/collections.html")
        + _entry("iterable", "std:term", "glossary.html#term-iterable", -1)
        + _entry("sequence", "std:term", "glossary.html#term-sequence", -1)
        + _entry("generator", "std:term", "glossary.html#term-generator", -1)
        + _entry(
            "path-like object", "std:term", "glossary.html#term-path-like-object", -1
        )
        + _entry(
            "bltin-boolean-values",
            "std:label",
            "library/stdtypes.html#bltin-boolean-values",
            -1,
            "Boolean Type - bool",
        ),
    ),
    "numpy": (
        "NumPy",
        _py("numpy.ndarray", "class", "reference/generated/{name}.html")
        + _py(
            "numpy.array numpy.arange numpy.array_equal numpy.einsum "
            "numpy.flatnonzero numpy.histogram_bin_edges numpy.isin numpy.linspace "
            "numpy.mean numpy.round numpy.save numpy.searchsorted "
            "numpy.unique numpy.zeros",
            "function",
            "reference/generated/{name}.html",
        )
        + _py("numpy.int64", "attribute", "reference/arrays.scalars.html")
        + _py("numpy.inf numpy.nan", "data", "reference/constants.html")
        + _py("numpy.random.Generator", "class", "reference/random/generator.html")
        + _py("numpy.random.default_rng", "function", "reference/random/generator.html")
        + _py("numpy.random.RandomState", "class", "reference/random/legacy.html")
        + _entry("numpy", "py:module", "reference/index.html#module-numpy", 0)
        + _entry(
            "numpy.lib.format",
            "py:module",
            "reference/generated/numpy.lib.format.html#module-numpy.lib.format",
            0,
        )
        + _entry("array_like", "std:term", "glossary.html#term-array_like", -1)
        + _entry(
            "arrays.scalars",
            "std:label",
            "reference/arrays.scalars.html#arrays-scalars",
            -1,
            "Scalars",
        ),
    ),
    "pandas": (
        "pandas",
        _py("pandas.DataFrame pandas.Series", "class", "reference/api/{name}.html"),
    ),
    "matplotlib": (
        "Matplotlib",
        _py(
            "matplotlib.axes.Axes matplotlib.figure.Figure matplotlib.lines.Line2D "
            "matplotlib.patches.StepPatch",
            "class",
            "api/_as_gen/{name}.html",
        )
        + _py("matplotlib.pyplot.subplots", "function", "api/_as_gen/{name}.html"),
    ),
    "sklearn": (
        "scikit-learn",
        _py(
            "sklearn.metrics.DetCurveDisplay sklearn.model_selection.GridSearchCV "
            "sklearn.model_selection.GroupKFold sklearn.pipeline.Pipeline "
            "sklearn.svm.OneClassSVM sklearn.utils.Bunch",
            "class",
            "modules/generated/{name}.html",
        )
        + _py(
            "sklearn.covariance.ledoit_wolf sklearn.covariance.shrunk_covariance "
            "sklearn.metrics.det_curve sklearn.metrics.get_scorer "
            "sklearn.metrics.roc_auc_score "
            "sklearn.metrics.roc_curve sklearn.model_selection.train_test_split "
            "sklearn.pipeline.make_pipeline",
            "function",
            "modules/generated/{name}.html",
        ),
    ),
    "torch": (
        "PyTorch",
        _py(
            "torch.nn.Module torch.nn.MultiheadAttention",
            "class",
            "generated/{name}.html",
        )
        + _py("torch.Tensor", "class", "tensors.html")
        + _py("torch.device", "class", "tensor_attributes.html")
        + _entry("torch", "py:module", "torch.html#module-torch", 0)
        + _entry("torch.optim", "py:module", "optim.html#module-torch.optim", 0),
    ),
    "skorch": (
        "skorch",
        _py("skorch.net.NeuralNet", "class", "net.html")
        + _py("skorch.history.History", "class", "history.html")
        + _py("skorch.hf.AccelerateMixin", "class", "hf.html"),
    ),
}


def inventory_bytes(project, entries):
    """The bytes of a version-2 Sphinx inventory listing ``entries``."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        # no version: the links' tooltips read "(in scikit-learn)"
        "# Version: \n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = "".join(
        f"{name} {role} {priority} {uri} {dispname}\n"
        for name, role, priority, uri, dispname in sorted(entries)
    )
    return header.encode() + zlib.compress(lines.encode(), 9)


def main(out=HERE):
    out = Path(out)
    for name, (project, entries) in INVENTORIES.items():
        target = out / f"{name}.inv"
        data = inventory_bytes(project, entries)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
            print(f"wrote {target} ({len(entries)} objects)")


if __name__ == "__main__":
    main(*sys.argv[1:])
