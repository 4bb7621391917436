"""Numbers that cannot drift: the README gallery and the paper's numbers, generated.

Every agreement number quoted in ``README.md`` and in ``paper/`` comes from the
figures' JSON records in ``figures/out/`` (written by ``make figures``):

* **README gallery.** Each figure module defines ``SECTION`` (the gallery
  heading it belongs under) and ``CAPTION``, a Markdown :meth:`str.format`
  template rendered with the record's ``agreement`` and ``params`` dicts, e.g.
  ``"max deviation {agreement[max_dev_D1]:.2g} s"``. Two helpers take a
  shell-style pattern over agreement keys: ``{max_of[rel_dev_test_*]:.1%}``
  and ``{min_of[rel_dev_test_*]:.1%}`` (largest / smallest matching value), so a
  caption can quote a range without naming which condition is the worst. The
  gallery is written between ``<!-- gallery:begin -->`` and
  ``<!-- gallery:end -->`` in the README, grouped by ``SECTION``.
* **Paper macros.** ``paper/generated/numbers.tex`` defines, for every agreement
  value of every record, ``\\agr{figure}{key}`` (3 significant digits; a power of
  ten outside ``[1e-4, 1e4)``) and ``\\agrpct{figure}{key}`` (the value times
  100, 2 significant digits, for "within 2.2\\%"). An unknown figure/key prints
  a bold ``??`` and a LaTeX warning; the test suite fails on it first.
* **Paper table.** ``paper/generated/agreement_table.tex`` is the closing
  summary table, one row per agreement value a caption quotes (and per key with a
  tolerance): a readable name (:func:`readable_key`), the measured value, the
  tolerance the test suite holds it to and that test, and the figure. Tolerances
  come from the figure module's optional ``TOLERANCES`` constant,
  ``{"<agreement key>": (tol, "tests/test_x.py::test_name", "reason")}``: ``tol``
  bounds the value from above, or is an interval ``(lo, hi)`` it must lie in (``hi``
  may be ``inf``); the key may also be a ``max_of``/``min_of`` pattern the caption
  quotes (the bound then holds for every matching key). The test either asserts the
  same quantity at that bound (at its own size), or is
  ``tests/test_records.py::test_records_within_tolerances``, which holds every
  committed full-size record to every entry of its module (the table says "record").
  The optional reason says, for a reader, where the bound comes from (sampling noise,
  finite size, learning-rate discretisation, the claim the caption makes).
  A quoted key without an entry reads "not tested".

``python -m idealnets.figures.gallery`` (``make gallery``) rewrites all three;
``python -m idealnets.figures.gallery --check`` exits 1 and names what differs.
``tests/test_gallery.py`` runs the check in the default suite, so a README or
paper number that disagrees with a committed record fails the tests. New
figure modules need no change here: they appear under their ``SECTION``
(sections and figures not in the preferred order below follow it, sorted).
"""
from __future__ import annotations

import argparse
import difflib
import fnmatch
import json
import math
import re
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping

from idealnets.figures import available
from idealnets.figures._common import DEFAULT_OUT

__all__ = [
    "BEGIN",
    "END",
    "GalleryError",
    "RECORD_TEST",
    "Tolerance",
    "agreement_table_tex",
    "check",
    "check_module",
    "readable_key",
    "reason_tex",
    "tolerances",
    "format_number",
    "gallery_markdown",
    "gallery_myst",
    "load_records",
    "numbers_tex",
    "render_caption",
    "write",
]

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GENERATED = ROOT / "paper" / "generated"
BEGIN, END = "<!-- gallery:begin -->", "<!-- gallery:end -->"

