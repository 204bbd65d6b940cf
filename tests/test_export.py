"""Exporting a verifier to ONNX and scoring with the export (skeer.export)."""

import json
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

import onnx  # noqa: E402

from skeer import KeystrokeFeatures, KeystrokeVerifier  # noqa: E402
from skeer.datasets import make_keystrokes  # noqa: E402
from skeer.export._export import OnnxVerifier, export_onnx  # noqa: E402
from skeer.networks._networks import Type2Branch, TypeNet  # noqa: E402

#: The cosine geometry these tests were written for (2-D input defaults to
#: scaled Manhattan over [embedding, input], tested on its own).
COSINE = {"geometry": "cosine", "template_input": False}
FAST = dict(
    max_epochs=2,
    n_subjects_per_batch=6,
    n_samples_per_subject=4,
    random_state=0,
)
#: Small networks: the export, not the training, is under test.
NETWORKS = {
    "mlp": dict(module__hidden_sizes=(32,), module__embedding_dim=16),
    "typenet": dict(module=TypeNet, module__hidden_size=16, module__embedding_dim=8),
    "type2branch": dict(
        module=Type2Branch, module__width=8, module__filters=4, module__embedding_dim=16
    ),
}
#: Largest difference between ONNX and PyTorch embeddings (unit vectors).
TOL = 1e-5


@pytest.fixture(scope="module")
def fixed_text():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(8, 6))
    y = np.repeat(np.arange(8), 12)
    X = (centers[y] + 0.25 * rng.normal(size=(len(y), 6))).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def sessions():
    X, y = make_keystrokes(n_subjects=8, n_sessions=8, random_state=0)
    return X, y


_FITTED = {}


def _fitted(network, template, fixed_text, sessions):
    """A fitted estimator, its model input and identities (cached per module)."""
    key = (network, template)
    if key not in _FITTED:
        clf = KeystrokeVerifier(**FAST, **NETWORKS[network], geometry=template)
        if network == "mlp":
            X, y = fixed_text
            est = clf.fit(X, y)
        else:
            X, y = sessions
            est = make_pipeline(KeystrokeFeatures(max_len=20), clf).fit(X, y)
            X = est[0].transform(X)
        _FITTED[key] = (est, X, y)
    return _FITTED[key]


def _verifier(est):
    return est[-1] if isinstance(est, Pipeline) else est


def _assert_scores_agree(ref, got, verifier, cols):
    """Scores agree as far as an embedding difference of ``TOL`` allows.

    Cosine, Manhattan and Euclidean scores are within ``TOL``; a scaled
    Manhattan score divides each coordinate by its template's scale, so it is
    within ``TOL * sum_j 1 / scale_j`` (what a difference of ``TOL`` in every
    coordinate of the embedding can cause).
    """
    bound = np.full(len(ref), TOL)
    if verifier.geometry == "scaled_manhattan":
        bound = TOL * (1 / verifier.template_scales_[cols].astype(np.float64)).sum(1)
    assert np.all(np.abs(ref.astype(np.float64) - got) <= bound)


def _assert_scorer_agrees(scorer, clf, X, y, X_clf=None):
    """``scorer`` on model input ``X`` scores as ``clf`` on ``X_clf`` (or ``X``).

    Genuine claims and impostor ones (every identity claims the next), the
    decisions at the threshold, and every template; and the reference
    scorer's numpy geometry is skeer.templates's exactly.
    """
    X_clf = X if X_clf is None else X_clf
    cols = clf._claimed_columns(y, len(y))
    for claimed, c in [(y, cols), (np.roll(y, 12), np.roll(cols, 12))]:
        ref = clf.claim_scores(X_clf, claimed)
        _assert_scores_agree(ref, scorer.claim_scores(X, claimed), clf, c)
        np.testing.assert_array_equal(
            scorer.verify(X, claimed), clf.verify(X_clf, claimed)
        )
    np.testing.assert_allclose(
        scorer.claim_scores(X, y),
        clf._templates().claims(scorer._features(X), cols),
        rtol=1e-6,
        atol=1e-7,
    )
    D_ref, D = clf.decision_function(X_clf), scorer.decision_function(X)
    assert D.shape == D_ref.shape
    for k in range(D.shape[1]):
        _assert_scores_agree(D_ref[:, k], D[:, k], clf, np.full(len(X), k))


# ----------------------------------------------------------------------
# the exported model reproduces the verifier
@pytest.mark.parametrize("template", ["cosine", "scaled_manhattan"])
@pytest.mark.parametrize("network", list(NETWORKS))
def test_exported_model_scores_claims_as_the_verifier(
    network, template, fixed_text, sessions, tmp_path
):
    est, X, y = _fitted(network, template, fixed_text, sessions)
    clf = _verifier(est)
    model, sidecar = export_onnx(est, tmp_path / "model.onnx")
    assert model == tmp_path / "model.onnx" and sidecar.name == "model.onnx.json"
    scorer = OnnxVerifier(model)
    # the embeddings: ONNX against PyTorch
    np.testing.assert_allclose(scorer.embed(X), clf.transform(X), atol=TOL, rtol=0)
    _assert_scorer_agrees(scorer, clf, X, y)


@pytest.mark.parametrize("template", ["manhattan", "euclidean"])
def test_other_geometries_agree_too(template, fixed_text, sessions, tmp_path):
    est, X, y = _fitted("typenet", template, fixed_text, sessions)
    scorer = OnnxVerifier(export_onnx(est, tmp_path / "m.onnx")[0])
    cols = est[-1]._claimed_columns(y, len(y))
    _assert_scores_agree(
        est[-1].claim_scores(X, y), scorer.claim_scores(X, y), est[-1], cols
    )


