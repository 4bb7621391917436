"""Numbers that cannot drift: README gallery and paper numbers against the JSON records.

``idealnets.figures.gallery`` renders the README gallery, ``paper/generated/numbers.tex`` and
``paper/generated/agreement_table.tex`` from the committed ``figures/out/*.json``. These
tests fail when any of them differs from what the records give (fix: ``make gallery``
and commit), when a figure module lacks ``SECTION``/``CAPTION``, when a caption
references a key its record lacks, and when a paper section quotes ``\\agr{fig}{key}``
for a key no record has.
"""
from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

import idealnets.figures as figures
from idealnets.figures import gallery

ROOT = Path(__file__).resolve().parent.parent
RECORDS = gallery.load_records()
MODULES = figures.available()
AGR = re.compile(r"\\agr(?:pct)?\{([^}]*)\}\{([^}]*)\}")


def test_generated_files_match_records():
    problems = gallery.check()
    assert not problems, ("generated numbers are out of date; run `make gallery` and commit:\n"
                          + "\n".join(problems)[:4000])


@pytest.mark.parametrize("name", list(MODULES))
def test_every_figure_has_a_rendered_caption(name):
    mod = MODULES[name]
    assert name in RECORDS, f"no committed figures/out/{name}.json"
    cap = gallery.render_caption(mod, RECORDS[name])
    assert "{" not in cap and "}" not in cap, cap


def test_paper_quotes_only_recorded_numbers():
    tex = [p for p in (ROOT / "paper").rglob("*.tex") if "generated" not in p.parts]
    missing = []
    for p in tex:
        text = re.sub(r"(?<!\\)%.*", "", p.read_text(encoding="utf-8"))   # drop TeX comments
        for fig, key in AGR.findall(text):
            if fig not in RECORDS or key not in RECORDS[fig]["agreement"]:
                missing.append(f"{p.relative_to(ROOT)}: \\agr{{{fig}}}{{{key}}}")
    assert not missing, "quoted agreement with no record:\n" + "\n".join(missing)


# ------------------------------------------------------------------ the checker itself can fail


def _fake(caption: str, section: str | None = "Test section") -> types.ModuleType:
    mod = types.ModuleType("figures.fake")
    mod.NAME, mod.TITLE, mod.CAPTION = "fake", "A fake figure", caption
    if section is not None:
        mod.SECTION = section
    return mod


RECORD = {"name": "fake", "agreement": {"dev_a": 0.0123, "dev_b": 0.5, "ok": True}, "params": {"N": 500}}


def test_caption_renders_agreement_params_and_extremes():
    mod = _fake("dev {agreement[dev_a]:.2g} at N = {params[N]}; "
                "range {min_of[dev_*]:.1%}-{max_of[dev_*]:.0%}")
    assert gallery.render_caption(mod, RECORD) == "dev 0.012 at N = 500; range 1.2%-50%"


@pytest.mark.parametrize("caption", ["{agreement[nope]:.2g}", "{params[nope]}", "{max_of[zz_*]}",
                                     "{other}", "{agreement[dev_a]:d}"])
def test_bad_caption_fails_naming_the_figure(caption):
    with pytest.raises(gallery.GalleryError, match="fake"):
        gallery.render_caption(_fake(caption), RECORD)


def test_module_without_section_or_caption_fails():
    with pytest.raises(gallery.GalleryError, match="SECTION"):
        gallery.render_caption(_fake("x", section=None), RECORD)
    with pytest.raises(gallery.GalleryError, match="CAPTION"):
        gallery.gallery_markdown({"fake": _fake("")}, {"fake": RECORD})


def test_figure_without_record_fails():
    with pytest.raises(gallery.GalleryError, match="make figures FIGS=fake"):
        gallery.gallery_markdown({"fake": _fake("x")}, {})


def test_changed_record_changes_the_generated_numbers():
    mod = _fake("dev {agreement[dev_a]:.2g}")
    md = gallery.gallery_markdown({"fake": mod}, {"fake": RECORD})
    rec2 = {**RECORD, "agreement": {**RECORD["agreement"], "dev_a": 0.0456}}
    assert "dev 0.012" in md and "dev 0.046" in gallery.gallery_markdown({"fake": mod}, {"fake": rec2})
    tex = gallery.numbers_tex({"fake": RECORD})
    assert r"\@namedef{agr@fake@dev_a}{0.0123}" in tex
    assert r"\@namedef{agrpct@fake@dev_a}{1.2}" in tex
    assert r"\@namedef{agr@fake@ok}{\text{true}}" in tex


def test_quick_records_are_rejected(tmp_path):
    (tmp_path / "fake.json").write_text('{"quick": true, "agreement": {"a": 1.0}}')
    with pytest.raises(gallery.GalleryError, match="quick"):
        gallery.load_records(tmp_path)


def test_readme_markers():
    text = f"head\n{gallery.BEGIN}\nold\n{gallery.END}\ntail\n"
    assert gallery.render_readme(text, "new\n") == f"head\n{gallery.BEGIN}\nnew\n{gallery.END}\ntail\n"
    with pytest.raises(gallery.GalleryError, match="exactly once"):
        gallery.render_readme("no markers", "x")


def test_check_reports_a_hand_edited_number(tmp_path):
    readme = tmp_path / "README.md"
    gen = tmp_path / "generated"
    readme.write_text((ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    assert gallery.write(readme, gen) and not gallery.check(readme, gen)
    text = readme.read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if "deep_linear_modes.png" in ln)
    num = re.search(r"\d+\.\d+", line).group(0)              # the first quoted number
    edited = line.replace(num, f"{float(num) + 1:.3f}", 1)    # a hand edit that disagrees with the record
    readme.write_text(text.replace(line, edited), encoding="utf-8")
    problems = gallery.check(readme, gen)
    assert len(problems) == 1 and f"{float(num) + 1:.3f}" in problems[0]


@pytest.mark.parametrize("v, want", [(0.0079528, "0.00795"), (82.6335, "82.6"), (1.0, "1.00"),
                                     (0.095037, "0.0950"), (1234.5, "1230"), (0.0, "0"),
                                     (1.2465e-40, r"1.25\times10^{-40}"), (-0.50422, "-0.504"),
                                     (3.5e5, r"3.50\times10^{5}"), (198, "198"), (9999.7, r"1.00\times10^{4}"),
                                     (1.9995, "2.00"), (0.99999999846, "1.00")])
def test_format_number(v, want):
    assert gallery.format_number(v) == want