# Preferred order of the gallery sections and of figures within them (the order
# the README has always had). Anything else follows, sorted by name.
SECTION_ORDER = (
    "Deep linear networks",
    "Semantic development",
    "Exact dynamics from lambda-balanced initialisation",
    "Teacher-student generalisation",
    "Online SGD in two-layer committee machines",
    "Infinite width",
    "Learning rules other than backprop",
    "Continual learning",
    "Learning through time",
    "Learning from reward",
    "Local learning rules",
    "Attention and in-context learning",
    "Structured inputs and replay",
    "Phase diagrams",
)
FIGURE_ORDER = (
    "deep_linear_modes", "deep_linear_loss", "deep_linear_depth", "deep_linear_weights",
    "semantic_svd", "semantic_modes", "semantic_mds", "semantic_rsa", "semantic_illusion",
    "semantic_hierarchy", "semantic_forms", "semantic_relu",
    "lambda_balanced_trajectories", "lambda_balanced_lazy_rich", "lambda_balanced_transfer",
    "generalization_dynamics", "generalization_alpha", "generalization_stopping",
    "generalization_deep", "generalization_relu", "random_features_heatmap",
    "committee_learning_curves", "committee_order_parameters", "committee_learning_rate",
    "committee_overparameterised", "committee_relu", "committee_feedback_alignment",
    "ntk_kernel_convergence", "ntk_mean_output", "ntk_loss_trajectories", "ntk_kernel_motion",
    "feedback_alignment_modes", "feedback_alignment_widths", "feedback_alignment_experiment",
    "perturbation_learning",
    "continual_curricula", "continual_similarity", "continual_schema", "continual_sequential_regression",
    "continual_teacher_student", "continual_gating", "continual_relu",
    "recurrent_modes", "recurrent_tbptt", "recurrent_gradient_norm", "recurrent_tanh",
    "reward_td_linear", "reward_cue_trial", "reward_rl_perceptron", "reward_tradeoff",
    "local_rules_hebbian", "local_rules_autoencoder", "local_rules_eqprop", "local_rules_predictive_coding",
    "attention_merged", "attention_separate", "attention_pcr", "attention_scaling",
    "replay_forgetting", "replay_threshold", "replay_heads", "replay_hidden_manifold",
    "phase_committee", "phase_linear", "phase_deep_linear",
)

SIG_DIGITS = 3      # \agr: significant digits
PCT_DIGITS = 2      # \agrpct: significant digits of the percentage


class GalleryError(ValueError):
    """A figure module or record cannot be rendered (missing constant, key or record)."""


# ---------------------------------------------------------------------------- records


def load_records(out: str | Path = DEFAULT_OUT) -> dict[str, dict]:
    """Every full-size JSON record in ``out`` (not its subfolders), by figure name.

    ``timings.json`` (the per-figure time table of ``python -m idealnets.figures --timings``)
    is not a figure record and is skipped.
    """
    out = Path(out)
    recs: dict[str, dict] = {}
    for js in sorted(out.glob("*.json")):
        if js.name == "timings.json":
            continue
        rec = json.loads(js.read_text(encoding="utf-8"))
        if rec.get("quick"):
            raise GalleryError(f"{js} is a quick-mode record; the gallery and paper quote full-size "
                               f"figures only (make figures FIGS={js.stem})")
        if not isinstance(rec.get("agreement"), dict):
            raise GalleryError(f"{js} has no 'agreement' dict")
        recs[js.stem] = rec
    return recs


# ---------------------------------------------------------------------------- captions


class _Extreme(Mapping):
    """``max_of[pattern]`` / ``min_of[pattern]`` over the agreement keys matching a glob."""

    def __init__(self, agreement: Mapping[str, Any], fn, figure: str):
        self._a, self._fn, self._fig = agreement, fn, figure

    def __getitem__(self, pattern: str) -> float:
        vals = [v for k, v in self._a.items()
                if fnmatch.fnmatchcase(k, pattern) and isinstance(v, (int, float))
                and not isinstance(v, bool) and v is not None]
        if not vals:
            raise GalleryError(f"figure {self._fig}: no numeric agreement key matches {pattern!r}")
        return self._fn(vals)

    def __iter__(self):
        return iter(self._a)

    def __len__(self):
        return len(self._a)


