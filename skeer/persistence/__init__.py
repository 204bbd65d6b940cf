"""Save and load fitted verifiers, detectors and pipelines; no code runs on load.

Classes are stored by name and restored only from the allow-list of
:mod:`skeer.registry`; a file's parts are checked to agree before anything is
allocated (:ref:`reliability`).

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
