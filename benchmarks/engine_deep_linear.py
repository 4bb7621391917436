"""Benchmark: the deep-linear ensemble trainer before and after it moved onto the one training engine.

Run from the repository root: ``python benchmarks/engine_deep_linear.py [--device cpu|cuda] [--steps S]``.
Both trainers run in this one process, alternating (old, new, old, new, ...), best of ``--repeat``:
the pre-engine ``simulate/deep_linear.py`` loaded from git (``benchmarks/_baseline.py``) and
today's ``idealnets.simulate.deep_linear`` (the ``DeepLinearGD`` model run by ``simulate.engine.run``).
Times are the CPU time of the process (one torch thread), steadier than wall time on a shared
machine. Printed: network-steps per second for each and the ratio new / old (>= 1 means the engine is not
slower), and whether the two give bit-identical losses and maps.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import _baseline  # noqa: E402
from idealnets.simulate import deep_linear as new  # noqa: E402

CASES = [  # (label, N, depth, width, n_networks, whitened)
    ("E=64 D=4 w=32 N=8, whitened", 8, 4, 32, 64, True),
    ("E=64 D=2 w=16 N=8, correlated", 8, 2, 16, 64, False),
    ("E=1  D=3 w=8  N=6, whitened", 6, 3, 8, 1, True),
]


def task(N, whitened, seed=0):
    rng = np.random.default_rng(seed)
    X = np.sqrt(N) * np.linalg.qr(rng.standard_normal((N, N)))[0] if whitened else rng.standard_normal((N, 3 * N))
    Y = rng.standard_normal((N, N)) @ X / N
    return X, Y


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    old = _baseline.load("simulate/deep_linear.py")
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, device {args.device}, 1 thread, {args.steps} steps, best of {args.repeat}")
    print(f"{'case':34s} {'old net-steps/s':>16s} {'new net-steps/s':>16s} {'new/old':>8s}  identical")
    for label, N, D, w, E, white in CASES:
        X, Y = task(N, white)
        W0 = new.init_weights(X, Y, depth=D, width=w, n_networks=E, init="small", init_scale=0.05,
                              device=args.device)
        lr = 0.1 * new.stable_lr(X, Y, D)
        best = {"old": np.inf, "new": np.inf}
        runs = {}
        for _ in range(args.repeat):
            for tag, mod in (("old", old), ("new", new)):
                t0 = time.process_time()
                runs[tag] = mod.train_from(W0, X, Y, lr=lr, steps=args.steps, record=20)
                best[tag] = min(best[tag], time.process_time() - t0)
        same = (np.array_equal(runs["old"].losses, runs["new"].losses)
                and np.array_equal(runs["old"].maps, runs["new"].maps))
        rate = {k: E * args.steps / v for k, v in best.items()}
        print(f"{label:34s} {rate['old']:16.4g} {rate['new']:16.4g} {rate['new'] / rate['old']:8.3f}  {same}")


if __name__ == "__main__":
    main()
