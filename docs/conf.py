"""Sphinx configuration of the idealnets documentation (``make docs``).

Generated at build time, from sources that live elsewhere (nothing here is edited by hand):

* ``api/generated/``: autosummary pages for every module of ``idealnets.theory`` and ``idealnets.simulate``
  (recursive: a module added to either package appears without a change here);
* ``gallery.md``: the figures with captions rendered from ``figures/out/*.json``
  (:func:`idealnets.figures.gallery.gallery_myst`, the same templates as the README gallery);
* ``tutorials/*.ipynb``: the instructor notebooks of every lesson (``tutorials/NN_*.py``) built by
  ``make tutorials``, executed by myst-nb during the build, with the exercise solutions folded away
  (tag ``hide-input``); ``tutorials.md`` lists them by a glob, so a new lesson appears without an edit;
* ``_build/html/_static/mathjax/``: MathJax 3, copied from the pip package ``django-static-mathjax``
  (the docs extra; its ``es5/`` build and Apache-2.0 licence), so that every formula, on the Markdown
  pages and in the executed notebooks alike, renders with no network (no CDN).
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
myst_enable_extensions = ["dollarmath", "amsmath", "substitution"]
# Math offline: the pages load MathJax 3 from the site itself (_static/mathjax/, copied at the end of
# the build by _copy_mathjax from the pip package django-static-mathjax), never from a CDN. SVG
# output: the glyphs are drawn as paths, so no web font has to load (file:// pages included).
# A relative mathjax_path is resolved against _static/. myst-parser adds its processHtmlClass
# option to mathjax3_config (the configuration format of MathJax 3).
MATHJAX_FILE = "tex-mml-svg.js"
mathjax_path = f"mathjax/{MATHJAX_FILE}"
mathjax3_config = {"svg": {"fontCache": "global"}}
# anchors for ## and ### headings, so that the sections that docstrings cite as
# (docs: Conventions, "<section>") can be linked, e.g. conventions.html#loss-and-time
myst_heading_anchors = 3


def _mathjax_source() -> Path:
    """The MathJax 3 ``es5/`` build shipped by the pip package django-static-mathjax."""
    try:
        import mathjax   # the import name of django-static-mathjax (no dependencies, no Django needed)
    except ImportError:
        raise RuntimeError("the docs need MathJax offline: pip install django-static-mathjax "
                           "(part of the docs extra: pip install -e '.[docs]')") from None
    es5 = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    if not (es5 / MATHJAX_FILE).is_file():
        raise RuntimeError(f"django-static-mathjax has no es5/{MATHJAX_FILE} under {es5.parent}")
    return es5


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    es5 = _mathjax_source()
    out = Path(app.outdir) / "_static" / "mathjax"
    shutil.copytree(es5, out, dirs_exist_ok=True)
    shutil.copy2(es5.parent / "LICENSE", out / "LICENSE")   # Apache-2.0, next to the files


def _tutorials() -> None:
    src = ROOT / "tutorials" / "build" / "instructor"
    if not src.is_dir():
        raise RuntimeError("run `make tutorials` first (tutorials/build/instructor/ is missing)")
    out = DOCS / "tutorials"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    # every lesson with a source (tutorials/NN_*.py), none left over from a removed one
    lessons = {p.stem for p in (ROOT / "tutorials").glob("[0-9][0-9]_*.py")}
    for nb_path in sorted(p for p in src.glob("*.ipynb") if p.stem in lessons):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            if "exercise" in tags and "hide-input" not in tags:
                tags.append("hide-input")          # solutions folded; a click shows them
                cell["metadata"]["mystnb"] = {"code_prompt_show": "Show the solution",
                                              "code_prompt_hide": "Hide the solution"}
        (out / nb_path.name).write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _lessons() -> dict[str, str]:
    """``{{ lesson_NN }}`` in any page: a link to lesson NN's rendered notebook, for every lesson
    on this site (``docs/tutorials/NN_*.ipynb``, copied by :func:`_tutorials`); lessons 01-09
    without a built notebook read "lesson N (in preparation)"."""
    subs = {f"lesson_{k:02d}": f"lesson {k} (in preparation)" for k in range(1, 10)}
    for nb in sorted((DOCS / "tutorials").glob("[0-9][0-9]_*.ipynb")):
        subs[f"lesson_{nb.stem[:2]}"] = f"{{doc}}`lesson {int(nb.stem[:2])} </tutorials/{nb.stem}>`"
    return subs


# Labels for the gallery's topic sections (gallery.md is generated; its headings carry citations
# that may change, the labels do not): the index links every topic to its figures with
# {ref}`gallery-<key>`; a heading that no longer matches leaves its label undefined, which fails
# the build (warnings are errors) instead of leaving a dead link.
GALLERY_LABELS = {
    "Deep linear networks": "deep-linear",
    "Semantic development": "semantic",
    "Exact dynamics from lambda-balanced": "lambda-balanced",
    "Teacher-student generalisation": "generalisation",
    "Online SGD in two-layer committee machines": "committee",
    "Infinite width": "infinite-width",
    "Learning rules other than backprop": "learning-rules",
    "Continual learning": "continual",
    "Learning through time": "recurrent",
    "Learning from reward": "reward",
    "Local learning rules": "local-rules",
    "Attention and in-context learning": "attention",
    "Structured inputs and replay": "replay",
    "Phase diagrams": "phase-diagrams",
}


def _gallery() -> None:
    from idealnets.figures.gallery import gallery_myst

    lines = []
    for line in gallery_myst().splitlines():
        if line.startswith("## "):
            key = next((k for h, k in GALLERY_LABELS.items() if line[3:].startswith(h)), None)
            if key is not None:
                lines += [f"(gallery-{key})=", ""]
        lines.append(line)
    (DOCS / "gallery.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


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
    app.connect("build-finished", _copy_mathjax)


_mathjax_source()   # fail early, before the tutorials run, when the docs extra is incomplete
_tutorials()
_gallery()
myst_substitutions = _lessons()
