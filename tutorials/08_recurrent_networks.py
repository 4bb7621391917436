# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 8: Recurrent networks and temporal credit assignment
#
# **Learning objectives.** After this lesson you can
#
# 1. unroll a linear recurrent network into its *lag maps* $M_k = W_yW_h^kW_x$ and say why inputs
#    that are white over time split the task into independent lags and modes;
# 2. state the learning dynamics of one mode (input strength $b$, recurrent eigenvalue $a$, output
#    strength $c$) and read a mode's **memory timescale** off its eigenvalue;
# 3. compute the gradient through time three ways, by backpropagation through time (BPTT), by
#    forward-mode real-time recurrent learning (RTRL) and by truncated BPTT (TBPTT), and say what
#    each costs and what truncation drops;
# 4. predict what a truncated window can and cannot learn (a delay beyond the window; a memory
#    longer than the window), then check it against trained networks.
#
# Literature: Werbos (1990), *Backpropagation through time: what it does and how to do it*
# (Proc. IEEE 78:1550); Williams & Zipser (1989), *A learning algorithm for continually running
# fully recurrent neural networks* (Neural Computation 1:270); Lillicrap & Santoro (2019),
# *Backpropagation through time and the brain* (Current Opinion in Neurobiology 55:82). The mode
# dynamics of linear recurrent networks follow Proca, Dominé, Shanahan & Mediano (2025),
# *Learning dynamics in linear recurrent neural networks* (ICML); the truncated-BPTT mode flow is
# the package's derivation (`idealnets.theory.recurrent`).
#
# *Run time.* Quick sizes: 6 networks per ensemble, learning rate 0.06, training to $t = 12$
# and 20 (a few hundred steps). The full-size figures (`figures/recurrent/recurrent_modes.py`,
# `recurrent_tbptt.py`) use 8-12 networks at learning rate 0.02; set `QUICK = False` for 16 networks
# at learning rate 0.02 trained to $t = 40$.

# %%
# %matplotlib inline
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import tqdm.auto
import tqdm.std

from idealnets.simulate.recurrent import aligned_init, lag_map_strengths, train
from idealnets.teaching import check, choose, reveal, interactive
from idealnets.theory.recurrent import (LinearRNNTheory, bptt_gradient, delayed_copy_profile, lag_maps, lag_task,
                                        leaky_integrator_profile, mode_reduction, optimal_geometric_fit, rnn_forward,
                                        rtrl_gradient, spectral_radius, tbptt_gradient, tbptt_learnable)

tqdm.auto.tqdm = tqdm.std.tqdm   # text progress bars (silent outside a terminal), not notebook widgets
QUICK = True
E, LR, T_END = (6, 0.06, 12.0) if QUICK else (16, 0.02, 40.0)   # networks, learning rate, training time (t = lr x steps)
T_FINAL = 20.0 if QUICK else 40.0                                 # training time of the last section's ensemble
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A linear recurrent network, unrolled
#
# An Elman (1990) network without its nonlinearity reads a sequence $x_1,\dots,x_T$ into a hidden
# state and reports at the end:
#
# $$h_t = W_h h_{t-1} + W_x x_t\quad(h_0 = 0),\qquad \hat y = W_y h_T .$$
#
# Unrolling the recursion, the output is a sum over **lags** $k = T - t$ (how many steps ago an
# input arrived):
#
# $$\hat y = \sum_{k=0}^{T-1} M_k\,x_{T-k},\qquad M_k = W_y W_h^k W_x .$$
#
# The lag map $M_k$ is the network's impulse response: what an input seen $k$ steps ago contributes
# to the output. Inputs are stored as `X` of shape (N_in, T, P) (samples last), targets `Y`
# (N_out, P); the loss is $L = \frac1{2P}\sum_\mu\|y_\mu-\hat y_\mu\|^2$ and time is
# $t = \text{lr}\times\text{steps}$ (docs: Conventions, "Loss and time").
#
# ### Exercise 1 (5 min): the lag maps
#
# Write `my_lag_maps(Wx, Wh, Wy, n_lags)` returning an array of shape (n_lags, N_out, N_in) with
# `M[k]` $= W_yW_h^kW_x$. The check compares it with `idealnets.theory.recurrent.lag_maps` for a random
# network, and the cell after it rebuilds the network's output from your lag maps.

# %%
N_IN, N_H, N_OUT, T_RAND, P_RAND = 2, 4, 3, 8, 32
Wx_r = rng.standard_normal((N_H, N_IN)) / np.sqrt(N_IN)
Q_r = np.linalg.qr(rng.standard_normal((N_H, N_H)))[0]
Wh_r = 0.8 * Q_r                                     # orthogonal times 0.8: spectral radius 0.8
Wy_r = rng.standard_normal((N_OUT, N_H)) / np.sqrt(N_H)
X_r = rng.standard_normal((N_IN, T_RAND, P_RAND))
Y_r = rng.standard_normal((N_OUT, P_RAND))
weights_r = (Wx_r, Wh_r, Wy_r)
print(f"spectral radius of W_h: {spectral_radius(Wh_r):.3f}")


