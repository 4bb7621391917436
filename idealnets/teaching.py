"""Friendly checks for the lessons in ``tutorials/``.

Three kinds of exercise, one helper each:

* **code a quantity**: ``check("2a", "singular values", got, want)`` compares a student's answer
  with the package's value;
* **predict, then run**: the student writes a prediction in a cell *before* the simulation runs;
  ``reveal("4b", "plateau length", prediction, measured)`` then shows both side by side;
* **interpret a result**: ``choose("5c", answer, correct="b", why={...})`` checks a multiple-choice
  reading of a figure and explains every option.

A wrong answer raises :class:`ExerciseError` (an ``AssertionError``) whose message names the
exercise, says what was expected (shape, value) and what was given, and offers a hint. In a
Jupyter notebook the message is shown alone (IPython's ``_render_traceback_`` hook), without a
traceback into NumPy or the package: a student reads one paragraph, not 37 lines. Outside
IPython the usual traceback is shown, ending with the same message.

This module imports only NumPy; the lessons import it as ``from idealnets.teaching import check,
reveal, choose``.
"""
from __future__ import annotations

import math
import os
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["ExerciseError", "check", "reveal", "choose", "interactive"]



class ExerciseError(AssertionError):
    """A lesson's answer does not match; the message says why, in the exercise's words."""

    def _render_traceback_(self) -> list[str]:
        # IPython's hook: a notebook shows this message alone, without the traceback.
        return [f"{type(self).__name__}: {self}"]


def _title(exercise: str, name: str) -> str:
    exercise = str(exercise).strip()
    return f"Exercise {exercise} ({name})" if exercise else str(name)


def _describe(value: Any) -> str:
    """A short description of what a student handed in (type, shape), for messages."""
    if value is None:
        return "None (did the exercise cell assign its answer?)"
    if value is NotImplemented or value is Ellipsis:
        return f"{value!r} (the placeholder: write your answer first)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        kinds = sorted({type(v).__name__ for v in value})
        shapes = [np.shape(v) for v in value[:4]]
        extra = f", shapes {shapes}" if any(shapes) else ""
        return f"a {type(value).__name__} of {len(value)} items ({', '.join(kinds)}{extra})"
    if isinstance(value, (int, float, complex, np.number)):
        return f"the number {value!r}"
    return f"an object of type {type(value).__name__}"


def _fmt(a: np.ndarray, limit: int = 6) -> str:
    flat = np.ravel(a)
    text = np.array2string(flat[:limit], precision=4, separator=", ", suppress_small=False)
    return text[:-1] + ", ...]" if flat.size > limit else text


def _fail(message: str, hint: str | None) -> None:
    if hint:
        message += f"\n  Hint: {hint}"
    raise ExerciseError(message)


def check(exercise: str, name: str, got: Any, want: Any, *, rtol: float = 1e-6,
          atol: float = 1e-12, hint: str | None = None) -> None:
    """Compare an answer ``got`` with the package's value ``want`` and say so.

    Both are converted to float arrays. The check fails (``ExerciseError``) when ``got`` is not
    numeric, has another shape than ``want``, is not finite where ``want`` is, or differs by more
    than ``atol + rtol * |want|`` anywhere; the message names the exercise, the expected shape and
    values, what was given, where the largest difference is, and ``hint``. On success it prints
    ``"Exercise <exercise> (<name>): correct (matches the package to rtol=...)"``.
    """
    title = _title(exercise, name)
    want_a = np.asarray(want, dtype=float)
    if got is None or got is NotImplemented or got is Ellipsis:
        _fail(f"{title}: expected {_shape_text(want_a)}; got {_describe(got)}.", hint)
    try:
        got_a = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        _fail(f"{title}: expected {_shape_text(want_a)}; got {_describe(got)}, which is not an "
              "array of numbers.", hint)
    if got_a.shape != want_a.shape:
        squeezable = got_a.size == want_a.size
        more = (" It has the right number of entries: reshape it (or check rows vs columns)."
                if squeezable else "")
        _fail(f"{title}: expected {_shape_text(want_a)}; got shape {got_a.shape}.{more}", hint)
    bad = ~np.isfinite(got_a) & np.isfinite(want_a)
    if bad.any():
        _fail(f"{title}: {int(bad.sum())} of {got_a.size} entries are NaN or infinite "
              f"(first at index {_index(np.argmax(bad.ravel()), got_a.shape)}).", hint)
    diff = np.abs(got_a - want_a)
    allowed = atol + rtol * np.abs(want_a)
    wrong = ~(diff <= allowed) & np.isfinite(want_a)
    if wrong.any():
        k = int(np.argmax(np.where(wrong, diff - allowed, -np.inf).ravel()))
        where = _index(k, got_a.shape)
        at = f" at index {where}" if got_a.ndim else ""
        msg = (f"{title} does not match the theory: {int(wrong.sum())} of {got_a.size} "
               f"entries differ by more than rtol={rtol:g}.\n"
               f"  largest difference{at}: got {got_a.ravel()[k]:.6g}, expected "
               f"{want_a.ravel()[k]:.6g}")
        if got_a.size > 1:
            msg += f"\n  expected {_fmt(want_a)}\n  given    {_fmt(got_a)}"
        _fail(msg, hint)
    print(f"{title}: correct (matches the package to rtol={rtol:g})")


