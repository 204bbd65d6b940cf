"""Templates: enrol G samples, score a probe, threshold at an operating point.

Every subject is enrolled as a :class:`Templates` object
(:class:`GeometryTemplates` in one of :data:`GEOMETRIES`, or
:class:`ModelTemplates`); the verifier, the detectors and the protocols all
enrol and score through it. NumPy only.

Examples
--------
>>> import numpy as np
>>> from skeer.templates import GEOMETRIES, make_templates
>>> GEOMETRIES
('cosine', 'scaled_manhattan', 'manhattan', 'euclidean')
>>> F = np.eye(4, dtype=np.float32)
>>> t = make_templates(F, np.array([0, 0, 1, 1]), 2, "euclidean")
>>> t.center.shape, t.matrix(F[:1]).shape
((2, 4), (1, 2))
"""

from skeer.templates._enrol import GEOMETRIES, threshold_at
from skeer.templates._templates import (
    GeometryTemplates,
    ModelTemplates,
    Templates,
    make_templates,
)

__all__ = [
    "GEOMETRIES",
    "GeometryTemplates",
    "ModelTemplates",
    "Templates",
    "make_templates",
    "threshold_at",
]
