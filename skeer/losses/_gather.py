"""All-gathering a batch's rows across processes (EERLoss's ``gather``)."""

import torch


def _check_gather(gather):
    if gather is not None and not isinstance(gather, bool):
        raise ValueError(f"gather must be None, True or False, got {gather!r}.")


def _gather_active(gather):
    """Whether a loss with this ``gather`` setting all-gathers its batch now."""
    if gather is False:
        return False
    dist = torch.distributed
    ready = dist.is_available() and dist.is_initialized()
    if gather and not ready:
        raise RuntimeError(
            "gather=True needs an initialised torch.distributed process group "
            "(torch.distributed.init_process_group, torchrun or accelerate "
            "launch); there is none. Use gather=None to gather only when "
            "distributed."
        )
    return ready and dist.get_world_size() > 1


class _AllGatherRows(torch.autograd.Function):
    """All-gather equal row blocks; backward sums the gradient, keeps this rank's."""

    @staticmethod
    def forward(ctx, values):
        dist = torch.distributed
        ctx.rank, ctx.n = dist.get_rank(), values.shape[0]
        parts = [torch.empty_like(values) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, values.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        torch.distributed.all_reduce(grad)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


def _gather_rows(values, labels):
    """Rows of every process in rank order (sizes may differ); keeps the graph."""
    dist = torch.distributed
    world = dist.get_world_size()
    size = torch.tensor([values.shape[0]], dtype=torch.int64, device=values.device)
    sizes = [torch.empty_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    sizes = torch.cat(sizes).tolist()  # host sync: the padded shape depends on it
    top = max(sizes)
    pad = top - values.shape[0]
    if pad:
        values = torch.cat([values, values.new_zeros((pad, *values.shape[1:]))])
        labels = torch.cat([labels, labels.new_zeros((pad,))])
    label_parts = [torch.empty_like(labels) for _ in range(world)]
    dist.all_gather(label_parts, labels.contiguous())
    keep = [slice(r * top, r * top + n) for r, n in enumerate(sizes)]
    values = _AllGatherRows.apply(values)
    values = torch.cat([values[k] for k in keep])
    labels = torch.cat([part[:n] for part, n in zip(label_parts, sizes)])
    return values, labels
