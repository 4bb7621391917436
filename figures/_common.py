"""Shared figure machinery: style, saving PNG + JSON, agreement metrics.

Figures are the only place where ``idealnets.theory`` (lines) and ``idealnets.simulate``
(markers, ensemble mean with a band for the spread over seeds) meet. Each
figure module exposes ``NAME``, ``TITLE`` and
``make(*, quick=False, device=None, out=DEFAULT_OUT, seed=0) -> dict`` and
calls :func:`save`, which writes ``out/NAME.png`` and ``out/NAME.json``
(the plotted data, the parameters and the measured agreement).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]

__all__ = [
    "DEFAULT_OUT",
    "COLORS",
    "style",
    "theory_line",
    "sim_markers",
    "save",
    "max_rel_dev",
    "max_abs_dev",
    "to_jsonable",
]


def style() -> None:
    """House plot style: readable at a glance, consistent across figures."""
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 130,
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 8.5,
            "legend.frameon": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "lines.linewidth": 1.8,
        }
    )


def theory_line(ax, x, y, *, color, label=None, **kw):
    """Theory: a solid line."""
    return ax.plot(x, y, "-", color=color, label=label, zorder=2, **kw)


def sim_markers(ax, x, samples, *, color, label=None, band=True, marker="o", ms=4.0, axis=0, **kw):
    """Simulation: ensemble mean as markers, with a shaded band (mean +- 1 sd over networks).

    ``samples`` has the ensemble on ``axis`` (default 0); a 1-D array is plotted as is.
    """
    s = np.asarray(samples, dtype=float)
    if s.ndim == 1:
        mean, sd = s, None
    else:
        mean, sd = s.mean(axis=axis), s.std(axis=axis)
    h = ax.plot(x, mean, linestyle="none", marker=marker, ms=ms, mfc="white", mec=color, mew=1.2,
                label=label, zorder=3, **kw)
    if band and sd is not None:
        ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.18, lw=0, zorder=1)
    return h


def max_rel_dev(theory, sim, *, floor: float = 0.0) -> float:
    """max |sim - theory| / max(|theory|, floor), ignoring non-finite theory points."""
    th, si = np.broadcast_arrays(np.asarray(theory, float), np.asarray(sim, float))
    ok = np.isfinite(th)
    if not ok.any():
        return float("nan")
    den = np.maximum(np.abs(th[ok]), floor)
    return float(np.max(np.abs(si[ok] - th[ok]) / den))


def max_abs_dev(theory, sim) -> float:
    th, si = np.broadcast_arrays(np.asarray(theory, float), np.asarray(sim, float))
    ok = np.isfinite(th)
    return float(np.max(np.abs(si[ok] - th[ok]))) if ok.any() else float("nan")


def to_jsonable(obj: Any) -> Any:
    """Convert numpy / torch containers to plain JSON (NaN/inf become None)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


#: The paper's text width in inches: no figure is printed wider.
PRINT_WIDTH_MAX_IN = 6.5
#: Narrow (one- or two-panel) figures are printed at no less than this width in inches.
PRINT_WIDTH_MIN_IN = 4.0
#: Smallest font size, in points, that any text of a figure may have once printed.
MIN_PRINT_PT = 7.0
#: Largest font floor, in points, drawn: a row of three panels 14-16 inches wide would need 15-17 pt
#: text, more than its panels hold (legends would cover the curves and the next panel); such a figure
#: prints at 5-6 pt until it is wrapped to two rows (as the four-panel rows are).
MAX_FLOOR_PT = 12.5


def print_width(width_in: float) -> float:
    """Width in inches at which a figure drawn ``width_in`` wide is assumed printed.

    0.6 of its drawn width, between :data:`PRINT_WIDTH_MIN_IN` and :data:`PRINT_WIDTH_MAX_IN`
    (the text width of a letter page with 1 inch margins).
    """
    return min(PRINT_WIDTH_MAX_IN, max(PRINT_WIDTH_MIN_IN, 0.6 * width_in))


def min_font_pt(width_in: float) -> float:
    """Smallest drawn font size (points) of a figure ``width_in`` wide that prints at >= :data:`MIN_PRINT_PT`,
    capped at :data:`MAX_FLOOR_PT`."""
    return min(MAX_FLOOR_PT, MIN_PRINT_PT * width_in / print_width(width_in))


def legible(fig) -> None:
    """Enlarge every text of ``fig`` (ticks, labels, titles, legends, annotations, colour bars) to at least
    :func:`min_font_pt` of its width, so that it reads at >= 7 pt when printed at :func:`print_width`
    (figures up to ~11.5 inches wide; wider ones stop at :data:`MAX_FLOOR_PT`),
    and lay the figure out again (the tight layout the figures use; a constrained layout redoes itself)."""
    from matplotlib.text import Text

    floor = min_font_pt(float(fig.get_size_inches()[0]))
    grew = False
    for ax in fig.axes:  # tick labels made later, at drawing time (log axes, new limits), too
        for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            sizes = [t.label1.get_fontsize() for t in axis.get_major_ticks()[:1] + axis.get_minor_ticks()[:1]]
            if not sizes or min(sizes) < floor:
                ax.tick_params(axis=name, which="both", labelsize=max([floor] + [s for s in sizes if s > floor]))
                grew = True
    for t in fig.findobj(Text):
        if t.get_text() and t.get_fontsize() < floor:
            t.set_fontsize(floor)
            grew = True
    if not grew:
        return
    engine = fig.get_layout_engine()
    if engine is None or type(engine).__name__ in ("TightLayoutEngine", "PlaceHolderLayoutEngine"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.tight_layout()


def save(fig, record: dict, *, name: str, out: str | Path = DEFAULT_OUT, quick: bool = False) -> dict:
    """Write ``out/name.png`` and ``out/name.json``; return the record with the paths.

    ``record`` should hold ``params``, ``data`` (theory and simulation arrays as
    plotted) and ``agreement`` (named scalar measures of theory vs simulation).
    """
    if "agreement" not in record:
        raise ValueError(f"figure {name}: the record must contain an 'agreement' entry")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    png, js = out / f"{name}.png", out / f"{name}.json"
    legible(fig)
    fig.savefig(png, bbox_inches="tight")
    plt.close(fig)
    record = {"name": name, "quick": quick, **record, "png": png.name}
    with open(js, "w", encoding="utf-8") as f:
        json.dump(to_jsonable(record), f, indent=1)
    record["png_path"], record["json_path"] = str(png), str(js)
    return record
