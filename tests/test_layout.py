"""The layout is the architecture: theory never imports torch, simulate never imports matplotlib."""
from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "package, forbidden",
    [("theory", "torch"), ("simulate", "matplotlib")],
)
def test_package_does_not_import(package, forbidden):
    code = (
        f"import sys, pkgutil, importlib, {package}\n"
        f"for m in pkgutil.iter_modules({package}.__path__):\n"
        f"    importlib.import_module('{package}.' + m.name)\n"
        f"sys.exit(int('{forbidden}' in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, f"importing {package} pulled in {forbidden}\n{r.stderr}"


@pytest.mark.parametrize("package", ["theory", "simulate", "figures"])
def test_public_api_is_exported(package):
    mod = __import__(package)
    names = getattr(mod, "__all__", None)
    assert names, f"{package}/__init__.py must declare __all__"
    assert not [n for n in names if not hasattr(mod, n)]