# %% tags=["exercise"]
def my_lag_maps(Wx, Wh, Wy, n_lags):
    # BEGIN SOLUTION
    return np.stack([Wy @ np.linalg.matrix_power(Wh, k) @ Wx for k in range(n_lags)])
    # END SOLUTION


# %%
M_r = my_lag_maps(Wx_r, Wh_r, Wy_r, T_RAND)
check("1", "lag maps M_k = W_y W_h^k W_x", M_r, lag_maps(weights_r, T_RAND),
      hint="M[0] = Wy @ Wx; each further lag multiplies by Wh in the middle (np.linalg.matrix_power).")
yhat_rnn = Wy_r @ rnn_forward(weights_r, X_r)[:, -1]                       # run the recursion
yhat_lags = sum(M_r[k] @ X_r[:, T_RAND - 1 - k] for k in range(T_RAND))   # sum over lags
print(f"max |recursion - sum over lags| = {np.abs(yhat_rnn - yhat_lags).max():.1e}")

# %% [markdown]
# ## 2. White inputs split the task into lags, and lags into modes
#
# If the inputs are **white across time and dimension**, $\frac1P X_tX_{t'}^\top = \delta_{tt'}I$,
# the loss is a sum over lags,
#
# $$L = \tfrac1{2P}\|Y\|^2 - \sum_k\operatorname{tr}(M_k^\top C_k) + \tfrac12\sum_k\|M_k\|_F^2,
#   \qquad C_k = \tfrac1P\,Y X_{T-k}^\top ,$$
#
# so the task is fully described by its **lag correlations** $C_k$. When they share singular
# vectors, $C_k = U\operatorname{diag}(s_k)V^\top$ with a *profile* $s_k$ per mode, weights that start
# aligned ($W_x = R\operatorname{diag}(b)V^\top$, $W_h = R\operatorname{diag}(a)R^\top$,
# $W_y = U\operatorname{diag}(c)R^\top$) stay aligned, and each mode is three numbers descending
#
# $$\ell(b,a,c) = \tfrac12\sum_{k=0}^{T-1}(s_k - c\,a^k b)^2,\qquad e_k = s_k - c\,a^kb,$$
#
# $$\tau\dot b = c\sum_k a^k e_k,\qquad \tau\dot c = b\sum_k a^k e_k,\qquad
#   \tau\dot a = cb\sum_k k\,a^{k-1}e_k .$$
#
# The mode's impulse response is geometric, $c\,a^kb$, so at the fixed point it is the best
# geometric fit $u\,a^k$ of the profile (`optimal_geometric_fit`). For $T\ge2$ there is no closed
# form; `LinearRNNTheory` integrates the three-dimensional flow per mode (docstring of
# `idealnets.theory.recurrent`). A mode whose profile is a **leaky integrator**, $s_k = g\lambda^k$, is
# fitted exactly: it learns $u = cb = g$ and the recurrent eigenvalue $a = \lambda$.
#
# Below, three leaky-integrator modes, $(g, \lambda) = (2, 0.5), (1.2, 0.8), (0.6, 0.3)$, over
# $T = 6$ steps, in random input and output frames; `mode_reduction` recovers the profiles from the
# data.

# %%
T_MODES = 6
MODES = ((2.0, 0.5), (1.2, 0.8), (0.6, 0.3))                      # (gain g, leak lambda) per mode
profiles = np.stack([leaky_integrator_profile(T_MODES, lam, g) for g, lam in MODES], axis=1)   # (T, 3)
U_task = np.linalg.qr(rng.standard_normal((3, 3)))[0]
V_task = np.linalg.qr(rng.standard_normal((3, 3)))[0]
X_m, Y_m = lag_task(profiles, U=U_task, V=V_task, seed=0)
red = mode_reduction(X_m, Y_m)
print("profiles recovered from the data:", np.allclose(red.s, profiles, atol=1e-10))
th_modes = LinearRNNTheory(X_m, Y_m, b0=0.05, a0=0.0, c0=0.05)
a_learned = th_modes.recurrent_eigenvalues(np.inf)                   # the fixed point (t = inf)
print("learned recurrent eigenvalues a*:", np.round(a_learned, 6), " leaks:", [lam for _, lam in MODES])

# %% [markdown]
# ### Exercise 2 (5 min): a mode's memory timescale
#
# A mode with recurrent eigenvalue $0<|a|<1$ forgets geometrically: its lag map is
# $c\,a^kb = u\,|a|^k(\pm1)^k = u\,(\pm1)^k e^{-k/\tau_\text{mem}}$. Write `memory_timescale(a)`: the
# number of steps $\tau_\text{mem}$ over which the magnitude falls by a factor $e$. The check
# compares it, for the three learned eigenvalues, with the decay rate of the learned lag maps
# (a straight-line fit of $\log|c\,a^kb|$ against $k$ over 20 lags).

# %% tags=["exercise"]
def memory_timescale(a):
    a = np.asarray(a, dtype=float)
    # BEGIN SOLUTION
    return -1.0 / np.log(np.abs(a))
    # END SOLUTION