class _Strict(dict):
    """A dict whose missing keys raise a GalleryError naming the figure and the key."""

    def __init__(self, d: Mapping, what: str, figure: str):
        super().__init__(d)
        self._what, self._fig = what, figure

    def __missing__(self, key):
        raise GalleryError(f"figure {self._fig}: CAPTION references {self._what}[{key}], which its "
                           f"JSON record lacks (keys: {', '.join(sorted(self)) or 'none'})")


def caption_fields(template: str) -> list[str]:
    """The replacement fields of a caption template, e.g. ``agreement[max_dev_D1]``."""
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


def check_module(mod: ModuleType) -> None:
    """Raise :class:`GalleryError` unless ``mod`` defines SECTION and a well-formed CAPTION."""
    name = getattr(mod, "NAME", mod.__name__)
    for const in ("SECTION", "CAPTION"):
        v = getattr(mod, const, None)
        if not isinstance(v, str) or not v.strip():
            raise GalleryError(f"figure module {mod.__name__} must define {const} as a non-empty "
                               f"string (see figures/gallery.py)")
    for f in caption_fields(mod.CAPTION):
        if not re.fullmatch(r"(agreement|params|max_of|min_of)\[[^\]]+\](\[[^\]]+\])*", f):
            raise GalleryError(f"figure {name}: CAPTION field {{{f}}} must be agreement[key], "
                               f"params[key], max_of[pattern] or min_of[pattern]")
    tolerances(mod)


_TEST_ID = re.compile(r"tests/test_\w+\.py::\w+")


RECORD_TEST = "tests/test_records.py::test_records_within_tolerances"
"""The test that holds every committed full-size record to its module's ``TOLERANCES``."""

MAX_REASON = 120


