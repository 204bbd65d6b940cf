"""Exporting a verifier to ONNX and scoring with the export (skeer.export)."""

import json

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


def test_sidecar_values_and_sizes_are_checked_before_use(
    fixed_text, sessions, tmp_path
):
    est, *_ = _fitted("mlp", "cosine", fixed_text, sessions)
    model, sidecar = export_onnx(est, tmp_path / "m.onnx")
    meta = json.loads(sidecar.read_text())
    bad = {
        "classes_dtype": ("<U200000000", "not every id is a str"),
        "threshold": ("nan", "threshold 'nan' is not a number"),
        "templates": ([[float("nan")] * 2], "templates holds NaN"),
    }
    for key, (value, match) in bad.items():
        sidecar.write_text(json.dumps({**meta, key: value}))
        with pytest.raises(ValueError, match=match):
            OnnxVerifier(model)
    sidecar.write_text(json.dumps({**meta, "classes_dtype": "<U5"}))  # width ignored
    with pytest.raises(ValueError, match="not every id is a str"):
        OnnxVerifier(model)


def test_sidecar_file_faults_are_named_not_raw(
    fixed_text, sessions, tmp_path, monkeypatch
):
    """Not JSON, absurdly nested, oversized, or a FIFO (which blocked)."""
    import os

    from skeer.export import _onnx_verifier

    est, *_ = _fitted("mlp", "cosine", fixed_text, sessions)
    model, sidecar = export_onnx(est, tmp_path / "m.onnx")
    good = sidecar.read_text()
    for text in ("{not json", "[" * 200_000 + "]" * 200_000):
        sidecar.write_text(text)
        with pytest.raises(ValueError, match="not readable JSON"):
            OnnxVerifier(model)
    sidecar.write_text(good)
    monkeypatch.setattr(_onnx_verifier, "MAX_SIDECAR_BYTES", 100)
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
    np.testing.assert_allclose(
        scorer.decision_function(short), est.decision_function(short), atol=1e-4
    )
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


def test_sidecars_of_format_version_2_still_read(fixed_text, sessions, tmp_path):
    # before the subject vocabulary the geometry's key was "template"
    est, X, _ = _fitted("mlp", "cosine", fixed_text, sessions)
    model, sidecar = export_onnx(est, tmp_path / "m.onnx")
    meta = json.loads(sidecar.read_text())
    meta["template"] = meta.pop("geometry")
    sidecar.write_text(json.dumps({**meta, "format_version": 2}))
    scorer = OnnxVerifier(model)
    assert scorer.geometry == "cosine"
