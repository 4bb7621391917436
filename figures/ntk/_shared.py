"""Shared task and helpers for the NTK figures: a small regression problem on the unit circle.

P equally spaced training angles theta_mu (offset 0.3, so the NTK is well conditioned),
inputs x = (cos theta, sin theta) (N_in = 2), target y = sin(2 theta) + cos(theta)/2;
test inputs a dense grid of angles. Architecture: one hidden layer, NTK
parameterisation with W_std = 1, b_std = 0.5 (ReLU unless stated).
"""
from __future__ import annotations

import numpy as np

P = 10
W_STD, B_STD = 1.0, 0.5
ARCH = dict(depth=1, activation="relu", W_std=W_STD, b_std=B_STD)
PURPLE_LIGHT, PURPLE_DARK, RED = "#b39ddb", "#4a148c", "#d62728"


def target(theta):
    # frequencies 1 and 2 live in the fast NTK modes (lambda = 1.76, 0.29); a cos(3 theta) part sits in
    # the slow lambda = 0.058 modes, where ReLU's kernel drift during training keeps the ensemble
    # ~0.03 off the theory up to width 4096 (see the paper section)
    return np.sin(2 * theta) + 0.5 * np.cos(theta)


def circle(theta) -> np.ndarray:
    """(2, P) inputs on the unit circle."""
    return np.stack([np.cos(theta), np.sin(theta)])


def task(n_test: int = 61):
    """(x_train (2, P), y_train (1, P), x_test (2, n_test), theta_train, theta_test)."""
    th = np.linspace(0, 2 * np.pi, P, endpoint=False) + 0.3
    tht = np.linspace(0, 2 * np.pi, n_test)
    return circle(th), target(th)[None, :], circle(tht), th, tht


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def guide(ax, x, y0, slope, label, **kw):
    """A dotted power-law guide through (x[0], y0)."""
    x = np.asarray(x, float)
    ax.plot(x, y0 * (x / x[0]) ** slope, ":", color="0.45", lw=1.2, label=label, **kw)
