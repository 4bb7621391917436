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
# # Lesson 2: Semantic development
#
# **Learning objectives.** After this lesson you can
#
# 1. read the SVD of an item-by-feature data set as a hierarchy of distinctions
#    (plant vs animal, then bird vs fish, ...);
# 2. explain *progressive differentiation*: a deep linear network learns broad distinctions
#    before fine ones, in stages;
# 3. compute the representational similarity (RSA) of the hidden layer over learning;
# 4. find an *illusory correlation* (pine "has leaves") in the theory and in trained networks.
#
# Theory: Saxe, McClelland & Ganguli (2019), *A mathematical theory of semantic development in
# deep neural networks*, PNAS 116:11537. Data: the eight living things of Rumelhart & Todd (1993).
#
# *Run time.* Quick sizes: 8 networks of width 64 and a learning rate of 0.05. The full-size
# figures (`figures/semantic/semantic_*.py`) use 32 networks and a learning rate of 0.01; set `QUICK = False`.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import numpy as np
from idealnets.teaching import check, interactive
import tqdm.auto
import tqdm.std

from idealnets.simulate import train
from idealnets.theory.datasets import one_hot
from idealnets.theory.semantic import SemanticTheory, effective_u0, living_things

tqdm.auto.tqdm = tqdm.std.tqdm   # text progress bars (silent outside a terminal), not notebook widgets
QUICK = True
E, LR = (8, 0.05) if QUICK else (32, 0.01)
NH = 64                               # hidden units
INIT_SCALE = np.sqrt(2e-3 / NH)       # small random weights: effective initial strength u0 = 1e-3
T_END = 60.0


# %% [markdown]
# ## 1. The data: items, features and their SVD
#
# Each of the 8 items (pine, oak, rose, daisy, robin, canary, sunfish, salmon) is a one-hot input;
# the target is its binary feature vector ("ISA plant", "can fly", "has leaves", ...). With
# one-hot inputs $X = I_P$ the input-output correlation is $\Sigma^{yx} = Y/P$, and its SVD
# $Y = U\,\mathrm{diag}(\sigma)\,V^\top$ has an interpretation: each column of $V$ (an *item mode*)
# splits the items along one distinction of the hierarchy, the matching column of $U$ lists the
# features that go with it, and $\sigma_\alpha$ says how much of the data that distinction explains.

# %%
items, features, Y = living_things()
print(f"{len(items)} items, {len(features)} features:", ", ".join(features[:8]), "...")
th = SemanticTheory(Y, depth=2, u0=effective_u0(INIT_SCALE, NH), items=items, features=features)
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].imshow(Y, aspect="auto", cmap="Greys")
axes[0].set_xticks(range(8), items, rotation=45, fontsize=8)
axes[0].set_ylabel("feature")
axes[0].set_title("Y: features (rows) of each item (columns)", fontsize=10)
im = axes[1].imshow(th.V[:, :5].T, cmap="RdBu_r", vmin=-0.8, vmax=0.8)
axes[1].set_xticks(range(8), items, rotation=45, fontsize=8)
axes[1].set_yticks(range(5), [f"mode {a + 1}" for a in range(5)])
axes[1].set_title("item modes V (the hierarchy)", fontsize=10)
fig.colorbar(im, ax=axes[1])
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Exercise 1 (5 min): the strength of each distinction
#
# Compute the singular values `sigma` of `Y` (descending). In a network trained on these data the
# mode strengths $u_\alpha(t)$ rise to exactly these values: the check compares `sigma` with
# `th.u_final`.

# %% tags=["exercise"]
# BEGIN SOLUTION
sigma = np.linalg.svd(Y, compute_uv=False)
# END SOLUTION

# %%
check("1", "singular values of Y", sigma[: th.n_modes], th.u_final)

# %% [markdown]
# ## 2. Progressive differentiation
#
# A network with one hidden layer ($D=2$) from small weights learns mode $\alpha$ along the
# sigmoid of Lesson 1 with strength $s_\alpha=\sigma_\alpha/P$ and time rescaled by $c = 1/P$,
# so mode $\alpha$ is learned around $t_\alpha \approx \frac{P}{2\sigma_\alpha}\ln\frac{\sigma_\alpha}{u_0}$:
# the broad plant/animal split first, the individual items last. `SemanticTheory` gives
# `mode_strengths(t)`, the network's output `output(t)` $=U\,\mathrm{diag}(u(t))V^\top$, and the
# hidden representation's similarity matrix.
#
# ## 3. Representational similarity
#
# With balanced weights, item $i$ sits at $h_i = R\,A(t)^{1/2}V^\top e_i$ in the hidden layer
# ($A = \mathrm{diag}(u(t))$, $R$ an arbitrary rotation), so the RSA matrix is
#
# $$K(t) = H^\top H = V\,\mathrm{diag}(u(t))\,V^\top .$$
#
# ### Exercise 2 (10 min): the RSA matrix over time
#
# Write `rsa(t)` for a scalar time `t` using `th.V` and `th.mode_strengths(t)`. The check compares it
# with `th.similarity(t)` at three times.

# %% tags=["exercise"]
def rsa(t):
    # BEGIN SOLUTION
    u = th.mode_strengths(t)
    return th.V @ np.diag(u) @ th.V.T
    # END SOLUTION


# %%
for t in (5.0, 15.0, 60.0):
    check("2", f"RSA at t = {t:g}", rsa(t), th.similarity(t), atol=1e-10)

# %% [markdown]
# ## 4. Interactive: the hidden similarity over learning
#
# Move the time slider: the similarity matrix first splits plants from animals, then birds from
# fish and trees from flowers, then the individual items. The right panel marks the time on the
# mode-strength curves. Without a widget front end three times are drawn instead.

