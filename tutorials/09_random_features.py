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
# # Lesson 9: Random features and double descent
#
# **Learning objectives.** After this lesson you can
#
# 1. set up random-features regression (a two-layer network whose first layer is frozen at random)
#    and replace its nonlinear features by a Gaussian-equivalent linear model;
# 2. compute the converged (ridgeless) test error below the interpolation threshold and say why it
#    diverges where the number of features $K$ equals the number of samples $P$;
# 3. predict where the double-descent peak sits, how it forms over training time, and what a small
#    ridge or early stopping does to it;
# 4. compare the asymptotic theory with an ensemble of networks trained by gradient descent.
#
# The theory: Belkin, Hsu, Ma & Mandal (2019), *Reconciling modern machine-learning practice and the
# classical bias-variance trade-off* (PNAS), who named the double-descent curve; Mei & Montanari
# (2019; Communications on Pure and Applied Mathematics, 2022), *The generalization error of random
# features regression: Precise asymptotics and the double descent curve*, who computed it for random
# features; Advani, Saxe & Sompolinsky (2020), *High-dimensional dynamics of generalization error in
# neural networks* (Neural Networks; arXiv 2017 by Advani & Saxe), who solved the linear case at every
# training time. The package evaluates the random-features errors at every training time from
# deterministic equivalents (docs: Conventions, "Teacher-student generalisation"; module
# `idealnets.theory.random_features`).
#
# *Run time.* Quick sizes: input dimension $N = 100$, $P = 2N$ samples, 16 data sets per width.
# The full-size figures (`figures/generalization/generalization_relu.py`,
# `figures/generalization/random_features_heatmap.py`) use $N$ up to 200; set `QUICK = False` for
# $N = 300$ and 32 data sets (a few minutes).

# %%
# %matplotlib inline
import functools
import os

import matplotlib.pyplot as plt
import numpy as np
import tqdm.auto
import tqdm.std

from idealnets.simulate.random_features import train_random_features
from idealnets.teaching import check, choose, reveal, interactive
from idealnets.theory.random_features import RandomFeaturesTheory, gaussian_equivalent_coefficients

tqdm.auto.tqdm = tqdm.std.tqdm   # text progress bars (silent outside a terminal), not notebook widgets
QUICK = True
N, SEEDS = (100, 16) if QUICK else (300, 32)   # input dimension, data sets (networks) per width
PSI2 = 2.0                                     # P / N, fixed throughout
P = int(PSI2 * N)
SNR = 4.0                                      # teacher output variance 1, label noise 1/SNR
T_MAX = 1e5                                    # the longest training time in this lesson


@functools.lru_cache(maxsize=None)
def theory(ratio, ridge=0.0):
    """The N -> inf theory at K/P = ratio (ReLU features, P/N = PSI2), built once per (ratio, ridge).

    96 contour nodes instead of the default 192: the errors agree to better than 1e-4 here, in half the time."""
    return RandomFeaturesTheory(ratio * PSI2, PSI2, "relu", SNR, ridge=ridge, n_contour=96)


def eg_theory(ratio, t, ridge=0.0):
    """Theory test error at the times t. At K = P the package fits its contour to the longest time asked
    for, so there t is evaluated together with T_MAX: every call then shares one contour."""
    t, th = np.atleast_1d(np.asarray(t, dtype=float)), theory(ratio, ridge)
    return th.test_error(np.append(t, T_MAX))[:-1] if th.at_threshold else th.test_error(t)


