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
# # Lesson 1: Deep linear networks
#
# **Learning objectives.** After this lesson you can
#
# 1. write the singular value decomposition (SVD) of a task's input-output correlation and say
#    why it organises learning in a linear network;
# 2. state the mode equation $\tau \dot u = D\,u^{2-2/D}(s-u)$ and solve it for depth 2;
# 3. predict when each mode is learned (plateaus and sudden drops), and how depth and the
#    initial scale change that;
# 4. compare the closed form with an ensemble of networks trained by gradient descent.
#
# The theory is Saxe, McClelland & Ganguli (2014), *Exact solutions to the nonlinear dynamics of
# learning in deep linear neural networks* (ICLR).
#
# *Run time.* The sizes below are chosen so that the lesson runs in well under a minute on a
# laptop CPU. The full-size versions (`figures/deep_linear/deep_linear_modes.py`, `deep_linear_depth.py`)
# use 32 networks of width 32 and smaller learning rates; set `QUICK = False` to train those sizes.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import numpy as np

from idealnets.simulate import train
from idealnets.theory import DeepLinearTheory
from idealnets.theory.deep_linear import learning_time, mode_strength

from idealnets.teaching import check, interactive
import tqdm.auto
import tqdm.std

tqdm.auto.tqdm = tqdm.std.tqdm   # text progress bars (silent outside a terminal), not notebook widgets
QUICK = True
E, WIDTH, KAPPA = (16, 16, 0.05) if QUICK else (32, 32, 0.02)   # networks, hidden width, lr / stable lr
rng = np.random.default_rng(0)


# %% [markdown]
# ## 1. The task and its SVD
#
# A linear network with $D$ weight matrices computes $\hat y = W_D\cdots W_1 x$. We train it on
# $P$ samples, inputs $X\in\mathbb R^{N_\text{in}\times P}$ (samples as columns) and targets
# $Y\in\mathbb R^{N_\text{out}\times P}$, with the loss $L = \frac1{2P}\sum_\mu\|y_\mu-\hat y_\mu\|^2$
# and gradient flow $\tau\dot W_l = -\partial L/\partial W_l$. Everything the network can learn is
# in two matrices: the input correlation $\Sigma^{xx}=XX^\top/P$ and the input-output correlation
# $\Sigma^{yx}=YX^\top/P$. With whitened inputs ($\Sigma^{xx}=I$) the loss depends on the data only
# through $\Sigma^{yx}$, and its SVD
#
# $$\Sigma^{yx} = U\,\mathrm{diag}(s)\,V^\top = \sum_\alpha s_\alpha\, u^\alpha v^{\alpha\top}$$
#
# splits the task into independent **modes**: an input direction $v^\alpha$, an output direction
# $u^\alpha$ and a strength $s_\alpha$. Below, whitened random inputs and four modes of strength
# 3, 2, 1 and 0.5.

# %%
N, P = 6, 6
X = np.sqrt(P) * np.linalg.qr(rng.standard_normal((N, P)))[0]      # X X^T / P = I
U_task = np.linalg.qr(rng.standard_normal((4, 4)))[0]
V_task = np.linalg.qr(rng.standard_normal((N, 4)))[0]
S_TASK = np.array([3.0, 2.0, 1.0, 0.5])
Y = U_task @ np.diag(S_TASK) @ V_task.T @ X                        # so that Syx = U diag(s) V^T
print("Sxx = I:", np.allclose(X @ X.T / P, np.eye(N)))

# %% [markdown]
# ### Exercise 1 (5 min): the singular values of the task
#
# Compute $\Sigma^{yx}$ from `X` and `Y` and its singular values `s_yx` (descending), with
# `np.linalg.svd`. The check cell compares them with `DeepLinearTheory(X, Y).s`, the package's
# one SVD of the task.

# %% tags=["exercise"]
# BEGIN SOLUTION
Syx = Y @ X.T / P
s_yx = np.linalg.svd(Syx, compute_uv=False)
# END SOLUTION

# %%
th = DeepLinearTheory(X, Y, depth=2, u0=1e-3)
check("1", "singular values of Syx", s_yx, th.s,
      hint="Syx = Y X^T / P (samples are columns); np.linalg.svd(Syx, compute_uv=False) returns "
           "the singular values alone, in descending order")

