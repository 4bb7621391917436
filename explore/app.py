"""Serving the views: documents, the Bokeh server, and the timing of one slider update.

:func:`make_document` fills a Bokeh document with one view or with every view as tabs;
:func:`serve` starts ``bokeh.server.server.Server`` on localhost with ``/`` (tabs) and one page per
view (``/<name>``); :func:`update_times` measures the CPU time of one slider update per view.
"""
from __future__ import annotations

import statistics
import time

from bokeh.models import TabPanel, Tabs

from ._base import View
from .views import VIEWS

__all__ = ["build", "make_document", "serve", "update_times"]

DEFAULT_PORT = 5006


def build(name: str) -> View:
    """The view ``name`` (a key of :data:`~idealnets.explore.views.VIEWS`), built and drawn once."""
    if name not in VIEWS:
        raise ValueError(f"unknown view {name!r}; the views are {', '.join(VIEWS)}")
    return VIEWS[name][1]()


def make_document(doc, view: str | None = None) -> list[View]:
    """Fill the Bokeh document ``doc`` with the view ``view`` (or every view, as tabs); returns the views."""
    names = list(VIEWS) if view is None else [view]
    views = [build(n) for n in names]
    for v in views:
        v.attach(doc)
    if len(views) == 1:
        doc.add_root(views[0].layout)
        doc.title = f"idealnets explorer: {VIEWS[names[0]][0]}"
    else:
        doc.add_root(Tabs(tabs=[TabPanel(child=v.layout, title=VIEWS[v.name][0]) for v in views], name="tabs"))
        doc.title = "idealnets explorer"
    return views


def serve(port: int = DEFAULT_PORT, view: str | None = None, open_browser: bool = True) -> None:
    """Serve the explorer on ``http://localhost:<port>/`` until interrupted (Ctrl-C)."""
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    if view is not None and view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; the views are {', '.join(VIEWS)}")
    apps = {"/": Application(FunctionHandler(lambda doc: make_document(doc)))}
    for name in VIEWS:
        apps[f"/{name}"] = Application(FunctionHandler(lambda doc, name=name: make_document(doc, name)))
    server = Server(apps, port=port, address="localhost",
                    allow_websocket_origin=[f"localhost:{port}", f"127.0.0.1:{port}"])
    server.start()
    path = "/" if view is None else f"/{view}"
    url = f"http://localhost:{server.port}{path}"
    print(f"idealnets explorer: {url}  (views: {', '.join(f'/{n}' for n in VIEWS)}; Ctrl-C stops)", flush=True)
    if open_browser:
        server.io_loop.add_callback(server.show, path)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.stop()


#: for each view, a control and the values it is moved through when timing a slider update
TIMED_MOVES = {
    "deep_linear": ("depth", [2, 3, 4, 5, 6, 1, 2, 3, 4, 5]),
    "semantic": ("log10_u0", [-2.0, -2.5, -3.5, -4.0, -4.5, -5.0, -5.5, -1.5, -1.0, -6.0]),
    "generalization": ("alpha", [0.5, 0.6, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0]),
    "committee": ("lr", [0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.3, 1.4, 1.5]),
    "continual": ("theta_v", [0, 15, 30, 45, 75, 90, 105, 120, 135, 150]),
}


def update_times(names=None) -> dict[str, float]:
    """Median CPU seconds (``time.process_time``) of one slider update per view, over ten new values
    (each one not seen before, so no cache helps)."""
    out = {}
    for name in names or VIEWS:
        v = build(name)
        key, values = TIMED_MOVES[name]
        times = []
        for x in values:
            t0 = time.process_time()
            v.set(key, x)  # the change callback recomputes the theory
            times.append(time.process_time() - t0)
            assert not v.error.text, v.error.text
        out[name] = statistics.median(times)
    return out
