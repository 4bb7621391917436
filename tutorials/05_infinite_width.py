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
# # Lesson 5: Infinite width, lazy and rich learning
#
# **Learning objectives.** After this lesson you can
#
# 1. compute the neural tangent kernel (NTK) $\Theta$ of an infinitely wide network and predict its
#    training dynamics by kernel regression;
# 2. check that prediction against ensembles of finite-width networks, and see the kernel stop moving
#    as the width grows;
# 3. explain *lazy* versus *rich* learning with the exact solution of a two-layer linear network from
#    a $\lambda$-balanced initialisation, and say when the kernel moves.
#
# Theory: Jacot, Gabriel & Hongler (2018); Lee et al. (2019); for $\lambda$-balanced networks
# Fukumizu (1998), Braun et al. (2022) and Dominé et al. (2025).
#
# *Run time.* Quick sizes: widths 64 and 1024 with 8 networks each, 200 steps. The full-size figures
# (`figures/ntk/ntk_*.py`, `figures/lambda_balanced/lambda_balanced_lazy_rich.py`) go to width 4096;
# set `QUICK = False`.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import numpy as np
from idealnets.teaching import check, interactive
import tqdm.auto
import tqdm.std

from idealnets.simulate.deep_linear import train_from
from idealnets.simulate.ntk import train as train_ntk
from idealnets.theory.lambda_balanced import (TwoLayerExact, balancedness, free_scale, lambda_balanced_init, lazy_map,
                                    representation_change, task_loss, whitened_task)
from idealnets.theory.ntk import gradient_flow_mean, kernels, relu_expectations, stable_lr

tqdm.auto.tqdm = tqdm.std.tqdm   # text progress bars (silent outside a terminal), not notebook widgets
QUICK = True
WIDTHS, E_NTK, STEPS = ([64, 1024], 8, 200) if QUICK else ([64, 256, 1024, 4096], 16, 400)
ARCH = dict(depth=1, activation="relu", W_std=1.0, b_std=0.5)


# %% [markdown]
# ## 1. The infinite-width kernels
#
# A network $f(x) = \frac{1}{\sqrt n}\sum_{i=1}^n v_i\,\phi(w_i\cdot x + b_i)$ with random weights is, as
# its width $n\to\infty$, a Gaussian process with covariance $K(x, x')$ (the NNGP kernel). Its
# gradient with respect to all parameters defines the **neural tangent kernel**
# $\Theta(x, x') = \nabla_\theta f(x)\cdot\nabla_\theta f(x')$, which at infinite width is deterministic
# and *does not change during training*. Both are built from Gaussian expectations; for ReLU
# (Cho & Saul 2009), with $(u, v)\sim\mathcal N(0, [[k_{11}, k_{12}], [k_{12}, k_{22}]])$ and
# $\cos\theta = k_{12}/\sqrt{k_{11}k_{22}}$:
#
# $$\mathbb E[\mathrm{relu}(u)\,\mathrm{relu}(v)] = \frac{\sqrt{k_{11}k_{22}}}{2\pi}
#   \big(\sin\theta + (\pi-\theta)\cos\theta\big).$$
#
# ### Exercise 1 (10 min): the arc-cosine kernel
#
# Write `relu_kernel(k11, k22, k12)` (arrays broadcast). The check compares with the first output of
# `idealnets.theory.ntk.relu_expectations`.

# %% tags=["exercise"]
def relu_kernel(k11, k22, k12):
    k11, k22, k12 = (np.asarray(a, dtype=float) for a in (k11, k22, k12))
    # BEGIN SOLUTION
    norm = np.sqrt(k11 * k22)
    theta = np.arccos(np.clip(k12 / norm, -1, 1))
    return norm / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * np.cos(theta))
    # END SOLUTION


# %%
k12 = np.linspace(-1.9, 1.9, 9)
check("1", "E[relu relu]", relu_kernel(2.0, 2.0, k12), relu_expectations(2.0, 2.0, k12)[0], rtol=1e-7, atol=1e-10)

# %% [markdown]
# ## 2. Training an infinitely wide network is kernel regression
#
# With a constant kernel, gradient flow on the mean squared loss is linear in function space. The
# mean output over random initialisations (the package trains *centred* networks, whose initial
# output is zero) follows
#
# $$\mu_t(x) = \Theta(x, X)\,\Theta^{-1}\big(I - e^{-\Theta t/P}\big)\,Y
#   \;\xrightarrow{t\to\infty}\; \Theta(x, X)\,\Theta(X, X)^{-1}\,Y .$$
#
# Our task: $P = 8$ points on the unit circle, target $\sin 2\theta + \frac12\cos\theta$.
#
# ### Exercise 2 (10 min): the prediction at convergence
#
# Using `kernels(x1, x2, **ARCH).ntk` compute `f_inf`, the kernel-regression prediction on the test
# points `x_test` (shape `(1, n_test)`). The check compares with
# `gradient_flow_mean(x, y, x_test, np.inf, **ARCH)`.