# %% [markdown]
# ## 2. One equation per mode
#
# Start the network *decoupled*: every layer aligned with the modes and balanced
# ($W_1 = R\,a\,V^\top$, $W_2 = U\,a\,R^\top$ for depth 2 with $R$ orthogonal). Then the modes never
# interact, and the strength of mode $\alpha$ in the total map,
# $u_\alpha = u^{\alpha\top} W_D\cdots W_1 v^\alpha$, obeys
#
# $$\tau\,\frac{du}{dt} = D\,u^{2-2/D}\,(s-u).$$
#
# For $D=1$ this is linear: $u(t) = s + (u_0-s)e^{-t/\tau}$, every mode on the time scale $\tau$.
# For $D=2$ it is a logistic equation, solved by the sigmoid
#
# $$u(t) = \frac{s\,e^{2st/\tau}}{e^{2st/\tau} - 1 + s/u_0}.$$
#
# A mode of strength $s$ sits near $u_0$ for a time of order $\frac{\tau}{2s}\ln\frac{s}{u_0}$ (a
# *plateau*) and then rises within about $\tau/s$ (a *sudden drop* of the loss). Stronger modes
# are learned first. For $D\ge3$ the package inverts the exact time integral (no ODE solver).
#
# ### Exercise 2 (10 min): the depth-2 sigmoid
#
# Write `u_two_layer(t, s, u0)` (take $\tau=1$) for arrays `t`. The check compares it with
# `idealnets.theory.deep_linear.mode_strength(t, s, u0, depth=2)`.

# %% tags=["exercise"]
def u_two_layer(t, s, u0):
    # BEGIN SOLUTION
    e = np.exp(2 * s * np.asarray(t, dtype=float))
    return s * e / (e - 1 + s / u0)
    # END SOLUTION


# %%
t = np.linspace(0, 6, 61)
check("2", "u(t), depth 2", u_two_layer(t, 2.0, 1e-3), mode_strength(t, 2.0, 1e-3, depth=2), rtol=1e-9)

# %% [markdown]
# ### Exercise 3 (10 min): when is a mode half learned?
#
# Solve your sigmoid for the time $t_{1/2}$ at which $u = s/2$. Write `t_half(s, u0)`; the check
# compares it with `learning_time(s, u0, s / 2, depth=2)` for the four modes of the task.
# *Hint:* set $u = s/2$ and solve for $e^{2st}$.

# %% tags=["exercise"]
def t_half(s, u0):
    # BEGIN SOLUTION
    s = np.asarray(s, dtype=float)
    return np.log(s / u0 - 1) / (2 * s)
    # END SOLUTION


# %%
check("3", "half-learning times", t_half(S_TASK, 1e-3), learning_time(S_TASK, 1e-3, S_TASK / 2, depth=2))
print("t_1/2 per mode:", np.round(th.learning_times(0.5), 2), "(stronger modes first)")

# %% [markdown]
# ## 3. The package computes it: `DeepLinearTheory`
#
# `DeepLinearTheory(X, Y, depth, u0)` does the SVD once and evaluates the closed forms at any
# array of times (time on the leading axis, `t = np.inf` the fixed point): `mode_strengths(t)`,
# `map(t)` $=U\,\mathrm{diag}(u(t))V^\top$, `loss(t)` and `learning_times(fraction)`.
#
# ## 4. Depth and initial scale (interactive)
#
# Move the sliders: depth $D$ and the initial strength $u_0$. Watch the plateaus get longer
# as $u_0$ shrinks (logarithmically for $D=2$, as a power $u_0^{-(1-2/D)}$ for deeper
# networks), and the drops get sharper with depth. Without a widget front end (a static
# notebook viewer, the documentation site) a grid of the same plots is drawn instead.