# %%
lag = np.arange(20)
slopes = np.polyfit(lag, np.log(np.abs(th_modes.mode_maps(np.inf, n_lags=20))), 1)[0]   # (3,)
check("2", "memory timescales (steps)", memory_timescale(a_learned), -1.0 / slopes, rtol=1e-6,
      hint="|a|^k = exp(k log|a|); set that equal to exp(-k / tau_mem).")
print("memory timescales:", np.round(memory_timescale(a_learned), 2), "steps")

# %% [markdown]
# ## 3. Three ways to compute the gradient through time
#
# All three compute (or approximate) $\partial L/\partial W$ for the unrolled network.
#
# * **BPTT** (Werbos 1990) runs the network forward, *stores every hidden state*, then sends the
#   error backward: $\delta_T = W_y^\top(\hat y - y)/P$, $\delta_{t-1} = W_h^\top\delta_t$, and
#   $\frac{\partial L}{\partial W_x} = \sum_t\delta_t x_t^\top$,
#   $\frac{\partial L}{\partial W_h} = \sum_t\delta_t h_{t-1}^\top$. Memory grows with $T$
#   ($T\,N_h$ numbers per sample), and the backward pass runs in reverse time, which is why
#   Lillicrap & Santoro (2019) doubt the brain does it literally.
# * **RTRL** (Williams & Zipser 1989) runs *forward only*, carrying the sensitivities
#   $S_t = \partial h_t/\partial W$ with the state:
#   $S^x_t[i,a,b] = \sum_j W_h[i,j]\,S^x_{t-1}[j,a,b] + \delta_{ia}x_t[b]$ (and likewise for $W_h$
#   with $h_{t-1}$ in place of $x_t$); at the end $\partial L/\partial W = \sum_i(\partial
#   L/\partial h_T)_i S_T[i]$. Nothing from the past is stored, but $S$ has
#   $N_h^2(N_h+N_\text{in})$ entries per sample and updating it costs $O(N_h^4)$ per step.
# * **TBPTT(k)** stops the backward pass after $k$ steps (in torch: `h.detach()` right after step
#   $T-k$): $h_{T-k}$ is treated as a constant. $\partial L/\partial W_y$ is exact;
#   $\partial L/\partial W_x$ keeps only the lags $l<k$; $\partial L/\partial W_h$ keeps, of the
#   terms of each lag, those whose backward path stays in the window (the last one uses the
#   *value* of $h_{T-k}$). The dropped terms are its **bias**.
#
# In lag form $\delta_{T-l} = (W_h^\top)^l\,W_y^\top(\hat y - y)/P$, so the full input gradient is
# $\sum_{l=0}^{T-1}\delta_{T-l}\,x_{T-l}^\top$ summed over samples.
#
# ### Exercise 3 (10 min): what truncation drops
#
# Write `dropped_input_gradient(weights, X, Y, k)`: the part of $\partial L/\partial W_x$ that BPTT
# has and TBPTT(k) drops, $\sum_{l\ge k}\delta_{T-l}\,x_{T-l}^\top$ (summed over samples; the $1/P$
# is inside $\delta$). You may use `rnn_forward(weights, X)`, which returns the hidden states
# (N_h, T+1, P) with `H[:, t]` $= h_t$. The check compares with
# `bptt_gradient(...)[0] - tbptt_gradient(..., k)[0]` for several windows.

# %% tags=["exercise"]
def dropped_input_gradient(weights, X, Y, k):
    Wx, Wh, Wy = weights
    T, P = X.shape[1], X.shape[2]
    # BEGIN SOLUTION
    H = rnn_forward(weights, X)
    delta = Wy.T @ (Wy @ H[:, T] - Y) / P                 # delta_T = dL/dh_T, (N_h, P)
    dropped = np.zeros_like(Wx)
    for lag_l in range(T):                                # delta is now delta_{T - lag_l}
        if lag_l >= k:
            dropped += delta @ X[:, T - 1 - lag_l].T      # x_{T - lag_l} is X[:, T - 1 - lag_l]
        delta = Wh.T @ delta
    return dropped
    # END SOLUTION


# %%
for k in (1, 3, 6):
    want = bptt_gradient(weights_r, X_r, Y_r)[0] - tbptt_gradient(weights_r, X_r, Y_r, k)[0]
    check("3", f"input-gradient terms dropped by TBPTT(k = {k})", dropped_input_gradient(weights_r, X_r, Y_r, k),
          want, rtol=1e-8, atol=1e-14,
          hint="the lag-l input x_{T-l} is X[:, T-1-l]; multiply the error by W_h^T once per step back.")

# %% [markdown]
# ### The three methods side by side
#
# Below, for the random network of section 1 ($N_h = 4$, $T = 8$, $W_h = 0.8\,Q$ with $Q$
# orthogonal): (a) how far each method's gradient (all three weight matrices together) is from
# BPTT's, against the window $k$; (b) how many numbers each must keep in memory to produce one
# gradient, against the sequence length $T$ (per sample; counted from the formulas above, for two
# hidden sizes).

