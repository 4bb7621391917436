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
# # Lesson 3: Generalisation dynamics
#
# **Learning objectives.** After this lesson you can
#
# 1. set up the teacher-student problem of a linear student with $P = \alpha N$ noisy samples;
# 2. use the Marchenko-Pastur law to predict train and test error over training time;
# 3. explain *overtraining* and why the test error peaks at $\alpha = 1$ when trained to
#    convergence;
# 4. compute the optimal early-stopping time and compare it with weight decay (Krogh & Hertz 1992).
#
# Theory: Advani & Saxe (2017), *High-dimensional dynamics of generalization error in neural
# networks* (arXiv:1710.03667); Krogh & Hertz (1992).
#
# *Conventions.* This section of the package uses the **sum-over-samples** loss
# $L = \frac12\sum_\mu (y_\mu - w^\top x_\mu)^2$ with inputs $x_\mu \sim \mathcal N(0, I/N)$, teacher
# $\bar w \sim \mathcal N(0, \sigma_w^2 I)$, label noise $\sigma_\epsilon$, and the test error
# $E_g = \|w-\bar w\|^2/N + \sigma_\epsilon^2$ (module docstring of `idealnets.theory.generalization`).
#
# *Run time.* Quick sizes: $N = 100$, two data sets per $\alpha$. The full-size figures
# (`figures/generalization/generalization_*.py`) use $N = 300$-$500$ and three data sets; set `QUICK = False`.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import numpy as np
from idealnets.teaching import check, interactive
import tqdm.auto
import tqdm.std

from idealnets.simulate.generalization import sample_data, stable_lr, train_linear
from idealnets.theory.generalization import LinearStudentTheory, converged_test_error, marchenko_pastur

tqdm.auto.tqdm = tqdm.std.tqdm   # text progress bars (silent outside a terminal), not notebook widgets
QUICK = True
N, N_DATASETS = (100, 2) if QUICK else (500, 3)
SIGMA_W, SNR = 1.0, 4.0
SIGMA_EPS = SIGMA_W / np.sqrt(SNR)


# %% [markdown]
# ## 1. Learning one eigendirection at a time
#
# Gradient flow on the sum loss is linear in $w$: $\dot w = -(XX^\top w - Xy)$. In the eigenbasis of
# the input covariance $XX^\top$ each direction with eigenvalue $\lambda$ is learned at rate $\lambda$,
# and its noise is amplified by $1/\lambda$ when it is fully learned. For $N, P\to\infty$ at fixed
# $\alpha = P/N$ the eigenvalues follow the **Marchenko-Pastur** law, supported on
#
# $$\lambda_\pm = (1 \pm \sqrt\alpha)^2,$$
#
# plus an atom of weight $1-\alpha$ at $\lambda = 0$ when $\alpha < 1$ (directions the data never
# see). Averaging the one-direction solution over this law gives $E_g(t)$ and $E_\text{train}(t)$.
#
# ### Exercise 1 (5 min): the edges of the spectrum
#
# Write `mp_edges(alpha)` returning `(lam_minus, lam_plus)`. The check compares with
# `idealnets.theory.generalization.marchenko_pastur(alpha)`. Then look at the histogram below: it compares
# the law with the eigenvalues of one sampled $XX^\top$.

# %% tags=["exercise"]
def mp_edges(alpha):
    # BEGIN SOLUTION
    r = np.sqrt(alpha)
    return (1 - r) ** 2, (1 + r) ** 2
    # END SOLUTION


# %%
for a in (0.5, 1.0, 2.0):
    mp = marchenko_pastur(a)
    check("1", f"edges at alpha = {a:g}", mp_edges(a), (mp.lam_minus, mp.lam_plus))
rng = np.random.default_rng(0)
Xs = rng.standard_normal((400, 800)) / np.sqrt(400)
lam = np.linalg.eigvalsh(Xs @ Xs.T)
mp = marchenko_pastur(2.0)
grid = np.linspace(mp.lam_minus, mp.lam_plus, 300)
plt.figure(figsize=(5, 3))
plt.hist(lam, bins=40, density=True, color="C0", alpha=0.5, label="one sample, N = 400")
plt.plot(grid, np.sqrt((mp.lam_plus - grid) * (grid - mp.lam_minus)) / (2 * np.pi * grid), "k-",
         label="Marchenko-Pastur")
