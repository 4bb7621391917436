"""Input validation shared by every public entry point of ``idealnets.theory`` and ``idealnets.simulate``.

The package's error contract (README, "What you can rely on"):

* bad input raises :class:`ValueError` (wrong value, shape or range) or
  :class:`TypeError` (wrong kind of object), with a message that names the
  argument, the value received and what is allowed;
* non-finite input (NaN, or inf where inf has no documented meaning) is
  rejected *before* it reaches LAPACK, an ODE integrator or a training loop,
  so nothing hangs and nothing comes back silently NaN;
* times are arrays of non-negative floats, ``np.inf`` meaning the fixed point
  where a module documents one, sorted where the computation needs it.

Every checker returns the cleaned value (a Python ``float``/``int``/``bool``/
``str`` or a float64 ``np.ndarray``), so the idiom is::

    s = as_float(s, "s", low=0.0, open_low=True)
    X = as_array(X, "X", ndim=2)
    t = as_times(t)

This module is float64 NumPy only (no torch): ``idealnets.theory`` and ``idealnets.simulate`` both
import it.
"""
from __future__ import annotations

import numbers
import operator
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "DivergenceError",
    "as_float",
    "as_int",
    "as_bool",
    "as_choice",
    "as_array",
    "as_times",
    "as_seed",
    "as_probability",
    "renamed_keywords",
    "deprecated_alias",
    "check_same",
    "as_whitened_pair",
    "describe",
]


class DivergenceError(FloatingPointError):
    """Learning diverged: the one error type for divergence in theory and simulation.

    Raised by the trainers of :mod:`idealnets.simulate` (NaN/inf, or growth of the loss by a
    large factor; see ``idealnets.simulate.DivergenceMonitor``) and by the theory's solvers and
    ODEs when the learning rate or the state they are given makes the dynamics blow up (for
    example a learning rate above the stable limit). A subclass of ``FloatingPointError``, so
    code that catches that keeps working. Defined here, in the theory layer, so both layers can
    raise it (theory never imports simulate); ``idealnets.simulate.DivergenceError`` is the
    same class.
    """


def describe(x) -> str:
    """A short description of a value for error messages (arrays by shape, not content)."""
    if isinstance(x, np.ndarray) or (hasattr(x, "shape") and hasattr(x, "dtype")):
        a = np.asarray(x) if isinstance(x, np.ndarray) else x
        n_bad = ""
        try:
            arr = np.asarray(a, dtype=float)
            bad = int((~np.isfinite(arr)).sum())
            if bad:
                n_bad = f" with {bad} non-finite entr{'y' if bad == 1 else 'ies'}"
        except (TypeError, ValueError):
            pass
        return f"an array of shape {tuple(a.shape)} and dtype {a.dtype}{n_bad}"
    r = repr(x)
    return r if len(r) <= 60 else r[:57] + "..."


def _range_text(low, high, open_low, open_high) -> str:
    if low == 0 and high is None:  # the common case, in the words older messages (and tests) use
        return "positive (> 0)" if open_low else "non-negative (>= 0)"
    parts = []
    if low is not None:
        parts.append(f"{'>' if open_low else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if open_high else '<='} {high:g}")
    return " and ".join(parts)


def _in_range(v, low, high, open_low, open_high):
    ok = np.ones(np.shape(v), dtype=bool)
    if low is not None:
        ok &= (v > low) if open_low else (v >= low)
    if high is not None:
        ok &= (v < high) if open_high else (v <= high)
    return ok