# %%
def flat(grads):
    return np.concatenate([g.ravel() for g in grads])


g_bptt = flat(bptt_gradient(weights_r, X_r, Y_r))
rel_rtrl = np.linalg.norm(flat(rtrl_gradient(weights_r, X_r, Y_r)) - g_bptt) / np.linalg.norm(g_bptt)
ks = np.arange(1, T_RAND + 1)
rel_tbptt = np.array([np.linalg.norm(flat(tbptt_gradient(weights_r, X_r, Y_r, k)) - g_bptt)
                      for k in ks]) / np.linalg.norm(g_bptt)
T_seq = np.arange(1, 201)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
ax1.semilogy(ks[:-1], rel_tbptt[:-1], "o-", color="C1", label="TBPTT(k)")
ax1.axhline(rel_rtrl, color="C2", label="RTRL (no window)")
ax1.set_xlabel("truncation window k (k = T = 8: TBPTT is BPTT, difference 0)")
ax1.set_ylabel(r"$\|g - g_\mathrm{BPTT}\| / \|g_\mathrm{BPTT}\|$")
ax1.set_title("(a) distance from the BPTT gradient", fontsize=10)
ax1.legend(fontsize=8, frameon=False)
for n_h, ls in ((4, "-"), (16, "--")):
    ax2.plot(T_seq, (T_seq + 1) * n_h, ls, color="C0", label=f"BPTT, $N_h$ = {n_h}: $(T+1)N_h$ states")
    ax2.plot(T_seq, np.full(T_seq.shape, n_h**2 * (n_h + N_IN) + n_h), ls, color="C2",
             label=f"RTRL, $N_h$ = {n_h}: $N_h^2(N_h+N_{{in}})$ sensitivities")
ax2.plot(T_seq, np.full(T_seq.shape, (T_RAND + 1) * 4), ":", color="C1", label=f"TBPTT(k = {T_RAND}), $N_h$ = 4: $(k+1)N_h$ states")
ax2.set_yscale("log")
ax2.set_ylim(5, 3e5)
ax2.set_xlabel("sequence length T")
ax2.set_ylabel("numbers stored per sample")
ax2.set_title(f"(b) memory for one gradient ($N_{{in}}$ = {N_IN})", fontsize=10)
ax2.legend(fontsize=6.5, frameon=False, ncol=2, loc="upper left")
fig.tight_layout()
plt.show()
print(f"RTRL vs BPTT: relative difference {rel_rtrl:.1e} (rounding); "
      f"TBPTT: {rel_tbptt[0]:.2f} at k = 1, {rel_tbptt[-2]:.1e} at k = {T_RAND - 1}, {rel_tbptt[-1]:g} at k = T")
assert rel_rtrl < 1e-12 and rel_tbptt[-1] == 0 and np.all(np.diff(rel_tbptt[:-1]) < 0)
cpu = {}
for n_h in (4, 16):
    W = (rng.standard_normal((n_h, N_IN)), 0.8 * np.linalg.qr(rng.standard_normal((n_h, n_h)))[0],
         rng.standard_normal((N_OUT, n_h)))
    for name, fn in (("BPTT", bptt_gradient), ("RTRL", rtrl_gradient)):
        c0 = time.process_time()
        fn(W, X_r, Y_r)
        cpu[name, n_h] = time.process_time() - c0
print("CPU time for one gradient (T = 8, P = 32): " + ", ".join(
      f"{name} N_h={n_h}: {1e3 * c:.1f} ms" for (name, n_h), c in cpu.items()))

# %% [markdown]
# ### Exercise 4 (5 min): read the figure
#
# Which statement do panels (a) and (b) support?
#
# * (a) RTRL is a cheap approximation of BPTT: like TBPTT(1) it has a bias, but it needs no memory.
# * (b) RTRL computes the same gradient as BPTT (to rounding) without storing the past, so its
#   memory does not grow with $T$; it grows like $N_h^3$ instead, so it pays off only for long
#   sequences and small networks. TBPTT(k) is cheaper than BPTT but biased, less so as $k$ grows.
# * (c) Truncation costs almost nothing: beyond $k = 2$ the TBPTT gradient equals BPTT's.
#
# Set `answer` to `"a"`, `"b"` or `"c"`.

# %% tags=["exercise"]
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
choose("4", answer, correct="b", why={
    "a": "RTRL is exact, not an approximation: its distance from BPTT is at rounding level (1e-16) in panel (a), "
         "and in panel (b) it stores N_h^2 (N_h + N_in) sensitivities, far more than BPTT for short sequences.",
    "b": "RTRL equals BPTT to rounding (panel a) with memory independent of T but cubic in N_h (panel b); "
         "TBPTT keeps only the last k + 1 states, and its bias shrinks as k grows and vanishes at k = T.",
    "c": "The TBPTT bias shrinks geometrically with k but is not zero before k = T: in panel (a) it is still "
         "well above rounding at k = 2 and at every window shorter than the sequence.",
})

