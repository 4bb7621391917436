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
from scipy.integrate import solve_ivp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from theory.lambda_balanced import TwoLayerExact, free_scale, lambda_balanced_init, whitened_task  # noqa: E402


def _ode_maps(W1, W2, X, Y, t):
    Syx = Y @ X.T / X.shape[1]
    h, n_in = W1.shape
    n_out = W2.shape[0]

    def rhs(_, z):
        a, b = z[: h * n_in].reshape(h, n_in), z[h * n_in:].reshape(n_out, h)
        E = Syx - b @ a
        return np.concatenate([(b.T @ E).ravel(), (E @ a.T).ravel()])

    sol = solve_ivp(rhs, (0, t[-1]), np.concatenate([W1.ravel(), W2.ravel()]), t_eval=t, method="DOP853",
                    rtol=1e-12, atol=1e-14)
    a = sol.y[: h * n_in].T.reshape(-1, h, n_in)
    b = sol.y[h * n_in:].T.reshape(-1, n_out, h)
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
