"""Shared set-up for the semantic-development figures (living things, one-hot items).

The trained ensembles are cached per process, so ``python -m idealnets.figures all``
trains each configuration once for all the figures that show it.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from idealnets.simulate.deep_linear import train
from idealnets.simulate.semantic import train_mlp
from idealnets.theory.datasets import one_hot
from idealnets.theory.semantic import SemanticTheory, effective_u0, living_things

NH = 64  # hidden units (finite-width shift of the half-times ~2%; ~4% at 32)
U0 = 1e-3  # effective initial mode strength of the small random init
INIT_SCALE = float(np.sqrt(2 * U0 / NH))  # effective_u0(INIT_SCALE, NH) == U0
T_END = 60.0  # gradient-flow time (all eight living-things modes are half learned by t ~ 30)

ITEM_COLORS = ["#1b7837", "#5aae61", "#c51b7d", "#de77ae", "#b2182b", "#f4a582", "#2166ac", "#92c5de"]


def sizes(quick: bool) -> dict:
    """Ensemble size, learning rate and recording points (quick: smoke-test size)."""
    if quick:
        return {"E": 6, "lr": 0.05, "record": 40}
    return {"E": 32, "lr": 0.01, "record": 120}


def lt_theory(depth: int = 2) -> SemanticTheory:
    items, feats, Y = living_things()
    u0 = effective_u0(INIT_SCALE, NH) if depth == 2 else U0
    return SemanticTheory(Y, depth=depth, u0=u0, items=items, features=feats)


@lru_cache(maxsize=8)
def linear_run(depth: int, quick: bool, seed: int, device=None):
    """Living things, depth-D linear ensemble from small random weights (shallow: D = 1)."""
    _, _, Y = living_things()
    z = sizes(quick)
    lr = z["lr"] if depth > 1 else 0.5
    return train(one_hot(8), Y, depth, NH, z["E"], "small", INIT_SCALE, lr, int(round(T_END / lr)),
                 record=z["record"], device=device, seed=seed, return_weights=depth > 1,
                 desc=f"living things D={depth}")


@lru_cache(maxsize=8)
def mlp_run(activation: str, hidden: tuple, quick: bool, seed: int, init_scale: float, device=None):
    _, _, Y = living_things()
    z = sizes(quick)
    return train_mlp(one_hot(8), Y, hidden=list(hidden), activation=activation, n_networks=z["E"],
                     init_scale=init_scale, lr=z["lr"], steps=int(round(T_END / z["lr"])), record=z["record"],
                     device=device, seed=seed, desc=f"living things {activation} {list(hidden)}")