# %% [markdown]
# ## 4. What a truncated window can learn
#
# In the mode frame truncation changes two of the three equations (our derivation in
# `idealnets.theory.recurrent`):
#
# $$\tau\dot b = c\sum_{l<k}a^l e_l,\qquad \tau\dot a = cb\sum_l \min(l,k)\,a^{l-1}e_l,\qquad
#   \tau\dot c = b\sum_l a^l e_l\ \text{(unchanged)}.$$
#
# Take a **delayed copy**: $y = x_{T-d}$, the input from $d$ steps before the end (profile
# $s_l = \delta_{l,d}$), with $T = 5$ and $d = 2$. Each network is one aligned mode ($N_h = 1$)
# starting from small jittered $(b_0, a_0, c_0)$ around $(0.2, 0.3, 0.2)$, so its initial output is
# nearly zero.
#
# ### Exercise 5 (5 min): predict, then run
#
# Before running the next cell, predict the training loss at $t = $ `T_END` when the networks are
# trained with TBPTT and a window $k = d = 2$, i.e. the window just misses the lag that matters.
# (For reference: the loss of a network that outputs zero is $\frac12\sum_l s_l^2$.) Write it as
# `prediction = <number>` in the exercise cell below, with a comment saying how you reasoned.

# %%
T_COPY, D = 5, 2
s_copy = delayed_copy_profile(T_COPY, D)
X_c, Y_c = lag_task(s_copy, seed=0)
red_c = mode_reduction(X_c, Y_c)
b0, a0, c0 = rng.uniform(0.15, 0.25, E), rng.uniform(0.2, 0.4, E), rng.uniform(0.15, 0.25, E)
print(f"loss of the zero output: {0.5 * np.sum(s_copy**2):g}; initial loss of the ensemble: "
      f"{np.mean([LinearRNNTheory.from_profiles(red_c.s, b0=b0[e], a0=a0[e], c0=c0[e]).loss(0.0) for e in range(E)]):.3f}")

# %% tags=["exercise"]
# BEGIN SOLUTION
# Inside the window (lags 0 and 1) the target is zero, so the input weights only ever hear
# "output less": tau db/dt = -c^2 b (1 + a^2) < 0. No credit from lag 2 reaches W_x, b shrinks,
# the output stays near zero and the loss stays at its start, 1/2 * s_2^2 = 0.5.
prediction = 0.5   # your guess: the training loss at t = T_END with window k = d = 2
# END SOLUTION


# %%
def train_aligned(X, Y, red, b0, a0, c0, k=None, lr=LR, t_end=T_END, record=25):
    """An ensemble of one-mode RNNs (N_h = 1) from the starts (b0, a0, c0), trained by BPTT (k=None) or TBPTT(k)."""
    W0 = aligned_init(b0[:, None], a0[:, None], c0[:, None], red.U, red.V, n_hidden=1, n_networks=len(b0), seed=0)
    return train(W0, X, Y, lr=lr, steps=int(round(t_end / lr)), record=record,
                 method="bptt" if k is None else "tbptt", k=k)


runs_c, theory_c = {}, {}
for k in (D, None):
    runs_c[k] = train_aligned(X_c, Y_c, red_c, b0, a0, c0, k=k)
    theory_c[k] = np.array([LinearRNNTheory.from_profiles(red_c.s, b0=b0[e], a0=a0[e], c0=c0[e], truncation=k)
                            .loss(runs_c[k].times) for e in range(E)])
measured = runs_c[D].losses[:, -1].mean()
reveal("5", f"training loss at t = {T_END:g} with TBPTT(k = {D})", prediction, measured, rtol=0.1)

u_opt, a_opt, loss_opt = optimal_geometric_fit(s_copy)
fig, ax = plt.subplots(figsize=(6, 3.6))
for k, color, name in ((D, "C3", f"TBPTT(k = {D})"), (None, "C0", "BPTT")):
    t = runs_c[k].times
    ax.plot(t, theory_c[k].mean(0), "-", color=color, label=f"{name}: theory")
    m, sd = runs_c[k].losses.mean(0), runs_c[k].losses.std(0)
    ax.plot(t, m, "o", mfc="white", color=color, ms=4, label=f"{name}: {E} trained networks (mean)")
    ax.fill_between(t, m - sd, m + sd, color=color, alpha=0.2, lw=0, label=f"{name}: trained, mean $\\pm$ sd")
ax.axhline(loss_opt, color="grey", ls=":", label=f"best one-mode fit ({loss_opt:.2f})")
ax.set_xlabel(r"time $t/\tau$ (= lr x steps)")
ax.set_ylabel("training loss")
ax.set_title(f"delayed copy at lag d = {D}, T = {T_COPY}", fontsize=10)
ax.legend(fontsize=7, frameon=False)
fig.tight_layout()
plt.show()
print(f"loss at t = {T_END:g}: TBPTT(k = {D}) {runs_c[D].losses[:, -1].mean():.3f} (theory "
      f"{theory_c[D][:, -1].mean():.3f}); BPTT {runs_c[None].losses[:, -1].mean():.3f} (theory "
      f"{theory_c[None][:, -1].mean():.3f}); the best one-mode fit of a pure delay is {loss_opt:.3f}")
