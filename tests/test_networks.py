import inspect

import numpy as np
import pytest
import torch
from torch import nn

from skeer.features._keys import N_KEY_CODES, decode_key_codes, encode_key_codes
from skeer.features._keys import sequence_lengths as _sequence_lengths
from skeer.networks import MLPEmbedder, Type2Branch, TypeNet
from skeer.networks._layers import (
    MaskedBatchNorm,
    MaskedBiGRU,
    TemporalAttention,
    key_codes,
    reverse_within_length,
    valid_lengths,
)

SMALL = {
    TypeNet: {"hidden_size": 12, "embedding_dim": 6},
    Type2Branch: {"width": 8, "filters": 4, "embedding_dim": 6, "n_heads": 2},
}
SEQ_NETS = [TypeNet, Type2Branch]


def make_sessions(lengths, max_len, seed=0, n_features=5):
    """Zero-padded batch in the KeystrokeFeatures convention (key channel last)."""
    g = torch.Generator().manual_seed(seed)
    n = len(lengths)
    x = torch.rand(n, max_len, n_features, generator=g) * 0.3 + 0.01
    codes = torch.randint(0, N_KEY_CODES, (n, max_len), generator=g)
    x[..., -1] = torch.as_tensor(encode_key_codes(codes.numpy()))
    steps = torch.arange(max_len)[None, :]
    x[steps >= torch.as_tensor(lengths)[:, None]] = 0
    return x


def make_net(cls, seed=0, **kwargs):
    torch.manual_seed(seed)
    return cls(5, **{**SMALL[cls], **kwargs})


def pad(x, extra):
    return torch.cat([x, x.new_zeros(x.shape[0], extra, x.shape[2])], dim=1)


# ----------------------------------------------------------------------
# shapes and signature
@pytest.mark.parametrize("cls", SEQ_NETS)
@pytest.mark.parametrize("training", [True, False])
def test_sequence_output_shape(cls, training):
    net = make_net(cls).train(training)
    out = net(make_sessions([7, 3, 10, 1], 10))
    assert out.shape == (4, 6)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_default_embedding_sizes():
    x = make_sessions([5, 4], 6)
    assert TypeNet().eval()(x).shape == (2, 128)
    assert Type2Branch().eval()(x).shape == (2, 256)
    assert MLPEmbedder(9).eval()(torch.rand(2, 9)).shape == (2, 128)


@pytest.mark.parametrize("training", [True, False])
def test_mlp_output_shape(training):
    torch.manual_seed(0)
    net = MLPEmbedder(7, hidden_sizes=(16, 8), embedding_dim=5).train(training)
    out = net(torch.rand(6, 7))
    assert out.shape == (6, 5)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("num_layers", [1, 3])
def test_typenet_num_layers(num_layers):
    net = make_net(TypeNet, num_layers=num_layers).eval()
    assert len(net.lstms) == num_layers
    assert len(net.norms) == num_layers - 1
    assert [lstm.hidden_size for lstm in net.lstms][-1] == 6
    x = make_sessions([4, 2], 5)
    torch.testing.assert_close(net(pad(x, 3)), net(x))


def test_mlp_hidden_sizes_forms():
    assert MLPEmbedder(4, hidden_sizes=10).hidden_sizes == (10,)
    assert MLPEmbedder(4, hidden_sizes=[10, 3]).hidden_sizes == (10, 3)
    linear = MLPEmbedder(4, hidden_sizes=(), embedding_dim=3)
    assert [type(m) for m in linear.layers] == [nn.Linear]
    assert linear(torch.rand(2, 4)).shape == (2, 3)


@pytest.mark.parametrize("cls", [TypeNet, Type2Branch, MLPEmbedder])
def test_n_features_is_first_positional(cls):
    first = next(iter(inspect.signature(cls).parameters.values()))
    assert first.name == "n_features"
    assert first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    others = list(inspect.signature(cls).parameters.values())[1:]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in others)


# ----------------------------------------------------------------------
# padding
def test_valid_lengths_and_mask():
    x = make_sessions([3, 5, 1], 6)
    x[1, 2] = 0  # an all-zero row inside a sequence does not shorten it
    lengths, mask = valid_lengths(x)
    assert lengths.tolist() == [3, 5, 1]
    assert mask.sum(1).tolist() == [3, 5, 1]
    assert mask[0].tolist() == [True] * 3 + [False] * 3
    empty_lengths, _ = valid_lengths(torch.zeros(2, 4, 5))
    assert empty_lengths.tolist() == [1, 1]


