"""Side by side: the peer implementation yedizhang/linattn-icl (Zhang, Singh, Latham & Saxe 2025) and
idealnets' theory and trainer, merged key-query attention at the same settings.

The peer is not part of this repository: build it under /tmp (``git archive`` of the fetched
repository into ``--peer-dir``); this script runs its ``train.py`` there (unless its loss file
exists) and converts its conventions to ours:

* the peer's sequences have ``seq_len`` tokens including the query: ``N = seq_len - 1``;
* no ``1/N`` in the attention and the mean squared error without 1/2: with
  ``v = sqrt(N) v_peer``, ``K = sqrt(N) K_peer`` the two gradient flows coincide when
  ``t = 2 N lr_peer epoch`` and our loss is the peer's MSE / 2;
* its ``Lambda`` is a random rotation of ``diag(1..D)`` with trace 1 (our theory is rotation
  invariant), its data set is fixed (full-batch GD), ``x`` centred and ``w`` whitened over the set;
* its random init (std ``init`` per entry, mixed blocks 0) has, on average, the growing-mode
  amplitude ``s0 = H N init^2 / 2`` in our units.

Usage: ``python benchmarks/attention_peer.py --peer-dir /tmp/peer_linattn [--epochs 3001 ...]``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer-dir", required=True)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--init", type=float, default=1e-6)
    ap.add_argument("--trainset", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3001)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--seq-len", type=int, default=32)
    ap.add_argument("--seed", type=int, default=10)
    a = ap.parse_args(argv)

    from idealnets.simulate.attention import train_linear_attention
    from idealnets.theory.attention import InContextTask, MergedKQTheory

    peer = Path(a.peer_dir)
    fid = f"attnM_head{a.heads}_D4_R1_P{a.trainset}_N{a.seq_len}_seed{a.seed}.txt"
    t0 = time.perf_counter()
    if not (peer / fid).exists():
        subprocess.run([sys.executable, "train.py", "--model", "attnM", "--head_num", str(a.heads), "--init",
                        str(a.init), "--trainset_size", str(a.trainset), "--epoch", str(a.epochs), "--lr", str(a.lr),
                        "--seed", str(a.seed), "--seq_len", str(a.seq_len)], cwd=peer, check=True,
                       stdout=subprocess.DEVNULL)
    peer_wall = time.perf_counter() - t0
    mse = np.loadtxt(peer / fid)
    N = a.seq_len - 1
    lam = np.arange(4, 0, -1) / 10.0
    task = InContextTask(lam, N)
    t_peer = 2 * N * a.lr * np.arange(mse.size)
    L_peer = mse / 2

    s_ours = np.sqrt(N) * a.init
    lr_ours = 2 * N * a.lr
    t1 = time.perf_counter()
    run = train_linear_attention(lam, N, H=a.heads, init_scale=s_ours, init="random", lr=lr_ours,
                                 steps=a.epochs - 1, batch_size=1, train_set_size=a.trainset, n_networks=2,
                                 record=np.arange(0, a.epochs, 50), n_test=4096, seed=a.seed, progress_bar=False)
    ours_wall = time.perf_counter() - t1
    th_mean = MergedKQTheory(task, H=a.heads, init_scale=s_ours / np.sqrt(2))  # s0 = H N init^2 / 2
    D = task.D
    th_nets = [MergedKQTheory.from_weights(task, run.W0["V"][e, :, D, D], run.W0["KQ"][e, :, :D, :D])
               for e in range(run.n_networks)]
    mid = 0.5 * (task.loss_at_zero() + task.loss_min())

    def cross(t, L):
        j = int(np.argmax(L <= mid))
        return float(np.interp(mid, [L[j], L[j - 1]], [t[j], t[j - 1]])) if j > 0 else float("nan")

    print(f"settings: H={a.heads}, init (peer) {a.init:g}, P={a.trainset} fixed prompts, N={N}, lr (peer) {a.lr:g} "
          f"-> ours init_scale {s_ours:.3g}, lr {lr_ours:.3g}, t = 2 N lr epoch")
    print(f"{'t':>8} {'peer MSE/2':>12} {'ours train':>12} {'ours pop.':>12} {'ours test':>12} {'theory':>10}")
    for t in np.linspace(0, t_peer[-1], 13):
        i = int(np.argmin(np.abs(t_peer - t)))
        r = int(np.argmin(np.abs(run.times - t)))
        print(f"{t:8.1f} {L_peer[i]:12.4f} {run.train_loss[:, r].mean():12.4f} {run.losses[:, r].mean():12.4f} "
              f"{run.test_loss[:, r].mean():12.4f} {float(th_mean.loss(t)):10.4f}")
    print(f"drop time (loss halfway to the minimum): peer {cross(t_peer, L_peer):.1f}; ours (train) "
          + ", ".join(f"{cross(run.times, run.train_loss[e]):.1f}" for e in range(run.n_networks))
          + f"; theory at the mean s0 {th_mean.drop_time():.1f}, at each network's s0 "
          + ", ".join(f"{th.drop_time():.1f}" for th in th_nets))
    print(f"final loss: peer (train) {L_peer[-1]:.4f}; ours train {run.train_loss[:, -1].mean():.4f}, population "
          f"{run.losses[:, -1].mean():.4f}; theory global minimum {task.loss_min():.4f}, at t_end "
          f"{float(th_mean.loss(t_peer[-1])):.4f}")
    print(f"wall: peer {peer_wall:.1f} s (1 network), ours {ours_wall:.1f} s ({run.n_networks} networks)")


if __name__ == "__main__":
    main()
