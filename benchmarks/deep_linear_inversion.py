"""Benchmark: inverting the depth >= 3 time integral, bisection (before) vs safeguarded Newton (now).

Run from the repository root: ``python benchmarks/deep_linear_inversion.py [--threads 1]``.
Everything printed is measured in this one run (best of several repeats, so that
load from other jobs on a shared machine disturbs it least).

1. :func:`idealnets.theory.deep_linear.mode_strength` at depth 4 for 32 modes x 100 times
   (singular values in [0.3, 3], initial strengths 1e-6 .. 1, times 0, 1e-2 .. 20,
   inf): the old vectorised bisection (64 halvings of ``[a0, c]``, kept here as
   ``bisection`` for the comparison) versus the Newton iteration in
   ``y = log|c - a|`` now in the module; largest relative difference of ``u``.
2. One analytic trajectory (``DeepLinearTheory.map`` at the same 100 times,
   N_in = N_out = 32) versus simulating one depth-4 network of hidden width 32 to
   the same final time by full-batch GD at a tenth of the stable learning rate. The theory is
   timed warm (repeated ``map`` calls of one object, which computes the modes' part of the
   inversion once) and cold (a new object, its SVD and setup included, and its first ``map``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from idealnets.simulate.deep_linear import init_weights, train_from  # noqa: E402
from idealnets.theory.deep_linear import DeepLinearTheory, mode_strength  # noqa: E402

D, N_MODES, T_END = 4, 32, 20.0


def time_integral_before(a, s, D):
    """The time integral as the module evaluated it before (complex logarithms of all D - 1 roots)."""
    c = s ** (1.0 / D)
    out = a ** (2.0 - D) / (2.0 - D)
    acc = -(c**2) * np.log(np.abs(a - c))
    for k in range(1, D):
        root = c * np.exp(2j * np.pi * k / D)
        acc = acc - np.real(root**2 * np.log(a - root + 0j))
    return (out + acc / (D * s)) / s


def bisection(t, s, u0, D, tau=1.0):
    """The inversion the module used before (64 halvings of [a0, c]), for s > 0, u0 > 0, for comparison."""
    t, s, u0 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, s, u0)))
    c, a0 = s ** (1.0 / D), u0 ** (1.0 / D)
    target = np.where(np.isinf(t), 0.0, t / tau)
    T0 = time_integral_before(a0, s, D)
    lo, hi = np.minimum(a0, c), np.maximum(a0, c)
    up = a0 < c
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore"):
            elapsed = time_integral_before(mid, s, D) - T0
        go_low = np.where(up, elapsed > target, ~(elapsed > target))
        hi = np.where(go_low, mid, hi)
        lo = np.where(go_low, lo, mid)
    a = 0.5 * (lo + hi)
    a = np.where(np.isinf(t) | (a0 == c), np.where(np.isinf(t), c, a0), a)
    return np.where(up, np.minimum(a**D, s), np.maximum(a**D, s))


def best(fn, repeat):
    b = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


def best_wall_cpu(fn, repeat):
    """The least wall and the least CPU (process) time of ``repeat`` calls of ``fn``, in seconds."""
    w = c = np.inf
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        w, c = min(w, time.perf_counter() - t0), min(c, time.process_time() - c0)
    return w, c


def theory_vs_simulation(rng, s, times, repeats=5, sim_repeats=2):
    """One analytic trajectory (``DeepLinearTheory.map`` at the finite ``times``, N_in = N_out = len(s),
    depth D, u0 = 1e-2) against simulating the network it predicts (one depth-D network of hidden
    width 32, full-batch GD at a tenth of the stable learning rate, to ``T_END``), best wall and CPU
    time of each. Returns a dict of the times (s) and settings."""
    N = s.size
    X = np.sqrt(N) * np.linalg.qr(rng.standard_normal((N, N)))[0]
    U, V = (np.linalg.qr(rng.standard_normal((N, N)))[0] for _ in range(2))
    Y = U @ np.diag(s) @ V.T @ X
    finite = times[np.isfinite(times)]
    # cold: a new theory object (SVD, the modes' part of the inversion) and its first map
    t_cold, c_cold = best_wall_cpu(lambda: DeepLinearTheory(X, Y, depth=D, u0=1e-2).map(finite), repeats)
    th = DeepLinearTheory(X, Y, depth=D, u0=1e-2)
    th.map(finite)  # warm-up
    t_th, c_th = best_wall_cpu(lambda: th.map(finite), repeats)
    lr = 0.1 * th.stable_lr()
    steps = int(np.ceil(T_END / lr))
    W0 = init_weights(X, Y, depth=D, width=32, n_networks=1, init="small", init_scale=0.3 / np.sqrt(32), seed=0)
    t_sim, c_sim = best_wall_cpu(lambda: train_from(W0, X, Y, lr=lr, steps=steps, record=100, desc="bench"),
                                 sim_repeats)
    return dict(theory_s=t_th, theory_cpu_s=c_th, theory_cold_s=t_cold, theory_cold_cpu_s=c_cold, simulation_s=t_sim,
                simulation_cpu_s=c_sim, steps=steps, lr=lr, n_times=finite.size)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    times = np.concatenate([[0.0], np.logspace(-2, np.log10(T_END), 98), [np.inf]])
    s = np.linspace(3.0, 0.3, N_MODES)
    u0 = 10 ** rng.uniform(-6, 0, N_MODES)
    t_bis = best(lambda: bisection(times[:, None], s, u0, D), 5)
    t_new = best(lambda: mode_strength(times[:, None], s, u0, D), 5)
    ub, un = bisection(times[:, None], s, u0, D), mode_strength(times[:, None], s, u0, D)
    rel = np.max(np.abs(un - ub) / ub)
    print(f"mode_strength, depth {D}, {N_MODES} modes x {times.size} times:")
    print(f"  bisection (before) {1e3 * t_bis:8.2f} ms   Newton (now) {1e3 * t_new:8.2f} ms   "
          f"speed-up {t_bis / t_new:5.1f} x   max |u_newton - u_bisection| / u = {rel:.1e}")
    for tt in (10.0, 1e6, 1e12):
        print(f"  one time t = {tt:g}: {1e6 * best(lambda: mode_strength(tt, s, u0, D), 5):8.1f} us")

    r = theory_vs_simulation(rng, s, times, repeats=5)
    print(f"one trajectory to t = {T_END:g} at {r['n_times']} times, N_in = N_out = {N_MODES}, depth {D}:")
    print(f"  theory (DeepLinearTheory.map) {1e3 * r['theory_s']:8.2f} ms   simulation ({r['steps']} GD steps, "
          f"width 32, lr = {r['lr']:.3g}) {1e3 * r['simulation_s']:8.1f} ms   theory is "
          f"{r['simulation_s'] / r['theory_s']:6.0f} x cheaper (CPU time: {1e3 * r['theory_cpu_s']:.2f} ms vs "
          f"{1e3 * r['simulation_cpu_s']:.1f} ms, {r['simulation_cpu_s'] / r['theory_cpu_s']:.0f} x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
