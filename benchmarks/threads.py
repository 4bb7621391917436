"""CPU threads for small batched trainers: seconds of a full-batch GD run of 64 small deep linear
networks at 1 and 2 torch threads, measured side by side in one run (why
:func:`idealnets.simulate.configure_threads` defaults to few threads).

    .venv/bin/python benchmarks/threads.py
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from idealnets.simulate.deep_linear import init_weights, train_from


def thread_benchmark(threads=(1, 2), steps: int = 400, repeat: int = 3) -> dict[int, float]:
    """Seconds (best of ``repeat``) of a small batched GD run at each thread count; prints them."""
    rng = np.random.default_rng(0)
    N = 8
    X = math.sqrt(N) * np.linalg.qr(rng.standard_normal((N, N)))[0]
    Y = rng.standard_normal((N, N)) @ X / N
    W0 = init_weights(X, Y, depth=4, width=32, n_networks=64, init="small", init_scale=0.05, device="cpu")
    before = torch.get_num_threads()
    out = {}
    for n in threads:
        torch.set_num_threads(n)
        best = math.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            train_from(W0, X, Y, lr=0.05, steps=steps, record=2)
            best = min(best, time.perf_counter() - t0)
        out[n] = best
        print(f"{n} thread(s): {best:.3f} s for {steps} steps of 64 networks")
    torch.set_num_threads(before)
    return out



if __name__ == "__main__":
    out = thread_benchmark()
    print(f"ratio 2 threads / 1 thread: {out[2] / out[1]:.2f}")
