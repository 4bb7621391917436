"""Timings of the generalization theory and simulations (python benchmarks/generalization.py).

Reports wall times of: the N -> inf theory (200 times, optimal stopping, ridge), the exact
finite-N solution vs stepping gradient descent to the same time (same answer), and the
exact frozen-feature ReLU solution vs stepping it.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from idealnets.theory.generalization import LinearStudentTheory, finite_size_errors  # noqa: E402
from idealnets.simulate.generalization import sample_data, stable_lr, train_linear, train_relu  # noqa: E402


def _time(f, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    t = np.logspace(-2, 4, 200)
    th = LinearStudentTheory(0.8, sigma_eps=0.5)
    print(f"theory: test_error at 200 times        {1e3 * _time(lambda: th.test_error(t)):8.2f} ms")
    print(f"theory: optimal_stopping_time           {1e3 * _time(th.optimal_stopping_time):8.2f} ms")
    print(f"theory: ridge_test_error at 200 gammas  {1e3 * _time(lambda: th.ridge_test_error(t)):8.2f} ms")

    d = sample_data(300, 600, 4, seed=0)
    lr = 0.5 * stable_lr(d)
    steps = 2000
    X, y, wb, w0 = d.X.numpy(), d.y[..., 0].numpy(), d.w_teacher[..., 0].numpy(), d.w0[..., 0].numpy()
    t_gd = _time(lambda: train_linear(d, lr=lr, steps=steps, record=20), repeat=1)
    t_ex = _time(lambda: finite_size_errors(X, y, wb, w0, lr * np.arange(0, steps + 1, 100), 0.5, lr=lr))
    print(f"linear N=300, P=600, 4 data sets, {steps} GD steps: stepped {t_gd:6.2f} s, exact {t_ex:6.3f} s "
          f"(ratio {t_gd / t_ex:5.0f}x)")

    d = sample_data(50, 100, 4, seed=1)
    Ks = [20, 60, 100, 140, 300]
    kw = dict(train_first_layer=False, steps=5000, record=[5000], seed=0)
    t_step = _time(lambda: train_relu(d, Ks, exact=False, **kw), repeat=1)
    t_exact = _time(lambda: train_relu(d, Ks, exact=True, **kw), repeat=1)
    print(f"ReLU random features, 5 sizes x 4 data sets, 5000 steps: stepped {t_step:6.2f} s, exact {t_exact:6.3f} s "
          f"(ratio {t_step / t_exact:5.0f}x)")


if __name__ == "__main__":
    main()