print(f"max |trained - theory| over networks and times: TBPTT {np.abs(runs_c[D].losses - theory_c[D]).max():.1e}, "
      f"BPTT {np.abs(runs_c[None].losses - theory_c[None]).max():.1e}")
print("can TBPTT(k) learn this delay at all (some signal inside the window)?",
      {k: tbptt_learnable(s_copy, k) for k in range(1, T_COPY + 1)})

# %% [markdown]
# **Why.** With the target zero at every lag inside the window, $e_l = -c\,a^lb$ there, and
#
# $$\tau\dot b = c\sum_{l<k}a^le_l = -c^2 b\sum_{l<k}a^{2l}\ \le 0 :$$
#
# the input strength can only shrink, so TBPTT($k$) **cannot learn a delay $d\ge k$**, whatever the
# training time (`tbptt_learnable`). BPTT can, but only to the best *geometric* fit: one mode with
# a single eigenvalue cannot produce a pure delay, and the best it can do ($a^* = \pm1$, a
# constant impulse response) leaves the loss at 0.4. Each trained network follows the theory from
# its own start within the printed deviation: gradient descent against gradient flow, an
# $O(\text{lr})$ gap (section 6 halves the learning rate and measures it halve).
#
# ### Exercise 6 (5 min): a memory longer than the window?
#
# Now a leaky integrator with leak $\lambda = 0.8$ ($T = 6$): its memory timescale is
# `memory_timescale(0.8)` $\approx 4.5$ steps. Train it with the shortest window, **TBPTT(k = 1)**:
# the backward pass visits only the last step. Predict the memory timescale (in steps) of the
# learned mode, $-1/\log|a|$ at $t = $ `T_END`, as `prediction = <number>` in the cell below.

# %% tags=["exercise"]
# BEGIN SOLUTION
# Lag 0 carries signal (s_0 = 1), so b and c grow as under BPTT. The W_h update keeps, for every
# lag, the one-step term delta_T h_{T-1}^T, and the *value* of h_{T-1} holds the whole past. At
# the exact fit (u = 1, a = 0.8) every e_l = 0, so all truncated sums vanish: the exact fit is a
# rest point of the truncated flow. Truncation cuts the backward path, not the forward memory.
prediction = float(memory_timescale(0.8))   # your guess: the learned memory timescale, in steps
# END SOLUTION

# %%
LEAK = 0.8
s_leak = leaky_integrator_profile(T_MODES, LEAK)
X_l, Y_l = lag_task(s_leak, seed=1)
red_l = mode_reduction(X_l, Y_l)
runs_l, a_theory_l = {}, {}
for k in (1, None):
    runs_l[k] = train_aligned(X_l, Y_l, red_l, b0, a0, c0, k=k)
    a_theory_l[k] = np.array([LinearRNNTheory.from_profiles(red_l.s, b0=b0[e], a0=a0[e], c0=c0[e], truncation=k)
                              .recurrent_eigenvalues(runs_l[k].times)[:, 0] for e in range(E)])
maps_l = {k: lag_map_strengths(runs_l[k].weights, red_l.U, red_l.V, 2)[..., 0] for k in runs_l}   # (E, R, 2)
a_sim_l = {k: m[..., 1] / m[..., 0] for k, m in maps_l.items()}     # a = m_1 / m_0 for an aligned mode
measured = memory_timescale(a_sim_l[1][:, -1]).mean()
reveal("6", "learned memory timescale with TBPTT(k = 1)", prediction, measured, rtol=0.1, unit="steps")

fig, ax = plt.subplots(figsize=(6, 3.4))
for k, color, name in ((1, "C3", "TBPTT(k = 1)"), (None, "C0", "BPTT")):
    t = runs_l[k].times
    ax.plot(t[1:], a_theory_l[k][:, 1:].mean(0), "-", color=color, label=f"{name}: theory")
    m, sd = a_sim_l[k][:, 1:].mean(0), a_sim_l[k][:, 1:].std(0)
    ax.plot(t[1:], m, "o", mfc="white", color=color, ms=4, label=f"{name}: trained (mean)")
    ax.fill_between(t[1:], m - sd, m + sd, color=color, alpha=0.2, lw=0, label=f"{name}: trained, mean $\\pm$ sd")
ax.axhline(LEAK, color="grey", ls=":", label=f"leak $\\lambda$ = {LEAK:g}")
ax.set_xlabel(r"time $t/\tau$")
ax.set_ylabel(r"recurrent eigenvalue $a$ ($m_1/m_0$)")
ax.legend(fontsize=7, frameon=False)
fig.tight_layout()
plt.show()
b2c2 = {k: runs_l[k].weights[2][:, :, 0, 0] ** 2 - runs_l[k].weights[0][:, :, 0, 0] ** 2 for k in runs_l}
print(f"learned eigenvalue at t = {T_END:g}: TBPTT(1) {a_sim_l[1][:, -1].mean():.4f}, BPTT {a_sim_l[None][:, -1].mean():.4f}"
      f" (leak {LEAK:g}); memory timescales {memory_timescale(a_sim_l[1][:, -1]).mean():.2f} and "
      f"{memory_timescale(a_sim_l[None][:, -1]).mean():.2f} steps")