# %% [markdown]
# ## 1. The model and its Gaussian equivalent
#
# Inputs $x\sim\mathcal N(0, I_N/N)$, a linear teacher $y = \bar w\cdot x + \epsilon$ with
# $\bar w\sim\mathcal N(0, I_N)$ (output variance 1) and label noise of variance $1/\mathrm{SNR}$.
# The student is a two-layer network whose first layer is **frozen** at random,
#
# $$f(x) = \sum_{k=1}^K v_k\,\sigma(w_k\cdot x),\qquad w_k\sim\mathcal N(0, I_N)\ \text{fixed},$$
#
# so each pre-activation $w_k\cdot x$ is a standard Gaussian. Only the readout $v = a/\sqrt K$ is
# trained, from $a = 0$, by gradient flow on the sum loss
# $L = \frac12\sum_\mu (y_\mu - f(x_\mu))^2 + \frac\gamma2|a|^2$ ($\gamma$ the ridge, 0 unless
# stated). The model is linear in $a$: with $U = \sigma(WX)/\sqrt K$ ($K\times P$) and
# $H = UU^\top$ the solution is $a(t) = g_t(H)\,U y$, $g_t(z) = (1 - e^{-(z+\gamma)t})/(z+\gamma)$.
# Two ratios set everything: $\psi_1 = K/N$ and $\psi_2 = P/N$; we fix $P/N = 2$ and vary the
# parameters per sample $K/P$.
#
# **Gaussian equivalence** (Mei & Montanari 2019; Goldt et al. 2020, *The Gaussian equivalence of
# generative models*). For the errors, each feature behaves as a linear function of its
# pre-activation plus independent Gaussian noise:
#
# $$\sigma(w_k\cdot x)\ \to\ \mu_0 + \mu_1\,w_k\cdot x + \mu_*\,z_k,\qquad z_k\sim\mathcal N(0,1),$$
#
# with $\mu_0 = \mathbb E\,\sigma(G)$, $\mu_1 = \mathbb E\,G\sigma(G)$ and
# $\mu_*^2 = \mathbb E\,\sigma(G)^2 - \mu_0^2 - \mu_1^2$ for $G\sim\mathcal N(0,1)$. The linear part
# $\mu_1$ can express the (linear) teacher; the nonlinear part $\mu_*$ acts like extra noise
# dimensions that still let the network fit the training data.
#
# ### Exercise 1 (10 min): the Gaussian-equivalent coefficients of ReLU
#
# Compute `mu0`, `mu1`, `mu_star` for $\sigma(z) = \max(0, z)$: in closed form on paper (half-Gaussian
# integrals: $\mathbb E\,G_+ = 1/\sqrt{2\pi}$, $\mathbb E\,G\,G_+ = \mathbb E\,G_+^2 = 1/2$), or
# numerically (e.g. Gauss-Hermite nodes `np.polynomial.hermite_e.hermegauss`). The check compares with
# `gaussian_equivalent_coefficients("relu")` to 1 %.

# %% tags=["exercise"]
# BEGIN SOLUTION
mu0 = 1 / np.sqrt(2 * np.pi)               # E max(0, G)
mu1 = 0.5                                  # E G max(0, G) = E G^2 1[G > 0] = 1/2
mu_star = np.sqrt(0.5 - mu0**2 - mu1**2)   # E max(0, G)^2 = 1/2
# END SOLUTION

# %%
ge = gaussian_equivalent_coefficients("relu")
check("1", "mu0 of relu", mu0, ge.mu0, rtol=1e-2, hint="mu0 is the mean of max(0, G): half of E|G|.")
check("1", "mu1 of relu", mu1, ge.mu1, rtol=1e-2, hint="Stein's lemma: E G sigma(G) = E sigma'(G).")
check("1", "mu* of relu", mu_star, ge.mu_star, rtol=1e-2,
      hint="mu*^2 = E sigma(G)^2 - mu0^2 - mu1^2, and E max(0, G)^2 = 1/2.")
print(f"ReLU: a fraction mu1^2 / (mu1^2 + mu*^2) = {ge.mu1**2 / (ge.mu1**2 + ge.mu_star**2):.2f} of each "
      "feature's (centred) variance is linear in the input")