@pytest.mark.parametrize("cls", SEQ_NETS)
@pytest.mark.parametrize("training", [True, False])
def test_appending_zero_rows_does_not_change_embeddings(cls, training):
    net = make_net(cls, dropout=0.0).train(training)
    x = make_sessions([9, 4, 12, 1, 12, 7], 12, seed=1)
    net_padded = make_net(cls, dropout=0.0).train(training)
    out = net(x)
    out_padded = net_padded(pad(x, 20))
    torch.testing.assert_close(out_padded, out, atol=1e-6, rtol=1e-5)
    # the masked batch norms saw the same statistics
    for (name, a), (_, b) in zip(net.named_buffers(), net_padded.named_buffers()):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize("cls", SEQ_NETS)
@pytest.mark.parametrize("grad", [True, False])  # no grad: attention fast paths
def test_embedding_of_a_session_alone_equals_its_row_in_a_padded_batch(cls, grad):
    net = make_net(cls).eval()
    lengths = [9, 4, 12, 1]
    x = make_sessions(lengths, 12, seed=2)
    with torch.set_grad_enabled(grad):
        batch = net(pad(x, 5))
        for i, n_keys in enumerate(lengths):
            alone = net(x[i : i + 1, :n_keys])  # no padding at all
            torch.testing.assert_close(batch[i : i + 1], alone, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("cls", SEQ_NETS)
def test_empty_session_gives_finite_embedding(cls):
    net = make_net(cls).eval()
    x = make_sessions([0, 4], 5)
    assert torch.isfinite(net(x)).all()
    net.train()
    assert torch.isfinite(net(x)).all()


def test_reverse_within_length_matches_per_sequence_flip():
    x = make_sessions([4, 1, 6], 6)
    lengths = torch.tensor([4, 1, 6])
    expected = x.clone()
    for i, n in enumerate(lengths.tolist()):
        expected[i, :n] = x[i, :n].flip(0)
    out = reverse_within_length(x, lengths)
    assert torch.equal(out, expected)
    assert torch.equal(reverse_within_length(out, lengths), x)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_masked_bigru_matches_torch_bidirectional_gru_on_unpadded_input(
    return_sequences,
):
    torch.manual_seed(0)
    ours = MaskedBiGRU(5, 7, return_sequences=return_sequences)
    ref = nn.GRU(5, 7, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(ours.forward_gru, f"{name}_l0"))
            getattr(ref, f"{name}_l0_reverse").copy_(
                getattr(ours.backward_gru, f"{name}_l0")
            )
    lengths = [6, 2, 8]
    x = make_sessions(lengths, 8, seed=3)
    out = ours(x, torch.tensor(lengths))
    for i, n in enumerate(lengths):
        seq, h_n = ref(x[i : i + 1, :n])
        if return_sequences:
            torch.testing.assert_close(out[i, :n], seq[0], atol=1e-6, rtol=1e-5)
        else:
            expected = torch.cat([h_n[0, 0], h_n[1, 0]])
            torch.testing.assert_close(out[i], expected, atol=1e-6, rtol=1e-5)


def test_masked_batch_norm_matches_batch_norm_on_valid_steps():
    torch.manual_seed(0)
    lengths = [5, 2, 7, 3]
    x = make_sessions(lengths, 7, seed=4)
    _, mask = valid_lengths(x)
    ours, ref = MaskedBatchNorm(5, momentum=0.3), nn.BatchNorm1d(5, momentum=0.3)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 2)
        ours.bias.normal_()
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)
    for training in (True, True, False):
        ours.train(training)
        ref.train(training)
        out = ours(x, mask)
        torch.testing.assert_close(out[mask], ref(x[mask]), atol=1e-6, rtol=1e-5)
        assert torch.equal(out[~mask], torch.zeros_like(out[~mask]))
        torch.testing.assert_close(ours.running_mean, ref.running_mean)
        torch.testing.assert_close(ours.running_var, ref.running_var)
    assert ours.num_batches_tracked == ref.num_batches_tracked == 2


def test_temporal_attention_weights_sum_to_length_and_skip_padding():
    torch.manual_seed(0)
    attention = TemporalAttention(5, 4)
    x = make_sessions([3, 6], 6)
    lengths, mask = valid_lengths(x)
    out = attention(x, mask, lengths)
    weights = out[..., 0] / torch.where(mask, x[..., 0], torch.ones(()))
    torch.testing.assert_close(weights.sum(1), lengths.float())
    assert torch.equal(out[~mask], torch.zeros_like(out[~mask]))
    with torch.no_grad():  # constant scores: uniform attention is the identity
        attention.score[-1].weight.zero_()
    torch.testing.assert_close(attention(x, mask, lengths), x)