@dataclass(frozen=True)
class Tolerance:
    """One ``TOLERANCES`` entry: ``bound`` (an upper bound, or an interval ``(lo, hi)``), the ``test``
    that holds the value to it, and the ``reason`` for the bound ("" when the entry gives none)."""
    bound: float | tuple[float, float]
    test: str
    reason: str = ""

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the bound (an interval is closed)."""
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            return False
        if isinstance(self.bound, tuple):
            return self.bound[0] <= value <= self.bound[1]
        return value <= self.bound


def tolerances(mod: ModuleType) -> dict[str, Tolerance]:
    """The module's ``TOLERANCES`` (``{key: (tol, "tests/test_x.py::test_name"[, "reason"])}``), checked,
    as :class:`Tolerance` entries; {} if none."""
    name = getattr(mod, "NAME", mod.__name__)
    tol = getattr(mod, "TOLERANCES", None)
    if tol is None:
        return {}
    if not isinstance(tol, Mapping):
        raise GalleryError(f"figure {name}: TOLERANCES must be a dict {{key: (tol, 'tests/test_x.py::test', 'reason')}}")
    def number(x):
        return isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(x)

    out = {}
    for key, entry in tol.items():
        ok = isinstance(key, str) and isinstance(entry, tuple) and len(entry) in (2, 3)
        if ok:
            bound, test = entry[:2]
            reason = entry[2] if len(entry) == 3 else ""
            ok = isinstance(test, str) and bool(_TEST_ID.fullmatch(test)) and (
                (number(bound) and math.isfinite(bound) and bound > 0)
                or (isinstance(bound, tuple) and len(bound) == 2 and all(map(number, bound))
                    and math.isfinite(bound[0]) and bound[0] < bound[1])) and (
                isinstance(reason, str) and len(reason) <= MAX_REASON and (len(entry) == 2 or reason.strip() != ""))
        if not ok:
            raise GalleryError(f"figure {name}: TOLERANCES[{key!r}] = {entry!r} must be (tol, "
                               f"'tests/test_x.py::test_name'[, 'reason']), tol a positive bound on the value or an "
                               f"interval (lo, hi) it must lie in (hi may be inf), the reason a non-empty text of at "
                               f"most {MAX_REASON} characters")
        out[key] = Tolerance(bound, test, reason.strip())
    return out


def _tolerance_tex(bound) -> str:
    """``0.1`` -> ``$\\le 0.1$``; ``(1.4, inf)`` -> ``$\\ge 1.4$``; ``(1.6, 2.4)`` -> ``$[1.6, 2.4]$``."""
    def num(x) -> str:   # as written in the test: 0.1, 1e-08 -> 10^{-8}
        m, _, e = f"{x:g}".partition("e")
        return m if not e else (rf"{m}\times10^{{{int(e)}}}" if m != "1" else rf"10^{{{int(e)}}}")

    if not isinstance(bound, tuple):
        return rf"$\le {num(bound)}$"
    lo, hi = bound
    if math.isinf(hi):
        return rf"$\ge {num(lo)}$"
    return rf"$[{num(lo)}, {num(hi)}]$"


def render_caption(mod: ModuleType, record: Mapping) -> str:
    """The module's ``CAPTION`` formatted with ``record``'s agreement and params."""
    check_module(mod)
    name = mod.NAME
    agreement = record.get("agreement", {})
    try:
        return mod.CAPTION.format(
            agreement=_Strict(agreement, "agreement", name),
            params=_Strict(record.get("params", {}) or {}, "params", name),
            max_of=_Extreme(agreement, max, name),
            min_of=_Extreme(agreement, min, name),
        )
    except GalleryError:
        raise
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise GalleryError(f"figure {name}: CAPTION does not render with its record: "
                           f"{type(e).__name__}: {e}") from e


# ---------------------------------------------------------------------------- ordering


def _rank(value: str, preferred: Iterable[str]) -> tuple:
    for i, p in enumerate(preferred):
        if value.startswith(p):
            return (0, i, value)
    return (1, 0, value)


@dataclass
class _Entry:
    name: str
    module: ModuleType
    record: dict


def _sections(modules: Mapping[str, ModuleType], records: Mapping[str, dict]) -> list[tuple[str, list[_Entry]]]:
    groups: dict[str, list[_Entry]] = {}
    for name, mod in modules.items():
        check_module(mod)
        if name not in records:
            raise GalleryError(f"figure {name} has no JSON record in figures/out/; run "
                               f"`make figures FIGS={name}` and commit its PNG + JSON")
        groups.setdefault(mod.SECTION, []).append(_Entry(name, mod, records[name]))
    out = []
    for sec in sorted(groups, key=lambda s: _rank(s, SECTION_ORDER)):
        ents = sorted(groups[sec], key=lambda e: (FIGURE_ORDER.index(e.name), "")
                      if e.name in FIGURE_ORDER else (len(FIGURE_ORDER), e.name))
        out.append((sec, ents))
    return out


# ---------------------------------------------------------------------------- README


def gallery_markdown(modules: Mapping[str, ModuleType] | None = None,
                     records: Mapping[str, dict] | None = None,
                     image_dir: str = "figures/out") -> str:
    """The README gallery: one table per SECTION, image and rendered caption per figure."""
    modules = available() if modules is None else modules
    records = load_records() if records is None else records
    lines = [f"<!-- Generated by `make gallery` (python -m idealnets.figures.gallery) from the figure modules'",
             "     SECTION/CAPTION and figures/out/*.json. Do not edit by hand. -->"]
    for sec, ents in _sections(modules, records):
        lines += ["", f"### {sec}", "", "| | |", "|---|---|"]
        for e in ents:
            cap = " ".join(render_caption(e.module, e.record).split()).replace("|", "\\|")
            png = e.record.get("png", f"{e.name}.png")
            lines.append(f"| ![]({image_dir}/{png}) | {cap} |")
    return "\n".join(lines) + "\n"


def gallery_myst(modules: Mapping[str, ModuleType] | None = None,
                 records: Mapping[str, dict] | None = None,
                 image_dir: str = "../figures/out") -> str:
    """The same gallery for the documentation site (MyST): one figure with its caption per record."""
    modules = available() if modules is None else modules
    records = load_records() if records is None else records
    lines = ["# Gallery", "",
             "Every figure is produced by `make figures` and stored with its JSON record in",
             "`figures/out/`. Lines are theory, markers are trained ensembles (mean, with a band or bars",
             "for the spread over networks); the numbers in the captions are generated from the records",
             "(`make gallery`), as in the README."]
    for sec, ents in _sections(modules, records):
        lines += ["", f"## {sec}"]
        for e in ents:
            cap = " ".join(render_caption(e.module, e.record).split())
            png = e.record.get("png", f"{e.name}.png")
            lines += ["", f"```{{figure}} {image_dir}/{png}", f":name: fig-{e.name}", "",
                      f"{cap} (`{e.name}`)", "```"]
    return "\n".join(lines) + "\n"


def render_readme(text: str, gallery: str) -> str:
    """``text`` with everything between the gallery markers replaced by ``gallery``."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise GalleryError(f"README.md must contain {BEGIN} ... {END} exactly once, in that order")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{gallery}{END}{tail}"


