"""Benchmark: batched ensemble training vs one network at a time; analytic vs simulated trajectory.

Run from the repository root: ``python benchmarks/ensemble.py [--device cpu|cuda] [--threads N]``.
Everything printed is measured in this one run.

1. 64 deep linear networks (depth 4, hidden width 32, whitened input; N_in = N_out = 8, the
   scale of the figures, and 32) trained
   by full-batch GD as one batched program (``n_networks=64``) versus the same 64 trained
   one after another through the same code with ``n_networks=1``; reported as
   network-steps per second.
2. The cost of one analytic trajectory (:class:`idealnets.theory.deep_linear.DeepLinearTheory`,
   ``.map`` at 100 times, depth 4: bisection on the closed-form time integral) versus one
   simulated trajectory of one network to the same final time.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from idealnets.simulate.deep_linear import init_weights, train_from  # noqa: E402
from idealnets.theory.deep_linear import DeepLinearTheory  # noqa: E402

E, DEPTH, WIDTH = 64, 4, 32
N_IO = (8, 32)  # input = output dimension: the figures' scale (8) and a square case (32)


def data(N, seed=0):
    rng = np.random.default_rng(seed)
    X = np.sqrt(N) * np.linalg.qr(rng.standard_normal((N, N)))[0]
    s = np.linspace(3.0, 0.3, N)
    U = np.linalg.qr(rng.standard_normal((N, N)))[0]
    V = np.linalg.qr(rng.standard_normal((N, N)))[0]
    return X, U @ np.diag(s) @ V.T @ X


def timed(fn, repeat=3):
    """Best of ``repeat`` wall times (the least disturbed by other jobs on a shared machine)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, out


def compare(N, steps, dev):
    X, Y = data(N)
    th = DeepLinearTheory(X, Y, depth=DEPTH, u0=1e-2)
    lr = 0.1 * th.stable_lr()
    W0 = init_weights(X, Y, depth=DEPTH, width=WIDTH, n_networks=E, init="small",
                      init_scale=0.3 / np.sqrt(WIDTH), device=dev, seed=0)
    kw = {"record": 2, "desc": "bench"}

    def batched():
        return train_from(W0, X, Y, lr=lr, steps=steps, **kw)

    def sequential():
        for e in range(E):
            train_from([w[e:e + 1] for w in W0], X, Y, lr=lr, steps=steps, **kw)

    # alternate the two so that load from other jobs hits both alike; keep the best of 3
    t_b, t_s = np.inf, np.inf
    for _ in range(3):
        t_b = min(t_b, timed(batched, 1)[0])
        t_s = min(t_s, timed(sequential, 1)[0])
    return th, lr, W0, X, Y, t_b, t_s


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=400)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    steps = a.steps
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
          f"torch {torch.__version__}, device {dev}, threads {torch.get_num_threads()}")
    print(f"ensemble of {E} networks, depth {DEPTH}, hidden width {WIDTH}, {steps} full-batch GD steps each, "
          "float64; best of 3 alternating runs")
    for N in N_IO:
        th, lr, W0, X, Y, t_b, t_s = compare(N, steps, dev)
        rate_b, rate_s = E * steps / t_b, E * steps / t_s
        print(f"N_in = N_out = {N}:")
        print(f"  batched (n_networks={E}):         {t_b:8.3f} s   {rate_b:12.0f} network-steps/s")
        print(f"  one after another (n_networks=1): {t_s:8.3f} s   {rate_s:12.0f} network-steps/s")
        print(f"  speed-up batched / sequential:    {rate_b / rate_s:8.1f} x")

    # analytic vs simulated trajectory, same final time, 100 recorded times
    t_end = 20.0
    times = np.concatenate([[0.0], np.logspace(-2, np.log10(t_end), 99)])
    print(f"analytic vs simulated, N_in = N_out = {N}, depth {DEPTH}:")
    t_th, _ = timed(lambda: th.map(times), repeat=5)
    n_sim = int(np.ceil(t_end / lr))
    t_sim, _ = timed(lambda: train_from([w[:1] for w in W0], X, Y, lr=lr, steps=n_sim, record=100,
                                        desc="bench"), repeat=3)
    print(f"  one trajectory to t = {t_end:g} (100 times): analytic {1e3 * t_th:8.2f} ms, "
          f"simulated ({n_sim} GD steps at lr = {lr:.3g}) {1e3 * t_sim:8.2f} ms, ratio {t_sim / t_th:6.1f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
