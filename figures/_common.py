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
    fig.savefig(png, bbox_inches="tight")
    plt.close(fig)
    record = {"name": name, "quick": quick, **record, "png": png.name}
    with open(js, "w", encoding="utf-8") as f:
        json.dump(to_jsonable(record), f, indent=1)
    record["png_path"], record["json_path"] = str(png), str(js)
    return record
