"""Sphinx configuration of the idealnets documentation (``make docs``).

Generated at build time, from sources that live elsewhere (nothing here is edited by hand):

* ``api/generated/``: autosummary pages for every module of ``idealnets.theory`` and ``idealnets.simulate``
  (recursive: a module added to either package appears without a change here);
* ``gallery.md``: the figures with captions rendered from ``figures/out/*.json``
  (:func:`idealnets.figures.gallery.gallery_myst`, the same templates as the README gallery);
* ``tutorials/*.ipynb``: the instructor notebooks built by ``make tutorials``, executed by
  myst-nb during the build, with the exercise solutions folded away (tag ``hide-input``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The repository root on the path: ``import idealnets`` then finds idealnets/ there, which extends
# its package path to the root, so theory/, simulate/, ... import (and are documented) as
# idealnets.theory, idealnets.simulate, ... with or without an installed package.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("IDEALNETS_STATIC", "1")   # tutorials: the static fallback of the widgets

project = "idealnets"
author = "The idealnets authors"
copyright = "2025-2026, the idealnets authors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",
]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
templates_path = ["_templates"]   # autosummary/module.rst: one page per module, all members in full
html_theme = "furo"
html_title = "idealnets"
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# API reference: NumPy docstring style, one page per module
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False

# tutorials: executed at build time (they are built without outputs), errors fail the build
nb_execution_mode = "auto"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
myst_enable_extensions = ["dollarmath", "amsmath"]
# anchors for ## and ### headings, so that the sections that docstrings cite as
# (docs: Conventions, "<section>") can be linked, e.g. conventions.html#loss-and-time
myst_heading_anchors = 3


def _tutorials() -> None:
    src = ROOT / "tutorials" / "build" / "instructor"
    if not src.is_dir():
        raise RuntimeError("run `make tutorials` first (tutorials/build/instructor/ is missing)")
    out = DOCS / "tutorials"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    for nb_path in sorted(src.glob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            if "exercise" in tags and "hide-input" not in tags:
                tags.append("hide-input")          # solutions folded; a click shows them
                cell["metadata"]["mystnb"] = {"code_prompt_show": "Show the solution",
                                              "code_prompt_hide": "Hide the solution"}
        (out / nb_path.name).write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _gallery() -> None:
    from idealnets.figures.gallery import gallery_myst

    (DOCS / "gallery.md").write_text(gallery_myst(), encoding="utf-8")


# The package writes short parameter lists as ``name : description`` on one line (and
# ``a, b : description``), which NumPy style would read as ``name : type``. Before napoleon
# runs, such a line in a Parameters/Attributes section becomes ``name`` + an indented
# description, so the reference shows the description as text rather than as a type. A line
# whose text after the colon is short and followed by an indented block (a real type) is kept.
_SECTIONS = {"parameters", "other parameters", "attributes", "keyword arguments"}
_ITEM = re.compile(r"^(?P<ind>\s*)(?P<name>\*{0,2}[A-Za-z_][\w, *]*?) : (?P<rest>.+)$")


def _descriptions_not_types(app, what, name, obj, options, lines):
    out, in_section, base = [], False, 0
    for k, line in enumerate(lines):
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        if line.strip().lower() in _SECTIONS and set(nxt.strip()) == {"-"}:
            in_section, base = True, len(line) - len(line.lstrip())
            out.append(line)
            continue
        if in_section and line.strip() and len(line) - len(line.lstrip()) <= base and set(line.strip()) != {"-"}:
            m = _ITEM.match(line)
            if m is None or len(m["ind"]) != base:
                in_section = False
            else:
                nxt_indented = nxt.strip() and len(nxt) - len(nxt.lstrip()) > base
                if not (nxt_indented and len(m["rest"]) <= 30):
                    out += [f"{m['ind']}{m['name']}", f"{m['ind']}    {m['rest']}"]
                    continue
        out.append(line)
    lines[:] = out


def setup(app):
    app.connect("autodoc-process-docstring", _descriptions_not_types, priority=400)   # before napoleon (500)


_tutorials()
_gallery()
