# Two commands reproduce everything on a fresh machine with Python >= 3.10:
#   make figures   -> every figure (PNG + JSON) into figures/out/, with a per-figure time table
#   make test      -> the default (fast) test suite
# Both create .venv on first use. The venv sees the system site-packages, so
# an already-installed torch >= 2.1 is used as it is instead of downloaded.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
OUT    ?= figures/out
DEVICE ?= auto
FIGS   ?= all

.PHONY: install figures figures-quick gallery tutorials docs test test-slow test-browser explore bench paper clean

install: $(STAMP)

$(STAMP): setup.py
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "idealnets needs Python >= 3.10"; exit 1; }
	$(PYTHON) -m venv --system-site-packages $(VENV) || \
	  { echo "'$(PYTHON) -m venv' failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
	@# Use an installed torch >= 2.1 if there is one; else the CPU build
	@# (2.13.0) when the platform offers it, else any torch >= 2.1.
	$(PY) -c 'import torch, sys; v = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2]); sys.exit(v < (2, 1))' 2>/dev/null || \
	  $(PY) -m pip install -q "torch==2.13.0" || $(PY) -m pip install -q "torch>=2.1"
	$(PY) -m pip install -q -e ".[test]"
	@touch $(STAMP)

figures: $(STAMP)
	$(PY) -m idealnets.figures $(FIGS) --timings --device $(DEVICE) --out $(OUT)

# README gallery + paper/generated/{numbers,agreement_table}.tex from figures/out/*.json
# (run after `make figures`, then commit; the test suite fails while they are out of date).
gallery: $(STAMP)
	$(PY) -m idealnets.figures.gallery

# tutorials/NN_*.py (jupytext) -> tutorials/build/{student,instructor}/NN_*.ipynb
tutorials: $(STAMP)
	$(PY) tutorials/build.py

# Sphinx site into docs/_build/html (API reference, gallery, tutorials executed at build time;
# warnings are errors). Installs the "docs" extra into the venv on first use.
docs: $(STAMP) tutorials
	$(PY) -c 'import sphinx, myst_nb, furo, mathjax' 2>/dev/null || $(PY) -m pip install -q -e ".[docs]"
	IDEALNETS_STATIC=1 OMP_NUM_THREADS=1 $(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

figures-quick: $(STAMP)
	$(PY) -m idealnets.figures $(FIGS) --quick --device $(DEVICE) --out $(OUT)/quick

# On every core (pytest-xdist, -n auto), one BLAS/torch thread per worker.
test: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -n auto

test-slow: $(STAMP)
	IDEALNETS_HYPOTHESIS=slow $(PY) -m pytest -q -m "slow or hypothesis"

# The live explorer (a Bokeh server on localhost; opens the browser): python -m idealnets.explore --help
explore: $(STAMP)
	$(PY) -m idealnets.explore

# Tests in a real headless browser (tests/browser/, marked browser): the system's Chromium, driven by
# Playwright (its own browser download is not used). Installs both when missing.
test-browser: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 || { echo "make test-browser: chromium is missing and apt-get is unavailable: install Chromium with your package manager"; exit 1; }; \
	  apt-get install -y chromium chromium-driver || { apt-get update && apt-get install -y chromium chromium-driver; }; }
	$(PY) -c 'import playwright' 2>/dev/null || $(PY) -m pip install -q "playwright>=1.40"
	$(PY) -m pytest -q -m browser tests/browser

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

# paper/main.pdf. Installs nothing: if latexmk, pdflatex, bibtex or a LaTeX package the paper uses
# is missing, it says which, in one line, and stops.
PAPER_TOOLS := latexmk pdflatex bibtex kpsewhich
PAPER_STY   := geometry amsmath amssymb graphicx array longtable natbib placeins xcolor hyperref
paper:
	@missing=""; for t in $(PAPER_TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	 if command -v kpsewhich >/dev/null 2>&1; then for p in $(PAPER_STY); do \
	   [ -n "$$(kpsewhich $$p.sty)" ] || missing="$$missing $$p.sty"; done; fi; \
	 [ -z "$$missing" ] || { echo "make paper: missing$$missing (Debian/Ubuntu: apt-get install latexmk texlive-latex-extra texlive-fonts-recommended)"; exit 1; }
	cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error main.tex

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info tutorials/build docs/_build docs/api/generated docs/tutorials
