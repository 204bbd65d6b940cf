"""Verifiers trained by skeer, shipped in the package: enrol and verify today.

:func:`load_pretrained` returns a fitted ``Pipeline`` with nobody enrolled:
enrol your own people from a few raw sessions each and verify their claims,
without training. Each model has a card (:func:`model_card`);
``benchmarks/make_pretrained.py`` reproduces the files.

Examples
--------
>>> from skeer.pretrained import PRETRAINED, load_pretrained
>>> PRETRAINED
('aalto-typenet',)
>>> model = load_pretrained("aalto-typenet")
>>> model[-1].classes_.size  # nobody enrolled yet
0
"""

from importlib import resources

__all__ = ["PRETRAINED", "load_pretrained", "model_card"]

#: Names of the shipped models.
PRETRAINED = ("aalto-typenet",)


def _file(name, suffix):
    if not isinstance(name, str) or name not in PRETRAINED:
        raise ValueError(
            f"Unknown pretrained model {name!r}; the shipped ones are: "
            f"{', '.join(map(repr, PRETRAINED))}."
        )
    return resources.files(__name__) / f"{name}{suffix}"


def load_pretrained(name="aalto-typenet", *, map_location="cpu"):
    """A shipped verifier, fitted, with nobody enrolled.

    Parameters
    ----------
    name : str, default="aalto-typenet"
        One of :data:`PRETRAINED`. ``"aalto-typenet"``: free-text TypeNet, default
        recipe, all 1,565 Aalto development users (see its card).
    map_location : str, default="cpu"
        Device of the network (``"cuda"`` to score on a GPU).

    Returns
    -------
    model : sklearn.pipeline.Pipeline
        ``KeystrokeFeatures`` then ``KeystrokeVerifier``. A session is an array
        ``(n_keys, 3)``: press ms, release ms, JavaScript key code. ``threshold_``
        is at the EER of held-out users' 5-session templates: recalibrate it.

    See Also
    --------
    model_card : What the model is, how it was trained, its figures.
    skeer.load : Load a model file of your own.

    Examples
    --------
    >>> from skeer.datasets import make_keystrokes
    >>> from skeer.pretrained import load_pretrained
    >>> model = load_pretrained()
    >>> X, y = make_keystrokes(n_subjects=3, n_sessions=8, random_state=0)
    >>> enrol = [i for i in range(len(y)) if i % 8 < 5]  # 5 sessions each
    >>> _ = model[-1].enroll(model[:-1].transform([X[i] for i in enrol]), y[enrol])
    >>> model.decision_function(X[5:8]).shape
    (3, 3)
    """
    from skeer.persistence import load

    with resources.as_file(_file(name, ".skeer")) as path:
        return load(path, map_location=map_location)


def model_card(name="aalto-typenet"):
    """The model card of a shipped model (Markdown text).

    Parameters
    ----------
    name : str, default="aalto-typenet"
        One of :data:`PRETRAINED`.

    Returns
    -------
    card : str
        Data and terms, training command and commit, figures on people the
        recipe never saw, intended use and known limits.

    Examples
    --------
    >>> from skeer.pretrained import model_card
    >>> model_card().splitlines()[0]
    '# Model card: aalto-typenet'
    """
    return _file(name, ".md").read_text(encoding="utf-8")