print(f"c^2 - b^2, mean change over training: BPTT {np.abs(b2c2[None][:, -1] - b2c2[None][:, 0]).mean():.1e}, "
      f"TBPTT(1) {np.abs(b2c2[1][:, -1] - b2c2[1][:, 0]).mean():.2f}")

# %% [markdown]
# **Why.** The window limits where *credit* can come from, not how long the network *remembers*:
# TBPTT(1) still treats $h_{T-1}$ as the value it is, the whole past folded into one vector, and
# its $W_h$ update correlates the last error with it. As long as some signal lies inside the
# window (here lag 0), the network learns, and where the target is exactly representable the
# truncated flow rests at the same answer as BPTT, a memory of about 4.5 steps from a window of 1.
# The bias shows elsewhere: the truncated flow is no gradient flow, so the balance $c^2-b^2$ that
# BPTT conserves (up to the $O(\text{lr}^2)$ per step of gradient descent) drifts under TBPTT; in the
# long run $b$ grows without bound while $c = u/b$ shrinks. Where the target is *not* geometric,
# the truncated rest point also differs from BPTT's (figure `recurrent_tbptt`: the delayed copy
# with $k = 3$ ends at 0.402 instead of 0.400).
#
# ## 5. Delay and window (interactive)
#
# Move the task's delay $d$ and the window $k$ ($k = T = 6$ is BPTT) and the training time: the
# plot shows the learned impulse response $c\,a^lb$ of the theory (TBPTT(k) in colour, BPTT in
# grey) against the target. For $k\le d$ nothing is learned; for $k>d$ a truncation-biased fit;
# long delays take long even for BPTT, since the lag-$d$ signal enters at order $a^d$. Without a
# widget front end a grid of examples is drawn instead.

# %%
T_VIEW = 6


def plot_window(d=2, k=3, log10_t=2.0, ax=None):
    s = delayed_copy_profile(T_VIEW, d)
    t = 10.0 ** log10_t
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(np.arange(T_VIEW), s, color="0.85", label="target $s_l$")
    losses = {}
    for kk, color, name in ((None, "0.4", "BPTT"), (k, "C3", f"TBPTT(k = {k})")):
        if kk is not None and kk >= T_VIEW:
            continue
        th = LinearRNNTheory.from_profiles(s, b0=0.2, a0=0.3, c0=0.2, truncation=kk)
        ax.plot(np.arange(T_VIEW), th.mode_maps(t)[:, 0], "o-", color=color, ms=4, label=name)
        losses[name] = float(th.loss(t))
    ax.set_ylim(-0.3, 1.1)
    ax.set_xlabel("lag l")
    ax.set_ylabel(r"learned $c\,a^l b$")
    ax.set_title(f"d = {d}, k = {k}, t = {t:.3g}: loss " + ", ".join(f"{n} {v:.2f}" for n, v in losses.items()),
                 fontsize=9)
    if own:
        ax.legend(fontsize=8, frameon=False)
        plt.show()


