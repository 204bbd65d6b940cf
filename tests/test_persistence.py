"""Saving and loading verifiers, pipelines and estimators (skeer.persistence)."""

import copy
import functools
import json
import re
import sys

import numpy as np
import pytest
import skorch
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

import skeer
from skeer import KeystrokeFeatures, KeystrokeVerifier, load, save
from skeer.datasets import make_keystrokes
from skeer.persistence._model_codec import checksum

#: The cosine geometry these tests were written for (2-D input defaults to
#: scaled Manhattan over [embedding, input], tested on its own).
COSINE = {"geometry": "cosine", "template_input": False}
FAST = dict(
    max_epochs=3,
    n_subjects_per_batch=6,
    n_samples_per_subject=4,
    random_state=0,
)


@pytest.fixture(scope="module")
def fixed_text():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(8, 6))
    y = np.repeat(np.arange(8), 12)
    X = (centers[y] + 0.25 * rng.normal(size=(len(y), 6))).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def verifier(fixed_text):
    X, y = fixed_text
    return KeystrokeVerifier(
        **FAST, **COSINE, operating_point=0.1, module__dropout=0.2
    ).fit(X, y)


@pytest.fixture(scope="module")
def sessions():
    return make_keystrokes(n_subjects=8, n_sessions=8, random_state=0)


def _write_blob(path, blob):
    """Write ``blob`` with its checksum made anew, as a deliberate editor
    would: the checks behind the checksum are what the tampering tests try."""
    blob["checksum"] = checksum(blob)
    torch.save(blob, path)
    return path


def _rewrite_config(src, dst, edit):
    blob = torch.load(src, weights_only=True)
    config = json.loads(blob["config"])
    edit(config, blob)
    blob["config"] = json.dumps(config)
    return _write_blob(dst, blob)


def _assert_same_state(a, b):
    assert type(a) is type(b)
    assert a.get_params() == b.get_params()
    fitted = {k for k in vars(a) if k.endswith("_") and not k.startswith("__")}
    assert fitted == {k for k in vars(b) if k.endswith("_") and not k.startswith("__")}
    for key in fitted:
        va, vb = getattr(a, key), getattr(b, key)
        assert type(va) is type(vb), key
        if isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype, key
            np.testing.assert_array_equal(va, vb)
        else:
            assert va == vb, key


# ----------------------------------------------------------------------
# verifiers
def test_save_load_round_trips(verifier, fixed_text, tmp_path):
    X, y = fixed_text
    path = save(verifier, tmp_path / "model.skeer")
    assert path == tmp_path / "model.skeer"
    loaded = load(path)
    np.testing.assert_array_equal(
        loaded.decision_function(X), verifier.decision_function(X)
    )
    np.testing.assert_array_equal(loaded.transform(X), verifier.transform(X))
    np.testing.assert_array_equal(loaded.classes_, verifier.classes_)
    assert loaded.threshold_ == verifier.threshold_
    assert loaded.operating_point == 0.1
    assert loaded.get_params()["module__dropout"] == 0.2
    np.testing.assert_array_equal(loaded.verify(X, y), verifier.verify(X, y))
    # the module function and the method write and read the same file
    same = load(save(verifier, tmp_path / "again.skeer"))
    np.testing.assert_array_equal(same.templates_, verifier.templates_)


def test_history_survives_save_and_load(verifier, tmp_path):
    loaded = load(save(verifier, tmp_path / "m.skeer"))
    assert len(loaded.history) == len(verifier.history) == 3
    for key in ("train_loss", "valid_eer", "dur"):
        assert loaded.history[:, key] == verifier.history[:, key]
    assert loaded.history[-1, "batches", 0] == verifier.history[-1, "batches", 0]


def test_unjsonable_history_entries_are_dropped_with_a_warning(fixed_text, tmp_path):
    X, y = fixed_text
    clf = KeystrokeVerifier(**{**FAST, **COSINE, "max_epochs": 1}).fit(X, y)
    clf.history.record("note", object())
    clf.history.record("score32", np.float32(0.5))
    with pytest.warns(UserWarning, match="'note'"):
        path = save(clf, tmp_path / "m.skeer")
    loaded = load(path)
    assert "note" not in loaded.history[-1]
    assert loaded.history[-1, "score32"] == 0.5


def test_string_identities(fixed_text, tmp_path):
    X, y = fixed_text
    names = np.array([f"user{i:02d}" for i in y])
    clf = KeystrokeVerifier(**FAST, **COSINE).fit(X, names)
    loaded = load(save(clf, tmp_path / "m.skeer"))
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert loaded.predict(X[:3]).tolist() == clf.predict(X[:3]).tolist()


def test_tuple_parameters_stay_tuples(fixed_text, tmp_path):
    X, y = fixed_text
    clf = KeystrokeVerifier(**FAST, **COSINE, module__hidden_sizes=(16, 8)).fit(X, y)
    loaded = load(save(clf, tmp_path / "m.skeer"))
    assert loaded.get_params()["module__hidden_sizes"] == (16, 8)


def test_unstorable_verifier_parameter_is_skipped_with_a_warning(fixed_text, tmp_path):
    X, y = fixed_text
    clf = KeystrokeVerifier(**{**FAST, **COSINE, "max_epochs": 1}).fit(X, y)
    clf.patience = {3}  # only read by fit
    with pytest.warns(UserWarning, match="patience.*not saved"):
        path = save(clf, tmp_path / "m.skeer")
    assert load(path).patience == KeystrokeVerifier().patience


def test_every_persisted_array_round_trips_none_and_absent_too(
    verifier, fixed_text, tmp_path, monkeypatch
):
    X, _ = fixed_text
    names = ("templates_", "extra_scale_", "empty_", "absent_")
    monkeypatch.setattr(KeystrokeVerifier, "_persisted_arrays", names)
    clf = clone(verifier)
    clf.__dict__.update(
        {k: v for k, v in vars(verifier).items() if k not in ("callbacks",)}
    )
    clf.extra_scale_ = np.arange(6, dtype=np.float16).reshape(2, 3)
    clf.empty_ = None
    loaded = load(save(clf, tmp_path / "m.skeer"))
    np.testing.assert_array_equal(loaded.extra_scale_, clf.extra_scale_)
    assert loaded.extra_scale_.dtype == np.float16
    assert loaded.empty_ is None
    assert not hasattr(loaded, "absent_")
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))