plt.xlabel(r"eigenvalue $\lambda$ of $XX^\top$ ($\alpha = 2$)")
plt.legend(frameon=False)
plt.show()

# %% [markdown]
# ## 2. Trained to convergence: the peak at $\alpha = 1$
#
# At $t\to\infty$ the student interpolates. For $\alpha > 1$ it fits the noise in every direction,
# each amplified by $1/\lambda$, and $\langle 1/\lambda\rangle_{MP} = 1/(\alpha-1)$; for $\alpha < 1$
# the $N - P$ unseen directions keep their initial error (here $w_0 = 0$: $\sigma_w^2$ each). The result:
#
# $$E_g(\infty) = \begin{cases}\sigma_\epsilon^2\,\dfrac{\alpha}{\alpha-1}, & \alpha>1,\\[2mm]
# \dfrac{\sigma_\epsilon^2}{1-\alpha} + (1-\alpha)\,\sigma_w^2, & \alpha<1,\end{cases}$$
#
# which diverges at $\alpha = 1$, where the smallest eigenvalue reaches 0.
#
# ### Exercise 2 (10 min): the converged test error
#
# Write `eg_converged(alpha)` (vectorised over an array of $\alpha \ne 1$, with `SIGMA_W`, `SIGMA_EPS`).
# The check compares it with `converged_test_error`.

# %% tags=["exercise"]
def eg_converged(alpha):
    alpha = np.asarray(alpha, dtype=float)
    # BEGIN SOLUTION
    over = SIGMA_EPS**2 * alpha / (alpha - 1)
    under = SIGMA_EPS**2 / (1 - alpha) + (1 - alpha) * SIGMA_W**2
    return np.where(alpha > 1, over, under)
    # END SOLUTION


# %%
alphas = np.array([0.2, 0.5, 0.9, 1.1, 2.0, 4.0])
check("2", "E_g(t = inf)", eg_converged(alphas),
      [converged_test_error(a, sigma_w=SIGMA_W, sigma_eps=SIGMA_EPS) for a in alphas])

# %% [markdown]
# ## 3. Over time: overtraining and early stopping
#
# `LinearStudentTheory(alpha, sigma_w, sigma_eps)` gives `test_error(t)` and `train_error(t)` at any
# array of times. The train error falls monotonically; the test error falls, then rises again as the
# slow (small-$\lambda$) directions start to fit noise: **overtraining**. Stopping at the minimum of
# $E_g(t)$ is *early stopping*; Krogh & Hertz's weight decay $\gamma^* = \sigma_\epsilon^2/\sigma_w^2$
# reaches the same error at convergence.
#
# ### Exercise 3 (10 min): the optimal stopping time
#
# For $\alpha = 1$ find the time `t_stop` that minimises `th.test_error(t)` on a fine log-spaced grid.
# The check compares it with `th.optimal_stopping_time()` (which solves $dE_g/dt = 0$ exactly) to 1 %.

# %% tags=["exercise"]
th = LinearStudentTheory(1.0, sigma_w=SIGMA_W, sigma_eps=SIGMA_EPS)
# BEGIN SOLUTION
t_grid = np.geomspace(1e-2, 1e3, 20001)
t_stop = t_grid[np.argmin(th.test_error(t_grid))]
# END SOLUTION

# %%
check("3", "optimal stopping time", t_stop, th.optimal_stopping_time(), rtol=1e-2)
print(f"E_g at the optimal stop {th.optimal_early_stopping_error():.3f}, with optimal weight decay "
      f"{th.optimal_ridge_test_error():.3f}, trained to convergence: inf")

# %% [markdown]
# ## 4. Interactive: $\alpha$ and the signal-to-noise ratio
#
# Move $\alpha$ through 1 and lower the SNR: the overtraining bump grows, and at $\alpha = 1$ the test
# error grows without bound. Without a widget front end, four values of $\alpha$ are drawn.

