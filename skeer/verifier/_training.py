"""How a KeystrokeVerifier trains: its skorch hooks (:class:`TrainingMixin`).

The identity-disjoint split, P x K batches, module and criterion, mixed
precision, L2-normalised embeddings for the loss, and the default callbacks.
"""

import inspect
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import ProgressBar
from skorch.utils import to_tensor
from torch.utils.data import Dataset

from skeer.losses import EERLoss, SupConEERLoss
from skeer.networks import _networks as _networks
from skeer.verifier._callbacks import (
    DivergenceCheck,
    EpochProgress,
    LearningRateSchedule,
    TolerantEarlyStopping,
    TrainingDivergedError,
    ValidationEER,
)
from skeer.verifier._data import (
    ArrayDataset,
    SubjectSplit,
    as_array_dataset,
    collate_batch,
)
from skeer.verifier._sampler import SubjectBatchSampler

#: Training batches of a ``max_epochs="auto"`` fit on sequences (3-D input)
#: (:ref:`why <training_recipe>`).
AUTO_TRAINING_STEPS = 1750

#: Fixed-text vectors (2-D input): this many passes over the training data ...
AUTO_MAX_EPOCHS = 90
#: ... and at most this many batches (:ref:`budget_results`).
AUTO_FIXED_TEXT_STEPS = 3500


def _accepts(cls_or_instance, name):
    target = cls_or_instance
    if not inspect.isclass(target):
        target = type(target)
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    # only a named parameter: a class taking **kwargs (pytorch-metric-learning's
    # losses pass them on to their base class) would choke on it
    return name in params and params[name].kind is not inspect.Parameter.VAR_KEYWORD


#: autocast's dtype by device type; float16 on every other device
AMP_DTYPE = {"cpu": torch.bfloat16}