# ----------------------------------------------------------------------
# key codes
def test_key_codes_invert_the_feature_encoding():
    codes = torch.arange(256)
    assert torch.equal(key_codes((codes + 1) / 256), codes)  # the encoding itself
    key = torch.as_tensor(encode_key_codes(codes.numpy()), dtype=torch.float32)
    assert torch.equal(key_codes(key), codes)
    assert torch.equal(key_codes(key.half()), codes)  # exact in half precision
    assert torch.equal(key_codes(torch.zeros(3)), torch.zeros(3, dtype=torch.long))


def test_torch_and_numpy_forms_agree():
    """One definition of the key decoding and of the length, on both kinds."""
    x = make_sessions([5, 1, 7, 3], 7, seed=3)
    x[2, 3] = 0  # an all-zero row inside a sequence does not shorten it
    decoded = decode_key_codes(x[..., -1])
    assert decoded.dtype == torch.long
    np.testing.assert_array_equal(decoded.numpy(), decode_key_codes(x[..., -1].numpy()))
    assert decoded[0, 5:].tolist() == [-1, -1]  # padding decodes to -1
    lengths = _sequence_lengths(x)
    assert lengths.dtype == torch.long and lengths.tolist() == [5, 1, 7, 3]
    np.testing.assert_array_equal(_sequence_lengths(x.numpy()), [5, 1, 7, 3])
    assert torch.equal(valid_lengths(x)[0], lengths.clamp_min(1))


def test_type2branch_embeds_the_key_code():
    net = make_net(Type2Branch).eval()
    x = make_sessions([6, 6], 6, seed=5)
    a, b = 17, 200
    x[:, 2, -1] = (a + 1) / 256
    changed = x.clone()
    changed[:, 2, -1] = (b + 1) / 256
    assert not torch.allclose(net(x), net(changed), atol=1e-4)
    # codes a and b given the same vector: the embedding no longer changes, so
    # the key channel reaches the network only through row round(key*256) - 1
    with torch.no_grad():
        net.key_embedding.weight[b] = net.key_embedding.weight[a]
    torch.testing.assert_close(net(changed), net(x))


def test_type2branch_key_channel_position():
    last = make_net(Type2Branch).eval()
    first = make_net(Type2Branch, key_channel=0).eval()
    first.load_state_dict(last.state_dict())
    x = make_sessions([5, 3], 5, seed=6)
    moved = torch.cat([x[..., -1:], x[..., :-1]], dim=-1)
    torch.testing.assert_close(first(moved), last(x))


def test_type2branch_without_key_channel():
    net = make_net(Type2Branch, key_channel=None).eval()
    assert not hasattr(net, "key_embedding")
    assert net(make_sessions([4, 2], 4)).shape == (2, 6)


# ----------------------------------------------------------------------
# training behaviour
def _all_inputs():
    return [
        (make_net(TypeNet), make_sessions([9, 4, 12, 6], 12)),
        (make_net(Type2Branch), make_sessions([9, 4, 12, 6], 12)),
        (MLPEmbedder(7, hidden_sizes=(8, 8), embedding_dim=4), torch.rand(6, 7)),
    ]


@pytest.mark.parametrize("index", range(3), ids=["TypeNet", "Type2Branch", "MLP"])
def test_gradient_reaches_every_parameter(index):
    torch.manual_seed(0)
    net, x = _all_inputs()[index]
    if isinstance(net, Type2Branch):
        # wider squeeze-and-excitation bottlenecks (C // 16) than the tiny
        # default test net, whose single hidden unit may be a dead ReLU
        net = make_net(Type2Branch, filters=32)
        x = make_sessions([9, 4, 12, 6, 3, 11, 12, 8], 12)
    net.train()
    net(x).square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("index", range(3), ids=["TypeNet", "Type2Branch", "MLP"])
def test_deterministic_given_seed(index):
    def run():
        torch.manual_seed(42)
        net, x = _all_inputs()[index]
        net.train()  # dropout active: its draws follow the seed too
        out = net(x)
        out.square().sum().backward()
        return net, out

    (net_a, out_a), (net_b, out_b) = run(), run()
    assert torch.equal(out_a, out_b)
    for (name, p), (_, q) in zip(net_a.named_parameters(), net_b.named_parameters()):
        assert torch.equal(p, q), name
        assert torch.equal(p.grad, q.grad), name


@pytest.mark.parametrize("index", range(3), ids=["TypeNet", "Type2Branch", "MLP"])
def test_bfloat16_autocast_on_cpu(index):
    torch.manual_seed(0)
    net, x = _all_inputs()[index]
    net.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
    assert out.shape[0] == x.shape[0]
    assert torch.isfinite(out).all()
    out.float().square().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.parametrize("index", range(3), ids=["TypeNet", "Type2Branch", "MLP"])
