"""Side by side: idealnets' HiddenManifoldODE against sgoldt/hidden-manifold-model's hmm_ode.cpp (issue 25).

The peer integrates the same hidden-manifold committee ODE (Goldt, Mezard, Krzakala & Zdeborova 2020) with
forward Euler at a fixed step ``dt``; ours uses DOP853 at rtol 1e-11. Both start from the same spectral
initial conditions, written in the peer's ``--prefix`` file format (Armadillo ASCII): a random student
(K = M = 2, sign features, erf activations, delta = D/N = 0.5, N = 200) projected on the eigenvectors of
F F^T / N for Gaussian F. The peer replaces each direction's teacher overlap t_tau by the rho-weighted
average tildeT = mean_tau(rho_tau t_tau); so that both integrate the same equations, the benchmark sets
t_tau = T for every direction and rescales the eigenvalues to mean exactly 1 (then tildeT = T).

Build the peer outside the repository first (needs Armadillo and OpenMP):

    mkdir -p /tmp/peer_hmm && cd /tmp/peer_hmm   # with hmm_ode.cpp and libscmpp.h from the peer repository
    g++ -std=c++11 -O3 -fopenmp -I. -o hmm_ode.exe hmm_ode.cpp -larmadillo

Run: ``python benchmarks/hmm_peer.py [--exe /tmp/peer_hmm/hmm_ode.exe]``; prints the largest difference in
eps_g over the peer's output times for shrinking dt (results: benchmarks/RESULTS_hidden_manifold.md).
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from idealnets.theory.hidden_manifold import HiddenManifoldODE, HiddenManifoldState


def _mat(path, A):
    A = np.atleast_2d(A)
    with open(path, "w") as f:
        f.write(f"ARMA_MAT_TXT_FN008\n{A.shape[0]} {A.shape[1]}\n")
        for row in A:
            f.write(" ".join(f"{x:.17e}" for x in row) + "\n")


def _cube(path, C):  # C (rows, cols, slices)
    with open(path, "w") as f:
        f.write(f"ARMA_CUB_TXT_FN008\n{C.shape[0]} {C.shape[1]} {C.shape[2]}\n")
        for s in range(C.shape[2]):
            for row in C[:, :, s]:
                f.write(" ".join(f"{x:.17e}" for x in row) + "\n")


def setup(K=2, M=2, N=200, delta=0.5, seed=0):
    rng = np.random.default_rng(seed)
    D = int(round(delta * N))
    F = rng.standard_normal((D, N))
    rho, psi = np.linalg.eigh(F @ F.T / N)
    rho = rho / rho.mean()
    W = rng.standard_normal((K, N))
    Wt = rng.standard_normal((M, D))
    s = psi.T @ (F @ W.T) / np.sqrt(N)
    wt = psi.T @ Wt.T
    T = Wt @ Wt.T / D
    st = HiddenManifoldState(W @ W.T / N, s[:, :, None] * s[:, None, :], s[:, :, None] * wt[:, None, :],
                             np.broadcast_to(T, (D, M, M)).copy(), rho, np.full(D, 1.0 / D))
    return st, T, D


def run_peer(exe, st, T, *, K, M, N, delta, lr, dt, steps, workdir):
    pre = str(Path(workdir) / f"ic_dt{dt:g}")
    _cube(pre + "_sigma0.dat", np.moveaxis(st.sigma, 0, -1))
    _cube(pre + "_r0.dat", np.moveaxis(st.r, 0, -1))
    _mat(pre + "_W0.dat", st.W)
    _mat(pre + "_v0.dat", np.ones((K, 1)))
    _mat(pre + "_A0.dat", np.ones((M, 1)))
    _mat(pre + "_rhos.dat", st.rho[:, None])
    _mat(pre + "_T0.dat", T)
    _mat(pre + "_tildeT0.dat", T)
    t0 = time.perf_counter()
    subprocess.run([exe, "--prefix", pre, "--N", str(N), "--K", str(K), "--M", str(M), "--delta", str(delta),
                    "--lr", str(lr), "--dt", str(dt), "--steps", str(steps), "--g", "1", "--f", "3"],
                   check=True, capture_output=True, cwd=workdir)
    wall = time.perf_counter() - t0
    rows = [list(map(float, line.split(","))) for line in open(pre + "_ode.dat") if line.strip() and line[0] != "#"]
    a = np.array(rows)
    return a[:, 0], a[:, 1], wall


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--exe", default="/tmp/peer_hmm/hmm_ode.exe")
    p.add_argument("--steps", type=float, default=10.0)
    args = p.parse_args(argv)
    K = M = 2
    N, delta, lr = 200, 0.5, 0.5
    st, T, D = setup(K, M, N, delta)
    ode = HiddenManifoldODE(K, M, lr, delta, feature_map="sign", activation="erf")
    print(f"K = M = {K}, N = {N}, D = {D}, delta = {delta}, lr = {lr}, sign features, erf, alpha to {args.steps:g}")
    print(f"{'peer dt':>10} {'max |eps_peer - eps_ours|':>28} {'at alpha':>9} {'eps_g(end) peer':>16} "
          f"{'ours':>12} {'peer s':>7} {'ours s':>7}")
    with tempfile.TemporaryDirectory() as wd:
        for dt in (0.04, 0.02, 0.01, 0.005):
            alpha, eg, wall = run_peer(args.exe, st, T, K=K, M=M, N=N, delta=delta, lr=lr, dt=dt,
                                       steps=args.steps, workdir=wd)
            # the peer prints before each propagation: its times are sums of dt; integrate ours to them
            t0 = time.perf_counter()
            tr = ode.integrate(st, alpha_eval=alpha)
            ours = time.perf_counter() - t0
            d = np.abs(eg - tr.eps_g)
            i = int(np.argmax(d))
            print(f"{dt:>10g} {d.max():>28.3e} {alpha[i]:>9.3g} {eg[-1]:>16.8f} {tr.eps_g[-1]:>12.8f} "
                  f"{wall:>7.2f} {ours:>7.2f}")


if __name__ == "__main__":
    main()
