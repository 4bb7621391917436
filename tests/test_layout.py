"""The layout is the architecture.

* Layers: ``idealnets.theory`` < ``idealnets.simulate`` < ``idealnets.sweeps`` < ``idealnets.figures``.
  Beside them, ``idealnets.explore`` (the live explorer) may import theory and simulate, never sweeps
  or figures, and no layer imports it. The static import graph of every module (``import``, ``from ... import`` with relative imports
  resolved, and string literals passed to ``importlib.import_module``) has no cycle, and no import
  goes from a lower layer to a higher one. Theory never imports torch; simulate never imports matplotlib.
* No module imports a private (underscore-prefixed) name from outside the package that owns it:
  ``from x import _y`` is refused, a private module used within its own package is fine.
* One import name: the wheel installs exactly one top-level package, ``idealnets``, holding every module.
* The repository works without being installed: from its root, ``import idealnets.theory`` and
  ``python -m idealnets.figures --list``.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: lowest first; a module may import its own layer and the layers below it
LAYERS = ("theory", "simulate", "sweeps", "figures")
#: folders beside the layers: each may import itself and only the layers listed; no layer imports it
SIDE = {"explore": ("theory", "simulate")}
#: the folders that make up the package (``idealnets/`` is its root, the others its subpackages)
SOURCES = ("idealnets", *LAYERS, *SIDE)
#: not part of the package's source (figure output, build trees)
SKIP_DIRS = {"__pycache__", "out", "build", "dist"}


# ---------------------------------------------------------------------------------------- the existing checks


@pytest.mark.parametrize("package, forbidden", [("theory", "torch"), ("simulate", "matplotlib")])
def test_package_does_not_import(package, forbidden):
    code = (
        f"import sys, pkgutil, importlib, idealnets.{package} as p\n"
        f"for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.'):\n"
        f"    importlib.import_module(m.name)\n"
        f"sys.exit(int('{forbidden}' in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, f"importing idealnets.{package} pulled in {forbidden}\n{r.stderr}"


@pytest.mark.parametrize("package", ["theory", "simulate", "figures"])
def test_public_api_is_exported(package):
    mod = importlib.import_module(f"idealnets.{package}")
    names = getattr(mod, "__all__", None)
    assert names, f"{package}/__init__.py must declare __all__"
    assert not [n for n in names if not hasattr(mod, n)]


# ---------------------------------------------------------------------------------------- the static import graph


def _module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package in the repository."""
    mods: dict[str, Path] = {}
    for top in SOURCES:
        base = ROOT / top
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base)
            if SKIP_DIRS.intersection(rel.parts[:-1]):
                continue
            parts = [] if top == "idealnets" else [top]
            parts += list(rel.parts[:-1])
            if rel.name != "__init__.py":
                parts.append(rel.stem)
            mods[".".join(["idealnets", *parts])] = path
    return mods


MODULES = _module_files()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(importer: str, module: str | None, level: int) -> str:
    """The absolute name of ``from <level dots><module> import ...`` in ``importer``."""
    if level == 0:
        return module or ""
    pkg = importer if _is_package(importer) else importer.rpartition(".")[0]
    for _ in range(level - 1):
        pkg = pkg.rpartition(".")[0]
    return f"{pkg}.{module}" if module else pkg


def _imports(name: str) -> list[tuple[int, str, str]]:
    """``(line, imported module or module.attribute, importing statement)`` for every import in module ``name``."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"), filename=str(MODULES[name]))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, f"import {a.name}") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, node.module, node.level)
            src = f"from {'.' * node.level}{node.module or ''} import "
            out += [(node.lineno, base if a.name == "*" else f"{base}.{a.name}", src + a.name) for a in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            f = node.func
            called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if called != "import_module":
                continue
            target = node.args[0].value
            package = node.args[1] if len(node.args) > 1 else next(
                (kw.value for kw in node.keywords if kw.arg == "package"), None)
            if target.startswith("."):  # relative: resolvable when the anchor is a literal or __package__
                if isinstance(package, ast.Constant) and isinstance(package.value, str):
                    target = importlib.util.resolve_name(target, package.value)
                elif isinstance(package, ast.Name) and package.id == "__package__":
                    pkg = name if _is_package(name) else name.rpartition(".")[0]
                    target = importlib.util.resolve_name(target, pkg)
                else:
                    continue
            out.append((node.lineno, target, f"importlib.import_module({node.args[0].value!r})"))
    return out


def _target_module(dotted: str) -> str | None:
    """The package module that ``dotted`` (a module, or module.attribute) loads; None if outside the package."""
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def _graph() -> dict[str, dict[str, list[str]]]:
    """importer -> {imported module: [where, ...]} over the package's modules."""
    g: dict[str, dict[str, list[str]]] = {m: {} for m in MODULES}
    for m in MODULES:
        for line, target, stmt in _imports(m):
            t = _target_module(target)
            if t is not None and t != m:
                g[m].setdefault(t, []).append(f"{MODULES[m].relative_to(ROOT)}:{line}: {stmt}")
    return g


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else -1  # the root: below all


