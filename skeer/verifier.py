"""KeystrokeVerifier: a skorch estimator trained on the metric it is judged by."""

import inspect
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin, TransformerMixin
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils.multiclass import check_classification_targets
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, ProgressBar
from skorch.utils import to_tensor
from torch.utils.data import DataLoader, Dataset

from . import _enrol
from . import networks as _networks
from ._data import ArrayDataset, IdentitySplit, collate_batch
from ._validation import (
    check_operating_point,
    check_positive_int,
    check_real,
    is_integer,
)
from ._verification import VerificationMixin
from .losses import EERLoss
from .metrics import UnreliableMetricWarning, equal_error_rate
from .sampler import IdentityBatchSampler

__all__ = ["KeystrokeVerifier", "TrainingDivergedError"]


class _ValidationEER(Callback):
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


class _DivergenceCheck(Callback):
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


class _EarlyStopping(EarlyStopping):
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


def _accepts(cls_or_instance, name):
    target = cls_or_instance if inspect.isclass(cls_or_instance) else None
    if target is None:
        target = type(cls_or_instance)
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


class KeystrokeVerifier(
    VerificationMixin, ClassifierMixin, TransformerMixin, NeuralNet
):
    """Keystroke-dynamics verifier trained with EERLoss (a skorch ``NeuralNet``).

    A verifier is a nearest-template classifier over a learned embedding. ``fit``
    trains the embedding network on identity-balanced batches (P identities ×
    K samples) with a loss computed from the genuine and impostor distances of
    each batch (EERLoss by default), enrols one template per identity and
    calibrates a decision threshold at ``operating_point`` on identities held
    out from training.

    Geometry: embeddings are L2-normalised; the loss sees Euclidean distances
    between normalised embeddings, and every score is the cosine similarity
    ``1 - d**2 / 2`` between a sample's embedding and a template (the
    renormalised mean of an identity's enrolled embeddings). Training and
    scoring therefore rank pairs identically.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The embedding network, called on a float32 batch and returning raw
        ``(batch, d)`` embeddings. ``None`` chooses from the input's shape:
        :class:`~skeer.networks.TypeNet` for 3-D sequences
        ``(n, max_len, n_features)`` (e.g. from
        :class:`~skeer.features.KeystrokeFeatures`) and
        :class:`~skeer.networks.MLPEmbedder` for 2-D fixed-text vectors.
        ``n_features`` is passed from the data unless given as
        ``module__n_features``. Other arguments go as ``module__<name>``.
    criterion : torch.nn.Module class or instance, default=EERLoss
        A metric-learning loss called as ``loss(embeddings, labels)``. If it
        is a class accepting ``operating_point``, the estimator's
        ``operating_point`` is passed to it unless
        ``criterion__operating_point`` is set; an instance is used as given.
    operating_point : "eer" or float in (0, 1), default="eer"
        The target on the DET curve: the equal error rate, or a target
        false-match rate. It sets what the loss optimises and where
        ``threshold_`` sits.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
    max_epochs : int, default=30
        Training epochs at most (early stopping may end sooner); ``0`` enrols
        and calibrates the untrained network.
    batch_size : int, default=256
        Batch size for inference (``transform``, ``decision_function``).
    n_identities_per_batch : int, default=40
        P, identities per training batch.
    n_samples_per_identity : int, default=8
        K, samples per identity in a training batch.
    batches_per_epoch : int or None, default=None
        Training batches per epoch; ``None`` draws about as many samples as
        the training set has.
    validation_size : float, default=0.2
        Share of identities held out (identity-disjoint) from training to
        monitor ``valid_eer``, stop early and calibrate ``threshold_``. ``0``
        trains on everything and calibrates on training identities
        (optimistic). Needs at least 4 identities; with fewer, validation is
        switched off with a warning.
    n_enroll : int, default=5
        Samples per held-out identity that enrol a template when computing
        ``valid_eer`` and calibrating ``threshold_``; every later sample
        probes (the open-set protocol of
        :func:`~skeer.protocols.evaluate_verification`, with
        ``n_probe=None``). Held-out identities with fewer than
        ``n_enroll + 1`` samples are left out of both (counted in a warning).
    template : {"cosine", "scaled_manhattan", "manhattan", "euclidean"}, \
            default="cosine"
        The template geometry over the embedding: how enrolment samples
        become a template and how a probe is scored against it. ``"cosine"``:
        the renormalised mean embedding and the cosine similarity;
        ``"scaled_manhattan"``: the per-dimension mean and mean absolute
        deviation of the enrolee's embeddings, scored by the negative scaled
        Manhattan distance (keeps each enrolee's own spread); ``"manhattan"``
        and ``"euclidean"``: negative L1 / squared L2 distance to the mean.
        ``enroll``, ``decision_function``, ``claim_scores``, ``valid_eer``,
        ``threshold_`` and the protocols all use it.
    patience : int or None, default=5
        Early stopping on ``valid_eer``: stop after this many epochs without
        improvement and restore the best weights. ``None`` disables it.
    amp : bool, default=False
        Automatic mixed precision: float16 with gradient scaling on CUDA,
        bfloat16 on CPU. The loss is always computed in float32.
    random_state : int or None, default=None
        Seeds the identity split, the batches and torch's generator (forked,
        so the global state is left untouched). With an int, CPU runs are
        bit-for-bit repeatable.
    train_split : callable or None, default=None
        skorch's hook: ``train_split(dataset, y) -> (dataset_train,
        dataset_valid)``. ``None`` holds out ``validation_size`` of the
        identities (:class:`skeer._data.IdentitySplit`, seeded by
        ``random_state``). A custom split must be deterministic and should be
        identity-disjoint (``valid_eer`` and ``threshold_`` are computed on
        its held-out part).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``. Data moves with
        ``non_blocking=True`` from pinned memory on CUDA.
    compile : bool, default=False
        ``torch.compile`` the module (skorch's option; ``compile__*`` kwargs).
    callbacks, warm_start, verbose, iterator_train, iterator_valid
        As in :class:`skorch.NeuralNet`. With ``verbose`` a progress bar and
        a per-epoch table are printed.
    **kwargs
        ``module__*``, ``criterion__*``, ``optimizer__*``, ``iterator_*__*``,
        ``callbacks__*``, ``compile__*`` as in skorch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled identities, sorted.
    templates_ : ndarray of shape (n_classes, d)
        One template per enrolled identity: its renormalised mean embedding
        (``template="cosine"``) or its mean embedding.
    template_scales_ : ndarray of shape (n_classes, d) or None
        Per-dimension mean absolute deviation of each enrolee's embeddings
        (``template="scaled_manhattan"``), else None.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    interrupted_ : bool
        True when the last ``fit`` was stopped by ``KeyboardInterrupt``
        (Ctrl-C) before ``max_epochs`` or early stopping ended it.
    n_features_in_ : int
        Number of feature channels of the input.
    module_, criterion_, optimizer_, history_
        As in skorch; ``history`` holds ``train_loss``, ``valid_loss`` and
        ``valid_eer`` per epoch.

    See Also
    --------
    skeer.EERLoss : The default criterion.
    skeer.make_verification_scorer : Open-set scoring for identity-disjoint CV.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer import KeystrokeVerifier
    >>> rng = np.random.default_rng(0)
    >>> centers = rng.normal(size=(6, 8))
    >>> y = np.repeat(np.arange(6), 10)
    >>> X = (centers[y] + 0.3 * rng.normal(size=(60, 8))).astype(np.float32)
    >>> clf = KeystrokeVerifier(max_epochs=3, n_identities_per_batch=4,
    ...                         n_samples_per_identity=4, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> clf.decision_function(X).shape
    (60, 6)
    >>> clf.transform(X).shape
    (60, 128)
    >>> bool(clf.verify(X[:1], [0])[0]) in (True, False)
    True
    """

    #: Fitted arrays that :mod:`skeer.persistence` saves when present (None too).
    _persisted_arrays = ("templates_", "template_scales_")

    def __init__(
        self,
        module=None,
        criterion=EERLoss,
        *,
        operating_point="eer",
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=30,
        batch_size=256,
        n_identities_per_batch=40,
        n_samples_per_identity=8,
        batches_per_epoch=None,
        validation_size=0.2,
        n_enroll=5,
        template="cosine",
        patience=5,
        amp=False,
        random_state=None,
        train_split=None,
        iterator_train=DataLoader,
        iterator_valid=DataLoader,
        callbacks=None,
        warm_start=False,
        verbose=0,
        device="cpu",
        compile=False,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            # skorch's get_params reports every public attribute, so clone()
            # passes it back: accept it, but the batched dataset is this
            # estimator's own
            dataset=kwargs.pop("dataset", ArrayDataset),
            train_split=train_split,
            callbacks=callbacks,
            warm_start=warm_start,
            verbose=verbose,
            device=device,
            compile=compile,
            **kwargs,
        )
        self.operating_point = operating_point
        self.n_identities_per_batch = n_identities_per_batch
        self.n_samples_per_identity = n_samples_per_identity
        self.batches_per_epoch = batches_per_epoch
        self.validation_size = validation_size
        self.n_enroll = n_enroll
        self.template = template
        self.patience = patience
        self.amp = amp
        self.random_state = random_state

    # ------------------------------------------------------------------
    # sklearn plumbing
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_class = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def set_params(self, **kwargs):
        """Set parameters (skorch's rules, with ``callbacks`` stored lazily).

        skorch validates a new ``callbacks`` list at once; here it is only
        stored and validated when the net is (re)initialised, as scikit-learn
        expects of ``set_params``.

        Parameters
        ----------
        **kwargs : dict
            Estimator parameters, including skorch's ``module__*`` style ones.

        Returns
        -------
        self : KeystrokeVerifier
            This estimator.

        Examples
        --------
        >>> from skeer import KeystrokeVerifier
        >>> KeystrokeVerifier().set_params(operating_point=0.01).operating_point
        0.01
        """
        if "callbacks" in kwargs:
            self.callbacks = kwargs.pop("callbacks")
            if self.initialized_:
                self._initialize_callbacks()
        return super().set_params(**kwargs) if kwargs else self

    def _get_param_names(self):
        # skorch reports every attribute not ending in "_" as a parameter,
        # its private bookkeeping (_params_to_validate) included; keep it out
        # and the dataset this estimator fixes itself
        return [
            k
            for k in super()._get_param_names()
            if not k.startswith("_") and k != "dataset"
        ]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "templates_") and getattr(self, "initialized_", False)

    def _check_fitted(self, *, enrolled=True):
        fitted = (
            self.__sklearn_is_fitted__()
            if enrolled
            else getattr(self, "initialized_", False)
            and hasattr(self, "n_features_in_")
        )
        if not fitted:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call "
                "'fit' with appropriate arguments before using this estimator."
            )

    def _device_type(self):
        return torch.device(self.device or "cpu").type

    def _validate_X(self, X, *, reset):
        if isinstance(X, (list, tuple)) and X and np.ndim(X[0]) == 2:
            shapes = {np.shape(s) for s in X}
            if len(shapes) > 1:
                raise ValueError(
                    "X looks like raw keystroke sessions of different lengths; "
                    "turn them into a fixed-size array first, e.g. with "
                    "make_pipeline(KeystrokeFeatures(), KeystrokeVerifier())."
                )
        if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
            raise TypeError(
                "X must be a dense array; sparse input is not supported by "
                "KeystrokeVerifier (call X.toarray() first)."
            )
        try:
            X = np.asarray(X, dtype=np.float32)
        except TypeError as exc:
            raise TypeError(f"X must be a numeric array: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"X must be a numeric array: {exc}") from None
        if X.ndim not in (2, 3):
            raise ValueError(
                "X must be 2-D (n_samples, n_features) fixed-text vectors or 3-D "
                "(n_samples, max_len, n_features) sequences, got an array of "
                f"shape {X.shape}. Reshape your data, e.g. X.reshape(-1, 1) for a "
                "single feature."
            )
        if X.shape[0] == 0:
            raise ValueError(
                f"X has 0 samples (shape={X.shape}); a minimum of 1 is required."
            )
        if X.shape[-1] == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
                "of 1 is required."
            )
        if not np.isfinite(X).all():
            bad = np.flatnonzero(~np.isfinite(X).reshape(len(X), -1).all(axis=1))
            raise ValueError(
                f"X contains NaN or infinity in {len(bad)} samples "
                f"(first at index {bad[0]})."
            )
        if reset:
            self.n_features_in_ = X.shape[-1]
            self.input_ndim_ = X.ndim
        else:
            if X.ndim != self.input_ndim_:
                raise ValueError(
                    f"X is {X.ndim}-D but {type(self).__name__} was fitted on "
                    f"{self.input_ndim_}-D input."
                )
            if X.shape[-1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[-1]} features, but {type(self).__name__} is "
                    f"expecting {self.n_features_in_} features as input."
                )
        return np.ascontiguousarray(X)

    def _validate_y(self, y, n):
        if y is None:
            raise ValueError(
                "KeystrokeVerifier requires y to be passed, but the target y is "
                "None (give one identity per sample)."
            )
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; "
                "it is raveled.",
                DataConversionWarning,
                stacklevel=3,
            )
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (one identity per sample), got {y.shape}.")
        if len(y) != n:
            raise ValueError(
                f"X and y have inconsistent lengths: {n} samples in X, {len(y)} "
                "labels in y."
            )
        check_classification_targets(y)
        if y.dtype.kind == "O" and any(v is None for v in y):
            raise ValueError("y contains None; every sample needs an identity.")
        return y

    # ------------------------------------------------------------------
    # skorch hooks
    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        callbacks.insert(-1, ("divergence", _DivergenceCheck()))
        callbacks.insert(-1, ("valid_eer", _ValidationEER()))
        if self.patience is not None:
            callbacks.insert(
                -1,
                (
                    "early_stopping",
                    _EarlyStopping(
                        monitor="valid_eer",
                        patience=self.patience,
                        lower_is_better=True,
                        load_best=True,
                    ),
                ),
            )
        if self.verbose:
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
        if criterion is None:
            raise ValueError(
                "criterion must be a loss called as loss(embeddings, labels), got None."
            )
        # a criterion instance is used as given (skorch's rule); a class gets
        # the estimator's operating point unless criterion__operating_point is set
        if (
            not isinstance(criterion, torch.nn.Module) or kwargs
        ) and "operating_point" not in kwargs:
            if _accepts(criterion, "operating_point"):
                kwargs["operating_point"] = self.operating_point
        self.criterion_ = self.initialized_instance(criterion, kwargs)
        return self

    def initialize(self):
        super().initialize()
        self.grad_scaler_ = (
            torch.amp.GradScaler("cuda")
            if self.amp and self._device_type() == "cuda"
            else None
        )
        return self

    def _amp_dtype(self):
        return torch.bfloat16 if self._device_type() == "cpu" else torch.float16

    def infer(self, x, **fit_params):
        if isinstance(x, torch.Tensor):
            x = x.to(self.device, non_blocking=True)
        else:
            x = to_tensor(x, device=self.device)
        with torch.autocast(
            device_type=self._device_type(),
            dtype=self._amp_dtype(),
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
        return IdentitySplit(self.validation_size, random_state=self._seeds_[0])

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset = self.get_dataset(X, y)
        if y is None:
            y = getattr(dataset, "y", None)
        return self._train_split()(dataset, y, **fit_params)

    def _pin_memory(self):
        return self._device_type() == "cuda"

    def get_batch_sampler(self, dataset, training=False, **kwargs):
        """Identity-balanced batches (P identities x K samples) of ``dataset``.

        The hook that builds the training (and held-out loss) batches;
        subclasses pass extra arguments of
        :class:`~skeer.sampler.IdentityBatchSampler` (e.g. ``rank`` and
        ``world_size`` to shard them across processes).

        Parameters
        ----------
        dataset : dataset with a ``y`` attribute
            Integer identity codes in ``dataset.y``.
        training : bool, default=False
            Training batches (``batches_per_epoch`` of them, a new draw each
            epoch) or held-out ones (every identity, the same each epoch).
        **kwargs : dict
            Passed to :class:`~skeer.sampler.IdentityBatchSampler`.

        Returns
        -------
        sampler : IdentityBatchSampler

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> from skeer._data import ArrayDataset
        >>> net = KeystrokeVerifier(n_identities_per_batch=2,
        ...                         n_samples_per_identity=2, random_state=0)
        >>> y = np.repeat(np.arange(4), 3)
        >>> net._seeds_ = [0, 1, 2, 3]
        >>> ds = ArrayDataset(np.zeros((12, 1), np.float32), y)
        >>> [len(b) for b in net.get_batch_sampler(ds, training=False)]
        [4, 4, 4]
        """
        return IdentityBatchSampler(
            dataset.y,
            self.n_identities_per_batch,
            self.n_samples_per_identity,
            n_batches=self.batches_per_epoch if training else None,
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
        kwargs["shuffle"] = False
        if isinstance(dataset, ArrayDataset):
            kwargs.setdefault("collate_fn", collate_batch)
            sampler = torch.utils.data.BatchSampler(
                torch.utils.data.SequentialSampler(dataset),
                batch_size=kwargs.pop("batch_size"),
                drop_last=False,
            )
            kwargs.pop("shuffle")
            return self.iterator_valid(dataset, batch_sampler=sampler, **kwargs)
        return self.iterator_valid(dataset, **kwargs)

    # ------------------------------------------------------------------
    # fitting
    def _validate_params(self):
        """Check every parameter of this estimator before any work (one place)."""
        check_operating_point(self.operating_point)
        check_positive_int(self.n_enroll, "n_enroll")
        if not is_integer(self.max_epochs) or self.max_epochs < 0:
            raise ValueError(
                "max_epochs must be a non-negative integer (0 enrols and calibrates "
                f"the untrained network), got {self.max_epochs!r}."
            )
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.n_identities_per_batch, "n_identities_per_batch")
        check_positive_int(self.n_samples_per_identity, "n_samples_per_identity")
        check_positive_int(self.batches_per_epoch, "batches_per_epoch", allow_none=True)
        check_positive_int(self.patience, "patience", allow_none=True)
        check_real(self.lr, "lr", low=0)
        check_real(
            self.validation_size, "validation_size", low=0, high=1, low_open=False
        )
        _enrol.check_geometry(self.template, "template")
        if not isinstance(self.amp, (bool, np.bool_)):
            raise ValueError(f"amp must be True or False, got {self.amp!r}.")
        if self.train_split is not None and not callable(self.train_split):
            raise ValueError(
                "train_split must be None or a callable(dataset, y) -> "
                f"(dataset_train, dataset_valid), got {self.train_split!r}."
            )
        self._check_device_available()

    def _check_device_available(self):
        try:
            device = torch.device(self.device or "cpu")
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got "
                f"{self.device!r} ({exc})."
            ) from None
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise ValueError(
                    f"device={self.device!r} but CUDA is not available (torch "
                    f"{torch.__version__}); use device='cpu' or install a CUDA "
                    "build of PyTorch."
                )
            if device.index is not None and device.index >= torch.cuda.device_count():
                raise ValueError(
                    f"device={self.device!r} but only {torch.cuda.device_count()} "
                    "CUDA device(s) are visible."
                )
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"device={self.device!r} but MPS is not available.")

    def fit(self, X, y=None, **fit_params):
        """Train the embedding network, enrol every identity, set ``threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len, n_features) or \
                (n_samples, n_features)
            Keystroke sequences (e.g. from ``KeystrokeFeatures``) or
            fixed-text timing vectors.
        y : array-like of shape (n_samples,)
            Identity of each sample; at least 2 distinct identities.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : KeystrokeVerifier
            The fitted verifier.
        """
        self._validate_params()
        X = self._validate_X(X, reset=not (self.warm_start and self.initialized_))
        y = self._validate_y(y, len(X))
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "y has only 1 class (a single identity); a verifier needs at least 2 "
                "identities to form impostor pairs."
            )
        codes = codes.astype(np.int64)
        seeds = np.random.SeedSequence(self.random_state).spawn(4)
        self._seeds_ = [int(s.generate_state(1)[0]) for s in seeds]
        devices = []
        if self._device_type() == "cuda" and torch.cuda.is_available():
            devices = [torch.device(self.device).index or 0]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self._seeds_[3])
            if not self.warm_start or not self.initialized_:
                self.initialize()
            self.notify("on_train_begin", X=X, y=codes)
            self.interrupted_ = False
            try:
                self.fit_loop(X, codes, **fit_params)
            except TrainingDivergedError:
                raise
            except ValueError as exc:
                if "NaN" not in str(exc) and "inf" not in str(exc):
                    raise
                raise TrainingDivergedError(
                    f"Training diverged at epoch {max(1, len(self.history))}: {exc}"
                ) from exc
            except KeyboardInterrupt:
                # skorch's convention: stop training, keep the model; but say so
                self.interrupted_ = True
                warnings.warn(
                    f"Training was interrupted after {len(self.history)} epoch(s); "
                    "the verifier is enrolled and calibrated with the weights it "
                    "had (interrupted_ is True).",
                    UserWarning,
                    stacklevel=2,
                )
            self.notify("on_train_end", X=X, y=codes)

        F_all = self._template_features(X, validate=False)
        self._set_templates(
            classes, _enrol.make_templates(F_all, codes, len(classes), self.template)
        )
        # calibrate on the held-out identities (the split is deterministic)
        _, valid = self.get_split_datasets(X, codes)
        if valid is None:
            held = np.ones(len(codes), dtype=bool)
            self._warn_calibration(codes, "training")
        else:
            held = np.isin(codes, np.unique(valid.y))
            self._warn_calibration(codes[held], "held-out")
        self.threshold_ = self._calibrate(F_all[held], codes[held])
        return self

    def _check_targets(self, y, n_samples):
        return self._validate_y(y, n_samples)

    @property
    def partial_fit(self):
        """Not supported: ``fit`` with ``warm_start=True`` continues training."""
        raise AttributeError(
            "KeystrokeVerifier has no partial_fit; use fit with warm_start=True "
            "to continue training."
        )

    # ------------------------------------------------------------------
    # inference
    def _embed(self, X):
        """L2-normalised float32 embeddings of an array (module in eval mode).

        It loops over batches itself rather than through ``forward`` so that
        skorch's inference caching (which would replay the identity-balanced
        validation batches out of order) never applies.
        """
        iterator = self.get_iterator(self.get_dataset(X), training=False)
        with torch.no_grad():
            self._set_training(False)
            out = [self.infer(Xi).float().cpu() for Xi, _ in iterator]
        return F.normalize(torch.cat(out), dim=1).numpy()

    def transform(self, X):
        """L2-normalised embeddings.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len, n_features) or \
                (n_samples, n_features)
            Input as in ``fit``.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, d)
            Unit-norm float32 embeddings; cosine similarity is their dot
            product.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> y = np.repeat(np.arange(4), 10)
        >>> clf = KeystrokeVerifier(max_epochs=1, validation_size=0,
        ...                         random_state=0).fit(X, y)
        >>> emb = clf.transform(X)
        >>> emb.shape, bool(np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5))
        ((40, 128), True)
        """
        # the network alone is needed (so it also works during fit, e.g. in
        # skorch's EpochScoring); templates are not
        self._check_fitted(enrolled=False)
        return self._embed(self._validate_X(X, reset=False))

    # -- the template geometry (skeer._enrol), shared with the protocols
    def _template_features(self, X, *, validate=True):
        """The vectors templates are made of: the embeddings of ``X``."""
        if validate:
            self._check_fitted(enrolled=False)
            X = self._validate_X(X, reset=False)
        return self._embed(X)

    @property
    def _template_geometry(self):
        return self.template

    @property
    def predict_proba(self):
        """Not available: a verifier's scores are similarities, not probabilities.

        Use :meth:`decision_function`.
        """
        raise AttributeError(
            "KeystrokeVerifier has no predict_proba: its scores are similarities; "
            "use decision_function."
        )

    # ------------------------------------------------------------------
    # persistence
    def save(self, path):
        """Save the fitted verifier to one file that loads without running code.

        A shortcut for :func:`skeer.persistence.save`: the file holds a JSON
        configuration and tensors (the network's weights, the templates and
        the other fitted arrays, the training ``history``), written with
        ``torch.save`` and read back with ``torch.load(weights_only=True)``.
        Networks, losses and optimizers are stored by name: skeer's own
        classes (and torch optimizers) are restored automatically; for a
        custom network or loss pass its class to :meth:`load`. To save a
        fitted ``Pipeline`` ending in a verifier, use :func:`skeer.save`.

        Parameters
        ----------
        path : str or path-like
            Destination file (conventionally ``*.skeer``).

        Returns
        -------
        path : pathlib.Path
            The written file.

        Examples
        --------
        >>> import tempfile, os
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> y = np.repeat(np.arange(4), 10)
        >>> clf = KeystrokeVerifier(max_epochs=1, validation_size=0,
        ...                         random_state=0).fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.skeer")
        >>> _ = clf.save(path)
        >>> clf2 = KeystrokeVerifier.load(path)
        >>> bool(np.allclose(clf.decision_function(X), clf2.decision_function(X)))
        True
        """
        from .persistence import save

        return save(self, path)

    @classmethod
    def load(cls, path, *, map_location="cpu", module=None, criterion=None):
        """Load a verifier written by :meth:`save`.

        A shortcut for :func:`skeer.persistence.load` that also checks the
        file holds a verifier (not a ``Pipeline``: load those with
        :func:`skeer.load`). Files written by earlier skeer versions load too.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save`.
        map_location : str or torch.device, default="cpu"
            Device to load the module onto (a model trained on a GPU loads on
            a CPU machine with the default); it becomes ``device``.
        module, criterion : class or None, default=None
            Needed only for classes that are not skeer's own.

        Returns
        -------
        verifier : KeystrokeVerifier
            Fitted, ready for ``transform``/``decision_function``/``verify``,
            with the training ``history``.

        Raises
        ------
        ValueError
            If the file is not a skeer model file, holds something else than
            a verifier, or names a class that is not on the allow-list of
            :mod:`skeer.registry`.

        Examples
        --------
        See :meth:`save`.
        """
        from .persistence import _load

        verifier = _load(
            path,
            map_location=map_location,
            module=module,
            criterion=criterion,
            verifier_class=cls,
        )
        if not isinstance(verifier, KeystrokeVerifier):
            raise ValueError(
                f"path {str(path)!r} holds a {type(verifier).__name__}, not a "
                "KeystrokeVerifier; load it with skeer.load."
            )
        return verifier