# %% [markdown]
# ## 2. Trained to convergence: the peak at the interpolation threshold
#
# In the Gaussian-equivalent model the teacher splits into what the features can express and an
# independent remainder: $y = a_*^\top\phi/\sqrt K + \xi$, with the **effective noise**
#
# $$\sigma_\xi^2 = 1 + \frac{1}{\mathrm{SNR}} - (\text{teacher variance explained by the best linear readout of the features}),$$
#
# the label noise plus the part of the teacher the $K$ features cannot express
# (`RandomFeaturesTheory(...).sigma_xi2`; the explained part is `.explained`). What is left is linear
# regression with $K$ Gaussian regressors on $P$ samples.
#
# *Below the threshold* ($K < P$) the converged, ridgeless readout is ordinary least squares. It is
# unbiased, and its excess error is the noise projected on $K$ fitted directions out of $P$, amplified
# by the inverse sample covariance: $\mathbb E\,\mathrm{tr}(S^{-1})/P \to K/(P-K)$ for a $K$-dimensional
# white Wishart matrix $S$. Hence
#
# $$E_g(\infty) = \sigma_\xi^2\Big(1 + \frac{K}{P-K}\Big) = \frac{\sigma_\xi^2}{1 - K/P},\qquad K < P,$$
#
# which diverges as $K\to P$: there the square feature matrix has singular values down to 0 and the
# interpolating readout fits the noise with unbounded weights. *Above the threshold* ($K > P$) the
# readout is the minimum-norm interpolator; more features spread the same fit over more directions and
# the error falls again, towards the kernel limit $K\to\infty$ (the **second descent**).
#
# ### Exercise 2 (10 min, on paper then code): the ridgeless error of linear features
#
# Take the *linear* activation $\sigma(z) = z$ with fewer features than input dimensions, $K < N$ (and
# $K < P$). Then the $K$ features span $K$ random directions of the $N$-dimensional input, so they can
# express a fraction $K/N$ of the teacher's variance, and
# $\sigma_\xi^2 = 1 + 1/\mathrm{SNR} - K/N$. Write `eg_ridgeless_linear(k_over_n, p_over_n, snr)`, the
# converged test error. The check compares it with `RandomFeaturesTheory(K/N, P/N, "linear", snr)`
# at $t = \infty$.

# %% tags=["exercise"]
def eg_ridgeless_linear(k_over_n, p_over_n, snr):
    # BEGIN SOLUTION
    sigma_xi2 = 1 + 1 / snr - k_over_n          # label noise + the teacher outside the K directions
    return sigma_xi2 / (1 - k_over_n / p_over_n)
    # END SOLUTION


# %%
for k_over_n, p_over_n in [(0.2, 2.0), (0.6, 2.0), (0.6, 0.8)]:
    th_lin = RandomFeaturesTheory(k_over_n, p_over_n, "linear", SNR)
    check("2", f"E_g(inf), linear features, K/N = {k_over_n:g}, P/N = {p_over_n:g}",
          eg_ridgeless_linear(k_over_n, p_over_n, SNR), th_lin.test_error(np.inf), rtol=1e-6,
          hint="sigma_xi^2 / (1 - K/P), with sigma_xi^2 = 1 + 1/SNR - K/N.")
# the same law holds for ReLU features, with their own effective noise
for ratio in (0.25, 0.5, 0.8):
    th = theory(ratio)
    check("2", f"ReLU features, K/P = {ratio:g}: sigma_xi^2 / (1 - K/P)", th.sigma_xi2 / (1 - ratio),
          th.test_error(np.inf), rtol=1e-6)

# %% [markdown]
# ### Exercise 3 (5 min): predict where the peak sits
#
# We keep $P = 2N$ samples and vary the width $K$. Before running anything: at which parameters per
# sample $K/P$ is the converged test error of the trained networks largest? (Think about which matrix
# becomes square.)