@pytest.mark.parametrize("template", ["cosine", "scaled_manhattan"])
def test_template_geometries_round_trip(fixed_text, tmp_path, template):
    if "geometry" not in KeystrokeVerifier().get_params():
        pytest.skip("KeystrokeVerifier has no template parameter")
    X, y = fixed_text
    clf = KeystrokeVerifier(**{**FAST, "max_epochs": 1}, geometry=template).fit(X, y)
    loaded = load(save(clf, tmp_path / "m.skeer"))
    # every fitted array of the verifier is saved (a missing one would change
    # the scores or be absent)
    for name, value in vars(clf).items():
        if name.endswith("_") and (value is None or isinstance(value, np.ndarray)):
            assert name in vars(loaded), name
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))
    assert loaded.threshold_ == clf.threshold_


def _skorch_state():
    """skorch's own state (``module_``, ``history_``, ...), rebuilt on load."""
    net = skorch.NeuralNet(
        torch.nn.Linear, torch.nn.MSELoss, module__in_features=1, module__out_features=1
    )
    return {k for k in vars(net.initialize()) if k.endswith("_")}


def _assert_fitted_attributes_survive(clf, loaded):
    """Every public fitted attribute of ``clf`` is in ``loaded``, equal."""
    for name, value in vars(clf).items():
        if not name.endswith("_") or name.startswith("_") or name in _skorch_state():
            continue
        assert name in vars(loaded), name
        got = getattr(loaded, name)
        if isinstance(value, np.ndarray):
            assert got.dtype == value.dtype, name
            np.testing.assert_array_equal(got, value)
        else:
            assert got == value and type(got) is type(value), name


@pytest.fixture(scope="module")
def template_input_verifier(fixed_text):
    """Templates of the embedding and the standardised input; fitted on a frame."""
    pd = pytest.importorskip("pandas")
    X, y = fixed_text
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    clf = KeystrokeVerifier(
        **{**FAST, "max_epochs": 1},
        geometry="scaled_manhattan",
        template_input=True,
        module__hidden_sizes=(16,),
        module__embedding_dim=8,
    )
    return clf.fit(frame, y), frame


def test_template_input_verifier_round_trips(template_input_verifier, tmp_path):
    clf, frame = template_input_verifier
    y = np.repeat(clf.classes_, 12)
    assert clf.templates_.shape == (8, 8 + 6)
    loaded = load(save(clf, tmp_path / "m.skeer"))
    _assert_fitted_attributes_survive(clf, loaded)
    assert loaded.template_input is True and loaded.embedding_dim_ == 8
    assert loaded.feature_names_in_.tolist() == [f"t{i}" for i in range(6)]
    assert loaded.get_feature_names_out().tolist() == [
        f"embedding{i}" for i in range(8)
    ]
    np.testing.assert_array_equal(
        loaded.claim_scores(frame, y), clf.claim_scores(frame, y)
    )
    np.testing.assert_array_equal(
        loaded.decision_function(frame), clf.decision_function(frame)
    )
    # in a pipeline too, behind a scaler
    pipe = make_pipeline(StandardScaler(), clone(clf)).fit(frame, y)
    loaded = load(save(pipe, tmp_path / "pipe.skeer"))
    _assert_fitted_attributes_survive(pipe[-1], loaded[-1])
    np.testing.assert_array_equal(
        loaded.decision_function(frame), pipe.decision_function(frame)
    )


def test_every_public_fitted_attribute_survives(verifier, tmp_path):
    _assert_fitted_attributes_survive(verifier, load(save(verifier, tmp_path / "m")))


class _MyVerifier(KeystrokeVerifier):
    pass


def test_subclass_is_saved_and_loaded_as_a_plain_verifier(verifier, tmp_path):
    clf = _MyVerifier(**FAST)
    clf.__dict__.update(
        {k: v for k, v in vars(verifier).items() if k not in ("callbacks",)}
    )
    with pytest.warns(UserWarning, match="saved as a plain KeystrokeVerifier"):
        path = save(clf, tmp_path / "m.skeer")
    assert type(load(path)) is KeystrokeVerifier


def test_unfitted_verifier_is_refused(tmp_path):
    with pytest.raises(NotFittedError):
        save(KeystrokeVerifier(), tmp_path / "m.skeer")


class _TinyNet(torch.nn.Module):
    def __init__(self, n_features, width=4):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, width)

    def forward(self, x):
        return self.linear(x)


def test_custom_module_needs_its_class_on_load(fixed_text, tmp_path):
    X, y = fixed_text
    clf = KeystrokeVerifier(_TinyNet, **FAST, module__width=5).fit(X, y)
    path = save(clf, tmp_path / "m.skeer")
    with pytest.raises(ValueError, match=r"_TinyNet.*pass module=") as info:
        load(path)
    assert str(path) in str(info.value)
    loaded = load(path, module=_TinyNet)
    np.testing.assert_array_equal(loaded.transform(X), clf.transform(X))


def test_map_location_becomes_the_device(verifier, tmp_path):
    loaded = load(
        save(verifier, tmp_path / "m.skeer"), map_location=torch.device("cpu")
    )
    assert loaded.device == "cpu"


# ----------------------------------------------------------------------
# files written by skeer before format_version 2
def _save_format_version_1(net, path):
    """``KeystrokeVerifier.save`` as skeer wrote it before format_version 2."""
    params = {}
    for key, value in net.get_params(deep=False).items():
        if key in ("module", "criterion", "optimizer"):
            cls = value if isinstance(value, type) else type(value)
            params[key] = None if value is None else skeer.registry.qualified_name(cls)
        elif key in ("iterator_train", "iterator_valid", "callbacks", "dataset"):
            continue
        elif key.startswith(("iterator_", "callbacks__")) or key == "train_split":
            continue
        else:
            json.dumps(value)
            params[key] = value
    config = {
        "format": "skeer.KeystrokeVerifier",
        "format_version": 1,
        "skeer_version": "0.1.0",
        "torch_version": torch.__version__,
        "params": params,
        "module_class": skeer.registry.qualified_name(type(net.module_)),
        "fitted": {
            "classes": net.classes_.tolist(),
            "classes_dtype": net.classes_.dtype.str,
            "threshold": net.threshold_,
            "n_features_in": int(net.n_features_in_),
            "input_ndim": int(net.input_ndim_),
        },
    }
    blob = {
        "config": json.dumps(config),
        "module_state": {k: v.cpu() for k, v in net.module_.state_dict().items()},
        "templates": torch.from_numpy(net.templates_),
    }
    return _write_blob(path, blob)


def test_format_version_1_files_are_refused_with_what_to_do(verifier, tmp_path):
    # the pre-release format: its loader read sizes and dtypes from the file
    # unchecked (a "<U100000000" dtype allocated 1.6 GB); it is gone
    path = _save_format_version_1(verifier, tmp_path / "v1.skeer")
    with pytest.raises(ValueError, match="format_version 1, written by a pre-release"):
        load(path)


