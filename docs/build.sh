#!/usr/bin/env bash
# Build the documentation site with every gallery example executed.
#
#   pip install -e ".[docs]"     # Sphinx, numpydoc, sphinx-gallery, pydata theme
#   docs/build.sh                # -> docs/_build/html/index.html
#
# Warnings are errors (-W); --keep-going reports all of them before failing.
# Extra arguments go to sphinx-build, e.g. `docs/build.sh -D plot_gallery=0` to
# skip running the examples, or `docs/build.sh -E` to rebuild from scratch.
#
# Links to other projects' docs (scikit-learn, PyTorch, NumPy, skorch, ...) use
# their online inventories, or docs/_intersphinx/*.inv where the network cannot
# reach them; `SKEER_DOCS_OFFLINE=1 docs/build.sh` skips the network (conf.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg
# busy-waiting OpenMP threads slow PyTorch down on a loaded machine (see conf.py)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
python -m sphinx -W --keep-going -b html "$@" docs docs/_build/html
echo "Built docs/_build/html/index.html"
