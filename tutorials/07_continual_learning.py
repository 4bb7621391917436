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
# # Lesson 7: Continual learning: interference, interleaving and forgetting
#
# **Learning objectives.** After this lesson you can
#
# 1. define the *forgetting* of an old task and compute it exactly for a linear network from the
#    geometry of the two tasks (the angles between their input and output directions);
# 2. predict where blocked, alternating and interleaved curricula end, and say why interleaving
#    protects old knowledge;
# 3. describe the teacher-student model of continual learning and its non-monotonic result:
#    forgetting is largest at *intermediate* task similarity;
# 4. explain how context-dependent gating removes interference;
# 5. compare the exact predictions with ensembles of trained networks through a task switch.
#
# Literature: McCloskey & Cohen (1989), *Catastrophic interference in connectionist networks: the
# sequential learning problem*; McClelland, McNaughton & O'Reilly (1995), *Why there are
# complementary learning systems in the hippocampus and neocortex*; Flesch, Balaguer, Dekker,
# Nili & Summerfield (2018), *Comparing continual task learning in minds and machines* (PNAS);
# Lee, Goldt & Saxe (2021), *Continual learning in the teacher-student setup: impact of task
# similarity* (ICML); Masse, Grant & Freedman (2018), *Alleviating catastrophic forgetting using
# context-dependent gating and synaptic stabilization* (PNAS).
#
# *Run time.* Quick sizes: linear networks of width 4 (8 networks), committee machines at
# $N = 200$ (6 students). The full-size figures (`figures/continual/continual_curricula.py`,
# `continual_teacher_student.py`, `continual_gating.py`) use smaller learning rates and
# $N = 400$; set `QUICK = False` for $N = 500$, 12 students and finer grids.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
import tqdm.auto
import tqdm.std

from idealnets.simulate.continual import teacher_pair_weights, train_curriculum, train_two_teachers
from idealnets.teaching import check, choose, reveal, interactive
from idealnets.theory.continual import (Curriculum, GatedCurriculum, ShallowCurriculum, TwoTeacherODE,
                                        alternating, forgetting, item_tasks, overlapping_gates,
                                        shallow_item_forgetting, teacher_pair, whitened_pair)
from idealnets.theory.lambda_balanced import lambda_balanced_init

tqdm.auto.tqdm = tqdm.std.tqdm   # text progress bars (silent outside a terminal), not notebook widgets
QUICK = True
E, LR_LIN = (8, 0.01) if QUICK else (16, 0.0025)                 # linear networks, their learning rate
N_TS, SEEDS, N_GAMMA = (200, 6, 6) if QUICK else (500, 12, 21)   # committee: N, students, gamma grid

# %% [markdown]
# ## 1. Two tasks, one network: catastrophic interference
#
# McCloskey & Cohen (1989) trained a network on one set of facts and then on a second: the first
# set was almost entirely overwritten (*catastrophic interference*). Linear networks let us make
# this exact. A **curriculum** is a list of phases (task, duration); a task is a data set
# $(X, Y)$ with loss $L_k = \frac1{2P_k}\sum_\mu\|y_\mu-\hat y_\mu\|^2$, trained by gradient flow
# $\tau\dot W = -\partial L/\partial W$. We learn task A, switch to task B at $t_s$, and measure the
# **forgetting** of A at the end $T$:
#
# $$F = L_A(T) - L_A(t_s)\qquad(F>0:\ \text{learning B undid A}).$$
#
# Start with the simplest case: a *shallow* network $\hat y = Wx$ and two single-item tasks. Task $k$
# maps one input direction $v_k$ to the output $s_k u_k$ (unit vectors; $s_k$ its strength). Their
# similarity is the input angle, $\cos\theta_v = v_A\cdot v_B$, and the output angle,
# $\cos\theta_u = u_A\cdot u_B$ (`item_tasks`). Task B's gradient is
# $(s_Bu_B - Wv_B)\,v_B^\top$: it changes $W$ only along $v_B$. So after A is learned from $W = 0$
# ($W_A = s_Au_Av_A^\top$) and B is trained to convergence, $W = W_A + (s_Bu_B - W_Av_B)v_B^\top$,
# and the error on A is
#
# $$F = \tfrac12\cos^2\theta_v\,\big\|s_Bu_B - s_A\cos\theta_v\,u_A\big\|^2
#     = \tfrac12 c_v^2\,\big(s_B^2 - 2s_As_Bc_uc_v + s_A^2c_v^2\big)$$
#
# with $c_u = \cos\theta_u$, $c_v = \cos\theta_v$. It vanishes for orthogonal inputs ($c_v = 0$) and for
# a B *consistent* with what is known ($s_Bu_B = W_Av_B$); it is largest for identical inputs with
# opposite outputs.
#
# ### Exercise 1 (10 min): the forgetting of a shallow network
#
# Write `F_shallow(s_a, s_b, cos_u, cos_v)` (NumPy arrays allowed for the cosines). The first check
# compares it with `shallow_item_forgetting` on a grid of angles; the second with the exact
# gradient flow through the curriculum A then B (`ShallowCurriculum`, phases long enough to converge).

