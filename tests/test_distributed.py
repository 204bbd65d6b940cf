"""Distributed training, cluster search and pickling (skeer.verifier).

Multi-process tests start real processes on this machine: this file doubles as
their worker script (``python tests/test_distributed.py <mode> ...``), so the
workers import nothing from the test process. Every result is compared with a
single-process computation done here.
"""

import io
import json
import os
import pickle
import pickletools
import socket
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skeer.losses import EERLoss
from skeer.verifier import SubjectBatchSampler

WORLD = 2
HERE = Path(__file__).resolve()

# (name, loss kwargs, per-rank batch sizes)
GATHER_CASES = [
    ("area-even", {"variant": "area"}, (6, 6)),
    ("area-uneven", {"variant": "area"}, (7, 4)),
    ("direct-even", {"variant": "direct"}, (6, 6)),
    ("direct-uneven", {"variant": "direct"}, (7, 4)),
    ("direct-fmr", {"variant": "direct", "operating_point": 0.1}, (5, 8)),
    ("area-cosine", {"variant": "area", "distance": "cosine"}, (6, 5)),
]


def _case_data(name, sizes):
    """Global batch of a case: float64 embeddings and labels (4 identities).

    Identities are spread over both ranks, so genuine pairs cross processes.
    """
    seed = sum(map(ord, name))
    g = torch.Generator().manual_seed(seed)
    n = sum(sizes)
    labels = torch.arange(n) % 4
    centers = torch.randn(4, 5, generator=g, dtype=torch.float64)
    emb = centers[labels] + 0.7 * torch.randn(n, 5, generator=g, dtype=torch.float64)
    return F.normalize(emb, dim=1), labels


def _ddp_data():
    g = torch.Generator().manual_seed(1)
    labels = torch.arange(10) % 3
    x = torch.randn(10, 6, generator=g, dtype=torch.float64) + labels[:, None]
    return x, labels, (6, 4)


def _ddp_module():
    torch.manual_seed(3)
    return torch.nn.Linear(6, 4).double()


def _rows(sizes, rank):
    start = sum(sizes[:rank])
    return slice(start, start + sizes[rank])


# ----------------------------------------------------------------------
# workers (run as scripts in child processes)
def _gloo_worker(rank, port, out_dir):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    out = {}
    for name, kwargs, sizes in GATHER_CASES:
        emb, labels = _case_data(name, sizes)
        mine = emb[_rows(sizes, rank)].clone().requires_grad_()
        loss_fn = EERLoss(**kwargs)
        loss = loss_fn(mine, labels[_rows(sizes, rank)])
        loss.backward()
        out[f"{name}/loss"] = loss.detach()
        out[f"{name}/grad"] = mine.grad
        out[f"{name}/threshold"] = loss_fn.threshold_
        local = EERLoss(gather=False, **kwargs)(
            mine.detach(), labels[_rows(sizes, rank)]
        )
        out[f"{name}/local"] = local.detach()
        with torch.no_grad():  # a validation step: forward only
            out[f"{name}/nograd"] = EERLoss(**kwargs)(
                mine.detach(), labels[_rows(sizes, rank)]
            )
    # DistributedDataParallel averages the parameter gradients over ranks
    x, labels, sizes = _ddp_data()
    module = _ddp_module()
    ddp = DistributedDataParallel(module)
    emb = F.normalize(ddp(x[_rows(sizes, rank)]), dim=1)
    loss = EERLoss()(emb, labels[_rows(sizes, rank)])
    loss.backward()
    out["ddp/loss"] = loss.detach()
    out["ddp/weight"] = module.weight.grad
    out["ddp/bias"] = module.bias.grad
    # a loss with indices_tuple cannot gather
    try:
        EERLoss()(mine, labels[: mine.shape[0]], indices_tuple=([0], [1], [0], [2]))
    except ValueError as exc:
        out["indices_error"] = str(exc)
    torch.save(out, Path(out_dir) / f"rank{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


class _TinyNet(torch.nn.Module):
    """Two linear layers, no batch normalisation (whose statistics are per
    process under DDP, so a BatchNorm network would not match one process)."""

    def __init__(self, n_features):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_features, 16), torch.nn.Tanh(), torch.nn.Linear(16, 8)
        )

    def forward(self, x):
        return self.layers(x)


