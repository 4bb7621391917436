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
# # Lesson 6: Learning rules other than backprop
#
# **Learning objectives.** After this lesson you can
#
# 1. write the feedback-alignment (FA) update of a two-layer network and say which term replaces
#    backprop's transposed weights;
# 2. compute the alignment $\cos(W_2^\top, B)$ and FA's conserved quantity, and use it to explain
#    why the top layer aligns with the feedback *before* the loss falls;
# 3. contrast FA's power-law onset (no plateau) with backprop's plateau;
# 4. write the exact expected learning curve of node and weight perturbation and predict how their
#    learning time grows with the number of perturbed units or weights;
# 5. compare these predictions with ensembles of trained networks.
#
# Theory: Lillicrap, Cownden, Tweed & Akerman (2016), *Random synaptic feedback weights support
# error backpropagation for deep learning* (Nat. Commun. 7:13276); Werfel, Xie & Seung (2005),
# *Learning curves for stochastic gradient descent in linear feedforward networks* (Neural
# Computation 17:2699). The linear FA flow's conserved quantity and exact modes are derived in the
# package (`idealnets.theory.feedback_alignment`); the perturbation recursion in
# `idealnets.theory.perturbation`.
#
# *Run time.* Quick sizes: 8 linear networks for FA (learning rate 0.01) and 32 students per
# perturbation rule. The full-size figures (`figures/feedback_alignment/*.py`) use more networks
# and smaller learning rates; set `QUICK = False` for 32 FA networks at learning rate 0.0025 and
# 200 students per rule.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import numpy as np
import tqdm.auto
import tqdm.std

from idealnets.simulate.feedback_alignment import train_linear
from idealnets.simulate.perturbation import train_perturbation
from idealnets.teaching import check, choose, reveal, interactive
from idealnets.theory.feedback_alignment import (FeedbackAlignmentFlow, aligned_mode,
                                                 alignment, fa_invariant, predicted_overlap, small_init_learning_time)
from idealnets.theory.measures import crossing_time
from idealnets.theory.perturbation import (RULES, learning_curve, noise_factor, optimal_learning_rate,
                                           steps_to_error)
from idealnets.theory.tasks import correlations, whitened_task

tqdm.auto.tqdm = tqdm.std.tqdm   # text progress bars (silent outside a terminal), not notebook widgets
QUICK = True
E_FA, LR_FA = (8, 0.01) if QUICK else (32, 0.0025)     # FA networks, learning rate (time t = lr x steps)
E_PERT = 32 if QUICK else 200                          # students per perturbation rule

# %% [markdown]
# ## 1. Feedback alignment: a random matrix carries the error back
#
# A two-layer linear network $\hat y = W_2W_1x$ learns a task with whitened inputs
# ($\Sigma^{xx} = I$) and input-output correlation $\Sigma^{yx}$; the error of the map is
# $E = \Sigma^{yx} - W_2W_1$. Gradient descent (backprop) sends the output error back to the hidden
# layer through the transpose of the forward weights, $W_2^\top E$. This *weight transport* is
# biologically implausible. Lillicrap et al. (2016) replaced $W_2^\top$ by a **fixed random matrix**
# $B$ ($N_h\times N_\text{out}$):
#
# $$\tau\dot W_1 = B\,E,\qquad \tau\dot W_2 = E\,W_1^\top
#   \qquad(\text{backprop: } \tau\dot W_1 = W_2^\top E).$$
#
# It still learns, because the forward weights come to *align* with the feedback: the angle between
# $W_2^\top$ and $B$, measured by
#
# $$\cos(W_2^\top, B) = \frac{\operatorname{tr}(B\,W_2)}{\|W_2\|_F\,\|B\|_F},$$
#
# falls well below 90 degrees, so that $BE$ points roughly where $W_2^\top E$ would. Below: a task
# with singular values 3, 2, 1 (6 inputs, 3 outputs), hidden width 8, small random initial weights
# (entries of size 0.01) and a random Gaussian $B$ per network.

# %%
N_IN, N_H, N_OUT = 6, 8, 3
S_TASK = (3.0, 2.0, 1.0)
EPS = 1e-2                                             # initial weight scale
X, Y = whitened_task(N_IN, N_OUT, S_TASK, seed=0)
Syx = correlations(X, Y).Syx
rng = np.random.default_rng(1)
W1_0 = EPS * rng.standard_normal((E_FA, N_H, N_IN))
W2_0 = EPS * rng.standard_normal((E_FA, N_OUT, N_H))
B = rng.standard_normal((E_FA, N_H, N_OUT)) / np.sqrt(N_OUT)
print("Syx singular values:", np.round(np.linalg.svd(Syx, compute_uv=False), 6))

