"""Forward + backward time of EERLoss against a straightforward version and triplet.

Batches of P identities × K samples of 128-d L2-normalised embeddings on CPU.
Compared (same batch, same run, best of ``--repeats`` interleaved rounds):

- ``eer_area``: ``skeer.losses.EERLoss()`` (the paper's area formula, labels
  decide the pairs, pair vector + masked means, no host sync);
- ``eer_direct``: ``EERLoss(variant="direct")`` (sigmoid smooth EER,
  implicit gradient through the threshold);
- ``straightforward``: the same area formula written the way the reference
  code does it: a precomputed P×K mask and ``masked_select`` (the baseline of
  the ratios);
- ``triplet_hard`` / ``triplet_semihard``: ``skeer.losses.TripletMarginLoss``
  (pytorch-metric-learning) with batch-hard and semi-hard mining.

Targets: ``eer_area`` no slower than ``straightforward`` and within 1.5× of
the triplet loss.

Run ``python benchmarks/bench_loss.py`` (``--quick`` for a small run); prints
a markdown table and writes ``benchmarks/results/loss.json``. Single-threaded by
default (``--threads 0`` for torch's default): steadier on a shared machine.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from skeer.losses import EERLoss, TripletMarginLoss

SIZES = [(40, 8), (40, 15), (100, 15)]
QUICK_SIZES = [(40, 8)]
DIM = 128


class StraightforwardAreaLoss(torch.nn.Module):
    """The paper's area loss as the reference code computes it (P×K layout).

    Genuine and impostor distances are pulled out of the full distance
    matrix with a mask precomputed for a fixed P × K batch layout (labels
    are ignored) and ``masked_select``; the smooth search and the loss work
    on the two resulting vectors.
    """

    def __init__(self, n_subjects, n_samples, beta=0.85, alpha=0.0, k=100.0, steps=16):
        super().__init__()
        ident = torch.arange(n_subjects).repeat_interleave(n_samples)
        upper = torch.ones(len(ident), len(ident), dtype=torch.bool).triu(1)
        same = ident[:, None] == ident[None, :]
        self.register_buffer("genuine_mask", same & upper)
        self.register_buffer("impostor_mask", ~same & upper)
        self.beta, self.alpha, self.k, self.steps = beta, alpha, k, steps

    def forward(self, embeddings, labels=None):
        dist = torch.cdist(embeddings, embeddings)
        gen = dist.masked_select(self.genuine_mask)
        imp = dist.masked_select(self.impostor_mask)
        k = self.k
        lo, hi = 0.5 * gen.mean(), 1.5 * imp.mean()
        for _ in range(self.steps):
            mid = (lo + hi) / 2
            frr = 100 * torch.tanh(k * (torch.maximum(mid, gen) - mid)).mean()
            far = 100 * torch.tanh(k * (mid - torch.minimum(mid, imp))).mean()
            top = torch.maximum(frr, far)
            c_lo = torch.exp(k * (frr - top))
            c_hi = torch.exp(k * (far - top))
            lo = (1 - c_lo) * lo + c_lo * mid
            hi = (1 - c_hi) * hi + c_hi * mid
        d = (lo + hi) / 2
        a, b = self.alpha, self.beta
        t_gen = ((gen - (1 - a) * d) / d).clamp_min(1e-7).pow(b).mean().pow(1 / b)
        t_imp = (((1 + a) * d - imp) / d).clamp_min(1e-7).pow(b).mean().pow(1 / b)
        return 100 * (t_gen + t_imp)


def _time_interleaved(losses, emb, labels, repeats):
    """Best-of-``repeats`` forward+backward seconds of each loss.

    Rounds interleave the losses (one call of each per round, after a warm-up
    round), so load from other processes hits them alike.
    """
    best = dict.fromkeys(losses, float("inf"))
    values = {}
    for round_ in range(repeats + 1):
        for name, fn in losses.items():
            emb.grad = None
            start = time.perf_counter()
            loss = fn(emb, labels)
            loss.backward()
            elapsed = time.perf_counter() - start
            values[name] = float(loss.detach())
            if round_:  # round 0 warms up
                best[name] = min(best[name], elapsed)
    return best, values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 40x8 batch")
    parser.add_argument("--repeats", type=int, default=None, help="best of N")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "loss.json",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: far steadier timings on a shared "
        "machine; 0 keeps torch's default)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 7)
    sizes = QUICK_SIZES if args.quick else SIZES

    rows = []
    for p, k in sizes:
        gen = torch.Generator().manual_seed(0)
        labels = torch.arange(p).repeat_interleave(k)
        centers = torch.randn(p, DIM, generator=gen)
        raw = centers[labels] + 1.5 * torch.randn(p * k, DIM, generator=gen)
        emb = torch.nn.functional.normalize(raw, dim=1).requires_grad_()
        losses = {
            "straightforward": StraightforwardAreaLoss(p, k),
            "eer_area": EERLoss(),
            "eer_direct": EERLoss(variant="direct"),
            "triplet_hard": TripletMarginLoss(mining="hard"),
            "triplet_semihard": TripletMarginLoss(mining="semihard"),
        }
        times, values = _time_interleaved(losses, emb, labels, repeats)
        base = times["straightforward"]
        row = {
            "batch": f"{p}x{k}",
            "n_pairs": p * k * (p * k - 1) // 2,
            "seconds": times,
            "ratio_to_straightforward": {n: t / base for n, t in times.items()},
            "area_vs_triplet_hard": times["eer_area"] / times["triplet_hard"],
            "area_vs_triplet_semihard": times["eer_area"] / times["triplet_semihard"],
            "area_value_rel_diff": abs(values["eer_area"] - values["straightforward"])
            / abs(values["straightforward"]),
        }
        rows.append(row)

    names = list(rows[0]["seconds"])
    print(f"forward+backward, best of {repeats}, ms (ratio to straightforward)\n")
    print(
        "| batch | "
        + " | ".join(names)
        + " | area/triplet_hard | area/triplet_semihard |"
    )
    print("|---" * (len(names) + 3) + "|")
    for row in rows:
        cells = [
            f"{1e3 * row['seconds'][n]:.1f} ({row['ratio_to_straightforward'][n]:.2f})"
            for n in names
        ]
        print(
            f"| {row['batch']} | "
            + " | ".join(cells)
            + f" | {row['area_vs_triplet_hard']:.2f} | "
            f"{row['area_vs_triplet_semihard']:.2f} |"
        )
    print(
        "\nEERLoss area vs straightforward value, max relative difference: "
        f"{max(r['area_value_rel_diff'] for r in rows):.1e}"
    )
    result = {
        "benchmark": "loss",
        "quick": args.quick,
        "repeats": repeats,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "rows": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