def _side(module: str) -> str | None:
    """The side folder (:data:`SIDE`) holding ``module``, or None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SIDE else None


def _cycles(g: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(g) + 100))
    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_every_layer():
    """The parser itself: it finds the modules of every layer, relative and absolute imports, and the edges
    the layout rests on (figures -> sweeps -> simulate -> theory)."""
    assert {_layer(m) for m in MODULES if _side(m) is None} == {-1, *range(len(LAYERS))}
    assert {_side(m) for m in MODULES} == {None, *SIDE}
    g = _graph()
    assert "idealnets.figures._common" in g["idealnets.figures.deep_linear.deep_linear_loss"]  # from .._common
    assert "idealnets.sweeps.phase" in g["idealnets.figures.phase.phase_linear"]  # absolute
    assert "idealnets.figures.semantic._shared" in g["idealnets.figures.semantic.semantic_svd"]  # from . import _x
    assert any(_layer(t) == 0 for t in g["idealnets.sweeps.phase"])


def test_no_import_cycle():
    g = _graph()
    msgs = []
    for comp in _cycles(g):
        members = set(comp)
        edges = [w for m in comp for t, where in g[m].items() if t in members for w in where]
        msgs.append(" <-> ".join(comp) + "\n    " + "\n    ".join(edges))
    assert not msgs, "import cycles:\n" + "\n".join(msgs)


def test_no_import_from_a_lower_layer_to_a_higher_one():
    g = _graph()
    bad = [f"{w}  ({LAYERS[_layer(m)] if _layer(m) >= 0 else 'idealnets'} -> {LAYERS[_layer(t)]})"
           for m, targets in g.items() if _side(m) is None
           for t, where in targets.items() if _side(t) is None and _layer(t) > _layer(m) for w in where]
    assert not bad, f"imports against the layers {' < '.join(LAYERS)}:\n" + "\n".join(bad)


def test_side_folders_import_only_their_layers():
    """``idealnets.explore`` imports theory and simulate (never sweeps or figures); nothing else imports it."""
    g = _graph()
    bad = []
    for m, targets in g.items():
        for t, where in targets.items():
            side_m, side_t = _side(m), _side(t)
            if side_t is not None and side_t != side_m:
                bad += [f"{w}  (imports {side_t}, which no other part of the package may import)" for w in where]
            elif side_m is not None and side_t is None and _layer(t) >= 0 \
                    and LAYERS[_layer(t)] not in SIDE[side_m]:
                bad += [f"{w}  ({side_m} may import only {', '.join(SIDE[side_m])})" for w in where]
    assert not bad, "imports against the side folders:\n" + "\n".join(bad)
    assert any(_layer(t) == 0 for t in g["idealnets.explore.views"])  # the parser sees explore's imports


def _private_outside_owner(importer: str, dotted: str) -> str | None:
    """The first underscore-prefixed part of ``dotted`` whose owner (the module or package holding it)
    does not contain ``importer``; None if every private part is used within its owner."""
    parts = dotted.split(".")
    for i, p in enumerate(parts):
        if p.startswith("_") and not (p.startswith("__") and p.endswith("__")):
            owner = ".".join(parts[:i])
            if not (importer == owner or importer.startswith(owner + ".")):
                return ".".join(parts[: i + 1])
    return None


def test_no_private_name_is_imported_from_another_module():
    bad = []
    for m in MODULES:
        for line, target, stmt in _imports(m):
            private = _private_outside_owner(m, target)
            if private is not None:
                bad.append(f"{MODULES[m].relative_to(ROOT)}:{line}: {stmt}  ({private} is private to "
                           f"{private.rpartition('.')[0]})")
    assert not bad, "private names imported from outside their module or package:\n" + "\n".join(bad)


def test_private_rule_examples():
    """The rule as stated: ``from x import _y`` is refused; a private module within its own package is fine."""
    assert _private_outside_owner("idealnets.figures.semantic.semantic_svd", "idealnets.figures.semantic._shared") is None
    assert _private_outside_owner("idealnets.figures.gallery", "idealnets.figures._common.DEFAULT_OUT") is None
    assert _private_outside_owner("idealnets.simulate.ntk", "idealnets.simulate._common.resolve_device") is None
    assert _private_outside_owner("idealnets.figures.__main__", "idealnets.simulate._common.resolve_device")
    assert _private_outside_owner("idealnets.simulate.ntk", "idealnets.simulate._common._helper")
    assert _private_outside_owner("idealnets.figures.committee.committee_relu",
                                  "idealnets.figures.semantic._shared") == "idealnets.figures.semantic._shared"
    assert _private_outside_owner("idealnets.theory.x", "__future__.annotations") is None


# ---------------------------------------------------------------------------------------- one import name, installed or not


def _source_copy(dest: Path) -> Path:
    """The repository's build inputs (top-level files and the package folders, no figure output) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for p in ROOT.iterdir():
        if p.is_file():
            shutil.copy2(p, dest / p.name)
    ignore = shutil.ignore_patterns(*SKIP_DIRS, "*.pyc", "*.egg-info")
    for top in SOURCES:
        shutil.copytree(ROOT / top, dest / top, ignore=ignore)
    return dest