# %% [markdown]
# ### Exercise 1 (5 min): the alignment
#
# Write `cos_alignment(W2, B)` for one network (`W2` of shape (N_out, N_h), `B` of shape
# (N_h, N_out)). The check compares it with `idealnets.theory.feedback_alignment.alignment` on every
# network of the ensemble, and on a top layer that is exactly $2B^\top$.

# %% tags=["exercise"]
def cos_alignment(W2, B):
    # BEGIN SOLUTION
    return np.sum(W2.T * B) / (np.linalg.norm(W2) * np.linalg.norm(B))
    # END SOLUTION


# %%
check("1a", "alignment at initialisation", [cos_alignment(W2_0[e], B[e]) for e in range(E_FA)],
      alignment(W2_0, B), hint="tr(B W2) is the sum of the entries of W2^T * B (elementwise).")
check("1b", "alignment of W2 = 2 B^T", cos_alignment(2 * B[0].T, B[0]), 1.0,
      hint="the cosine does not depend on the length of W2.")

# %% [markdown]
# ## 2. Align first, then learn
#
# For a generic $B$ the FA flow has no closed form. `FeedbackAlignmentFlow(W1_0, W2_0, B, X, Y)`
# integrates it from one network's own initial weights (float64, relative tolerance $10^{-12}$), and
# returns `weights(t)`, `loss(t)` and `alignment(t)` at any times. We integrate every network of the
# ensemble once, at a fine grid of times and at the times the trained networks of Section 6 will be
# recorded.
#
# Although the FA flow is not the gradient of anything, it conserves one matrix: since
# $\frac{d}{dt}(W_1W_1^\top) = BEW_1^\top + W_1E^\top B^\top$ and $\frac{d}{dt}(BW_2) = BEW_1^\top$,
#
# $$Q = W_1W_1^\top - BW_2 - W_2^\top B^\top$$
#
# is constant (the FA analogue of backprop's balancedness $W_2^\top W_2 - W_1W_1^\top$). Its trace says
# $\operatorname{tr}(BW_2) = \tfrac12(\|W_1\|_F^2 - \operatorname{tr}Q)$: from small weights
# ($Q\approx 0$), the overlap of the top layer with the feedback is half the squared size of the
# first layer, so **the top layer is pulled toward $B^\top$ as soon as the first layer grows**.

# %%
STEPS_FA = int(round(12.0 / LR_FA))                    # train to t = 12
REC = np.unique(np.concatenate([[0], np.geomspace(1, STEPS_FA, 40).round().astype(int)]))
t_rec = LR_FA * REC                                    # the times the trained networks are recorded
t_line = np.geomspace(1e-3, 12.0, 200)
t_all = np.concatenate([t_line, t_rec])
flows = [FeedbackAlignmentFlow(W1_0[e], W2_0[e], B[e], X, Y) for e in range(E_FA)]
al_flow = np.array([f.alignment(t_all) for f in flows])     # (E, times)
L_flow = np.array([f.loss(t_all) for f in flows])
n_line = t_line.size
print(f"integrated {E_FA} flows at {t_all.size} times")

# %% [markdown]
# ### Exercise 2 (10 min): the conserved quantity
#
# Write `fa_Q(W1, W2, B)` $= W_1W_1^\top - BW_2 - W_2^\top B^\top$ for one network. The checks compare
# it with `fa_invariant`, then evaluate it on the flow's weights at $t = 5$ (after the task is
# learned) against its value at $t = 0$, and finally test the consequence
# $\operatorname{tr}(BW_2) = \tfrac12(\|W_1\|_F^2 - \operatorname{tr}Q)$ (`predicted_overlap`).

# %% tags=["exercise"]
def fa_Q(W1, W2, B):
    # BEGIN SOLUTION
    return W1 @ W1.T - B @ W2 - W2.T @ B.T
    # END SOLUTION


# %%
check("2a", "Q at initialisation", fa_Q(W1_0[0], W2_0[0], B[0]), fa_invariant(W1_0[0], W2_0[0], B[0]),
      hint="three N_h x N_h terms: W1 W1^T, B W2 and its transpose.")
W1_5, W2_5 = flows[0].weights(5.0)
check("2b", "Q at t = 5 equals Q at t = 0", fa_Q(W1_5, W2_5, B[0]), fa_Q(W1_0[0], W2_0[0], B[0]),
      rtol=1e-6, atol=1e-8)
check("2c", "tr(B W2) from the size of W1", np.trace(B[0] @ W2_5), predicted_overlap(W1_5, fa_Q(W1_0[0], W2_0[0], B[0])),
      rtol=1e-6)