@pytest.mark.parametrize("network", list(NETWORKS))
def test_batch_axis_is_dynamic(network, fixed_text, sessions, tmp_path):
    est, X, _ = _fitted(network, "cosine", fixed_text, sessions)
    model, sidecar = export_onnx(est, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    shape = list(session.get_inputs()[0].shape)
    assert shape[0] == "batch" and shape[1:] == list(X.shape[1:])
    scorer = OnnxVerifier(model)
    for n in (1, 3, len(X)):
        np.testing.assert_allclose(
            scorer.embed(X[:n]), _verifier(est).transform(X[:n]), atol=TOL, rtol=0
        )


# ----------------------------------------------------------------------
# the sidecar
def test_sidecar_is_strict_json_with_everything_a_service_needs(
    fixed_text, sessions, tmp_path
):
    est, X, y = _fitted("typenet", "scaled_manhattan", fixed_text, sessions)
    clf = est[-1]
    _, sidecar = export_onnx(est, tmp_path / "m.onnx")

    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    meta = json.loads(sidecar.read_text(), parse_constant=refuse)
    assert meta["format"] == "skeer.onnx-sidecar" and meta["format_version"] == 3
    # templates of the embedding alone: no second output, no standardisation
    assert meta["verifier_input"] is meta["input_mean"] is meta["input_scale"] is None
    assert meta["model"] == "m.onnx"
    assert meta["input"] == {
        "name": "input",
        "shape": ["batch", 20, 5],
        "dtype": "float32",
    }
    assert meta["output"]["shape"] == ["batch", 8]
    assert meta["network"] == "skeer.networks.TypeNet"
    assert meta["geometry"] == "scaled_manhattan" and meta["normalize"] == "l2"
    assert meta["threshold"] == clf.threshold_
    assert meta["operating_point"] == clf.operating_point
    assert meta["classes"] == clf.classes_.tolist()
    # float32 values written as decimals read back exactly
    np.testing.assert_array_equal(
        np.asarray(meta["templates"], dtype=meta["templates_dtype"]), clf.templates_
    )
    np.testing.assert_array_equal(
        np.asarray(meta["template_scales"], dtype=np.float32), clf.template_scales_
    )
    (features,) = meta["preprocessing"]["service"]
    assert features["class"] == "skeer.features.KeystrokeFeatures"
    assert features["params"]["max_len"] == 20
    assert meta["preprocessing"]["in_graph"] == []


def test_infinite_threshold_and_string_identities(fixed_text, tmp_path):
    X, y = fixed_text
    names = np.array([f"user{i:02d}" for i in y])
    clf = KeystrokeVerifier(
        **FAST, **COSINE, **NETWORKS["mlp"], operating_point=0.5
    ).fit(X, names)
    clf.threshold_ = -np.inf  # "accept everything": what a loose target can give
    model, sidecar = export_onnx(clf, tmp_path / "m.onnx")
    assert json.loads(sidecar.read_text())["threshold"] == "-inf"
    scorer = OnnxVerifier(model)
    assert scorer.threshold_ == -np.inf and scorer.operating_point == 0.5
    assert scorer.classes_.tolist() == clf.classes_.tolist()
    assert scorer.verify(X, names).all()
    with pytest.raises(ValueError, match="not enrolled"):
        scorer.claim_scores(X[:1], ["nobody"])


# ----------------------------------------------------------------------
# template_input=True: templates of the embedding and the standardised input
@pytest.mark.parametrize("scaler", [None, StandardScaler()], ids=["alone", "scaled"])
@pytest.mark.parametrize("template", ["scaled_manhattan", "cosine"])
def test_template_input_verifier_scores_claims_as_the_verifier(
    template, scaler, fixed_text, tmp_path
):
    X, y = fixed_text
    X = 3 * X + 1
    clf = KeystrokeVerifier(
        **FAST, **NETWORKS["mlp"], geometry=template, template_input=True
    )
    est = (
        clf.fit(X, y) if scaler is None else make_pipeline(clone(scaler), clf).fit(X, y)
    )
    X_clf = X if scaler is None else est[:-1].transform(X)  # what reaches clf
    model, sidecar = export_onnx(est, tmp_path / "m.onnx")
    meta = json.loads(sidecar.read_text())
    assert meta["format_version"] == 3
    assert meta["verifier_input"] == {
        "name": "verifier_input",
        "shape": ["batch", 6],
        "dtype": "float32",
    }
    assert len(meta["templates"][0]) == 16 + 6
    for key in ("input_mean", "input_scale"):  # float32 decimals read back exactly
        np.testing.assert_array_equal(
            np.asarray(meta[key], dtype=np.float32), getattr(clf, f"{key}_")
        )
    # the model's second output is the verifier's input (after the scaler)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    got = session.run(["verifier_input"], {"input": X})[0]
    np.testing.assert_allclose(got, X_clf, rtol=1e-6, atol=1e-6)
    scorer = OnnxVerifier(model)
    np.testing.assert_array_equal(scorer.input_mean_, clf.input_mean_)
    _assert_scorer_agrees(scorer, clf, X, y, X_clf)
    # enrolment by the service makes the verifier's templates
    clf.enroll(X_clf[:24], y[:24] + 100)
    scorer.enroll(X[:24], y[:24] + 100)
    np.testing.assert_allclose(scorer.templates_, clf.templates_, atol=TOL)
    if template == "scaled_manhattan":
        np.testing.assert_allclose(
            scorer.template_scales_, clf.template_scales_, atol=TOL
        )


# ----------------------------------------------------------------------
# pipelines: scalers in the graph, the rest by the service
@pytest.mark.parametrize(
    "scaler",
    [
        StandardScaler(),
        StandardScaler(with_mean=False),
        RobustScaler(),
        MinMaxScaler(clip=True),
    ],
    ids=["standard", "standard_no_mean", "robust", "minmax_clip"],
)
def test_scalers_before_the_verifier_are_part_of_the_graph(
    scaler, fixed_text, tmp_path
):
    X, y = fixed_text
    X = 3 * X + 1
    pipe = Pipeline(
        [
            ("scale", clone(scaler)),
            ("skip", "passthrough"),
            ("clf", KeystrokeVerifier(**FAST, **COSINE, **NETWORKS["mlp"])),
        ]
    ).fit(X, y)
    model, sidecar = export_onnx(pipe, tmp_path / "m.onnx")
    meta = json.loads(sidecar.read_text())
    assert [s["name"] for s in meta["preprocessing"]["in_graph"]] == ["scale"]
    assert meta["preprocessing"]["service"] == []
    scorer = OnnxVerifier(model)
    X_new = X + 0.5  # outside the training range too (MinMaxScaler's clip)
    np.testing.assert_allclose(scorer.embed(X_new), pipe.transform(X_new), atol=TOL)
    np.testing.assert_allclose(
        scorer.claim_scores(X_new, y),
        pipe[-1].claim_scores(pipe[:-1].transform(X_new), y),
        atol=TOL,
    )


def test_steps_before_a_step_that_is_not_a_scaler_are_left_to_the_service(
    sessions, tmp_path
):
    X, y = sessions
    pipe = make_pipeline(
        KeystrokeFeatures(max_len=12), KeystrokeVerifier(**FAST, **NETWORKS["typenet"])
    ).fit(X, y)
    model, sidecar = export_onnx(pipe, tmp_path / "m.onnx")
    meta = json.loads(sidecar.read_text())
    assert [s["name"] for s in meta["preprocessing"]["service"]] == [
        "keystrokefeatures"
    ]
    assert meta["input"]["shape"] == ["batch", 12, 5]
    features = pipe[0].transform(X)
    np.testing.assert_allclose(
        OnnxVerifier(model).embed(features), pipe.transform(X), atol=TOL
    )


# ----------------------------------------------------------------------
# enrolment by the service
@pytest.mark.parametrize("template", ["cosine", "scaled_manhattan"])
def test_reference_enrolment_matches_the_verifier(
    template, fixed_text, sessions, tmp_path
):
    est, X, y = _fitted("mlp", template, fixed_text, sessions)
    clf = clone(est)
    clf.__dict__.update({k: v for k, v in vars(est).items() if k != "callbacks"})
    scorer = OnnxVerifier(export_onnx(est, tmp_path / "m.onnx")[0])
    new, X_new = np.r_[y[:24] + 100, y[24:36]], X[:36] + 0.1
    clf.enroll(X_new, new)
    scorer.enroll(X_new, new)
    np.testing.assert_array_equal(scorer.classes_, clf.classes_)
    np.testing.assert_allclose(scorer.templates_, clf.templates_, atol=TOL)
    if template == "scaled_manhattan":
        np.testing.assert_allclose(
            scorer.template_scales_, clf.template_scales_, atol=TOL
        )
    cols = clf._claimed_columns(new, len(new))
    _assert_scores_agree(
        clf.claim_scores(X_new, new), scorer.claim_scores(X_new, new), clf, cols
    )


_NAMED = {}


def _python_and_onnx(exported, tmp_path, fixed_text, sessions, kind):
    """A copy of the cosine mlp verifier and its ONNX scorer, int or str ids."""
    est, X, y = _fitted("mlp", "cosine", fixed_text, sessions)
    if kind == "str" and not _NAMED:
        named = _copy(est).enroll(X, np.array([f"user{i}" for i in y]), reset=True)
        _NAMED["model"] = export_onnx(named, tmp_path / "s.onnx")[0]
        _NAMED["est"] = named
    if kind == "str":
        est, model = _NAMED["est"], _NAMED["model"]
    else:
        model = exported["cosine"][0]
    return _copy(est), OnnxVerifier(model), X


def _copy(est):
    """A fitted copy sharing the network (enrolment does not change it)."""
    clf = clone(est)
    clf.__dict__.update({k: v for k, v in vars(est).items() if k != "callbacks"})
    return clf


def _refusal(call):
    """The error type ``call`` raises (ValueError, TypeError), or None."""
    try:
        call()
    except (ValueError, TypeError) as exc:
        return type(exc)
    return None


#: Identities to enrol (two samples' worth unless the case is about length).
ENROLLED_IDS = {
    "int and str": [1, "1"],
    "int and float": [1, 1.0],
    "bool and int": [True, 1],
    "None among ids": [1, None],
    "None": None,
    "continuous": [1.5, 2.0],
    "whole floats": [1.0, 2.0],
    "NaN": [np.nan, 1.0],
    "object ints": np.array([1, 2], dtype=object),
    "beyond 64 bits": [2**64, 2],
    "column vector": np.array([[1], [2]]),
    "2-D": np.array([[1, 2], [3, 4]]),
    "one id too many": [1, 2, 3],
    "ints": [1, 12],
    "int8": np.array([1, 12], np.int8),
    "uint8": np.array([1, 12], np.uint8),
    "uint64": np.array([1, 12], np.uint64),
    "strs": ["a", "user1"],
    "bytes": [b"a", b"b"],
    "complex": [1 + 0j, 2j],
    "bools": [True, False],
    "empty": [],
}


@pytest.mark.parametrize("kind", ["int", "str"])
@pytest.mark.parametrize("case", list(ENROLLED_IDS))
def test_onnx_enrolment_refuses_what_the_verifier_refuses(
    case, kind, exported, tmp_path, fixed_text, sessions
):
    """Side by side: ids of several kinds (``[1, "1"]`` would merge into one
    "1"), None, continuous, 2-D, misaligned, of another kind than the
    enrolled ones; what the verifier enrols, the scorer enrols alike."""
    clf, scorer, X = _python_and_onnx(exported, tmp_path, fixed_text, sessions, kind)
    y = ENROLLED_IDS[case]
    n = 2 if y is None or np.ndim(y) != 1 else min(len(y), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the column vector's DataConversionWarning
        refused = _refusal(lambda: clf.enroll(X[:n], y))
        refused_onnx = _refusal(lambda: scorer.enroll(X[:n], y))
    assert (refused is None) == (refused_onnx is None), (refused, refused_onnx)
    assert refused_onnx in (None, ValueError)
    if refused is None:
        np.testing.assert_array_equal(scorer.classes_, clf.classes_)
        assert scorer.classes_.dtype.kind == clf.classes_.dtype.kind


#: Claims of two samples.
CLAIMS = {
    "int and str": [1, "1"],
    "bool and int": [True, 1],
    "int and float": (1, 1.0),
    "int and None": [1, None],
    "None": None,
    "int": 1,
    "str": "user1",
    "bool": True,
    "float": 1.0,
    "one too many": [1, 2, 3],
    "one too few": [1],
    "2-D": [[1], [2]],
    "uint64": np.array([1, 2], np.uint64),
    "beyond 64 bits": [2**64, 1],
    "object ints": np.array([1, 2], dtype=object),
    "strs": ["user1", "user2"],
    "bytes": [b"user1", b"user2"],
}


@pytest.mark.parametrize("kind", ["int", "str"])
@pytest.mark.parametrize("case", list(CLAIMS))
def test_onnx_claims_refuse_what_the_verifier_refuses(
    case, kind, exported, tmp_path, fixed_text, sessions
):
    clf, scorer, X = _python_and_onnx(exported, tmp_path, fixed_text, sessions, kind)
    claimed = CLAIMS[case]
    refused = _refusal(lambda: clf.claim_scores(X[:2], claimed))
    refused_onnx = _refusal(lambda: scorer.claim_scores(X[:2], claimed))
    assert (refused is None) == (refused_onnx is None), (refused, refused_onnx)
    assert refused_onnx in (None, ValueError)


# ----------------------------------------------------------------------
# arguments
def test_sequence_verifier_needs_its_sequence_length(sessions, tmp_path):
    est, X, _ = _fitted("typenet", "cosine", None, sessions)
    clf = est[-1]
    with pytest.raises(ValueError, match="pass example_input of shape"):
        export_onnx(clf, tmp_path / "m.onnx")
    with pytest.raises(
        ValueError, match=r"example_input must have shape \(n, max_len, 5\)"
    ):
        export_onnx(clf, tmp_path / "m.onnx", example_input=X[:2, :, :4])
    model, _ = export_onnx(clf, tmp_path / "m.onnx", example_input=X[:2])
    np.testing.assert_allclose(OnnxVerifier(model).embed(X), clf.transform(X), atol=TOL)


def test_opset_is_used(fixed_text, sessions, tmp_path):
    est, *_ = _fitted("mlp", "cosine", fixed_text, sessions)
    model, _ = export_onnx(est, tmp_path / "m.onnx", opset=18)
    loaded = onnx.load(str(model))
    assert {o.domain: o.version for o in loaded.opset_import}[""] == 18
    assert loaded.producer_name == "skeer"
    with pytest.raises(ValueError, match="opset must be"):
        export_onnx(est, tmp_path / "m.onnx", opset="17")


def test_what_cannot_be_exported_is_refused(fixed_text, tmp_path):
    X, y = fixed_text
    with pytest.raises(TypeError, match="KeystrokeVerifier or a Pipeline"):
        export_onnx(StandardScaler().fit(X), tmp_path / "m.onnx")
    with pytest.raises(NotFittedError):
        export_onnx(KeystrokeVerifier(), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_graph_that_disagrees_is_not_kept(
    fixed_text, sessions, tmp_path, monkeypatch
):
    from skeer.export import _onnx_graph as _onnx_graph

    est, *_ = _fitted("mlp", "cosine", fixed_text, sessions)
    monkeypatch.setattr(_onnx_graph, "check_graph", lambda *args: 0.5)
    with pytest.raises(RuntimeError, match="does not reproduce MLPEmbedder"):
        export_onnx(est, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_model_whose_output_is_not_a_matrix_is_refused(
    fixed_text, sessions, tmp_path
):
    """The graph beside a valid sidecar is replaced by one whose embedding is
    a scalar: a clear error, not an IndexError."""
    import onnx
    from onnx import TensorProto, helper

    est, *_ = _fitted("mlp", "cosine", fixed_text, sessions)
    model, sidecar = export_onnx(est, tmp_path / "m.onnx")
    meta = json.loads(sidecar.read_text())
    x, out = meta["input"]["name"], meta["output"]["name"]
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", [x], [out], keepdims=0)],
        "scalar",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", 6])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [])],
    )
    onnx.save(helper.make_model(graph), str(model))
    with pytest.raises(ValueError, match=f"output '{out}' .* is not an output"):
        OnnxVerifier(model)


def test_sidecar_that_is_not_ours_is_refused(fixed_text, sessions, tmp_path):
    est, *_ = _fitted("mlp", "cosine", fixed_text, sessions)
    model, sidecar = export_onnx(est, tmp_path / "m.onnx")
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "format": "other"}))
    with pytest.raises(ValueError, match="not a skeer ONNX sidecar"):
        OnnxVerifier(model)
    sidecar.write_text(json.dumps({**meta, "template_scales": meta["templates"]}))
    with pytest.raises(ValueError, match="template_scales do not fit"):
        OnnxVerifier(model)
    sidecar.write_text(json.dumps({**meta, "format_version": 4}))
    with pytest.raises(ValueError, match="format_version 4; this reader knows 1, 2, 3"):
        OnnxVerifier(model)
    for bad in (True, 3.0, "3"):  # equal to a known version, but not an int
        sidecar.write_text(json.dumps({**meta, "format_version": bad}))
        with pytest.raises(ValueError, match="format_version .*; this reader knows"):
            OnnxVerifier(model)
    short = {"name": "verifier_input", "shape": ["batch", 5], "dtype": "float32"}
    sidecar.write_text(
        json.dumps(
            {
                **meta,
                "verifier_input": short,
                "input_mean": [0] * 6,
                "input_scale": [1] * 6,
            }
        )
    )
    with pytest.raises(ValueError, match="input_mean and input_scale do not hold"):
        OnnxVerifier(model)


