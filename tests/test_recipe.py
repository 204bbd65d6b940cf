"""The default training recipe: warm-up, cosine decay, smoothed early stopping."""

import math
import warnings

import numpy as np
import pytest
from skorch.callbacks import Callback

from skeer import KeystrokeVerifier
from skeer.verifier._callbacks import SMOOTHING_WINDOW, lr_factor


class RecordLR(Callback):
    """The optimizer's learning rate during every training batch."""

    def initialize(self):
        self.lrs_ = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.lrs_.append(net.optimizer_.param_groups[0]["lr"])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(12), 8)
    centres = rng.normal(size=(12, 6))
    X = (centres[y] + 0.7 * rng.normal(size=(len(y), 6))).astype(np.float32)
    return X, y


def _fit(X, y, **params):
    rec = RecordLR()
    kw = {
        "n_subjects_per_batch": 4,
        "n_samples_per_subject": 4,
        "batches_per_epoch": 5,
        "random_state": 0,
        "callbacks": [("rec", rec)],
    }
    kw.update(params)
    net = KeystrokeVerifier(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        net.fit(X, y)
    return net, _recorded(net)


def _recorded(net):
    return dict(net.callbacks_)["rec"].lrs_


def _steps(monkeypatch, steps):
    """``max_epochs="auto"``'s budget in steps, for sequences and fixed text."""
    import skeer.verifier._training

    for name in ("AUTO_TRAINING_STEPS", "AUTO_FIXED_TEXT_STEPS"):
        monkeypatch.setattr(skeer.verifier._training, name, steps)


def test_default_criterion_depends_on_the_input(data, tmp_path):
    """criterion=None: SupCon + 0.3 x EERLoss for sequences, EERLoss for
    fixed-text vectors; the resolved loss gets the verifier's operating point,
    and a saved model keeps criterion=None."""
    import skeer
    from skeer.losses import EERLoss, SupConEERLoss

    X, y = data
    assert KeystrokeVerifier().criterion is None
    net, _ = _fit(X, y, max_epochs=1, operating_point=0.05)
    assert type(net.criterion_) is EERLoss
    assert net.criterion_.operating_point == 0.05
    net, _ = _fit(X[:, :, None], y, max_epochs=1, operating_point=0.05)
    assert type(net.criterion_) is SupConEERLoss
    assert (net.criterion_.eer_weight, net.criterion_.operating_point) == (0.3, 0.05)
    assert net.criterion_.n_enroll == net.n_enroll == 5  # the verifier's, passed on
    loaded = skeer.load(skeer.save(net, tmp_path / "m.skeer"))
    assert loaded.criterion is None
    np.testing.assert_array_equal(
        loaded.decision_function(X[:5, :, None]),
        net.decision_function(X[:5, :, None]),
    )


def test_defaults_are_the_converging_recipe():
    net = KeystrokeVerifier()
    assert (net.lr_schedule, net.warmup_epochs, net.max_epochs, net.patience) == (
        "cosine",
        1,
        "auto",
        None,
    )


@pytest.mark.parametrize("budget, per_epoch, expected", [(20, 5, 4), (21, 5, 5)])
def test_auto_epochs_are_a_budget_in_steps(
    data, monkeypatch, budget, per_epoch, expected
):
    _steps(monkeypatch, budget)
    X, y = data
    net, lrs = _fit(X, y, lr=0.01, max_epochs="auto", batches_per_epoch=per_epoch)
    assert net.max_epochs_ == expected == len(net.history)
    assert len(lrs) == expected * per_epoch
    # the cosine decay spans the resolved epochs: it ends near 0
    assert lrs[-1] < 0.01 * 0.05


def test_auto_epochs_stop_at_auto_max_epochs_on_fixed_text(data, monkeypatch):
    """Fixed text: 3,500 steps on a small data set would be hundreds of
    epochs; the budget stops at AUTO_MAX_EPOCHS passes over the training data
    (large data sets reach their steps first), whatever batches_per_epoch
    says. Free text is not capped."""
    import skeer.verifier._training
    from skeer.verifier import (
        AUTO_FIXED_TEXT_STEPS,
        AUTO_MAX_EPOCHS,
        AUTO_TRAINING_STEPS,
    )

    assert (AUTO_TRAINING_STEPS, AUTO_MAX_EPOCHS, AUTO_FIXED_TEXT_STEPS) == (
        1750,
        90,
        3500,
    )
    monkeypatch.setattr(skeer.verifier._training, "AUTO_MAX_EPOCHS", 3)
    X, y = data
    # 12 subjects x 8, 20 % held out: 10 x 8 = 80 samples, batches of 16
    net, lrs = _fit(X, y, lr=0.01, max_epochs="auto", batches_per_epoch=None)
    one_pass = net.batches_per_epoch_
    assert one_pass == 5
    assert net.max_epochs_ == 3 == len(net.history)  # not 3,500 / 5 = 700
    assert len(lrs) == 3 * one_pass and lrs[-1] < 0.01 * 0.2  # decay ends there
    # shorter epochs: the same 3 passes, in more of them
    net, lrs = _fit(X, y, lr=0.01, max_epochs="auto", batches_per_epoch=2)
    assert net.max_epochs_ == math.ceil(3 * one_pass / 2) and len(lrs) == 16
    # large data (the cap far away): batches_per_epoch only splits the steps
    _steps(monkeypatch, 12)
    monkeypatch.setattr(skeer.verifier._training, "AUTO_MAX_EPOCHS", 90)
    net, lrs = _fit(X, y, max_epochs="auto", batches_per_epoch=2)
    assert net.max_epochs_ == 6 and len(lrs) == 12
    # free text (3-D sequences) is not capped: TypeNet gained from the steps
    monkeypatch.setattr(skeer.verifier._training, "AUTO_MAX_EPOCHS", 1)
    net, _ = _fit(X, y, max_epochs="auto", batches_per_epoch=2)  # 2-D: 1 pass
    assert net.max_epochs_ == math.ceil(one_pass / 2)
    net, _ = _fit(X[:, :, None], y, max_epochs="auto", batches_per_epoch=2)
    assert net.max_epochs_ == 6


def test_auto_epochs_count_the_training_identities_only(data, monkeypatch):
    _steps(monkeypatch, 12)
    X, y = data
    # 12 identities x 8: validation holds out 3 (25 %), 9 x 8 = 72 samples
    # in batches of 4 x 4 = 16: ceil(72 / 16) = 5 batches per epoch
    net, lrs = _fit(
        X, y, max_epochs="auto", batches_per_epoch=None, validation_size=0.25
    )
    assert net.max_epochs_ == math.ceil(12 / 5) == len(net.history)
    assert len(lrs) == net.max_epochs_ * 5
    # without validation all 96 samples train: 6 batches, 2 epochs
    net, _ = _fit(X, y, max_epochs="auto", batches_per_epoch=None, validation_size=0)
    assert net.max_epochs_ == 2


def test_auto_epochs_with_a_split_by_sample(data, monkeypatch):
    from skorch.dataset import ValidSplit

    _steps(monkeypatch, 12)
    X, y = data
    # ValidSplit holds out samples of every identity: 96 - 24 = 72 train,
    # in batches of 4 x 4: 5 batches per epoch, so 3 epochs
    split = ValidSplit(4, stratified=True)
    net, lrs = _fit(X, y, max_epochs="auto", batches_per_epoch=None, train_split=split)
    assert net.max_epochs_ == 3 == len(net.history)
    assert len(lrs) == 3 * 5


def test_an_integer_max_epochs_is_used_as_given(data):
    X, y = data
    net, _ = _fit(X, y, max_epochs=2)
    assert net.max_epochs_ == 2 == len(net.history)


@pytest.mark.parametrize("bad", ["Auto", "60", -1, 2.5, None])
def test_max_epochs_must_be_auto_or_an_integer(data, bad):
    X, y = data
    with pytest.raises(ValueError, match="max_epochs must be 'auto' or"):
        KeystrokeVerifier(max_epochs=bad).fit(X, y)


def test_warmup_then_cosine_decay_to_zero(data):
    X, y = data
    net, lrs = _fit(X, y, lr=0.01, max_epochs=4, warmup_epochs=1, patience=None)
    steps = 5  # batches per epoch
    assert len(lrs) == 4 * steps
    # linear warm-up over the first epoch, reaching lr at its last step
    np.testing.assert_allclose(lrs[:steps], 0.01 * np.arange(1, steps + 1) / steps)
    # then a half cosine over the remaining 15 steps, ending near 0
    decay = [
        0.01 * 0.5 * (1 + math.cos(math.pi * i / (3 * steps))) for i in range(3 * steps)
    ]
    np.testing.assert_allclose(lrs[steps:], decay)
    assert lrs[-1] < 0.01 * 0.02
    # each epoch's last learning rate is in the history
    assert net.history[:, "lr"] == [lrs[i * steps + steps - 1] for i in range(4)]


def test_constant_schedule_and_no_warmup(data):
    X, y = data
    _, lrs = _fit(
        X,
        y,
        lr=0.005,
        max_epochs=2,
        warmup_epochs=0,
        lr_schedule="constant",
        patience=None,
    )
    assert lrs == [0.005] * 10


def test_fractional_warmup_and_restart_on_each_fit(data):
    X, y = data
    net, lrs = _fit(X, y, lr=0.01, max_epochs=2, warmup_epochs=0.4, patience=None)
    # 0.4 epoch of 5 steps: 2 warm-up steps
    np.testing.assert_allclose(lrs[:2], [0.005, 0.01])
    assert lrs[2] == pytest.approx(0.01)
    # a second fit (warm start) restarts the schedule: warm-up again
    first = len(lrs)
    net.set_params(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        net.fit(X, y)
    again = _recorded(net)[first:]
    assert len(again) == 10
    np.testing.assert_allclose(again[:2], [0.005, 0.01])


def test_no_schedule_leaves_the_learning_rate_to_other_callbacks(data):
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import StepLR

    X, y = data
    step = LRScheduler(policy=StepLR, step_size=1, gamma=0.5)
    _, lrs = _fit(
        X,
        y,
        lr=0.01,
        max_epochs=3,
        lr_schedule=None,
        patience=None,
        callbacks=[("rec", RecordLR()), ("step", step)],
    )
    np.testing.assert_allclose(lrs, np.repeat([0.01, 0.005, 0.0025], 5))


def test_factor_at_the_boundaries():
    def factor(step):
        return lr_factor(step, steps_per_epoch=10, warmup_epochs=1, max_epochs=3)

    assert factor(0) == pytest.approx(0.1)
    assert factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0)  # decay starts at 1
    assert factor(20) == pytest.approx(0.5)  # halfway through the decay
    assert factor(1000) == pytest.approx(0.0)  # beyond the end: 0


def test_early_stopping_watches_the_smoothed_curve(data):
    X, y = data
    net, _ = _fit(X, y, max_epochs=5, patience=2)
    stopper = dict(net.callbacks_)["early_stopping"]
    assert stopper.monitor == "valid_eer_smooth"
    raw = net.history[:, "valid_eer"]
    smooth = net.history[:, "valid_eer_smooth"]
    for i, value in enumerate(smooth):
        window = raw[max(0, i + 1 - SMOOTHING_WINDOW) : i + 1]
        assert value == pytest.approx(np.mean(window))


def test_patience_stops_on_a_flat_smoothed_curve(data):
    X, y = data
    # a negligible lr: nothing changes, the smoothed EER never improves
    net, _ = _fit(X, y, lr=1e-12, max_epochs=10, patience=2)
    assert len(net.history) == 3


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lr_schedule": "linear"}, "lr_schedule must be 'cosine', 'constant' or"),
        ({"lr_schedule": 1}, "lr_schedule"),
        ({"warmup_epochs": -1}, "warmup_epochs"),
        ({"warmup_epochs": float("nan")}, "warmup_epochs"),
        ({"warmup_epochs": "1"}, "warmup_epochs"),
    ],
)
def test_bad_recipe_parameters_are_refused(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        KeystrokeVerifier(max_epochs=1, **params).fit(X, y)


def test_schedule_scales_each_groups_own_rate(data):
    X, y = data
    net, _ = _fit(
        X,
        y,
        lr=0.01,
        optimizer__lr=0.05,
        optimizer__param_groups=[("layers.4.*", {"lr": 0.2})],
        module__hidden_sizes=(8,),
        max_epochs=2,
        warmup_epochs=0,
        lr_schedule="constant",
        patience=None,
    )
    rates = sorted(g["lr"] for g in net.optimizer_.param_groups)
    assert rates == pytest.approx([0.05, 0.2])


def test_warm_start_keeps_the_base_rate_and_set_params_changes_it(data):
    X, y = data
    net, lrs = _fit(X, y, lr=0.01, max_epochs=2, warmup_epochs=0, patience=None)
    assert lrs[0] == pytest.approx(0.01) and lrs[-1] < 0.01  # annealed
    n_first = len(lrs)
    net.set_params(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        net.fit(X, y)
    # the annealed rate is not the new base: the decay restarts from 0.01
    assert _recorded(net)[n_first] == pytest.approx(0.01)
    net.set_params(lr=0.003)
    first = len(_recorded(net))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        net.fit(X, y)
    assert _recorded(net)[first] == pytest.approx(0.003)


def test_a_user_lr_scheduler_takes_over_with_a_warning(data):
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import StepLR

    X, y = data
    step = LRScheduler(policy=StepLR, step_size=1, gamma=0.5)
    net = KeystrokeVerifier(
        lr=0.01,
        max_epochs=2,
        n_subjects_per_batch=4,
        n_samples_per_subject=4,
        batches_per_epoch=5,
        patience=None,
        random_state=0,
        callbacks=[("rec", RecordLR()), ("step", step)],
    )
    with pytest.warns(UserWarning, match="lr_schedule='cosine' is ignored"):
        net.fit(X, y)
    np.testing.assert_allclose(_recorded(net), np.repeat([0.01, 0.005], 5))


def test_fractional_warmup_steps_are_rounded_before_the_ceiling():
    def factor(step):
        return lr_factor(step, steps_per_epoch=50, warmup_epochs=1.1, max_epochs=3)

    # 1.1 * 50 is 55.000000000000007 in floating point: still 55 steps
    assert factor(0) == pytest.approx(1 / 55)
    assert factor(54) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(1.0)


def test_an_early_stop_is_not_an_interruption(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", "y has ", UserWarning)
        warnings.filterwarnings("ignore", ".*held.out", UserWarning)
        net, _ = _fit(X, y, lr=1e-12, max_epochs=10, patience=2)
    assert len(net.history) == 3
    assert net.interrupted_ is False


def test_schedule_is_torchs_lambda_lr_and_matches_the_formula_exactly(data):
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import LambdaLR

    X, y = data
    net, lrs = _fit(X, y, lr=0.01, max_epochs=3, warmup_epochs=0.6, patience=None)
    sched = dict(net.callbacks_)["lr_schedule"]
    assert isinstance(sched, LRScheduler) and sched.step_every == "batch"
    assert isinstance(sched.lr_scheduler_, LambdaLR)
    assert net.batches_per_epoch_ == 5
    # bit for bit the rate the hand-written schedule of skeer <= 0.1 set
    expected = [
        0.01 * lr_factor(s, steps_per_epoch=5, warmup_epochs=0.6, max_epochs=3)
        for s in range(15)
    ]
    assert lrs == expected


def test_history_follows_skorchs_best_convention_for_checkpoints(data, tmp_path):
    from skorch.callbacks import Checkpoint

    X, y = data
    cp = Checkpoint(monitor="valid_eer_best", dirname=str(tmp_path), f_history=None)
    net, _ = _fit(X, y, max_epochs=4, callbacks=[("rec", RecordLR()), ("cp", cp)])
    eers = net.history[:, "valid_eer"]
    best = [e < min(eers[:i]) if i else True for i, e in enumerate(eers)]
    assert net.history[:, "valid_eer_best"] == best
    assert net.history[:, "event_cp"] == best  # the checkpoint followed it
    smooth = net.history[:, "valid_eer_smooth"]
    assert net.history[:, "valid_eer_smooth_best"] == [
        s < min(smooth[:i]) if i else True for i, s in enumerate(smooth)
    ]


def test_a_fit_without_the_epoch_timer_is_not_an_interruption(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", "y has ", UserWarning)
        net = KeystrokeVerifier(
            max_epochs=2,
            n_subjects_per_batch=4,
            n_samples_per_subject=4,
            batches_per_epoch=2,
            random_state=0,
            callbacks__epoch_timer=None,
        ).fit(X, y)
    assert net.interrupted_ is False


def test_a_pickled_verifier_holds_its_optimizer_once(data):
    import pickle

    X, y = data
    net, _ = _fit(X, y, max_epochs=2)
    sched = dict(net.callbacks_)["lr_schedule"]
    assert sched.lr_scheduler_ is not None
    copy = pickle.loads(pickle.dumps(net))
    assert dict(copy.callbacks_)["lr_schedule"].lr_scheduler_ is None
    np.testing.assert_array_equal(copy.decision_function(X), net.decision_function(X))
    copy.set_params(warm_start=True, max_epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        copy.fit(X, y)  # the schedule is rebuilt