# %% tags=["exercise"]
def F_shallow(s_a, s_b, cos_u, cos_v):
    # BEGIN SOLUTION
    cu, cv = np.asarray(cos_u, dtype=float), np.asarray(cos_v, dtype=float)
    return 0.5 * cv**2 * (s_b**2 - 2 * s_a * s_b * cu * cv + s_a**2 * cv**2)
    # END SOLUTION


# %%
cu_grid, cv_grid = np.meshgrid(np.cos(np.linspace(0, np.pi, 7)), np.cos(np.linspace(0, np.pi / 2, 7)))
check("1a", "forgetting on a grid of angles", F_shallow(1.0, 1.5, cu_grid, cv_grid),
      shallow_item_forgetting(1.0, 1.5, cu_grid, cv_grid), rtol=1e-9,
      hint="only W v_B moves; start from W_A = s_a u_A v_A^T and evaluate 0.5 |W v_A - s_a u_A|^2 at the end.")
theta_u, theta_v = np.pi / 2, np.pi / 4                       # orthogonal outputs, inputs at 45 degrees
shallow = ShallowCurriculum(item_tasks(3, 3, 1.0, 1.5, theta_u, theta_v), [("A", 40.0), ("B", 40.0)],
                            np.zeros((3, 3)))
check("1b", "forgetting of the exact gradient flow", F_shallow(1.0, 1.5, np.cos(theta_u), np.cos(theta_v)),
      forgetting(shallow, "A", 40.0, 80.0), rtol=1e-9)

# %% [markdown]
# A *two-layer* network $\hat y = W_2W_1x$ interferes in one more way: its readout $W_2$ is shared
# by all inputs. Even with orthogonal inputs, learning B moves $W_2$ and so changes A's outputs
# whenever the outputs overlap (figure `continual_similarity`). Its gradient flow,
#
# $$\tau\dot W_1 = W_2^\top(\Sigma^{yx} - W_2W_1\Sigma^{xx}),\qquad
#   \tau\dot W_2 = (\Sigma^{yx} - W_2W_1\Sigma^{xx})W_1^\top,$$
#
# depends on the data of a phase only through $\Sigma^{xx}$ and $\Sigma^{yx}$. The quantity
# $W_2^\top W_2 - W_1W_1^\top$ is conserved on *any* data, so a balanced network stays balanced
# through every switch, and each phase with whitened inputs is solved by the exact closed form of
# a balanced two-layer network restarted from the weights at the switch
# (`idealnets.theory.continual.Curriculum`; `Curriculum.methods` says per phase whether the closed
# form or a float64 integration was used).
#
# ## 2. Blocked, alternating and interleaved training
#
# McClelland, McNaughton & O'Reilly (1995) argued that the neocortex avoids catastrophic
# interference by learning slowly from **interleaved** experience (old and new items mixed, replayed
# by the hippocampus), not in **blocks**. Flesch et al. (2018) found the opposite preference in
# humans learning two categorisation tasks, who did better after blocked training; networks
# trained by gradient descent did not. Here: two whitened tasks with rank-one maps
# $\Sigma^{yx}_k = s_ku_kv_k^\top$ (`whitened_pair`), $s_A = 3$, $s_B = 2$, and the same angle
# $\theta$ between their input and between their output directions. Three curricula of total time
# $T = 10$:
#
# * **blocked**: A for 5, then B for 5;
# * **alternating**: blocks of length $\tau_b$, A, B, A, B, ... (`alternating`);
# * **interleaved**: the mixture, one phase on the mean loss $\frac12(L_A+L_B)$, i.e. on the mean
#   $\Sigma^{yx} = \frac12(\Sigma^{yx}_A + \Sigma^{yx}_B)$.
#
# ### Exercise 2 (10 min): where the curricula end
#
# A linear network trained to convergence on whitened data reaches the least-squares map, here
# $W = \Sigma^{yx}$ of the phase, and the loss of task $k$ at a map $W$ is
# $L_k = \frac12\|\Sigma^{yx}_k - W\|_F^2$. Write the loss on A after
# (i) B is trained to convergence (`L_A_blocked`), and (ii) the mixture is trained to convergence
# (`L_A_interleaved`), as functions of `s_a`, `s_b` and the angle `theta` (the same for inputs and
# outputs). *Hint:* $\|s_Au_Av_A^\top - s_Bu_Bv_B^\top\|_F^2 = s_A^2 + s_B^2 - 2s_As_B\,(u_A\cdot u_B)(v_A\cdot v_B)$.
# The checks run the exact curricula with a last phase of infinite length (the closed form at
# $t = \infty$).