# ---------------------------------------------------------------------------- LaTeX


def format_number(v: Any, digits: int = SIG_DIGITS) -> str:
    r"""A LaTeX number with ``digits`` significant digits.

    Significant trailing zeros are kept (``2.00``, ``0.0950``). Plain decimals for
    ``1e-4 <= |v| < 1e4`` (``0.00795``, ``82.6``, ``1230``), ``m\times10^{e}``
    outside; integers and booleans as they are.
    """
    if isinstance(v, bool):
        return r"\text{true}" if v else r"\text{false}"
    if isinstance(v, int):
        return str(v)
    if v is None or not math.isfinite(float(v)):
        raise GalleryError(f"agreement value {v!r} is not a finite number")
    v = float(v)
    if v == 0.0:
        return "0"
    m, e = f"{v:.{digits - 1}e}".split("e")   # rounds first: 9.996 -> 1.00e+01
    rounded, exp = float(f"{m}e{e}"), int(e)
    if 1e-4 <= abs(rounded) < 1e4:
        return f"{rounded:.{max(digits - 1 - exp, 0)}f}"
    return rf"{m.rstrip('.')}\times10^{{{int(e)}}}"


def tex_escape(s: str) -> str:
    """Escape LaTeX specials in plain text."""
    rep = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
           "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}
    return "".join(rep.get(c, c) for c in s)


_HEADER = (
    "% Generated by `make gallery` (python -m idealnets.figures.gallery) from figures/out/*.json.\n"
    "% Do not edit by hand: change the figure, run `make figures FIGS=...`, then `make gallery`.\n"
)


def numbers_tex(records: Mapping[str, dict] | None = None) -> str:
    r"""``\agr{fig}{key}`` and ``\agrpct{fig}{key}`` for every agreement value of every record."""
    records = load_records() if records is None else records
    lines = [_HEADER.rstrip("\n"),
             f"% \\agr: {SIG_DIGITS} significant digits; \\agrpct: value x 100, {PCT_DIGITS} significant "
             "digits (write \\agrpct{fig}{key}\\%).",
             r"\makeatletter",
             r"\DeclareRobustCommand{\agr}[2]{\@ifundefined{agr@#1@#2}{\textbf{??}\PackageWarning{numbers}"
             r"{Unknown agreement #1/#2}}{\ensuremath{\@nameuse{agr@#1@#2}}}}",
             r"\DeclareRobustCommand{\agrpct}[2]{\@ifundefined{agrpct@#1@#2}{\textbf{??}\PackageWarning{numbers}"
             r"{Unknown agreement #1/#2}}{\ensuremath{\@nameuse{agrpct@#1@#2}}}}",
             r"% \agrfig{name}: the number of the paper's figure labelled fig:name, or -- if the paper has none",
             r"\DeclareRobustCommand{\agrfig}[1]{\@ifundefined{r@fig:#1}{--}{\ref{fig:#1}}}"]
    for fig in sorted(records):
        lines.append(f"% {fig}")
        for key, v in records[fig]["agreement"].items():
            if v is None:
                raise GalleryError(f"figure {fig}: agreement {key} is null (NaN/inf in the record)")
            lines.append(rf"\@namedef{{agr@{fig}@{key}}}{{{format_number(v)}}}")
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                lines.append(rf"\@namedef{{agrpct@{fig}@{key}}}{{{format_number(100.0 * v, PCT_DIGITS)}}}")
    lines.append(r"\makeatother")
    return "\n".join(lines) + "\n"


