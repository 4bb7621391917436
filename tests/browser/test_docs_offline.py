"""The documentation site typesets its formulas with no network.

Built pages of ``docs/_build/html`` (``make docs``) are opened from ``file://`` in headless Chromium
with the network off: the browser context is offline (``context.set_offline(True)``) and every
request whose URL is not local (``file:``, ``data:``, ``blob:``, ``about:``) is aborted and counted.
After MathJax has finished its first typeset, every formula of the page (Sphinx writes each one as
an element of class ``math``) must hold MathJax output (``mjx-container``), none may be a MathJax
error (``mjx-merror``), and no raw TeX delimiter (``\\(``, ``\\[``, ``\\begin{``) may be left in
the page's text outside code blocks. One page of each kind is checked: the conventions (the most
formulas), a topic page, an executed notebook (myst-nb) and an API page (autodoc);
``IDEALNETS_DOCS_ALL_PAGES=1`` checks every built page that has a formula.

Set ``IDEALNETS_DOCS_SCREENSHOT=/path.png`` to keep a screenshot of the conventions page, offline.
Skipped, with the reason, when the site is not built, Playwright is not installed or the system's
Chromium is missing (``make test-browser`` installs them).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "docs" / "_build" / "html"
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
TIMEOUT_MS = 60_000

# the formulas of a page after MathJax's first typeset (its startup promise)
_TYPESET = """async () => {
  await window.MathJax.startup.promise;
  const formulas = Array.from(document.querySelectorAll('.math'));
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, mjx-container').forEach(e => e.remove());
  const text = body.textContent;
  return {
    version: window.MathJax.version,
    formulas: formulas.length,
    typeset: formulas.filter(e => e.querySelector('mjx-container')).length,
    containers: document.querySelectorAll('mjx-container').length,
    errors: document.querySelectorAll('mjx-merror').length,
    raw: ['\\\\(', '\\\\[', '\\\\begin{'].filter(d => text.includes(d)),
    drawn: Array.from(document.querySelectorAll('mjx-container svg'))
                .filter(s => s.getBoundingClientRect().width > 0).length,
  };
}"""


def _pages() -> list[str]:
    """One page of each kind with formulas: the conventions (Markdown, the most formulas), a topic
    page, the first tutorial (an executed notebook) and an API page (docstrings). With
    ``IDEALNETS_DOCS_ALL_PAGES=1``: every built page that has a formula."""
    if os.environ.get("IDEALNETS_DOCS_ALL_PAGES"):
        return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
                      if "_static" not in p.parts and 'class="math' in p.read_text(encoding="utf-8"))
    tutorials = sorted((HTML / "tutorials").glob("[0-9][0-9]_*.html"))
    return (["conventions.html", "reward.html"] + [f"tutorials/{p.name}" for p in tutorials[:1]]
            + ["api/generated/idealnets.theory.deep_linear.html"])


@pytest.fixture(scope="module", autouse=True)
def built_site():
    if not (HTML / "index.html").is_file():
        pytest.skip("docs/_build/html does not exist: run `make docs` first")


def _offline_page(browser, blocked: list[str]):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_offline(True)

    def route(r):
        url = r.request.url
        if url.startswith(LOCAL_SCHEMES):
            r.continue_()
        else:
            if url not in blocked:
                blocked.append(url)
            r.abort()

    context.route("**/*", route)
    # requests the router may not see (service workers, preloads) are counted too
    context.on("request", lambda req: None if req.url.startswith(LOCAL_SCHEMES) or req.url in blocked
               else blocked.append(req.url))
    return context, context.new_page()


@pytest.mark.parametrize("page_name", _pages())
def test_formulas_typeset_offline(browser, page_name):
    path = HTML / page_name
    assert path.is_file(), f"{page_name} was not built"
    html = path.read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html and "mathjax@" not in html, "the page still loads MathJax from a CDN"
    blocked: list[str] = []
    context, page = _offline_page(browser, blocked)
    try:
        page.goto(path.as_uri(), wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function("() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise",
                               timeout=TIMEOUT_MS)
        r = page.evaluate(_TYPESET)
        print(f"{page_name}: MathJax {r['version']}, {r['typeset']}/{r['formulas']} formulas typeset "
              f"({r['containers']} mjx-container, {r['drawn']} drawn), {r['errors']} errors, "
              f"{len(blocked)} non-file requests blocked")
        shot = os.environ.get("IDEALNETS_DOCS_SCREENSHOT")
        if shot and page_name == "conventions.html":
            page.evaluate("document.getElementById('deep-linear-networks').scrollIntoView()")
            page.screenshot(path=shot)
    finally:
        context.close()
    assert r["formulas"] > 0, f"{page_name} has no formula to check"
    assert r["typeset"] == r["formulas"], f"{r['formulas'] - r['typeset']} formulas of {page_name} not typeset"
    assert r["drawn"] > 0, "MathJax output has no visible size"
    assert r["errors"] == 0, f"{r['errors']} formulas of {page_name} are MathJax errors (unknown macro?)"
    assert not r["raw"], f"raw TeX left in {page_name}: {r['raw']}"
    assert not [u for u in blocked if "mathjax" in u.lower()], f"MathJax asked the network: {blocked}"