class TrainingMixin:
    """skorch hooks of :class:`~skeer.KeystrokeVerifier` (see the module docstring)."""

    def _device_type(self):
        return torch.device(self.device or "cpu").type

    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        callbacks.insert(-1, ("divergence", DivergenceCheck()))
        callbacks.insert(-1, ("valid_eer", ValidationEER()))
        callbacks.insert(-1, ("lr_schedule", LearningRateSchedule()))
        if self.patience is not None:
            stopper = TolerantEarlyStopping(
                monitor="valid_eer_smooth",
                patience=self.patience,
                lower_is_better=True,
                load_best=True,
            )
            callbacks.insert(-1, ("early_stopping", stopper))
        if self.verbose is None:
            callbacks.insert(-1, ("epoch_progress", EpochProgress()))
        elif self.verbose:
            callbacks.insert(-1, ("progress_bar", ProgressBar()))
        return callbacks

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        module = self.module
        if module is None:
            module = (
                _networks.TypeNet if self.input_ndim_ == 3 else _networks.MLPEmbedder
            )
        if not isinstance(module, torch.nn.Module) or kwargs:
            if "n_features" not in kwargs and _accepts(module, "n_features"):
                kwargs["n_features"] = self.n_features_in_
        self.module_ = self.initialized_instance(module, kwargs)
        return self

    def initialize_criterion(self):
        kwargs = self.get_params_for("criterion")
        criterion = self.criterion
        if criterion is None:  # the measured best for each kind of input
            criterion = SupConEERLoss if self.input_ndim_ == 3 else EERLoss
        # an instance is used as given (skorch's rule), unless kwargs are set
        if not isinstance(criterion, torch.nn.Module) or kwargs:
            self._criterion_defaults(criterion, kwargs)
        self.criterion_ = self.initialized_instance(criterion, kwargs)
        return self

    def _criterion_defaults(self, criterion, kwargs):
        """Fill in what the criterion accepts unless ``criterion__<name>`` sets it."""
        known = {
            "operating_point": lambda: self.operating_point,
            "n_enroll": lambda: self.n_enroll,
            "num_classes": lambda: getattr(self, "_n_fit_subjects", None),
            "embedding_size": lambda: getattr(self.module_, "embedding_dim", None),
        }
        for name, value in known.items():
            if name in kwargs or not _accepts(criterion, name):
                continue
            value = value()
            if value is None:
                raise ValueError(
                    f"criterion {getattr(criterion, '__name__', criterion)!r} needs "
                    f"{name}: set criterion__{name}=... (the verifier knows it only "
                    "for its own networks, and the subjects only during fit)."
                )
            kwargs[name] = value

    def initialize(self):
        super().initialize()
        self.grad_scaler_ = (
            torch.amp.GradScaler("cuda")
            if self.amp and self._device_type() == "cuda"
            else None
        )
        return self

    def infer(self, x, **fit_params):
        if isinstance(x, torch.Tensor):
            x = x.to(self.device, non_blocking=True)
        else:
            x = to_tensor(x, device=self.device)
        with torch.autocast(
            device_type=self._device_type(),
            dtype=AMP_DTYPE.get(self._device_type(), torch.float16),
            enabled=bool(self.amp),
        ):
            return self.module_(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = y_true.to(self.device, non_blocking=True)
        embeddings = F.normalize(y_pred.float(), dim=1)
        return self.criterion_(embeddings, y_true)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler = getattr(self, "grad_scaler_", None)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        return {"loss": loss, "y_pred": y_pred}

    def _step_optimizer(self, step_fn):
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is None:
            return super()._step_optimizer(step_fn)
        step_fn()
        for name in self._optimizers:
            scaler.step(getattr(self, name + "_"))
        scaler.update()
        return None

    def get_dataset(self, X, y=None):
        if isinstance(X, Dataset):
            return X
        return ArrayDataset(np.ascontiguousarray(X, dtype=np.float32), y)

    def _train_split(self):
        """The ``train_split`` hook in use (the identity split by default)."""
        if self.train_split is not None:
            return self.train_split
        return SubjectSplit(self.validation_size, random_state=self._seeds_[0])

    def get_split_datasets(self, X, y=None, **fit_params):
        # during fit: the split fit computed once (skorch's fit_loop asks again)
        fit_split = getattr(self, "_fit_split_", None)
        if fit_split is not None and fit_split[0] is X:
            return fit_split[1]
        dataset = self.get_dataset(X, y)
        if y is None:
            y = getattr(dataset, "y", None)
        train, valid = self._train_split()(dataset, y, **fit_params)
        # skorch's ValidSplit returns Subsets: balanced batches need the arrays
        return as_array_dataset(train), as_array_dataset(valid, balanced=True)

    def _resolve_max_epochs(self, dataset_train):
        """Set ``batches_per_epoch_``; return the epochs of this fit."""
        capped = self.max_epochs == "auto" and self.input_ndim_ == 2
        per_epoch = self.batches_per_epoch
        if per_epoch is None or capped:
            with warnings.catch_warnings():  # the sampler warns in training
                warnings.simplefilter("ignore", UserWarning)
                # one pass over the training data (this process's share)
                sampler = self.get_batch_sampler(
                    dataset_train, training=True, n_batches=None
                )
                one_pass = max(len(sampler), 1)
            per_epoch = one_pass if per_epoch is None else per_epoch
        self.batches_per_epoch_ = int(per_epoch)
        if self.max_epochs != "auto":
            return int(self.max_epochs)
        steps = AUTO_TRAINING_STEPS
        if capped:
            steps = min(AUTO_FIXED_TEXT_STEPS, AUTO_MAX_EPOCHS * one_pass)
        return max(1, math.ceil(steps / max(per_epoch, 1)))

    @property
    def partial_fit(self):
        """Not supported: ``fit`` with ``warm_start=True`` continues training."""
        raise AttributeError(
            f"{type(self).__name__} has no partial_fit; use fit with "
            "warm_start=True to continue training."
        )

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # remember a KeyboardInterrupt (Ctrl-C, SIGTERM or an early stop):
        # skorch's partial_fit swallows it
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            self._stopped_by_interrupt = True
            raise

    def _train(self, X, codes, **fit_params):
        """skorch's ``partial_fit``; a Ctrl-C sets ``interrupted_`` and warns."""
        self.interrupted_ = False
        self._stopped_by_interrupt = False
        try:
            NeuralNet.partial_fit(self, X, codes, epochs=self.max_epochs_, **fit_params)
        except TrainingDivergedError:
            raise
        except (ValueError, RuntimeError) as exc:
            markers = ("contain NaN or inf", "to type float without overflow")
            if not any(k in str(exc) for k in markers):
                raise
            raise TrainingDivergedError(
                f"Training diverged at epoch {max(1, len(self.history))}: {exc}"
            ) from exc
        stopper = dict(self.callbacks_).get("early_stopping")
        stopped, self._stopped_by_interrupt = self._stopped_by_interrupt, False
        if stopped and not getattr(stopper, "stopped_", False):
            self.interrupted_ = True
            warnings.warn(
                f"Training was interrupted after {len(self.history)} epoch(s); the "
                "verifier is enrolled and calibrated with the weights it had "
                "(interrupted_ is True).",
                UserWarning,
                stacklevel=3,
            )

    def _pin_memory(self):
        return self._device_type() == "cuda"

    def get_batch_sampler(self, dataset, training=False, **kwargs):
        """Identity-balanced batches (P identities x K samples) of ``dataset``.

        Parameters
        ----------
        dataset : dataset with a ``y`` attribute
            Integer identity codes in ``dataset.y``.
        training : bool, default=False
            Training batches (``batches_per_epoch`` of them, a new draw each
            epoch) or held-out ones (every identity, the same each epoch).
        **kwargs : dict
            Passed to :class:`~skeer.verifier.SubjectBatchSampler`.

        Returns
        -------
        sampler : SubjectBatchSampler

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> from skeer.verifier._data import ArrayDataset
        >>> net = KeystrokeVerifier(n_subjects_per_batch=2, n_samples_per_subject=2)
        >>> net._seeds_ = [0, 1, 2, 3]
        >>> ds = ArrayDataset(np.zeros((12, 1), np.float32), np.repeat(range(4), 3))
        >>> [len(b) for b in net.get_batch_sampler(ds, training=False)]
        [4, 4, 4]
        """
        return SubjectBatchSampler(
            dataset.y,
            self.n_subjects_per_batch,
            self.n_samples_per_subject,
            n_batches=kwargs.pop(
                "n_batches", self.batches_per_epoch if training else None
            ),
            random_state=self._seeds_[1] if training else self._seeds_[2],
            reseed_each_epoch=not training,
            **kwargs,
        )

    def get_iterator(self, dataset, training=False):
        pin = self._pin_memory()
        if training or getattr(dataset, "balanced", False):
            prefix = "iterator_train" if training else "iterator_valid"
            kwargs = self.get_params_for(prefix)
            for key in ("batch_size", "shuffle", "sampler", "drop_last"):
                kwargs.pop(key, None)
            kwargs.setdefault("pin_memory", pin)
            sampler = self.get_batch_sampler(dataset, training=training)
            iterator = self.iterator_train if training else self.iterator_valid
            return iterator(
                dataset, batch_sampler=sampler, collate_fn=collate_batch, **kwargs
            )
        kwargs = self.get_params_for("iterator_valid")
        kwargs.setdefault("batch_size", self.batch_size)
        kwargs.setdefault("pin_memory", pin)
        # a private generator: a DataLoader draws its base seed from torch's
        # global generator otherwise, and inference must not touch it
        kwargs.setdefault("generator", torch.Generator())
        kwargs.pop("shuffle", None)
        if isinstance(dataset, ArrayDataset):
            kwargs.setdefault("collate_fn", collate_batch)
            sampler = torch.utils.data.BatchSampler(
                torch.utils.data.SequentialSampler(dataset),
                batch_size=kwargs.pop("batch_size"),
                drop_last=False,
            )
            return self.iterator_valid(dataset, batch_sampler=sampler, **kwargs)
        return self.iterator_valid(dataset, shuffle=False, **kwargs)
