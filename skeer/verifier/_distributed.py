"""Beyond one machine: multi-process training, cluster search, evaluation at scale.

Training across processes
-------------------------
The EER of a batch depends on every pair in it, so a loss computed by each
process on its own rows sees only a sliver of the pairs and a weaker threshold
estimate. :class:`~skeer.losses.EERLoss` therefore gathers: with
``gather=None`` (the default) and an initialised ``torch.distributed`` process
group of more than one process, every process's embeddings and labels are
all-gathered and the loss is that of the global batch, on every process.

The rule (tested on two processes): the loss *value* equals the single-process
loss on the concatenation of the processes' batches (rank order); backward
gives each process's own rows ``world_size`` times the single-process
gradient (the all-gather's backward sums over the processes' identical copies
of the loss); ``DistributedDataParallel``, which Accelerate uses, averages
parameter gradients over the processes and so cancels that factor. The
parameter gradient is therefore exactly that of one process training on the
global batch: do **not** scale the loss by ``world_size``, and a learning rate
tuned for one process with ``P·world_size`` identities per batch carries over.

:class:`AcceleratedKeystrokeVerifier` runs :class:`~skeer.KeystrokeVerifier`
under `Accelerate <https://huggingface.co/docs/accelerate>`_ (multi-GPU,
multi-node, or several CPU processes) with identity-balanced batches sharded
so that the processes draw disjoint identities: the global batch is
``P·world_size`` identities × ``K`` samples, and the gathered loss sees it all.

Hyperparameter search on a cluster
----------------------------------
:class:`~skeer.KeystrokeVerifier` and :class:`~skeer.KeystrokeFeatures` pickle
cleanly (no open file, no process group, tensors saved device-independently
by skorch), so scikit-learn's searches run on a Dask or Ray cluster through
joblib's backends, unchanged:

.. code-block:: python

    import joblib
    from dask.distributed import Client
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.pipeline import make_pipeline
    from skeer import KeystrokeFeatures, KeystrokeVerifier, make_verification_scorer

    client = Client("tcp://scheduler-address:8786")  # or Client(LocalCluster())
    pipe = make_pipeline(KeystrokeFeatures(), KeystrokeVerifier(random_state=0))
    search = GridSearchCV(
        pipe,
        {"keystrokeverifier__operating_point": ["eer", 0.01, 0.001],
         "keystrokeverifier__lr": [1e-3, 3e-4]},
        cv=GroupKFold(3),
        scoring=make_verification_scorer(),
    )
    with joblib.parallel_backend("dask"):  # one fit per Dask task
        search.fit(X, y, groups=y)

With Ray instead of Dask, register Ray's joblib backend and use it the same
way:

.. code-block:: python

    import ray
    from ray.util.joblib import register_ray

    ray.init(address="auto")  # an existing Ray cluster
    register_ray()
    with joblib.parallel_backend("ray"):
        search.fit(X, y, groups=y)

Each worker trains with torch's intra-op threads; Dask's nanny starts workers
with ``OMP_NUM_THREADS=1``, so give a worker several threads with
``torch.set_num_threads`` (e.g. through a worker plugin) when it has cores to
spare, and fit GPU estimators with ``device="cuda"`` on workers that have one
(a verifier pickled on a GPU machine loads on a CPU one: skorch maps its
tensors to the CPU, with a warning).

Evaluation at scale
-------------------
Scores are similarities of fixed-size embeddings, so evaluation streams: score
probes in chunks against the enrolled templates and feed the chunks to
:class:`~skeer.metrics.StreamingVerificationMetrics`, which returns exactly
the EER and error rates of :mod:`skeer.metrics` on all scores together.
``benchmarks/bench_scale.py`` runs a KVC-sized evaluation (15,000 enrolled
identities, one million comparisons) this way and reports time and peak
memory.
"""

import numpy as np
import torch
from skorch.callbacks import LRScheduler
from skorch.hf import AccelerateMixin

from skeer.verifier._estimator import KeystrokeVerifier

__all__ = ["AcceleratedKeystrokeVerifier"]


