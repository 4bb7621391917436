"""idealnets: analytical theory of learning in idealized neural networks.

Closed-form learning dynamics (``idealnets.theory``), batched PyTorch ensembles that
check them (``idealnets.simulate``) and the figures that show the two together
(``idealnets.figures``).
"""
from setuptools import find_packages, setup

# One import name: the top-level folders theory/, simulate/, figures/, sweeps/ and explore/
# are installed as idealnets.theory, idealnets.simulate, idealnets.figures,
# idealnets.sweeps and idealnets.explore (with their subpackages); idealnets/ holds the package root.
SUBPACKAGES = ("theory", "simulate", "figures", "sweeps", "explore")
PACKAGES = ["idealnets"]
PACKAGE_DIR = {"idealnets": "idealnets"}
for _top in SUBPACKAGES:
    for _pkg in [_top, *(f"{_top}.{p}" for p in find_packages(_top))]:
        PACKAGES.append(f"idealnets.{_pkg}")
        PACKAGE_DIR[f"idealnets.{_pkg}"] = _pkg.replace(".", "/")

setup(
    name="idealnets",
    version="0.2.0",
    description=(
        "Exact learning dynamics of idealized neural networks, "
        "checked against trained ensembles"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    install_requires=[
        "numpy>=1.23",
        "scipy>=1.9",
        "sympy>=1.11",
        "torch>=2.1",
        "matplotlib>=3.6",
        "tqdm>=4.60",
        "dask>=2023.1",
        "distributed>=2023.1",
        "xarray>=2023.1",
    ],
    extras_require={
        # the default test suite builds and executes the tutorials (tests/test_tutorials.py)
        "test": [
            "pytest>=7",
            # make test runs the suite on every core (pytest -n auto)
            "pytest-xdist>=3.5",
            "hypothesis>=6.80",
            "jupytext>=1.16",
            "nbformat>=5.9",
            "nbclient>=0.10",
            "ipykernel>=6.29",
            "ipywidgets>=8.1",
            # tests/test_explore.py builds the explorer's documents
            "bokeh>=3.4",
        ],
        # make docs: Sphinx site with the API reference, gallery and rendered tutorials
        # (django-static-mathjax carries MathJax 3, copied into the site so formulas render offline)
        "docs": ["sphinx>=7.2", "myst-nb>=1.1", "furo>=2024.1", "django-static-mathjax>=3.2.2"],
        # python -m idealnets.explore: the live explorer (a Bokeh server app)
        "explore": ["bokeh>=3.4"],
        # make test-browser: headless Chromium (the system's) driven by Playwright
        "browser": ["playwright>=1.40"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
