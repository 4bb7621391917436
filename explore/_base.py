"""The part every view of the explorer shares: controls, theory sources, the train button, error and progress text.

A view is a :class:`View`: its controls (Bokeh widgets, by name), a ``theory(params)`` function that
returns new data for the theory sources, and a ``train(params, report)`` function that trains a
small ensemble (calling ``report(done, total)`` as it goes) and returns new data for the simulation
sources. :class:`View` wires them to the page:

* every control change recomputes the theory at once (the sources are replaced in one update);
* a ``ValueError`` (or a ``FloatingPointError``, the package's divergence error) from the public
  API puts its message in the view's red error text and empties the theory curves, never a silent
  blank plot;
* the button runs the training in a background thread (the page stays live), shows
  "network k of E" in the progress text, disables itself while it runs, and draws the ensemble
  over the theory when it is done (Bokeh's documents are changed only from the server's event loop:
  the thread hands every change over with ``Document.add_next_tick_callback``).

Without a server (tests, :func:`idealnets.explore.update_times`) the same callbacks run
synchronously: :meth:`View.train_now`.
"""
from __future__ import annotations

import functools
import html
import threading
import time
from typing import Callable

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, Div, InlineStyleSheet
from bokeh.plotting import figure

#: the font sizes that read from the back of a lecture hall
TITLE_SIZE, AXIS_LABEL_SIZE, TICK_SIZE, LEGEND_SIZE = "15pt", "14pt", "12pt", "12pt"
#: colours of successive modes / curves (Bokeh's Category10, colour-blind friendly enough for lines + markers)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
ERROR_STYLE = {"color": "#b00020", "font-size": "14pt", "font-weight": "bold"}
PROGRESS_STYLE = {"font-size": "13pt", "color": "#333333"}
#: errors the public API raises for a refused parameter combination (DivergenceError is a FloatingPointError)
REFUSED = (ValueError, FloatingPointError)


def make_figure(title: str, x_label: str, y_label: str, *, x_axis_type: str = "linear",
                y_axis_type: str = "linear", width: int = 560, height: int = 400, **kw):
    """A figure with large title, axis labels and ticks."""
    p = figure(title=title, x_axis_label=x_label, y_axis_label=y_label, x_axis_type=x_axis_type,
               y_axis_type=y_axis_type, width=width, height=height, tools="pan,box_zoom,wheel_zoom,reset,save",
               **kw)
    p.title.text_font_size = TITLE_SIZE
    for ax in (p.xaxis, p.yaxis):
        ax.axis_label_text_font_size = AXIS_LABEL_SIZE
        ax.major_label_text_font_size = TICK_SIZE
        ax.axis_label_text_font_style = "normal"
    return p


def style_legend(p, location: str = "top_right") -> None:
    """Legend font and place (call after the glyphs with legend labels are added); ``"right"`` puts it
    beside the plot, where it hides no curve."""
    p.legend.label_text_font_size = LEGEND_SIZE
    if location == "right":
        p.add_layout(p.legend[0], "right")
        p.width += 230
    else:
        p.legend.location = location
    p.legend.background_fill_alpha = 0.7
    p.legend.click_policy = "hide"


def _finite_array(v):
    a = np.asarray(v)
    return np.where(np.isfinite(a), a, np.nan) if a.dtype.kind == "f" else a


def finite(data: dict) -> dict:
    """Replace non-finite numbers by NaN (Bokeh draws a gap there) in every float array of a source's data.

    A column that is a list of arrays (multi_line's ``xs``/``ys``, image's ``image``) stays a list of arrays:
    BokehJS wants a list there, not one 2-d array."""
    out = {}
    for k, v in data.items():
        if isinstance(v, (list, tuple)) and v and isinstance(v[0], (np.ndarray, list, tuple)):
            out[k] = [_finite_array(x) for x in v]
        else:
            out[k] = _finite_array(v)
    return out