class AcceleratedKeystrokeVerifier(AccelerateMixin, KeystrokeVerifier):
    """KeystrokeVerifier trained on several GPUs, machines or CPU processes.

    skorch's :class:`~skorch.hf.AccelerateMixin` on top of
    :class:`~skeer.KeystrokeVerifier`: the module, the optimizer and the
    criterion are prepared by an ``accelerate.Accelerator`` (the module is
    wrapped in ``DistributedDataParallel`` when there are several
    processes), backward goes through ``accelerator.backward`` (mixed
    precision, gradient accumulation), and every process runs the same
    script on the same data. Each training batch is sharded by identity:
    the processes share one draw of ``P·world_size`` identities and process
    ``r`` takes identities ``r·P`` to ``(r + 1)·P − 1`` (see
    :class:`~skeer.verifier.SubjectBatchSampler`), so the global batch is
    ``P·world_size × K`` with disjoint identities per process, and
    :class:`~skeer.losses.EERLoss` (``gather=None`` gathers when distributed)
    computes the loss of that global batch. With DDP's gradient averaging the
    update is exactly that of one process training with
    ``n_subjects_per_batch = P·world_size`` (see the module docstring).

    Parameters
    ----------
    module, criterion, **kwargs
        As :class:`~skeer.KeystrokeVerifier`; ``n_subjects_per_batch`` is P
        per process. ``amp`` must stay False: mixed precision is the
        accelerator's (``Accelerator(mixed_precision="fp16")``).
    accelerator : accelerate.Accelerator
        The accelerator, created once per process (e.g. ``Accelerator()``
        under ``accelerate launch``).
    device : None, default=None
        Leave it None: the accelerator places the module and the batches.
    unwrap_after_train : bool, default=True
        Unwrap the module and the criterion after ``fit`` (after the
        callbacks' ``on_train_end``, so early stopping restores the best
        weights into the wrapped module first); needed to pickle or ``save``.
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
    skeer.verifier.SubjectBatchSampler : ``rank``/``world_size`` sharding.

    Notes
    -----
    Data loaders are *not* passed to ``accelerator.prepare``. Accelerate
    re-shards a prepared loader's batches across processes (every
    ``world_size``-th batch, or slices of each batch with
    ``split_batches=True``) from a sampler that must draw identically on
    every process, and pads uneven shards by repeating samples: neither
    keeps identity-balanced P × K batches with disjoint identities. Instead
    the training (and identity-balanced validation) loader's
    :class:`~skeer.verifier.SubjectBatchSampler` is rebuilt with this
    process's ``rank`` and ``world_size``, and batches are moved to
    ``accelerator.device`` in ``infer``. Inference (``transform``,
    templates, ``valid_eer``, ``threshold_``) is not sharded either: every
    process embeds the whole array it is given, so those results are
    identical on every process and need no gathering (``evaluation_step``
    skips skorch's ``gather_for_metrics`` accordingly), and early stopping
    decides identically everywhere.

    Requirements: every process passes the same ``X`` and ``y`` to ``fit``;
    with ``random_state=None`` a seed drawn on the main process is broadcast
    so that the identity split, the batches and the initial weights agree.
    Only the training steps communicate; do any single-process work (such
    as ``save``) after ``fit`` returns, e.g. on the main process.

    Batch normalisation (in :class:`~skeer.networks.TypeNet` and
    :class:`~skeer.networks.MLPEmbedder`'s hidden blocks) normalises each
    process's P × K rows, and DDP broadcasts the main process's running
    statistics, as in any DDP training; the update equals single-process
    training on the global batch exactly only for networks without it. On
    GPUs, pass a module converted with
    ``torch.nn.SyncBatchNorm.convert_sync_batchnorm`` for global batch
    statistics (SyncBatchNorm has no CPU implementation).

    On GPUs, write the training script and start one process per GPU with
    Accelerate's launcher::

        # train.py
        from accelerate import Accelerator
        from skeer.verifier._distributed import AcceleratedKeystrokeVerifier

        accelerator = Accelerator(mixed_precision="fp16")
        net = AcceleratedKeystrokeVerifier(
            accelerator=accelerator, n_subjects_per_batch=40,
            n_samples_per_subject=8, random_state=0,
        )
        net.fit(X_train, y_train)  # the same arrays on every process
        if accelerator.is_main_process:
            skeer.save(net, "verifier.skeer")  # skeer.load reads it

        $ accelerate launch --multi_gpu --num_processes 4 train.py
        $ accelerate launch --num_machines 2 --machine_rank 0 \\
              --main_process_ip 10.0.0.1 --main_process_port 29500 \\
              --num_processes 16 train.py   # node 0 of 2, 8 GPUs each

    ``accelerate launch --cpu --num_processes 2 train.py`` runs the same
    script as two CPU processes (gloo backend), as the tests do.

    Examples
    --------
    One process (no launcher) behaves exactly like
    :class:`~skeer.KeystrokeVerifier`:

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
        X : array-like
            Input as in :meth:`skeer.KeystrokeVerifier.fit`, the same on every
            process.
        y : array-like of shape (n_samples,)
            Identities, the same on every process.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : AcceleratedKeystrokeVerifier
            The fitted verifier (unwrapped if ``unwrap_after_train``).

        Raises
        ------
        ValueError
            If ``amp`` is set (use the accelerator's ``mixed_precision``).
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
        # as the mixin's, except that a criterion without trainable parameters
        # (EERLoss) is only moved, not prepared: on several CPU processes
        # Accelerate wraps every prepared module in DistributedDataParallel,
        # which refuses a module without parameters
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
