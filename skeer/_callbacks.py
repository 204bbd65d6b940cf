"""The verifier's skorch callbacks: held-out EER, lr schedule, early stopping."""

import math
import warnings

import numpy as np
from skorch.callbacks import Callback, EarlyStopping

from .metrics import UnreliableMetricWarning, equal_error_rate

#: Epochs in the window of ``valid_eer_smooth`` (the early-stopping monitor).
SMOOTHING_WINDOW = 3


class ValidationEER(Callback):
    """Record ``valid_eer``: the open-set EER on the held-out identities.

    It is :func:`~skeer.protocols.evaluate_verification`'s global EER with
    ``n_enroll`` enrolment samples and every later sample probing, in the
    verifier's own template geometry (the one ``threshold_`` is set in).
    ``valid_eer_smooth`` is its mean over the last :data:`SMOOTHING_WINDOW`
    epochs (fewer at the start): the curve early stopping watches, so that
    one lucky epoch neither ends training nor is the one kept.
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
        recent = [
            h["valid_eer"]
            for h in net.history[-SMOOTHING_WINDOW:]
            if h.get("valid_eer") is not None
        ]
        net.history.record("valid_eer_smooth", float(np.mean(recent)))


class LearningRateSchedule(Callback):
    """Set the learning rate before every training batch.

    Linear warm-up from ``lr / (warmup steps)`` to ``lr`` over the first
    ``net.warmup_epochs`` epochs, then (``net.lr_schedule == "cosine"``) a
    cosine decay to 0 at the end of epoch ``net.max_epochs``; ``"constant"``
    keeps ``lr`` after the warm-up; ``None`` leaves the learning rate to the
    optimizer and to other callbacks (e.g. skorch's ``LRScheduler``). The step
    count restarts at every ``fit`` call. Each epoch's last learning rate is
    recorded as ``lr`` in the history.
    """

    def on_train_begin(self, net, **kwargs):
        self.step_ = 0
        self.steps_per_epoch_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.steps_per_epoch_ is None and dataset_train is not None:
            self.steps_per_epoch_ = len(
                net.get_batch_sampler(dataset_train, training=True)
            )

    def factor(self, net, step):
        """The multiplier of ``lr`` at training step ``step`` (0-based)."""
        per_epoch = self.steps_per_epoch_ or 1
        warmup = net.warmup_epochs * per_epoch
        if step < warmup:
            return (step + 1) / math.ceil(warmup)
        if net.lr_schedule == "constant":
            return 1.0
        total = max(net.max_epochs * per_epoch - warmup, 1)
        progress = min((step - warmup) / total, 1.0)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training or net.lr_schedule is None:
            return
        lr = net.lr * self.factor(net, self.step_)
        for name in net._optimizers:
            for group in getattr(net, name + "_").param_groups:
                group["lr"] = lr
        self.last_lr_ = lr
        self.step_ += 1

    def on_epoch_end(self, net, **kwargs):
        if getattr(self, "last_lr_", None) is not None:
            net.history.record("lr", self.last_lr_)


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