#: A key left out of the sidecar.
DEL = object()


@pytest.fixture(scope="module")
def exported(fixed_text, sessions, tmp_path_factory):
    """``{geometry: (model, sidecar meta)}``: the mlp verifiers' exports
    (scaled Manhattan includes the standardised input, version-2 fields)."""
    out = {}
    for geometry in ("cosine", "scaled_manhattan"):
        est, *_ = _fitted("mlp", geometry, fixed_text, sessions)
        model, sidecar = export_onnx(est, tmp_path_factory.mktemp(geometry) / "m.onnx")
        out[geometry] = model, json.loads(sidecar.read_text())
    return out


def _model_with(exported, model_geometry, tmp_path, **changes):
    """A copy of the exported model whose sidecar has ``changes`` (DEL: left out)."""
    model, meta = exported[model_geometry]
    path = tmp_path / "m.onnx"
    path.write_bytes(model.read_bytes())
    meta = {k: v for k, v in {**meta, **changes}.items() if v is not DEL}
    (tmp_path / "m.onnx.json").write_text(json.dumps(meta))
    return path


_ROWS = [[0.25] * 16] * 8  # 8 unit rows of 16 (the cosine model's templates)
#: ``(geometry, {key: value or a function of the sidecar's meta}, match)``:
#: every field, each refused with the file and the field named.
HOSTILE_SIDECARS = {
    "threshold NaN": ("cosine", {"threshold": "nan"}, "threshold 'nan' is not a"),
    "threshold -inf at the EER": (
        "cosine",
        {"threshold": "-inf", "operating_point": "eer"},
        "threshold -inf .*operating_point 'eer' never gives it",
    ),
    "threshold 'inf'": ("cosine", {"threshold": "inf"}, "threshold 'inf' is not a"),
    "threshold +inf": ("cosine", {"threshold": float("inf")}, "threshold inf is not"),
    "threshold bool": ("cosine", {"threshold": True}, "threshold True is not a"),
    "threshold missing": ("cosine", {"threshold": DEL}, "threshold is missing"),
    "no operating_point": ("cosine", {"operating_point": DEL}, "operating_point is"),
    "operating_point dict": ("cosine", {"operating_point": {"x": [1]}}, "operating_p"),
    "operating_point 1.5": ("cosine", {"operating_point": 1.5}, "operating_point 1.5"),
    "operating_point True": ("cosine", {"operating_point": True}, "operating_point T"),
    "operating_point EER": ("cosine", {"operating_point": "EER"}, "operating_point '"),
    "no geometry": ("cosine", {"geometry": DEL}, "geometry is missing"),
    "geometry unknown": ("cosine", {"geometry": "cos"}, "geometry 'cos' is not"),
    "geometry list": ("cosine", {"geometry": ["cosine"]}, r"geometry \['cosine'\]"),
    "no preprocessing": ("cosine", {"preprocessing": DEL}, "preprocessing is missing"),
    "preprocessing list": ("cosine", {"preprocessing": [1]}, "preprocessing is not"),
    "service not a list": (
        "cosine",
        {"preprocessing": {"service": 5, "in_graph": []}},
        "preprocessing is not",
    ),
    "service step not a dict": (
        "cosine",
        {"preprocessing": {"service": [5], "in_graph": []}},
        "preprocessing is not",
    ),
    "input an int": ("cosine", {"input": 5}, "input is not"),
    "no input": ("cosine", {"input": DEL}, "input is missing"),
    "input name an int": (
        "cosine",
        {"input": {"name": 5, "shape": ["batch", 6], "dtype": "float32"}},
        "input is not",
    ),
    "input not the model's": (
        "cosine",
        {"input": {"name": "x", "shape": ["batch", 6], "dtype": "float32"}},
        "input 'x' is not an input of the model",
    ),
    "no output": ("cosine", {"output": DEL}, "output is missing"),
    "output width 0": (
        "cosine",
        {"output": {"name": "embedding", "shape": ["batch", 0], "dtype": "float32"}},
        "output is not",
    ),
    "templates_dtype list": ("cosine", {"templates_dtype": ["x"]}, "templates_dtype"),
    "classes_dtype of 800 MB strings": (
        "cosine",
        {"classes_dtype": "<U200000000"},
        "not every id is a str",
    ),
    "classes_dtype str of ints": ("cosine", {"classes_dtype": "<U5"}, "not every id"),
    "classes not a list": ("cosine", {"classes": "01234567"}, "classes is not a list"),
    "classes duplicated": (
        "cosine",
        {"classes": [0, 0, 1, 2, 3, 4, 5, 6]},
        "classes are not sorted and unique",
    ),
    "classes unsorted": (
        "cosine",
        {"classes": [7, 6, 5, 4, 3, 2, 1, 0]},
        "classes are not sorted and unique",
    ),
    "bool id among int64": (
        "cosine",
        {"classes": [True, 1, 2, 3, 4, 5, 6, 7]},
        "classes are not all ints",
    ),
    "float id among int64": (
        "cosine",
        {"classes": [0.5, 1, 2, 3, 4, 5, 6, 7]},
        "classes are not all ints",
    ),
    "str id among int64": (
        "cosine",
        {"classes": ["0", 1, 2, 3, 4, 5, 6, 7]},
        "classes are not all ints",
    ),
    "id beyond uint8": (
        "cosine",
        {"classes_dtype": "|u1", "classes": [0, 1, 2, 3, 4, 5, 6, 300]},
        "classes do not fit",
    ),
    "negative uint64 id": (
        "cosine",
        {"classes_dtype": "<u8", "classes": [-1, 1, 2, 3, 4, 5, 6, 7]},
        "classes do not fit",
    ),
    "templates NaN": (
        "cosine",
        {"templates": [[float("nan")] * 16] * 8},
        "templates h",
    ),
    "templates ragged": ("cosine", {"templates": [[1.0], [1.0, 2.0]]}, "templates ar"),
    "templates strings": ("cosine", {"templates": [["a"] * 16] * 8}, "templates are"),
    "templates bools": ("cosine", {"templates": [[True] * 16] * 8}, "templates are"),
    "templates 3-D": ("cosine", {"templates": [[[0.25]] * 16] * 8}, "templates are"),
    "templates a dict": ("cosine", {"templates": {"0": _ROWS[0]}}, "templates are"),
    "7 template rows for 8 classes": (
        "cosine",
        {"templates": _ROWS[:7]},
        "templates are not 8 rows of 16 numbers",
    ),
    "templates one column short": (
        "cosine",
        {"templates": [r[:15] for r in _ROWS]},
        "templates are not 8 rows of 16 numbers",
    ),
    "templates beyond float64": (
        "cosine",
        {"templates": [[10**400] * 16] * 8},
        "templates hold NaN or infinity",
    ),
    "templates beyond float32": (
        "cosine",
        {"templates": [[1e39] * 16] * 8},
        "templates hold NaN or infinity",
    ),
    "cosine templates not unit": (
        "cosine",
        {"templates": [[1.0] * 16] * 8},
        "templates are not unit vectors",
    ),
    "template_scales for cosine": (
        "cosine",
        {"template_scales": _ROWS},
        "template_scales do not fit",
    ),
    "input_mean without verifier_input": (
        "cosine",
        {"input_mean": [0.0] * 6, "input_scale": [1.0] * 6},
        "input_mean and input_scale",
    ),
    "template_scales zero": (
        "scaled_manhattan",
        lambda m: {"template_scales": [[0.0] * len(r) for r in m["templates"]]},
        "template_scales are not all positive",
    ),
    "template_scales negative": (
        "scaled_manhattan",
        lambda m: {"template_scales": [[-1.0] * len(r) for r in m["templates"]]},
        "template_scales are not all positive",
    ),
    "template_scales missing": (
        "scaled_manhattan",
        {"template_scales": None},
        "template_scales do not fit",
    ),
    "template_scales 7 rows": (
        "scaled_manhattan",
        lambda m: {"template_scales": m["template_scales"][:7]},
        "template_scales are not 8 rows",
    ),
    "input_scale zero": (
        "scaled_manhattan",
        {"input_scale": [0.0] * 6},
        "input_mean and input_scale",
    ),
    "input_scale missing": (
        "scaled_manhattan",
        {"input_scale": DEL},
        "input_mean and input_scale",
    ),
    "input_mean strings": (
        "scaled_manhattan",
        {"input_mean": ["0"] * 6},
        "input_mean and input_scale",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE_SIDECARS))