def _fixed_text(n_ids=16, n_per=8, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_ids), n_per)
    X = rng.normal(size=(n_ids, 6))[y] + 0.6 * rng.normal(size=(len(y), 6))
    return X.astype(np.float32), y


def _verifier_params(world):
    """The same training for one process (P=6) and for ``world`` processes."""
    from skorch.callbacks import Callback, EarlyStopping

    class RisingScore(Callback):
        # a score that worsens after epoch 1: early stopping deterministically
        # stops after epoch 2 and restores epoch 1's weights
        def on_epoch_end(self, net, **kwargs):
            net.history.record("rising", float(len(net.history)))

    return {
        "module": _TinyNet,
        "optimizer": torch.optim.SGD,
        "lr": 0.05,
        "criterion__sharpness": 5.0,  # a smooth loss: float32 rounding stays small
        "max_epochs": 4,
        "patience": None,
        "callbacks": [
            ("rising", RisingScore()),
            ("stop", EarlyStopping(monitor="rising", patience=1, load_best=True)),
            ("recorder", _recorder()),
        ],
        "n_subjects_per_batch": 6 // world,  # P per process: 6 in total
        "n_samples_per_subject": 4,
        "validation_size": 0.25,  # 4 of 16 identities: 2 per process
        "random_state": 0,
    }


def _recorder():
    from skorch.callbacks import Callback

    class Recorder(Callback):
        def initialize(self):
            self.batches = {True: [], False: []}
            self.losses = {True: [], False: []}
            self.weights = []
            self.steps = []
            return self

        def on_batch_begin(self, net, batch=None, training=None, **kwargs):
            self.batches[training].append(batch[1].tolist())

        def on_batch_end(self, net, batch=None, training=None, loss=None, **kw):
            self.losses[training].append(loss.item())
            if training:
                module = getattr(net.module_, "module", net.module_)
                flat = [p.detach().ravel() for p in module.parameters()]
                self.steps.append(torch.cat(flat).tolist())

        def on_epoch_end(self, net, **kwargs):
            module = getattr(net.module_, "module", net.module_)
            self.weights.append([p.detach().sum().item() for p in module.parameters()])

    return Recorder()


def _summary(net, X):
    callbacks = dict(net.callbacks_)
    recorder, stop = callbacks["recorder"], callbacks["stop"]
    module = net.module_
    return {
        "train_batches": recorder.batches[True],
        "valid_batches": recorder.batches[False],
        "train_losses": recorder.losses[True],
        "valid_losses": recorder.losses[False],
        "epoch_weights": recorder.weights,
        "steps": recorder.steps,
        "final_weights": [p.detach().sum().item() for p in module.parameters()],
        "n_epochs": len(net.history),
        "best_epoch": int(stop.best_epoch_),
        "valid_eer": net.history[:, "valid_eer"],
        "threshold": float(net.threshold_),
        "classes": net.classes_.tolist(),
        "templates": net.templates_.tolist(),
        "embeddings": net.transform(X).tolist(),
        "module_type": type(module).__name__,
    }