# ----------------------------------------------------------------------
# pipelines and single estimators
def test_features_and_verifier_pipeline_round_trips(sessions, tmp_path):
    X, y = sessions
    pipe = make_pipeline(
        KeystrokeFeatures(max_len=20, clip=4.0), KeystrokeVerifier(**FAST)
    ).fit(X, y)
    path = skeer.save(pipe, tmp_path / "pipe.skeer")
    loaded = skeer.load(path)
    assert isinstance(loaded, Pipeline)
    assert [n for n, _ in loaded.steps] == [n for n, _ in pipe.steps]
    assert loaded[0].get_params() == pipe[0].get_params()
    np.testing.assert_array_equal(loaded.transform(X), pipe.transform(X))
    np.testing.assert_array_equal(
        loaded.decision_function(X), pipe.decision_function(X)
    )
    assert len(loaded[-1].history) == len(pipe[-1].history)


@pytest.mark.parametrize("scaler", [StandardScaler(), RobustScaler(), MinMaxScaler()])
def test_scaler_and_verifier_pipeline_round_trips(scaler, fixed_text, tmp_path):
    X, y = fixed_text
    pipe = Pipeline(
        [
            ("scale", scaler),
            ("skip", "passthrough"),
            ("clf", KeystrokeVerifier(**FAST, **COSINE)),
        ]
    ).fit(X, y)
    loaded = load(save(pipe, tmp_path / "pipe.skeer"))
    assert loaded.steps[1] == ("skip", "passthrough")
    _assert_same_state(loaded[0], pipe[0])
    np.testing.assert_array_equal(
        loaded.decision_function(X), pipe.decision_function(X)
    )


def test_timing_baseline_pipeline_round_trips(sessions, tmp_path):
    baselines = pytest.importorskip("skeer.baselines")
    X, y = sessions
    pipe = baselines.make_timing_baseline(max_len=30).fit(X, y)
    loaded = load(save(pipe, tmp_path / "baseline.skeer"))
    assert loaded.get_params(deep=True).keys() == pipe.get_params(deep=True).keys()
    for got, expected in zip(loaded, pipe):
        _assert_same_state(got, expected)
    np.testing.assert_array_equal(
        loaded.decision_function(X), pipe.decision_function(X)
    )


def _single_estimators():
    yield "robust", RobustScaler(quantile_range=(10.0, 90.0))
    yield "minmax", MinMaxScaler(feature_range=(-1, 1))
    yield "standard", StandardScaler(with_mean=False)
    yield "features", KeystrokeFeatures(max_len=7)
    try:
        from skeer import baselines
    except ImportError:
        return
    yield "scaled_manhattan", baselines.ScaledManhattan(n_enroll=3)
    yield "geometry", baselines.TemplateDetector()


@pytest.mark.parametrize("name, estimator", list(_single_estimators()))
def test_single_estimators_round_trip(name, estimator, fixed_text, tmp_path):
    X, y = fixed_text
    X = X.astype(np.float64)
    est = clone(estimator).fit(X, y)
    loaded = load(save(est, tmp_path / f"{name}.skeer"))
    _assert_same_state(loaded, est)
    assert loaded.get_params() == est.get_params()  # tuples stay tuples
    method = "transform" if hasattr(est, "transform") else "decision_function"
    np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))


def test_dataframe_feature_names_and_set_output_round_trip(fixed_text, tmp_path):
    pd = pytest.importorskip("pandas")
    X, _ = fixed_text
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    scaler = StandardScaler().set_output(transform="pandas").fit(frame)
    loaded = load(save(scaler, tmp_path / "s.skeer"))
    assert loaded.feature_names_in_.dtype == object
    assert loaded.feature_names_in_.tolist() == scaler.feature_names_in_.tolist()
    out = loaded.transform(frame)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, scaler.transform(frame))


def test_estimators_that_cannot_be_stored_are_refused(fixed_text, tmp_path):
    X, y = fixed_text
    path = tmp_path / "x.skeer"
    with pytest.raises(TypeError, match=r"step 'pca'.*PCA is not a class skeer"):
        save(make_pipeline(PCA(2), StandardScaler()).fit(X), path)
    with pytest.raises(TypeError, match=r"StandardScaler's attribute 'note_'"):
        scaler = StandardScaler().fit(X)
        scaler.note_ = object()
        save(scaler, path)
    with pytest.raises(TypeError, match=r"parameter 'copy'.*set is not storable"):
        scaler = StandardScaler().fit(X)
        scaler.copy = {1}
        save(scaler, path)
    with pytest.raises(NotFittedError):
        save(make_pipeline(StandardScaler(), KeystrokeVerifier()), path)
    # a column that was all NaN: load would refuse the file, so save does
    with pytest.warns(RuntimeWarning):
        scaler = StandardScaler().fit(np.c_[X[:, :2], np.full(len(X), np.nan)])
    with pytest.raises(ValueError, match="Cannot save StandardScaler: mean_ holds"):
        save(scaler, path)
    assert not path.exists()


# ----------------------------------------------------------------------
# nothing from the file runs; bad files are refused clearly
_EVIL = """
import pathlib
pathlib.Path({marker!r}).write_text("imported")


class Evil:
    def __init__(self, **kwargs):
        pathlib.Path({marker!r}).write_text("instantiated")
"""


