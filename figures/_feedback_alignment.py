"""Shared pieces of the feedback-alignment and perturbation figures."""
from __future__ import annotations

import numpy as np

__all__ = ["log_band"]


def log_band(ax, x, samples, *, color, axis=0, alpha=0.18):
    """Spread over the ensemble on a log axis: the band ``10^(mean log10 +- sd log10)``
    (a +-sd band of a positive quantity spanning decades would dip below zero)."""
    lg = np.log10(np.maximum(np.asarray(samples, dtype=float), 1e-300))
    m, sd = lg.mean(axis=axis), lg.std(axis=axis)
    return ax.fill_between(x, 10 ** (m - sd), 10 ** (m + sd), color=color, alpha=alpha, lw=0, zorder=1)