print(f"|W1(5)|^2 = {np.sum(W1_5**2):.3f}, tr Q = {np.trace(fa_Q(W1_0[0], W2_0[0], B[0])):.2g}: "
      f"tr(B W2) = {np.trace(B[0] @ W2_5):.3f} > 0")

# %% [markdown]
# Now look at the whole ensemble of flows: alignment and loss against time (log scale).

# %%
al_mean, L_mean = al_flow[:, :n_line].mean(0), L_flow[:, :n_line].mean(0)
t_align = crossing_time(t_line, al_mean, 0.5, direction="up")             # mean alignment reaches 0.5
t_learn = crossing_time(t_line, L_mean, 0.5 * L_mean[0], direction="down")  # mean loss halves
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.plot(t_line, al_mean, "C0-", label=r"alignment $\cos(W_2^\top, B)$")
ax.fill_between(t_line, al_flow[:, :n_line].min(0), al_flow[:, :n_line].max(0), color="C0", alpha=0.15, lw=0,
                label="alignment, range over networks")
ax.plot(t_line, L_mean / L_mean[0], "C3-", label="loss / initial loss")
ax.axvline(t_align, color="C0", ls=":", lw=1)
ax.axvline(t_learn, color="C3", ls=":", lw=1)
ax.set_xscale("log")
ax.set_xlabel(r"time $t/\tau$")
ax.set_ylabel("alignment, relative loss")
ax.set_title(f"FA flow, {E_FA} networks with random B (mean)", fontsize=10)
ax.legend(frameon=False, fontsize=8, loc="center left")
plt.show()
L_at_align = np.interp(t_align, t_line, L_mean) / L_mean[0]
print(f"mean alignment reaches 0.5 at t = {t_align:.3g}, when the loss is still {100 * L_at_align:.1f}% of "
      f"its start; the loss halves only at t = {t_learn:.3g} ({t_learn / t_align:.1f} times later)")
assert t_learn > 3 * t_align and L_at_align > 0.95

# %% [markdown]
# ### Exercise 3 (5 min): why does the alignment come first?
#
# The top layer is more than half aligned with $B$ while the loss has hardly moved. Which reading is
# right?
#
# * (a) FA must wait until $B$ has rotated towards $W_2^\top$; only then can the error signal be used.
# * (b) From small weights $W_1$ grows along $B\Sigma^{yx}$ at once, and the top layer's update
#   $EW_1^\top\approx\Sigma^{yx}\Sigma^{yx\top}B^\top t$ then points along $B^\top$: the *direction* of
#   $W_2$ is set early, while the map $W_2W_1$, a product of two small layers, grows only like $t^3$.
# * (c) It is an artefact of the learning rate: with a larger learning rate the loss would fall at
#   the same time as the alignment rises.

# %% tags=["exercise"]
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
choose("3", answer, correct="b", why={
    "a": "B is fixed; it is W2 that moves toward B^T (the conserved Q ties tr(B W2) to the growth of W1).",
    "b": "W1 ~ B Syx t and W2 ~ Syx Syx^T B^T t^2/2 already overlap positively with B, while the map "
         "W2 W1 ~ t^3 stays small for longer: direction first, size later.",
    "c": "The figure is the flow itself (the limit of a small learning rate, time t = lr x steps); the "
         "order of the two events does not depend on the learning rate.",
})

# %% [markdown]
# *Derivation.* Drop the small initial weights: $\tau\dot W_1 = BE\approx B\Sigma^{yx}$ gives
# $W_1\approx B\Sigma^{yx}t$; then $\tau\dot W_2 = EW_1^\top\approx\Sigma^{yx}\Sigma^{yx\top}B^\top t$
# gives $W_2\approx\Sigma^{yx}\Sigma^{yx\top}B^\top t^2/2$, whose overlap with $B$ is
# $\operatorname{tr}(BW_2) = \|B\Sigma^{yx}\|_F^2t^2/2 > 0$. The alignment is large once this term
# outgrows the random initial $W_2$ (entries of size $\epsilon$), at $t\sim\sqrt{\epsilon}$ up to factors
# of order one; the map $W_2W_1\approx\Sigma^{yx}\Sigma^{yx\top}B^\top B\Sigma^{yx}t^3/2$ changes the loss
# only once it is comparable with $\Sigma^{yx}$, at $t\sim(bs)^{-2/3}$ for feedback of size $b$ (Section 3),
# whatever $\epsilon$ is. In nonlinear networks the same order is seen:
# "align, then memorise" (Lillicrap et al. 2016; Refinetti et al. 2021 for committee machines).

