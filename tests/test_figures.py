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


# ------------------------------------------------------------ legibility and the command line's timings


def test_legible_raises_every_text_to_the_print_floor():
    import matplotlib.pyplot as plt

    from idealnets.figures._common import MAX_FLOOR_PT, MIN_PRINT_PT, legible, min_font_pt, print_width

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].plot([0, 1], [0, 1], label="a line")
    axes[0].legend(fontsize=7)
    axes[1].set_title("a title", fontsize=8)
    axes[2].text(0.5, 0.5, "a note", fontsize=6)
    legible(fig)
    floor = min_font_pt(14.0)
    assert floor == pytest.approx(min(MAX_FLOOR_PT, MIN_PRINT_PT * 14.0 / print_width(14.0)))
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text()]
    assert sizes and min(sizes) >= floor - 1e-9
    # a figure up to 11 inches wide, printed at print_width, has no text under MIN_PRINT_PT
    for w in (4.0, 6.5, 9.5, 11.0):
        assert min_font_pt(w) * print_width(w) / w >= MIN_PRINT_PT - 1e-9
    plt.close(fig)
    assert print_width(30.0) == 6.5 and print_width(3.0) == 4.0


def test_jobs_groups_are_slowest_first_and_keep_cache_sharing_topics_together(tmp_path):
    from idealnets.figures._jobs import CACHE_SHARING_TOPICS, groups

    figs = figures.available()
    names = list(figs)
    (tmp_path / "timings.json").write_text(json.dumps(
        {"figures": {n: {"wall_s": 1.0, "cpu_s": float(i)} for i, n in enumerate(names)}}))
    tasks = groups(names, figs, str(tmp_path))
    assert sorted(n for t in tasks for n in t) == sorted(names)
    for t in tasks:
        topics = {figs[n].__name__.split(".")[-2] for n in t}
        assert len(t) == 1 or (len(topics) == 1 and topics <= set(CACHE_SHARING_TOPICS))
    cost = [sum(names.index(n) for n in t) for t in tasks]
    assert cost == sorted(cost, reverse=True)
    # no timings yet: every figure, in the order given
    assert [n for t in groups(names, figs, str(tmp_path / "none")) for n in t][:1] == names[:1]


def test_cli_timings_table_and_records(tmp_path, monkeypatch, capsys):
    import types

    import idealnets.figures.__main__ as cli

    def make(*, quick, device, out, seed):
        import matplotlib.pyplot as plt

        from idealnets.figures._common import save

        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1], [1, 0])
        return save(fig, {"params": {}, "data": {}, "agreement": {"dev": 0.5}}, name="fake", out=out, quick=quick)

    fake = types.ModuleType("idealnets.figures.topic.fake")
    fake.NAME, fake.make = "fake", make
    monkeypatch.setattr(cli, "available", lambda: {"fake": fake})
    assert cli.main(["fake", "--quick", "--jobs", "1", "--timings", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "CPU s" in out and "total (1 figures, 1 jobs)" in out
    table = json.loads((tmp_path / "timings.json").read_text())
    assert set(table["figures"]["fake"]) == {"wall_s", "cpu_s"} and table["total"]["complete"] is True
    rec = json.loads((tmp_path / "fake.json").read_text())
    assert set(rec["timing"]) == {"wall_s", "cpu_s"} and rec["agreement"] == {"dev": 0.5}
    assert cli.main(["fake", "--jobs", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--jobs" in err and len(err.strip().splitlines()) == 1