# %%
P = 8
theta = np.linspace(0, 2 * np.pi, P, endpoint=False) + 0.3
theta_test = np.linspace(0, 2 * np.pi, 61)
circle = lambda a: np.stack([np.cos(a), np.sin(a)])                      # noqa: E731
x, x_test = circle(theta), circle(theta_test)
y = (np.sin(2 * theta) + 0.5 * np.cos(theta))[None, :]

# %% tags=["exercise"]
# BEGIN SOLUTION
Theta = kernels(x, x, **ARCH).ntk
Theta_test = kernels(x_test, x, **ARCH).ntk
f_inf = (Theta_test @ np.linalg.solve(Theta, y.T)).T
# END SOLUTION

# %%
f_train_inf, f_test_inf = gradient_flow_mean(x, y, x_test, np.inf, **ARCH)
check("2", "kernel regression prediction", f_inf, np.reshape(f_test_inf, f_inf.shape), rtol=1e-6, atol=1e-9)

# %% [markdown]
# ## 3. Finite-width ensembles against the infinite-width line
#
# `idealnets.simulate.ntk.train` trains `E` networks of a given width by full-batch gradient descent (one
# batched program), records their outputs, and measures their empirical NTK at the start and the end.
# Time is $t = \eta\cdot\text{steps}$; `gradient_flow_mean(..., lr=lr)` gives the mean of the
# linearised network under gradient descent with that learning rate. The ensemble mean approaches
# the line as the width grows, and the kernel moves less and less.

# %%
T_kernel = kernels(x, x, **ARCH).ntk
lr = 0.5 * stable_lr(T_kernel)
record = np.unique(np.round(np.geomspace(1, STEPS, 20)).astype(int))
runs = {n: train_ntk(x, y, width=n, n_networks=E_NTK, lr=lr, steps=STEPS, x_test=x_test, centered=True,
                     record=record, seed=k, **{k2: v for k2, v in ARCH.items()})
        for k, n in enumerate(WIDTHS)}
times = runs[WIDTHS[0]].times
f_tr, f_te = gradient_flow_mean(x, y, x_test, times, lr=lr, **ARCH)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
for j, c in zip((2, 6, len(times) - 1), ("C0", "C1", "C2")):
    ax1.plot(theta_test, f_te[j, 0], "-", color=c, label=f"theory, t = {times[j]:.2g}")
    wide = runs[WIDTHS[-1]].f_test[:, j, 0]
    ax1.plot(theta_test[::3], wide.mean(0)[::3], "o", mfc="white", color=c, ms=4)
ax1.plot(theta, y[0], "k*", ms=9, label="training data")
ax1.set_xlabel(r"input angle $\theta$")
ax1.set_ylabel("mean output")
ax1.set_title(f"lines: NTK theory; markers: width {WIDTHS[-1]} ensemble", fontsize=10)
ax1.legend(frameon=False, fontsize=8, loc="lower left")
devs, moves = [], []
for n in WIDTHS:
    r = runs[n]
    devs.append(np.abs(r.f_test.mean(0) - f_te).max())
    moves.append(np.mean(np.linalg.norm(r.ntk_final - r.ntk_init, axis=(1, 2))
                         / np.linalg.norm(r.ntk_init, axis=(1, 2))))
ax2.loglog(WIDTHS, devs, "o-", label="max |ensemble mean - theory|")
ax2.loglog(WIDTHS, moves, "s-", label="relative change of the empirical NTK")
ax2.set_xlabel("width n")
ax2.legend(frameon=False, fontsize=8)
ax2.set_title("both shrink with the width", fontsize=10)
fig.tight_layout()
plt.show()
for n, d, m in zip(WIDTHS, devs, moves):
    print(f"width {n:5d}: max deviation {d:.3f}, kernel moved by {m:.2%}")

# %% [markdown]
# ## 4. Lazy versus rich: when does the kernel move?
#
# Infinite width is one way to freeze the kernel. A finite two-layer **linear** network
# $W = W_2W_1$ shows the whole range exactly. Gradient flow conserves the *balancedness*
# $B = W_2^\top W_2 - W_1W_1^\top$. Starting from $B = \lambda I$ (a $\lambda$-balanced
# initialisation), the dynamics have a closed form for any $\lambda$ (a matrix Riccati equation):
#
# * $\lambda = 0$, small weights: **rich** learning: plateaus and sudden drops (Lesson 1), the hidden
#   representation and the tangent kernel change a lot;
# * $|\lambda|\gg s$: **lazy** learning: one layer is large and barely moves, the tangent kernel is
#   frozen, and the network behaves like its linearisation (a kernel machine).
#
# ### Exercise 3 (5 min): the conserved quantity
#
# Compute `B` for the initial weights below; the check compares with
# `idealnets.theory.lambda_balanced.balancedness` and with $\lambda I$.

