"""Benchmark: the RL perceptron ODEs of idealnets against Patel et al.'s own code, side by side.

The peer is the notebook ``ODEs_simulations.ipynb`` of nishp99/RL_Perceptron (the code of Patel,
Lee, Sarao Mannelli, Goldt & Saxe 2025, "The RL perceptron"). Its ODEs are written as explicit
Euler loops ``all_neg`` (reward if all T decisions are correct) and ``n_or_more_neg`` (at least n),
with the dimension D entering an O(1/D) term. This script executes those two function
definitions from the notebook (never copied into this repository) and compares, at the same
settings:

1. the increments of (R, Q) over alpha = 1 from fixed (R, Q): the peer's Euler loop at
   D = 10^4 (dt = 1e-4; its O(1/D) term and Euler error ~1e-4), against
   ``RLPerceptronODE.integrate`` (N -> inf);
2. the learning curve R(alpha), Q(alpha) to alpha = 20: peer Euler with dt = 1/D (D = 400, their
   notebook's setting) against ``RLPerceptronODE.integrate`` (DOP853, rtol 1e-10), with timings.

Usage (from the repository root; the peer checkout outside the repository)::

    python benchmarks/reward_peer.py --peer /tmp/peer_rl_perceptron/ODEs_simulations.ipynb

Results: benchmarks/RESULTS_reward.md.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import scipy.special

from idealnets.theory.reward import RLPerceptronODE

SETTINGS = [  # (T, n, lr_1, lr_2); n = None: all T correct
    (1, None, 0.0, 1.0), (4, None, 1.0, 0.0), (10, None, 1.0, 0.5), (8, 6, 1.0, 0.0), (8, 6, 1.0, 0.5),
    (10, 8, 1.0, 0.25),
]
POINTS = [(0.05, 1.0), (0.4, 0.6), (2.0, 9.0), (-0.2, 1.5)]


def load_peer(path: Path) -> dict:
    """The peer's ``all_neg`` and ``n_or_more_neg`` from its notebook (the code cells defining them)."""
    nb = json.loads(path.read_text())
    ns = {"np": np, "scipy": scipy, "copy": copy}
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and ("def all_neg(" in src or "def n_or_more_neg(" in src):
            # each of these cells also defines a GPU (cupy) simulation; only the ODE functions are used
            exec(compile(src, f"{path.name}", "exec"), ns)  # noqa: S102 - the peer's code, run not copied
    return {"all": ns["all_neg"], "at_least": ns["n_or_more_neg"]}


def vectors(R, Q, D, rng):
    """Teacher (|w*|^2 = D) and student with overlaps exactly (R, Q) in D dimensions."""
    t = rng.standard_normal(D)
    t *= np.sqrt(D) / np.linalg.norm(t)
    u = rng.standard_normal(D)
    u -= (u @ t) / D * t
    u *= np.sqrt(D) / np.linalg.norm(u)
    return t, R * t + np.sqrt(Q - R * R) * u


def peer_run(peer, T, n, l1, l2, D, teacher, student, alpha):
    if n is None:
        return peer["all"](D, teacher, student, T, l1, l2, alpha)
    return peer["at_least"](D, teacher, student, T, n, l1, l2, alpha)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", type=Path, default=Path("/tmp/peer_rl_perceptron/ODEs_simulations.ipynb"))
    ap.add_argument("--alpha", type=float, default=20.0)
    a = ap.parse_args()
    peer = load_peer(a.peer)
    rng = np.random.default_rng(0)
    D1 = 10**4
    print(f"1. increments over alpha = 1 from fixed (R, Q): ours (DOP853, N -> inf) vs peer (Euler, dt = 1/D, "
          f"D = {D1}: its O(1/D) term and Euler error ~1e-4; it records R, Q rounded to 5 decimals)")
    print(f"{'T':>3} {'n':>3} {'lr1':>4} {'lr2':>4} {'R':>5} {'Q':>4} | {'dR ours':>10} {'dR peer':>10} | "
          f"{'dQ ours':>10} {'dQ peer':>10}")
    worst = 0.0
    for T, n, l1, l2 in SETTINGS:
        ode = RLPerceptronODE(T, l1, l2, "all" if n is None else "at_least", n)
        for R, Q in POINTS:
            t, st = vectors(R, Q, D1, rng)
            R0, Q0 = t @ st / D1, st @ st / D1
            out = peer_run(peer, T, n, l1, l2, D1, t, st, 1)
            cur = ode.integrate(R0, Q0, [1.0])
            dR, dQ = float(cur.R[0] - R0), float(cur.Q[0] - Q0)
            pR, pQ = out["r"][-1] - R0, out["q"][-1] - Q0
            worst = max(worst, abs(pR - dR) / max(abs(dR), 1e-3), abs(pQ - dQ) / max(abs(dQ), 1e-3))
            print(f"{T:>3} {str(n or T):>3} {l1:>4} {l2:>4} {R:>5} {Q:>4} | {dR:>10.5f} {pR:>10.5f} | "
                  f"{dQ:>10.5f} {pQ:>10.5f}")
    print(f"largest relative difference of the increments: {worst:.2e}")
    print()
    print(f"2. learning curves to alpha = {a.alpha:g} from R = 0, Q = 1: ours (DOP853) vs peer Euler, dt = 1/D, D = 400")
    for T, n, l1, l2 in SETTINGS[1:4]:
        ode = RLPerceptronODE(T, l1, l2, "all" if n is None else "at_least", n)
        t, s = vectors(0.0, 1.0, 400, rng)
        t0 = time.perf_counter()
        out = peer_run(peer, T, n, l1, l2, 400, t, s, int(a.alpha))
        tp = time.perf_counter() - t0
        al = np.arange(len(out["r"]))
        t0 = time.perf_counter()
        cur = ode.integrate(0.0, 1.0, al)
        to = time.perf_counter() - t0
        print(f"T = {T}, n = {n or T}, lr = ({l1}, {l2}): max |R_ours - R_peer| = {np.max(np.abs(cur.R - out['r'])):.2e}, "
              f"max |Q_ours - Q_peer|/Q = {np.max(np.abs(cur.Q - out['q']) / cur.Q):.2e}; "
              f"R(alpha={al[-1]}) = {cur.R[-1]:.5f} vs {out['r'][-1]:.5f}; time ours {to:.3f} s, peer {tp:.2f} s")


if __name__ == "__main__":
    main()
