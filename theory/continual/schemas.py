r"""Schemas: a new item that is consistent or inconsistent with what a network already knows.

The living-things environment of :func:`idealnets.theory.datasets.living_things` plus one new
item (McClelland, McNaughton & O'Reilly 1995; McClelland, McNaughton & Lampinen 2020), trained
with the curricula of :mod:`idealnets.theory.continual.curricula`; the time to learn the new item
(:func:`crossing_time` of its loss) and the part of its targets outside the span of the old ones
(:func:`out_of_span_fraction`).
"""
from __future__ import annotations

import numpy as np

from .. import _core
from .. import validation as _v
from ..datasets import living_things

__all__ = ["FEATURES_NEW_ITEM", "new_item_tasks", "crossing_time", "out_of_span_fraction"]


#: Feature lists of the new items, in the vocabulary of :func:`idealnets.theory.datasets.living_things`.
FEATURES_NEW_ITEM = {
    # schema-consistent: a generic bird (every property shared by robin and canary)
    "bird": ("ISA living thing", "ISA animal", "ISA bird", "is living", "can grow", "can move", "can fly",
             "has skin", "has wings", "has feathers"),
    # schema-inconsistent: a bird that swims and does not fly
    "penguin": ("ISA living thing", "ISA animal", "ISA bird", "is living", "can grow", "can move", "can swim",
                "has skin", "has wings", "has feathers"),
}


def new_item_tasks(kind: str) -> tuple[dict, list[str], list[str]]:
    r"""The living-things environment plus one new item (McClelland, McNaughton & O'Reilly 1995;
    McClelland, McNaughton & Lampinen 2020): inputs one-hot over 9 items (the 8 old ones and the new
    one), outputs the 8 items' features (:func:`idealnets.theory.datasets.living_things`).

    Returns ``(tasks, items, features)`` with tasks ``"old"`` (the 8 old items), ``"new"`` (the new
    item alone: ``Sxx = e_9 e_9^T``, no closed form, integrated) and ``"all"`` (the 9 items together:
    ``Sxx = I/9``, isotropic, closed form). ``kind`` is ``"bird"`` (schema-consistent) or
    ``"penguin"`` (inconsistent: can swim, cannot fly).
    """
    kind = _v.as_choice(kind, "kind", tuple(FEATURES_NEW_ITEM))
    items, features, Y = living_things()
    y_new = np.array([1.0 if f in FEATURES_NEW_ITEM[kind] else 0.0 for f in features])
    X = np.eye(9)
    Y_all = np.hstack([Y, y_new[:, None]])
    tasks = {"old": (X[:, :8], Y), "new": (X[:, 8:], y_new[:, None]), "all": (X, Y_all)}
    return tasks, items + [kind], features


def crossing_time(t, L, level: float) -> float:
    r"""First time at which the sampled curve ``L(t)`` falls to ``level`` (linear interpolation in
    ``log L`` between samples; ``t`` increasing). ``np.inf`` if it never does within ``t``.
    :func:`idealnets.theory.measures.crossing_time` with ``direction="down"``, ``log_values=True``
    (which returns nan, not inf, for a curve that never gets there)."""
    t = _v.as_times(t, "t", allow_inf=False, increasing=True)
    L = _v.as_array(L, "L", shape=t.shape)
    level = _v.as_float(level, "level", low=0.0, open_low=True)
    if t.ndim != 1:
        raise ValueError(f"t must be 1-D, got shape {t.shape}")
    out = float(_core.crossing_time(t, L, level, up=False, log_values=True))
    return float("inf") if np.isnan(out) else out


def out_of_span_fraction(Y, y) -> float:
    r"""``||(I - P_Y) y||^2 / ||y||^2``: the part of a new item's targets ``y`` (N_out,) outside the span of
    the old items' targets ``Y`` (N_out, P). 0 means the new item is a combination of the existing output
    modes (schema-consistent in the linear sense); what lies outside needs a new mode, learned from scratch."""
    Y = _v.as_array(Y, "Y", ndim=2)
    y = _v.as_array(y, "y", ndim=1, shape=(Y.shape[0],))
    coef = np.linalg.lstsq(Y, y, rcond=None)[0]
    r = y - Y @ coef
    return float(r @ r / (y @ y)) if y @ y > 0 else 0.0
