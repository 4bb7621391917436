"""Figures: theory (lines) against trained ensembles (markers).

Each figure is one module exposing ``NAME``, ``TITLE`` and
``make(*, quick=False, device=None, out=DEFAULT_OUT, seed=0) -> dict``, in a topic
subpackage (``figures/deep_linear/``, ``figures/committee/``, ...; private helpers shared
by a topic's figures in its ``_shared.py``, those shared by all in ``_common.py``).
Run them with ``python -m idealnets.figures NAME ... | all [--quick] [--device ...]``;
the phase diagrams also on a Dask cluster with ``python -m idealnets.figures.phase``.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from ._common import DEFAULT_OUT

__all__ = ["DEFAULT_OUT", "available", "get", "make"]


def _modules() -> list[tuple[str, str]]:
    """``(leaf name, full name)`` of every public module of this package and of its public
    subpackages (one level: the topics)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        if not info.ispkg:
            found.append((info.name, f"{__name__}.{info.name}"))
            continue
        topic = importlib.import_module(f"{__name__}.{info.name}")
        found += [(sub.name, f"{topic.__name__}.{sub.name}") for sub in pkgutil.iter_modules(topic.__path__)
                  if not sub.name.startswith("_") and not sub.ispkg]
    return sorted(found)


def available() -> dict[str, ModuleType]:
    """Every figure module, by name, in a stable order (alphabetical by module name, whatever its topic)."""
    figs: dict[str, ModuleType] = {}
    for _, full in _modules():
        mod = importlib.import_module(full)
        if hasattr(mod, "make") and hasattr(mod, "NAME"):
            if mod.NAME in figs:
                raise RuntimeError(f"two figure modules are named {mod.NAME!r}: "
                                   f"{figs[mod.NAME].__name__} and {mod.__name__}")
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