@pytest.mark.parametrize("training", [True, False])
def test_forward_is_device_agnostic_on_meta_tensors(index, training):
    # meta tensors have no data: any host read (.item(), .cpu(), numpy) or a
    # tensor created on the default device instead of x.device would fail here
    net, x = _all_inputs()[index]
    net = net.to("meta").train(training)
    out = net(torch.empty(x.shape, device="meta"))
    assert out.device.type == "meta"
    assert out.shape[0] == x.shape[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("index", range(3), ids=["TypeNet", "Type2Branch", "MLP"])
def test_cuda_matches_cpu(index):
    net, x = _all_inputs()[index]
    net.eval()
    expected = net(x)
    out = net.to("cuda")(x.to("cuda"))
    torch.testing.assert_close(out.cpu(), expected, atol=1e-4, rtol=1e-3)


# ----------------------------------------------------------------------
# bad arguments
@pytest.mark.parametrize(
    ("cls", "kwargs", "name"),
    [
        (TypeNet, {"n_features": 0}, "n_features"),
        (TypeNet, {"n_features": 2.5}, "n_features"),
        (TypeNet, {"hidden_size": -1}, "hidden_size"),
        (TypeNet, {"embedding_dim": 0}, "embedding_dim"),
        (TypeNet, {"num_layers": 0}, "num_layers"),
        (TypeNet, {"dropout": 1.0}, "dropout"),
        (TypeNet, {"dropout": -0.1}, "dropout"),
        (Type2Branch, {"n_features": True}, "n_features"),
        (Type2Branch, {"width": 0}, "width"),
        (Type2Branch, {"filters": "8"}, "filters"),
        (Type2Branch, {"embedding_dim": None}, "embedding_dim"),
        (Type2Branch, {"dropout": 2}, "dropout"),
        (Type2Branch, {"key_channel": 5}, "key_channel"),
        (Type2Branch, {"key_channel": -6}, "key_channel"),
        (Type2Branch, {"key_channel": 1.0}, "key_channel"),
        (Type2Branch, {"key_embedding_dim": 0}, "key_embedding_dim"),
        (Type2Branch, {"kernel_size": 0}, "kernel_size"),
        (Type2Branch, {"width": 8, "n_heads": 3}, "n_heads"),
        (MLPEmbedder, {"n_features": -3}, "n_features"),
        (MLPEmbedder, {"hidden_sizes": (8, 0)}, "hidden_sizes"),
        (MLPEmbedder, {"hidden_sizes": "big"}, "hidden_sizes"),
        (MLPEmbedder, {"embedding_dim": 1.5}, "embedding_dim"),
        (MLPEmbedder, {"dropout": float("nan")}, "dropout"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(cls, kwargs, name):
    kwargs = {"n_features": 5, **kwargs}
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


@pytest.mark.parametrize(
    ("net", "x"),
    [
        (TypeNet(5), torch.rand(2, 4, 6)),
        (TypeNet(5), torch.rand(2, 5)),
        (Type2Branch(5, width=8, filters=4), torch.rand(2, 0, 5)),
        (MLPEmbedder(5), torch.rand(2, 3, 5)),
        (MLPEmbedder(5), np.zeros((2, 5), dtype=np.float32)),
    ],
)
def test_bad_input_shape_raises_value_error(net, x):
    with pytest.raises(ValueError, match=type(net).__name__):
        net(x)


# ----------------------------------------------------------------------
# torch.compile (inductor builds C++ code: slow on a cold cache)
@pytest.mark.slow
@pytest.mark.filterwarnings(  # raised inside torch's inductor, not by skeer
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"
)
@pytest.mark.parametrize(
    ("index", "fullgraph"),
    [(0, False), (2, True)],
    ids=["TypeNet", "MLP-fullgraph"],
)
def test_torch_compile_on_cpu(index, fullgraph):
    # TypeNet cannot compile with fullgraph=True: dynamo graph-breaks on
    # nn.LSTM (torch._dynamo.config.allow_rnn is off by default, and with it on
    # the CPU mkldnn LSTM fails to trace in torch 2.13)
    torch._dynamo.reset()
    torch.manual_seed(0)
    net, x = _all_inputs()[index]
    compiled = torch.compile(net, fullgraph=fullgraph)
    net.eval()
    torch.testing.assert_close(compiled(x), net(x), atol=1e-5, rtol=1e-4)
    net.train()
    compiled(x).square().sum().backward()
    assert all(p.grad is not None for p in net.parameters())
