"""The verifier's skorch callbacks: held-out EER, lr schedule, early stopping."""

import functools
import math
import warnings

import numpy as np
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from torch.optim.lr_scheduler import LambdaLR

from skeer.metrics._rates import UnreliableMetricWarning, equal_error_rate

#: Epochs in the window of ``valid_eer_smooth`` (the early-stopping monitor).
SMOOTHING_WINDOW = 3


class ValidationEER(Callback):
    """Record ``valid_eer``, ``valid_eer_smooth`` and their ``*_best`` flags."""

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
        for key in ("valid_eer", "valid_eer_smooth"):  # skorch's *_best convention
            earlier = [h[key] for h in net.history[:-1] if h.get(key) is not None]
            net.history.record(
                f"{key}_best", not earlier or net.history[-1, key] < min(earlier)
            )


def lr_factor(step, *, steps_per_epoch, warmup_epochs, max_epochs, constant=False):
    """The multiplier of the base learning rate at training step ``step``.

    Linear warm-up over ``warmup_epochs``, then 1 (``constant``) or a half cosine
    to 0 at the end of epoch ``max_epochs``, and 0 beyond it.
    """
    per_epoch = steps_per_epoch or 1
    # rounded first: 1.1 epochs of 50 steps is 55 steps, not 56
    warmup = math.ceil(round(warmup_epochs * per_epoch, 9))
    if step < warmup:
        return (step + 1) / warmup
    if constant:
        return 1.0
    total = max(max_epochs * per_epoch - warmup, 1)
    progress = min((step - warmup) / total, 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class LearningRateSchedule(LRScheduler):
    """``LambdaLR`` of :func:`lr_factor`, stepped before every training batch;
    steps aside, with a warning, for a skorch ``LRScheduler``."""

    def __init__(self):
        super().__init__(policy=LambdaLR, step_every="batch", event_name=None)

    @property
    def kwargs(self):
        return {}

    def __getstate__(self):
        # the LambdaLR holds the optimizer (a second copy): rebuilt at each fit
        return {**self.__dict__, "lr_scheduler_": None}

    def on_train_begin(self, net, **kwargs):
        self.lr_scheduler_ = None
        self.last_lr_ = None
        if net.lr_schedule is None:
            return
        if any(
            isinstance(cb, LRScheduler) and cb is not self for _, cb in net.callbacks_
        ):
            warnings.warn(
                f"lr_schedule={net.lr_schedule!r} is ignored: the callbacks hold a "
                "skorch LRScheduler, which sets the learning rate. Pass "
                "lr_schedule=None to silence this warning.",
                UserWarning,
                stacklevel=2,
            )
            return
        for group in net.optimizer_.param_groups:
            if group.get("skeer_last_lr") != group["lr"]:  # a new base rate
                group["initial_lr"] = group["lr"]
        factor = functools.partial(
            lr_factor,
            steps_per_epoch=net.batches_per_epoch_,
            warmup_epochs=net.warmup_epochs,
            max_epochs=net.max_epochs_,
            constant=net.lr_schedule == "constant",
        )
        # last_epoch=-1: step 0 of a new schedule from each group's initial_lr
        self.lr_scheduler_ = LambdaLR(net.optimizer_, factor)
        self._remember(net)

    @staticmethod
    def _remember(net):
        for group in net.optimizer_.param_groups:
            group["skeer_last_lr"] = group["lr"]

    def on_batch_begin(self, net, training=False, **kwargs):
        # stepped before each batch but the first (skorch: after each), so a
        # batch's rate is the optimizer's during the whole batch
        if not training or self.lr_scheduler_ is None:
            return
        if self.last_lr_ is not None:
            self._step(net, self.lr_scheduler_)
            self._remember(net)
        self.last_lr_ = net.optimizer_.param_groups[0]["lr"]

    def on_batch_end(self, net, training=False, **kwargs):
        pass

    def on_epoch_end(self, net, **kwargs):
        if self.last_lr_ is not None:
            net.history.record("lr", self.last_lr_)


class TrainingDivergedError(ValueError):
    """Training produced a non-finite loss or embedding (e.g. a too high ``lr``).

    Raised by :meth:`KeystrokeVerifier.fit` at the first non-finite training
    loss, naming the epoch; a ``ValueError``, so existing handlers catch it.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer.verifier._estimator import KeystrokeVerifier, TrainingDivergedError
    >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
    >>> y = np.repeat(np.arange(4), 10)
    >>> try:
    ...     KeystrokeVerifier(lr=1e30, optimizer=__import__("torch").optim.SGD,
    ...                       validation_size=0, random_state=0).fit(X, y)
    ... except TrainingDivergedError as exc:
    ...     print(str(exc).split(":")[0])
    Training diverged at epoch 1
    """


class DivergenceCheck(Callback):
    """Stop at the first non-finite training loss, saying where and why."""

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
    """skorch's EarlyStopping, idle without its monitor; ``stopped_``: it stopped."""

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


class EpochProgress(Callback):
    """One progress bar over the epochs of a fit, on stderr (``verbose=None``).

    Epochs, time left, last ``train_loss`` and ``valid_eer``, once the fit has
    run ``delay`` seconds; only on rank 0 in a distributed run.

    Parameters
    ----------
    delay : float, default=3.0
        Seconds before the bar is drawn.

    Examples
    --------
    >>> from skeer import KeystrokeVerifier
    >>> from skeer.verifier import EpochProgress
    >>> net = KeystrokeVerifier(max_epochs=2, verbose=0,
    ...                         callbacks=[("progress", EpochProgress(delay=0))])
    >>> net.callbacks[0][1].delay
    0
    """

    def __init__(self, delay=3.0):
        self.delay = delay

    def on_train_begin(self, net, **kwargs):
        import torch.distributed as dist
        from tqdm.auto import tqdm

        self.bar_ = None
        if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
            return
        total = getattr(net, "max_epochs_", None)
        self.bar_ = tqdm(
            total=total if isinstance(total, int) else None,
            desc=type(net).__name__,
            unit="epoch",
            leave=False,
            delay=self.delay,
            dynamic_ncols=True,
        )

    def on_epoch_end(self, net, **kwargs):
        if self.bar_ is None:
            return
        row = net.history[-1]
        postfix = {}
        if row.get("train_loss") is not None:
            postfix["loss"] = f"{row['train_loss']:.4f}"
        if row.get("valid_eer") is not None:
            postfix["valid_eer"] = f"{100 * row['valid_eer']:.2f} %"
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
            self.bar_ = None

    def __getstate__(self):  # a tqdm bar does not pickle (clone, joblib, save)
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state