# %%
def plot_alpha(alpha=1.0, log2_snr=2.0, ax=None):
    theory = LinearStudentTheory(alpha, sigma_w=SIGMA_W, sigma_eps=SIGMA_W / np.sqrt(2.0**log2_snr))
    tt = np.geomspace(1e-2, 1e4, 300)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(tt, theory.test_error(tt), "C0-", label="test")
    ax.plot(tt, theory.train_error(tt), "C1--", label="train")
    t_stop = theory.optimal_stopping_time()
    if np.isfinite(t_stop) and t_stop > 0:
        ax.axvline(t_stop, color="grey", ls=":", label="optimal stop")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 10)
    ax.set_xlabel(r"time $t/\tau$")
    ax.set_ylabel("error")
    ax.set_title(rf"$\alpha$ = {alpha:g}, SNR = {2.0**log2_snr:g}", fontsize=10)
    if own:
        ax.legend(frameon=False, fontsize=8)
        plt.show()


def static_alphas():
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2), sharey=True)
    for ax, a in zip(axes, (0.5, 1.0, 2.0, 4.0)):
        plot_alpha(a, 2.0, ax=ax)
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.show()


interactive(plot_alpha, static_alphas,
            alpha=dict(value=1.0, min=0.1, max=4.0, step=0.05, description="alpha = P/N"),
            log2_snr=dict(value=2.0, min=-2.0, max=6.0, step=0.5, description="log2 SNR"))

# %% [markdown]
# ## 5. Trained students against the theory
#
# `sample_data` draws `N_DATASETS` data sets per $\alpha$ (inputs, teacher, noise) and `train_linear`
# trains a student on each by full-batch gradient descent, all $\alpha$ together as one batch. Time is
# $t = \eta\cdot\text{steps}$. The theory is the $N\to\infty$ limit: at finite $N$ the data-set to
# data-set spread is of order $\sqrt{2/N}$, so expect the markers within a few percent.

# %%
ALPHAS = (0.5, 1.0, 2.0)
datas = [sample_data(N, int(round(a * N)), N_DATASETS, sigma_w=SIGMA_W, sigma_eps=SIGMA_EPS, seed=10 + k)
         for k, a in enumerate(ALPHAS)]
lr = 0.2 * stable_lr(datas)
T_END = 100.0
runs = train_linear(datas, lr=lr, steps=int(np.ceil(T_END / lr)), record=24)
tt = np.geomspace(1e-2, T_END, 300)
fig, ax = plt.subplots(figsize=(6, 3.8))
for k, (a, run) in enumerate(zip(ALPHAS, runs)):
    theory = LinearStudentTheory(a, sigma_w=SIGMA_W, sigma_eps=SIGMA_EPS)
    ax.plot(tt, theory.test_error(tt), "-", color=f"C{k}", label=rf"$\alpha$ = {a:g}")
    ax.plot(tt, theory.train_error(tt), "--", color=f"C{k}", lw=1)
    te, tr = run.test_error[:, 0, 1:], run.train_error[:, 0, 1:]
    ax.plot(run.times[1:], te.mean(0), "o", mfc="white", color=f"C{k}", ms=4)
    ax.fill_between(run.times[1:], te.mean(0) - te.std(0), te.mean(0) + te.std(0), color=f"C{k}", alpha=0.2, lw=0)
    ax.plot(run.times[1:], tr.mean(0), "s", mfc="white", color=f"C{k}", ms=3)
    dev = np.max(np.abs(te.mean(0) - theory.test_error(run.times[1:])) / theory.test_error(run.times[1:]))
    print(f"alpha = {a:g}: max relative deviation of the test error {dev:.1%}")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_ylim(1e-2, 5)
ax.set_xlabel(r"time $t/\tau$")
ax.set_ylabel("test (solid, circles) / train (dashed, squares)")
ax.set_title(f"lines: N -> inf theory; markers: students at N = {N}", fontsize=10)
ax.legend(frameon=False, loc="lower left")
plt.show()

# %% [markdown]
# The largest deviation is at $\alpha = 1$ and late times: there the error is set by the smallest
# eigenvalues of $XX^\top$, which at finite $N$ sit at $O(1/N^2)$ instead of at 0 as in the limit law,
# and it shrinks as $N$ grows (figure `generalization_dynamics`, $N = 500$; try `QUICK = False`).
#
# ## 6. Where to go next
#
# * Figure `generalization_alpha`: the test error versus $\alpha$ trained to convergence, early stopped
#   and with optimal weight decay.
# * **Deep linear students** (`idealnets.theory.generalization.DeepLinearStudentTheory`): depth slows learning and
#   shifts the overtraining.
# * **Two-layer ReLU students** (figure `generalization_relu`): the peak moves to where the number of
#   parameters matches the number of samples ("double descent").