class View:
    """One page of the explorer: controls, theory and simulation sources, plots, button, messages.

    Parameters
    ----------
    name : short identifier (the URL path ``/name``; every Bokeh model of the view is named ``name-...``).
    title, intro : heading and one-paragraph explanation shown above the plots.
    controls : name -> Bokeh widget with a ``value`` (Slider, Select, ...) or ``active`` (RadioButtonGroup).
    sources : name -> ColumnDataSource (the view names them ``name-<key>``).
    plots : the figures, laid out in a row.
    theory : ``params -> {source key: data}``; raises ``ValueError`` for a refused combination.
    train : ``(params, report) -> {source key: data}``; ``report(done, total)`` after each network.
    info : optional ``params -> str`` (HTML) shown under the controls (e.g. the stable learning rate).
    keep_ensemble : names of controls that change only what is shown (the trained ensemble stays).
    throttled : names of controls whose theory is slow: recompute when the slider is released
        (``value_throttled``) instead of at every step of a drag.
    n_networks : the ensemble size the button trains (shown on the button).
    """

    def __init__(self, name: str, title: str, intro: str, controls: dict, sources: dict, plots: list,
                 theory: Callable[[dict], dict], train: Callable[[dict, Callable], dict], *,
                 info: Callable[[dict], str] | None = None, throttled: tuple[str, ...] = (),
                 keep_ensemble: tuple[str, ...] = (), n_networks: int = 4, train_label: str | None = None):
        self.name, self.title = name, title
        self.controls, self.sources, self.plots = controls, sources, plots
        self._theory, self._train, self._info = theory, train, info
        self.n_networks = n_networks
        self.throttled = frozenset(throttled)
        self.keep_ensemble = frozenset(keep_ensemble)
        self.doc = None  # set by :meth:`attach` when served
        self.busy = False
        self.last_update_s = float("nan")
        self.last_train_s = float("nan")
        for key, src in sources.items():
            src.name = f"{name}-{key}"
        self.sim_keys = [k for k in sources if k.startswith("sim")]
        self.error = Div(text="", name=f"{name}-error", styles=ERROR_STYLE, width=560)
        self.progress = Div(text="", name=f"{name}-progress", styles=PROGRESS_STYLE, width=560)
        self.info = Div(text="", name=f"{name}-info", styles=PROGRESS_STYLE, width=330)
        self.button = Button(label=train_label or f"Train {n_networks} networks", button_type="success",
                             name=f"{name}-train", width=300, height=44,
                             stylesheets=[InlineStyleSheet(css=".bk-btn { font-size: 13pt; }")])
        self.button.on_click(self._on_click)
        for key, w in controls.items():
            w.name = f"{name}-{key}"
            prop = "active" if hasattr(w, "active") and not hasattr(w, "value") else (
                "value_throttled" if key in throttled else "value")
            w.on_change(prop, functools.partial(self._on_change, key))
        header = Div(text=f"<h2 style='margin:4px 0'>{html.escape(title)}</h2><p style='font-size:13pt;"
                          f"max-width:1150px;margin:2px 0'>{intro}</p>", name=f"{name}-header")
        side = column(*controls.values(), self.info, self.button, width=340)
        self.layout = column(header, row(side, column(row(*plots), self.error, self.progress)), name=name)
        self.update()

    # ------------------------------------------------------------------ parameters and theory
    def params(self) -> dict:
        """The current value of every control."""
        return {k: (w.active if hasattr(w, "active") and not hasattr(w, "value") else w.value)
                for k, w in self.controls.items()}

    def _on_change(self, key, attr, old, new) -> None:
        self.update(clear_ensemble=key not in self.keep_ensemble)

    def set(self, key: str, value) -> None:
        """Move control ``key`` to ``value`` as a user would (a throttled slider also "releases" it)."""
        w = self.controls[key]
        if hasattr(w, "active") and not hasattr(w, "value"):
            w.active = value
            return
        w.value = value
        if key in self.throttled:  # the browser sets value_throttled on release; without one, update here
            self.update(clear_ensemble=key not in self.keep_ensemble)

    def update(self, clear_ensemble: bool = True) -> None:
        """Recompute the theory for the current controls; on a refused combination show why.
        ``clear_ensemble``: the trained ensemble no longer matches the controls (false for a control
        that changes only what is shown, e.g. a snapshot time)."""
        t0 = time.process_time()
        p = self.params()
        try:
            new = self._theory(p)
            info = self._info(p) if self._info is not None else ""
        except REFUSED as e:
            self.error.text = html.escape(f"Cannot draw the theory here: {e}")
            self.info.text = ""
            for key, src in self.sources.items():
                src.data = {c: [] for c in src.data}
        else:
            for key, data in new.items():
                self.sources[key].data = finite(data)
            self.error.text = ""
            self.info.text = info
            if clear_ensemble:  # new parameters make an old ensemble stale: clear it
                for key in self.sim_keys:
                    if key not in new:
                        self.sources[key].data = {c: [] for c in self.sources[key].data}
                if not self.busy and self.progress.text.startswith("Training finished"):
                    self.progress.text = "Parameters changed: press the button to train again."
        self.last_update_s = time.process_time() - t0

    # ------------------------------------------------------------------ training
    def attach(self, doc) -> None:
        """Serve in ``doc``: training then runs in a thread and hands its updates to the event loop."""
        self.doc = doc

    def _later(self, fn: Callable[[], None]) -> None:
        if self.doc is None:
            fn()
        else:
            self.doc.add_next_tick_callback(fn)

    def _on_click(self, *_):
        if self.busy:
            return
        self.busy = True
        self.button.disabled = True
        self.error.text = ""
        self.progress.text = f"Training: 0 of {self.n_networks} networks done ..."
        params = self.params()
        if self.doc is None:
            self._run(params)
        else:
            threading.Thread(target=self._run, args=(params,), daemon=True, name=f"explore-{self.name}").start()

    def train_now(self) -> None:
        """Press the button and wait for the ensemble (no server: runs in this thread)."""
        self._on_click()

    def _report(self, done: int, total: int) -> None:
        self._done = (done, total)
        self._show_progress()

    def _show_progress(self) -> None:
        done, total = self._done
        elapsed = time.perf_counter() - self._t0
        text = f"Training: {done} of {total} networks done, {elapsed:.1f} s ..."

        def show(text=text):
            if self.busy:
                self.progress.text = text
        self._later(show)

    def _tick(self) -> None:
        """While training runs in a thread, refresh the progress text (elapsed seconds) twice a second."""
        while not self._finished.wait(0.5):
            self._show_progress()

    def _run(self, params: dict) -> None:
        t0 = self._t0 = time.perf_counter()
        self._done = (0, self.n_networks)
        self._finished = threading.Event()
        if self.doc is not None:
            threading.Thread(target=self._tick, daemon=True, name=f"explore-{self.name}-progress").start()
        try:
            data = self._train(params, self._report)
        except REFUSED as e:
            msg = f"Training refused: {e}"

            def fail(msg=msg):
                self.error.text = html.escape(msg)
                self.progress.text = "Training stopped."
                self.busy = False
                self.button.disabled = False
            self._finished.set()
            self._later(fail)
            return
        except Exception as e:  # an unexpected failure still ends the run visibly
            msg = f"Training failed: {type(e).__name__}: {e}"

            def crash(msg=msg):
                self.error.text = html.escape(msg)
                self.progress.text = "Training stopped."
                self.busy = False
                self.button.disabled = False
            self._finished.set()
            self._later(crash)
            return
        self._finished.set()
        wall = time.perf_counter() - t0
        self.last_train_s = wall

        def done(data=data, wall=wall):
            for key, d in data.items():
                self.sources[key].data = finite(d)
            self.progress.text = (f"Training finished: {self.n_networks} networks in {wall:.1f} s "
                                  "(markers: their mean).")
            self.busy = False
            self.button.disabled = False
        self._later(done)
