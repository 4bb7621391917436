"""idealnets: exact learning dynamics of idealized neural networks, checked against trained ensembles.

One import name for the whole package::

    import idealnets
    idealnets.theory      # closed forms and ODE solvers (NumPy/SciPy/SymPy; never torch)
    idealnets.simulate    # batched PyTorch ensembles on one training engine
    idealnets.figures     # the gallery (python -m idealnets.figures NAME|all)
    idealnets.sweeps      # parameter sweeps and phase diagrams on Dask
    idealnets.explore     # the live explorer (python -m idealnets.explore; needs bokeh)

The subpackages are loaded on first use, so ``import idealnets.theory`` never
pulls in torch and ``import idealnets`` stays cheap.
"""
from __future__ import annotations

import importlib
import os as _os

__version__ = "0.2.0"

_SUBPACKAGES = ("theory", "simulate", "figures", "sweeps", "explore")

# In the repository the subpackages sit beside this folder (theory/, simulate/,
# figures/, sweeps/, explore/ at the top level, as the design puts them); an installed
# wheel has them inside it. Without installing (from the repository root), a
# finder maps exactly those names to their folders, so that
# ``python -c "import idealnets.theory"`` works there and nothing else of the
# repository (tests/, docs/, ...) becomes part of the package.
_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)


class _RepositoryFinder:
    """Finds ``idealnets.<subpackage>`` in the repository's top-level folders (uninstalled use)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        import importlib.util

        head, _, sub = name.partition(".")
        if head != __name__ or sub not in _SUBPACKAGES:
            return None
        init = _os.path.join(_root, sub, "__init__.py")
        if not _os.path.isfile(init):
            return None
        return importlib.util.spec_from_file_location(name, init,
                                                      submodule_search_locations=[_os.path.join(_root, sub)])


if not _os.path.isdir(_os.path.join(_here, "theory")) and _os.path.isfile(
        _os.path.join(_root, "theory", "__init__.py")):
    import sys as _sys

    if not any(isinstance(f, type) and f.__name__ == "_RepositoryFinder" for f in _sys.meta_path):
        _sys.meta_path.append(_RepositoryFinder)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'idealnets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBPACKAGES))