# %% tags=["exercise"]
# BEGIN SOLUTION
# The error sigma_xi^2 / (1 - K/P) diverges as K -> P: the K x P feature matrix is square there and its
# smallest singular values go to 0. The input dimension N (K/P = 0.5) plays no special role for ReLU
# features, which are not confined to the N-dimensional input space.
prediction = 1.0
# END SOLUTION

# %% [markdown]
# Now train: `train_random_features(N, P, widths, ...)` draws `SEEDS` data sets (inputs, teacher,
# noise, features) and trains one network of every width on each, exactly by gradient flow (the model
# is linear in the readout, so the trained weights at any time follow from one eigendecomposition of
# $U^\top U$; nothing is averaged or linearised). The test error is exact given the weights.

# %%
RATIOS_SIM = np.array([0.25, 0.5, 0.75, 1.0, 1.25, 2.0])
widths = [int(round(r * P)) for r in RATIOS_SIM]
run_conv = train_random_features(N, P, widths, activation="relu", snr=SNR, times=[np.inf], n_networks=SEEDS,
                                 seed=0)
eg_conv = run_conv.test_error[:, :, 0]                      # (SEEDS, len(widths))
peak_at = RATIOS_SIM[np.argmax(eg_conv.mean(0))]
reveal("3", "K/P at the largest test error", prediction, peak_at)

# %%
RATIOS = np.array([0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95, 0.98, 1.0, 1.02, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0])
RATIOS_TH = RATIOS[RATIOS != 1.0]                           # the converged error is infinite at K = P
eg_th = np.array([theory(r).test_error(np.inf) for r in RATIOS_TH])
fig, ax = plt.subplots(figsize=(6, 3.8))
below = RATIOS_TH < 1
ax.plot(RATIOS_TH[below], eg_th[below], "k-", label=r"theory ($N\to\infty$; infinite at K = P)")
ax.plot(RATIOS_TH[~below], eg_th[~below], "k-")
q25, q75 = np.percentile(eg_conv, [25, 75], axis=0)
ax.plot(RATIOS_SIM, eg_conv.mean(0), "o", mfc="white", color="C3", ms=5,
        label=f"trained, N = {N}, P = {P}: mean of {SEEDS}")
ax.fill_between(RATIOS_SIM, q25, q75, color="C3", alpha=0.2, lw=0, label="trained: 25-75 % of networks")
ax.axvline(1.0, color="0.5", ls=":", lw=1, label="K = P (interpolation threshold)")
ax.axvline(N / P, color="0.7", ls="--", lw=1, label="K = N")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("parameters per sample K/P")
ax.set_ylabel(r"converged test error $E_g(t=\infty)$")
ax.set_title("double descent: ReLU random features, P = 2N, SNR 4", fontsize=10)
ax.legend(frameon=False, fontsize=7.5, loc="upper left")
plt.show()
i1 = int(np.argmin(np.abs(RATIOS_SIM - 1.0)))
print(f"largest mean test error at K/P = {peak_at:g}: {eg_conv.mean(0)[i1]:.3g} (median {np.median(eg_conv[:, i1]):.3g}, "
      f"largest {eg_conv[:, i1].max():.3g}); the theory is infinite there")
off = RATIOS_SIM != 1.0
dev = np.abs(np.log(eg_conv.mean(0)[off] / [theory(r).test_error(np.inf) for r in RATIOS_SIM[off]]))
print(f"away from K = P: |log(trained mean / theory)| <= {dev.max():.2f} (finite N; largest at K/P = "
      f"{RATIOS_SIM[off][np.argmax(dev)]:g})")
assert peak_at == 1.0 and dev.max() < 0.25

