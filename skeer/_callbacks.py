"""The verifier's skorch callbacks: held-out EER, early stopping, divergence."""

import warnings

import numpy as np
from skorch.callbacks import Callback, EarlyStopping

from .metrics import UnreliableMetricWarning, equal_error_rate


class ValidationEER(Callback):
    """Record ``valid_eer``: the open-set EER on the held-out identities.

    It is :func:`~skeer.protocols.evaluate_verification`'s global EER with
    ``n_enroll`` enrolment samples and every later sample probing, in the
    verifier's own template geometry (the one ``threshold_`` is set in).
    """

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None:
            return
        F = net._template_features(dataset_valid.X, validate=False)
        y_true, scores = net._open_set_scores(F, dataset_valid.y)
        if y_true is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreliableMetricWarning)
            eer = equal_error_rate(y_true, scores)
        net.history.record("valid_eer", float(eer))


class TrainingDivergedError(ValueError):
    """Training produced a non-finite loss or embedding (e.g. a too high ``lr``).

    Raised by :meth:`KeystrokeVerifier.fit` at the first non-finite training
    loss, naming the epoch; a ``ValueError``, so existing handlers catch it.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.verifier import KeystrokeVerifier, TrainingDivergedError
    >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
    >>> y = np.repeat(np.arange(4), 10)
    >>> try:
    ...     KeystrokeVerifier(lr=1e30, optimizer=__import__("torch").optim.SGD,
    ...                       validation_size=0, random_state=0).fit(X, y)
    ... except TrainingDivergedError as exc:
    ...     print(str(exc).split(":")[0])
    Training diverged at epoch 1
    """


TrainingDivergedError.__module__ = "skeer.verifier"  # its public home


class DivergenceCheck(Callback):
    """Stop at the first non-finite training loss, saying where and why.

    skorch already reads every batch loss back to the host to record it, so
    the check costs nothing more.
    """

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        loss = net.history[-1, "batches", -1].get("train_loss")
        if loss is not None and not np.isfinite(loss):
            raise TrainingDivergedError(
                f"Training diverged at epoch {len(net.history)}: the training loss "
                f"is {loss}. Lower lr (now {net.lr}), or use amp=False."
            )


class TolerantEarlyStopping(EarlyStopping):
    """skorch's EarlyStopping, idle when no ``valid_eer`` is recorded.

    Whether a fit has held-out identities is known only once it has seen
    ``y``; without them there is nothing to monitor and training runs all
    ``max_epochs``.
    """

    def on_epoch_end(self, net, **kwargs):
        if self.monitor not in net.history[-1]:
            return None
        return super().on_epoch_end(net, **kwargs)

    def on_train_end(self, net, **kwargs):
        if self.load_best and getattr(self, "best_model_weights_", None) is None:
            return None
        return super().on_train_end(net, **kwargs)
