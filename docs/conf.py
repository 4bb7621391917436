"""Sphinx configuration of the idealnets documentation (``make docs``).

Generated at build time, from sources that live elsewhere (nothing here is edited by hand):

* ``api/generated/``: autosummary pages for every module of ``theory`` and ``simulate``
  (recursive: a module added to either package appears without a change here);
* ``gallery.md``: the figures with captions rendered from ``figures/out/*.json``
  (:func:`figures.gallery.gallery_myst`, the same templates as the README gallery);
* ``tutorials/*.ipynb``: the instructor notebooks built by ``make tutorials``, executed by
  myst-nb during the build, with the exercise solutions folded away (tag ``hide-input``).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
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
        (out / nb_path.name).write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _gallery() -> None:
    from figures.gallery import gallery_myst

    (DOCS / "gallery.md").write_text(gallery_myst(), encoding="utf-8")


_tutorials()
_gallery()