def static_grid():
    fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharey=True)
    for ax, (d, k) in zip(axes.flat, [(1, 1), (1, 2), (1, 4), (3, 2), (3, 3), (3, 4)]):
        plot_window(d, k, 2.0, ax=ax)
    axes[0, 0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    plt.show()


interactive(plot_window, static_grid,
            d=dict(value=2, min=0, max=T_VIEW - 2, step=1, description="delay d"),
            k=dict(value=3, min=1, max=T_VIEW, step=1, description="window k"),
            log10_t=dict(value=2.0, min=0.0, max=3.0, step=0.25, description="log10 t"))

# %% [markdown]
# ## 6. A trained ensemble against the theory line
#
# Back to the three leaky-integrator modes of section 2, trained by full BPTT. Each of the `E`
# networks starts aligned ($N_h = 3$, a random frame $R$ per network) from its own small balanced
# start, $b_0 = c_0 \in [0.03, 0.08]$ and $a_0\in[-0.1, 0.1]$ per mode; the theory line is the mode
# flow from each network's start, averaged over the ensemble. Left: the lag-0 strength
# $U_\alpha^\top W_yW_xV_\alpha = c\,b$ of each mode: the mode with the strongest *recent* signal
# is learned first. Right: the learned recurrent eigenvalues, $m_1/m_0$ from the trained lag maps,
# reaching the leaks, i.e. the memory timescales of the task.

# %%
r = len(MODES)
b0_m = rng.uniform(0.03, 0.08, (E, r))
a0_m = rng.uniform(-0.1, 0.1, (E, r))


def train_modes(lr, steps, record):
    W0 = aligned_init(b0_m, a0_m, b0_m, red.U, red.V, n_hidden=r, n_networks=E, seed=1)
    return train(W0, X_m, Y_m, lr=lr, steps=steps, record=record)


run = train_modes(LR, int(round(T_FINAL / LR)), 40)
t = run.times
maps_sim = lag_map_strengths(run.weights, red.U, red.V, 2)               # (E, R, 2, r): lags 0 and 1
theories = [LinearRNNTheory.from_profiles(red.s, b0=b0_m[e], a0=a0_m[e], c0=b0_m[e]) for e in range(E)]
maps_th = np.array([th.mode_maps(t)[:, :2] for th in theories])         # (E, R, 2, r)
a_sim, a_th = maps_sim[:, :, 1] / maps_sim[:, :, 0], maps_th[:, :, 1] / maps_th[:, :, 0]

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
tt = np.where(t > 0, t, np.nan)
for a, (g, lam) in enumerate(MODES):
    col = f"C{a}"
    ax1.plot(tt, maps_th[:, :, 0, a].mean(0), "-", color=col, label=f"theory, mode {a + 1} (g = {g:g})")
    m, sd = maps_sim[:, :, 0, a].mean(0), maps_sim[:, :, 0, a].std(0)
    ax1.plot(tt, m, "o", mfc="white", color=col, ms=3.5, label=f"trained mean, mode {a + 1}")
    ax1.fill_between(tt, m - sd, m + sd, color=col, alpha=0.2, lw=0, label=f"trained $\\pm$ sd, mode {a + 1}")
    ax2.plot(tt[1:], a_th[:, 1:, a].mean(0), "-", color=col, label=f"theory, mode {a + 1}")
    m, sd = a_sim[:, 1:, a].mean(0), a_sim[:, 1:, a].std(0)
    ax2.plot(tt[1:], m, "o", mfc="white", color=col, ms=3.5, label=f"trained mean, mode {a + 1}")
    ax2.fill_between(tt[1:], m - sd, m + sd, color=col, alpha=0.2, lw=0, label=f"trained $\\pm$ sd, mode {a + 1}")
    ax2.axhline(lam, color=col, ls=":", lw=1,
                label=f"leak {lam:g} (memory {memory_timescale(lam):.1f} steps)")
for ax in (ax1, ax2):
    ax.set_xscale("log")
    ax.set_xlabel(r"time $t/\tau$ (= lr x steps)")
    ax.legend(fontsize=6.5, frameon=False, ncol=1 if ax is ax1 else 2, loc="upper left")
ax1.set_ylabel(r"lag-0 strength $c\,b$")
ax2.set_ylabel(r"recurrent eigenvalue $a$ ($m_1/m_0$)")
ax2.set_ylim(-0.4, 1.6)
fig.suptitle(f"lines: mode-flow theory; markers and bands: {E} linear RNNs trained by BPTT (lr = {LR:g})",
             fontsize=10)
fig.tight_layout()
plt.show()

dev = np.abs(maps_sim.mean(0) - maps_th.mean(0)).max()
run_half = train_modes(LR / 2, 2 * int(run.steps[-1]), 2 * run.steps)   # same times, half the learning rate
dev_half = np.abs(lag_map_strengths(run_half.weights, red.U, red.V, 2).mean(0) - maps_th.mean(0)).max()
print(f"max deviation of the ensemble-mean lag maps from the theory: {dev:.3g} (targets up to 2) at lr = {LR:g}; "
      f"{dev_half:.3g} at lr = {LR / 2:g}: {dev / dev_half:.2f}x smaller, the O(lr) gap of gradient descent")
print(f"learned eigenvalues at t = {T_FINAL:g} (mean over networks):", np.round(a_sim[:, -1].mean(0), 4),
      " leaks:", [lam for _, lam in MODES])
assert 1.5 < dev / dev_half < 2.6 and np.allclose(a_sim[:, -1].mean(0), [lam for _, lam in MODES], atol=0.01)

# %% [markdown]
# Theory and trained networks agree up to the $O(\text{lr})$ error of gradient descent: halving the
# learning rate halves the gap, as printed. The agreement is exact in the limit because the
# networks start *aligned* with $N_h$ equal to the number of modes; from small random weights, or
# with spare hidden units on a profile that is not geometric, the networks leave the mode manifold
# and the theory is an approximation (figure `recurrent_modes`, panel b; paper section "Learning
# through time: linear recurrent networks").
#
# ## 7. Where to go next
#
# * Figure `recurrent_tbptt`: every window $k = 1..T$ on the delayed copy; learning starts at
#   $k = d + 1$.
# * Figure `recurrent_gradient_norm`: the backpropagated error $\|\partial L/\partial h_{T-k}\|$
#   decays or grows like $\rho^k$ with the spectral radius $\rho$ of $W_h$ (vanishing and exploding
#   gradients; Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013).
# * Figure `recurrent_tanh`: tanh networks learn the same modes in the same order while their
#   weights are small.
# * **Exercise for the curious:** a *window sum* (`window_sum_profile(T, w)`) is not geometric.
#   What eigenvalue does BPTT learn for $w = T$? (`optimal_geometric_fit` answers; then train it.)
