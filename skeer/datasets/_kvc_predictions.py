"""KVC-onGoing predictions: the kit's score files and the submission zip."""

import os
import re
import zipfile
from pathlib import Path

import numpy as np

from skeer.datasets._base import _atomic_file, _check_path
from skeer.datasets._kvc import _SCENARIOS

__all__ = ["make_kvc_submission", "read_kvc_predictions", "write_kvc_predictions"]


def _check_scores(scores, name="scores"):
    try:
        scores = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if scores.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {scores.shape}.")
    if scores.size == 0:
        raise ValueError(f"{name} is empty.")
    bad = np.count_nonzero(~np.isfinite(scores))
    if bad:
        raise ValueError(f"{name} must be finite, got {bad} NaN or infinite values.")
    return scores


def write_kvc_predictions(scores, path):
    """Write comparison scores in the challenge kit's prediction format.

    One line, the Python list of the scores (read back exactly), in the order
    of ``{scenario}_comparisons.txt``, as the kit writes it. Higher means more
    likely the same person.

    Parameters
    ----------
    scores : array-like of shape (n_comparisons,)
        Finite similarity scores, one per comparison.
    path : str or path-like
        File to write (overwritten), e.g. ``desktop_predictions.txt``.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If ``scores`` is not a non-empty 1-D array of finite numbers.

    See Also
    --------
    make_kvc_submission : Zip the prediction files into the archive submitted.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import write_kvc_predictions
    >>> out = Path(tempfile.mkdtemp()) / "desktop_predictions.txt"
    >>> _ = write_kvc_predictions([0.9, 0.25, 1 / 3], out)
    >>> out.read_text()
    '[0.9, 0.25, 0.3333333333333333]'
    """
    scores = _check_scores(scores)
    path = Path(path)
    path.write_text(str(scores.tolist()), encoding="ascii")
    return path


#: The largest prediction file read from a submission zip (uncompressed).
_MAX_PREDICTIONS_BYTES = 512 * 2**20


def read_kvc_predictions(path):
    """Read predictions: a ``{scenario}_predictions.txt`` file or a submission zip.

    Parameters
    ----------
    path : str or path-like
        A prediction file (the kit's one-line list, or one score a line), or
        a zip as :func:`make_kvc_submission` writes.

    Returns
    -------
    scores : ndarray of shape (n_comparisons,), float64, or dict
        The scores, in file order; for a zip, ``{scenario: scores}``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a file holds anything but finite scores, or a zip other files.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import read_kvc_predictions, write_kvc_predictions
    >>> out = Path(tempfile.mkdtemp())
    >>> read_kvc_predictions(write_kvc_predictions([0.5, -1.25], out / "m.txt"))
    array([ 0.5 , -1.25])
    """
    path = _check_path(path, "path")
    if not path.is_file():  # a FIFO would block the reads below forever
        raise ValueError(
            f"path {str(path)!r} is not a regular file (a folder, FIFO or device)."
        )
    if zipfile.is_zipfile(path):
        return _read_submission(path)
    with open(path, "rb") as fh:
        return _read_predictions(fh, path.name)


def _read_predictions(fh, name):
    """Scores of an open file, read bounded: it may be huge, or growing."""
    data = fh.read(_MAX_PREDICTIONS_BYTES + 1)
    if len(data) > _MAX_PREDICTIONS_BYTES:
        raise ValueError(
            f"{name} holds more than {_MAX_PREDICTIONS_BYTES:,} bytes, more "
            "than a predictions file of the challenge (a few MB) can be."
        )
    text = data.decode("utf-8", errors="replace").strip()
    if text.startswith("[") and text.endswith("]"):
        tokens = text[1:-1].split(",")
        if tokens and not tokens[-1].strip():
            tokens.pop()  # a trailing comma
    else:
        tokens = text.split()
    number = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
    bad = [t.strip() for t in tokens if not number.fullmatch(t.strip())]
    if bad:
        raise ValueError(
            f"{name}: expected a Python list of numbers on one line (or one "
            f"number a line), found {bad[0][:30]!r} ({len(bad)} invalid value(s))."
        )
    return _check_scores([float(t) for t in tokens], f"the scores of {name}")


def _read_submission(path):
    allowed = {f"{s}_predictions.txt": s for s in ("desktop", "mobile")}
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
        other = [m.filename for m in members if m.filename not in allowed]
        if other or not members:
            raise ValueError(
                f"{path.name}: a KVC-onGoing submission holds only "
                f"desktop_predictions.txt and/or mobile_predictions.txt, found "
                f"{[m.filename for m in members][:5]}."
            )
        out = {}
        for m in members:
            if m.file_size > _MAX_PREDICTIONS_BYTES:
                raise ValueError(
                    f"{path.name}: {m.filename} holds {m.file_size:,} bytes "
                    f"uncompressed, more than the {_MAX_PREDICTIONS_BYTES:,} a "
                    "prediction file can need."
                )
            with zf.open(m) as fh:
                scores = _read_predictions(fh, f"{path.name}:{m.filename}")
            out[allowed[m.filename]] = scores
    return {s: out[s] for s in ("desktop", "mobile") if s in out}


def make_kvc_submission(predictions, path):
    """Zip KVC-onGoing predictions into the archive the challenge accepts.

    It holds ``desktop_predictions.txt`` and/or ``mobile_predictions.txt``,
    in the format of :func:`write_kvc_predictions`.

    Parameters
    ----------
    predictions : dict
        Scenario (``"desktop"`` or ``"mobile"``) -> the scores of its
        comparisons (array-like of shape (n_comparisons,)) or the path of a
        prediction file (read with :func:`read_kvc_predictions`).
    path : str or path-like
        The zip file to write (replaced atomically if it exists).

    Returns
    -------
    path : pathlib.Path
        The archive written.

    Raises
    ------
    ValueError
        If ``predictions`` is not a non-empty dict of valid scores by scenario.
    FileNotFoundError
        If a prediction file named in ``predictions`` does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skeer.datasets import make_kvc_submission, read_kvc_predictions
    >>> out = Path(tempfile.mkdtemp()) / "submission.zip"
    >>> read_kvc_predictions(make_kvc_submission({"mobile": [0.5]}, out))
    {'mobile': array([0.5])}
    """
    if not isinstance(predictions, dict) or not predictions:
        raise ValueError(
            "predictions must be a non-empty dict scenario -> scores (or a "
            f"prediction file), got {type(predictions).__name__}."
        )
    unknown = [k for k in predictions if k not in _SCENARIOS]
    if unknown:
        raise ValueError(
            f"predictions keys must be scenarios {list(_SCENARIOS)}, got {unknown}."
        )
    members = {}
    for scenario in [s for s in _SCENARIOS if s in predictions]:  # a fixed order
        value = predictions[scenario]
        if isinstance(value, str | os.PathLike):
            scores = read_kvc_predictions(value)
        else:
            scores = _check_scores(value, f"predictions[{scenario!r}]")
        members[f"{scenario}_predictions.txt"] = str(scores.tolist())
    path = Path(path)
    with (
        _atomic_file(path, ".zip.tmp", prefix=".") as f,
        zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        for name, text in members.items():
            zf.writestr(name, text)
    return path