def as_float(x, name: str, *, low: float | None = None, high: float | None = None, open_low: bool = False,
             open_high: bool = False, allow_inf: bool = False) -> float:
    """A real scalar, finite (unless ``allow_inf``), within ``[low, high]`` (open ends on request).

    Raises TypeError for non-numbers (strings, None, bools, complex, arrays of
    size != 1) and ValueError for NaN, inf or out-of-range values.
    """
    if isinstance(x, (bool, np.bool_)) or x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {describe(x)}")
    if isinstance(x, np.ndarray) or hasattr(x, "shape"):
        if np.size(x) != 1:
            raise TypeError(f"{name} must be a real scalar, got {describe(x)}")
        x = np.asarray(x).reshape(())[()]
    if isinstance(x, (complex, np.complexfloating)):
        raise TypeError(f"{name} must be a real number, got {describe(x)}")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {describe(x)}") from None
    except OverflowError:  # an integer (or Fraction, Decimal) beyond float64
        raise ValueError(f"{name} must be a number within the float64 range, got {describe(x)}") from None
    if np.isnan(v) or (np.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {v}")
    if not _in_range(v, low, high, open_low, open_high):
        raise ValueError(f"{name} must be {_range_text(low, high, open_low, open_high)}, got {v:g}")
    return v


def as_int(x, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python or NumPy int, or an integral float such as ``3.0``) within ``[low, high]``."""
    if isinstance(x, (bool, np.bool_)) or x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an integer, got {describe(x)}")
    if isinstance(x, np.ndarray) and x.size == 1 and x.ndim == 0:
        x = x[()]
    if isinstance(x, numbers.Integral):
        v = int(x)
    elif isinstance(x, (float, np.floating)):
        if not np.isfinite(x) or float(x) != int(x):
            raise ValueError(f"{name} must be an integer, got {x!r}")
        v = int(x)
    else:
        try:
            v = operator.index(x)
        except TypeError:
            raise TypeError(f"{name} must be an integer, got {describe(x)}") from None
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be an integer {_range_text(low, high, False, False)}, got {v}")
    return v


def as_bool(x, name: str) -> bool:
    """A boolean (``True``/``False`` or NumPy bool); anything else is a TypeError."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    raise TypeError(f"{name} must be True or False, got {describe(x)}")


def as_choice(x, name: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (strings, compared exactly)."""
    if not isinstance(x, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, choices))}; got {describe(x)}")
    if x not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {x!r}")
    return x


def as_probability(x, name: str, *, open_low: bool = False, open_high: bool = False) -> float:
    """A float in [0, 1] (ends open on request)."""
    return as_float(x, name, low=0.0, high=1.0, open_low=open_low, open_high=open_high)


def as_seed(seed, name: str = "seed") -> int:
    """A non-negative integer seed."""
    return as_int(seed, name, low=0)


def as_array(a, name: str, *, ndim: int | Iterable[int] | None = None, shape: Sequence[int | None] | None = None,
             allow_inf: bool = False, allow_nan: bool = False, allow_empty: bool = False,
             low: float | None = None, high: float | None = None, open_low: bool = False,
             open_high: bool = False) -> np.ndarray:
    """A float64 array (a copy-free view where possible) with checked ``ndim``, ``shape``, finiteness and range.

    ``shape`` may contain ``None`` for free dimensions. Booleans, strings,
    objects and complex arrays are TypeErrors; wrong ``ndim``/``shape``, empty
    arrays (unless ``allow_empty``), NaN/inf and out-of-range entries are
    ValueErrors that name the argument.
    """
    if a is None or isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {describe(a)}")
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch tensor
        a = a.detach().cpu().numpy()
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as e:  # ragged nested sequences
        raise ValueError(f"{name} must be a rectangular array of real numbers ({e})") from None
    if arr.dtype == object:
        raise ValueError(f"{name} must be a rectangular array of real numbers, got an object array")
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold real numbers, got a boolean array")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must hold real numbers, got a complex array")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            if len(allowed) <= 4:
                want = "a " + " or ".join(f"{d}-D" for d in allowed) + " array"
            else:
                want = f"an array of at least {min(allowed)} dimensions"
            raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, arr.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    nan = np.isnan(arr)
    if nan.any() and not allow_nan:
        raise ValueError(f"{name} must be finite, but {int(nan.sum())} of its {arr.size} entries are NaN")
    inf = np.isinf(arr)
    if inf.any() and not allow_inf:
        raise ValueError(f"{name} must be finite, but {int(inf.sum())} of its {arr.size} entries are inf")
    if low is not None or high is not None:
        ok = _in_range(arr, low, high, open_low, open_high) | nan
        if not ok.all():
            bad = arr[~ok].ravel()[0]
            raise ValueError(f"every entry of {name} must be {_range_text(low, high, open_low, open_high)}, "
                             f"got {bad:g}")
    return arr


def as_times(t, name: str = "t", *, allow_inf: bool = True, increasing: bool = False, strictly: bool = False,
             low: float | None = 0.0) -> np.ndarray:
    """Times as a float64 array of any shape (a scalar gives a 0-d array).

    Non-negative by default (``low``); ``np.inf`` allowed when ``allow_inf``
    (the fixed point, where the module documents it); NaN never. With
    ``increasing`` the (flattened) times must be non-decreasing, or strictly
    increasing with ``strictly`` (for integrators that need ``t_eval`` sorted
    without repeats).
    """
    arr = as_array(t, name, allow_inf=allow_inf, allow_empty=True, low=low)
    if allow_inf and low is not None and np.isneginf(arr).any():
        raise ValueError(f"{name} must be >= {low:g}, got -inf")
    if increasing and arr.size > 1:
        d = np.diff(arr.ravel())
        if strictly and not (d > 0).all():
            raise ValueError(f"{name} must be strictly increasing (no repeats), got {describe(arr)}")
        if not (d >= 0).all():
            raise ValueError(f"{name} must be sorted in increasing order")
    return arr


def check_same(name_a: str, a: int, name_b: str, b: int, what: str = "size") -> None:
    """Raise ValueError when two sizes that must agree do not (``X`` has P columns, ``Y`` has P' != P)."""
    if a != b:
        raise ValueError(f"{name_a} and {name_b} must have the same {what}, got {a} and {b}")


def as_whitened_pair(X, Y, *, atol: float, requirement: str) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X (N_in, P)`` and targets ``Y (N_out, P)`` with whitened input, ``X X^T / P = I``.

    Both finite and 2-D with the same number of samples; ``max|Sxx - I| <= atol``, else a
    ValueError that starts with ``requirement`` (why the caller needs whitened input) and
    gives the measured deviation.
    """
    X, Y = as_array(X, "X", ndim=2), as_array(Y, "Y", ndim=2)  # finite before any eigendecomposition
    check_same("X", X.shape[1], "Y", Y.shape[1], "number of samples (columns)")
    P = X.shape[1]
    dev = float(np.max(np.abs(X @ X.T / P - np.eye(X.shape[0]))))
    if dev > atol:
        raise ValueError(f"{requirement}: max|Sxx - I| = {dev:.3g} > {atol:g}")
    return X, Y


# --- Renamed keywords and functions (one name per concept; docs: Conventions, "Glossary") ---------


def renamed_keywords(**old_to_new: str):
    """Decorator: keyword arguments renamed to the glossary's name keep working, with a DeprecationWarning.

    ``@renamed_keywords(n_seeds="n_networks")`` lets ``f(n_seeds=8)`` call
    ``f(n_networks=8)`` for one release; passing both names is a TypeError. The
    public signature shows only the new name.
    """
    import functools
    import warnings

    def wrap(func):
        @functools.wraps(func)
        def inner(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{func.__name__}() got both {old!r} (deprecated) and {new!r}; "
                                        f"pass only {new!r}")
                    warnings.warn(f"{func.__name__}(): the keyword {old!r} is deprecated; use {new!r}",
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        inner.__renamed_keywords__ = dict(old_to_new)
        return inner

    return wrap


def deprecated_alias(func, old_name: str):
    """A function (or method) ``old_name`` that warns and calls ``func``: the old name of a renamed API."""
    import functools
    import warnings

    @functools.wraps(func)
    def alias(*args, **kwargs):
        warnings.warn(f"{old_name} is deprecated; use {func.__name__} (same arguments and result)",
                      DeprecationWarning, stacklevel=2)
        return func(*args, **kwargs)

    alias.__name__ = old_name
    alias.__qualname__ = getattr(func, "__qualname__", old_name).rsplit(".", 1)[0] + "." + old_name \
        if "." in getattr(func, "__qualname__", "") else old_name
    alias.__deprecated_alias_of__ = func.__name__
    alias.__doc__ = f"Deprecated name of :func:`{func.__name__}` (kept for one release)."
    return alias
