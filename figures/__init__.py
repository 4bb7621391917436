"""Figures: theory (lines) against trained ensembles (markers).

Each figure is one module of this package exposing ``NAME``, ``TITLE`` and
``make(*, quick=False, device=None, out=DEFAULT_OUT, seed=0) -> dict``.
Run them with ``python -m idealnets.figures NAME ... | all [--quick] [--device ...]``.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from ._common import DEFAULT_OUT

__all__ = ["DEFAULT_OUT", "available", "get", "make"]


def available() -> dict[str, ModuleType]:
    """Every figure module, by name, in a stable order."""
    figs: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "make") and hasattr(mod, "NAME"):
            figs[mod.NAME] = mod
    return figs


def get(name: str) -> ModuleType:
    figs = available()
    if name not in figs:
        raise KeyError(f"unknown figure {name!r}; available: {', '.join(figs)}")
    return figs[name]


def make(name: str, **kw) -> dict:
    """Build one figure; see the module's ``make`` for the keywords."""
    return get(name).make(**kw)
