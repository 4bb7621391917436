"""Every figure runs in quick mode and writes a PNG and a JSON with finite agreement measures
and define the README gallery's SECTION/CAPTION (see figures/gallery.py)."""
from __future__ import annotations

import json
import math

import pytest

import idealnets.figures as figures
from idealnets.figures.gallery import check_module

NAMES = list(figures.available())


def test_figures_are_registered():
    assert NAMES, "no figure modules found"


@pytest.mark.parametrize("name", NAMES)
def test_figure_quick(name, tmp_path):
    rec = figures.make(name, quick=True, device="cpu", out=tmp_path, seed=0)
    png, js = tmp_path / f"{name}.png", tmp_path / f"{name}.json"
    assert png.stat().st_size > 5000, "image is suspiciously small"
    data = json.loads(js.read_text())
    assert data["agreement"], "a figure must report its theory-vs-simulation agreement"
    for k, v in data["agreement"].items():
        assert v is not None, f"agreement {k} is NaN/inf/None"
        if isinstance(v, float):
            assert math.isfinite(v), k
    assert rec["name"] == name
    # SECTION and a well-formed CAPTION (rendered from the committed full-size record in
    # tests/test_gallery.py; quick records may name other sizes in their keys)
    check_module(figures.get(name))
