#!/usr/bin/python3
"""PyTorch peer of MlpBench: the same MLP training step, timed the same way.

Model: nn.Sequential(Linear(512, 2048), GELU(), Linear(2048, 512)) (PyTorch default init), batch 256, MSE
loss against a fixed random target, backward, AdamW(lr=1e-3, weight_decay=0.01), zero_grad(set_to_none=True).
Each step (zero_grad, forward, loss, backward, optimizer step) is timed with perf_counter; after --warmup
untimed steps, --steps are timed and the median is printed last as "median step ms: X".

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 mlp_peer.py --threads T [--steps N] [--warmup W]
(torch.set_num_threads(T) sets the intra-op pool; OpenBLAS is kept at one thread so the two pools do not nest.)
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--in", dest="inp", type=int, default=512)
    ap.add_argument("--hidden", type=int, default=2048)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(a.inp, a.hidden), nn.GELU(), nn.Linear(a.hidden, a.inp))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    x = torch.randn(a.batch, a.inp)
    y = torch.randn(a.batch, a.inp)
    loss_fn = nn.MSELoss()
    print(f"mlp: batch {a.batch}, {a.inp} -> {a.hidden} -> {a.inp}, GELU, MSE, AdamW; torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, {a.warmup} warm-up + {a.steps} timed steps")
    times = []
    loss = None
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if s >= a.warmup:
            times.append((t1 - t0) * 1e3)
    med = statistics.median(times)
    flops = 3.0 * 2 * 2 * a.batch * a.inp * a.hidden
    print(f"final loss: {loss.item():.6f}")
    print(f"min step ms: {min(times):.3f}")
    print(f"GFLOP/s at median: {flops / (med * 1e6):.1f}")
    print(f"median step ms: {med:.3f}")


if __name__ == "__main__":
    main()
