"""Cost of the closed forms at large times (issue 16): t = 10 vs 1e6 vs 1e12 must cost the same.

Run from the repository root: ``python benchmarks/large_t.py``. Prints, for each closed
form, the best-of-3 wall time of one evaluation at a single time ``t``; a call that
does not finish within ``--limit`` seconds is reported as such (run in a child process).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def cases():
    from idealnets.theory import deep_linear as dl, generalization as ge, lambda_balanced as lb, ntk as nt, semantic as se

    rng = np.random.default_rng(0)
    X = np.sqrt(8.0) * np.linalg.qr(rng.standard_normal((8, 8)))[0]
    Y = rng.standard_normal((6, 8))
    th4 = dl.DeepLinearTheory(X, Y, depth=4, u0=1e-3)
    Xw, Yw = lb.whitened_task(6, 4, [2.0, 1.0, 0.5, 0.2], seed=0)
    W1, W2 = lb.lambda_balanced_init(6, 4, 4, 0.3, 0.2, seed=0)
    ex = lb.TwoLayerExact(W1, W2, Xw, Yw)
    lst = ge.LinearStudentTheory(2.0)
    dst = ge.DeepLinearStudentTheory(2.0, depth=3)
    x = rng.standard_normal((3, 20))
    k = nt.kernels(x, depth=2)
    gd = nt.gradient_descent_mse(k.ntk, rng.standard_normal((1, 20)), lr=0.5 * nt.stable_lr(k.ntk))
    sem = se.SemanticTheory(rng.standard_normal((10, 8)), depth=3)
    return {
        "DeepLinearTheory(D=4).map": th4.map,
        "TwoLayerExact.map": ex.map,
        "LinearStudentTheory.test_error": lst.test_error,
        "DeepLinearStudentTheory(D=3).test_error": dst.test_error,
        "gradient_descent_mse(lr>0)": lambda t: gd(np.round(t / gd.lr) * gd.lr),
        "SemanticTheory(D=3).similarity": sem.similarity,
    }


def _time(name, t, conn):
    fn = cases()[name]
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        fn(t)
        best = min(best, time.perf_counter() - t0)
    conn.send(best)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--limit", type=float, default=60.0)
    a = p.parse_args(argv)
    ctx = mp.get_context("fork")
    names = list(cases())
    print(f"{'closed form':42s} " + " ".join(f"{'t=' + f'{t:g}':>12s}" for t in (10.0, 1e6, 1e12)))
    for name in names:
        row = []
        for t in (10.0, 1e6, 1e12):
            r, w = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_time, args=(name, t, w))
            proc.start()
            row.append(f"{1e3 * r.recv():10.2f}ms" if r.poll(a.limit) else f">{a.limit:g}s".rjust(12))
            proc.kill()
            proc.join()
        print(f"{name:42s} " + " ".join(f"{v:>12s}" for v in row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