def _shape_text(a: np.ndarray) -> str:
    return "a single number" if a.ndim == 0 else f"an array of shape {a.shape}"


def _index(k: int, shape: tuple) -> Any:
    if not shape:
        return ()
    idx = np.unravel_index(k, shape)
    return int(idx[0]) if len(idx) == 1 else tuple(int(i) for i in idx)


def reveal(exercise: str, name: str, prediction: Any, measured: float, *,
           rtol: float = 0.25, unit: str = "") -> bool:
    """Show a student's prediction beside the measured value, after the simulation has run.

    ``prediction`` must be a number written before the run (``None``/``...`` fails with a
    reminder to predict first). Returns whether the prediction lies within ``rtol`` (relative)
    of ``measured``; a prediction far off is not an error (predicting is the exercise), the
    printed comparison says how far off it was and by what factor.
    """
    title = _title(exercise, name)
    if prediction is None or prediction is Ellipsis or prediction is NotImplemented:
        _fail(f"{title}: write your prediction (a number) in the cell above before running "
              "the simulation.", None)
    try:
        p = float(prediction)
    except (TypeError, ValueError):
        _fail(f"{title}: a prediction is one number; got {_describe(prediction)}.", None)
    m = float(measured)
    u = f" {unit}" if unit else ""
    close = math.isfinite(p) and abs(p - m) <= rtol * abs(m)
    ratio = p / m if m != 0 and math.isfinite(p) else float("nan")
    verdict = ("close: within {:.0f}% of the measurement".format(100 * rtol) if close
               else f"off by a factor {ratio:.2g}: read the explanation below")
    print(f"{title}: you predicted {p:.4g}{u}; the simulation gives {m:.4g}{u} ({verdict}).")
    return close


def choose(exercise: str, answer: Any, correct: str, why: Mapping[str, str]) -> None:
    """Check a multiple-choice reading of a result; explain the chosen option either way.

    ``why`` maps every option (``"a"``, ``"b"``, ...) to one sentence explaining why it is right
    or wrong. A wrong or missing choice raises ``ExerciseError`` with that sentence.
    """
    options = ", ".join(repr(k) for k in why)
    title = _title(exercise, "interpretation")
    if answer is None or answer is Ellipsis:
        _fail(f"{title}: set your answer to one of {options}.", None)
    key = str(answer).strip().lower().strip("()")
    if key not in why:
        _fail(f"{title}: {answer!r} is not one of the options {options}.", None)
    if key != correct:
        _fail(f"{title}: ({key}) is not the best reading. {why[key]}", "look at the figure "
              "again and try another option.")
    print(f"{title}: correct. ({key}) {why[key]}")


def interactive(plot: Callable, static: Callable, **sliders: dict) -> None:
    """ipywidgets sliders where a widget front end can run them; otherwise ``static()``.

    ``plot(**values, ax=None)`` (or ``axes=None``) draws one setting; each keyword of ``sliders`` is the
    ``ipywidgets`` slider's options (``value``, ``min``, ``max``, ``step``, ``description``): a
    float ``value`` gives a ``FloatSlider``, an int an ``IntSlider``. Without IPython or
    ipywidgets, or with ``IDEALNETS_STATIC`` set (the documentation build), ``static()`` draws a
    fixed grid of settings instead.
    """
    try:
        import ipywidgets as widgets
        from IPython import get_ipython
        live = get_ipython() is not None and not os.environ.get("IDEALNETS_STATIC")
    except ImportError:
        live = False
    if live:
        import inspect

        params = inspect.signature(plot).parameters
        fixed = {name: widgets.fixed(None) for name in ("ax", "axes") if name in params}
        widgets.interact(plot, **fixed,
                         **{k: widgets.FloatSlider(**v) if isinstance(v["value"], float)
                            else widgets.IntSlider(**v) for k, v in sliders.items()})
    else:
        static()