def test_sidecar_values_and_sizes_are_checked_before_use(case, exported, tmp_path):
    """Each field checked once, when read: type, shape, range, size; the
    error names the file and the field (never a raw KeyError / TypeError /
    numpy error, nor a sidecar that loads and then scores wrongly)."""
    geometry, changes, match = HOSTILE_SIDECARS[case]
    if callable(changes):
        changes = changes(exported[geometry][1])
    model = _model_with(exported, geometry, tmp_path, **changes)
    with pytest.raises(ValueError, match=match) as error:
        OnnxVerifier(model)
    assert str(error.value).startswith(repr(str(model) + ".json"))
    assert isinstance(OnnxVerifier(exported[geometry][0]), OnnxVerifier)


@pytest.mark.parametrize(
    "threshold, operating_point",
    [(-np.inf, "eer"), (-np.inf, 0.5), (np.inf, 0.5), (np.inf, "eer"), (0.3, "eer")],
)
def test_sidecar_threshold_follows_the_model_file_rule(
    threshold, operating_point, exported, tmp_path
):
    """An infinite threshold: only -inf, only at a target false-match rate,
    in a sidecar as in a model file (skeer.load)."""
    from types import SimpleNamespace

    from skeer.persistence._model_codec import InvalidFile
    from skeer.persistence._model_file import _check_templates

    _, meta = exported["cosine"]
    est = SimpleNamespace(
        classes_=np.asarray(meta["classes"]),
        templates_=np.asarray(meta["templates"], dtype=np.float32),
        template_scales_=None,
        threshold_=threshold,
        operating_point=operating_point,
    )
    try:
        _check_templates(est, "cosine")
        loads = True
    except InvalidFile:
        loads = False
    written = threshold if np.isfinite(threshold) else str(threshold)
    model = _model_with(
        exported,
        "cosine",
        tmp_path,
        threshold=written,
        operating_point=operating_point,
    )
    if loads:
        assert OnnxVerifier(model).threshold_ == threshold
    else:
        with pytest.raises(ValueError, match="threshold"):
            OnnxVerifier(model)


