"""Closed-form lambda-balanced trajectory vs numerical integration of the weight ODE.

Times ``TwoLayerExact`` (construction + map at 200 times) against ``solve_ivp``
(DOP853, rtol 1e-12: the accuracy the closed form reaches) of the full weight ODE on the
same grid, and reports the ratio
and their agreement. Run: ``python benchmarks/lambda_balanced.py``.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from idealnets.theory.deep_linear import integrate_gradient_flow  # noqa: E402
from idealnets.theory.lambda_balanced import TwoLayerExact, free_scale, lambda_balanced_init, whitened_task  # noqa: E402


def _ode_maps(W1, W2, X, Y, t):
    P = X.shape[1]
    a, b = integrate_gradient_flow([W1, W2], X @ X.T / P, Y @ X.T / P, t, rtol=1e-12, atol=1e-14)
    return b @ a


def main() -> None:
    t = np.linspace(0, 20, 200)
    print(f"{'N_in-N_h-N_out':>16} {'lambda':>7} {'closed form':>12} {'solve_ivp':>10} {'speed-up':>9} {'max rel dev':>12}")
    for (n_in, h, n_out) in [(6, 4, 4), (24, 12, 16), (64, 32, 48)]:
        X, Y = whitened_task(n_in, n_out, np.geomspace(4, 0.5, min(n_in, n_out) // 2), seed=0)
        for lam in (0.0, 1.0):
            W1, W2 = lambda_balanced_init(n_in, h, n_out, lam, free_scale(lam, 0.05), seed=1)
            t0 = time.perf_counter()
            M = TwoLayerExact(W1, W2, X, Y).map(t)
            t_cf = time.perf_counter() - t0
            t0 = time.perf_counter()
            M_ode = _ode_maps(W1, W2, X, Y, t)
            t_ode = time.perf_counter() - t0
            dev = np.max(np.abs(M - M_ode)) / np.max(np.abs(M_ode))
            print(f"{f'{n_in}-{h}-{n_out}':>16} {lam:7.2g} {t_cf * 1e3:10.1f}ms {t_ode * 1e3:8.1f}ms "
                  f"{t_ode / t_cf:8.1f}x {dev:12.2e}")


if __name__ == "__main__":
    main()
