"""One name per concept: the glossary of the conventions page, held against the public API.

The table at the end of ``docs/conventions.md`` gives, for each concept, the one name the
package uses and the names it must not use (earlier releases' names, which keep working
with a DeprecationWarning but are not part of any public signature). This test reads that
table, walks every public function, class and method of ``idealnets.theory`` and
``idealnets.simulate``, and fails on a second name for a glossary concept.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import idealnets.simulate as simulate
import idealnets.theory as theory
from idealnets.simulate.engine import Run

ROOT = Path(__file__).resolve().parents[1]


def _glossary() -> list[dict]:
    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    section = text.split("## Glossary", 1)[1]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("concept", "") or set(cells[0]) <= {"-"}:
            continue
        rows.append({"concept": cells[0], "name": re.findall(r"`([^`]+)`", cells[1]) or [cells[1]],
                     "not": re.findall(r"`([A-Za-z_][A-Za-z_0-9]*)`", cells[3])})
    return rows


GLOSSARY = _glossary()


def _public_modules():
    for pkg in (theory, simulate):
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if not info.name.rsplit(".", 1)[-1].startswith("_"):
                yield importlib.import_module(info.name)


def _is_deprecated(obj) -> bool:
    return hasattr(obj, "__deprecated_alias_of__") or obj is Run


def _callables():
    """(qualified name, callable) for every public function, class and method defined in the package."""
    seen = set()
    for mod in _public_modules():
        for name, obj in vars(mod).items():
            if name.startswith("_") or id(obj) in seen:
                continue
            if getattr(obj, "__module__", None) != mod.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            seen.add(id(obj))
            yield f"{mod.__name__}.{name}", obj
            if inspect.isclass(obj):
                for mname, meth in vars(obj).items():
                    if mname.startswith("_") and mname != "__init__":
                        continue
                    func = meth.__func__ if isinstance(meth, (staticmethod, classmethod)) else meth
                    if isinstance(func, property):
                        yield f"{mod.__name__}.{name}.{mname}", func  # a field-like name
                    elif inspect.isfunction(func):
                        yield f"{mod.__name__}.{name}.{mname}", func


CALLABLES = list(_callables())


def _params(obj) -> list[str]:
    if isinstance(obj, property) or _is_deprecated(obj):
        return []
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p for p in sig.parameters if p not in ("self", "cls")]


def test_glossary_is_readable():
    concepts = {r["concept"] for r in GLOSSARY}
    assert len(GLOSSARY) >= 10, "the glossary table in docs/conventions.md was not found or lost rows"
    assert any("number of networks" in c for c in concepts)
    for row in GLOSSARY:
        assert row["name"], f"glossary row {row['concept']!r} names no canonical name"


@pytest.mark.parametrize("row", [r for r in GLOSSARY if r["not"]], ids=lambda r: r["name"][0])
def test_no_second_name_in_public_signatures(row):
    """No public parameter (and no public function or method) carries a deprecated name of a concept."""
    forbidden = set(row["not"])
    trainer_only = row["concept"].startswith("initial weights of a trainer")
    function_names = row["concept"].startswith("largest stable learning rate")
    bad = []
    for qual, obj in CALLABLES:
        leaf = qual.rsplit(".", 1)[-1]
        if function_names:
            if leaf in forbidden and not _is_deprecated(obj):
                bad.append(qual)
            continue
        if trainer_only and not (leaf.startswith("train") and inspect.isfunction(obj)):
            continue
        if row["name"][0] == "Run":
            # result types: every public *Run class name is the shared Run itself
            if inspect.isclass(obj) and leaf.endswith("Run") and obj is not Run:
                bad.append(qual)
            continue
        bad += [f"{qual}({p})" for p in _params(obj) if p in forbidden]
    assert not bad, (f"second name for {row['concept']!r} (use {row['name'][0]!r}): " + ", ".join(sorted(bad)))


def test_renamed_keywords_still_work_and_warn():
    """An old keyword reaches the new one with a DeprecationWarning; old and new together are refused."""
    from idealnets.theory.validation import renamed_keywords

    @renamed_keywords(n_seeds="n_networks")
    def f(*, n_networks=1):
        return n_networks

    with pytest.warns(DeprecationWarning, match="n_seeds.*n_networks"):
        assert f(n_seeds=3) == 3
    with pytest.raises(TypeError, match="both"):
        f(n_seeds=3, n_networks=4)
    assert list(inspect.signature(f).parameters) == ["n_networks"]


def test_public_trainers_return_run():
    """Every public trainer (a function named train*) of simulate is annotated to return the shared Run."""
    bad = []
    for qual, obj in CALLABLES:
        leaf = qual.rsplit(".", 1)[-1]
        if not (qual.startswith("idealnets.simulate") and leaf.startswith("train") and inspect.isfunction(obj)):
            continue
        if _is_deprecated(obj):
            continue
        ann = inspect.signature(obj).return_annotation
        # a list: one Run per data set, or per condition of a batch run as one program
        if ann is not Run and ann != list[Run] and ann not in ("Run", "Run | list[Run]", "list[Run]"):
            bad.append(f"{qual} -> {ann}")
    assert not bad, "trainers that do not return idealnets.simulate.Run: " + "; ".join(bad)
