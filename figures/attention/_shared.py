"""Shared settings of the attention figures: the task of the peer implementation (D = 4,
eigenvalues of Lambda proportional to 1..4 with trace 1, N = 32 context examples)."""
from __future__ import annotations

import numpy as np

__all__ = ["LAMBDA", "N_CONTEXT", "SECTION", "crossing_down"]

#: Eigenvalues of the input covariance (descending), trace 1.
LAMBDA = np.array([4.0, 3.0, 2.0, 1.0]) / 10.0
N_CONTEXT = 32
SECTION = "Attention and in-context learning: training dynamics of linear attention (Zhang, Singh, Latham & Saxe 2025)"


def crossing_down(times, values, level):
    """First time each curve (networks on axis 0, time on axis 1) falls to ``level``."""
    from idealnets.theory.measures import crossing_time

    return crossing_time(times, np.asarray(values), level, direction="down", axis=-1)