@pytest.fixture
def evil_module(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    (tmp_path / "skeer_evil_module.py").write_text(_EVIL.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "skeer_evil_module", marker
    sys.modules.pop("skeer_evil_module", None)


def _set_step_class(name):
    def edit(config, blob):
        config["steps"][0]["class"] = name

    return edit


def _set_module(name):
    def edit(config, blob):
        config["steps"][0]["params"]["module"] = name

    return edit


@pytest.mark.parametrize(
    "edit",
    [
        _set_step_class("skeer_evil_module.Evil"),
        _set_step_class("builtins.eval"),
        _set_step_class("os.system"),
        _set_step_class("skeer.persistence.save"),
        _set_module("skeer_evil_module.Evil"),
        _set_module("skeer.losses.torch"),
    ],
)
def test_classes_off_the_allow_list_are_refused_without_running_code(
    verifier, tmp_path, evil_module, edit
):
    module_name, marker = evil_module
    good = save(verifier, tmp_path / "good.skeer")
    bad = _rewrite_config(good, tmp_path / "bad.skeer", edit)
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        load(bad)
    assert not marker.exists()
    assert module_name not in sys.modules


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_objects_are_refused_without_running_code(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "payload.skeer"
    config = json.dumps({"format": "skeer.Estimator", "format_version": 2})
    torch.save({"config": config, "arrays": {"0": _Payload(str(marker))}}, path)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*not a skeer model"):
        load(path)
    assert not marker.exists()


def _tamper(key, value):
    def edit(config, blob):
        node = config
        *parents, last = key
        for k in parents:
            node = node[k]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value

    return edit


def _drop_tensor(config, blob):
    blob["arrays"].clear()


@pytest.mark.parametrize(
    "edit, match",
    [
        (_tamper(("format_version",), 99), "newer skeer"),
        (_tamper(("format_version",), "2"), "not a valid skeer model"),
        (_tamper(("format",), "other"), "not a skeer model"),
        (_tamper(("steps",), []), "not a valid skeer model"),
        (_tamper(("steps",), KeyError), "not a valid skeer model|could not be loaded"),
        (_tamper(("steps", 0, "fitted", "__class__"), 1), "not a valid skeer model"),
        (_tamper(("steps", 0, "fitted", "fit"), 1), "not a valid skeer model"),
        (_tamper(("steps", 0, "fitted", "classes_"), {"x": 1}), "not a valid"),
        (
            _tamper(("steps", 0, "class"), "skeer.features.KeystrokeFeatures"),
            "could not be loaded",
        ),
        (_tamper(("steps", 0, "history"), "x"), "not a valid skeer model"),
        (_drop_tensor, "not a valid skeer model"),
    ],
)
def test_tampered_files_raise_a_value_error_naming_the_path(
    verifier, tmp_path, edit, match
):
    good = save(verifier, tmp_path / "good.skeer")
    bad = _rewrite_config(good, tmp_path / "bad.skeer", edit)
    with pytest.raises(ValueError, match=match) as info:
        load(bad)
    assert str(bad) in str(info.value)


@pytest.mark.parametrize(
    "content",
    [b"not a model", b"", b"PK\x03\x04garbage"],
)
def test_files_that_are_not_models_raise_a_value_error(tmp_path, content):
    path = tmp_path / "model.skeer"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a skeer model") as info:
        load(path)
    assert str(path) in str(info.value)


def test_truncated_file_raises_a_value_error(verifier, tmp_path):
    good = save(verifier, tmp_path / "good.skeer")
    bad = tmp_path / "bad.skeer"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        load(bad)


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a skeer model"):
        load(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skeer")


# ----------------------------------------------------------------------
# Accelerate
def test_accelerated_verifier_saves_as_a_plain_one(fixed_text, tmp_path):
    pytest.importorskip("accelerate")
    from accelerate import Accelerator

    from skeer.verifier import AcceleratedKeystrokeVerifier

    X, y = fixed_text
    net = AcceleratedKeystrokeVerifier(
        accelerator=Accelerator(cpu=True), **{**FAST, "max_epochs": 2}
    ).fit(X, y)
    path = save(net, tmp_path / "m.skeer")
    config = json.loads(torch.load(path, weights_only=True)["config"])
    assert "accelerator" not in config["steps"][0]["params"]
    plain = load(path)
    assert type(plain) is KeystrokeVerifier
    np.testing.assert_array_equal(plain.decision_function(X), net.decision_function(X))
    assert plain.history[:, "train_loss"] == net.history[:, "train_loss"]


# ----------------------------------------------------------------------
# a model file that lies: its parts must agree with each other
def _fitted_array(config, blob, name, step=0):
    node = config["steps"][step]["fitted"][name]
    if node is None:
        return None
    if "key" in node:
        return blob["arrays"][node["key"]].numpy().reshape(node["shape"])
    return np.asarray(node["items"], dtype=node["dtype"]).reshape(node["shape"])


def _store_array(config, blob, name, value, step=0):
    fitted = config["steps"][step]["fitted"]
    if value is None:
        fitted[name] = None
        return
    value = np.asarray(value)
    spec = {
        "__skeer__": "ndarray",
        "dtype": value.dtype.str,
        "shape": list(value.shape),
    }
    if value.dtype.kind in "USO":
        spec["items"] = value.ravel().tolist()
    else:
        spec["key"] = f"tampered_{step}_{name}"
        blob["arrays"][spec["key"]] = torch.from_numpy(np.ascontiguousarray(value))
    fitted[name] = spec


def _edit_array(name, fn, step=0):
    def edit(config, blob):
        value = _fitted_array(config, blob, name, step)
        _store_array(config, blob, name, fn(value), step)

    return edit


def _set_fitted(name, value, step=0):
    def edit(config, blob):
        config["steps"][step]["fitted"][name] = value

    return edit


def _set_param(name, value):
    def edit(config, blob):
        config["steps"][0]["params"][name] = value

    return edit


def _set_state(key, fn):
    def edit(config, blob):
        state = blob["module_states"]["0"]
        if fn is KeyError:
            del state[key]
        else:
            state[key] = fn(state[key])

    return edit


def _both(*edits):
    def edit(config, blob):
        for e in edits:
            e(config, blob)

    return edit


def _unit_rows(a):
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _assert_refused(good, tmp_path, edit, match):
    bad = _rewrite_config(good, tmp_path / "bad.skeer", edit)
    with pytest.raises(ValueError, match=match) as info:
        load(bad)
    assert str(bad) in str(info.value)


# what is tampered with -> what the message must say; every one is a
# consistency check on a real saved file (an MLP verifier, cosine templates,
# operating_point=0.1, 8 identities, 6 features, 128-d embeddings)
_LIES = {
    "templates_rows": (
        _edit_array("templates_", lambda t: t[:-1]),
        "templates_ has 7 rows but classes_ holds 8",
    ),
    "extra_class": (
        _edit_array("classes_", lambda c: np.r_[c, 99]),
        "templates_ has 8 rows but classes_ holds 9",
    ),
    "classes_unsorted": (
        _edit_array("classes_", lambda c: c[::-1].copy()),
        "classes_ is not sorted and unique",
    ),
    "classes_duplicated": (
        _edit_array("classes_", lambda c: np.r_[c[:-1], c[-2]]),
        "classes_ is not sorted and unique",
    ),
    "classes_nan": (
        _edit_array("classes_", lambda c: np.r_[c[:-1], np.nan]),
        "classes_ holds NaN",
    ),
    "classes_2d": (
        _edit_array("classes_", lambda c: c.reshape(2, -1)),
        "classes_ is not a 1-D array",
    ),
    "classes_mixed_objects": (
        _set_fitted(
            "classes_",
            {
                "__skeer__": "ndarray",
                "dtype": "|O",
                "shape": [8],
                "items": [0, "a"] * 4,
            },
        ),
        "not all str or all int",
    ),
    "classes_void_dtype": (
        _set_fitted(
            "classes_",
            {"__skeer__": "ndarray", "dtype": "|V8", "shape": [8], "items": [0] * 8},
        ),
        "dtype '|V8' is not allowed",
    ),
    "classes_huge_string_width": (
        _set_fitted(
            "classes_",
            {
                "__skeer__": "ndarray",
                "dtype": "<U100000000",
                "shape": [8],
                "items": list("abcdefgh"),
            },
        ),
        "wider than its items",
    ),
    "numeric_array_as_strings": (
        lambda config, blob: config["steps"][0]["fitted"]["templates_"].update(
            dtype="<U100000000"
        ),
        "is not allowed here",
    ),
    "threshold_nan": (_set_fitted("threshold_", float("nan")), "threshold_ is NaN"),
    "threshold_plus_inf": (
        _set_fitted("threshold_", float("inf")),
        "threshold_ is inf but operating_point=0.1 never gives it",
    ),
    "threshold_minus_inf_at_eer": (
        _both(_set_param("operating_point", "eer"), _set_fitted("threshold_", -1e999)),
        "threshold_ is -inf but operating_point='eer' never gives it",
    ),
    "threshold_string": (_set_fitted("threshold_", "0.5"), "not a number"),
    "threshold_missing": (_set_fitted("threshold_", None), "not a number"),
    "scales_for_cosine": (
        lambda config, blob: _store_array(
            config, blob, "template_scales_", _fitted_array(config, blob, "templates_")
        ),
        "template_scales_ is set but the template geometry 'cosine'",
    ),
    "scaled_manhattan_without_scales": (
        _both(
            _set_fitted("geometry_", "scaled_manhattan"),
            _set_param("geometry", "scaled_manhattan"),
        ),
        "template_scales_ is missing",
    ),
    "unknown_geometry": (
        _set_fitted("geometry_", "evil"),
        "template geometry is 'evil'",
    ),
    "templates_nan": (
        _edit_array("templates_", lambda t: np.where(t > 0.1, np.nan, t)),
        "templates_ holds NaN",
    ),
    "templates_not_unit": (
        _edit_array("templates_", lambda t: 2 * t),
        "cosine templates_ are not unit vectors",
    ),
    "templates_1d": (
        _edit_array("templates_", lambda t: t.ravel()),
        "templates_ is not a 2-D array",
    ),
    "templates_int": (
        _edit_array("templates_", lambda t: t.astype(np.int64)),
        "templates_ has dtype int64",
    ),
    "templates_narrower_than_embeddings": (
        _edit_array("templates_", lambda t: _unit_rows(t[:, :-1])),
        r"the network embeds into \(128,\) but templates_ has 127 columns",
    ),
    "n_features_in_disagrees_with_weights": (
        _set_fitted("n_features_in_", 7),
        r"'layers.0.weight' has shape \(256, 6\).*needs \(256, 7\)",
    ),
    "n_features_in_zero": (_set_fitted("n_features_in_", 0), "not a positive int"),
    "n_features_in_bool": (_set_fitted("n_features_in_", True), "not a positive int"),
    "n_features_in_huge": (
        _set_fitted("n_features_in_", 10**12),
        "module__n_features=1000000000000 describes a network larger",
    ),
    "input_ndim_3_for_an_mlp": (
        _set_fitted("input_ndim_", 3),
        "saved weights do not fit TypeNet",
    ),
    "input_ndim_5": (_set_fitted("input_ndim_", 5), "input_ndim_ is 5"),
    "hidden_size_160_gb": (
        _set_param("module__hidden_sizes", {"__skeer__": "tuple", "items": [10**10]}),
        "module__hidden_sizes=10000000000 describes a network larger than the",
    ),
    "a_million_layers": (
        _set_param(
            "module__hidden_sizes", {"__skeer__": "tuple", "items": [1] * 10**6}
        ),
        "module__hidden_sizes describes 1000000 layers but the saved weights hold",
    ),
    "hidden_size_mismatch": (
        _set_param("module__hidden_sizes", {"__skeer__": "tuple", "items": [64, 256]}),
        r"'layers.0.weight' has shape \(256, 6\).*needs \(64, 6\)",
    ),
    "embedding_dim_mismatch": (
        _set_param("module__embedding_dim", 64),
        r"has shape \(128, 256\).*needs \(64, 256\)",
    ),
    "weight_shape_mismatch": (
        _set_state("layers.0.weight", lambda w: w[:, :3].clone()),
        r"'layers.0.weight' has shape \(256, 3\)",
    ),
    "weight_missing": (_set_state("layers.0.weight", KeyError), "missing"),
    "weight_not_a_tensor": (_set_state("layers.0.weight", lambda w: 3), "not a tensor"),
    "interrupted_not_bool": (_set_fitted("interrupted_", "no"), "interrupted_ is"),
    "embedding_dim_lies": (
        _set_fitted("embedding_dim_", 64),
        r"embedding_dim_ is 64 but the network embeds into \(128,\)",
    ),
    "embedding_dim_not_int": (
        _set_fitted("embedding_dim_", 1.5),
        "embedding_dim_ is 1.5, not a positive integer",
    ),
    "input_scale_without_mean": (
        lambda config, blob: _store_array(
            config, blob, "input_scale_", np.ones(6, np.float32)
        ),
        "input_mean_ and input_scale_ are not both set or both None",
    ),
    "geometry_unknown": (_set_param("geometry", "hamming"), "geometry must be one of"),
}


@pytest.mark.parametrize("case", list(_LIES))
def test_inconsistent_verifier_files_are_refused(verifier, tmp_path, case):
    edit, match = _LIES[case]
    good = save(verifier, tmp_path / "good.skeer")
    _assert_refused(good, tmp_path, edit, match)


def test_network_sizes_are_checked_before_anything_is_allocated(
    verifier, tmp_path, monkeypatch
):
    # 10**10 hidden units would ask for 240 GB: refused without building the
    # network at all (not even on the meta device)
    built = []
    original = skeer.networks.MLPEmbedder.__init__

    @functools.wraps(original)  # keeps the signature the verifier inspects
    def spy(self, *args, **kwargs):
        built.append(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(skeer.networks.MLPEmbedder, "__init__", spy)
    good = save(verifier, tmp_path / "good.skeer")
    edit, match = _LIES["hidden_size_160_gb"]
    _assert_refused(good, tmp_path, edit, match)
    assert built == []
    # within the bound but not the saved shapes: built on the meta device only
    edit, match = _LIES["hidden_size_mismatch"]
    _assert_refused(good, tmp_path, edit, match)
    assert len(built) == 1


@pytest.fixture(scope="module")
def scaled_verifier(fixed_text):
    X, y = fixed_text
    return KeystrokeVerifier(
        **{**FAST, "max_epochs": 1}, geometry="scaled_manhattan", template_input=False
    ).fit(X, y)


@pytest.mark.parametrize(
    "edit, match",
    [
        (_set_fitted("template_scales_", None), "template_scales_ is missing"),
        (
            _edit_array("template_scales_", lambda s: s[:, :-1]),
            r"template_scales_ has shape \(8, 127\) but templates_ \(8, 128\)",
        ),
        (
            _edit_array("template_scales_", lambda s: np.where(s > s.mean(), 0, s)),
            "not positive",
        ),
        (
            _both(_set_fitted("geometry_", "cosine"), _set_param("geometry", "cosine")),
            "template_scales_ is set",
        ),
        (
            _edit_array("template_scales_", lambda s: s.astype(np.int32)),
            "template_scales_ has dtype int32",
        ),
    ],
)
def test_inconsistent_template_scales_are_refused(
    scaled_verifier, tmp_path, edit, match
):
    good = save(scaled_verifier, tmp_path / "good.skeer")
    _assert_refused(good, tmp_path, edit, match)


@pytest.mark.parametrize(
    "edit, match",
    [
        (
            _edit_array("input_mean_", lambda m: m[:-1]),
            r"input_mean_ does not hold one value per feature \(6\)",
        ),
        (
            _edit_array("input_scale_", lambda s: np.where(s > s.min(), s, 0)),
            "input_scale_ holds values that are not positive",
        ),
        (
            _edit_array("input_scale_", lambda s: s * np.nan),
            "input_scale_ holds values that are not finite",
        ),
        (_set_fitted("input_mean_", None), "not both set or both None"),
        (
            _both(
                _set_fitted("input_mean_", None),
                _set_fitted("input_scale_", None),
                _set_param("template_input", False),
            ),
            r"the network embeds into \(8,\) but templates_ has 14 columns\)",
        ),
        (
            _both(
                _edit_array("templates_", lambda t: t[:, :-1]),
                _edit_array("template_scales_", lambda t: t[:, :-1]),
            ),
            r"templates_ has 13 columns \(6 of them the standardised input\)",
        ),
        (_set_fitted("input_ndim_", 3), "input_mean_ is set but the input is not"),
        (
            _edit_array("feature_names_in_", lambda n: n[:-1]),
            "feature_names_in_ does not hold 6 names",
        ),
        (
            _set_fitted(
                "feature_names_in_",
                {"__skeer__": "ndarray", "dtype": "|O", "shape": [6], "items": [1] * 6},
            ),
            "feature_names_in_ holds names that are not strings",
        ),
    ],
)
def test_inconsistent_template_input_files_are_refused(
    template_input_verifier, tmp_path, edit, match
):
    # the standardised input makes the templates 8 + 6 wide
    good = save(template_input_verifier[0], tmp_path / "good.skeer")
    _assert_refused(good, tmp_path, edit, match)


def test_consistent_edge_cases_still_load(verifier, fixed_text, tmp_path):
    X, y = fixed_text
    good = save(verifier, tmp_path / "good.skeer")
    # -inf ("accept every claim") is what a loose target FMR can give
    path = _rewrite_config(
        good, tmp_path / "inf.skeer", _set_fitted("threshold_", -1e999)
    )
    assert load(path).threshold_ == -np.inf
    # every identity unenrolled: 0 templates for 0 identities
    clf = load(good).unenroll(verifier.classes_)
    empty = load(save(clf, tmp_path / "empty.skeer"))
    assert empty.templates_.shape == (0, 128) and len(empty.classes_) == 0
    # string identities stored as an object array of str
    names = np.array([f"user{i}" for i in y], dtype=object)
    clf = KeystrokeVerifier(**{**FAST, **COSINE, "max_epochs": 1}).fit(X, names)
    loaded = load(save(clf, tmp_path / "names.skeer"))
    assert loaded.classes_.tolist() == clf.classes_.tolist()


def test_interrupted_flag_round_trips(verifier, tmp_path):
    assert load(save(verifier, tmp_path / "m.skeer")).interrupted_ is False


@pytest.mark.parametrize(
    "edit, match",
    [
        (_edit_array("mean_", lambda m: m[:-1]), r"mean_ does not hold one value"),
        (_edit_array("scale_", lambda m: m * np.nan), r"scale_ holds values that"),
        (_set_fitted("n_features_in_", -1), "n_features_in_ is -1"),
        (
            _edit_array("feature_names_in_", lambda m: m[:-1]),
            "feature_names_in_ does not hold 6 names",
        ),
    ],
)
def test_inconsistent_scaler_files_are_refused(fixed_text, tmp_path, edit, match):
    pd = pytest.importorskip("pandas")
    X, _ = fixed_text
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    good = save(StandardScaler().fit(frame), tmp_path / "good.skeer")
    _assert_refused(good, tmp_path, edit, match)


def test_pipeline_steps_must_agree_on_feature_counts(fixed_text, tmp_path):
    X, y = fixed_text
    pipe = make_pipeline(StandardScaler(), KeystrokeVerifier(**FAST, **COSINE)).fit(
        X, y
    )
    good = save(pipe, tmp_path / "good.skeer")
    edits = [_set_fitted("n_features_in_", 5, step=0)]
    edits += [
        _edit_array(name, lambda a: a[:-1], step=0)
        for name in ("mean_", "var_", "scale_")
    ]
    _assert_refused(
        good,
        tmp_path,
        _both(*edits),
        "step 'keystrokeverifier' takes 6 features but step 'standardscaler' outputs 5",
    )


def test_inconsistent_baseline_files_are_refused(fixed_text, tmp_path):
    baselines = pytest.importorskip("skeer.baselines")
    X, y = fixed_text
    good = save(baselines.ScaledManhattan().fit(X, y), tmp_path / "good.skeer")
    _assert_refused(
        good,
        tmp_path,
        _edit_array("templates_", lambda t: t[:-1]),
        "templates_ has 7 rows but classes_ holds 8",
    )
    _assert_refused(
        good,
        tmp_path,
        _both(
            _edit_array("templates_", lambda t: t[:, :-1]),
            _edit_array("template_scales_", lambda t: t[:, :-1]),
        ),
        "templates_ has 5 columns but n_features_in_ is 6",
    )
    _assert_refused(
        good, tmp_path, _set_fitted("threshold_", float("nan")), "threshold_ is NaN"
    )


def test_template_params_and_fitted_geometry_must_agree(verifier, tmp_path):
    good = save(verifier, tmp_path / "good.skeer")  # geometry="cosine"
    _assert_refused(
        good,
        tmp_path,
        _set_fitted("geometry_", "scaled_manhattan"),
        "geometry_ is 'scaled_manhattan' but geometry='cosine'",
    )
    _assert_refused(good, tmp_path, _set_fitted("geometry_", ""), "not a known one")
    _assert_refused(
        good,
        tmp_path,
        _set_param("template_input", True),
        "needs the input standardisation",
    )


def test_a_file_from_before_template_loads_as_cosine(verifier, tmp_path):
    def legacy(config, blob):
        config["steps"][0]["fitted"].pop("geometry_")
        config["steps"][0]["params"].pop("geometry")
        config["steps"][0]["params"].pop("template_input")

    old = _rewrite_config(save(verifier, tmp_path / "m.skeer"), tmp_path / "o", legacy)
    loaded = load(old)
    assert loaded.geometry == "auto" and loaded._template_geometry == "cosine"
    X = np.random.default_rng(1).normal(size=(5, 6)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.decision_function(X), verifier.decision_function(X), rtol=1e-6
    )


# ----------------------------------------------------------------------
# Pipeline parameters: no cache folder, path or callable round-trips
def _scaler_pipeline():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from skeer.baselines import ScaledManhattan

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), np.repeat(np.arange(4), 10)
    return Pipeline([("scale", StandardScaler()), ("det", ScaledManhattan())]).fit(X, y)


@pytest.mark.parametrize(
    "key, value",
    [
        ("memory", "/tmp/skeer-shared-cache"),
        ("memory", {"location": "/tmp"}),
        ("transform_input", ["groups"]),
        ("verbose", "yes"),
        ("callback", "os.system"),
    ],
)
def test_load_refuses_pipeline_parameters_that_name_a_path_or_more(
    tmp_path, key, value
):
    good = save(_scaler_pipeline(), tmp_path / "p.skeer")
    _assert_refused(
        good,
        tmp_path,
        _tamper(("pipeline_params", key), value),
        f"Pipeline parameter {key}=.* is not allowed|unexpected value",
    )


def test_a_pipeline_with_a_cache_folder_is_not_saved(tmp_path):
    pipe = _scaler_pipeline().set_params(memory=str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="memory=.*cannot be saved"):
        save(pipe, tmp_path / "p.skeer")
    assert not (tmp_path / "p.skeer").exists()
    pipe.set_params(memory=None, verbose=True)
    assert load(save(pipe, tmp_path / "p.skeer")).verbose is True


# ----------------------------------------------------------------------
# Poisoned weights: refused on load, and never scored
def test_load_refuses_a_nan_weight(verifier, tmp_path):
    good = save(verifier, tmp_path / "m.skeer")
    blob = torch.load(good, weights_only=True)
    state = blob["module_states"]["0"]
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = state[key].clone()
    state[key].view(-1)[0] = float("nan")
    bad = _write_blob(tmp_path / "bad.skeer", blob)
    with pytest.raises(ValueError, match=f"weight '{re.escape(key)}' holds NaN"):
        load(bad)


def test_non_finite_embeddings_are_refused_not_scored(verifier, fixed_text):
    X, _ = fixed_text
    poisoned = copy.deepcopy(verifier)
    with torch.no_grad():
        next(poisoned.module_.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(ValueError, match="embeddings contain NaN or inf"):
        poisoned.decision_function(X[:3])
    with pytest.raises(ValueError, match="embeddings contain NaN or inf"):
        poisoned.verify(X[:3], verifier.classes_[:1].repeat(3))


# ----------------------------------------------------------------------
# Every estimator skeer.save accepts round-trips, its state checked on load
def _allowed_estimators():
    from skeer import registry

    return sorted(registry._allowed("estimator"))


@pytest.mark.parametrize("name", _allowed_estimators())
def test_every_allow_listed_estimator_round_trips(name, tmp_path):
    from skeer import registry
    from skeer.datasets import make_keystrokes

    cls = registry.resolve(name, kind="estimator")
    if cls is KeystrokeVerifier:
        pytest.skip("trained and round-tripped by the tests above")
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    X = rng.normal(size=(40, 4)) + y[:, None]
    if name.endswith(("KeystrokeFeatures", "TimingStatistics")):
        X, y = make_keystrokes(n_subjects=4, n_sessions=6, random_state=0)
        if name.endswith("TimingStatistics"):
            X = KeystrokeFeatures(max_len=20).fit_transform(X)
    est = cls().fit(X, y)
    try:
        path = save(est, tmp_path / "m.skeer")
    except TypeError as exc:  # refused with a clear message, never half-saved
        assert "is not storable" in str(exc)
        assert not (tmp_path / "m.skeer").exists()
        return
    loaded = load(path)
    assert type(loaded) is cls
    for method in ("decision_function", "transform"):
        if hasattr(est, method):
            np.testing.assert_array_equal(
                getattr(loaded, method)(X), getattr(est, method)(X)
            )


def test_mahalanobis_state_is_checked_on_load(tmp_path):
    from skeer.baselines import MahalanobisNearestNeighbor

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), np.repeat(np.arange(4), 10)
    good = save(MahalanobisNearestNeighbor().fit(X, y), tmp_path / "m.skeer")

    def nan_threshold(config, blob):
        config["steps"][0]["fitted"]["threshold_"] = float("nan")

    _assert_refused(good, tmp_path, nan_threshold, "threshold_ is NaN")

    def drop_a_model(config, blob):
        config["steps"][0]["fitted"]["templates_"].pop()

    _assert_refused(good, tmp_path, drop_a_model, "not a list of 4 subject models")


def test_feature_sizes_in_a_pipeline_file_are_bounded(verifier, tmp_path):
    pipe = make_pipeline(KeystrokeFeatures(max_len=8), verifier)
    good = save(pipe, tmp_path / "p.skeer")

    def huge(config, blob):
        config["steps"][0]["params"]["max_len"] = 10**9

    _assert_refused(good, tmp_path, huge, r"max_len is 1000000000, not an integer")

    def boolean(config, blob):  # True loaded as max_len 1
        config["steps"][0]["params"]["max_len"] = True

    _assert_refused(good, tmp_path, boolean, r"max_len is True, not an integer")


@pytest.mark.parametrize(
    "key, value",
    [
        ("iterator_valid__num_workers", 6),
        ("callbacks__print_log__sink", "print"),
        ("iterator_train", "torch.utils.data.DataLoader"),
    ],
)
def test_load_refuses_parameters_save_never_writes(verifier, tmp_path, key, value):
    good = save(verifier, tmp_path / "m.skeer")
    _assert_refused(good, tmp_path, _set_param(key, value), "parameters save never")


def _with_tensor(name, fn, dtype):
    """``name`` declared ``dtype``, its tensor replaced by ``fn(tensor)``."""

    def edit(config, blob):
        node = config["steps"][0]["fitted"][name]
        node["dtype"] = dtype
        blob["arrays"][node["key"]] = fn(blob["arrays"][node["key"]])

    return edit


def _items(dtype, items):
    return {"__skeer__": "ndarray", "dtype": dtype, "shape": [8], "items": items}


def _scalar(dtype, value):
    return {"__skeer__": "scalar", "dtype": dtype, "value": value}


# a value its declared dtype cannot hold: numpy's cast truncated, wrapped or
# rounded it silently (or raised a raw OverflowError) -> the field it is in
_INEXACT = {
    "float tensor as int": (
        _with_tensor("classes_", lambda t: torch.arange(8) + 0.5, "<i8"),
        "classes_",
    ),
    "int tensor wrapped to uint8": (
        _with_tensor("classes_", lambda t: torch.arange(256, 264), "|u1"),
        "classes_",
    ),
    "negative int tensor as uint64": (
        _with_tensor("classes_", lambda t: torch.arange(-1, 7), "<u8"),
        "classes_",
    ),
    "float64 tensor rounded to float32": (
        _with_tensor("templates_", lambda t: t.double() + 1e-9, "<f4"),
        "templates_",
    ),
    "scalar 5.9 as int": (
        _set_fitted("n_features_in_", _scalar("<i8", 5.9)),
        "n_features_in_",
    ),
    "scalar 256 as uint8": (
        _set_fitted("n_features_in_", _scalar("|u1", 256)),
        "n_features_in_",
    ),
    "parameter 300 as uint8": (_set_param("n_enroll", _scalar("|u1", 300)), "n_enroll"),
    "items 0.5 as int": (
        _set_fitted("classes_", _items("<i8", [i + 0.5 for i in range(8)])),
        "classes_",
    ),
    "items 256 as uint8": (
        _set_fitted("classes_", _items("|u1", list(range(256, 264)))),
        "classes_",
    ),
    "items cut to the string width": (
        _set_fitted("classes_", _items("<U2", [f"user{i}" for i in range(8)])),
        "classes_",
    ),
    "None item as float": (
        _set_fitted("classes_", _items("<f8", [None, *range(1, 8)])),
        "classes_",
    ),
}


@pytest.mark.parametrize("case", list(_INEXACT), ids=list(_INEXACT))
def test_a_value_its_declared_dtype_cannot_hold_is_refused(verifier, tmp_path, case):
    """A tampered (checksum made anew) value loaded truncated or wrapped, or
    failed with a raw OverflowError."""
    edit, field = _INEXACT[case]
    good = save(verifier, tmp_path / "m.skeer")
    _assert_refused(
        good,
        tmp_path,
        edit,
        rf"not a valid skeer model file \({field} holds a value .*dtype",
    )


def test_a_value_its_declared_dtype_holds_exactly_still_loads(verifier, tmp_path):
    good = save(verifier, tmp_path / "m.skeer")
    for edit, check in [
        (
            _with_tensor("classes_", lambda t: t, "<f8"),
            lambda m: m.classes_.dtype == np.float64,
        ),
        (
            _set_fitted("classes_", _items("<i8", [*range(7), 7.0])),
            lambda m: m.classes_.tolist() == list(range(8)),
        ),
        (
            _set_fitted("n_features_in_", _scalar("|u1", 6.0)),
            lambda m: m.n_features_in_ == 6,
        ),
    ]:
        assert check(load(_rewrite_config(good, tmp_path / "ok.skeer", edit)))


@pytest.mark.parametrize(
    "key, value",
    [
        ("torch_load_kwargs", {"__skeer__": "dict", "items": {"weights_only": False}}),
        ("predict_nonlinearity", "os.system"),
        ("predict_nonlinearity", "skorch.utils.to_numpy"),
    ],
)
def test_load_refuses_parameters_that_keep_their_default(
    verifier, tmp_path, key, value
):
    """torch_load_kwargs={'weights_only': False} loaded unchecked (a later
    load_params would unpickle), and so did any predict_nonlinearity."""
    good = save(verifier, tmp_path / "m.skeer")
    _assert_refused(good, tmp_path, _set_param(key, value), f"{key}=.* holds only")
    # None, skorch's identity, is harmless: files that hold it still load
    edit = _set_param("predict_nonlinearity", None)
    identity = load(_rewrite_config(good, tmp_path / "none.skeer", edit))
    assert identity.predict_nonlinearity is None


@pytest.mark.parametrize(
    "key, value",
    [
        ("torch_load_kwargs", {"weights_only": False}),
        ("predict_nonlinearity", lambda x: x),
    ],
)
def test_save_drops_parameters_that_keep_their_default_with_a_warning(
    verifier, tmp_path, key, value
):
    clf = copy.deepcopy(verifier)
    setattr(clf, key, value)
    with pytest.warns(UserWarning, match=f"{key}=.*not saved"):
        path = save(clf, tmp_path / "m.skeer")
    assert getattr(load(path), key) == getattr(KeystrokeVerifier(), key)


def test_model_files_of_the_previous_vocabulary_are_refused_with_what_to_do(
    verifier, tmp_path
):
    good = save(verifier, tmp_path / "m.skeer")
    old = _rewrite_config(
        good,
        tmp_path / "v2.skeer",
        lambda config, blob: config.update(format_version=2),
    )
    with pytest.raises(ValueError, match="format_version 2, written by a pre-release"):
        load(old)


def test_load_refuses_what_is_not_a_regular_file_without_blocking(tmp_path):
    """A FIFO blocked torch.load forever; a folder failed with a raw error."""
    import os
    import subprocess

    fifo = tmp_path / "model.skeer"
    os.mkfifo(fifo)
    code = (
        "import skeer, sys\n"
        "try:\n"
        f"    skeer.load({str(fifo)!r})\n"
        "except ValueError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert "not a regular file" in out.stdout, out.stderr
    with pytest.raises(ValueError, match="not a regular file"):
        load(tmp_path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skeer")


def test_an_absurdly_nested_config_is_not_a_model_file(tmp_path):
    path = tmp_path / "deep.skeer"
    torch.save({"config": "[" * 200_000 + "]" * 200_000}, path)
    with pytest.raises(ValueError, match="is not a skeer model file"):
        load(path)


@pytest.mark.parametrize("where", ["weight", "array", "config", "checksum"])
def test_a_flipped_bit_is_an_error_not_a_different_model(verifier, tmp_path, where):
    """A finite change of one weight scored differently without a word; the
    checksum makes any change of content an error."""
    good = save(verifier, tmp_path / "good.skeer")
    blob = torch.load(good, weights_only=True)
    if where == "weight":
        state = blob["module_states"]["0"]
        key = next(k for k, v in state.items() if v.is_floating_point())
        flat = state[key].view(-1)
        flat.view(torch.int32)[0] ^= 1  # lowest mantissa bit: still finite
        assert torch.isfinite(flat).all()
    elif where == "array":
        key = next(iter(blob["arrays"]))
        blob["arrays"][key].view(-1).view(torch.uint8)[0] ^= 1
    elif where == "config":
        blob["config"] = blob["config"].replace('"n_enroll": 5', '"n_enroll": 4')
    else:
        blob["checksum"] = "0" * 64
    bad = tmp_path / "bad.skeer"
    torch.save(blob, bad)  # content changed, checksum not made anew
    with pytest.raises(ValueError, match="does not match its checksum") as info:
        load(bad)
    assert str(bad) in str(info.value)
    assert skeer.load(good).threshold_ == verifier.threshold_