def _can_build_wheels() -> str | None:
    if importlib.util.find_spec("setuptools") is None:
        return "setuptools is not installed"
    if importlib.util.find_spec("wheel") is None and importlib.util.find_spec("setuptools.command.bdist_wheel") is None:
        return "neither the wheel package nor setuptools >= 70.1 (bdist_wheel) is installed"
    return None


@pytest.mark.skipif(_can_build_wheels() is not None, reason=f"cannot build a wheel: {_can_build_wheels()}")
def test_wheel_installs_one_import_name(tmp_path):
    src = _source_copy(tmp_path / "src")  # built from a copy: no build/ or *.egg-info left in the repository
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                        "-q", "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (tmp_path / "dist").glob("idealnets-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] if "/" in n else Path(n).stem for n in names if n.endswith(".py")}
    for n in names:
        if n.endswith(".dist-info/top_level.txt"):
            tops |= set(zipfile.ZipFile(wheel).read(n).decode().split())
    assert tops == {"idealnets"}, sorted(tops)
    # every module of the repository is in it, where its dotted name says
    want = {"/".join(m.split(".")) + ("/__init__.py" if _is_package(m) else ".py") for m in MODULES}
    missing = sorted(want - set(names))
    assert not missing, f"modules missing from the wheel: {missing}"


_UNINSTALLED = r"""
import os, sys
root = sys.argv[1]
# forget the editable install: its finders, and any path entry pointing at the installed repository
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in (getattr(f, "__module__", "") + repr(f)).lower()]
sys.path_hooks[:] = [h for h in sys.path_hooks if "editable" not in repr(h).lower()]
sys.path_importer_cache.clear()
sys.path[:] = [root] + [p for p in sys.path if p and os.path.abspath(p) != os.path.abspath(sys.argv[2])]
os.chdir(root)
import idealnets.theory
assert idealnets.theory.__file__.startswith(root), idealnets.theory.__file__
print("theory", idealnets.theory.__file__)
import runpy
sys.argv = ["python -m idealnets.figures", "--list"]
runpy.run_module("idealnets.figures", run_name="__main__", alter_sys=True)
stray = sorted(n for n, m in sys.modules.items() if n.split(".")[0] == "idealnets"
               and getattr(m, "__file__", None) and not m.__file__.startswith(root))
assert not stray, stray
"""


def test_repository_works_without_installing(tmp_path):
    """From an uninstalled copy of the repository (the editable install of this one forgotten):
    ``import idealnets.theory`` and ``python -m idealnets.figures --list`` load everything from the copy."""
    src = _source_copy(tmp_path / "repo")
    env = {**os.environ, "PYTHONPATH": "", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-c", _UNINSTALLED, str(src), str(ROOT)], cwd=src, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    listed = [ln.split()[0] for ln in r.stdout.splitlines()[1:] if ln.strip()]
    import idealnets.figures as figures

    assert listed == list(figures.available()), (listed, list(figures.available()))
    assert r.stdout.splitlines()[0].startswith(f"theory {src}")

