"""A live explorer for the lecture hall: ``python -m idealnets.explore`` (or ``make explore``).

A local web app: move a slider and the theory curve moves at once; press the button and a small
ensemble of networks is trained (with a progress text) and drawn over the theory. Views
(:data:`VIEWS`): deep linear modes, semantic development, teacher-student generalisation,
committee machines and continual learning; each is a function building a Bokeh layout from the
package's public API (:mod:`idealnets.theory`, :mod:`idealnets.simulate`).

**Why a Bokeh server.** Its callbacks are ordinary Python, so a slider calls
:mod:`idealnets.theory` directly (no second implementation of any formula in JavaScript, no
kernel to manage as with Voila); BokehJS ships inside the ``bokeh`` wheel and the server serves it
itself, so the app works offline, with no CDN (the browser test checks that the page loads
nothing from another host); sliders, buttons, text and plots are built in; and it is one
dependency (``pip install "idealnets[explore]"``, i.e. ``bokeh>=3.4``), where Panel and Voila
add a larger stack on top of Bokeh or Jupyter.

Usage::

    python -m idealnets.explore                 # all views as tabs, opens the browser
    python -m idealnets.explore --view committee --port 5007 --no-browser
    python -m idealnets.explore --time          # CPU time of one slider update per view

Each view is also served on its own page, ``/<name>`` (e.g. ``http://localhost:5006/committee``).
"""
from __future__ import annotations

from ._base import View
from .app import build, make_document, serve, update_times
from .views import VIEWS

__all__ = ["View", "VIEWS", "build", "make_document", "serve", "update_times"]
