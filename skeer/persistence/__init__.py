"""Save and load fitted verifiers, detectors and pipelines; no code runs on load.

- ``_io``: :func:`save` and :func:`load`;
- ``_model_codec``: the JSON configuration's encoder and decoder;
- ``_model_file``: the checks that a file's parts agree, made before anything
  is allocated.

Classes are stored by name and restored only from the allow-list of
:mod:`skeer.registry`.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> import skeer
>>> from skeer.baselines import ScaledManhattan
>>> X = np.random.default_rng(0).normal(size=(20, 4))
>>> det = ScaledManhattan().fit(X, np.repeat([0, 1], 10))
>>> path = skeer.save(det, os.path.join(tempfile.mkdtemp(), "det.skeer"))
>>> type(skeer.load(path)).__name__
'ScaledManhattan'
"""

from skeer.persistence._io import load, save

__all__ = ["load", "save"]