# %%
X, Y = whitened_task(4, 4, (3.0, 2.0, 1.0), seed=0)
LAM = 2.0
W1, W2 = lambda_balanced_init(4, 4, 4, LAM, free_scale(LAM, 0.01), seed=1)

# %% tags=["exercise"]
# BEGIN SOLUTION
B = W2.T @ W2 - W1 @ W1.T
# END SOLUTION

# %%
check("3", "balancedness", B, balancedness(W1, W2))
check("3", "B = lambda I", B, LAM * np.eye(4), atol=1e-10)

# %% [markdown]
# ### Interactive: the loss and the kernel's motion across $\lambda$
#
# Lines: the exact loss `TwoLayerExact(W1, W2, X, Y).loss(t)`; dotted: the lazy (frozen-kernel)
# prediction `lazy_map`. As $|\lambda|$ grows the two meet, and the distance the tangent kernel moves
# (`representation_change`) falls. Without a widget front end three values of $\lambda$ are drawn.

# %%
T_END = 8.0


def plot_lambda(lam=0.0, ax=None):
    W1_, W2_ = lambda_balanced_init(4, 4, 4, lam, free_scale(lam, 0.01), seed=1)
    exact = TwoLayerExact(W1_, W2_, X, Y)
    tt = np.geomspace(1e-3, T_END, 200)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(tt, exact.loss(tt), "C0-", label="exact")
    ax.plot(tt, task_loss(lazy_map(tt, W1_, W2_, X, Y), X, Y), "k:", label="lazy (frozen kernel)")
    moved = float(representation_change(exact, T_END)["ntk"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 20)
    ax.set_xlabel(r"time $t/\tau$")
    ax.set_ylabel("training loss")
    ax.set_title(rf"$\lambda$ = {lam:g}: NTK moves by {moved:.2f}", fontsize=10)
    if own:
        ax.legend(frameon=False, fontsize=8)
        plt.show()


def static_lambdas():
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.3), sharey=True)
    for ax, lam in zip(axes, (0.0, 2.0, 10.0)):
        plot_lambda(lam, ax=ax)
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.show()


interactive(plot_lambda, static_lambdas, lam=dict(value=0.0, min=-10.0, max=10.0, step=0.5, description="lambda"))

# %% [markdown]
# ### Trained networks at $\lambda = 0$ (rich) and $\lambda = 10$ (lazy)
#
# `idealnets.simulate.deep_linear.train_from` trains an ensemble from given weights by full-batch gradient
# descent. Each network is compared with its own exact trajectory.

# %%
E_LB, LR_LB = 8, 0.002
fig, ax = plt.subplots(figsize=(6, 3.6))
tt = np.geomspace(1e-3, T_END, 200)
for lam, c in ((0.0, "C3"), (10.0, "C2")):
    W1e, W2e = lambda_balanced_init(4, 4, 4, lam, free_scale(lam, 0.01), seed=5, size=E_LB)
    exact = [TwoLayerExact(W1e[e], W2e[e], X, Y) for e in range(E_LB)]
    rec = np.unique(np.round(np.geomspace(1, T_END / LR_LB, 25)).astype(int))
    run = train_from([W1e, W2e], X, Y, lr=LR_LB, steps=int(T_END / LR_LB), record=rec)
    ax.plot(tt, np.mean([ex.loss(tt) for ex in exact], axis=0), "-", color=c, label=rf"exact, $\lambda$ = {lam:g}")
    ax.plot(run.times, run.losses.mean(0), "o", mfc="white", color=c, ms=4)
    dev = np.abs(run.losses - np.stack([ex.loss(run.times) for ex in exact])).max()
    print(f"lambda = {lam:g}: max |trained - exact| loss {dev:.2g} (an O(lr) gap: halve LR_LB and it halves)")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_ylim(1e-4, 20)
ax.set_xlabel(r"time $t/\tau$")
ax.set_ylabel("training loss")
ax.set_title(f"lines: exact; markers: {E_LB} trained networks each", fontsize=10)
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# ## 5. Where to go next
#
# * Figure `ntk_loss_trajectories` (Saxe, Nelli & Summerfield 2021, Fig. 4d): narrow networks stall, wide ones follow the
#   infinite-width curve.
# * Figure `lambda_balanced_transfer`: learning a second task from the weights of a first, exactly.
# * Try a deeper network (`depth=2` in `ARCH`) or the erf activation: `kernels` handles both.