def _quoted(mod: ModuleType, record: Mapping) -> list[tuple[str, Any]]:
    """(label, value) for each number the caption quotes."""
    agreement = record.get("agreement", {})
    out = []
    for f in caption_fields(mod.CAPTION):
        kind, key = re.match(r"(\w+)\[([^\]]+)\]", f).groups()
        if kind == "agreement":
            out.append((key, agreement[key]))
        elif kind in ("max_of", "min_of"):
            out.append((f"{kind[:3]} {key}", _Extreme(agreement, max if kind == "max_of" else min,
                                                      mod.NAME)[key]))
    seen, uniq = set(), []
    for lab, v in out:
        if lab not in seen:
            seen.add(lab)
            uniq.append((lab, v))
    return uniq


_WORDS = {
    "max": "max.", "min": "min.", "dev": "deviation", "rel": "relative", "abs": "absolute",
    "rms": "r.m.s.", "err": "error", "sim": "trained", "sgd": "SGD", "ode": "ODE", "bp": "backprop",
    "fa": "FA", "eps": r"$\epsilon_g$", "se": "standard errors", "sem": "standard errors",
    "deg": "(degrees)", "lr": "learning rate", "gd": "GD", "rf": "random features",
    "t": "$t$", "s": "$s$", "n": "number", "cos": r"$\cos$", "over": "/", "log": "log",
    "diag": "mode-diagonal", "offpeak": "off-peak", "eig": "eigenvalue", "half": "half",
    "spearman": "(Spearman)", "loss": "loss", "theory": "theory", "E": "$E$",
    "alpha": r"$\alpha$", "relu": "ReLU", "erf": "erf", "tanh": "tanh", "mds": "MDS",
}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)e([+-]?\d+)")
_SYMBOL = re.compile(r"(alpha|lam|lr|snr|width|depth|D|K|N|M|T|k|s|t)(\d+(?:\.\d+)?(?:e[+-]?\d+)?)")
_SYMBOL_TEX = {"alpha": r"\alpha", "lam": r"\lambda", "lr": r"\eta", "snr": r"\mathrm{SNR}",
               "width": r"\text{width}", "depth": r"\text{depth}", "t": "t", "s": "s_"}


def readable_key(key: str) -> str:
    r"""A LaTeX reading of an agreement key: ``max_dev_over_s_D1`` -> ``max. deviation / $s$, $D=1$``.

    Words from a small vocabulary are spelled out, ``D1``, ``K2``, ``N500``, ``alpha0.5``,
    ``snr4``, ``lam0``, ``lr0.5``, ``t1e6`` become equations, and anything else is kept
    (escaped), so every key has a reading and a new key needs no change here.
    """
    words, conds = [], []
    for tok in key.split("_"):
        m = _SYMBOL.fullmatch(tok)
        if m:
            sym, val = m.groups()
            if sym == "s":                       # s1: the first singular value
                words.append(f"$s_{{{val}}}$")
                continue
            if "e" in val and sym == "t":
                mant, exp = val.split("e")
                val = (f"{mant}\\times" if mant != "1" else "") + f"10^{{{int(exp)}}}"
            conds.append(f"${_SYMBOL_TEX.get(sym, sym)}={val}$")
        elif tok in _WORDS:
            words.append(_WORDS[tok])
        elif _NUMBER.fullmatch(tok):
            mant, exp = _NUMBER.fullmatch(tok).groups()
            words.append("$" + (f"{mant}\\times" if mant != "1" else "") + f"10^{{{int(exp)}}}$")
        else:
            words.append(tex_escape(tok))
    text = " ".join(words) if words else tex_escape(key)
    return text + (", " + ", ".join(conds) if conds else "")