# %%
def plot_time(t=10.0, axes=None):
    own = axes is None
    if own:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
    ax0, ax1 = axes
    ax0.imshow(th.similarity(t), cmap="viridis", vmin=0, vmax=th.u_final[0] / 2)
    ax0.set_xticks(range(8), items, rotation=60, fontsize=7)
    ax0.set_yticks(range(8), items, fontsize=7)
    ax0.set_title(f"hidden similarity, t = {t:g}", fontsize=10)
    tt = np.geomspace(0.5, T_END, 300)
    for a in range(th.n_modes):
        ax1.plot(tt, th.mode_strengths(tt)[:, a], color=f"C{a}")
    ax1.axvline(t, color="k", ls=":")
    ax1.set_xscale("log")
    ax1.set_xlabel(r"time $t/\tau$")
    ax1.set_ylabel(r"$u_\alpha(t)$")
    if own:
        plt.tight_layout()
        plt.show()


def static_times():
    fig, axes = plt.subplots(3, 2, figsize=(10, 9.5))
    for row, t in zip(axes, (6.0, 9.0, 30.0)):
        plot_time(t, axes=row)
    fig.tight_layout()
    plt.show()


interactive(plot_time, static_times, t=dict(value=10.0, min=0.5, max=T_END, step=0.5, description="time t"))

# %% [markdown]
# ## 5. Illusory correlations
#
# Pine does not have leaves in this data set (it has needles), but the broad "plant" mode, learned
# first, says that plants have leaves. Until the finer mode that separates pine from the other plants
# is learned, the network's output for "pine has leaves" rises and then falls back: an *illusory
# correlation*. A shallow network ($D=1$) learns all modes on one time scale and never shows it.
#
# ### Exercise 3 (10 min): how large is the illusion?
#
# Using `th.output(t)` (shape `t.shape + (n_features, 8)`) on the time grid `t_grid`, compute the peak
# value `peak` of the output "has leaves" for the item "pine". The check compares it with the peak
# that `th.illusory_correlations` finds (the target is 0, so the excursion is the peak itself).

# %% tags=["exercise"]
t_grid = np.linspace(0, T_END, 2001)
m, i = features.index("has leaves"), items.index("pine")
# BEGIN SOLUTION
peak = th.output(t_grid)[:, m, i].max()
# END SOLUTION

# %%
ill = th.illusory_correlations(t_grid)
k = int(np.flatnonzero((ill.feature == m) & (ill.item == i))[0])
check("3", 'peak of "pine has leaves"', peak, ill.size[k])
print(f"{len(ill)} illusory correlations in this data set; the largest: "
      f'"{items[ill.item[0]]} {features[ill.feature[0]]}" peaks at {ill.size[0]:.2f} (target {ill.target[0]:g})')

# %% [markdown]
# ## 6. Trained networks against the theory
#
# `idealnets.simulate.train` trains `E` networks with one hidden layer of 64 units from small **random**
# weights (not decoupled). They first align with the modes and then follow the sigmoids from the
# effective initial strength $u_0 = \text{init\_scale}^2\,n_h/2$ (`effective_u0`). We project their
# outputs on the modes (`th.project`) and follow "pine has leaves".

# %%
run = train(one_hot(8), Y, depth=2, width=NH, n_networks=E, init="small", init_scale=INIT_SCALE,
            lr=LR, steps=int(round(T_END / LR)), record=50, seed=0)
u_sim = th.project(run.maps)                                      # (E, R, modes)
tt = np.linspace(0, T_END, 400)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
for a in range(th.n_modes):
    ax1.plot(tt, th.mode_strengths(tt)[:, a], color=f"C{a}")
    mean, sd = u_sim[:, :, a].mean(0), u_sim[:, :, a].std(0)
    ax1.plot(run.times, mean, "o", mfc="white", color=f"C{a}", ms=3.5)
    ax1.fill_between(run.times, mean - sd, mean + sd, color=f"C{a}", alpha=0.2, lw=0)
ax1.set_xlabel(r"time $t/\tau$")
ax1.set_ylabel(r"mode strength $u_\alpha$")
ax1.set_title("progressive differentiation", fontsize=10)
ax2.plot(tt, th.output(tt)[:, m, i], "k-", label="theory")
pine = run.maps[:, :, m, i]
ax2.plot(run.times, pine.mean(0), "o", mfc="white", color="k", ms=4, label=f"{E} trained networks")
ax2.fill_between(run.times, pine.mean(0) - pine.std(0), pine.mean(0) + pine.std(0), color="k", alpha=0.15, lw=0)
ax2.axhline(0, color="grey", lw=0.8)
ax2.set_xlabel(r"time $t/\tau$")
ax2.set_ylabel('output "pine has leaves"')
ax2.legend(frameon=False)
fig.suptitle("lines: theory; markers and bands: trained ensemble (mean +- sd)", fontsize=10)
fig.tight_layout()
plt.show()
half_sim = [np.interp(0.5, u_sim[:, :, a].mean(0) / th.u_final[a], run.times) for a in range(5)]
print("half-learning times, theory :", np.round(th.differentiation_times()[:5], 2))
print("half-learning times, trained:", np.round(half_sim, 2))

# %% [markdown]
# ## 7. Where to go next
#
# * **MDS** of the hidden representations (`th.mds(t)`, figure `semantic_mds`) shows the items
#   splitting along the hierarchy in two dimensions.
# * **Structured environments** (`idealnets.theory.semantic.structure`: trees, rings, chains, grids, clusters)
#   and random hierarchies (`hierarchy_spectrum`) have analytic SVDs: which distinctions are learned
#   first is predicted from the structure alone.
# * **Nonlinear networks** (figure `semantic_relu`): ReLU and tanh networks learn the modes in the same
#   order; the linear theory is a qualitative guide there.
