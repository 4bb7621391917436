"""The manuscript in ``paper/`` as a reader gets it.

Without TeX (always run): every gallery figure is included by a section that
``paper/main.tex`` inputs, and every ``TOLERANCES`` entry of a figure module names an
agreement key of its record (or a pattern its caption quotes) and a test that exists.

With ``latexmk`` (skipped, saying so, when it is absent): the paper builds into a
temporary folder, and the build has no undefined reference, citation or agreement
number, every gallery figure's image in it, no figure placed after the start of the
bibliography, no overfull line wider than 10 pt and no float too large for its page.
A full build takes about 30 s on two shared cores.

Figure modules of topics whose section is not merged into the paper yet fail the
"every gallery figure" checks by design: the check names them.
"""
from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import idealnets.figures as figures
from idealnets.figures import gallery

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "paper"
MODULES = figures.available()
OVERFULL_PT = 10.0


def _sections() -> list[Path]:
    """The section files main.tex reads, through \\topic{NAME} or \\input{sections/NAME}."""
    text = re.sub(r"(?<!\\)%.*", "", (PAPER / "main.tex").read_text(encoding="utf-8"))
    names = re.findall(r"\\topic\{([^}]+)\}", text) + re.findall(r"\\input\{sections/([^}]+)\}", text)
    return [PAPER / "sections" / f"{n.removesuffix('.tex')}.tex" for n in names if "#" not in n]


def _included_images() -> set[str]:
    out = set()
    for p in _sections():
        text = re.sub(r"(?<!\\)%.*", "", p.read_text(encoding="utf-8"))
        out |= {Path(f).stem for f in re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]+)\}", text)}
    return out


def test_main_inputs_existing_sections():
    missing = [str(p.relative_to(ROOT)) for p in _sections() if not p.exists()]
    assert not missing, f"main.tex inputs sections that do not exist: {missing}"


def test_every_gallery_figure_is_in_a_section():
    missing = sorted(set(MODULES) - _included_images())
    assert not missing, ("gallery figures that no section of the paper includes "
                         f"(\\includegraphics{{NAME.png}} in the section that discusses it): {missing}")


def _included_widths() -> dict[str, float]:
    """Each included gallery image and the fraction of the text width it is printed at."""
    out = {}
    for p in _sections():
        text = re.sub(r"(?<!\\)%.*", "", p.read_text(encoding="utf-8"))
        for opts, f in re.findall(r"\\includegraphics(?:\[([^\]]*)\])?\{([^}]+)\}", text):
            m = re.search(r"width\s*=\s*([0-9.]*)\\(?:linewidth|textwidth)", opts or "")
            assert m, f"{p.name}: \\includegraphics{{{f}}} needs width=F\\linewidth (its print size is checked)"
            out[Path(f).stem] = float(m.group(1) or 1.0)
    return out


def test_figure_text_prints_at_7pt_or_more():
    """A figure's smallest text (raised by ``legible`` to ``min_font_pt`` of its drawn width) still
    prints at >= 7 pt at the width the paper includes it at (the text width is 6.5 in)."""
    from PIL import Image

    from idealnets.figures._common import MIN_PRINT_PT, PRINT_WIDTH_MAX_IN, min_font_pt

    small = []
    for name, frac in sorted(_included_widths().items()):
        png = ROOT / "figures" / "out" / f"{name}.png"
        if name not in MODULES or not png.exists():
            continue
        with Image.open(png) as im:
            drawn_in = im.size[0] / im.info.get("dpi", (100, 100))[0]
        printed_pt = min_font_pt(drawn_in) * frac * PRINT_WIDTH_MAX_IN / drawn_in
        if printed_pt < MIN_PRINT_PT - 0.05:
            small.append(f"{name} ({drawn_in:.1f} in drawn, at {frac:g} of the text width: {printed_pt:.1f} pt)")
    assert not small, ("figures whose smallest text prints below 7 pt in the paper (draw them at most "
                       f"11.5 in wide, or two rows of panels): {small}")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if getattr(MODULES[n], "TOLERANCES", None)))
