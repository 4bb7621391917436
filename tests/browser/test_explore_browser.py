"""The live explorer in a real headless browser: slider, button, progress, and no request off the machine.

``python -m idealnets.explore --port P --no-browser`` runs in a subprocess on a free port; the
system's Chromium (``/usr/bin/chromium``), driven by Playwright, opens its pages. Every request to a
host other than the server is aborted and counted (the app must work offline: BokehJS comes from
the server itself). On the deep-linear page a slider is moved with the keyboard (its handle focused,
ArrowRight) and the theory's data source must change; the train button is clicked and the progress
text must end in "done" with the simulated mode strengths drawn. On the committee page the button
starts a longer run: the progress text counts while it runs, the button is disabled, and the curve
appears at the end. Finally the tab page (``/``) with every view loads, and every tab shows
without a JavaScript error.

Set ``IDEALNETS_EXPLORE_SCREENSHOTS=/some/dir`` to keep the screenshots (else they go to a tmp dir).
Skipped, with the reason, when Playwright or the system's Chromium is missing (``make test-browser``
installs them).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LOCAL_SCHEMES = ("data:", "blob:", "about:")
TIMEOUT_MS = 120_000  # the machine may be loaded: generous, the waits end as soon as the page is ready


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("bokeh", reason="the explorer needs bokeh (pip install 'idealnets[explore]')")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "idealnets.explore", "--port", str(port), "--no-browser"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "idealnets explorer: http://localhost:" in line or not line and proc.poll() is not None:
                break
        assert f"http://localhost:{port}/" in line, f"the server did not start: {line!r}"
        yield f"http://localhost:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    d = os.environ.get("IDEALNETS_EXPLORE_SCREENSHOTS")
    path = Path(d) if d else tmp_path_factory.mktemp("explore_shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _page(browser, base: str, external: list[str]):
    """A page whose requests to any host but the server are aborted and listed in ``external``."""
    context = browser.new_context(viewport={"width": 1600, "height": 900})

    def route(r):
        url = r.request.url
        if url.startswith(base) or url.startswith(base.replace("localhost", "127.0.0.1")) \
                or url.startswith(LOCAL_SCHEMES):
            r.continue_()
        else:
            external.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


@contextmanager
def _offline_page(browser, base: str):
    """A page (see :func:`_page`), closed at the end; then no JavaScript error and no request off the
    machine may have happened (not checked when the body failed: its own error is the report)."""
    external: list[str] = []
    context, page, errors = _page(browser, base, external)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not external, f"the page asked for other hosts: {external}"


def _model(page, name: str, expr: str):
    """Evaluate ``expr`` (JavaScript, with ``m`` the Bokeh model named ``name``) in the page."""
    return page.evaluate(f"() => {{ const m = Bokeh.documents[0].get_model_by_name({name!r}); return {expr}; }}")


def _wait_model(page, name: str, cond: str, timeout=TIMEOUT_MS):
    page.wait_for_function(
        f"() => {{ if (!window.Bokeh || !Bokeh.documents.length) return false;"
        f" const m = Bokeh.documents[0].get_model_by_name({name!r}); return m != null && ({cond}); }}",
        timeout=timeout)


SUM_U = "Array.from(m.data.u).reduce((a, b) => a + b, 0)"


def test_slider_moves_the_theory_and_the_button_draws_the_ensemble(server, browser, shots):
    with _offline_page(browser, server) as page:
        page.goto(f"{server}/deep_linear", wait_until="load", timeout=TIMEOUT_MS)
        _wait_model(page, "deep_linear-theory1", "m.data.u && m.data.u.length > 0")
        page.locator(".noUi-handle").first.wait_for(timeout=TIMEOUT_MS)
        before = _model(page, "deep_linear-theory1", SUM_U)
        depth = _model(page, "deep_linear-depth", "m.value")
        # move the first slider (depth) one step with the keyboard, as a user tabbing to it would
        handle = page.locator(".noUi-handle").first
        handle.focus()
        handle.press("ArrowRight")
        _wait_model(page, "deep_linear-depth", f"m.value != {depth}")
        _wait_model(page, "deep_linear-theory1", f"Math.abs({SUM_U} - {before}) > 1e-9")
        assert _model(page, "deep_linear-depth", "m.value") == depth + 1
        assert _model(page, "deep_linear-error", "m.text") == ""
        page.screenshot(path=str(shots / "deep_linear_slider.png"))
        # the button trains the ensemble; the progress text ends in "Training finished", the markers appear
        assert _model(page, "deep_linear-sim1", "m.data.u.length") == 0
        page.get_by_role("button", name="Train 3 networks").click()
        _wait_model(page, "deep_linear-progress", "m.text.startsWith('Training finished')")
        n = _model(page, "deep_linear-sim1", "m.data.u.length")
        assert n > 10, n
        assert _model(page, "deep_linear-train", "m.disabled") is False
        assert _model(page, "deep_linear-error", "m.text") == ""
        page.wait_for_timeout(500)  # let the markers render
        page.screenshot(path=str(shots / "deep_linear_trained.png"))


def test_progress_counts_while_a_longer_run_trains(server, browser, shots):
    with _offline_page(browser, server) as page:
        page.goto(f"{server}/committee", wait_until="load", timeout=TIMEOUT_MS)
        _wait_model(page, "committee-theory", "m.data.eps && m.data.eps.length > 0")
        page.get_by_role("button", name="Train 3 networks").click()
        # while it runs: the button is disabled and the progress text counts seconds
        _wait_model(page, "committee-progress", "m.text.startsWith('Training:')")
        assert _model(page, "committee-train", "m.disabled") is True
        page.screenshot(path=str(shots / "committee_training.png"))
        _wait_model(page, "committee-progress", "m.text.startsWith('Training finished')")
        assert _model(page, "committee-sim", "m.data.eps.length") > 10
        assert _model(page, "committee-train", "m.disabled") is False
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / "committee_trained.png"))


def test_every_view_loads_as_tabs(server, browser, shots):
    with _offline_page(browser, server) as page:
        page.goto(server + "/", wait_until="load", timeout=TIMEOUT_MS)
        _wait_model(page, "tabs", "m.tabs.length >= 4")
        names = _model(page, "tabs", "m.tabs.map(t => t.title)")
        for view in ("deep_linear", "semantic", "generalization", "committee", "continual"):
            assert _model(page, f"{view}-error", "m.text") == "", view
        for i, title in enumerate(names):  # show every tab: each must render without an error
            page.locator(".bk-tab").filter(has_text=title).click()
            _wait_model(page, "tabs", f"m.active == {i}")
            page.wait_for_timeout(1000)
            if title in ("Semantic development", "Continual learning"):
                page.screenshot(path=str(shots / f"tab_{title.split()[0].lower()}.png"))
    assert len(names) == 5, names