# %% [markdown]
# The peak sits at $K = P$, not at $K = N$: the interpolation threshold is where the number of
# parameters matches the number of samples (Belkin et al. 2019). At finite $N$ the error at $K = P$ is
# large but finite (the smallest eigenvalue of $U^\top U$ is of order $1/P^2$, not 0) and varies wildly
# from data set to data set, so the mean there is dominated by a few networks. Away from the threshold
# the trained networks sit within finite-size corrections of the $N\to\infty$ line; the gap shrinks as
# $N$ grows (figure `generalization_relu`).
#
# ## 3. Over training time, and a small ridge
#
# Gradient flow learns each eigendirection of $H$ (eigenvalue $\lambda$) on its own time scale
# $1/\lambda$: by time $t$ it has fitted a fraction $1 - e^{-\lambda t}$ of it, and once fully fitted the
# noise along it is amplified by $1/\lambda$. So at time $t$ only directions with $\lambda \gtrsim 1/t$
# matter. A ridge $\gamma$ does the same at convergence: it fits a fraction $\lambda/(\lambda+\gamma)$,
# capping the amplification at about $1/\gamma$ (rule of thumb: stopping at $t$ resembles a ridge
# $\gamma\approx 1/t$). At the threshold the eigenvalue density of $H$ reaches down to $\lambda = 0$ (the
# hard edge of a square Marchenko-Pastur law, density $\propto\lambda^{-1/2}$): the double-descent peak
# is not there early in training, and it **grows while training goes on** (Advani, Saxe & Sompolinsky
# 2020 for the linear student; the same here).
#
# ### Exercise 4 (5 min): predict how fast the peak grows
#
# At $K = P$, by what factor does the test error grow between $t = 10^3$ and $t = 10^5$? *Hint:* the
# noise fitted by time $t$ is $\int \rho(\lambda)\,(1-e^{-\lambda t})^2/\lambda\,d\lambda$, dominated
# near $\lambda\sim 1/t$ where $\rho(\lambda)\propto\lambda^{-1/2}$.

# %% tags=["exercise"]
# BEGIN SOLUTION
# Cut the integral at lambda ~ 1/t: int_{1/t} lambda^{-1/2} lambda^{-1} d lambda ~ t^{1/2}. The error grows
# like sqrt(t), so 100 times longer training gives sqrt(100) = 10 times the error.
prediction = 10.0
# END SOLUTION

# %%
T_GROW = np.array([1e3, 1e5])
run_k = train_random_features(N, P, [P], activation="relu", snr=SNR, times=T_GROW, n_networks=4 * SEEDS, seed=1)
eg_k = run_k.test_error[:, 0, :].mean(0)
grow_trained = eg_k[1] / eg_k[0]
grow_theory = float(np.divide(*eg_theory(1.0, T_GROW[::-1])))
reveal("4", "growth of E_g at K = P from t = 1e3 to 1e5", prediction, grow_trained)
print(f"theory (N -> inf): {grow_theory:.2f}; trained networks ({4 * SEEDS} at N = {N}): {grow_trained:.2f}")
assert 6 < grow_trained < 14 and 8 < grow_theory < 11

# %% [markdown]
# The theory gives a factor a little below 10 (at these times the $\sqrt t$ law is still being reached),
# and the trained networks follow it. At finite $N$ the growth stops once $t$ exceeds $1/\lambda_{\min}$,
# with $\lambda_{\min}$ of order $1/P^2$ at the threshold: the finite-size ceiling of the peak.
#
# ### Interactive: training time and ridge
#
# Move the sliders: the training time $t$ (the right end, 7, is converged: $t = \infty$) and the ridge
# $\gamma$ (the left end, $-5$, is no ridge). Watch the peak appear at $K = P$ only late in training, and
# shrink as the ridge grows. Without a widget front end (a static notebook viewer, the documentation
# site) a grid of the same plots is drawn instead, with the optimally stopped error (the minimum over
# training time) dashed.

# %%
RATIOS_PLOT = RATIOS
T_SCAN = np.logspace(-1, np.log10(T_MAX), 25)