# %% tags=["exercise"]
def L_A_blocked(s_a, s_b, theta):
    # BEGIN SOLUTION
    return 0.5 * (s_a**2 + s_b**2 - 2 * s_a * s_b * np.cos(theta) ** 2)
    # END SOLUTION


def L_A_interleaved(s_a, s_b, theta):
    # BEGIN SOLUTION
    return L_A_blocked(s_a, s_b, theta) / 4    # the mean map is half-way: half the distance, a quarter the loss
    # END SOLUTION


# %%
S_A, S_B, N_LIN = 3.0, 2.0, 4
thetas = np.array([0.0, np.pi / 6, np.pi / 3, np.pi / 2])
W1_one, W2_one = lambda_balanced_init(N_LIN, N_LIN, N_LIN, 0.0, 0.1, seed=11)   # balanced, small, random
exact_blocked, exact_inter = [], []
for th in thetas:
    pair = whitened_pair(N_LIN, S_A, S_B, th, th)
    exact_blocked.append(Curriculum(pair, [("A", 20.0), ("B", np.inf)], W1_one, W2_one).loss(np.inf, "A"))
    exact_inter.append(Curriculum(pair, [("A", 20.0), (("A", "B"), np.inf)], W1_one, W2_one).loss(np.inf, "A"))
check("2a", "L_A after blocked training", L_A_blocked(S_A, S_B, thetas), np.array(exact_blocked), rtol=1e-6,
      hint="at convergence on B the map is Syx_B; L_A = 0.5 |Syx_A - Syx_B|_F^2.")
check("2b", "L_A after interleaved training", L_A_interleaved(S_A, S_B, thetas), np.array(exact_inter), rtol=1e-6,
      hint="the mixture's least-squares map is the mean (Syx_A + Syx_B) / 2.")

# %% [markdown]
# Now the three curricula through time (exact, from one small balanced initialisation, task angle
# $60^\circ$). Grey lines mark the task switches.

# %%
ANGLE = np.pi / 3
T_A = T_B = 5.0
T_END = T_A + T_B
tasks = whitened_pair(N_LIN, S_A, S_B, ANGLE, ANGLE)
CURRICULA = {"blocked": [("A", T_A), ("B", T_B)],
             r"alternating, $\tau_b$ = 1": alternating(["A", "B"], 1.0, T_END),
             "interleaved": [(("A", "B"), T_END)]}
t_line = np.linspace(0, T_END, 81)


def task_losses(cur, t):
    """Both tasks' losses at times t, from one evaluation of the network map."""
    W = cur.map(t)
    return {task: cur.loss_of_map(W, task) for task in ("A", "B")}


fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), sharey=True)
final = {}
for ax, (name, schedule) in zip(axes, CURRICULA.items()):
    cur = Curriculum(tasks, schedule, W1_one, W2_one)
    L = task_losses(cur, np.append(t_line, T_END))
    for task, col in (("A", "C0"), ("B", "C1")):
        ax.plot(t_line, L[task][:-1], color=col, label=f"task {task}")
    for ts in cur.switch_times:
        ax.axvline(ts, color="0.85", lw=0.6, zorder=0)
    final[name.split(",")[0]] = (float(L["A"][-1]), float(L["B"][-1]))
    ax.set_title(name, fontsize=10)
    ax.set_xlabel(r"time $t/\tau$")
axes[0].set_ylabel("training loss (exact)")
axes[0].legend(frameon=False)
fig.tight_layout()
plt.show()
for name, (la, lb) in final.items():
    print(f"{name:12s} at T = {T_END:g}: L_A = {la:.3f}, L_B = {lb:.3f}, sum = {la + lb:.3f}")
