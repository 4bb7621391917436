"""Shared pieces of the learning-from-reward figures: the Markov chain of the TD figure and the
RL perceptron's initial student."""
from __future__ import annotations

import numpy as np

from idealnets.theory.reward import TDLinear

__all__ = ["SECTION", "random_chain", "student_at_chance"]

SECTION = "Learning from reward: TD learning and the RL perceptron (Sutton 1988; Patel et al. 2025)"


def random_chain(seed: int = 0, n_states: int = 7, d: int = 3, gamma: float = 0.9) -> TDLinear:
    """A random ergodic chain (rows ``u^3`` normalised, so transitions are uneven) with Gaussian
    features and rewards; ``D`` its stationary distribution."""
    rng = np.random.default_rng(seed)
    P = rng.random((n_states, n_states)) ** 3
    P /= P.sum(1, keepdims=True)
    return TDLinear(rng.standard_normal((n_states, d)), P, rng.standard_normal(n_states), gamma)


def student_at_chance(E: int, N: int, rng: np.random.Generator):
    """A teacher ``w*`` (N,) and ``E`` students with ``R = 0``, ``Q = 1`` exactly (orthogonal to ``w*``)."""
    ws = rng.standard_normal(N)
    W0 = rng.standard_normal((E, N))
    W0 -= np.outer(W0 @ ws / (ws @ ws), ws)
    W0 *= np.sqrt(N) / np.linalg.norm(W0, axis=1, keepdims=True)
    return W0, ws