# %% [markdown]
# ## 3. No plateau: the aligned modes
#
# If the feedback is itself aligned with the task, $B = R\,\mathrm{diag}(b)\,U^\top$ (with
# $\Sigma^{yx} = U\mathrm{diag}(s)V^\top$ and $R$ orthonormal columns), and the weights start in the same
# modes, $W_1 = R\,\mathrm{diag}(a)V^\top$, $W_2 = U\mathrm{diag}(c)R^\top$, the FA flow splits into one
# pair of equations per mode:
#
# $$\tau\dot a = b\,(s - ca),\qquad \tau\dot c = a\,(s - ca),\qquad a^2 - 2bc = \text{const}.$$
#
# The package solves them exactly (`aligned_mode(t, s, b, a0, c0)` returns $a(t)$ and $c(t)$; the
# mode's strength in the map is $u = ca$). For backprop the same modes follow Saxe et al.'s sigmoid,
# which sits on a plateau for a time $\frac{\tau}{2s}\ln\frac{s}{u_0}$ that grows without bound as the
# initial strength $u_0\to 0$.
#
# ### Exercise 4 (5 min, on paper): the onset without a plateau
#
# From $a_0 = c_0 = 0$ and early times ($ca\ll s$), show that
# $u(t)\approx b^2s^3t^3/2$. Try it before unfolding the answer.

# %% [markdown]
# <details><summary>Answer (click to unfold)</summary>
#
# $\tau\dot a\approx bs$ gives $a\approx bst$ (taking $\tau = 1$); then
# $\dot c\approx as = bs^2t$ gives $c\approx bs^2t^2/2$, and $u = ca\approx b^2s^3t^3/2$: a power-law
# onset that needs no initial strength at all.
#
# </details>
#
# The check below compares this onset with the exact solution at early times.

# %%
t_early = np.array([0.01, 0.02, 0.05])
a_e, c_e = aligned_mode(t_early, 3.0, 1.0, 0.0, 0.0)
check("4", "cubic onset u = b^2 s^3 t^3 / 2", 1.0**2 * 3.0**3 * t_early**3 / 2, a_e * c_e, rtol=0.02)

# %% [markdown]
# ### Exercise 5 (5 min): predict, then run
#
# Take the task of Section 1 and feedback aligned with it, $B = O$ with orthonormal columns (every
# output mode gets $b = 1$), and train networks from random weights of size $\epsilon$ with FA and with
# backprop. For the top mode ($s = 3$) backprop's time to learn half of it grows by about
# $\ln(10^8)/(2s)\approx 3$ time units when $\epsilon$ shrinks from $10^{-2}$ to $10^{-6}$ (its initial
# strength $u_0\propto\epsilon^2$ shrinks $10^8$-fold). **By what factor does FA's half-learning time
# change** over the same range, $t_{1/2}(\epsilon = 10^{-6})/t_{1/2}(\epsilon = 10^{-2})$? Write your
# number before running the next cell.

# %% tags=["exercise"]
# BEGIN SOLUTION
# From small weights FA's onset u ~ b^2 s^3 t^3 / 2 does not involve the initial scale at all, and the
# half-learning time tends to a finite limit (b s)^(-2/3) x const as eps -> 0: the ratio is about 1.
prediction = 1.0
# END SOLUTION

# %%
U_task, _, Vt_task = np.linalg.svd(Syx)
O = np.linalg.qr(np.random.default_rng(5).standard_normal((4, N_H, N_OUT)))[0]    # 4 networks, B = O
t_half = {}
for rule in ("fa", "bp"):
    for eps in (1e-2, 1e-6):
        r0 = np.random.default_rng(6)
        W1s, W2s = eps * r0.standard_normal((4, N_H, N_IN)), eps * r0.standard_normal((4, N_OUT, N_H))
        run = train_linear(W1s, W2s, O, X, Y, lr=0.01, steps=800, record=np.arange(801), rule=rule)
        u1 = np.einsum("i,erij,j->er", U_task[:, 0], run.W2 @ run.W1, Vt_task[0])   # top-mode strength
        t_half[rule, eps] = float(np.mean(crossing_time(run.times, u1, 1.5, direction="up", axis=1)))
reveal("5", "FA half-learning time ratio, eps 1e-6 vs 1e-2", prediction, t_half["fa", 1e-6] / t_half["fa", 1e-2],
       rtol=0.25)
print(f"FA:       t_1/2 = {t_half['fa', 1e-2]:.3f} -> {t_half['fa', 1e-6]:.3f}  (theory from a0 = c0 = 0: "
      f"{small_init_learning_time(3.0, 1.0):.3f})")
