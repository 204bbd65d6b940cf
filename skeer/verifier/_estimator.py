"""KeystrokeVerifier: a skorch estimator trained on the metric it is judged by."""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import _check_feature_names
from skorch import NeuralNet
from torch.utils.data import DataLoader

from skeer._validation import (
    check_input_shape,
    check_subjects,
    check_verifier_input,
    check_verifier_params,
)
from skeer.templates import _enrol as _enrol
from skeer.templates._templates import make_templates
from skeer.templates._verification import VerificationMixin
from skeer.verifier._callbacks import TrainingDivergedError
from skeer.verifier._data import ArrayDataset
from skeer.verifier._training import AMP_DTYPE, TrainingMixin

__all__ = ["KeystrokeVerifier", "TrainingDivergedError"]


class KeystrokeVerifier(
    VerificationMixin, TrainingMixin, ClassifierMixin, TransformerMixin, NeuralNet
):
    """Keystroke-dynamics verifier trained with EERLoss (a skorch ``NeuralNet``).

    A nearest-template classifier over a learned, L2-normalised embedding:
    ``fit`` trains the network on P subjects × K samples batches, enrols one
    template per subject and calibrates ``threshold_`` at ``operating_point``
    on held-out subjects (:ref:`estimator`).

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The embedding network (raw ``(batch, d)`` embeddings out). ``None``:
        :class:`~skeer.networks.TypeNet` for 3-D sequences,
        :class:`~skeer.networks.MLPEmbedder` for 2-D vectors. Arguments as
        ``module__<name>`` (``n_features`` comes from the data).
    criterion : torch.nn.Module class or instance, default=None
        A metric-learning loss, ``loss(embeddings, labels)``. ``None``:
        :class:`~skeer.losses.SupConEERLoss` for 3-D sequences,
        :class:`~skeer.EERLoss` for 2-D vectors. A class is given what it
        accepts of ``operating_point``, ``n_enroll``, ``num_classes`` and
        ``embedding_size``; an instance is used as given.
    operating_point : "eer" or float in (0, 1), default="eer"
        The EER or a target false-match rate, for the loss and ``threshold_``.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
        Peak learning rate (see ``lr_schedule``).
    lr_schedule : {"cosine", "constant"} or None, default="cosine"
        After the warm-up, ``"cosine"`` decays the rate to 0 by the last epoch,
        ``"constant"`` keeps ``lr``; ``None`` never sets it
        (:ref:`recipe <training_recipe>`).
    warmup_epochs : float >= 0, default=1
        Epochs of linear warm-up from ``lr / steps`` to ``lr`` in every ``fit``.
    max_epochs : int or "auto", default="auto"
        Training epochs at most (``0``: untrained). ``"auto"``: the budget of
        ``AUTO_TRAINING_STEPS`` (sequences) or ``AUTO_MAX_EPOCHS`` and
        ``AUTO_FIXED_TEXT_STEPS`` (vectors), resolved in ``max_epochs_``.
    batch_size : int, default=256
        Batch size for inference (``transform``, ``decision_function``).
    n_subjects_per_batch : int, default=40
        P, subjects per training batch.
    n_samples_per_subject : int, default=8
        K, samples per subject in a training batch.
    batches_per_epoch : int or None, default=None
        Training batches per epoch; ``None``: about one pass over the data.
    validation_size : float, default=0.2
        Share of subjects held out for ``valid_eer``, early stopping and
        ``threshold_``; ``0`` (or, with a warning, under 4 subjects): none.
    n_enroll : int, default=5
        Samples enrolling a held-out subject's template for ``valid_eer`` and
        ``threshold_``; also passed to a criterion that takes it.
    geometry : {"auto", "cosine", "scaled_manhattan", "manhattan", \
            "euclidean"}, default="auto"
        How templates are made and probes scored (:mod:`skeer.templates`).
        ``"auto"``: ``"cosine"`` for sequences, ``"scaled_manhattan"`` for vectors.
    template_input : bool or "auto", default="auto"
        Fixed text only: templates of [embedding, standardised input].
        ``"auto"``: True with ``"scaled_manhattan"``.
    patience : int or None, default=None
        Early stopping on ``valid_eer_smooth``, restoring the best weights.
    amp : bool, default=False
        Mixed precision (float16 on CUDA, bfloat16 on CPU); the loss stays float32.
    random_state : int or None, default=None
        Seeds the split, the batches and the weights (repeatable on CPU).
    train_split : callable or None, default=None
        skorch's ``train_split(dataset, y)``; ``None`` holds out ``validation_size``.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    compile : bool, default=False
        ``torch.compile`` the module (skorch's option; ``compile__*`` kwargs).
    verbose : None or int, default=None
        None: an epoch bar after 3 s (:class:`~skeer.verifier.EpochProgress`);
        0: nothing; 1 or more: skorch's batch bar and per-epoch table.
    callbacks, warm_start, iterator_train, iterator_valid, \
            predict_nonlinearity, use_caching, torch_load_kwargs
        As in :class:`skorch.NeuralNet` (a ``warm_start`` fit restarts the
        schedule from the current weights).
    **kwargs
        ``module__*``, ``criterion__*``, ``optimizer__*``, ``iterator_*__*``,
        ``callbacks__*``, ``compile__*`` as in skorch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Enrolled subjects, sorted.
    templates_, template_scales_ : ndarray of shape (n_classes, d)
        One template per subject (``d = embedding_dim_ + n_features_in_`` with
        ``template_input``); scales for ``"scaled_manhattan"`` only, else None.
    input_mean_, input_scale_ : ndarray of shape (n_features_in_,) or None
        The training input's mean and SD (``template_input=True``).
    geometry_ : str
        ``geometry`` with ``"auto"`` resolved.
    threshold_ : float
        Accept a claim when its score is ``>= threshold_``.
    embedding_dim_, n_features_in_ : int
        Width of ``transform``'s output and of the input.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame ``X`` of fixed-text vectors.
    interrupted_ : bool
        Whether the last ``fit`` was stopped by Ctrl-C.
    max_epochs_ : int
        The epochs the last ``fit`` was given (``"auto"`` resolved).
    module_, criterion_, optimizer_, history_
        As in skorch; ``history`` also holds ``valid_eer`` per epoch.

    See Also
    --------
    skeer.losses.SupConEERLoss, skeer.EERLoss : The default criteria.
    skeer.make_verification_scorer : Open-set scoring for subject-disjoint CV.

    Examples
    --------
    >>> import numpy as np
    >>> from skeer import KeystrokeVerifier
    >>> rng = np.random.default_rng(0)
    >>> centers = rng.normal(size=(6, 8))
    >>> y = np.repeat(np.arange(6), 10)
    >>> X = (centers[y] + 0.3 * rng.normal(size=(60, 8))).astype(np.float32)
    >>> clf = KeystrokeVerifier(max_epochs=3, n_subjects_per_batch=4,
    ...                         n_samples_per_subject=4, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> clf.decision_function(X).shape, clf.transform(X).shape
    ((60, 6), (60, 128))
    """

    #: Fitted arrays that :mod:`skeer.persistence` saves when present (None too).
    _persisted_arrays = (
        "templates_",
        "template_scales_",
        "input_mean_",
        "input_scale_",
    )

    def __init__(
        self,
        module=None,
        criterion=None,
        *,
        operating_point="eer",
        optimizer=torch.optim.Adam,
        lr=1e-3,
        lr_schedule="cosine",
        warmup_epochs=1,
        max_epochs="auto",
        batch_size=256,
        n_subjects_per_batch=40,
        n_samples_per_subject=8,
        batches_per_epoch=None,
        validation_size=0.2,
        n_enroll=5,
        geometry="auto",
        template_input="auto",
        patience=None,
        amp=False,
        random_state=None,
        train_split=None,
        iterator_train=DataLoader,
        iterator_valid=DataLoader,
        callbacks=None,
        warm_start=False,
        verbose=None,
        device="cpu",
        compile=False,
        predict_nonlinearity="auto",
        use_caching="auto",
        torch_load_kwargs=None,
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
            # clone() passes skorch's dataset back: accepted, but ours is fixed
            dataset=kwargs.pop("dataset", ArrayDataset),
            train_split=train_split,
            callbacks=callbacks,
            warm_start=warm_start,
            verbose=verbose,
            device=device,
            compile=compile,
            predict_nonlinearity=predict_nonlinearity,
            use_caching=use_caching,
            torch_load_kwargs=torch_load_kwargs,
            **kwargs,
        )
        self.operating_point = operating_point
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.n_subjects_per_batch = n_subjects_per_batch
        self.n_samples_per_subject = n_samples_per_subject
        self.batches_per_epoch = batches_per_epoch
        self.validation_size = validation_size
        self.n_enroll = n_enroll
        self.geometry = geometry
        self.template_input = template_input
        self.patience = patience
        self.amp = amp
        self.random_state = random_state

    def __repr__(self, N_CHAR_MAX=700):
        # scikit-learn's: the parameters that differ from their defaults
        # (skorch's lists the module's repr and "[uninitialized]")
        return BaseEstimator.__repr__(self, N_CHAR_MAX=N_CHAR_MAX)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_class = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def set_params(self, **kwargs):
        """Set parameters (skorch's rules; ``callbacks`` validated at initialisation).

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
        # skorch reports its private bookkeeping and the fixed dataset too
        return [
            k
            for k in super()._get_param_names()
            if not k.startswith("_") and k != "dataset"
        ]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "templates_") and getattr(self, "initialized_", False)

    def _check_fitted(self, *, enrolled=True):
        if enrolled:
            fitted = self.__sklearn_is_fitted__()
        else:
            initialized = getattr(self, "initialized_", False)
            fitted = initialized and hasattr(self, "n_features_in_")
        if not fitted:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call "
                "'fit' with appropriate arguments before using this estimator."
            )

    def _validate_X(self, X, *, reset):
        if hasattr(X, "columns") and getattr(X, "ndim", 0) == 2:
            _check_feature_names(self, X, reset=reset)
        X = check_verifier_input(X)
        if reset:
            self.n_features_in_ = X.shape[-1]
            self.input_ndim_ = X.ndim
        else:
            check_input_shape(X, self.input_ndim_, self.n_features_in_, self)
        return X

    def _validate_params(self):
        """Check every parameter before any work (the one place)."""
        check_verifier_params(self)

    def fit(self, X, y=None, **fit_params):
        """Train the embedding network, enrol every subject, set ``threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, max_len, n_features) or \
                (n_samples, n_features)
            Keystroke sequences or fixed-text timing vectors.
        y : array-like of shape (n_samples,)
            Subject of each sample; at least 2 distinct subjects.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : KeystrokeVerifier
            The fitted verifier.
        """
        self._validate_params()
        if "sample_weight" in fit_params:
            raise ValueError(
                "sample_weight is not supported by KeystrokeVerifier: training "
                "batches are balanced by subject (n_subjects_per_batch x "
                "n_samples_per_subject) and every comparison counts once."
            )
        X = self._validate_X(X, reset=not (self.warm_start and self.initialized_))
        y = self._check_targets(y, len(X))
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "y has only 1 class (a single subject); a verifier needs at least 2 "
                "subjects to form impostor pairs."
            )
        codes = codes.astype(np.int64)
        self._n_fit_subjects = len(classes)  # for a criterion with class proxies
        self._set_template_geometry(X)  # before training: valid_eer uses it
        seeds = np.random.SeedSequence(self.random_state).spawn(4)
        self._seeds_ = [int(s.generate_state(1)[0]) for s in seeds]
        devices = []
        if self._device_type() == "cuda" and torch.cuda.is_available():
            devices = [torch.device(self.device).index or 0]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self._seeds_[3])
            if not self.warm_start or not self.initialized_:
                self.initialize()
            # computed once: training, the budget and calibration share it
            self._fit_split_ = (X, self.get_split_datasets(X, codes, **fit_params))
            try:
                _, (train, valid) = self._fit_split_
                self.max_epochs_ = self._resolve_max_epochs(train)
                self._train(X, codes, **fit_params)
            finally:
                del self._fit_split_
        self._enrol_and_calibrate(X, codes, classes, valid)
        return self

    def _set_template_geometry(self, X):
        """``geometry_`` and, for templates of [embedding, input], its scaling."""
        self.geometry_, with_input = _enrol.resolve_geometry(
            self.geometry, self.template_input, X.ndim
        )
        self.input_mean_ = self.input_scale_ = None
        if with_input:
            self.input_mean_ = X.mean(axis=0)
            std = X.std(axis=0)
            self.input_scale_ = np.where(std > 0, std, 1.0).astype(np.float32)

    def _enrol_and_calibrate(self, X, codes, classes, valid):
        """Enrol every training subject; set ``threshold_`` on the held-out ones."""
        F_all = self._template_features(X, validate=False)
        self.embedding_dim_ = int(F_all.shape[1]) - (
            0 if self.input_mean_ is None else int(X.shape[1])
        )
        self._set_templates(
            classes,
            make_templates(F_all, codes, len(classes), self.geometry_),
        )
        if valid is None:
            held = np.ones(len(codes), dtype=bool)
            self._warn_calibration(codes, "training")
        else:
            held = np.isin(codes, np.unique(valid.y))
            self._warn_calibration(codes[held], "held-out")
        self.threshold_ = self._calibrate(F_all[held], codes[held])

    def _check_targets(self, y, n_samples):
        return check_subjects(y, n_samples)

    def transform(self, X):
        """L2-normalised embeddings.

        Parameters
        ----------
        X : array-like
            Input as in ``fit``.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, d)
            Unit-norm float32 embeddings.

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> clf = KeystrokeVerifier(max_epochs=0, validation_size=0).fit(
        ...     X, np.repeat(np.arange(4), 10))
        >>> clf.transform(X).shape
        (40, 128)
        """
        # the network alone is needed (so it also works during fit)
        self._check_fitted(enrolled=False)
        return self._embed(self._validate_X(X, reset=False))

    def _embed(self, X):
        """Unit-norm float32 embeddings, ``batch_size`` rows at a time."""
        weight = next(self.module_.parameters(), None)  # else: self.device
        device = torch.device(self.device or "cpu") if weight is None else weight.device
        dtype = AMP_DTYPE.get(device.type, torch.float16)
        out = []
        with (
            torch.no_grad(),
            torch.autocast(device.type, dtype, enabled=bool(self.amp)),
        ):
            self._set_training(False)
            for start in range(0, len(X), self.batch_size):
                Xi = torch.from_numpy(X[start : start + self.batch_size])
                if device.type == "cuda":
                    Xi = Xi.pin_memory()
                out.append(self.module_(Xi.to(device, non_blocking=True)).float().cpu())
        emb = torch.cat(out)
        bad = ~torch.isfinite(emb).all(dim=1)
        if bool(bad.any()):
            raise ValueError(
                f"The network's embeddings contain NaN or inf for {int(bad.sum())} "
                f"of {len(emb)} samples (first at index {int(bad.nonzero()[0, 0])}): "
                "its weights are not finite, or the input is far outside the "
                "range it was trained on. No score is computed from them."
            )
        return F.normalize(emb, dim=1).numpy()

    # -- the template geometry (skeer.templates), shared with the protocols
    def _template_features(self, X, *, validate=True):
        """The embeddings of ``X`` (then ``X`` standardised with ``template_input``)."""
        if validate:
            self._check_fitted(enrolled=False)
            X = self._validate_X(X, reset=False)
        emb = self._embed(X)
        if getattr(self, "input_mean_", None) is None:
            return emb
        scaled = (X - self.input_mean_) / self.input_scale_
        return np.hstack([emb, scaled.astype(np.float32)])

    @property
    def _template_geometry(self):
        fitted = getattr(self, "geometry_", None)
        return fitted or ("cosine" if self.geometry == "auto" else self.geometry)

    def get_feature_names_out(self, input_features=None):
        """Names of the embedding dimensions, for ``set_output(transform="pandas")``.

        Parameters
        ----------
        input_features : None
            Ignored (the embedding dimensions do not map to input features).

        Returns
        -------
        names : ndarray of str, shape (embedding_dim_,)
            ``"embedding0"``, ``"embedding1"``, ...

        Examples
        --------
        >>> import numpy as np
        >>> from skeer import KeystrokeVerifier
        >>> X = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
        >>> clf = KeystrokeVerifier(max_epochs=0, validation_size=0,
        ...                         module__embedding_dim=3)
        >>> clf.fit(X, np.repeat(np.arange(4), 10)).get_feature_names_out().tolist()
        ['embedding0', 'embedding1', 'embedding2']
        """
        self._check_fitted()
        n = getattr(self, "embedding_dim_", None)
        if n is None:  # e.g. loaded from a file: the templates' width tells
            extra = getattr(self, "input_mean_", None)
            n = self.templates_.shape[1] - (0 if extra is None else len(extra))
        return np.asarray([f"embedding{i}" for i in range(n)], dtype=object)

    @property
    def predict_proba(self):
        """Not available: scores are similarities; use :meth:`decision_function`."""
        raise AttributeError(
            "KeystrokeVerifier has no predict_proba: its scores are similarities; "
            "use decision_function."
        )