@pytest.mark.parametrize(
    "operating_point",
    [
        "eer",
        0.5,
        1e-300,
        0,
        1,
        1.5,
        -0.1,
        float("nan"),
        True,
        "EER",
        None,
        [0.5],
        10**400,
    ],  # fmt: skip
)
def test_sidecar_operating_point_follows_the_verifiers_rule(
    operating_point, exported, tmp_path
):
    """What ``check_operating_point`` refuses, the reader refuses; and the
    reader's other copies of skeer's constants are skeer's."""
    from skeer._validation import GEOMETRIES, check_operating_point
    from skeer.export import _sidecar
    from skeer.features._keystroke import MAX_LEN_LOADED

    assert _sidecar._GEOMETRIES == GEOMETRIES
    assert _sidecar._MAX_LEN == MAX_LEN_LOADED
    model = _model_with(exported, "cosine", tmp_path, operating_point=operating_point)
    try:
        check_operating_point(operating_point)
    except ValueError:
        with pytest.raises(ValueError, match="operating_point"):
            OnnxVerifier(model)
    else:
        assert OnnxVerifier(model).operating_point == operating_point


def test_sidecar_file_faults_are_named_not_raw(
    fixed_text, sessions, tmp_path, monkeypatch
):
    """Not JSON, absurdly nested, oversized, or a FIFO (which blocked)."""
    import os

    from skeer.export import _sidecar

    est, *_ = _fitted("mlp", "cosine", fixed_text, sessions)
    model, sidecar = export_onnx(est, tmp_path / "m.onnx")
    good = sidecar.read_text()
    for text in ("{not json", "[" * 200_000 + "]" * 200_000):
        sidecar.write_text(text)
        with pytest.raises(ValueError, match="not readable JSON"):
            OnnxVerifier(model)
    sidecar.write_text(good)
    monkeypatch.setattr(_sidecar, "MAX_SIDECAR_BYTES", 100)
    with pytest.raises(ValueError, match="more than a sidecar may"):
        OnnxVerifier(model)
    monkeypatch.undo()
    sidecar.unlink()
    os.mkfifo(sidecar)
    with pytest.raises(ValueError, match="not a regular file"):
        OnnxVerifier(model)


