"""The committed full-size records in ``figures/out/`` hold to their figures' tolerances.

Every figure module may declare ``TOLERANCES`` (see :mod:`idealnets.figures.gallery`):
per agreement key (or ``max_of``/``min_of`` pattern), a bound, the test that holds the
value to it, and where the bound comes from. Tests named there assert the same quantity
at their own, usually smaller, size; this test holds the full-size values that the README
gallery and the paper's agreement table quote to the same bounds, so a regenerated figure
whose agreement drifts outside what its error sources allow fails the suite. Reads JSON
only (fast).
"""
from __future__ import annotations

import fnmatch

import pytest

from idealnets.figures import available, gallery

MODULES = available()
RECORDS = gallery.load_records()
WITH_TOLERANCES = sorted(n for n in MODULES if getattr(MODULES[n], "TOLERANCES", None))


def _matching(agreement: dict, key: str) -> dict:
    if key in agreement:
        return {key: agreement[key]}
    return {k: v for k, v in agreement.items() if fnmatch.fnmatchcase(k, key)}


@pytest.mark.parametrize("name", WITH_TOLERANCES)
def test_records_within_tolerances(name):
    if name not in RECORDS:
        pytest.skip(f"{name} has no record in figures/out yet (make figures FIGS={name})")
    agreement = RECORDS[name]["agreement"]
    outside = []
    for key, tol in gallery.tolerances(MODULES[name]).items():
        values = _matching(agreement, key)
        assert values, f"{name}: TOLERANCES key {key!r} matches no agreement key of its record"
        outside += [f"{k} = {v!r} not within {tol.bound} ({tol.reason or tol.test})"
                    for k, v in values.items() if not tol.holds(v)]
    assert not outside, f"{name}: committed record outside its tolerances: " + "; ".join(outside)


def test_tolerance_bounds_are_checked_both_ways():
    upper = gallery.Tolerance(0.1, gallery.RECORD_TEST, "x")
    interval = gallery.Tolerance((1.6, 2.4), gallery.RECORD_TEST, "x")
    assert upper.holds(0.1) and not upper.holds(0.11) and not upper.holds(float("nan"))
    assert interval.holds(2.0) and not interval.holds(1.5) and not interval.holds(2.5)
    assert interval.holds(1.6) and not upper.holds(True)


def test_reasons_typeset_their_symbols():
    """A reason's <=, +-, ~, |x| and exponents become TeX, and specials are escaped (no stray '<' that
    the text font prints as an inverted exclamation mark)."""
    tex = gallery.reason_tex("O(N^-1/2) at N = 500, <= 3 SE +- 1% ~ |u_B|^2/2 e^(-lr k)")
    assert tex == (r"O(N\textsuperscript{-1/2}) at N = 500, $\le$ 3 SE $\pm$ 1\% $\sim$ "
                   r"$|$u\_B$|$\textsuperscript{2}/2 e\textsuperscript{-lr k}")
    every = " ".join(t.reason for m in MODULES.values() for t in gallery.tolerances(m).values())
    assert not set("<>~|^") & set(gallery.reason_tex(every).replace("$<$", "").replace("$>$", "")
                                  .replace("$|$", "").replace("$\\sim$", ""))