print(f"backprop: t_1/2 = {t_half['bp', 1e-2]:.3f} -> {t_half['bp', 1e-6]:.3f}  (grows by "
      f"{t_half['bp', 1e-6] - t_half['bp', 1e-2]:.2f}; ln(1e8)/(2 s) = {np.log(1e8) / 6:.2f})")

# %% [markdown]
# FA has **no plateau**: the feedback $b$ drives the first layer from the start, so nothing has to
# grow out of a small random seed. Backprop's first layer is driven by $W_2^\top E$, which is as small as
# $W_2$ is, hence the exponential escape $u_0e^{2st}$ and the $\ln(1/u_0)$ wait. The price: FA follows
# $B$, not the gradient, so with a hidden layer narrower than the task FA learns the task *as seen
# through the feedback*, worse than backprop's best low-rank map (figure `feedback_alignment_widths`).

# %% [markdown]
# ## 4. Perturbation learning: no backward pass at all
#
# At the far end of the continuum no error is sent back. The network is *perturbed* at random and the
# change of the loss is correlated with the perturbation (Werfel, Xie & Seung 2005). A linear student
# $\hat y = Wx$ ($M$ outputs, $N$ inputs) learns a teacher $W^*$ online, one fresh $x\sim\mathcal N(0, I_N)$
# per step, error $\epsilon = \frac12\|W - W^*\|_F^2$:
#
# * **gradient descent**: $W\leftarrow W - \eta\,(W - W^*)xx^\top$;
# * **node perturbation**: add $\xi\sim\mathcal N(0, \sigma^2I_M)$ to the outputs, measure the change
#   $\delta l$ of the loss, $W\leftarrow W - \eta\,(\delta l/\sigma^2)\,\xi x^\top$;
# * **weight perturbation**: add $\Psi\sim\mathcal N(0, \sigma^2I)$ to all $MN$ weights,
#   $W\leftarrow W - \eta\,(\delta l/\sigma^2)\,\Psi$.
#
# All three are unbiased estimates of the gradient; they differ in their noise. Gaussian moments give,
# exactly at every step,
#
# $$\mathbb E[\epsilon_{k+1}] = \rho\,\mathbb E[\epsilon_k] + \eta^2\nu,\qquad \rho = 1 - 2\eta + \eta^2\kappa,$$
#
# with the **noise factor** $\kappa = m\,(N+2)$: $m = 1$ for gradient descent and $m = n_p + 2$ for
# perturbation, where $n_p$ is the number of perturbed quantities ($M$ outputs for node, $MN$ weights for
# weight perturbation); $\nu\propto\sigma^2$ is a small floor from the perturbation's second-order
# effect. The fastest decay is at $\eta^* = 1/\kappa$, where $\rho = 1 - 1/\kappa$: reducing the error by a
# factor $\delta$ takes about $\kappa\ln(1/\delta)$ steps.
#
# ### Exercise 6 (5 min): the noise factor
#
# Write `kappa(rule, N, M)` for `rule` in `"gd"`, `"node"`, `"weight"`. The checks compare it with
# `idealnets.theory.perturbation.noise_factor` at three sizes per rule.

# %% tags=["exercise"]
def kappa(rule, N, M):
    # BEGIN SOLUTION
    n_p = {"gd": None, "node": M, "weight": M * N}[rule]
    m = 1 if rule == "gd" else n_p + 2
    return m * (N + 2)
    # END SOLUTION


# %%
SIZES = [(8, 2), (16, 2), (10, 5)]
for rule in RULES:
    check("6", f"noise factor, {rule}", [kappa(rule, n, m) for n, m in SIZES],
          [noise_factor(rule, n, m) for n, m in SIZES],
          hint="weight perturbation perturbs M*N quantities, node perturbation M; gradient descent has m = 1.")

# %% [markdown]
# ### Exercise 7 (5 min): predict, then run
#
# Weight perturbation, $M = 2$ outputs, each at its optimal learning rate $1/\kappa$. **How many times
# more steps does it need to reach 10% of its initial error when the number of inputs doubles from
# $N = 8$ to $N = 16$** (so the number of weights doubles, 16 to 32)? Write your number before running
# the simulation.

# %% tags=["exercise"]
# BEGIN SOLUTION
# steps ~ kappa ln(1/delta) with kappa = (M N + 2)(N + 2): doubling N doubles the number of perturbed
# weights AND the (N + 2) factor of the input noise, so the ratio is (34 x 18)/(18 x 10) = 3.4
# (about 4 = 2^2 for large N; gradient descent would need only (18/10) = 1.8 times more).
prediction = (2 * 16 + 2) * (16 + 2) / ((2 * 8 + 2) * (8 + 2))
# END SOLUTION

