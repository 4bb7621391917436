r"""Linear regression tasks: their correlations, the quadratic loss, and whitened tasks.

A task is a data set ``(X, Y)`` with the samples as columns, ``X`` (N_in, P) and ``Y``
(N_out, P). The mean squared loss of a linear map ``W`` (N_out, N_in) (docs: Conventions,
"Data" and "Loss and time")

.. math::

    L(W) = \frac{1}{2P}\sum_\mu \|y_\mu - W x_\mu\|^2
         = \tfrac12 \mathrm{tr}\,\Sigma^{yy} - \mathrm{tr}(W \Sigma^{yx\top})
           + \tfrac12 \mathrm{tr}(W \Sigma^{xx} W^\top)

depends on the data only through the correlations ``Sxx = X X^T/P``, ``Syx = Y X^T/P`` and
``tr Syy = tr(Y Y^T)/P`` (:func:`correlations`, :func:`quadratic_loss`). Every linear-network
theory of this package (deep linear, lambda-balanced, feedback alignment, continual learning)
reads its data through them. A task is *whitened* when ``Sxx = I``; :func:`whitened_task`
builds one with a prescribed ``Syx = U diag(s) V^T``.

The structured item-feature data sets of semantic development (living things, the
hierarchical branching-diffusion model) are in :mod:`idealnets.theory.datasets`; crossing
times of learning curves in :mod:`idealnets.theory.measures`.
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._core import Correlations
from .validation import as_array, as_choice, as_float, as_int, as_seed, check_same

__all__ = ["Correlations", "correlations", "quadratic_loss", "whitened_task", "WHITENED_INPUTS"]

#: How :func:`whitened_task` builds its inputs.
WHITENED_INPUTS = ("random", "identity")
#: Largest n_in, n_out and n_samples of :func:`whitened_task`, which draws Haar matrices of these sizes
#: (an n x n matrix and its QR: 2 GiB and ~1 min at the bound)
SIZE_MAX = 2**14


def correlations(X, Y) -> Correlations:
    r"""The correlations ``(Sxx, Syx, trSyy)`` of a task (docs: Conventions, "Data").

    ``Sxx = X X^T/P`` (N_in, N_in), ``Syx = Y X^T/P`` (N_out, N_in), ``trSyy = tr(Y Y^T)/P``
    (a float) for inputs ``X`` (N_in, P) and targets ``Y`` (N_out, P), samples as columns.
    Returns a :class:`Correlations` named tuple (unpacks as ``Sxx, Syx, trSyy = ...``).
    """
    X, Y = as_array(X, "X", ndim=2), as_array(Y, "Y", ndim=2)
    check_same("X", X.shape[1], "Y", Y.shape[1], "number of samples (columns)")
    with np.errstate(over="ignore", invalid="ignore"):
        out = _core.correlations(X, Y)
    if not (np.isfinite(out.Sxx).all() and np.isfinite(out.Syx).all() and np.isfinite(out.trSyy)):
        raise ValueError(f"the correlations of X and Y overflow float64 (max|X| = {np.max(np.abs(X)):.3g}, "
                         f"max|Y| = {np.max(np.abs(Y)):.3g}): rescale the data")
    return out


def quadratic_loss(W, Sxx, Syx, trSyy) -> np.ndarray:
    r"""Mean squared loss of linear map(s) ``W`` from the task's correlations.

    .. math:: L = \tfrac12\,\mathrm{tr}\,\Sigma^{yy} - \mathrm{tr}(W\Sigma^{yx\top})
              + \tfrac12\,\mathrm{tr}(W\Sigma^{xx}W^\top)

    (docs: Conventions, "Loss and time"). ``W`` (..., N_out, N_in), vectorised over its
    leading axes; ``Sxx`` (N_in, N_in), or ``None`` for whitened input (``Sxx = I``);
    ``Syx`` (N_out, N_in); ``trSyy`` a float (:func:`correlations`). Returns shape
    ``W.shape[:-2]``. Equals ``(1/2P) ||Y - W X||_F^2`` for the data the correlations come from.
    """
    Syx = as_array(Syx, "Syx", ndim=2)
    n_out, n_in = Syx.shape
    W = as_array(W, "W", ndim=range(2, 64))
    if W.shape[-2:] != (n_out, n_in):
        raise ValueError(f"W must end in (N_out, N_in) = {(n_out, n_in)} (the shape of Syx), got shape {W.shape}")
    if Sxx is not None:
        Sxx = as_array(Sxx, "Sxx", shape=(n_in, n_in))
    trSyy = as_float(trSyy, "trSyy", low=0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        loss = _core.quadratic_loss(W, Sxx, Syx, trSyy)
    if not np.isfinite(loss).all():
        raise ValueError(f"the loss of W overflows float64 (max|W| = {np.max(np.abs(W)):.3g}): rescale W or the task")
    return loss


def whitened_task(n_in: int, n_out: int, s, seed: int = 0, n_samples: int | None = None,
                  U=None, V=None, *, inputs: str = "random") -> tuple[np.ndarray, np.ndarray]:
    r"""Data (X, Y) with ``Sxx = I`` exactly and ``Syx = U diag(s) V^T``.

    ``inputs = "random"``: ``X = sqrt(P) R`` with R (N_in, P) the first rows of a Haar
    orthogonal matrix (P = n_samples, default N_in); ``inputs = "identity"``: ``X = sqrt(N_in) I``
    (P = N_in, one sample per input direction). ``Y = Syx X``. ``U`` (N_out, r), ``V`` (N_in, r)
    default to random orthonormal frames (r = len(s) <= min(N_in, N_out)). Random draws come
    from ``seed``, in the order ``U``, ``V``, ``R`` (the ones not given). Sizes are at most
    :data:`SIZE_MAX`.
    """
    n_in, n_out = as_int(n_in, "n_in", low=1, high=SIZE_MAX), as_int(n_out, "n_out", low=1, high=SIZE_MAX)
    s = np.atleast_1d(as_array(s, "s", ndim=(0, 1), low=0.0))
    inputs = as_choice(inputs, "inputs", WHITENED_INPUTS)
    r = s.size
    if r > min(n_in, n_out):
        raise ValueError(f"{r} singular values do not fit a {n_out} x {n_in} map")
    P = n_in if n_samples is None else as_int(n_samples, "n_samples", low=1, high=SIZE_MAX)
    if P < n_in:
        raise ValueError(f"whitening needs n_samples >= n_in, got {P} < {n_in}")
    if inputs == "identity" and P != n_in:
        raise ValueError(f"inputs='identity' has n_samples = n_in = {n_in}, got n_samples = {P}")
    rng = np.random.default_rng(as_seed(seed))
    U = None if U is None else as_array(U, "U", shape=(n_out, r))
    V = None if V is None else as_array(V, "V", shape=(n_in, r))
    return _core.whitened_task(n_in, n_out, s, rng, P, U, V, inputs)
