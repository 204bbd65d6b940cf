"""Multi-process training under Accelerate: :class:`AcceleratedKeystrokeVerifier`.

Cluster search (Dask/Ray through joblib) is described in :ref:`gpu`.
"""

import numpy as np
import torch
from skorch.callbacks import LRScheduler
from skorch.hf import AccelerateMixin

from skeer.verifier._estimator import KeystrokeVerifier

__all__ = ["AcceleratedKeystrokeVerifier"]


class AcceleratedKeystrokeVerifier(AccelerateMixin, KeystrokeVerifier):
    """KeystrokeVerifier trained on several GPUs, machines or CPU processes.

    skorch's :class:`~skorch.hf.AccelerateMixin` on
    :class:`~skeer.KeystrokeVerifier`: the update is that of one process with
    ``n_subjects_per_batch = P·world_size`` (:ref:`gpu`).

    Parameters
    ----------
    module, criterion, **kwargs
        As :class:`~skeer.KeystrokeVerifier`; ``n_subjects_per_batch`` is P
        per process. ``amp`` must stay False: mixed precision is the
        accelerator's (``Accelerator(mixed_precision="fp16")``).
    accelerator : accelerate.Accelerator
        The accelerator, created once per process.
    device : None, default=None
        Leave it None: the accelerator places the module and the batches.
    unwrap_after_train : bool, default=True
        Unwrap the module and the criterion after ``fit`` (and the callbacks'
        ``on_train_end``); needed to pickle or ``save``.
    callbacks__print_log__sink : "auto" or callable, default="auto"
        ``"auto"``: with ``verbose``, the epoch table is printed by the main
        process only.

    Attributes
    ----------
    classes_, templates_, threshold_, n_features_in_
        As :class:`~skeer.KeystrokeVerifier`, identical on every process.

    See Also
    --------
    skeer.KeystrokeVerifier : The single-process estimator.

    Notes
    -----
    Data loaders are not prepared by the accelerator (the sampler shards the
    batches) and inference is not sharded. ``X`` and ``y`` must be the same on
    every process; with ``random_state=None`` the main process's seed is
    broadcast. Launch with ``accelerate launch`` (:ref:`gpu`).

    Examples
    --------
    >>> import numpy as np
    >>> from accelerate import Accelerator
    >>> from skeer import KeystrokeVerifier
    >>> from skeer.verifier._distributed import AcceleratedKeystrokeVerifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(6), 10)
    >>> X = (rng.normal(size=(6, 8))[y] + 0.3 * rng.normal(size=(60, 8))).astype(
    ...     np.float32)
    >>> params = dict(max_epochs=2, n_subjects_per_batch=4,
    ...               n_samples_per_subject=4, validation_size=0, random_state=0)
    >>> net = AcceleratedKeystrokeVerifier(accelerator=Accelerator(cpu=True),
    ...                                    **params).fit(X, y)
    >>> ref = KeystrokeVerifier(**params).fit(X, y)
    >>> bool(np.allclose(net.transform(X), ref.transform(X), atol=1e-6))
    True
    """

    def fit(self, X, y=None, **fit_params):
        """Train on every process (see :meth:`skeer.KeystrokeVerifier.fit`).

        Parameters
        ----------
        X, y, **fit_params
            As in :meth:`skeer.KeystrokeVerifier.fit`, the same on every process.

        Returns
        -------
        self : AcceleratedKeystrokeVerifier
            The fitted verifier (unwrapped if ``unwrap_after_train``).
        """
        if self.amp:
            raise ValueError(
                "amp must be False with Accelerate; set mixed precision on the "
                "accelerator instead, e.g. Accelerator(mixed_precision='fp16')."
            )
        if self.random_state is not None or self.accelerator.num_processes == 1:
            return super().fit(X, y, **fit_params)
        # every process must draw the same split, batches and initial weights
        from accelerate.utils import broadcast_object_list

        seed = [int(np.random.SeedSequence().generate_state(1)[0])]
        broadcast_object_list(seed, from_process=0)
        self.random_state = seed[0]
        try:
            return super().fit(X, y, **fit_params)
        finally:
            self.random_state = None

    def _initialize_accelerator(self):
        # as the mixin's, but a criterion without trainable parameters (EERLoss)
        # is only moved: DistributedDataParallel refuses it
        if self._wrapped_with_accelerator:
            return self
        with self._current_init_context("criterion"):
            for name in self._criteria:
                criterion = getattr(self, name + "_")
                if not isinstance(criterion, torch.nn.Module):
                    continue
                if any(p.requires_grad for p in criterion.parameters()):
                    criterion = self.accelerator.prepare(criterion)
                elif self.accelerator.device_placement:
                    criterion = criterion.to(self.accelerator.device)
                setattr(self, name + "_", criterion)
        with self._current_init_context("module"):
            for name in self._modules:
                module = getattr(self, name + "_")
                if isinstance(module, torch.nn.Module):
                    setattr(self, name + "_", self.accelerator.prepare(module))
        with self._current_init_context("optimizer"):
            for name in self._optimizers:
                optimizer = getattr(self, name + "_")
                if isinstance(optimizer, torch.optim.Optimizer):
                    setattr(self, name + "_", self.accelerator.prepare(optimizer))
        for _, callback in self.callbacks_:
            if isinstance(callback, LRScheduler):
                callback.policy_ = self.accelerator.prepare(callback.policy_)
        self._wrapped_with_accelerator = True
        return self

    def _initialize_callbacks(self):
        # the mixin's "auto" sink (accelerator.print) would print even with
        # verbose=0 (skorch prints to any sink but print): honour verbose
        if not (
            isinstance(self.callbacks__print_log__sink, str)
            and self.callbacks__print_log__sink == "auto"
        ):
            return KeystrokeVerifier._initialize_callbacks(self)
        self.callbacks__print_log__sink = self._print_main_process
        try:
            return KeystrokeVerifier._initialize_callbacks(self)
        finally:
            self.callbacks__print_log__sink = "auto"

    def _print_main_process(self, *args, **kwargs):
        if self.verbose:
            self.accelerator.print(*args, **kwargs)

    def get_iterator(self, dataset, training=False):
        # not the mixin's accelerator.prepare(): see the class Notes; the
        # batches are sharded by get_batch_sampler instead
        return KeystrokeVerifier.get_iterator(self, dataset, training=training)

    def get_batch_sampler(self, dataset, training=False, **kwargs):
        world = self.accelerator.num_processes
        if world > 1:
            kwargs.setdefault("rank", self.accelerator.process_index)
            kwargs.setdefault("world_size", world)
        return super().get_batch_sampler(dataset, training=training, **kwargs)

    def _pin_memory(self):
        return self.accelerator.device.type == "cuda"

    def infer(self, x, **fit_params):
        if self.device is None and isinstance(x, torch.Tensor):
            x = x.to(self.accelerator.device, non_blocking=True)
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if isinstance(y_true, torch.Tensor):
            y_true = y_true.to(y_pred.device, non_blocking=True)
        return super().get_loss(y_pred, y_true, X=X, training=training)

    def evaluation_step(self, batch, training=False):
        # every process evaluates all of its input: nothing to gather
        return KeystrokeVerifier.evaluation_step(self, batch, training=training)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # the mixin unwraps here, before the callbacks' on_train_end; early
        # stopping would then load the wrapped module's state dict ("module."
        # keys) into the unwrapped module: unwrap in notify instead
        self.accelerator.wait_for_everyone()
        return KeystrokeVerifier.on_train_end(self, net, X=X, y=y, **kwargs)

    def notify(self, method_name, **cb_kwargs):
        super().notify(method_name, **cb_kwargs)
        if method_name == "on_train_end" and self.unwrap_after_train:
            self._unwrap_accelerator()