def test_a_wrong_input_shape_is_named_not_onnxruntimes_raw_error(
    fixed_text, sessions, tmp_path
):
    est, X, y = _fitted("typenet", "cosine", fixed_text, sessions)
    scorer = OnnxVerifier(export_onnx(est, tmp_path / "m.onnx")[0])
    # (3 channels would be raw sessions: the reader featurises those)
    for bad in (X[:2, :10], X[:2, :, :4], X[:2, 0], X[:2, None]):
        with pytest.raises(ValueError, match=r"X has shape .* the model takes \(n, "):
            scorer.embed(bad)
    assert scorer.embed(X[:2]).shape[0] == 2


@pytest.mark.parametrize("template", ["cosine", "scaled_manhattan"])
def test_raw_sessions_score_through_onnx_as_through_the_pipeline(
    template, fixed_text, sessions, tmp_path
):
    """The whole pipeline: raw sessions -> KeystrokeFeatures -> network ->
    templates, with sessions longer and shorter than max_len (20)."""
    from skeer.export._onnx_verifier import _session_features

    est, _, y = _fitted("typenet", template, fixed_text, sessions)
    # every other session cut to 12 keys: padded; the others longer than 20
    raw = [s if i % 2 else s[:12] for i, s in enumerate(sessions[0])]
    lengths = [len(s) for s in raw]
    assert min(lengths) < 20 < max(lengths)
    short = [s[:3] for s in raw[:4]]  # padded
    scorer = OnnxVerifier(export_onnx(est, tmp_path / "m.onnx")[0])
    # the numpy reference gives KeystrokeFeatures' output bit for bit
    for batch in (raw, short, np.stack([s[:25] for s in sessions[0]])):
        np.testing.assert_array_equal(
            _session_features(batch, 20, 5.0), est[0].transform(batch)
        )
    np.testing.assert_array_equal(
        _session_features(raw, 7, None), KeystrokeFeatures(7, clip=None).transform(raw)
    )
    # and every method takes raw sessions as the pipeline does
    np.testing.assert_array_equal(
        scorer.embed(raw), scorer.embed(est[0].transform(raw))
    )
    cols = est[-1]._claimed_columns(y, len(y))
    Xt = est[0].transform(raw)
    _assert_scores_agree(
        est[-1].claim_scores(Xt, y), scorer.claim_scores(raw, y), est[-1], cols
    )
    assert (scorer.verify(raw, y) == est[-1].verify(Xt, y)).mean() > 0.95
    # every template's column within what an embedding difference of TOL allows
    got, want = scorer.decision_function(short), est.decision_function(short)
    bound = 1e-4
    if est[-1].geometry == "scaled_manhattan":
        bound = TOL * (1 / est[-1].template_scales_.astype(np.float64)).sum(1)
    assert np.all(np.abs(got - want.astype(np.float64)) <= bound)
    # what the pipeline refuses, the reference refuses
    session = np.asarray(raw[0], dtype=float)
    hostile = {
        "nan": np.where(np.arange(len(session))[:, None] == 2, np.nan, session),
        "one key": session[:1],
        "release before press": session[:, [1, 0, 2]],
        "backwards": session[::-1],
        "two columns": session[:, :2],
    }
    for bad in hostile.values():
        with pytest.raises(ValueError):
            est.decision_function([bad])
        with pytest.raises(ValueError, match=r"X\[0\]|X has shape"):
            scorer.decision_function([bad])


