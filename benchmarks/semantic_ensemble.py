"""Batched vs one-at-a-time training of the semantic ensembles (living things, ReLU, 32 hidden units).

Prints the wall time of one batched call training E networks and of E separate
calls, and their ratio. Run: ``python benchmarks/semantic_ensemble.py [--device cuda]``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from idealnets.simulate.semantic import train_mlp
from idealnets.theory.datasets import one_hot
from idealnets.theory.semantic import living_things


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default=None)
    p.add_argument("--E", type=int, default=64)
    p.add_argument("--steps", type=int, default=1000)
    a = p.parse_args()
    _, _, Y = living_things()
    X = one_hot(8)
    kw = dict(hidden=32, activation="relu", init_scale=0.008, lr=0.05, steps=a.steps, record=20, device=a.device)
    t0 = time.perf_counter()
    train_mlp(X, Y, n_networks=a.E, seed=0, **kw)
    t_batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    for e in range(a.E):
        train_mlp(X, Y, n_networks=1, seed=e, **kw)
    t_loop = time.perf_counter() - t0
    print(f"semantic ensemble, E={a.E}, {a.steps} steps, threads={torch.get_num_threads()}: "
          f"batched {t_batch:.2f}s, one-at-a-time {t_loop:.2f}s, speed-up {t_loop / t_batch:.1f}x")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
