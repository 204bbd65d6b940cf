"""KeystrokeVerifier: a skorch estimator trained on the metric it is judged by."""

import inspect
import json
import numbers
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin, TransformerMixin
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils.multiclass import check_classification_targets
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, ProgressBar
from skorch.dataset import Dataset as SkorchDataset
from skorch.utils import to_tensor
from torch.utils.data import DataLoader, Dataset

from . import losses as _losses
from . import networks as _networks
from ._version import __version__
from .losses import EERLoss
from .metrics import equal_error_rate
from .sampler import IdentityBatchSampler

__all__ = ["KeystrokeVerifier"]

_SAVE_FORMAT = "skeer.KeystrokeVerifier"
#: Entries of one block of scores (samples x templates) computed at a time by
#: ``predict`` / ``decision_function``: 2**24 float32 = 64 MiB.
_SCORE_BLOCK = 2**24
_SAVE_FORMAT_VERSION = 1


class _ArrayDataset(SkorchDataset):
    """In-memory dataset with batched fetching (``__getitems__``).

    Fetching a whole batch with one fancy index avoids building and collating
    hundreds of per-sample tensors, which is most of a DataLoader's overhead on
    small keystroke inputs. It subclasses skorch's ``Dataset`` only so that
    skorch callbacks (``EpochScoring``) can read ``X`` and ``y`` back.
    """

    def __init__(self, X, y=None):
        self.X = X
        self.y = y
        self._X = torch.from_numpy(X)
        self._y = None if y is None else torch.from_numpy(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self._X[i], (None if self._y is None else self._y[i])

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self._X[idx], (None if self._y is None else self._y[idx])


def _collate_batch(batch):
    # ``__getitems__`` already returns a collated (X, y) batch.
    return batch


class _ValidationEER(Callback):
    """Record ``valid_eer``: the open-set EER on the held-out identities."""

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None:
            return
        emb = net._embed(dataset_valid.X)
        y_bin, scores = _heldout_scores(emb, dataset_valid.y, net.n_enroll)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eer = equal_error_rate(y_bin, scores)
        net.history.record("valid_eer", float(eer))


def _templates(emb, codes, n_codes):
    """Renormalised mean embedding of each code ``0..n_codes-1``."""
    sums = np.zeros((n_codes, emb.shape[1]), dtype=np.float64)
    np.add.at(sums, codes, emb)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32)


def _heldout_scores(emb, codes, n_enroll):
    """Genuine/impostor scores of held-out identities, template geometry.

    For each identity with at least 2 samples, the first
    ``min(n_enroll, n_i - 1)`` samples (in the given order) enrol a template
    (renormalised mean) and the others probe: every probe is scored against its
    own template (genuine) and every other template (impostor).
    """
    order = np.argsort(codes, kind="stable")
    _, ident, counts = np.unique(codes[order], return_inverse=True, return_counts=True)
    keep = (counts >= 2)[ident]
    order, ident = order[keep], ident[keep]
    _, ident, counts = np.unique(ident, return_inverse=True, return_counts=True)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[ident]
    enrol = rank < np.minimum(n_enroll, counts - 1)[ident]
    templates = _templates(emb[order[enrol]], ident[enrol], len(counts))
    scores = emb[order[~enrol]] @ templates.T
    y_bin = np.zeros(scores.shape, dtype=np.int8)
    y_bin[np.arange(len(scores)), ident[~enrol]] = 1
    return y_bin.ravel(), scores.ravel().astype(np.float64)


def _threshold_at(y_bin, scores, operating_point):
    """Decision threshold (accept if score >= threshold) at the operating point."""
    if operating_point == "eer":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, thr = equal_error_rate(y_bin, scores, return_threshold=True)
        return float(thr)
    impostor = np.sort(scores[y_bin == 0])[::-1]
    allowed = int(np.floor(operating_point * len(impostor)))
    if allowed >= len(impostor):
        return float(-np.inf)
    # lowest threshold whose false-match rate does not exceed the target
    return float(np.nextafter(impostor[allowed], np.inf))


