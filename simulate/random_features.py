r"""Trained random-features students, batched over data sets and widths (torch).

The model, the data and the time unit are those of :mod:`idealnets.theory.random_features`:
``x ~ N(0, I_N/N)``, teacher ``y = wbar.x + eps`` (``wbar ~ N(0, I_N)``, ``eps ~ N(0, 1/snr)``),
student ``f(x) = sum_k v_k sigma(w_k.x)`` with ``w_k ~ N(0, I_N)`` frozen and ``v = a/sqrt(K)``
trained from ``a = 0`` on the sum loss ``(1/2) sum_mu (y_mu - f(x_mu))^2 + (ridge/2)|a|^2``.

Because the model is linear in ``a``, training is solved exactly from the eigendecomposition
of the sampled feature Gram matrix ``U^T U`` (``U = sigma(W X)/sqrt(K)``, shape (K, P)):
gradient flow gives ``a(t) = U V diag(g_t(mu)) V^T y`` with ``g_t(mu) = (1 - e^{-(mu+ridge)t})/(mu+ridge)``
(``t = inf``: the ridge estimator / the pseudo-inverse for ``ridge = 0``), and full-batch gradient
descent with learning rate ``lr`` replaces ``e^{-(mu+ridge)t}`` by ``(1 - lr(mu+ridge))^{t/lr}``.
This *is* the trained network at those times (to rounding), not a theory: nothing
is averaged or linearised. The widths of one data set share their features (width K uses
the first K rows of one ``W``), so all widths cost one draw.

Test error is exact given the weights (no test-set noise) for relu, erf and linear:
``E_g = |wbar|^2/N - 2 sum_k v_k E[sigma(w_k.x) wbar.x] + v^T Kappa v + 1/snr`` with the
arc-cosine (relu; Cho & Saul 2009) or arcsine (``erf(z/sqrt 2)``; Williams 1998) kernel
``Kappa_kl = E[sigma(w_k.x) sigma(w_l.x)]`` and ``E[sigma(u) wbar.x] = Cov(u, wbar.x) E[sigma'(u)]``
(Stein's lemma). For tanh it is estimated on ``n_test`` fresh inputs (label noise added exactly).

There is no step loop to run on the training engine (:mod:`idealnets.simulate.engine`): the
closed form gives every recorded time at once, and :func:`train_random_features` builds the
shared :class:`~idealnets.simulate.Run` directly. Its networks are the (data set, width) pairs,
data set first: ``losses`` the training error and ``state["generalization_error"]`` the test
error, each ``(n_networks len(widths), len(times))``; the earlier fields read as before
(``test_error`` and ``train_error`` as ``(n_networks, len(widths), len(times))`` views of the
same arrays, ``widths``, ``N``, ``P``, ``activation``, ``snr``, ``ridge``, ``lr``).
"""
from __future__ import annotations

import math
import time as _time
from typing import Sequence

import numpy as np
import torch

from idealnets.theory.random_features import ACTIVATIONS
from idealnets.theory.validation import as_bool, as_choice, as_float, as_int, as_seed, as_times, renamed_keywords

from ._common import DivergenceError, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["RandomFeaturesRun", "train_random_features", "activation"]


def activation(name: str):
    """The torch activation of :func:`idealnets.theory.random_features.activation_function`."""
    return _activation(as_choice(name, "activation", ACTIVATIONS))


def _activation(name: str):
    """:func:`activation` of a checked name."""
    return {
        "relu": torch.relu,
        "erf": lambda z: torch.erf(z / math.sqrt(2.0)),
        "tanh": torch.tanh,
        "linear": lambda z: z,
    }[name]


#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
RandomFeaturesRun = Run


def _kernel(Q: torch.Tensor, act: str) -> torch.Tensor:
    """``E[sigma(u_k) sigma(u_l)]`` for centred Gaussians with covariance ``Q`` (..., K, K)."""
    d = torch.diagonal(Q, dim1=-2, dim2=-1)
    if act == "linear":
        return Q
    if act == "relu":
        nrm = torch.sqrt(d[..., :, None] * d[..., None, :]).clamp_min(1e-300)
        cos = (Q / nrm).clamp(-1.0, 1.0)
        th = torch.arccos(cos)
        return nrm / (2 * math.pi) * (torch.sin(th) + (math.pi - th) * cos)
    if act == "erf":
        den = torch.sqrt((1 + d[..., :, None]) * (1 + d[..., None, :]))
        return (2 / math.pi) * torch.arcsin((Q / den).clamp(-1.0, 1.0))
    raise ValueError(act)


def _mean_slope(d: torch.Tensor, act: str) -> torch.Tensor:
    """``E[sigma'(u)]`` for ``u ~ N(0, d)``."""
    if act == "relu":
        return torch.full_like(d, 0.5)
    if act == "erf":
        return math.sqrt(2 / math.pi) / torch.sqrt(1 + d)
    return torch.ones_like(d)


