r"""Measures of sampled learning curves.

* :func:`crossing_time` -- the first time a sampled curve reaches a level (learning times of
  modes, plateau escapes, times to a target loss), linearly interpolated between samples.
"""
from __future__ import annotations

import numpy as np

from . import _core
from .validation import as_array, as_bool, as_choice, as_int, as_times

__all__ = ["crossing_time", "DIRECTIONS"]

#: ``"up"``: the level is reached where ``values >= level``; ``"down"``: where ``values <= level``.
DIRECTIONS = ("up", "down")
#: Curves or levels larger than this (in absolute value) are scaled by 1/16 before the interpolation,
#: whose differences ``values - level`` would otherwise overflow near the float range (the crossing
#: time does not depend on the scale; smaller values are untouched, bit for bit)
_SCALE_ABOVE = 2.0**1018


def crossing_time(times, values, level, *, direction: str = "up", axis: int = 0, log_times: bool = False,
                  log_values: bool = False, from_other_side: bool = False):
    r"""First time at which a sampled curve reaches ``level`` (linear interpolation between samples).

    Parameters
    ----------
    times : (T,) increasing, finite, non-negative sample times.
    values : the curves, with time on axis ``axis`` (length T) and any other axes (networks,
        modes, ...). NaN samples never count as reaching the level (and a NaN sample just
        before the crossing makes its time nan: the crossing cannot be placed).
    level : a float, or an array that broadcasts against ``values`` without its time axis
        (one level per curve).
    direction : ``"up"`` -- reached where ``values >= level`` (a rising curve, e.g. a mode
        strength); ``"down"`` -- where ``values <= level`` (a falling one, e.g. a loss).
    log_times : interpolate linearly in ``log t`` instead of ``t`` (curves sampled on a log grid).
    log_values : interpolate ``log values`` instead of ``values`` (exponential decays); needs
        ``level > 0``, and samples at or below 0 count as ``1e-300``.
    from_other_side : count only a crossing: the curve must first be strictly on the other side
        of the level (for ``"down"``, above it) before it reaches it. Without it a curve that
        starts at or past the level has crossing time ``times[0]``.

    Returns
    -------
    The crossing time of every curve, ``values``' shape without the time axis (a float for a
    single curve): between the last sample before and the first sample at or past the level,
    the point where the straight line between them meets the level; ``nan`` where the level is
    never reached within ``times``. Values anywhere in the float range are handled (near its
    ends the interpolation is done on the curves scaled by 1/16, which leaves the time unchanged).
    """
    t = as_times(times, "times", allow_inf=False, increasing=True)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array, got shape {t.shape}")
    v = as_array(values, "values", ndim=range(1, 64), allow_nan=True)
    axis = as_int(axis, "axis", low=-v.ndim, high=v.ndim - 1)
    if v.shape[axis] != t.size:
        raise ValueError(f"values has {v.shape[axis]} samples on axis {axis} but times has {t.size}")
    direction = as_choice(direction, "direction", DIRECTIONS)
    log_times = as_bool(log_times, "log_times")
    log_values = as_bool(log_values, "log_values")
    from_other_side = as_bool(from_other_side, "from_other_side")
    v = np.moveaxis(v, axis, 0)
    lev = as_array(level, "level", low=0.0 if log_values else None, open_low=log_values)
    try:
        np.broadcast_shapes(lev.shape, v.shape[1:])
    except ValueError:
        raise ValueError(f"level of shape {lev.shape} does not broadcast against the curves' shape "
                         f"{v.shape[1:]} (values without its time axis)") from None
    if not log_values:
        finite_v = v[np.isfinite(v)]
        top = max(float(np.max(np.abs(finite_v))) if finite_v.size else 0.0, float(np.max(np.abs(lev), initial=0.0)))
        if top > _SCALE_ABOVE:  # values - level, and differences of those, could overflow: scale by 2^-4 (exact)
            v, lev = v * 0.0625, lev * 0.0625
    out = _core.crossing_time(t, v, lev, up=direction == "up", log_times=log_times, log_values=log_values,
                              from_other_side=from_other_side)
    return float(out) if out.ndim == 0 else out
