"""Keystroke datasets: loaders of public formats and synthetic data.

Loaders return a :class:`sklearn.utils.Bunch`; a session is a float64 array of
shape (n_keys, 3): press time (ms), release time (ms), key code, in typing order.
Nothing here imports torch.
"""

from skeer.datasets._aalto import load_aalto
from skeer.datasets._base import get_data_home
from skeer.datasets._cmu import fetch_cmu, load_cmu
from skeer.datasets._greyc import load_greyc_nislab
from skeer.datasets._kvc import load_kvc
from skeer.datasets._kvc_predictions import (
    make_kvc_submission,
    read_kvc_predictions,
    write_kvc_predictions,
)
from skeer.datasets._spec import load_dataset, select_subjects
from skeer.datasets._synthetic import make_keystrokes

__all__ = [
    "fetch_cmu",
    "get_data_home",
    "load_aalto",
    "load_cmu",
    "load_dataset",
    "load_greyc_nislab",
    "load_kvc",
    "make_keystrokes",
    "make_kvc_submission",
    "read_kvc_predictions",
    "select_subjects",
    "write_kvc_predictions",
]
