"""Shared pieces of the feedback-alignment and perturbation figures."""
from __future__ import annotations

import numpy as np

__all__ = ["log_band"]


def log_band(ax, x, samples, *, color, axis=0, alpha=0.18, floor: float = 0.0):
    """Spread over the ensemble on a log axis: the band ``10^(mean log10 +- sd log10)``
    (a +-sd band of a positive quantity spanning decades would dip below zero); not drawn
    where the geometric mean is below ``floor`` (under the plotted range)."""
    lg = np.log10(np.maximum(np.asarray(samples, dtype=float), 1e-300))
    m, sd = lg.mean(axis=axis), lg.std(axis=axis)
    ok = 10**m >= floor
    return ax.fill_between(np.asarray(x)[ok], 10 ** (m - sd)[ok], 10 ** (m + sd)[ok], color=color, alpha=alpha,
                           lw=0, zorder=1)