# %%
def plot_modes(depth=2, log10_u0=-3.0, ax=None):
    theory = DeepLinearTheory(X, Y, depth=depth, u0=10.0 ** log10_u0)
    tt = np.geomspace(1e-2, 300, 400)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    for a, s in enumerate(theory.s):
        ax.plot(tt, theory.mode_strengths(tt)[:, a] / s, color=f"C{a}", label=f"s = {s:g}")
    ax.set_xscale("log")
    ax.set_xlabel(r"time $t/\tau$")
    ax.set_ylabel(r"$u_\alpha(t)/s_\alpha$")
    ax.set_title(f"D = {depth}, u0 = 1e{log10_u0:g}", fontsize=10)
    if own:
        ax.legend(fontsize=8, frameon=False)
        plt.show()


def static_grid():
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharey=True)
    for ax, (d, lu) in zip(axes.flat, [(1, -3), (2, -3), (4, -3), (1, -6), (2, -6), (4, -6)]):
        plot_modes(d, lu, ax=ax)
    axes[0, 0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    plt.show()


interactive(plot_modes, static_grid,
            depth=dict(value=2, min=1, max=6, step=1, description="depth D"),
            log10_u0=dict(value=-3.0, min=-8.0, max=-0.5, step=0.5, description="log10 u0"))

# %% [markdown]
# ## 5. A trained ensemble against the theory line
#
# Now the real test. `idealnets.simulate.train` trains `E` depth-2 networks as one batched PyTorch program
# (full-batch gradient descent, float64) from decoupled initial weights with $u_0=10^{-3}$. Time
# is $t = \eta\cdot\text{steps}$; the learning rate is a fraction `KAPPA` of the stable limit, so
# the gradient-descent curve is within $O(\eta)$ of gradient flow. We project each network's map
# on the modes, $u_\alpha = u^{\alpha\top}W_2W_1v^\alpha$, and plot the ensemble mean (markers) on
# the theory (lines).

# %%
lr = KAPPA * th.stable_lr()
T_END = 12.0
run = train(X, Y, depth=2, width=WIDTH, n_networks=E, init="decoupled", init_scale=1e-3,
            lr=lr, steps=int(T_END / lr), record=40, seed=1, log=False)
u_sim = np.einsum("ia,erij,ja->era", th.U, run.maps, th.V)            # (E, R, modes)
tt = np.linspace(0, T_END, 300)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
for a, s in enumerate(th.s):
    ax1.plot(tt, th.mode_strengths(tt)[:, a], color=f"C{a}", label=f"theory, s = {s:g}")
    ax1.plot(run.times, u_sim[:, :, a].mean(0), "o", mfc="white", color=f"C{a}", ms=4)
ax1.set_xlabel(r"time $t/\tau$ (= lr x steps)")
ax1.set_ylabel(r"mode strength $u_\alpha$")
ax1.legend(fontsize=8, frameon=False, loc="center right")
ax2.plot(tt, th.loss(tt), "k-", label="theory")
ax2.plot(run.times, run.losses.mean(0), "o", mfc="white", color="k", ms=4, label=f"{E} trained networks")
ax2.set_xlabel(r"time $t/\tau$")
ax2.set_ylabel("training loss")
ax2.set_yscale("log")
ax2.legend(frameon=False)
fig.suptitle("lines: theory; markers: trained ensemble mean (plateaus and sudden drops)", fontsize=10)
fig.tight_layout()
plt.show()
dev = np.abs(u_sim.mean(0) - th.mode_strengths(run.times)).max() / th.s[0]
print(f"max deviation of the ensemble mean: {dev:.3g} s_1  (an O(lr) discretisation error: "
      f"halve KAPPA and it halves)")

# %% [markdown]
# ## 6. Where to go next
#
# * **Small random initialisation** is not decoupled: after a short alignment phase the modes
#   follow the same sigmoids from an effective $u_0$
#   (`idealnets.theory.deep_linear.effective_u0_two_layer`; figure `deep_linear_modes`).
# * **Depth**: from small weights, the learning time grows exponentially in depth; with greedy
#   layerwise pretraining linearly, and with scaled orthogonal initialisation not at all
#   (`idealnets.theory.deep_linear.depth_learning_steps`; figure `deep_linear_depth`).
# * **Exercise for the curious:** rerun section 5 with `depth=3` (the package's
#   `DeepLinearTheory(X, Y, depth=3, u0=...)` gives the line) and with a smaller `init_scale`.