def error_curve(log10_t, ridge):
    """E_g over RATIOS_PLOT at time 10**log10_t (>= 7: converged), with ridge."""
    t = np.inf if log10_t >= 7 else 10.0**log10_t
    return np.array([np.inf if (r == 1.0 and ridge == 0 and np.isinf(t)) else float(eg_theory(r, t, ridge)[0])
                     for r in RATIOS_PLOT])


@functools.lru_cache(maxsize=None)
def early_stopped():
    """min over the time grid T_SCAN of the ridgeless E_g, per K/P (optimal early stopping on that grid)."""
    return np.array([eg_theory(r, T_SCAN).min() for r in RATIOS_PLOT])


def plot_time_ridge(log10_t=3.0, log10_ridge=-5.0, ax=None, **line):
    ridge = 0.0 if log10_ridge <= -5 else 10.0**log10_ridge
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    label = line.pop("label", "t = inf" if log10_t >= 7 else f"t = 1e{log10_t:g}")
    ax.plot(RATIOS_PLOT, error_curve(log10_t, ridge), label=label, **line)
    ax.axvline(1.0, color="0.6", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(0.4, 30)
    ax.set_xlabel("K/P")
    ax.set_ylabel(r"test error $E_g$ (theory)")
    ax.set_title("no ridge" if ridge == 0 else f"ridge = {ridge:g}", fontsize=10)
    if own:
        ax.legend(frameon=False, fontsize=8)
        plt.show()


def static_grid():
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), sharey=True)
    for ax, lr_ in zip(axes, (-5.0, -2.0, -1.0)):
        for c, lt in zip(("C0", "C1", "C3"), (1.0, 3.0, 7.0)):
            plot_time_ridge(lt, lr_, ax=ax, color=c)
    axes[0].plot(RATIOS_PLOT, early_stopped(), "k--", label="optimal early stopping")
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.show()


interactive(plot_time_ridge, static_grid,
            log10_t=dict(value=3.0, min=-1.0, max=7.0, step=0.5, description="log10 t"),
            log10_ridge=dict(value=-5.0, min=-5.0, max=0.0, step=0.5, description="log10 ridge"))

# %%
e_t10, e_es = error_curve(1.0, 0.0), early_stopped()
e_r1 = error_curve(7.0, 0.1)
i1 = int(np.argmin(np.abs(RATIOS_PLOT - 1.0)))
print(f"at t = 10 the curve falls monotonically with K/P: {bool(np.all(np.diff(e_t10) < 0))}; "
      f"E_g(K = P) = {e_t10[i1]:.3f}")
print(f"optimal early stopping: monotone {bool(np.all(np.diff(e_es) < 0))}, largest {e_es.max():.3f}; "
      f"ridge 0.1 at t = inf: monotone {bool(np.all(np.diff(e_r1) < 0))}, E_g(K = P) = {e_r1[i1]:.3f}")
e_r01 = error_curve(7.0, 0.01)
print(f"ridge 0.01 at t = inf: E_g(K = P) = {e_r01[i1]:.3f}, but a bump: largest {e_r01.max():.3f} at "
      f"K/P = {RATIOS_PLOT[np.argmax(e_r01)]:g} (E_g = {e_r01[0]:.3f} at K/P = {RATIOS_PLOT[0]:g})")
assert np.all(np.diff(e_t10) < 0) and np.all(np.diff(e_es) < 0) and np.all(np.diff(e_r1) < 0)
assert 0 < np.argmax(e_r01) <= i1

# %% [markdown]
# ### Exercise 5 (5 min): why do a ridge and early stopping remove the peak?
#
# In the grid, a ridge $\gamma = 0.1$ and optimal early stopping both give an error that *falls*
# monotonically with $K/P$, with no peak at all, while a small ridge $\gamma = 0.01$ leaves a low bump
# just below $K = P$.
# Which explanation is right?
#
# * (a) The ridge and early stopping reduce the number of effective parameters below $P$, so the network
#   never reaches the interpolation threshold.
# * (b) The peak comes from the smallest eigenvalues of $H$, which reach 0 at $K = P$; noise along an
#   eigendirection $\lambda$ is amplified by $1/\lambda$ once fitted. A ridge fits only a fraction
#   $\lambda/(\lambda+\gamma)$ and stopping at $t$ fits only directions with $\lambda \gtrsim 1/t$, so both
#   cap the amplification near the threshold and leave the well-conditioned directions alone.
# * (c) The ridge moves the threshold from $K = P$ to $K = N$, where the error is lower.