def _break_test_id(test: str) -> str:
    """A test id (or key) in typewriter type that may break after '/', '_' and '::'."""
    out = tex_escape(test)
    for a in ("/", r"\_", "::"):
        out = out.replace(a, a + r"\allowbreak{}")
    return r"\texttt{" + out + "}"


_REASON_TOKENS = re.compile(r"<=|>=|\+-|->|[<>~|]|\^(\{[^}]*\}|\([^()]*\)|-[0-9.]+(?:/[0-9.]+)?|[0-9.]*[0-9]|[A-Za-z]+)")
_REASON_SYMBOLS = {"<=": r"$\le$", ">=": r"$\ge$", "+-": r"$\pm$", "->": r"$\to$", "<": r"$<$", ">": r"$>$",
                   "~": r"$\sim$", "|": r"$|$"}


def reason_tex(text: str) -> str:
    """A tolerance's reason, typed as plain text with ``<=``, ``+-``, ``~``, ``|x|`` and ``N^-1/2``, as TeX:
    the symbols as math, exponents raised, every other special character escaped."""
    out, pos = [], 0
    for m in _REASON_TOKENS.finditer(text):
        out.append(tex_escape(text[pos:m.start()]))
        tok = m.group(0)
        if tok.startswith("^"):
            exp = m.group(1)
            exp = exp[1:-1] if exp[0] in "{(" else exp
            out.append(r"\textsuperscript{" + tex_escape(exp) + "}")
        else:
            out.append(_REASON_SYMBOLS[tok])
        pos = m.end()
    out.append(tex_escape(text[pos:]))
    return "".join(out)


def _tolerance_cell(tol: Tolerance) -> str:
    """``$\\le 0.1$: 3 SE of 64 seeds; record`` -- the bound, its reason, and the test holding it
    ("record" for :data:`RECORD_TEST`, else the test id)."""
    source = r"\textit{record}" if tol.test == RECORD_TEST else _break_test_id(tol.test)
    reason = f": {reason_tex(tol.reason)}" if tol.reason else ""
    return f"{_tolerance_tex(tol.bound)}{reason}; {source}"


def _rows(mod: ModuleType, record: Mapping) -> list[tuple[str, str, Any, Tolerance | None]]:
    """(label for the name column, kind, value, tolerance) for each quoted or tolerated key."""
    agreement = record.get("agreement", {})
    tols = tolerances(mod)
    rows, seen = [], set()
    for f in caption_fields(mod.CAPTION):
        kind, key = re.match(r"(\w+)\[([^\]]+)\]", f).groups()
        if kind == "params" or (kind, key) in seen:
            continue
        seen.add((kind, key))
        if kind == "agreement":
            rows.append((readable_key(key), key, agreement[key], tols.get(key)))
        else:
            fn = max if kind == "max_of" else min
            value = _Extreme(agreement, fn, mod.NAME)[key]
            tol = tols.get(key)
            if tol is None:     # one tolerance shared by every matching key
                matched = {tols.get(k) for k in agreement if fnmatch.fnmatchcase(k, key)}
                tol = matched.pop() if len(matched) == 1 else None
            label = ("largest" if kind == "max_of" else "smallest") + " of " + readable_key(re.sub(r"_?[A-Za-z]*\*", "", key))
            rows.append((label, key, value, tol))
    for key, tol in tols.items():
        if ("agreement", key) not in seen and key in agreement:
            rows.append((readable_key(key), key, agreement[key], tol))
    return rows


