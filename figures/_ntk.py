"""Shared task for the NTK figures: a small regression problem on the unit circle.

P training angles theta_mu (fixed random draw), inputs x = (cos theta, sin theta)
(N_in = 2, so the NTK is a function of the angle between inputs and the bias),
target y = sin(2 theta) + cos(3 theta)/2; test inputs a dense grid of angles.
Architecture: one hidden ReLU layer, NTK parameterisation with W_std = 1, b_std = 0.5.
"""
from __future__ import annotations

import numpy as np

P = 12
DEPTH = 1
ACTIVATION = "relu"
W_STD, B_STD = 1.0, 0.5
ARCH = dict(depth=DEPTH, activation=ACTIVATION, W_std=W_STD, b_std=B_STD)


def target(theta):
    return np.sin(2 * theta) + 0.5 * np.cos(3 * theta)


def circle(theta) -> np.ndarray:
    """(2, P) inputs on the unit circle."""
    return np.stack([np.cos(theta), np.sin(theta)])


def task(n_test: int = 60, data_seed: int = 3):
    """(x_train (2, P), y_train (1, P), x_test (2, n_test), theta_train, theta_test)."""
    th = np.sort(np.random.default_rng(data_seed).uniform(0, 2 * np.pi, P))
    tht = np.linspace(0, 2 * np.pi, n_test)
    return circle(th), target(th)[None, :], circle(tht), th, tht