assert final["interleaved"][0] + final["interleaved"][1] < final["blocked"][0] + final["blocked"][1]
assert final["blocked"][1] < final["interleaved"][1]

# %% [markdown]
# ### Exercise 3 (5 min): reading the curricula
#
# At the end, blocked training has the *lower* loss on task B, yet McClelland, McNaughton &
# O'Reilly recommend interleaving. Which reading of the figure is right?
#
# * (a) Interleaving is better because it learns each task faster: its loss on B falls earlier than
#   in the blocked curriculum.
# * (b) Blocked training ends near B's solution and leaves A's loss high (forgetting); interleaving
#   ends near the map that minimises the *sum* of both losses, so it keeps a lower total loss, at
#   the price of not fitting either task perfectly when the tasks conflict.
# * (c) Interleaving avoids any interference: both of its final losses are zero.

# %% tags=["exercise"]
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
choose("3", answer, correct="b", why={
    "a": "No: B's loss falls fastest when B is trained alone (blocked, second phase); interleaving "
         "follows the mean loss and learns each task more slowly.",
    "b": "Yes: the sum L_A + L_B printed above is lower for interleaving; these two tasks map the same "
         "inputs to different outputs, so no single map fits both and the mixture settles on their mean.",
    "c": "No: with conflicting tasks (angle 60 degrees) the mean map leaves a quarter of the blocked "
         "forgetting on each task (Exercise 2), not zero."})

# %% [markdown]
# ## 3. Block length (interactive)
#
# Alternating blocks of length $\tau_b$ approach the interleaved curriculum as $\tau_b\to0$: one
# A-B cycle is a Lie-Trotter splitting of the mixture's flow, with an error $O(\tau_b^2)$ per
# cycle and $T/2\tau_b$ cycles, so the gap is $O(\tau_b)$ (figure `continual_curricula` measures the
# slope). Move the sliders: the task angle and the block length (a block of 5 is the blocked
# curriculum). Dashed: interleaved. Without a widget front end a grid is drawn instead.

# %%
def plot_blocks(angle_deg=60.0, tau_b=1.0, ax=None):
    pair = whitened_pair(N_LIN, S_A, S_B, np.deg2rad(angle_deg), np.deg2rad(angle_deg))
    alt = Curriculum(pair, alternating(["A", "B"], tau_b, T_END), W1_one, W2_one)
    inter = Curriculum(pair, [(("A", "B"), T_END)], W1_one, W2_one)
    L_alt, L_inter = task_losses(alt, t_line), task_losses(inter, t_line)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    for task, col in (("A", "C0"), ("B", "C1")):
        ax.plot(t_line, L_alt[task], color=col, label=f"task {task}, blocks")
        ax.plot(t_line, L_inter[task], "--", color=col, lw=1, label=f"task {task}, interleaved")
    ax.set_xlabel(r"time $t/\tau$")
    ax.set_ylabel("training loss")
    ax.set_title(f"angle {angle_deg:g} deg, block length {tau_b:g}", fontsize=10)
    if own:
        ax.legend(frameon=False, fontsize=8)
        plt.show()


