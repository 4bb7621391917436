r"""Gaussian averages of the committee-machine ODEs, entry-wise and unchecked.

The averages ``I2, I3, I4, J2`` of Saad & Solla (1995) and Goldt et al. (2019) for ``g(z) = erf(z/sqrt 2)``,
``g(z) = z`` and ReLU, written on the covariance *entries* so that they broadcast over whole arrays of
them: the right-hand sides of :class:`idealnets.theory.committee.CommitteeODE` and of the batched
:class:`idealnets.theory.committee_grid.CommitteeGrid` evaluate them thousands of times per
integration, on overlaps they have validated. The checked forms on covariance matrices, with their
equations and sources, are :func:`idealnets.theory.committee.I2` ... :func:`~idealnets.theory.committee.J2`.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Gauss-Legendre nodes for the 4D orthant probability (error < 1e-10 for |r_ij| <= 0.999,
#: < 1e-7 for |r_ij| <= 1 - 1e-8; tested against a 400-node rule and Monte-Carlo)
RELU_P4_NODES = 48
#: 1 - r^2 below this counts as an exact duplicate (merged)
RELU_DUP_TOL = 1e-12



# ---------------------------------------------------------------------------
# Small formulas: Gaussian averages for g(z) = erf(z / sqrt 2) (and g(z) = z, relu)
# ---------------------------------------------------------------------------
# The entry-wise forms (i2 ... ) take the covariance entries and broadcast; the public forms of
# idealnets.theory.committee (I2 ...) take covariance matrices (..., n, n).

def i2(c11, c12, c22, activation="erf"):
    if activation == "relu":  # arc-cosine kernel of degree 1 (Cho & Saul 2009)
        c11, c12, c22 = np.broadcast_arrays(*(np.asarray(c, dtype=float) for c in (c11, c12, c22)))
        nrm = np.sqrt(np.clip(c11 * c22, 0.0, None))
        cos = np.clip(c12 / np.where(nrm > 0, nrm, 1.0), -1.0, 1.0)
        th = np.arccos(cos)
        return nrm / (2 * np.pi) * (np.sin(th) + (np.pi - th) * cos)
    if activation == "linear":
        return np.asarray(c12, dtype=float) + 0.0 * np.asarray(c11) * np.asarray(c22)
    return (2.0 / np.pi) * np.arcsin(c12 / np.sqrt((1.0 + c11) * (1.0 + c22)))


def i3(c11, c12, c13, c23, c33, activation="erf"):
    if activation == "relu":  # Stein on b (ours): C_ab phi_a(0) E[c+ | a=0] + C_bc P(a>0, c>0)
        c11, c12, c13, c23, c33 = np.broadcast_arrays(*(np.asarray(c, dtype=float) for c in (c11, c12, c13, c23, c33)))
        a = np.clip(c11, 1e-300, None)
        # sqrt(C33 - C13^2/C11)/sqrt(C11) = sqrt(C11 C33 - C13^2)/C11: the determinant form is exactly 0
        # when c is a copy of a (C11 = C13 = C33 bitwise, e.g. I3(k, b, k) in the ODE), where the
        # form C33 - C13^2/C11 leaves a rounding of ~1e-16 whose square root put a ~1e-9 jitter on the
        # ODE rates (it stalled the adaptive integrator and the fixed-point test of relu committees)
        v = np.clip(a * c33 - c13**2, 0.0, None)
        r = np.clip(c13 / np.sqrt(np.clip(a * c33, 1e-300, None)), -1.0, 1.0)
        return c12 * np.sqrt(v) / (2 * np.pi * a) + c23 * (0.25 + np.arcsin(r) / (2 * np.pi))
    if activation == "linear":
        return np.asarray(c23, dtype=float) + 0.0 * (c11 + c12 + c13 + c33)
    lam3 = (1.0 + c11) * (1.0 + c33) - c13 ** 2
    return (2.0 / np.pi) * (c23 * (1.0 + c11) - c12 * c13) / ((1.0 + c11) * np.sqrt(lam3))


def i4(c11, c12, c13, c14, c22, c23, c24, c33, c34, c44, activation="erf", nodes: int = RELU_P4_NODES):
    if activation == "relu":  # truncated-moment recursion, relu_i4 (no closed form: P4 by quadrature)
        e = np.broadcast_arrays(*(np.asarray(c, dtype=float) for c in (c11, c12, c13, c14, c22, c23, c24, c33,
                                                                        c34, c44)))
        shape = e[0].shape
        f = [x.reshape(-1) for x in e]
        C = np.stack([np.stack([f[0], f[1], f[2], f[3]], -1), np.stack([f[1], f[4], f[5], f[6]], -1),
                      np.stack([f[2], f[5], f[7], f[8]], -1), np.stack([f[3], f[6], f[8], f[9]], -1)], -2)
        return relu_i4(C, nodes).reshape(shape)
    if activation == "linear":
        zero = 0.0 * (c11 + c12 + c13 + c14 + c22 + c23 + c24 + c33 + c44)
        return np.asarray(c34, dtype=float) + zero
    lam4 = (1.0 + c11) * (1.0 + c22) - c12 ** 2
    lam0 = (lam4 * c34 - c23 * c24 * (1.0 + c11) - c13 * c14 * (1.0 + c22)
            + c12 * c13 * c24 + c12 * c14 * c23)
    lam1 = lam4 * (1.0 + c33) - c23 ** 2 * (1.0 + c11) - c13 ** 2 * (1.0 + c22) + 2.0 * c12 * c13 * c23
    lam2 = lam4 * (1.0 + c44) - c24 ** 2 * (1.0 + c11) - c14 ** 2 * (1.0 + c22) + 2.0 * c12 * c14 * c24
    return (4.0 / (np.pi ** 2 * np.sqrt(lam4))) * np.arcsin(lam0 / np.sqrt(lam1 * lam2))


def j2(c11, c12, c22, activation="erf"):
    if activation == "relu":  # P(a > 0, b > 0) = 1/4 + arcsin(rho)/(2 pi) (Sheppard)
        c11, c12, c22 = np.broadcast_arrays(*(np.asarray(c, dtype=float) for c in (c11, c12, c22)))
        r = np.clip(c12 / np.sqrt(np.clip(c11 * c22, 1e-300, None)), -1.0, 1.0)
        return 0.25 + np.arcsin(r) / (2 * np.pi)
    if activation == "linear":
        return np.ones(np.broadcast(c11, c12, c22).shape)
    return (2.0 / np.pi) / np.sqrt((1.0 + c11) * (1.0 + c22) - c12 ** 2)


# ---------------------------------------------------------------------------
# ReLU, g(z) = max(0, z), g'(z) = 1[z > 0]: Gaussian averages (our derivations)
# ---------------------------------------------------------------------------
# Every ReLU average is a truncated moment E[prod_{j in lin} X_j 1[X > 0]] of a centred
# Gaussian X over the positive orthant (g(c) = c 1[c > 0]). Stein's lemma
# E[X_j f(X)] = sum_k C_jk E[d_k f(X)] lowers the polynomial degree by one and turns a
# derivative of an indicator into a density at 0 times the same problem for the
# conditional Gaussian given X_k = 0 (one dimension fewer); it ends at orthant
# probabilities, which are closed-form up to 3 dimensions (Sheppard / Childs):
#   P1 = 1/2, P2 = 1/4 + arcsin(r12)/(2 pi), P3 = 1/8 + (arcsin r12 + arcsin r13 + arcsin r23)/(4 pi),
# and for 4 dimensions one smooth 1D integral (Plackett's identity dP/dr_ij = phi2_ij(0, 0) P(rest | X_i = X_j = 0)
# integrated along R(s) = (1 - s) I + s R, s in [0, 1]):
#   P4 = 1/16 + int_0^1 sum_{i<j} r_ij / (2 pi sqrt(1 - s^2 r_ij^2)) P2(cond_{kl|ij}(s)) ds,
# evaluated by Gauss-Legendre in v with s = 1 - v^2 (which removes the 1/sqrt(1 - s) endpoint
# behaviour of nearly duplicated variables). Exactly duplicated variables (correlation +1,
# e.g. I4(k, k, k, m) in the ODE) are merged first (1[a > 0]^2 = 1[a > 0]); anti-duplicates
# (correlation -1) give 0 as every variable carries an indicator.

@lru_cache(maxsize=4)
def _p4_nodes(n: int):
    """Gauss-Legendre nodes ``s = 1 - v^2`` and weights ``ds = 2 v dv`` on [0, 1] for the P4 integral."""
    v, wv = np.polynomial.legendre.leggauss(n)
    v = 0.5 * (v + 1.0)
    return 1.0 - v**2, 2.0 * v * 0.5 * wv


def _orthant(S, nodes: int):
    """P(X > 0) for X ~ N(0, S), S of shape (B, n, n), n <= 4."""
    n = S.shape[-1]
    if n == 0:
        return np.ones(S.shape[0])
    if n == 1:
        return np.full(S.shape[0], 0.5)
    d = np.sqrt(np.clip(np.diagonal(S, axis1=-2, axis2=-1), 1e-300, None))
    R = np.clip(S / (d[:, :, None] * d[:, None, :]), -1.0, 1.0)
    if n == 2:
        return 0.25 + np.arcsin(R[:, 0, 1]) / (2 * np.pi)
    if n == 3:
        return 0.125 + (np.arcsin(R[:, 0, 1]) + np.arcsin(R[:, 0, 2]) + np.arcsin(R[:, 1, 2])) / (4 * np.pi)
    s, ds = _p4_nodes(nodes)
    total = np.full(S.shape[0], 1.0 / 16.0)
    I4 = np.eye(4)
    Rs = (1.0 - s)[None, :, None, None] * I4 + s[None, :, None, None] * R[:, None]  # (B, V, 4, 4)
    for i, j, k, l in ((0, 1, 2, 3), (0, 2, 1, 3), (0, 3, 1, 2), (1, 2, 0, 3), (1, 3, 0, 2), (2, 3, 0, 1)):
        rij = Rs[..., i, j]
        det = 1.0 - rij**2
        # conditional covariance of (k, l) given X_i = X_j = 0 (2 x 2 Schur complement)
        def cov(a, b):
            return Rs[..., a, b] - (Rs[..., a, i] * Rs[..., i, b] + Rs[..., a, j] * Rs[..., j, b]
                                    - rij * (Rs[..., a, i] * Rs[..., j, b] + Rs[..., a, j] * Rs[..., i, b])) / det
        ckl, ckk, cll = cov(k, l), cov(k, k), cov(l, l)
        rho = np.clip(ckl / np.sqrt(np.clip(ckk * cll, 1e-300, None)), -1.0, 1.0)
        dens = R[:, i, j][:, None] / (2 * np.pi * np.sqrt(np.clip(1.0 - (s[None, :] * R[:, i, j][:, None])**2,
                                                                    1e-300, None)))
        total = total + (dens * (0.25 + np.arcsin(rho) / (2 * np.pi))) @ ds
    return total


def _schur(S, k):
    """Covariance of the other variables given X_k = 0: (B, n-1, n-1)."""
    idx = np.delete(np.arange(S.shape[-1]), k)
    A = S[:, idx[:, None], idx[None, :]]
    b = S[:, idx, k]
    return A - b[:, :, None] * b[:, None, :] / np.maximum(S[:, k, k], 1e-300)[:, None, None]


def _truncated_moment(S, lin, nodes: int):
    """E[prod_{j in lin} X_j 1[X > 0]] for X ~ N(0, S) (B, n, n); ``lin`` a tuple of indices
    (repeats allowed), by the Stein recursion described above."""
    if not lin:
        return _orthant(S, nodes)
    j, rest = lin[0], lin[1:]
    n = S.shape[-1]
    out = np.zeros(S.shape[0])
    for k in range(n):
        if k in rest:  # d_k hits the polynomial factor X_k
            r = list(rest)
            r.remove(k)
            out = out + S[:, j, k] * _truncated_moment(S, tuple(r), nodes)
        else:  # d_k hits the indicator: density of X_k at 0 times the conditional problem
            phi = 1.0 / np.sqrt(2 * np.pi * np.clip(S[:, k, k], 1e-300, None))
            rr = tuple(i - (i > k) for i in rest)
            out = out + S[:, j, k] * phi * _truncated_moment(_schur(S, k), rr, nodes)
    return out


def relu_i4(C, nodes: int = RELU_P4_NODES):
    """E[1[a>0] 1[b>0] relu(c) relu(d)] for (a, b, c, d) ~ N(0, C), C (B, 4, 4)."""
    B = C.shape[0]
    d = np.sqrt(np.clip(np.diagonal(C, axis1=-2, axis2=-1), 0.0, None))
    dd = d[:, :, None] * d[:, None, :]
    gap = dd**2 - C**2  # C_ii C_jj - C_ij^2 >= 0
    dup = (gap <= RELU_DUP_TOL * dd**2) & (C > 0)
    anti = (gap <= RELU_DUP_TOL * dd**2) & (C < 0)
    out = np.zeros(B)
    zero = anti.any(axis=(1, 2)) | (d == 0).any(axis=1)
    # class label of each variable: the first variable it duplicates
    labels = np.argmax(dup, axis=2)  # dup[i, i] is True, so labels[i] <= i
    # canonical order: the indicator-only classes first, then the class of c, then that of d
    # (once if c and d are the same variable), so every problem is one of <= 8 shapes
    groups = {}
    for b in np.nonzero(~zero)[0]:
        lab = labels[b]
        rc, rd = lab[2], lab[3]
        others = sorted({lab[0], lab[1]} - {rc, rd})
        order = tuple(others + ([rc] if rc == rd else [rc, rd]))
        groups.setdefault((len(order), rc == rd), ([], []))
        groups[(len(order), rc == rd)][0].append(b)
        groups[(len(order), rc == rd)][1].append(order)
    for (n, same), (members, orders) in groups.items():
        members = np.array(members)
        idx = np.array(orders)
        S = C[members[:, None, None], idx[:, :, None], idx[:, None, :]]
        out[members] = _truncated_moment(S, (n - 1, n - 1) if same else (n - 2, n - 1), nodes)
    return out


def pair_i2(Om, activation):
    d = np.diagonal(Om, axis1=-2, axis2=-1)
    return i2(d[..., :, None], Om, d[..., None, :], activation)