#: most entries of the largest array train_random_features makes (over the ensemble): 2^30, 8 GiB in float64
MAX_ENTRIES = 2**30


@renamed_keywords(n_seeds="n_networks")
def train_random_features(N: int, P: int, widths: Sequence[int], *, activation: str = "relu", snr: float = 4.0,
                          ridge: float = 0.0, times=(np.inf,), n_networks: int = 4, lr: float | None = None,
                          n_test: int = 8192, spherical: bool = True, device=None, dtype=torch.float64,
                          seed: int = 0) -> Run:
    r"""Train random-features students of every width in ``widths`` on ``n_networks`` data sets.

    N, P : input dimension and number of samples. widths : hidden sizes K (positive ints).
    n_networks : number of independent draws (inputs, teacher, noise, features), each training
    one network of every width (``Run.n_networks`` counts them all, ``n_networks * len(widths)``).
    times : training times (``np.inf`` = converged). With ``lr`` given, full-batch GD at
    ``t = lr * steps`` (every finite time must be a whole number of steps; it diverges above
    ``lr = 2/(mu_max + ridge)``, which raises :class:`DivergenceError`).
    spherical : draw the teacher ``wbar`` and the noise vector ``eps`` uniformly on the spheres of
    radius ``sqrt(N)`` and ``sqrt(P)/sqrt(snr)`` instead of as Gaussians. Both errors are quadratic
    forms in ``(wbar, eps)`` given ``X`` and ``W``, and the two draws have the same second moments,
    so every *expected* error is unchanged at any finite size; only the seed-to-seed spread from
    the norms of ``wbar`` and ``eps`` (O(N^{-1/2})) is removed (variance reduction).
    Returns a :class:`~idealnets.simulate.Run` (built directly from the closed form; module
    docstring): ``losses`` the training error and ``state["generalization_error"]`` the test
    error, ``(n_networks len(widths), len(times))``; ``test_error`` and ``train_error`` the same
    as ``(n_networks, len(widths), len(times))``. ``steps`` are the GD steps ``t / lr``, and -1
    where a time is not a step count (gradient flow, ``t = inf``).
    """
    t_start = _time.perf_counter()
    N = as_int(N, "N", low=1)
    P = as_int(P, "P", low=1)
    Ks = [as_int(K, "width", low=1) for K in widths]
    if not Ks:
        raise ValueError("widths must contain at least one hidden size")
    act = as_choice(activation, "activation", ACTIVATIONS)
    snr = as_float(snr, "snr", low=0.0, open_low=True, allow_inf=True)
    ridge = as_float(ridge, "ridge", low=0.0)
    t = as_times(times).ravel()
    n_networks = as_int(n_networks, "n_networks", low=1)
    n_test = as_int(n_test, "n_test", low=1)
    seed = as_seed(seed)
    spherical = as_bool(spherical, "spherical")
    Kmax_ = max(Ks)
    entries = n_networks * max(N * P, Kmax_ * N, Kmax_ * P, Kmax_ * Kmax_, (N + Kmax_) * n_test if act == "tanh" else 0)
    if entries > MAX_ENTRIES:
        raise ValueError(f"N = {N}, P = {P}, widths up to {Kmax_}, n_networks = {n_networks}"
                         f"{f', n_test = {n_test}' if act == 'tanh' else ''} are too large: the largest array has "
                         f"{entries:.3g} entries, more than MAX_ENTRIES = {MAX_ENTRIES} (2^30)")
    if lr is not None:
        lr = as_float(lr, "lr", low=0.0, open_low=True)
        k = np.where(np.isfinite(t), t / lr, 0.0)
        if np.any(np.abs(k - np.rint(k)) > 1e-9 * np.maximum(k, 1.0)):
            raise ValueError("with lr given, every finite time must be a whole number of steps (t = lr * steps)")
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    sig = _activation(act)
    gen = torch.Generator(device=device).manual_seed(seed)  # seed checked above
    S, Kmax = n_networks, max(Ks)
    se2 = 0.0 if math.isinf(snr) else 1.0 / snr
    X = torch.randn(S, N, P, generator=gen, device=device, dtype=dtype) / math.sqrt(N)
    wbar = torch.randn(S, N, generator=gen, device=device, dtype=dtype)
    eps = torch.randn(S, P, generator=gen, device=device, dtype=dtype)
    if spherical:  # same second moments, so the same expected errors; no norm fluctuations
        wbar = wbar * math.sqrt(N) / wbar.norm(dim=-1, keepdim=True)
        eps = eps * math.sqrt(P) / eps.norm(dim=-1, keepdim=True)
    y = (X.transpose(1, 2) @ wbar.unsqueeze(-1)).squeeze(-1) + math.sqrt(se2) * eps
    W = torch.randn(S, Kmax, N, generator=gen, device=device, dtype=dtype)
    Phi = sig(W @ X)  # (S, Kmax, P), unscaled features
    exact = act != "tanh"
    if exact:
        Q = W @ W.transpose(1, 2) / N
        Kap = _kernel(Q, act)
        cross = _mean_slope(torch.diagonal(Q, dim1=1, dim2=2), act) * (W @ wbar.unsqueeze(-1)).squeeze(-1) / N
        del Q
    else:
        Xt = torch.randn(S, N, n_test, generator=gen, device=device, dtype=dtype) / math.sqrt(N)
        yt = (Xt.transpose(1, 2) @ wbar.unsqueeze(-1)).squeeze(-1)  # noiseless test targets
        Phit = sig(W @ Xt)
    yy = (wbar**2).sum(-1) / N
    T = t.size
    tt = torch.as_tensor(t, device=device, dtype=dtype)
    test = torch.empty(S, len(Ks), T, dtype=dtype, device=device)
    train = torch.empty_like(test)
    with torch.no_grad():
        for i, K in enumerate(Ks):
            U = Phi[:, :K] / math.sqrt(K)  # (S, K, P)
            G = U.transpose(1, 2) @ U  # (S, P, P)
            mu, V = torch.linalg.eigh(G)
            tol = max(P, K) * torch.finfo(dtype).eps * mu[:, -1:].clamp_min(1e-300)
            nz = mu > tol
            mu = torch.where(nz, mu, torch.zeros_like(mu))
            yv = (V.transpose(1, 2) @ y.unsqueeze(-1)).squeeze(-1)  # (S, P)
            z = (mu + ridge).unsqueeze(1)  # (S, 1, P)
            zz = z.clamp_min(1e-300)
            inf = torch.isinf(tt)[None, :, None]
            tf = torch.where(torch.isinf(tt), torch.zeros_like(tt), tt)[None, :, None]
            if lr is None:
                decay = torch.exp(-zz * tf)
            else:
                # t = inf included: gradient descent at an unstable lr never reaches the ridge solution
                if float(lr) * float(z.max()) > 2.0 and tt.numel() and float(tt.max()) > 0:
                    raise DivergenceError(f"gradient descent diverges: lr={lr:.4g} exceeds the stable limit "
                                          f"2/(mu_max + ridge) = {2.0 / float(z.max()):.4g}. Lower the learning rate.")
                decay = torch.pow(1.0 - lr * zz, torch.round(tf / lr))
            decay = torch.where(inf, torch.zeros_like(decay), decay)
            keep = (nz.unsqueeze(1) | (ridge > 0))
            g = torch.where(keep, (1.0 - decay) / zz, torch.zeros_like(decay))  # (S, T, P)
            h = torch.einsum("spj,stj->stp", V, g * yv.unsqueeze(1))  # sample-space coefficients
            a = torch.einsum("skp,stp->stk", U, h)  # (S, T, K)
            res = y.unsqueeze(1) - torch.einsum("skp,stk->stp", U, a)
            train[:, i] = (res**2).sum(-1) / P
            v = a / math.sqrt(K)
            if exact:
                ff = torch.einsum("stk,skl,stl->st", v, Kap[:, :K, :K], v)
                fy = torch.einsum("stk,sk->st", v, cross[:, :K])
                test[:, i] = yy[:, None] - 2 * fy + ff + se2
            else:
                ft = torch.einsum("stk,skn->stn", v, Phit[:, :K])
                test[:, i] = ((yt.unsqueeze(1) - ft) ** 2).mean(-1) + se2
    test_np, train_np = test.cpu().numpy(), train.cpu().numpy()
    if not np.isfinite(test_np).all():
        raise DivergenceError(f"the test error became NaN/inf (lr={lr}); lower the learning rate")
    n, T = S * len(Ks), t.size
    if lr is None:
        steps, unit = np.full(T, -1, dtype=int), "t (gradient flow)"
    else:
        steps, unit = np.where(np.isfinite(t), np.rint(np.where(np.isfinite(t), t, 0.0) / lr), -1).astype(int), \
            "t = lr * step"
    losses, gen_err = train_np.reshape(n, T), test_np.reshape(n, T)
    return Run(times=t, time_unit=unit, steps=steps, losses=losses, loss_name="training error |y - f(X)|^2 / P",
               state={"generalization_error": gen_err},
               extras={"test_error": gen_err.reshape(S, len(Ks), T), "train_error": losses.reshape(S, len(Ks), T),
                       "widths": np.array(Ks), "N": N, "P": P, "activation": act, "snr": snr, "ridge": ridge,
                       "lr": lr},
               diverged=np.zeros(n, dtype=bool), wall_s=_time.perf_counter() - t_start,
               model="random features " + ("(closed-form gradient flow)" if lr is None else "(closed-form GD)"))