# %% tags=["exercise"]
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
choose("5", answer, correct="b", why={
    "a": "Not quite: K is unchanged and every direction is still partly fitted; what changes is how much of "
         "each small-eigenvalue direction is fitted, and a small ridge (0.01) leaves a bump just below K = P.",
    "b": "The peak is the 1/lambda amplification of noise along the near-zero eigenvalues of H at K = P; "
         "a ridge or stopping at a finite time caps it, which is why both curves are monotone.",
    "c": "No: the curves in the grid have no feature at K = N (K/P = 0.5), with or without ridge; the ridge "
         "lowers the error near K = P instead of moving a threshold.",
})

# %% [markdown]
# ## 4. A trained ensemble against the theory line
#
# Now over training time. `train_random_features(..., lr=LR, times=...)` gives the networks trained by
# full-batch **gradient descent** with learning rate `LR` at $t = \mathrm{LR}\times$ steps (in closed
# form: along each eigendirection of $U^\top U$ the GD iterate multiplies the residual by
# $1 - \mathrm{LR}\,\lambda$ per step, so these are the weights after exactly that many steps). The
# learning rate is about half the stable limit $2/\lambda_{\max}$: $\lambda_{\max}$ is estimated as the spike
# $P\mu_0^2$ of the features' mean plus the top of the bulk (`spectrum_bounds`). The theory is gradient flow; the two differ by
# $O(\mathrm{LR}\,\lambda)$ only for the fastest directions, learned within the first few steps.
# Three widths: below ($K/P = 0.5$), at ($1$) and above ($2$) the threshold.

# %%
RATIOS_T = (0.5, 1.0, 2.0)
lam_max = P * ge.mu0**2 + max(theory(r).spectrum_bounds[1] for r in RATIOS_T)
LR = 1.0 / lam_max
steps = np.unique(np.floor(np.logspace(np.log10(0.3 / LR), np.log10(T_MAX / LR), 16)).astype(np.int64))
t_gd = np.minimum(LR * steps, T_MAX)           # whole steps (to rounding), none beyond T_MAX
run_gd = train_random_features(N, P, [int(round(r * P)) for r in RATIOS_T], activation="relu", snr=SNR,
                               times=t_gd, lr=LR, n_networks=SEEDS, seed=2)
t_line = np.logspace(-0.6, np.log10(T_MAX), 60)
fig, ax = plt.subplots(figsize=(7, 5.2))
summary = []
for j, (r, c) in enumerate(zip(RATIOS_T, ("C0", "C3", "C2"))):
    ax.plot(t_line, eg_theory(r, t_line), "-", color=c, label=f"theory, K/P = {r:g}")
    e = run_gd.test_error[:, j, :]
    lo, hi = np.percentile(e, [25, 75], axis=0)
    ax.plot(t_gd, e.mean(0), "o", mfc="white", color=c, ms=4.5, label=f"GD ensemble mean, K/P = {r:g}")
    ax.fill_between(t_gd, lo, hi, color=c, alpha=0.18, lw=0, label=f"25-75 % of networks, K/P = {r:g}")
    th_pts = eg_theory(r, t_gd)
    summary.append((r, np.max(np.abs(np.log(e.mean(0) / th_pts))), th_pts.min(), t_gd[np.argmin(th_pts)],
                    th_pts[-1], e.mean(0)[-1]))
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel(r"training time $t$ (= LR x steps)")
ax.set_ylabel(r"test error $E_g$")
ax.set_title(f"random features trained by gradient descent: {SEEDS} networks per width, N = {N}, P = {P}",
             fontsize=9)