def test_onnx_scorer_refuses_what_the_pipeline_refuses(fixed_text, sessions, tmp_path):
    est, X, y = _fitted("mlp", "cosine", fixed_text, sessions)
    scorer = OnnxVerifier(export_onnx(est, tmp_path / "m.onnx")[0])
    claimed = np.full(1, scorer.classes_[0])
    bad = X[:1].copy()
    bad.flat[0] = np.nan
    for probe in (bad, np.full_like(X[:1], np.inf)):
        with pytest.raises(ValueError, match="NaN or inf"):
            est.verify(probe, claimed)
        with pytest.raises(ValueError, match="NaN or inf"):
            scorer.verify(probe, claimed)
    for claim in (True, 1.0):
        with pytest.raises(ValueError, match="never converted"):
            scorer.claim_scores(X[:1], claim)
    # a MinMaxScaler(clip=True) folded into the graph clipped inf into range
    # and the scorer accepted it: the input is checked before the graph
    Xf, yf = fixed_text
    pipe = make_pipeline(
        MinMaxScaler(clip=True), clone(_verifier(est)).set_params(max_epochs=1)
    ).fit(Xf, yf)
    clipped = OnnxVerifier(export_onnx(pipe, tmp_path / "clip.onnx")[0])
    probe = np.full_like(Xf[:1], np.inf)
    with pytest.raises(ValueError, match="inf"):  # the scaler's own check
        pipe.decision_function(probe)
    with pytest.raises(ValueError, match="NaN or inf"):
        clipped.verify(probe, np.full(1, clipped.classes_[0]))