def test_tolerances_name_recorded_keys_and_existing_tests(name):
    mod = MODULES[name]
    tols = gallery.tolerances(mod)             # raises on a malformed entry
    records = gallery.load_records()
    if name not in records:
        pytest.skip(f"{name} has no record in figures/out yet (make figures FIGS={name})")
    agreement = records[name]["agreement"]
    quoted = [key for kind, key in (re.match(r"(\w+)\[([^\]]+)\]", f).groups()
                                    for f in gallery.caption_fields(mod.CAPTION)) if kind in ("max_of", "min_of")]
    for key, tol in tols.items():
        test = tol.test
        assert key in agreement or key in quoted, f"{name}: TOLERANCES key {key!r} is not in its record"
        path, func = test.split("::")
        src = ROOT / path
        assert src.exists(), f"{name}: {key} cites {path}, which does not exist"
        assert re.search(rf"^\s*def {re.escape(func)}\(", src.read_text(encoding="utf-8"), re.M), \
            f"{name}: {key} cites {test}, which does not exist"
        if key in quoted:
            assert any(fnmatch.fnmatchcase(k, key) for k in agreement)


# ---------------------------------------------------------------------------------- the build

needs_latexmk = pytest.mark.skipif(
    shutil.which("latexmk") is None or shutil.which("pdflatex") is None,
    reason="latexmk/pdflatex not installed (apt-get install latexmk texlive-latex-extra "
           "texlive-fonts-recommended); `make paper` says which parts are missing")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper")
    proc = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                           f"-outdir={out}", "main.tex"], cwd=PAPER, capture_output=True, text=True,
                          timeout=600)
    log = (out / "main.log").read_text(encoding="utf-8", errors="replace") if (out / "main.log").exists() else ""
    assert proc.returncode == 0 and (out / "main.pdf").exists(), \
        f"latexmk failed:\n{proc.stdout[-3000:]}\n{log[-3000:]}"
    aux = (out / "main.aux").read_text(encoding="utf-8", errors="replace")
    # latexmk records every file pdflatex read (-recorder), one per line, in main.fls
    fls = (out / "main.fls").read_text(encoding="utf-8", errors="replace")
    return log, aux, fls


def _label_pages(aux: str) -> dict[str, int]:
    # \newlabel{fig:x}{{12}{34}{...}{...}{}} (hyperref): the second group is the page
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"\\newlabel\{([^}]+)\}\{\{[^{}]*\}\{(\d+)\}", aux)}


@needs_latexmk
def test_no_undefined_reference_citation_or_number(build):
    log, _, _ = build
    bad = re.findall(r"(LaTeX Warning: (?:Reference|Citation)[^\n]*undefined[^\n]*"
                     r"|Package numbers Warning: Unknown agreement[^\n]*"
                     r"|LaTeX Warning: There were undefined references)", log)
    assert not bad, "\n".join(bad)


@needs_latexmk
def test_every_gallery_figure_is_in_the_pdf(build):
    _, aux, fls = build
    images = set(re.findall(r"^INPUT .*figures/out/+([\w.-]+)\.png$", fls, re.M))
    labels = _label_pages(aux)
    missing = sorted(n for n in MODULES if n not in images or f"fig:{n}" not in labels)
    assert not missing, ("gallery figures missing from the built paper (image, or \\label{fig:NAME} "
                         f"in its float): {missing}")


@needs_latexmk
def test_no_figure_after_the_bibliography(build):
    _, aux, _ = build
    pages = _label_pages(aux)
    assert "bibliography" in pages, "main.tex lost its \\label{bibliography} before \\bibliography"
    late = {k: p for k, p in pages.items() if k.startswith("fig:") and p > pages["bibliography"]}
    assert not late, f"figures placed after the bibliography (page {pages['bibliography']}): {late}"


@needs_latexmk
def test_no_overfull_box_over_10pt_or_float_too_large(build):
    log, _, _ = build
    wide = [m.group(0) for m in re.finditer(r"Overfull \\hbox \(([\d.]+)pt too wide\)[^\n]*", log)
            if float(m.group(1)) > OVERFULL_PT]
    large = re.findall(r"LaTeX Warning: Float too large[^\n]*", log)
    assert not wide and not large, "\n".join(wide + large)