# %%
M_P, SIGMA = 2, 1e-3
steps_10 = {}
for n in (8, 16):
    W_star = np.random.default_rng(10 + n).standard_normal((M_P, n))
    lr = optimal_learning_rate("weight", n, M_P)
    k_max = int(1.5 * steps_to_error(0.1, rule="weight", n_in=n, n_out=M_P))
    run_w = train_perturbation(np.zeros((E_PERT, M_P, n)), W_star, rule="weight", lr=lr, steps=k_max, sigma=SIGMA,
                               record=np.arange(k_max + 1), seed=n)
    eps0 = 0.5 * np.sum(W_star**2)
    steps_10[n] = crossing_time(run_w.steps, run_w.losses.mean(0), 0.1 * eps0, direction="down", log_values=True)
    print(f"N = {n:2d}: {E_PERT} students reach 10% of the initial error after {steps_10[n]:.0f} steps "
          f"(theory {steps_to_error(0.1, rule='weight', n_in=n, n_out=M_P):.0f})")
reveal("7", "steps ratio, N = 16 vs N = 8", prediction, steps_10[16] / steps_10[8], rtol=0.25)

# %% [markdown]
# The measured ratio scatters around $\kappa(16)/\kappa(8) = 3.4$ because the ensemble mean of a finite
# number of students is noisy (heavy-tailed errors). By $\kappa$, node perturbation would need only $1.8$ times more
# steps (its $M + 2$ does not grow with $N$), like gradient descent: the cost of weight perturbation is
# the number of weights it has to explore at random, which is why it scales badly to large networks.

# %% [markdown]
# ## 5. Speed against noise (interactive)
#
# The exact expected curves of the three rules, $\mathbb E\epsilon_k = \epsilon_\infty + (\epsilon_0 -
# \epsilon_\infty)\rho^k$ with $\epsilon_\infty = \eta\nu/(2 - \eta\kappa)$ (`learning_curve`). Move the
# input size $N$, the perturbation size $\sigma$ and the learning rate (as a fraction of each rule's
# optimal $1/\kappa$; at 2 and above the expected error no longer decays). The initial error is that of a
# teacher with unit-variance entries learned from $W = 0$, $\epsilon_0 = MN/2$. A large $\sigma$ lifts the
# floor $\epsilon_\infty\propto\sigma^2$ of the perturbation rules (weight perturbation's most); a larger $N$
# delays weight perturbation most. Without a widget front end a grid of six settings is drawn.

# %%
def plot_rules(N=8, log10_sigma=-3.0, lr_fraction=1.0, ax=None):
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    k = np.geomspace(1, 3e5, 300)
    for i, rule in enumerate(RULES):
        lr = lr_fraction * optimal_learning_rate(rule, N, M_P)
        eps0 = M_P * N / 2                     # a teacher with unit-variance entries, learned from W = 0
        eps = learning_curve(k, rule=rule, n_in=N, n_out=M_P, lr=lr, eps0=eps0, sigma=10.0**log10_sigma)
        ax.plot(k, eps / eps0, color=f"C{i}", label=rule)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 2)
    ax.set_xlabel("step k")
    ax.set_ylabel(r"$\mathbb{E}\,\epsilon_k/\epsilon_0$")
    ax.set_title(f"N = {N}, M = {M_P}, sigma = {10.0**log10_sigma:.2g}, lr = {lr_fraction:g}/kappa", fontsize=9)
    if own:
        ax.legend(frameon=False, fontsize=8)
        plt.show()