def agreement_table_tex(modules: Mapping[str, ModuleType] | None = None,
                        records: Mapping[str, dict] | None = None) -> str:
    r"""The paper's closing table (a ``longtable``): per section, one row per quoted or tested value.

    Columns: a readable name (the JSON key in a TeX comment), the measured value, the
    tolerance the tests hold it to and the test (or "not tested"), and the figure
    (``\agrfig{name}``: its number when the paper has it, else a dash).
    """
    modules = available() if modules is None else modules
    records = load_records() if records is None else records
    lines = [_HEADER.rstrip("\n"),
             "% Per figure: the agreement values its README caption quotes, and any key its TOLERANCES",
             "% names (max/min: over the keys matching the pattern). All values: figures/out/NAME.json.",
             r"{\small\setlength{\tabcolsep}{4pt}\renewcommand{\arraystretch}{1.1}",
             r"\begin{longtable}{@{}>{\raggedright\arraybackslash}p{0.29\linewidth}"
             r">{\raggedleft\arraybackslash}p{0.09\linewidth}"
             r">{\raggedright\arraybackslash}p{0.51\linewidth}"
             r">{\raggedleft\arraybackslash}p{0.04\linewidth}@{}}",
             r"\caption{Measured agreement between theory and trained networks in the full-size figures,"
             r" with the tolerance the test suite holds each value to, where that bound comes from, and the test"
             r" that holds it (\textit{record}: \texttt{tests/test\_records.py} holds the committed full-size"
             r" record itself to it; ``not tested'': quoted only).}"
             r"\label{tab:agreement}\\",
             r"\hline result & measured & tolerance: source; test & Fig.\\ \hline\endfirsthead",
             r"\hline result & measured & tolerance: source; test & Fig.\\ \hline\endhead",
             r"\hline\endfoot"]
    for sec, ents in _sections(modules, records):
        title = tex_escape(sec.split(" (")[0])
        lines.append(r"\multicolumn{4}{@{}>{\raggedright\arraybackslash}p{0.95\linewidth}@{}}{\rule{0pt}{2.6ex}\textbf{" + title + r"}}\\*")
        for e in ents:
            for label, key, value, tol in _rows(e.module, e.record):
                tcell = _tolerance_cell(tol) if tol else r"\textit{not tested}"
                lines.append(rf"{label} & ${format_number(value)}$ & {tcell} & \agrfig{{{e.name}}}\\"
                             rf" % {e.name}: {key}")
    lines += [r"\end{longtable}", "}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- files


def _targets(readme: Path = README, generated: Path = GENERATED, out: str | Path = DEFAULT_OUT):
    modules, records = available(), load_records(out)
    text = readme.read_text(encoding="utf-8")
    return {
        readme: render_readme(text, gallery_markdown(modules, records)),
        generated / "numbers.tex": numbers_tex(records),
        generated / "agreement_table.tex": agreement_table_tex(modules, records),
    }


def check(readme: Path = README, generated: Path = GENERATED, out: str | Path = DEFAULT_OUT) -> list[str]:
    """Unified diffs of every generated file that differs from what the records give (empty: all true)."""
    problems = []
    for path, want in _targets(readme, generated, out).items():
        have = path.read_text(encoding="utf-8") if path.exists() else ""
        if have != want:
            diff = "".join(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                                f"{path} (committed)", f"{path} (from the records)", n=0))
            problems.append(diff or f"{path} differs")
    return problems


def write(readme: Path = README, generated: Path = GENERATED, out: str | Path = DEFAULT_OUT) -> list[Path]:
    """Rewrite the README gallery and the generated paper files; return the paths that changed."""
    changed = []
    for path, want in _targets(readme, generated, out).items():
        if not path.exists() or path.read_text(encoding="utf-8") != want:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(want, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m idealnets.figures.gallery", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if a generated file is out of date")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="folder of the JSON records")
    a = p.parse_args(argv)
    if a.check:
        problems = check(out=a.out)
        for d in problems:
            print(d)
        if problems:
            print("out of date: run `make gallery` and commit the result", file=sys.stderr)
            return 1
        print("README gallery and paper/generated/ match figures/out/*.json")
        return 0
    for path in write(out=a.out):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
