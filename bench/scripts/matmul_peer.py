#!/usr/bin/env python3
"""numpy/OpenBLAS peer of `./vectorgrad bench matmul`: times the same SGEMM shapes the same way.

usage: OPENBLAS_NUM_THREADS=T python3 matmul_peer.py --m M --n N --k K [--transpose-a] [--transpose-b]
                                                     [--batch B] [--warmup S] [--runs R] [--clock wall|cpu]

Method (mirrors MatmulBench.java): float32 operands in [-1, 1); a transposed operand is stored transposed
and passed as a `.T` view, so numpy hands OpenBLAS a transpose flag rather than copying; the product
is written into a preallocated C (`out=`). Warm up for S seconds (default 2) and at least 10 calls, pick a
repetition count (from 50 ms of warm calls) so one run takes about 0.2 s, time R runs (default 10), report the best run's mean time per call.
The last line is `GFLOP/s: <number>`.
"""
import argparse
import os
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--transpose-a", action="store_true")
    ap.add_argument("--transpose-b", action="store_true")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: the calling thread's CPU time (a tuning aid on a busy machine; 1 thread only)")
    o = ap.parse_args()
    m, n, k, bt = o.m, o.n, o.k, o.batch
    if o.clock == "cpu" and os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        ap.error("--clock cpu measures the calling thread only, so it needs OPENBLAS_NUM_THREADS=1")
    clock = time.thread_time if o.clock == "cpu" else time.perf_counter
    rng = np.random.default_rng(42)

    def operand(rows, cols, trans):
        shape = (cols, rows) if trans else (rows, cols)
        if bt > 1:
            shape = (bt,) + shape
        x = (rng.random(shape, dtype=np.float32) * 2 - 1).astype(np.float32)
        return np.swapaxes(x, -1, -2) if trans else x

    a = operand(m, k, o.transpose_a)
    b = operand(k, n, o.transpose_b)
    c = np.empty((bt, m, n) if bt > 1 else (m, n), dtype=np.float32)

    def call():
        np.matmul(a, b, out=c)

    end = time.perf_counter() + o.warmup
    calls = 0
    while True:
        call()
        calls += 1
        if time.perf_counter() >= end and calls >= 10:
            break
    cal, t0 = 0, clock()
    while True:
        call()
        cal += 1
        if clock() - t0 >= 0.05:
            break
    per_call = (clock() - t0) / cal
    reps = int(max(1, min(1_000_000, 0.2 / per_call)))
    flops = 2.0 * bt * m * n * k
    best, total = float("inf"), 0.0
    for _ in range(o.runs):
        s = clock()
        for _ in range(reps):
            call()
        t = (clock() - s) / reps
        best = min(best, t)
        total += t
    cfg = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    try:
        blas = cfg["Build Dependencies"]["blas"]
        blas_name = f'{blas.get("name")} {blas.get("version")}'
    except Exception:
        blas_name = "unknown BLAS"
    shape = (f"{bt}×" if bt > 1 else "") + f"({m}×{k})·({k}×{n})"
    print(f"numpy {np.__version__} ({blas_name}) sgemm {shape} transA={o.transpose_a} transB={o.transpose_b} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"warm-up {o.warmup:.1f} s ({calls} calls); {o.runs} runs × {reps} calls each")
    print(f"time per call: best {best * 1e3:.4f} ms, mean {total / o.runs * 1e3:.4f} ms; "
          f"mean GFLOP/s {flops / (total / o.runs) / 1e9:.2f}")
    print(f"GFLOP/s below is the best of {o.runs} runs ({'thread-CPU-time' if o.clock == 'cpu' else 'wall'} clock)")
    print(f"GFLOP/s: {flops / best / 1e9:.2f}")


if __name__ == "__main__":
    main()