def static_rules():
    fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharey=True)
    for ax, (n, ls) in zip(axes.flat, [(8, -3.0), (8, -1.0), (8, -0.5), (32, -3.0), (32, -1.0), (32, -0.5)]):
        plot_rules(n, ls, 1.0, ax=ax)
    axes[0, 0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.show()


interactive(plot_rules, static_rules,
            N=dict(value=8, min=2, max=64, step=2, description="inputs N"),
            log10_sigma=dict(value=-3.0, min=-4.0, max=0.5, step=0.25, description="log10 sigma"),
            lr_fraction=dict(value=1.0, min=0.1, max=1.9, step=0.1, description="lr x kappa"))

# %% [markdown]
# ## 6. Trained ensembles against the theory lines
#
# Left and middle: the ensemble of FA networks of Section 1, trained by full-batch gradient descent
# with the FA backward pass (`idealnets.simulate.feedback_alignment.train_linear`, float64) at learning
# rate `LR_FA`, against the integrated flow of each network (Section 2). A second ensemble at half the
# learning rate measures the discretisation error. Right: 32 (or 200) online students per rule at the
# optimal learning rate ($N = 8$, $M = 2$, $\sigma = 10^{-3}$; `train_perturbation`) against the exact
# expected curve. Markers: ensemble means; bands: one standard deviation (alignment) or the spread on
# the log scale (losses and errors); lines: theory, with its range over the networks' own starts as a
# grey band.

# %%
run_fa = train_linear(W1_0, W2_0, B, X, Y, lr=LR_FA, steps=STEPS_FA, record=REC, rule="fa")
run_half = train_linear(W1_0, W2_0, B, X, Y, lr=LR_FA / 2, steps=2 * STEPS_FA, record=2 * REC, rule="fa")
al_rec, L_rec = al_flow[:, n_line:], L_flow[:, n_line:]          # the flow at the recorded times
dev = {}
for name, r in (("lr", run_fa), ("lr/2", run_half)):
    dev[name] = (np.max(np.abs(alignment(r.W2, B[:, None]).mean(0) - al_rec.mean(0))),
                 np.max(np.abs(r.losses.mean(0) - L_rec.mean(0))) / L_rec.mean(0)[0])
al_sim = alignment(run_fa.W2, B[:, None])                        # (E, R)
t_worst = t_rec[np.argmax(np.abs(al_sim.mean(0) - al_rec.mean(0)))]  # where the alignment gap is largest

N_P = 8
pert = {}
for i, rule in enumerate(RULES):
    W_star = np.random.default_rng(20 + i).standard_normal((M_P, N_P))
    lr = optimal_learning_rate(rule, N_P, M_P)
    k_max = int(np.ceil(1.2 * steps_to_error(1e-3, rule=rule, n_in=N_P, n_out=M_P)))
    r = train_perturbation(np.zeros((E_PERT, M_P, N_P)), W_star, rule=rule, lr=lr, steps=k_max, sigma=SIGMA,
                           record=30, log=True, seed=30 + i)
    eps0 = 0.5 * np.sum(W_star**2)
    th = learning_curve(r.steps, rule=rule, n_in=N_P, n_out=M_P, lr=lr, eps0=eps0, sigma=SIGMA)
    se = r.losses.std(0, ddof=1) / np.sqrt(E_PERT)
    above = th[1:] > 0.01 * eps0                               # where the expected error is above 1% of its start
    pert[rule] = (r, eps0, lr, np.max(np.abs(r.losses.mean(0) / th - 1)[1:][above]),
                  np.median(np.abs(r.losses.mean(0) - th)[1:] / se[1:]))

fig, axes = plt.subplots(1, 3, figsize=(15, 4))
tt = t_rec[1:]
for ax, th_all, sim, lab in ((axes[0], L_flow, run_fa.losses, "loss"), (axes[1], al_flow, al_sim, "alignment")):
    ax.plot(t_line, th_all[:, :n_line].mean(0), "k-", label=f"FA flow, {lab} (mean)")
    ax.fill_between(t_line, th_all[:, :n_line].min(0), th_all[:, :n_line].max(0), color="0.5", alpha=0.2, lw=0,
                    label="FA flow, range over networks")
    m, sd = sim[:, 1:].mean(0), sim[:, 1:].std(0)
    ax.plot(tt, m, "o", mfc="white", color="C3", ms=4, label=f"{E_FA} trained networks, lr = {LR_FA:g} (mean)")
    if lab == "loss":                                    # a positive quantity over decades: spread on the log scale
        lg = np.log10(np.maximum(sim[:, 1:], 1e-16))   # below ~1e-14 the loss is rounding error (it may be <= 0)
        ax.fill_between(tt, 10 ** (lg.mean(0) - lg.std(0)), 10 ** (lg.mean(0) + lg.std(0)), color="C3", alpha=0.2,
                        lw=0, label="trained networks, spread (log scale, $\\pm$1 sd)")
    else:
        ax.fill_between(tt, m - sd, m + sd, color="C3", alpha=0.2, lw=0, label="trained networks, $\\pm$1 sd")
    ax.set_xscale("log")
    ax.set_xlabel(r"time $t/\tau$ (= lr x steps)")
axes[0].set_yscale("log")
axes[0].set_ylim(1e-12, 30)
axes[0].set_ylabel("training loss")
axes[0].set_title("(a) feedback alignment: loss", fontsize=10)
axes[1].set_ylabel(r"alignment $\cos(W_2^\top, B)$")
axes[1].set_title("(b) feedback alignment: the top layer aligns", fontsize=10)
axes[0].legend(frameon=False, fontsize=7.5, loc="lower left")
axes[1].legend(frameon=False, fontsize=7.5, loc="lower right")
ax = axes[2]
k_line = np.geomspace(1, max(p[0].steps[-1] for p in pert.values()), 300)
for i, rule in enumerate(RULES):
    r, eps0, lr = pert[rule][:3]
    ax.plot(k_line, learning_curve(k_line, rule=rule, n_in=N_P, n_out=M_P, lr=lr, eps0=eps0,
                                   sigma=SIGMA) / eps0, color=f"C{i}", label=f"{rule}: exact expected curve")
    lg = np.log10(r.losses[:, 1:] / eps0)
    ax.plot(r.steps[1:], r.losses[:, 1:].mean(0) / eps0, "o", mfc="white", color=f"C{i}", ms=4,
            label=f"{rule}: {E_PERT} students (mean)")
    ax.fill_between(r.steps[1:], 10 ** (lg.mean(0) - lg.std(0)), 10 ** (lg.mean(0) + lg.std(0)), color=f"C{i}",
                    alpha=0.15, lw=0, label=f"{rule}: spread (log scale, $\\pm$1 sd)")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_ylim(1e-4, 2)
ax.set_xlabel("step k (one sample per step)")
ax.set_ylabel(r"error $\epsilon_k/\epsilon_0$")
ax.set_title(f"(c) perturbation learning, N = {N_P}, M = {M_P}, optimal lr", fontsize=10)
ax.legend(frameon=False, fontsize=6.5, loc="lower left", ncol=1)
fig.tight_layout()
plt.show()

print(f"FA: largest gap of the mean alignment {dev['lr'][0]:.3g} at lr = {LR_FA:g} (at t = {t_worst:.2g}, step "
      f"{t_worst / LR_FA:.0f}), {dev['lr/2'][0]:.3g} at lr/2 "
      f"(ratio {dev['lr'][0] / dev['lr/2'][0]:.2f}); of the mean loss {dev['lr'][1]:.2g} vs {dev['lr/2'][1]:.2g} "
      f"of the initial loss (ratio {dev['lr'][1] / dev['lr/2'][1]:.2f})")
print(f"FA: final alignment {al_sim[:, -1].mean():.3f} (flow {al_rec[:, -1].mean():.3f}), final loss "
      f"{run_fa.losses[:, -1].mean():.2g} (flow {L_rec[:, -1].mean():.2g})")
for rule in RULES:
    print(f"{rule:6s}: ensemble mean within {100 * pert[rule][3]:.1f}% of the exact curve while it is above 1% of its "
          f"start; median gap {pert[rule][4]:.2g} standard errors of the mean")
    assert pert[rule][4] < 2                              # the gap is sampling error of the mean
assert 1.5 < dev["lr"][0] / dev["lr/2"][0] < 2.5      # the FA gap is first order in the learning rate
assert t_worst < 0.2                                  # ... and largest while the alignment jumps

# %% [markdown]
# **Where theory and simulation differ, and why.** The FA networks are trained by gradient *descent*
# with a finite step, the theory is the flow: the largest gap of the alignment sits where it jumps
# (before $t = 0.2$), and halving the learning rate halves it (an $O(\eta)$
# discretisation error; the conserved $Q$ also drifts, by $\eta^2BEE^\top B^\top$ per step). The
# perturbation theory is exact for the *expected* error at any size, so the only gap is sampling error
# of the mean over a finite number of students: its typical size is about one standard error of that
# mean. The errors are heavy-tailed (a few unlucky students dominate the mean late in training), which
# is why the band is drawn on the log scale and why the relative gap is largest at small errors.

# %% [markdown]
# ## 7. Where to go next
#
# * **What FA can and cannot learn.** With a hidden layer narrower than the task, FA reaches the
#   closed-form fixed point $\Sigma^{yx}P_S$ (`fa_fixed_point_map`): the task seen through $B$, worse than
#   backprop's best low-rank map (`bp_fixed_point_map`; figure `feedback_alignment_widths`).
# * **FA in a nonlinear network.** `CommitteeODE(K, M, lr, train_second_layer=True, feedback=b)` in
#   `idealnets.theory.committee` integrates the order-parameter ODE of an erf committee machine trained
#   with a fixed feedback vector $b$: the same "align, then memorise" (figure
#   `committee_feedback_alignment`; Refinetti, d'Ascoli, Ohana & Goldt 2021).
# * **Random patterns in a tanh network**, the experiment of Lillicrap et al. (2016), with the top layer
#   frozen for the first half (figure `feedback_alignment_experiment`).
# * **Scaling of perturbation learning**: figure `perturbation_learning` measures the steps to 1% error
#   for $N = 4$ to 32 ($\propto N$, $MN$, $MN^2$).
