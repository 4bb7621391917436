"""Private helpers shared by the generalization figures (no theory or training here)."""
from __future__ import annotations

import numpy as np

SIGMA_W = 1.0


def sigma_eps_for_snr(snr: float) -> float:
    """``SNR = sigma_w^2 / sigma_eps^2``."""
    return SIGMA_W / np.sqrt(snr)


def log_argmin(times: np.ndarray, values: np.ndarray) -> float:
    """Argmin of a sampled curve, refined by a parabola through the three points around it in log t."""
    i = int(np.argmin(values))
    if i == 0 or i == len(values) - 1:
        return float(times[i])
    x = np.log(times[i - 1:i + 2])
    y = values[i - 1:i + 2]
    den = (x[0] - x[1]) * (x[0] - x[2]) * (x[1] - x[2])
    A = (x[2] * (y[1] - y[0]) + x[1] * (y[0] - y[2]) + x[0] * (y[2] - y[1])) / den
    B = (x[2] ** 2 * (y[0] - y[1]) + x[1] ** 2 * (y[2] - y[0]) + x[0] ** 2 * (y[1] - y[2])) / den
    if A <= 0:
        return float(times[i])
    return float(np.exp(np.clip(-B / (2 * A), x[0], x[2])))