def test_numpy_typed_feature_parameters_are_exported_not_dropped(sessions, tmp_path):
    """KeystrokeFeatures(max_len=np.int64(20), clip=np.float32(0.1)), as a
    grid search over np.arange gives: the sidecar dropped both, then read a
    missing clip as "no clipping" (other scores, silently) and refused the
    missing max_len of a file it had just written."""
    S, y = sessions
    features = KeystrokeFeatures(max_len=np.int64(20), clip=np.float32(0.1))
    net = KeystrokeVerifier(**FAST, **NETWORKS["typenet"])
    pipe = make_pipeline(features, net).fit(S, y)
    model, sidecar = export_onnx(pipe, tmp_path / "m.onnx")
    params = json.loads(sidecar.read_text())["preprocessing"]["service"][0]["params"]
    assert (params["max_len"], params["clip"]) == (20, float(np.float32(0.1)))
    scorer = OnnxVerifier(model)
    cols = np.searchsorted(pipe[-1].classes_, y[:6])
    ref = pipe.decision_function(S[:6])[np.arange(6), cols]
    np.testing.assert_allclose(scorer.claim_scores(S[:6], y[:6]), ref, atol=TOL)
    # a sidecar without clip is not read as "no clipping"
    meta = json.loads(sidecar.read_text())
    meta["preprocessing"]["service"][0]["params"].pop("clip")
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="clip is missing"):
        OnnxVerifier(model)


@pytest.mark.parametrize(
    "ids",
    [
        np.array(["ann", "bob", "cy", "dee"], dtype=object),
        np.array([3, 5, 7, 9], dtype=">i4"),
    ],
    ids=["str as objects", "big-endian ints"],
)
def test_exported_ids_of_any_storage_read_back(ids, fixed_text, tmp_path):
    """str ids held as objects (a pandas Series) and big-endian ints were
    written with a dtype ("|O", ">i4") that the reader refuses."""
    X, y = fixed_text
    y = ids[y % 4]
    clf = KeystrokeVerifier(**FAST, **NETWORKS["mlp"]).fit(X, y)
    scorer = OnnxVerifier(export_onnx(clf, tmp_path / "m.onnx")[0])
    assert scorer.classes_.tolist() == clf.classes_.tolist()
    assert scorer.verify(X[:2], y[:2]).shape == (2,)


def test_sidecars_of_format_version_2_still_read(fixed_text, sessions, tmp_path):
    # before the subject vocabulary the geometry's key was "template"
    est, X, _ = _fitted("mlp", "cosine", fixed_text, sessions)
    model, sidecar = export_onnx(est, tmp_path / "m.onnx")
    meta = json.loads(sidecar.read_text())
    meta["template"] = meta.pop("geometry")
    sidecar.write_text(json.dumps({**meta, "format_version": 2}))
    scorer = OnnxVerifier(model)
    assert scorer.geometry == "cosine"