ax.legend(frameon=False, fontsize=7.5, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
ax.set_ylim(0.4, 80)
fig.tight_layout()
plt.show()
for r, dev, emin, tmin, elast, esim in summary:
    print(f"K/P = {r:g}: theory minimum {emin:.3f} at t = {tmin:.3g}, at t = 1e5 theory {elast:.3g}, "
          f"trained {esim:.3g}; max |log(trained/theory)| = {dev:.2f}")

# %% [markdown]
# Every curve falls first (the network learns the teacher along the large eigendirections), then
# rises (it starts fitting noise along the small ones: overtraining), so the best test error is reached
# at a finite time. The curves differ in what happens next.
#
# ### Exercise 6 (5 min): read the figure
#
# Why does the error at $K/P = 2$ rise and then level off, while at $K/P = 1$ it keeps rising?
#
# * (a) At $K/P = 1$ gradient descent is unstable at this learning rate, so the weights grow.
# * (b) At $K/P = 2$ the nonzero eigenvalues of $H$ stay above a positive edge, so once $t$ exceeds one
#   over that edge every direction is fitted and the error levels off at its converged value; at $K = P$
#   the edge is at 0 and ever smaller eigenvalues are fitted, each amplifying noise by $1/\lambda$, so the
#   error grows without bound (like $\sqrt t$).
# * (c) At $K/P = 2$ the network has enough parameters to absorb the noise harmlessly, so
#   over-parameterised networks do not overtrain.

# %% tags=["exercise"]
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
choose("6", answer, correct="b", why={
    "a": "No: the same rise is in the gradient-flow theory line, and the learning rate is about half the stable "
         "limit (an unstable run would raise a DivergenceError).",
    "b": "The lower edge of H's spectrum is positive away from K = P and touches 0 at K = P; the time "
         "scale of the last fitted direction is 1/edge, infinite at the threshold.",
    "c": "No: at K/P = 2 the error does rise after its minimum (overtraining) before it levels off; "
         "over-parameterisation lowers the converged error but does not remove the overtraining.",
})
r2 = summary[2]
print(f"K/P = 2: minimum {r2[2]:.3f} at t = {r2[3]:.3g}, converged {float(theory(2.0).test_error(np.inf)):.3f}")
assert r2[2] < float(theory(2.0).test_error(np.inf)) - 0.1

# %% [markdown]
# **Where theory and simulation differ.** The markers are real networks at finite $N$ ($N = 100$ at the
# quick sizes): their mean error differs from the $N\to\infty$ line by finite-size corrections (the
# printed $|\log(\text{trained}/\text{theory})|$, up to about 0.1 here), and at $K = P$ their spread is
# large and grows with time (the mean is carried by the worst-conditioned data sets). Gradient descent and
# gradient flow differ only at the first few steps. Figure `generalization_relu` measures the gap at two
# sizes; set `QUICK = False` ($N = 300$) to rerun this lesson at a larger size.
#
# ## 5. Where to go next
#
# * Figure `random_features_heatmap`: the test error over $K/P$ and training time as a map, with the
#   optimal early-stopping time; the ridge at $K = P$ forms only after $t\sim10^2$.
# * Figure `generalization_relu`: the same curves at two sizes, and networks with *both* layers trained,
#   whose peak sits near $K(N+1) = P$ (parameters, not features, per sample), outside this theory.
# * Lesson 3 (generalisation dynamics) is the linear student: the same peak at $P = N$, from the same
#   Marchenko-Pastur hard edge. Try `RandomFeaturesTheory(psi1, psi2, "linear")` with large `psi1`: it
#   reduces to it.
# * **For the curious:** change `"relu"` to `"erf"` in `theory` and in the training calls. With
#   $\mu_0 = 0$ there is no spike, so a larger learning rate is stable.