def static_blocks():
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharey=True)
    for ax, (a, tb) in zip(axes.flat, [(30, 5.0), (30, 2.0), (30, 0.5), (90, 5.0), (90, 2.0), (90, 0.5)]):
        plot_blocks(a, tb, ax=ax)
    axes[0, 0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    plt.show()


interactive(plot_blocks, static_blocks,
            angle_deg=dict(value=60.0, min=0.0, max=180.0, step=15.0, description="angle (deg)"),
            tau_b=dict(value=1.0, min=0.5, max=5.0, step=0.5, description="block length"))

# %% [markdown]
# Even at $90^\circ$ blocked training forgets A: both tasks are defined on the same whitened inputs,
# so B's data ask the network to map A's input direction $v_A$ to zero, and B's phase unlearns A's
# mode (slowly: a mode whose target is zero decays like $1/t$ in a two-layer network,
# $\tau\dot u = -2u^2$, not exponentially). At $180^\circ$ ($u_B = -u_A$, $v_B = -v_A$, so
# $\Sigma^{yx}_B = (s_B/s_A)\Sigma^{yx}_A$) the tasks agree up to strength and little is forgotten.
#
# ## 4. Teacher-student continual learning: similarity and forgetting
#
# Lee, Goldt & Saxe (2021) asked how forgetting depends on task similarity in a nonlinear
# network, with the online-learning theory of Lesson 4. A soft committee student
# $\phi_t(x) = \sum_{k=1}^K h_{t,k}\,g(w_k\cdot x/\sqrt N)$, $g = \mathrm{erf}(\cdot/\sqrt2)$, has a
# **shared first layer** $w_k$ and one **head** $h_t$ per task. It learns teacher 1 by online SGD for
# $\alpha_1 = $ steps$/N$, then teacher 2 with head 2 for $\alpha_2$ (head 1 frozen). The teachers
# (M units each) have **feature similarity** $\gamma$, $W^*_1W^{*\top}_2/N = \gamma I$, and
# **readout similarity** $\eta$ between their second layers (`teacher_pair`; here $\eta = 1$).
#
# Treat the $2M$ units of both teachers as one teacher whose readout is $(v^*_1, 0)$ in phase 1 and
# $(0, v^*_2)$ in phase 2: the overlaps $Q$, and $R$ with *both* teachers, then obey exactly the
# committee ODE of Saad & Solla (1995), with the inactive teacher's units as spectators
# (`TwoTeacherODE`). What the ODE needs about the teachers is their joint overlap matrix
#
# $$T_\text{joint} = \frac1N\begin{pmatrix}W^*_1\\W^*_2\end{pmatrix}
#   \begin{pmatrix}W^*_1\\W^*_2\end{pmatrix}^\top
#   = \begin{pmatrix}I & \gamma I\\ \gamma I & I\end{pmatrix}.$$
#
# ### Exercise 4 (5 min): the teachers' joint overlaps
#
# `teacher_pair_weights` draws the two teachers' weights (arrays of shape (1, M, N) below). Compute
# `T_joint` (shape (2M, 2M)) from them; the check compares it with `teacher_pair(M, gamma, 1.0)[0]`.

# %%
K = M = 2
LR_TS, H0, ALPHA = 1.0, 0.1, 12.0        # learning rate, initial heads, alpha per task
GAMMA_SHOW = 0.3
W_star1, W_star2 = (w.numpy() for w in teacher_pair_weights(N_TS, M, GAMMA_SHOW, 1, seed=4))

# %% tags=["exercise"]
# BEGIN SOLUTION
W_both = np.concatenate([W_star1[0], W_star2[0]])      # (2M, N)
T_joint = W_both @ W_both.T / N_TS
# END SOLUTION

# %%
check("4", "joint teacher overlaps", T_joint, teacher_pair(M, GAMMA_SHOW, 1.0)[0], rtol=1e-9, atol=1e-10,
      hint="stack the two teachers' rows into one (2M, N) matrix A and compute A A^T / N.")

# %% [markdown]
# ### Exercise 5 (5 min): predict, then run
#
# The student learns teacher 1 for $\alpha_1 = 12$, then teacher 2 for $\alpha_2 = 12$
# ($K = M = 2$, $\eta = 1$). For identical teachers ($\gamma = 1$) learning task 2 is more of task 1.
# For orthogonal teachers ($\gamma = 0$) the two tasks share no features. **At which feature
# similarity $\gamma$ is the forgetting of task 1 largest?** Write your guess before running the ODE.

# %% tags=["exercise"]
# BEGIN SOLUTION
# Reasoned from Lee, Goldt & Saxe (2021): forgetting is not monotonic in similarity. Similar teachers
# (gamma near 1) need little change; dissimilar ones leave the old overlaps R with teacher 1 largely
# alone while the student searches for the new features; in between, task 2 is learned quickly by
# rotating the shared units towards directions that overlap teacher 1 without being it. A low
# intermediate similarity:
prediction = 0.25
# END SOLUTION

# %%
rng = np.random.default_rng(0)
W0 = rng.standard_normal((K, 400))                     # one typical initial condition, as in the figure
Q0 = W0 @ W0.T / 400
R1, Rp = rng.standard_normal((K, M)) / 20, rng.standard_normal((K, M)) / 20    # O(N^-1/2) overlaps
h0 = H0 * np.ones(K)


def two_teacher_run(gamma, alpha_eval):
    T, v1, v2 = teacher_pair(M, gamma, 1.0)
    R0 = np.hstack([R1, gamma * R1 + np.sqrt(1 - gamma**2) * Rp])
    return TwoTeacherODE(K, M, LR_TS, T, v1, v2).integrate(Q0, R0, h0, h0, ALPHA, ALPHA, alpha_eval=alpha_eval)


gammas = np.linspace(0, 1, N_GAMMA)
runs = [two_teacher_run(g, np.array([0.0, ALPHA, 2 * ALPHA])) for g in gammas]
F_gamma = np.array([r.forgetting() for r in runs])
eps2_end = np.array([r.eps2[-1] for r in runs])
dR1 = np.array([np.abs(r.R[-1, :, :M] - r.R[1, :, :M]).max() for r in runs])   # change of R with teacher 1 in phase 2
k_peak = int(np.argmax(F_gamma))
gamma_peak = float(gammas[k_peak])
reveal("5", "feature similarity of largest forgetting", prediction, gamma_peak, rtol=0.5)

fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.plot(gammas, F_gamma, "o-", color="C3", ms=4, label=r"ODE, readout similarity $\eta$ = 1")
ax.axhline(0, color="0.6", lw=0.8)
ax.set_xlabel(r"feature similarity $\gamma$")
ax.set_ylabel(r"forgetting $\epsilon_1(\alpha_1+\alpha_2) - \epsilon_1(\alpha_1)$")
ax.legend(frameon=False)
plt.show()
print(f"forgetting: gamma = 0: {F_gamma[0]:.3f}, peak at gamma = {gamma_peak:g}: {F_gamma[k_peak]:.3f}, "
      f"gamma = 1: {F_gamma[-1]:.3f}")
print(f"error on task 2 at the end: gamma = 0: {eps2_end[0]:.3f}, gamma = {gamma_peak:g}: {eps2_end[k_peak]:.3f}")
print(f"largest change of an overlap with teacher 1 during task 2: gamma = 0: {dR1[0]:.2f}, "
      f"gamma = {gamma_peak:g}: {dR1[k_peak]:.2f}")
assert 0 < k_peak < len(gammas) - 1 and F_gamma[k_peak] > 2 * F_gamma[0] and F_gamma[-1] < 0
assert eps2_end[0] > 3 * eps2_end[k_peak] and dR1[0] < 0.5 * dR1[k_peak]

# %% [markdown]
# Forgetting peaks at a low intermediate similarity, at more than twice its value for orthogonal
# teachers, and is *negative* for identical teachers (training on the same teacher keeps improving
# the shared features that head 1 reads). The printed task-2 errors show why orthogonal teachers
# forget less here: with nothing in common, the student must find teacher 2's features from scratch
# and is still on a plateau of task 2 at the end (a much higher $\epsilon_2$), while its overlaps
# with teacher 1 change less than half as much as at the peak. At intermediate $\gamma$ task 2 is learned quickly, by rotating the
# shared units towards teacher 2, which drags their overlaps with teacher 1 away from the values
# head 1 relies on. (The exact peak moves with $\alpha_2$ and the learning rate; the figure
# `continual_teacher_student` shows $\eta = 0$ as well.)
#
# ## 5. Gating: separate pathways for separate tasks
#
# Context-dependent gating (Masse, Grant & Freedman 2018; the gated deep linear network of Saxe,
# Sodhani & Lewallen 2022) switches on a subset $S_k$ of the hidden units for task $k$:
# $\hat y = W_2G_kW_1x$. Training task $k$ moves only $W_1[S_k]$ and $W_2[:, S_k]$, so task $j$'s map
# changes only through the shared units $S_j\cap S_k$ (`GatedCurriculum`). Below: two gates of 4
# units sharing 0 to 4 of them, orthogonal tasks and similar tasks ($30^\circ$), blocked A then B.

# %%
shared_units = np.arange(0, 5)
F_gate = {}
for label, th in (("orthogonal tasks (90 deg)", np.pi / 2), ("similar tasks (30 deg)", np.pi / 6)):
    pair = whitened_pair(N_LIN, 2.0, 2.0, th, th)
    F_gate[label] = []
    for sh in shared_units:
        n_h, gates = overlapping_gates(4, int(sh))
        W1g, W2g = lambda_balanced_init(N_LIN, n_h, N_LIN, 0.0, 0.1, seed=7)
        gated = GatedCurriculum(pair, [("A", 8.0), ("B", 8.0)], gates, W1g, W2g)
        F_gate[label].append(float(forgetting(gated, "A", 8.0, np.array(16.0))))
fig, ax = plt.subplots(figsize=(5.5, 3.4))
for j, (label, F) in enumerate(F_gate.items()):
    ax.plot(shared_units / 4, F, "o-", color=f"C{j}", ms=4, label=label)
ax.set_xlabel(r"pathway overlap $|S_A\cap S_B|/|S_A|$")
ax.set_ylabel(r"forgetting $L_A(T)-L_A(t_s)$")
ax.legend(frameon=False)
plt.show()
for label, F in F_gate.items():
    print(f"{label}: forgetting at overlap 0, 1/2, 1: {F[0]:.3g}, {F[2]:.3g}, {F[4]:.3g}")
assert all(abs(F[0]) < 1e-9 for F in F_gate.values())

# %% [markdown]
# Disjoint pathways do not interfere at all (zero forgetting, to rounding); identical pathways are
# the ungated network. The cost is capacity: each task uses only its own units, and nothing learned
# for A helps B.
#
# ## 6. Trained networks through the task switch
#
# Now the test against trained networks. **Left:** `E` two-layer linear networks trained by
# full-batch gradient descent (`train_curriculum`, float64, lr = `LR_LIN`, time $t = $ lr $\times$
# steps) through the blocked curriculum A then B of Section 2, from small balanced random
# initialisations, against the chained exact solution from each network's own initial weights.
# **Right:** `SEEDS` committee students trained by online SGD at finite $N$ (`train_two_teachers`)
# on teacher 1 then teacher 2 at $\gamma = 0.2$, against the ODE integrated from each student's own
# initial order parameters. Lines: theory (mean over the ensemble); markers and bands: trained
# ensemble mean $\pm$ one standard deviation.

# %%
W1_0, W2_0 = lambda_balanced_init(N_LIN, N_LIN, N_LIN, 0.0, 0.1, seed=21, size=E)
blocked = CURRICULA["blocked"]
run_lin = train_curriculum(tasks, blocked, W1_0, W2_0, lr=LR_LIN, record=41)
curs = [Curriculum(tasks, blocked, W1_0[e], W2_0[e]) for e in range(E)]
t_both = np.concatenate([t_line, run_lin.times])             # the line, then the recorded times
L_both = [task_losses(c, t_both) for c in curs]
L_exact = {task: np.stack([L[task][:t_line.size] for L in L_both]) for task in ("A", "B")}
L_exact_at_runs = {task: np.stack([L[task][t_line.size:] for L in L_both]) for task in ("A", "B")}

GAMMA_FINAL = 0.2
T, v1, v2 = teacher_pair(M, GAMMA_FINAL, 1.0)
W_s1, W_s2 = teacher_pair_weights(N_TS, M, GAMMA_FINAL, SEEDS, seed=1)
W_student0 = torch.randn(SEEDS, K, N_TS, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
run_ts = train_two_teachers(W_student0, h0, h0, W_s1, W_s2, v1, v2, lr=LR_TS, alpha_1=ALPHA, alpha_2=ALPHA,
                            record=25, seed=3)
ode = TwoTeacherODE(K, M, LR_TS, T, v1, v2)
traj = [ode.integrate(run_ts.Q[e, 0], run_ts.R[e, 0], run_ts.h1[e, 0], run_ts.h2[e, 0], ALPHA, ALPHA,
                      alpha_eval=run_ts.times) for e in range(SEEDS)]
eps_ode = {1: np.stack([t.eps1 for t in traj]), 2: np.stack([t.eps2 for t in traj])}

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for j, task in enumerate(("A", "B")):
    col = f"C{j}"
    ax1.plot(t_line, L_exact[task].mean(0), "-", color=col, label=f"task {task}: exact (mean of {E} inits)")
    mean, sd = run_lin.losses[:, :, j].mean(0), run_lin.losses[:, :, j].std(0)
    ax1.plot(run_lin.times, mean, "o", mfc="white", color=col, ms=4, label=f"task {task}: trained, mean")
    ax1.fill_between(run_lin.times, mean - sd, mean + sd, color=col, alpha=0.2, lw=0,
                     label=f"task {task}: trained, $\\pm$1 sd")
ax1.axvline(T_A, color="0.6", lw=0.8, ls=":", label="task switch")
ax1.set_xlabel(r"time $t/\tau$ (= lr x steps)")
ax1.set_ylabel("training loss")
ax1.set_title(f"two-layer linear network, blocked A then B ({E} networks, lr = {LR_LIN:g})", fontsize=10)
ax1.legend(frameon=False, fontsize=7.5, loc="center right")
a = run_ts.times
for j, task in enumerate((1, 2)):
    col = f"C{j + 2}"
    ax2.plot(a[1:], eps_ode[task].mean(0)[1:], "-", color=col, label=f"task {task}: ODE (mean over students)")
    mean, sd = run_ts.losses[:, 1:, j].mean(0), run_ts.losses[:, 1:, j].std(0)
    ax2.plot(a[1:], mean, "o", mfc="white", color=col, ms=4, label=f"task {task}: online SGD, mean")
    ax2.fill_between(a[1:], mean - sd, mean + sd, color=col, alpha=0.2, lw=0,
                     label=f"task {task}: online SGD, $\\pm$1 sd")
ax2.axvline(ALPHA, color="0.6", lw=0.8, ls=":", label="task switch")
ax2.set_yscale("log")
ax2.set_xlabel(r"$\alpha$ = steps / N")
ax2.set_ylabel(r"generalisation error $\epsilon_t$")
ax2.set_title(f"committee, teacher 1 then 2, $\\gamma$ = {GAMMA_FINAL:g}, N = {N_TS} ({SEEDS} students)",
              fontsize=10)
ax2.legend(frameon=False, fontsize=7.5, loc="lower left")
fig.tight_layout()
plt.show()

i_lin = int(np.searchsorted(run_lin.steps, run_lin.switch_steps[0]))
F_lin_sim = run_lin.losses[:, -1, 0] - run_lin.losses[:, i_lin, 0]
F_lin_th = L_exact_at_runs["A"][:, -1] - L_exact_at_runs["A"][:, i_lin]
dev_lin = np.abs(run_lin.losses[:, :, 0] - L_exact_at_runs["A"]).max()
i_ts = int(np.searchsorted(a, run_ts.alpha_switch - 1e-12))
F_ts_sim = run_ts.losses[:, -1, 0] - run_ts.losses[:, i_ts, 0]
F_ts_ode = eps_ode[1][:, -1] - eps_ode[1][:, i_ts]
print(f"linear: forgetting of A, exact {F_lin_th.mean():.3f}, trained {F_lin_sim.mean():.3f}; max |L_A gap| over "
      f"time {dev_lin:.2g} at lr = {LR_LIN:g} (gradient descent's discretisation error)")
print(f"committee: forgetting of task 1, ODE {F_ts_ode.mean():.3f}, SGD {F_ts_sim.mean():.3f} "
      f"(spread over students {F_ts_sim.std():.2g}); rms gap of eps_1 {np.sqrt(np.mean((run_ts.losses[..., 0] - eps_ode[1]) ** 2)):.2g}")
assert dev_lin < 0.05 * S_A**2 / 2 and abs(F_ts_sim.mean() - F_ts_ode.mean()) < 0.5 * F_ts_ode.mean()

# %% [markdown]
# The linear networks follow the chained exact solution through the switch; their gap is the
# discretisation error of gradient descent, $O(\text{lr})$ (`tests/test_continual.py` checks that it
# halves when lr halves; `QUICK = False` runs at a quarter of the learning rate). The committee students follow the ODE on average, with a spread from student to
# student: at finite $N$ the overlaps fluctuate by $O(1/\sqrt N)$, and the time at which each
# student escapes a plateau (and so how much it has specialised at the switch) varies. The ODE is
# the $N\to\infty$ limit; the gap shrinks like $N^{-1/2}$ (checked by a slow test in
# `tests/test_continual.py`; figure `continual_teacher_student` runs $N = 400$).
#
# ## 7. Where to go next
#
# * **Schemas** (figure `continual_schema`, `idealnets.theory.continual.new_item_tasks`): after the
#   living-things hierarchy is learned, a new bird consistent with the schema is integrated quickly
#   and harmlessly; a penguin (swims, does not fly) learned on its own makes robins "swim"
#   (McClelland, McNaughton & O'Reilly 1995).
# * **Sequential regression** (figure `continual_sequential_regression`, `sequential_regression`):
#   training to convergence task after task is a chain of projections (Evron et al. 2022).
# * **Many tasks and replay**: `MultiTeacherODE` with a `TaskSchedule` (periodic switching, replay as
#   a mixture of the tasks' drifts).
# * **Exercise for the curious:** rerun Exercise 5 with readout similarity $\eta = 0$
#   (`teacher_pair(M, gamma, 0.0)`): does the peak survive?
