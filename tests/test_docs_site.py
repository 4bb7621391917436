"""The documentation site's sources, checked without building it (fast; ``make docs`` builds it).

* Math works offline: ``docs/conf.py`` points ``mathjax_path`` at a copy of MathJax inside the site
  (``_static/mathjax/``, copied from the pip package django-static-mathjax), never at a CDN.
  ``tests/browser/test_docs_offline.py`` checks the built pages in a browser with the network off.
* The index lists every page and every topic; every lesson has an instructor's guide, appears in the
  course plan and in the index, and the tutorials page lists the lessons by a glob.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CONF = (DOCS / "conf.py").read_text(encoding="utf-8")
LESSONS = sorted(p.stem for p in (ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


def _toctree(page: Path) -> list[str]:
    """The entries of the first toctree of a MyST page."""
    text = page.read_text(encoding="utf-8")
    block = re.search(r"```\{toctree\}\n(.*?)```", text, re.S)
    assert block, f"{page.name} has no toctree"
    return [ln.strip() for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith(":")]


def test_mathjax_is_local():
    assert "cdn." not in CONF and "https://" not in CONF.split("mathjax_path")[1].splitlines()[0]
    m = re.search(r'^MATHJAX_FILE = "([\w.-]+\.js)"$', CONF, re.M)
    assert m, "conf.py names the MathJax component it loads (MATHJAX_FILE)"
    assert re.search(r'^mathjax_path = f"mathjax/\{MATHJAX_FILE\}"$', CONF, re.M), \
        "mathjax_path is relative to _static/ (the copy made at build time)"
    assert 'app.connect("build-finished", _copy_mathjax)' in CONF


def test_mathjax_package_ships_the_component():
    mathjax = pytest.importorskip("mathjax", reason="django-static-mathjax (the docs extra) is not installed")
    es5 = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    name = re.search(r'^MATHJAX_FILE = "([\w.-]+)"$', CONF, re.M).group(1)
    assert (es5 / name).is_file()
    assert (es5 / "output" / "svg.js").is_file() or (es5 / "output" / "chtml.js").is_file()
    assert (es5.parent / "LICENSE").is_file()


def test_index_lists_every_page():
    entries = _toctree(DOCS / "index.md")
    pages = {p.stem for p in DOCS.glob("*.md")} - {"index"}
    pages |= {"gallery", "api/index", "instructors/index"}     # gallery.md is generated at build time
    assert pages <= set(entries), f"pages missing from the index toctree: {sorted(pages - set(entries))}"


def test_index_links_every_topic_to_its_figures():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    labels = re.findall(r'^    "[^"]+": "([\w-]+)",$', CONF.split("GALLERY_LABELS = {")[1].split("}")[0], re.M)
    assert len(labels) >= 14
    missing = [k for k in labels if f"<gallery-{k}>" not in index]
    assert not missing, f"gallery sections the index does not link: {missing}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_has_a_guide_a_session_and_an_index_entry(lesson):
    guide = DOCS / "instructors" / f"{lesson}.md"
    assert guide.is_file(), f"lesson {lesson} has no instructor's guide (docs/instructors/{lesson}.md)"
    text = guide.read_text(encoding="utf-8")
    for heading in ("Learning goals", "Timing", "Expected outputs", "Common mistakes",
                    "Discussion questions", "Paper section"):
        assert f"\n## {heading}\n" in text, f"{guide.name} lacks the section '{heading}'"
    assert f"../tutorials/{lesson}" in text, f"{guide.name} does not link its rendered notebook"
    key = "{{ lesson_%s }}" % lesson[:2]
    assert key in (DOCS / "instructors" / "course_plan.md").read_text(encoding="utf-8"), \
        f"the course plan has no session for lesson {lesson}"
    assert key in (DOCS / "index.md").read_text(encoding="utf-8"), f"the index does not name lesson {lesson}"


def test_guides_and_lessons_are_globbed():
    assert _toctree(DOCS / "tutorials.md") == ["tutorials/*"]
    assert "[0-9][0-9]_*" in _toctree(DOCS / "instructors" / "index.md")
