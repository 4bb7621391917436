"""idealnets: exact learning dynamics of idealized neural networks, checked against trained ensembles.

One import name for the whole package::

    import idealnets
    idealnets.theory      # closed forms and ODE solvers (NumPy/SciPy/SymPy; never torch)
    idealnets.simulate    # batched PyTorch ensembles on one training engine
    idealnets.figures     # the gallery (python -m idealnets.figures NAME|all)
    idealnets.sweeps      # parameter sweeps and phase diagrams on Dask

The subpackages are loaded on first use, so ``import idealnets.theory`` never
pulls in torch and ``import idealnets`` stays cheap.
"""
from __future__ import annotations

import importlib
import os as _os

__version__ = "0.2.0"

# In the repository the subpackages sit beside this folder (theory/, simulate/,
# figures/, sweeps/ at the top level, as the design puts them); an installed
# wheel has them inside it. Without installing, extend the package path to the
# repository root so ``python -c "import idealnets.theory"`` works from there.
_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "theory")) and _os.path.isfile(
        _os.path.join(_root, "theory", "__init__.py")):
    __path__.append(_root)  # noqa: F821 (the package's own __path__)

_SUBPACKAGES = ("theory", "simulate", "figures", "sweeps")

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'idealnets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBPACKAGES))