def _accelerate_worker(out_dir):
    from accelerate import Accelerator

    import skeer
    from skeer.verifier import AcceleratedKeystrokeVerifier

    accelerator = Accelerator(cpu=True)
    X, y = _fixed_text()
    net = AcceleratedKeystrokeVerifier(
        accelerator=accelerator, **_verifier_params(accelerator.num_processes)
    )
    net.fit(X, y)
    summary = _summary(net, X)
    summary["world"] = accelerator.num_processes
    summary["distributed"] = str(accelerator.distributed_type)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:  # the documented deployment path
        skeer.save(net, Path(out_dir) / "model.skeer")
    # random_state=None: a seed broadcast from the main process keeps the
    # ranks' identity split and draws consistent
    params = {**_verifier_params(WORLD), "random_state": None, "max_epochs": 1}
    params["callbacks"] = [("recorder", _recorder())]
    unseeded = AcceleratedKeystrokeVerifier(accelerator=accelerator, **params)
    unseeded.fit(X, y)
    recorder = dict(unseeded.callbacks_)["recorder"]
    summary["unseeded_batches"] = recorder.batches[True]
    summary["unseeded_random_state"] = unseeded.random_state
    path = Path(out_dir) / f"rank{accelerator.process_index}.json"
    path.write_text(json.dumps(summary))


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_workers(commands, timeout=240, env=None):
    """Run commands concurrently; fail with their output if any fails."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    procs = [
        subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        for cmd in commands
    ]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=timeout)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, f"worker {proc.args} failed:\n{output[-4000:]}"
    return outputs


@pytest.fixture(scope="module")
def gloo_results(tmp_path_factory):
    pytest.importorskip("torch.distributed")
    if (
        not torch.distributed.is_available()
        or not torch.distributed.is_gloo_available()
    ):
        pytest.skip("torch.distributed with the gloo backend is not available")
    out_dir = tmp_path_factory.mktemp("gloo")
    port = _free_port()
    _run_workers(
        [
            [sys.executable, str(HERE), "gloo", str(rank), str(port), str(out_dir)]
            for rank in range(WORLD)
        ]
    )
    return [
        torch.load(out_dir / f"rank{rank}.pt", weights_only=True)
        for rank in range(WORLD)
    ]


# ----------------------------------------------------------------------
# EERLoss(gather=...)
@pytest.mark.parametrize("name, kwargs, sizes", GATHER_CASES)
def test_gathered_loss_equals_single_process_loss(gloo_results, name, kwargs, sizes):
    emb, labels = _case_data(name, sizes)
    emb = emb.clone().requires_grad_()
    loss_fn = EERLoss(**kwargs)
    loss = loss_fn(emb, labels)  # one process, the concatenated batch
    loss.backward()
    for rank, res in enumerate(gloo_results):
        assert res[f"{name}/loss"].item() == pytest.approx(loss.item(), abs=1e-6)
        assert res[f"{name}/nograd"].item() == pytest.approx(loss.item(), abs=1e-6)
        assert res[f"{name}/threshold"].item() == pytest.approx(
            loss_fn.threshold_.item(), abs=1e-6
        )
        # the rule: own rows get world_size x the single-process gradient
        # (each rank's copy of the global loss contributes one share)
        expected = WORLD * emb.grad[_rows(sizes, rank)]
        assert expected.abs().max() > 1e-3
        torch.testing.assert_close(res[f"{name}/grad"], expected, atol=1e-6, rtol=0)
        # a per-process loss differs (fewer pairs): gathering matters here
        with warnings.catch_warnings():  # a shard may lack genuine pairs
            warnings.simplefilter("ignore", UserWarning)
            local = EERLoss(**kwargs)(
                emb.detach()[_rows(sizes, rank)], labels[_rows(sizes, rank)]
            )
        assert res[f"{name}/local"].item() == pytest.approx(local.item(), abs=1e-9)
        assert abs(local.item() - loss.item()) > 1e-4


def test_ddp_parameter_gradient_equals_single_process(gloo_results):
    x, labels, _ = _ddp_data()
    module = _ddp_module()
    loss = EERLoss()(F.normalize(module(x), dim=1), labels)
    loss.backward()
    for res in gloo_results:
        assert res["ddp/loss"].item() == pytest.approx(loss.item(), abs=1e-6)
        torch.testing.assert_close(
            res["ddp/weight"], module.weight.grad, atol=1e-6, rtol=0
        )
        torch.testing.assert_close(res["ddp/bias"], module.bias.grad, atol=1e-6, rtol=0)


def test_gather_with_indices_tuple_raises(gloo_results):
    for res in gloo_results:
        assert "indices_tuple" in res["indices_error"]


def test_gather_off_without_process_group():
    emb, labels = _case_data("local", (6, 6))
    assert not torch.distributed.is_initialized()
    auto = EERLoss()(emb, labels)
    off = EERLoss(gather=False)(emb, labels)
    assert auto.item() == off.item()
    with pytest.raises(RuntimeError, match="process group"):
        EERLoss(gather=True)(emb, labels)


@pytest.mark.parametrize("bad", [1, "yes", 0.0])
def test_gather_must_be_bool_or_none(bad):
    with pytest.raises(ValueError, match="gather"):
        EERLoss(gather=bad)


# ----------------------------------------------------------------------
# the sharded sampler
def test_sharded_sampler_partitions_the_global_batch():
    labels = np.repeat(np.arange(13), 5)
    kwargs = {"n_samples": 3, "n_batches": 6, "random_state": 7}
    shards = [
        list(SubjectBatchSampler(labels, 2, rank=r, world_size=3, **kwargs))
        for r in range(3)
    ]
    whole = list(SubjectBatchSampler(labels, 6, **kwargs))
    assert all(len(s) == 6 for s in shards)
    for step, batch in enumerate(whole):
        parts = [s[step] for s in shards]
        assert sum(parts, []) == batch
        ids = [set(labels[p]) for p in parts]
        assert all(len(i) == 2 for i in ids)
        assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])


def test_sharded_sampler_default_batches_cover_the_data_once():
    labels = np.repeat(np.arange(20), 6)  # 120 samples
    sampler = SubjectBatchSampler(labels, 3, 4, random_state=0, rank=1, world_size=2)
    assert len(sampler) == int(np.ceil(120 / (3 * 4 * 2)))
    # capped at usable identities // world_size, and 1 identity per rank allowed
    capped = SubjectBatchSampler(labels, 50, 2, random_state=0, world_size=4)
    assert capped.n_subjects == 5
    single = SubjectBatchSampler(labels, 1, 2, random_state=0, rank=0, world_size=2)
    assert all(len(set(labels[b])) == 1 for b in single)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"world_size": 0}, "world_size"),
        ({"world_size": 2, "rank": 2}, "rank"),
        ({"world_size": 2, "rank": -1}, "rank"),
        ({"world_size": 2.0}, "world_size"),
        ({"world_size": 2, "random_state": None}, "random_state"),
        ({"world_size": 2, "random_state": np.random.default_rng(0)}, "random_state"),
        ({"world_size": 5}, "world_size=5 identities"),
        ({"n_subjects": 1}, "n_subjects"),
        ({"n_subjects": 0, "world_size": 2}, "n_subjects"),
    ],
)
def test_sharded_sampler_rejects_bad_parameters(kwargs, match):
    labels = np.repeat(np.arange(4), 3)
    kwargs = {"random_state": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        SubjectBatchSampler(labels, **{"n_subjects": 2, **kwargs})


# ----------------------------------------------------------------------
# AcceleratedKeystrokeVerifier under Accelerate's launcher
@pytest.fixture(scope="module")
def accelerate_results(tmp_path_factory):
    pytest.importorskip("accelerate")
    out_dir = tmp_path_factory.mktemp("accelerate")
    # `accelerate launch --cpu` starts a single process unless MPI is set up;
    # --multi_gpu starts one process per rank through torchrun, and the
    # worker's Accelerator(cpu=True) makes them CPU processes (gloo)
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", str(WORLD), "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()),
        str(HERE), "accelerate", str(out_dir),
    ]  # fmt: skip
    _run_workers([command], env={"HF_HOME": str(out_dir / "hf")})  # no user config
    results = [
        json.loads((out_dir / f"rank{r}.json").read_text()) for r in range(WORLD)
    ]
    results[0]["saved"] = str(out_dir / "model.skeer")
    return results


@pytest.fixture(scope="module")
def single_process_reference():
    from skeer import KeystrokeVerifier

    X, y = _fixed_text()
    net = KeystrokeVerifier(**_verifier_params(1)).fit(X, y)
    return _summary(net, X)


@pytest.mark.slow
def test_accelerate_ranks_draw_disjoint_slices_of_the_global_batch(
    accelerate_results, single_process_reference
):
    ref = single_process_reference
    assert [r["world"] for r in accelerate_results] == [WORLD, WORLD]
    assert all("MULTI_CPU" in r["distributed"] for r in accelerate_results)
    for kind in ("train_batches", "valid_batches"):
        per_rank = [r[kind] for r in accelerate_results]
        assert len(per_rank[0]) == len(per_rank[1]) == len(ref[kind]) > 0
        for step, (a, b) in enumerate(zip(*per_rank)):
            assert not set(a) & set(b)  # disjoint identities
            assert a + b == ref[kind][step]  # the single-process P·2 × K batch


@pytest.mark.slow
def test_accelerate_training_matches_single_process(
    accelerate_results, single_process_reference
):
    ref = single_process_reference
    first, second = accelerate_results
    per_rank = {"train_batches", "valid_batches", "unseeded_batches", "saved"}
    for key in first.keys() - per_rank:
        assert first[key] == second[key], key  # the same model on every rank
    # epoch 1 (4 steps): the same updates as one process on the global batch
    # (float32 rounding only; the EER loss amplifies it in later epochs)
    n = len(ref["train_batches"]) // ref["n_epochs"]
    np.testing.assert_allclose(first["steps"][:n], ref["steps"][:n], atol=1e-4)
    np.testing.assert_allclose(
        first["train_losses"][:n], ref["train_losses"][:n], rtol=1e-4
    )
    m = len(ref["valid_batches"]) // ref["n_epochs"]
    np.testing.assert_allclose(
        first["valid_losses"][:m], ref["valid_losses"][:m], rtol=1e-4
    )
    assert first["valid_eer"][0] == ref["valid_eer"][0]
    # early stopping restored epoch 1 into the wrapped module, then unwrapped
    assert first["n_epochs"] == ref["n_epochs"] == 2
    assert first["best_epoch"] == ref["best_epoch"] == 1
    np.testing.assert_allclose(
        first["final_weights"], ref["epoch_weights"][0], atol=1e-4
    )
    assert first["module_type"] == "_TinyNet"
    assert first["classes"] == ref["classes"]
    np.testing.assert_allclose(first["templates"], ref["templates"], atol=1e-4)
    np.testing.assert_allclose(first["embeddings"], ref["embeddings"], atol=1e-4)
    assert first["threshold"] == pytest.approx(ref["threshold"], abs=1e-4)


@pytest.mark.slow
def test_accelerate_without_random_state_shares_a_seed(accelerate_results):
    first, second = accelerate_results
    assert first["unseeded_random_state"] is None  # the parameter is restored
    assert len(first["unseeded_batches"]) == len(second["unseeded_batches"]) > 0
    for a, b in zip(first["unseeded_batches"], second["unseeded_batches"]):
        # disjoint in every batch: one shared split and draw (independent
        # draws of 3 of 12 identities would overlap in some of the 4 batches
        # with probability 0.98)
        assert len(set(a)) == len(set(b)) == 3
        assert not set(a) & set(b)


@pytest.mark.slow
def test_accelerate_trained_model_loads_as_a_plain_verifier(accelerate_results):
    import skeer

    X, _ = _fixed_text()
    plain = skeer.load(accelerate_results[0]["saved"], module=_TinyNet)
    assert type(plain) is skeer.KeystrokeVerifier
    np.testing.assert_allclose(
        plain.transform(X), accelerate_results[0]["embeddings"], atol=1e-6
    )
    assert plain.threshold_ == accelerate_results[0]["threshold"]
    assert plain.classes_.tolist() == accelerate_results[0]["classes"]


def test_accelerated_verifier_rejects_amp():
    accelerate = pytest.importorskip("accelerate")
    from skeer.verifier import AcceleratedKeystrokeVerifier

    X, y = _fixed_text(4, 4)
    net = AcceleratedKeystrokeVerifier(
        accelerator=accelerate.Accelerator(cpu=True), amp=True
    )
    with pytest.raises(ValueError, match="mixed_precision"):
        net.fit(X, y)
    # one process without a launcher: no process group, EERLoss does not gather
    assert not torch.distributed.is_initialized()


# ----------------------------------------------------------------------
# hyperparameter search on a Dask cluster; pickling
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _search():
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.pipeline import make_pipeline

    from skeer import KeystrokeFeatures, KeystrokeVerifier, make_verification_scorer

    pipe = make_pipeline(
        KeystrokeFeatures(max_len=20),
        KeystrokeVerifier(
            module__hidden_size=16,
            module__embedding_dim=16,
            max_epochs=2,
            n_subjects_per_batch=4,
            n_samples_per_subject=3,
            validation_size=0,
            random_state=0,
        ),
    )
    grid = {
        "keystrokeverifier__operating_point": ["eer", 0.1],
        "keystrokeverifier__lr": [1e-3, 1e-2],
    }
    scorer = make_verification_scorer(n_enroll=3, n_probe=3)
    return GridSearchCV(pipe, grid, cv=GroupKFold(2), scoring=scorer)


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster(dask_client):
    import joblib
    from dask.distributed import get_task_stream

    from skeer.datasets import make_keystrokes

    X, y = make_keystrokes(n_subjects=8, n_sessions=6, n_keys=(15, 25), random_state=0)
    with get_task_stream(dask_client) as tasks, joblib.parallel_backend("dask"):
        remote = _search().fit(X, y, groups=y)
    workers = set(dask_client.scheduler_info()["workers"])
    ran_on = {task["worker"] for task in tasks.data}
    assert ran_on and ran_on <= workers  # the fits ran in the worker processes
    with torch.random.fork_rng():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as in the workers (OMP_NUM_THREADS=1)
        try:
            local = _search().fit(X, y, groups=y)
        finally:
            torch.set_num_threads(threads)
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        atol=1e-9,
    )
    assert remote.best_params_ == local.best_params_
    assert len(remote.cv_results_["params"]) == 4


def _device_strings(blob, found=None):
    """Storage locations named in a pickle, including torch.save payloads
    (zip archives, as skorch pickles its modules) nested in it."""
    found = [] if found is None else found
    for _, arg, _ in pickletools.genops(blob):
        if isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps", "xpu"):
            found.append(arg)
        elif isinstance(arg, (bytes, bytearray)) and arg[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(arg)) as archive:
                for name in archive.namelist():
                    if name.endswith("data.pkl"):
                        _device_strings(archive.read(name), found)
    return found


def _pickle_checked(obj):
    """Pickle ``obj``, listing any open handle or non-CPU tensor it holds."""
    offenders = []

    class Checker(pickle.Pickler):
        def persistent_id(self, value):
            if isinstance(value, (io.IOBase, socket.socket)):
                offenders.append(value)
            elif isinstance(value, torch.Tensor) and value.device.type != "cpu":
                offenders.append(value)
            elif isinstance(value, torch.UntypedStorage) and value.device.type != "cpu":
                offenders.append(value)
            return None

    buffer = io.BytesIO()
    Checker(buffer).dump(obj)
    return buffer.getvalue(), offenders


def test_verifier_pickles_portably(fixed_text_data):
    from sklearn.base import clone

    from skeer import KeystrokeVerifier

    X, y = fixed_text_data
    unfitted = KeystrokeVerifier(max_epochs=2, validation_size=0, random_state=0)
    blob, offenders = _pickle_checked(unfitted)
    assert offenders == []
    restored = pickle.loads(blob)
    assert restored.get_params().keys() == unfitted.get_params().keys()
    assert repr(clone(restored)) == repr(clone(unfitted))

    fitted = clone(unfitted).fit(X, y)
    blob, offenders = _pickle_checked(fitted)
    assert offenders == []
    locations = _device_strings(blob)
    assert locations and set(locations) == {"cpu"}  # the module's tensors
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(
        restored.decision_function(X), fitted.decision_function(X)
    )
    assert restored.threshold_ == fitted.threshold_
    np.testing.assert_array_equal(restored.classes_, fitted.classes_)
    # the restored one trains on like the original
    assert len(restored.set_params(max_epochs=1).fit(X, y).history) == 1


# ----------------------------------------------------------------------
if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "gloo":
        _gloo_worker(int(args[0]), int(args[1]), args[2])
    elif mode == "accelerate":
        _accelerate_worker(args[0])
    else:
        raise SystemExit(f"unknown worker mode {mode!r}")
