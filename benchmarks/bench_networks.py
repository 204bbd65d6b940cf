"""Forward + backward time of the embedding networks on CPU.

One training step (forward, a scalar loss, backward; no optimiser) on a batch of
``--batch`` sessions x ``--max-len`` keys (5 channels, lengths drawn in
[max_len / 2, max_len], zero padded), for each network at its default sizes and
for a few Type2Branch widths (W, F) used to choose its CPU defaults. Times are
the best of ``--repeats`` runs, also given as a ratio to TypeNet measured in the
same run. MLPEmbedder gets a fixed-text batch of ``--batch`` vectors of
``5 * max_len`` features.

Usage::

    python benchmarks/bench_networks.py            # full run
    python benchmarks/bench_networks.py --quick    # small, fast
"""

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from skeer.networks import MLPEmbedder, Type2Branch, TypeNet

#: Type2Branch (width, filters) pairs timed besides the defaults.
T2B_SIZES = [(64, 16), (128, 32), (256, 32), (256, 64), (256, 128)]


def make_batch(n, max_len, generator):
    lengths = torch.randint(max_len // 2, max_len + 1, (n,), generator=generator)
    x = torch.rand(n, max_len, 5, generator=generator) * 0.3
    codes = torch.randint(0, 256, (n, max_len), generator=generator)
    x[..., -1] = (codes + 1) / 256
    x[torch.arange(max_len)[None, :] >= lengths[:, None]] = 0
    return x


def time_step(net, x, repeats):
    net.train()
    best = float("inf")
    for i in range(repeats + 1):  # first run is a warm-up
        net.zero_grad(set_to_none=True)
        start = time.perf_counter()
        net(x).square().mean().backward()
        elapsed = time.perf_counter() - start
        if i:
            best = min(best, elapsed)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small, fast run")
    parser.add_argument("--batch", type=int, default=320)
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).parent / "results" / "networks.json",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.max_len, args.repeats = 64, 20, 1
        sizes = [(64, 16)]
    else:
        sizes = T2B_SIZES
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x = make_batch(args.batch, args.max_len, gen)
    flat = x.reshape(args.batch, -1)

    cases = [
        ("TypeNet()", TypeNet(), x),
        ("Type2Branch()", Type2Branch(), x),
        *(
            (f"Type2Branch(width={w}, filters={f})", Type2Branch(width=w, filters=f), x)
            for w, f in sizes
        ),
        (f"MLPEmbedder({flat.shape[1]})", MLPEmbedder(flat.shape[1]), flat),
    ]
    rows = []
    for name, net, inputs in cases:
        seconds = time_step(net, inputs, args.repeats)
        n_params = sum(p.numel() for p in net.parameters())
        rows.append({"network": name, "params": n_params, "seconds": seconds})
    baseline = rows[0]["seconds"]
    for row in rows:
        row["ratio_to_typenet"] = row["seconds"] / baseline

    print(
        f"\nforward+backward, batch {args.batch} x {args.max_len} keys, "
        f"{args.threads} threads, best of {args.repeats}\n"
    )
    print("| network | params | seconds | ratio to TypeNet |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['network']} | {row['params']:,} | {row['seconds']:.3f} "
            f"| {row['ratio_to_typenet']:.2f} |"
        )
    result = {
        "benchmark": "networks",
        "batch": args.batch,
        "max_len": args.max_len,
        "repeats": args.repeats,
        "threads": args.threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rows": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