def _check_operating_point(operating_point):
    if isinstance(operating_point, str):
        if operating_point != "eer":
            raise ValueError(
                "operating_point must be 'eer' or a target false-match rate in "
                f"(0, 1), got {operating_point!r}."
            )
        return operating_point
    if (
        not isinstance(operating_point, numbers.Real)
        or isinstance(operating_point, bool)
        or not 0 < operating_point < 1
    ):
        raise ValueError(
            "operating_point must be 'eer' or a target false-match rate in "
            f"(0, 1), got {operating_point!r}."
        )
    return float(operating_point)


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


class KeystrokeVerifier(ClassifierMixin, TransformerMixin, NeuralNet):
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
        ``valid_eer`` and calibrating ``threshold_``; the others probe.
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
        One L2-normalised template per enrolled identity.
    threshold_ : float
        Accept a claim when its score (cosine similarity) is ``>= threshold_``.
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
        patience=5,
        amp=False,
        random_state=None,
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
            # passes these back: accept them, but the identity split and the
            # batched dataset are this estimator's own
            dataset=kwargs.pop("dataset", _ArrayDataset),
            train_split=kwargs.pop("train_split", None),
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
        # and the dataset / train_split this estimator fixes itself
        return [
            k
            for k in super()._get_param_names()
            if not k.startswith("_") and k not in ("dataset", "train_split")
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
        callbacks.insert(-1, ("valid_eer", _ValidationEER()))
        split = getattr(self, "_split_", None)
        has_validation = split is not None and len(split[1]) > 0
        if self.patience is not None and has_validation:
            callbacks.insert(
                -1,
                (
                    "early_stopping",
                    EarlyStopping(
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
        return _ArrayDataset(np.ascontiguousarray(X, dtype=np.float32), y)

    def get_split_datasets(self, X, y=None, **fit_params):
        train_idx, valid_idx = self._split_
        dataset_train = _ArrayDataset(X[train_idx], y[train_idx])
        dataset_valid = None
        self._pk_valid_ = None
        if len(valid_idx):
            dataset_valid = _ArrayDataset(X[valid_idx], y[valid_idx])
            self._pk_valid_ = dataset_valid
        return dataset_train, dataset_valid

    def get_iterator(self, dataset, training=False):
        pin = self._device_type() == "cuda"
        pk_valid = not training and dataset is getattr(self, "_pk_valid_", None)
        if training or pk_valid:
            self._pk_valid_ = None if pk_valid else getattr(self, "_pk_valid_", None)
            prefix = "iterator_train" if training else "iterator_valid"
            kwargs = self.get_params_for(prefix)
            for key in ("batch_size", "shuffle", "sampler", "drop_last"):
                kwargs.pop(key, None)
            kwargs.setdefault("pin_memory", pin)
            sampler = IdentityBatchSampler(
                dataset.y,
                self.n_identities_per_batch,
                self.n_samples_per_identity,
                n_batches=self.batches_per_epoch if training else None,
                random_state=self._seeds_[1] if training else self._seeds_[2],
                reseed_each_epoch=not training,
            )
            iterator = self.iterator_train if training else self.iterator_valid
            return iterator(
                dataset, batch_sampler=sampler, collate_fn=_collate_batch, **kwargs
            )
        kwargs = self.get_params_for("iterator_valid")
        kwargs.setdefault("batch_size", self.batch_size)
        kwargs.setdefault("pin_memory", pin)
        # a private generator: a DataLoader draws its base seed from torch's
        # global generator otherwise, and inference must not touch it
        kwargs.setdefault("generator", torch.Generator())
        kwargs["shuffle"] = False
        if isinstance(dataset, _ArrayDataset):
            kwargs.setdefault("collate_fn", _collate_batch)
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
    def _identity_split(self, codes, rng):
        n_ids = int(codes.max()) + 1
        size = self.validation_size
        if not isinstance(size, numbers.Real) or not 0 <= size < 1:
            raise ValueError(f"validation_size must be in [0, 1), got {size!r}.")
        n_valid = int(round(size * n_ids)) if size > 0 else 0
        if size > 0:
            if n_ids < 4:
                warnings.warn(
                    f"Only {n_ids} identities: no identity-disjoint validation "
                    "split (it needs 4); training on all, threshold_ calibrated "
                    "on training identities.",
                    UserWarning,
                    stacklevel=3,
                )
                n_valid = 0
            else:
                n_valid = min(max(n_valid, 2), n_ids - 2)
        valid_ids = rng.permutation(n_ids)[:n_valid]
        is_valid = np.isin(codes, valid_ids)
        return np.flatnonzero(~is_valid), np.flatnonzero(is_valid)

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
        _check_operating_point(self.operating_point)
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
        train_idx, valid_idx = self._identity_split(
            codes, np.random.default_rng(self._seeds_[0])
        )
        self._split_ = (train_idx, valid_idx)
        devices = []
        if self._device_type() == "cuda" and torch.cuda.is_available():
            devices = [torch.device(self.device).index or 0]
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(self._seeds_[3])
                if not self.warm_start or not self.initialized_:
                    self.initialize()
                self.notify("on_train_begin", X=X, y=codes)
                try:
                    self.fit_loop(X, codes, **fit_params)
                except KeyboardInterrupt:
                    pass
                self.notify("on_train_end", X=X, y=codes)
        finally:
            self.__dict__.pop("_split_", None)
            self.__dict__.pop("_pk_valid_", None)

        emb = self._embed(X)
        self.classes_ = classes
        self.templates_ = _templates(emb, codes, len(classes))
        held_out = valid_idx if len(valid_idx) else train_idx
        y_bin, scores = _heldout_scores(emb[held_out], codes[held_out], self.n_enroll)
        self.threshold_ = _threshold_at(y_bin, scores, self.operating_point)
        return self

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

    def enroll(self, X, y):
        """Add or replace identity templates without training.

        Each identity in ``y`` gets the renormalised mean of its samples'
        embeddings as its template; an identity already enrolled is replaced;
        every other enrolled identity is kept.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.
        y : array-like of shape (n_samples,)
            Identities of the samples.

        Returns
        -------
        self : KeystrokeVerifier
            With ``classes_`` and ``templates_`` updated (``classes_`` stays
            sorted).

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> y = np.repeat(np.arange(4), 10)
        >>> clf = KeystrokeVerifier(max_epochs=1, validation_size=0,
        ...                         random_state=0).fit(X, y)
        >>> clf = clf.enroll(X[:5] + 1, [7] * 5)
        >>> clf.classes_.tolist()
        [0, 1, 2, 3, 7]
        """
        self._check_fitted()
        X = self._validate_X(X, reset=False)
        y = self._validate_y(y, len(X))
        new_classes, codes = np.unique(y, return_inverse=True)
        new_templates = _templates(self._embed(X), codes, len(new_classes))
        try:
            classes = np.union1d(self.classes_, new_classes)
        except TypeError:
            raise ValueError(
                "y's identities cannot be compared with the enrolled ones "
                f"({self.classes_.dtype} vs {new_classes.dtype})."
            ) from None
        templates = np.zeros((len(classes), self.templates_.shape[1]), np.float32)
        templates[np.searchsorted(classes, self.classes_)] = self.templates_
        templates[np.searchsorted(classes, new_classes)] = new_templates
        self.classes_, self.templates_ = classes, templates
        return self

    def decision_function(self, X):
        """Similarity of each sample to each enrolled identity.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes_)
            Cosine similarity to each template, columns in ``classes_`` order
            (the shape of a multiclass classifier's decision function, also for
            two identities). Higher means more likely the same person.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> y = np.repeat(np.arange(4), 10)
        >>> clf = KeystrokeVerifier(max_epochs=1, validation_size=0,
        ...                         random_state=0).fit(X, y)
        >>> clf.decision_function(X[:3]).shape
        (3, 4)
        """
        self._check_fitted()
        emb = self.transform(X)
        out = np.empty((len(emb), len(self.templates_)), dtype=np.float32)
        for rows in self._score_blocks(len(emb)):
            np.matmul(emb[rows], self.templates_.T, out=out[rows])
        return out

    def _score_blocks(self, n_samples):
        """Row slices whose score block stays under ``_SCORE_BLOCK`` entries."""
        step = max(1, _SCORE_BLOCK // max(1, len(self.templates_)))
        return (slice(i, i + step) for i in range(0, n_samples, step))

    def predict(self, X):
        """Identity of the most similar template.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted identities from ``classes_``.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> y = np.repeat(np.arange(4), 10)
        >>> clf = KeystrokeVerifier(max_epochs=1, validation_size=0,
        ...                         random_state=0).fit(X, y)
        >>> clf.predict(X[:3]).shape
        (3,)
        """
        self._check_fitted()
        emb = self.transform(X)
        best = np.empty(len(emb), dtype=np.intp)
        for rows in self._score_blocks(len(emb)):  # never the full score matrix
            best[rows] = np.argmax(emb[rows] @ self.templates_.T, axis=1)
        return self.classes_[best]

    @property
    def predict_proba(self):
        """Not available: a verifier's scores are similarities, not probabilities.

        Use :meth:`decision_function`.
        """
        raise AttributeError(
            "KeystrokeVerifier has no predict_proba: its scores are similarities; "
            "use decision_function."
        )

    def _claimed_columns(self, claimed, n):
        claimed = np.asarray(claimed)
        if claimed.ndim == 0:
            claimed = np.full(n, claimed.item(), dtype=claimed.dtype)
        if claimed.shape != (n,):
            raise ValueError(
                f"claimed must hold one identity per sample ({n}), got shape "
                f"{claimed.shape}."
            )
        cols = np.searchsorted(self.classes_, claimed)
        cols = np.clip(cols, 0, len(self.classes_) - 1)
        unknown = self.classes_[cols] != claimed
        if unknown.any():
            names = np.unique(claimed[unknown])[:5].tolist()
            raise ValueError(
                f"claimed holds {int(unknown.sum())} claims of identities that are "
                f"not enrolled, e.g. {names}; enroll them first."
            )
        return cols

    def claim_scores(self, X, claimed):
        """Similarity of each sample to the template of the identity it claims.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.
        claimed : array-like of shape (n_samples,) or scalar
            The identity each sample claims; must be enrolled.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Cosine similarity to the claimed identity's template, computed in
            bounded blocks (never an ``(n_samples, d)`` copy of templates).

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> y = np.repeat(np.arange(4), 10)
        >>> clf = KeystrokeVerifier(max_epochs=1, validation_size=0,
        ...                         random_state=0).fit(X, y)
        >>> clf.claim_scores(X[:3], 0).shape
        (3,)
        """
        self._check_fitted()
        X = self._validate_X(X, reset=False)
        cols = self._claimed_columns(claimed, len(X))
        emb = self._embed(X)
        scores = np.empty(len(emb), dtype=np.float32)
        step = max(1, _SCORE_BLOCK // max(1, emb.shape[1]))
        for i in range(0, len(emb), step):
            rows = slice(i, i + step)
            scores[rows] = np.einsum("ij,ij->i", emb[rows], self.templates_[cols[rows]])
        return scores

    def verify(self, X, claimed):
        """Accept or reject identity claims at ``threshold_``.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.
        claimed : array-like of shape (n_samples,) or scalar
            The identity each sample claims; must be enrolled.

        Returns
        -------
        accepted : ndarray of bool, shape (n_samples,)
            True where :meth:`claim_scores` is ``>= threshold_``.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> y = np.repeat(np.arange(4), 10)
        >>> clf = KeystrokeVerifier(max_epochs=1, validation_size=0,
        ...                         random_state=0).fit(X, y)
        >>> clf.verify(X[:2], [0, 1]).dtype
        dtype('bool')
        """
        return self.claim_scores(X, claimed) >= self.threshold_

    def score(self, X, y, sample_weight=None):
        """Negative closed-set EER (greater is better).

        Every sample is compared with every enrolled template: its own
        identity's column is a genuine comparison, the others impostor ones.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.
        y : array-like of shape (n_samples,)
            Identities, all enrolled.
        sample_weight : None
            Not supported; must be None.

        Returns
        -------
        score : float
            ``-equal_error_rate(y, decision_function(X), labels=classes_)``.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> y = np.repeat(np.arange(4), 10)
        >>> clf = KeystrokeVerifier(max_epochs=1, validation_size=0,
        ...                         random_state=0).fit(X, y)
        >>> -1 <= clf.score(X, y) <= 0
        True
        """
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by score.")
        self._check_fitted()
        X = self._validate_X(X, reset=False)
        y = self._validate_y(y, len(X))
        self._claimed_columns(y, len(X))
        return -float(
            equal_error_rate(y, self.decision_function(X), labels=self.classes_)
        )

    # ------------------------------------------------------------------
    # persistence
    def save(self, path):
        """Save the fitted verifier to one file that loads without running code.

        The file holds a JSON configuration and tensors (the module's state
        dict and the templates), written with ``torch.save`` and read back
        with ``torch.load(weights_only=True)``, which refuses arbitrary
        objects. Modules and criteria are stored by name: skeer's own
        classes (and torch optimizers) are restored automatically; for a
        custom module pass its class to :meth:`load`.

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
        self._check_fitted()
        params = {}
        for key, value in self.get_params(deep=False).items():
            if key in ("module", "criterion", "optimizer"):
                params[key] = _qualname(value, key)
            elif key in (
                "iterator_train",
                "iterator_valid",
                "callbacks",
                "dataset",
                "train_split",
            ):
                continue
            elif key.startswith(("iterator_", "callbacks__")):
                continue
            elif _is_jsonable(value):
                params[key] = value
            else:
                warnings.warn(
                    f"Parameter {key}={value!r} is not saved (not JSON-serialisable).",
                    UserWarning,
                    stacklevel=2,
                )
        classes = self.classes_
        config = {
            "format": _SAVE_FORMAT,
            "format_version": _SAVE_FORMAT_VERSION,
            "skeer_version": __version__,
            "torch_version": torch.__version__,
            "params": params,
            "module_class": _qualname(type(self.module_), "module"),
            "fitted": {
                "classes": classes.tolist(),
                "classes_dtype": classes.dtype.str,
                "threshold": self.threshold_,
                "n_features_in": int(self.n_features_in_),
                "input_ndim": int(self.input_ndim_),
            },
        }
        module = getattr(self.module_, "_orig_mod", self.module_)
        state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
        blob = {
            "config": json.dumps(config),
            "module_state": state,
            "templates": torch.from_numpy(self.templates_),
        }
        path = Path(path)
        torch.save(blob, path)
        return path

    @classmethod
    def load(cls, path, *, map_location="cpu", module=None, criterion=None):
        """Load a verifier written by :meth:`save`.

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
            Fitted, ready for ``transform``/``decision_function``/``verify``.

        Examples
        --------
        See :meth:`save`.
        """
        blob = torch.load(path, map_location=map_location, weights_only=True)
        if not isinstance(blob, dict) or "config" not in blob:
            raise ValueError(f"path {str(path)!r} is not a skeer model file.")
        config = json.loads(blob["config"])
        if config.get("format") != _SAVE_FORMAT:
            raise ValueError(f"path {str(path)!r} is not a skeer model file.")
        if config.get("format_version", 0) > _SAVE_FORMAT_VERSION:
            raise ValueError(
                f"path {str(path)!r} was written by a newer skeer "
                f"({config.get('skeer_version')}); upgrade skeer to load it."
            )
        params = dict(config["params"])
        params["module"] = module or _resolve(params.get("module"), "module")
        params["criterion"] = criterion or _resolve(
            params.get("criterion"), "criterion"
        )
        params["optimizer"] = _resolve(params.get("optimizer"), "optimizer")
        params["device"] = str(map_location)
        fitted = config["fitted"]
        net = cls(**params)
        net.n_features_in_ = fitted["n_features_in"]
        net.input_ndim_ = fitted["input_ndim"]
        net.initialize()
        target = getattr(net.module_, "_orig_mod", net.module_)
        target.load_state_dict(blob["module_state"])
        net.classes_ = np.asarray(
            fitted["classes"], dtype=np.dtype(fitted["classes_dtype"])
        )
        net.templates_ = blob["templates"].cpu().numpy()
        net.threshold_ = float(fitted["threshold"])
        return net


# ----------------------------------------------------------------------
# helpers for persistence
_NAMESPACES = {
    "module": (_networks,),
    "criterion": (_losses,),
    "optimizer": (torch.optim,),
}


def _qualname(obj, kind):
    if obj is None:
        return None
    cls = obj if inspect.isclass(obj) else type(obj)
    for ns in _NAMESPACES[kind]:
        if getattr(ns, cls.__name__, None) is cls:
            return f"{ns.__name__}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _resolve(name, kind):
    if name is None:
        return None
    for ns in _NAMESPACES[kind]:
        prefix = ns.__name__ + "."
        if name.startswith(prefix) and hasattr(ns, name[len(prefix) :]):
            return getattr(ns, name[len(prefix) :])
    raise ValueError(
        f"The saved {kind} {name!r} is not one of skeer's own; pass "
        f"{kind}=<the class> to KeystrokeVerifier.load."
    )


def _is_jsonable(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
