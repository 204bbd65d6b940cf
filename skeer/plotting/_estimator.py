"""Comparisons of a fitted verifier, for the ``from_estimator`` constructors."""

import textwrap

from skeer.metrics._rates import verification_pairs

_PROTOCOLS = ("open_set", "fixed_text", "closed_set")


def _from_estimator(cls, estimator, X, y, protocol, protocol_params, **kwargs):
    """``cls.from_predictions`` on a fitted verifier's comparisons on (X, y)."""
    if protocol not in _PROTOCOLS:
        raise ValueError(f"protocol must be one of {_PROTOCOLS}, got {protocol!r}.")
    if protocol == "closed_set":
        if protocol_params:
            raise ValueError(
                "protocol_params are for the open_set and fixed_text protocols."
            )
        if not hasattr(estimator, "decision_function"):
            raise ValueError(
                "protocol='closed_set' needs an estimator with decision_function "
                f"and classes_; {type(estimator).__name__} has none."
            )
        scores = estimator.decision_function(X)
        y_binary, scores = verification_pairs(y, scores, labels=estimator.classes_)
    else:
        from skeer.evaluation import _fixed_text, _protocols

        params = {"n_bootstraps": 0, "verbose": False, **(protocol_params or {})}
        evaluate = _fixed_text.evaluate_fixed_text
        if protocol == "open_set":
            params.setdefault("fmr_levels", ())
            evaluate = _protocols.evaluate_verification
        _, y_binary, scores = evaluate(estimator, X, y, return_scores=True, **params)
    return cls.from_predictions(y_binary, scores, **kwargs)


def _final_step(estimator):
    """The estimator itself, or a Pipeline's final estimator."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def _estimator_name(estimator):
    return type(_final_step(estimator)).__name__


_FROM_ESTIMATOR_PARAMS = """
estimator : fitted estimator
    A fitted verifier (:class:`~skeer.KeystrokeVerifier`, a detector of
    :mod:`skeer.baselines`, or a ``Pipeline`` ending in one).
X, y : array-like
    Test samples (sessions or vectors) and the subject of each.
protocol : {"open_set", "fixed_text", "closed_set"}, default="open_set"
    ``"open_set"``: the comparisons of :func:`skeer.evaluation.evaluate_verification`,
    ``"fixed_text"``: of :func:`skeer.evaluation.evaluate_fixed_text`,
    ``"closed_set"``: ``decision_function(X)`` against every subject of ``classes_``.
protocol_params : dict, default=None
    Keyword arguments of the protocol function; no bootstrap by default."""


def _from_estimator_doc(func):
    """Insert the parameters shared by the ``from_estimator`` methods."""
    params = textwrap.indent(_FROM_ESTIMATOR_PARAMS, " " * 8)
    if func.__doc__:  # None under python -OO
        func.__doc__ = func.__doc__.replace("\n        {params}\n", params + "\n")
    return func
