"""Raw typing sessions to padded float32 latency sequences (NumPy only).

- ``_keystroke``: :class:`KeystrokeFeatures` and the session helpers;
- ``_keys``: the key-code encoding and a sequence's length, defined once
  (the networks use them too).

Examples
--------
>>> import numpy as np
>>> from skeer.features import KeystrokeFeatures
>>> session = np.array([[0, 90, 65], [150, 230, 66], [310, 380, 67]], float)
>>> KeystrokeFeatures(max_len=4).fit_transform([session]).shape
(1, 4, 5)
"""

from skeer.features._keystroke import (
    FEATURE_NAMES,
    KeystrokeFeatures,
    key_codes,
    sequence_lengths,
)
from skeer.features._sessions import sessions_from_frame

__all__ = [
    "FEATURE_NAMES",
    "KeystrokeFeatures",
    "key_codes",
    "sequence_lengths",
    "sessions_from_frame",
]
