#!/usr/bin/env python3
"""PyTorch CPU peer of `./vectorgrad bench ops`: times torch.softmax(x, -1) and
torch.nn.functional.layer_norm(x, (C,), w, b) on an R x C float32 tensor the same way
(warm-up, then the best of several runs, each the mean of a burst of 10 calls) and prints
`softmax: X us` / `layernorm: X us`.

Run as: OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 python3 ops_peer.py --rows 768 --cols 512 --threads 1
"""
import argparse
import time

import torch


def best_us(fn, runs, warmup_s=1.5, burst=10):
    end = time.perf_counter() + warmup_s
    while time.perf_counter() < end:
        fn()
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(burst):
            fn()
        best = min(best, (time.perf_counter() - t0) / burst)
    return best * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=768)
    ap.add_argument("--cols", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(42)
    x = torch.randn(a.rows, a.cols, generator=g)
    w = torch.randn(a.cols, generator=g)
    b = torch.randn(a.cols, generator=g)
    print(f"# ops peer: torch {torch.__version__}, {a.rows}x{a.cols}, threads {torch.get_num_threads()}")
    with torch.no_grad():
        print(f"softmax: {best_us(lambda: torch.softmax(x, -1), a.runs):.1f} us")
        print(f"layernorm: {best_us(lambda: torch.nn.functional.layer_norm(x, (a.cols,), w, b), a.runs):.1f} us")


if __name__ == "__main__":
    main()
