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

    Linear warm-up from ``base / (warm-up steps)`` to ``base`` over the first
    ``net.warmup_epochs`` epochs, then (``net.lr_schedule == "cosine"``) a
    cosine decay to 0 at the end of epoch ``net.max_epochs_`` (the fit's
    resolved ``max_epochs``); ``"constant"``
    keeps ``base`` after the warm-up; ``None`` leaves the learning rate to the
    optimizer and to other callbacks. ``base`` is each parameter group's own
    rate when the fit starts (``lr``, or ``optimizer__lr``, or a group's rate
    from ``optimizer__param_groups``); a rate this schedule set itself (a
    warm-started fit after an annealed one) is not taken as a new base, one
    set by ``set_params(lr=...)`` is. If the callbacks hold a skorch
    ``LRScheduler``, it owns the rate: this schedule steps aside, with a
    warning unless ``lr_schedule=None``. The step count restarts at every
    ``fit`` call. Each epoch's last rate (of the first parameter group) is
    recorded as ``lr`` in the history.
    """

    def on_train_begin(self, net, **kwargs):
        from skorch.callbacks import LRScheduler

        self.step_ = 0
        self.steps_per_epoch_ = None
        self.last_lr_ = None
        self.active_ = net.lr_schedule is not None
        if self.active_ and any(
            isinstance(cb, LRScheduler) for _, cb in net.callbacks_
        ):
            warnings.warn(
                f"lr_schedule={net.lr_schedule!r} is ignored: the callbacks hold a "
                "skorch LRScheduler, which sets the learning rate. Pass "
                "lr_schedule=None to silence this warning.",
                UserWarning,
                stacklevel=2,
            )
            self.active_ = False
        if not self.active_:
            return
        for group in self._groups(net):
            if "skeer_base_lr" not in group or group["lr"] != group.get(
                "skeer_last_lr"
            ):
                group["skeer_base_lr"] = group["lr"]

    @staticmethod
    def _groups(net):
        for name in net._optimizers:
            yield from getattr(net, name + "_").param_groups

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.steps_per_epoch_ is None and dataset_train is not None:
            if net.batches_per_epoch is not None:
                self.steps_per_epoch_ = net.batches_per_epoch
            else:
                with warnings.catch_warnings():
                    # the sampler of the epoch has said it already
                    warnings.simplefilter("ignore", UserWarning)
                    sampler = net.get_batch_sampler(dataset_train, training=True)
                self.steps_per_epoch_ = len(sampler)

    def factor(self, net, step):
        """The multiplier of the base rate at training step ``step`` (0-based).

        Parameters
        ----------
        net : KeystrokeVerifier
            Its ``warmup_epochs``, ``lr_schedule`` and ``max_epochs``.
        step : int
            Training steps taken in this fit.

        Returns
        -------
        factor : float
            In (0, 1].

        Examples
        --------
        >>> from skeer import KeystrokeVerifier
        >>> from skeer._callbacks import LearningRateSchedule
        >>> sched = LearningRateSchedule()
        >>> sched.steps_per_epoch_ = 10
        >>> net = KeystrokeVerifier(max_epochs=3, warmup_epochs=1)
        >>> [round(sched.factor(net, s), 3) for s in (0, 9, 10, 20, 29)]
        [0.1, 1.0, 1.0, 0.5, 0.006]
        """
        per_epoch = self.steps_per_epoch_ or 1
        # rounded first: 1.1 epochs of 50 steps is 55 steps, not 56
        warmup = math.ceil(round(net.warmup_epochs * per_epoch, 9))
        if step < warmup:
            return (step + 1) / warmup
        if net.lr_schedule == "constant":
            return 1.0
        epochs = getattr(net, "max_epochs_", None)
        if epochs is None:
            epochs = net.max_epochs
        total = max(epochs * per_epoch - warmup, 1)
        progress = min((step - warmup) / total, 1.0)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training or not getattr(self, "active_", False):
            return
        factor = self.factor(net, self.step_)
        for i, group in enumerate(self._groups(net)):
            group["lr"] = group["skeer_last_lr"] = group["skeer_base_lr"] * factor
            if i == 0:
                self.last_lr_ = group["lr"]
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
    ``max_epochs``. skorch stops training by raising ``KeyboardInterrupt``;
    ``stopped_`` tells that stop from a user's Ctrl-C.
    """

    def on_train_begin(self, net, **kwargs):
        self.stopped_ = False
        return super().on_train_begin(net, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        if self.monitor not in net.history[-1]:
            return None
        try:
            return super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            self.stopped_ = True
            raise

    def on_train_end(self, net, **kwargs):
        if self.load_best and getattr(self, "best_model_weights_", None) is None:
            return None
        return super().on_train_end(net, **kwargs)
