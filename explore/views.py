r"""The explorer's views: one function per topic, each returning a :class:`~idealnets.explore._base.View`.

Every view draws the package's theory (``idealnets.theory``) for the current controls, at once, and
trains a small ensemble with ``idealnets.simulate`` when its button is pressed. Sizes are chosen so
that one slider update takes well under a second of CPU and one button a few seconds.

* :func:`deep_linear` -- mode strengths of a deep linear network (Saxe, McClelland & Ganguli 2014);
* :func:`semantic` -- semantic development on a hierarchy (Saxe, McClelland & Ganguli 2019);
* :func:`generalization` -- linear teacher-student generalisation (Advani & Saxe 2017);
* :func:`committee` -- the plateau of online SGD in committee machines (Saad & Solla 1995);
* :func:`continual` -- forgetting between two tasks at an angle (two-layer linear networks).
"""
from __future__ import annotations

import functools

import numpy as np
from bokeh.models import ColumnDataSource, InlineStyleSheet, LinearColorMapper, RadioButtonGroup, Slider, Span
from bokeh.palettes import Viridis256

from idealnets.simulate import committee as sim_committee
from idealnets.simulate import continual as sim_continual
from idealnets.simulate import deep_linear as sim_deep_linear
from idealnets.simulate import generalization as sim_generalization
from idealnets.theory import committee as th_committee
from idealnets.theory import committee_grid as th_committee_grid
from idealnets.theory import continual as th_continual
from idealnets.theory import datasets as th_datasets
from idealnets.theory import deep_linear as th_deep_linear
from idealnets.theory import generalization as th_generalization
from idealnets.theory import lambda_balanced as th_lambda_balanced
from idealnets.theory import semantic as th_semantic

from ._base import PALETTE, View, make_figure, style_legend

__all__ = ["deep_linear", "semantic", "generalization", "committee", "continual", "VIEWS", "MAX_STEPS"]

#: the most gradient steps one button may train one network for (keeps a press to seconds)
MAX_STEPS = 20_000


def _slider(title: str, start, end, value, step, **kw) -> Slider:
    return Slider(title=title, start=start, end=end, value=value, step=step, width=330,
                  stylesheets=[InlineStyleSheet(css=".bk-slider-title { font-size: 12pt; }")], **kw)


def _empty(*cols: str) -> ColumnDataSource:
    return ColumnDataSource({c: [] for c in cols})


def _check_steps(steps: int, what: str) -> int:
    if steps > MAX_STEPS:
        raise ValueError(f"{what} would need {steps} gradient steps per network, more than the explorer's "
                         f"{MAX_STEPS}: raise the learning rate or the initial scale")
    return max(int(steps), 1)


# =============================================================================== 1. deep linear modes
N_MODES = 3


@functools.lru_cache(maxsize=4)
def _frames(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return np.linalg.qr(rng.standard_normal((n, n)))[0], np.linalg.qr(rng.standard_normal((n, n)))[0]


def deep_linear_task(s):
    """Whitened task with singular values ``s`` (``X X^T/P = I``, ``Syx = U diag(s) V^T``): (X, Y)."""
    s = np.asarray(s, dtype=float)
    n = s.size
    U, V = _frames(n)
    X = np.sqrt(n) * np.eye(n)
    return X, U @ np.diag(s) @ V.T @ X


def deep_linear_theory(p: dict) -> tuple:
    """(theory, t grid) for the controls of :func:`deep_linear`: ``DeepLinearTheory`` on the whitened task."""
    X, Y = deep_linear_task([p["s1"], p["s2"], p["s3"]])
    th = th_deep_linear.DeepLinearTheory(X, Y, depth=int(p["depth"]), u0=10.0 ** p["log10_u0"])
    t_end = 1.25 * float(np.max(th.learning_times(0.98)))
    return th, np.linspace(0.0, t_end, 240)


def deep_linear(n_networks: int = 3) -> View:
    """Mode strengths ``u_alpha(t)`` and the loss of a depth-D linear network (Saxe et al. 2014)."""
    controls = {
        "depth": _slider("depth D (weight matrices)", 1, 6, 2, 1),
        "log10_u0": _slider("log10 u0, initial strength of every mode", -6.0, -0.5, -3.0, 0.25),
        "s1": _slider("singular value s1 of the task", 0.1, 5.0, 3.0, 0.1),
        "s2": _slider("singular value s2", 0.1, 5.0, 2.0, 0.1),
        "s3": _slider("singular value s3", 0.1, 5.0, 1.0, 0.1),
        "lr": _slider("learning rate lr (training only)", 0.005, 0.6, 0.01, 0.005),
    }
    sources = {f"theory{a}": _empty("t", "u") for a in range(N_MODES)}
    sources.update({f"sim{a}": _empty("t", "u") for a in range(N_MODES)})
    sources["theory_loss"] = _empty("t", "loss")
    sources["sim_loss"] = _empty("t", "loss")
    p1 = make_figure("Mode strengths: plateaus, then sudden drops", "time t / tau  (= lr x steps)",
                     "mode strength u(t)", width=520)
    p2 = make_figure("Training loss", "time t / tau  (= lr x steps)", "loss", width=440)
    for a in range(N_MODES):
        p1.line("t", "u", source=sources[f"theory{a}"], color=PALETTE[a], line_width=3,
                legend_label=f"theory, mode {a + 1}")
        p1.scatter("t", "u", source=sources[f"sim{a}"], color=PALETTE[a], fill_color="white", size=8,
                   line_width=2, legend_label=f"trained, mode {a + 1}")
    p2.line("t", "loss", source=sources["theory_loss"], color="black", line_width=3, legend_label="theory")
    p2.scatter("t", "loss", source=sources["sim_loss"], color="black", fill_color="white", size=8, line_width=2,
               legend_label="trained (mean)")
    style_legend(p1, "right")
    style_legend(p2, "top_right")

    def theory(p):
        th, tt = deep_linear_theory(p)
        u = th.mode_strengths(tt)
        out = {f"theory{a}": {"t": tt, "u": u[:, a]} for a in range(N_MODES)}
        out["theory_loss"] = {"t": tt, "loss": th.loss(tt)}
        return out

    def info(p):
        th, tt = deep_linear_theory(p)
        lr_max = th.stable_lr()
        warn = " <b style='color:#b00020'>(lr is above it: gradient descent will not converge)</b>" if p["lr"] > lr_max else ""
        t_half = ", ".join(f"{x:.3g}" for x in th.learning_times(0.5))
        return (f"stable lr = {lr_max:.3g}{warn}<br>half-learning times t<sub>1/2</sub> = {t_half}<br>"
                f"training: {int(np.ceil(tt[-1] / p['lr']))} steps")

    def train(p, report):
        th, tt = deep_linear_theory(p)
        X, Y = th.X, th.Y
        lr = p["lr"]
        steps = _check_steps(int(np.ceil(tt[-1] / lr)), "this run")
        record = np.unique(np.linspace(0, steps, 31).astype(int))
        us, losses = [], []
        report(0, n_networks)
        for e in range(n_networks):
            run = sim_deep_linear.train(X, Y, depth=int(p["depth"]), width=8, n_networks=1, init="decoupled",
                                        init_scale=10.0 ** p["log10_u0"], lr=lr, steps=steps, record=record,
                                        seed=e, log=False, desc=f"explorer: deep linear network {e + 1}")
            us.append(np.einsum("ia,erij,ja->era", th.U, run.state["maps"], th.V)[0])
            losses.append(run.losses[0])
            report(e + 1, n_networks)
        u, t = np.mean(us, axis=0), run.times
        out = {f"sim{a}": {"t": t, "u": u[:, a]} for a in range(N_MODES)}
        out["sim_loss"] = {"t": t, "loss": np.mean(losses, axis=0)}
        return out

    return View("deep_linear", "Deep linear networks: learning mode by mode",
                "A linear network with D weight matrices learns the singular modes of its task one at a time: "
                "each mode strength follows a sigmoid from its initial value u0 to its singular value s "
                "(Saxe, McClelland &amp; Ganguli 2014). Smaller u0 and larger depth make longer plateaus and "
                "sharper drops; stronger modes are learned first. The button trains networks from decoupled "
                "initial weights by gradient descent and draws their mode strengths (markers).",
                controls, sources, [p1, p2], theory, train, info=info, n_networks=n_networks)


# =============================================================================== 2. semantic development
N_FEATURES = 200


@functools.lru_cache(maxsize=16)
def _hierarchy(branching: int, levels: int, flip_prob: float):
    data = th_datasets.hierarchical_data((branching,) * levels, N_FEATURES, flip_prob, seed=0)
    spec = th_semantic.hierarchy_spectrum((branching,) * levels, flip_prob, N_FEATURES)
    return data, spec.level[np.argsort(-spec.eig, kind="stable")]


def semantic_theory(p: dict) -> tuple:
    """(theory, levels of its modes, t grid, snapshot time) for the controls of :func:`semantic`."""
    data, level = _hierarchy(int(p["branching"]), int(p["levels"]), round(float(p["flip_prob"]), 6))
    th = th_semantic.SemanticTheory(data.Y, depth=int(p["depth"]), u0=10.0 ** p["log10_u0"])
    times = th.differentiation_times(0.97)
    times = times[np.isfinite(times)]
    t_end = 1.2 * float(times.max()) if times.size else 1.0
    tt = np.linspace(0.0, t_end, 200)
    return th, level[:th.n_modes], tt, float(p["snapshot"]) * t_end


def semantic(n_networks: int = 3) -> View:
    """Mode strengths and the hidden similarity (RSA) of a linear network learning a hierarchy (Saxe et al. 2019)."""
    controls = {
        "branching": _slider("branching factor of the hierarchy", 2, 4, 2, 1),
        "levels": _slider("levels (items = branching ^ levels)", 1, 3, 3, 1),
        "flip_prob": _slider("flip probability per branch (noise)", 0.0, 0.45, 0.1, 0.05),
        "depth": _slider("network depth D", 2, 4, 2, 1),
        "log10_u0": _slider("initial scale: log10 u0", -6.0, -1.0, -3.0, 0.25),
        "snapshot": _slider("RSA snapshot (fraction of the time axis)", 0.0, 1.0, 0.3, 0.02),
    }
    sources = {"theory": _empty("xs", "ys", "color", "level"), "sim": _empty("t", "u", "color"),
               "rsa": _empty("image", "x", "y", "dw", "dh")}
    p1 = make_figure("Mode strengths: broad distinctions first", "time t / tau  (= lr x steps)",
                     "mode strength u(t)", width=500)
    p1.multi_line("xs", "ys", source=sources["theory"], color="color", line_width=3, legend_field="level")
    p1.scatter("t", "u", source=sources["sim"], color="color", fill_color="white", size=7, line_width=2)
    snap = Span(location=0.0, dimension="height", line_color="black", line_dash="dashed", line_width=2)
    p1.add_layout(snap)
    style_legend(p1, "right")
    mapper = LinearColorMapper(palette=Viridis256, low=-1.0, high=1.0)
    p2 = make_figure("Hidden similarity (RSA) at the dashed time", "item", "item", width=440, height=400,
                     match_aspect=True)
    p2.image(image="image", x="x", y="y", dw="dw", dh="dh", source=sources["rsa"], color_mapper=mapper)
    p2.y_range.flipped = True

    def theory(p):
        th, level, tt, t_snap = semantic_theory(p)
        u = th.mode_strengths(tt)
        order = np.arange(th.n_modes)
        cols = [PALETTE[int(level[a]) % len(PALETTE)] for a in order]
        labels = ["shared by all items" if level[a] == 0 else f"level-{int(level[a])} distinction" for a in order]
        K = th.similarity(t_snap)
        K_end = th.similarity(tt[-1])
        mapper.low, mapper.high = float(K_end.min()), float(max(K_end.max(), K_end.min() + 1e-12))
        snap.location = t_snap
        p2.title.text = f"Hidden similarity (RSA) at t = {t_snap:.3g}"
        P = th.P
        return {"theory": {"xs": [tt] * th.n_modes, "ys": [u[:, a] for a in order], "color": cols, "level": labels},
                "rsa": {"image": [K], "x": [-0.5], "y": [-0.5], "dw": [P], "dh": [P]}}

    def info(p):
        th, level, tt, t_snap = semantic_theory(p)
        return f"{th.P} items, {th.Y.shape[0]} features; stable lr = {th.dl.stable_lr():.3g}"

    def train(p, report):
        th, level, tt, t_snap = semantic_theory(p)
        lr = 0.02 * th.dl.stable_lr()  # gradient descent close to gradient flow
        steps = _check_steps(int(np.ceil(tt[-1] / lr)), "this run")
        record = np.unique(np.linspace(0, steps, 26).astype(int))
        X = th_datasets.one_hot(th.P)
        us = []
        report(0, n_networks)
        for e in range(n_networks):
            run = sim_deep_linear.train(X, th.Y, depth=int(p["depth"]), width=th.P, n_networks=1,
                                        init="decoupled", init_scale=10.0 ** p["log10_u0"], lr=lr, steps=steps,
                                        record=record, seed=e, log=False,
                                        desc=f"explorer: semantic network {e + 1}")
            us.append(th.project(run.state["maps"])[0])
            report(e + 1, n_networks)
        u = np.mean(us, axis=0)  # (R, modes)
        cols = [PALETTE[int(level[a]) % len(PALETTE)] for a in range(th.n_modes)]
        return {"sim": {"t": np.repeat(run.times, th.n_modes), "u": u.ravel(),
                        "color": np.tile(cols, run.times.size)}}

    return View("semantic", "Semantic development: a hierarchy, learned from the top down",
                "Items sit at the leaves of a tree; each feature is passed down the tree and flips sign with "
                "some probability at every branch. A deep linear network learns the singular modes of the "
                "item-feature data: the split shared at the top of the tree is the strongest and is learned "
                "first, finer distinctions later (Saxe, McClelland &amp; Ganguli 2019). The similarity of the "
                "items' hidden representations (right) differentiates in the same order: move the snapshot "
                "slider. The button trains networks by gradient descent (markers: their mean).",
                controls, sources, [p1, p2], theory, train, info=info, n_networks=n_networks,
                keep_ensemble=("snapshot",))


# =============================================================================== 3. teacher-student generalisation
GEN_T = np.geomspace(1e-2, 300.0, 200)


def generalization_theory(p: dict):
    """``LinearStudentTheory`` for the controls of :func:`generalization` (sigma_w = 1)."""
    return th_generalization.LinearStudentTheory(p["alpha"], sigma_w=1.0, sigma_eps=2.0 ** (-p["log2_snr"] / 2))


def generalization(n_networks: int = 4) -> View:
    """Train and test error of a linear student over training time (Advani & Saxe 2017)."""
    controls = {
        "alpha": _slider("alpha = P / N, samples per weight", 0.1, 4.0, 0.7, 0.05),
        "log2_snr": _slider("log2 SNR, signal-to-noise of the labels", -2.0, 6.0, 2.0, 0.5),
        "N": _slider("N, input dimension (trained students)", 50, 400, 100, 50),
    }
    sources = {"theory_test": _empty("t", "err"), "theory_train": _empty("t", "err"),
               "sim_test": _empty("t", "err"), "sim_train": _empty("t", "err")}
    p1 = make_figure("Generalisation: train vs test error", "time t / tau  (= lr x steps)", "error",
                     x_axis_type="log", y_axis_type="log", width=700)
    p1.line("t", "err", source=sources["theory_test"], color=PALETTE[0], line_width=3, legend_label="test, theory")
    p1.line("t", "err", source=sources["theory_train"], color=PALETTE[1], line_width=3, line_dash="dashed",
            legend_label="train, theory")
    p1.scatter("t", "err", source=sources["sim_test"], color=PALETTE[0], fill_color="white", size=8, line_width=2,
               legend_label="test, trained students")
    p1.scatter("t", "err", source=sources["sim_train"], color=PALETTE[1], marker="square", fill_color="white",
               size=7, line_width=2, legend_label="train, trained students")
    stop = Span(location=1.0, dimension="height", line_color="grey", line_dash="dotted", line_width=2)
    p1.add_layout(stop)
    style_legend(p1, "bottom_left")

    def theory(p):
        th = generalization_theory(p)
        t_stop = th.optimal_stopping_time()
        stop.visible = bool(np.isfinite(t_stop) and t_stop > 0)
        if stop.visible:
            stop.location = float(t_stop)
        return {"theory_test": {"t": GEN_T, "err": th.test_error(GEN_T)},
                "theory_train": {"t": GEN_T, "err": th.train_error(GEN_T)}}

    def info(p):
        th = generalization_theory(p)
        t_stop = th.optimal_stopping_time()
        stop_txt = f"{t_stop:.3g} (dotted line)" if np.isfinite(t_stop) and t_stop > 0 else "none (train on)"
        return (f"SNR = {th.snr:.3g}, noise sigma_eps = {th.sigma_eps:.3g}<br>optimal stopping time: {stop_txt}"
                f"<br>test error at t = {GEN_T[-1]:g}: {float(th.test_error(GEN_T[-1])):.3g}")

    def train(p, report):
        th = generalization_theory(p)
        N = int(p["N"])
        P = max(int(round(p["alpha"] * N)), 1)
        report(0, n_networks)
        d = sim_generalization.sample_data(N, P, n_networks, sigma_w=1.0, sigma_eps=th.sigma_eps, seed=0)
        lr = 0.5 * sim_generalization.stable_lr(d)
        steps = _check_steps(int(np.ceil(GEN_T[-1] / lr)), "this run")
        run = sim_generalization.train_linear(d, lr=lr, steps=steps, record=25, log=True,
                                              desc="explorer: linear students")  # one batched run
        report(n_networks, n_networks)
        keep = run.times >= GEN_T[0]  # t = 0 has no place on the log axis
        return {"sim_test": {"t": run.times[keep], "err": run.state["generalization_error"][:, keep].mean(axis=0)},
                "sim_train": {"t": run.times[keep], "err": run.losses[:, keep].mean(axis=0)}}

    return View("generalization", "Teacher-student generalisation: when to stop training",
                "A linear student learns from P = alpha N noisy examples of a linear teacher by gradient "
                "descent. The training error falls for ever; the test error falls, then rises as the student "
                "fits the noise in its weakest directions, most of all near alpha = 1 (Advani &amp; Saxe 2017; "
                "Krogh &amp; Hertz 1992). Lines: the N to infinity theory; the button trains students at "
                "finite N, each on its own data set (markers: their mean).",
                controls, sources, [p1], theory, train, info=info, n_networks=n_networks)


# =============================================================================== 4. committee machines
#: looser than the package's default tolerance (ODE_RTOL): a plot needs 1e-4, a slider needs speed
COMMITTEE_RTOL, COMMITTEE_ATOL = 1e-5, 1e-8


@functools.lru_cache(maxsize=64)
def _committee_start(K: int, M: int, N: int, seed: int = 0):
    """(Q0, R0) of one random student (entries N(0, 1)) and an orthonormal teacher (T = I) at input dimension N."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, N))
    W_star = np.sqrt(N) * np.linalg.qr(rng.standard_normal((N, M)))[0].T
    Q0, R0, _ = th_committee.order_parameters(W, W_star)
    return Q0, R0


@functools.lru_cache(maxsize=256)
def _committee_curve(K: int, M: int, lr: float, noise: float, N: int, alpha_max: float):
    # CommitteeGrid with one member: the batched Dormand-Prince integrator, about 3x faster here than
    # CommitteeODE's DOP853 at the same tolerance (the same right-hand side); it checks K, M, lr, noise
    grid = th_committee_grid.CommitteeGrid(K, M, lr, noise=noise)
    Q0, R0 = _committee_start(K, M, N)
    alpha = np.linspace(0.0, alpha_max, 81)
    traj = grid.integrate(alpha, Q0, R0, rtol=COMMITTEE_RTOL, atol=COMMITTEE_ATOL)
    if traj.diverged[0]:
        raise FloatingPointError(f"the order parameters blow up at lr = {lr:g}: above the stable range "
                                 f"for K = {K}, M = {M}; lower the learning rate")
    return alpha, traj.eps_g[0]


@functools.lru_cache(maxsize=8)
def _committee_stable_lr(K: int) -> float:
    return th_committee.stable_lr(K)


def committee_theory(p: dict):
    """(alpha, eps_g) of the ODE for the controls of :func:`committee` (cached per parameter set)."""
    return _committee_curve(int(p["K"]), int(p["M"]), round(float(p["lr"]), 6), round(float(p["noise"]), 6),
                            int(p["N"]), float(p["alpha_max"]))


def committee(n_networks: int = 3) -> View:
    """Generalisation error of online SGD in a soft committee machine: the plateau (Saad & Solla 1995)."""
    controls = {
        "K": _slider("K, student hidden units", 1, 5, 2, 1),
        "M": _slider("M, teacher hidden units", 1, 5, 2, 1),
        "lr": _slider("learning rate lr", 0.1, 3.0, 1.0, 0.1),
        "noise": _slider("output noise sigma", 0.0, 1.0, 0.0, 0.05),
        "N": _slider("N, input dimension (asymmetry ~ 1/sqrt N)", 100, 1000, 300, 100),
        "alpha_max": _slider("training time alpha_max = steps / N", 20, 300, 100, 10),
    }
    sources = {"theory": _empty("alpha", "eps"), "sim": _empty("alpha", "eps"), "sim_ode": _empty("alpha", "eps")}
    p1 = make_figure("Online SGD: the plateau and its escape", "alpha = steps / N", "generalisation error eps_g",
                     y_axis_type="log", width=700)
    p1.line("alpha", "eps", source=sources["theory"], color="black", line_width=3,
            legend_label="ODE (N to infinity) from one random start at this N")
    p1.line("alpha", "eps", source=sources["sim_ode"], color=PALETTE[3], line_width=2, line_dash="dashed",
            legend_label="ODE from the trained students' own starts (mean)")
    p1.scatter("alpha", "eps", source=sources["sim"], color=PALETTE[3], fill_color="white", size=8, line_width=2,
               legend_label="online SGD, trained students (mean)")
    style_legend(p1, "bottom_left")

    def theory(p):
        alpha, eps = committee_theory(p)
        return {"theory": {"alpha": alpha, "eps": eps}}

    def info(p):
        txt = f"{int(round(p['alpha_max'] * p['N']))} SGD steps per student"
        if int(p["K"]) == int(p["M"]):
            txt = f"stable lr (K = M, erf) = {_committee_stable_lr(int(p['K'])):.3g}<br>" + txt
        return txt

    def train(p, report):
        K, M, N, lr, noise = int(p["K"]), int(p["M"]), int(p["N"]), float(p["lr"]), float(p["noise"])
        alpha_max = float(p["alpha_max"])
        steps = int(round(alpha_max * N))
        record = np.unique(np.linspace(0, steps, 31).astype(int))
        report(0, n_networks)
        # one batched run: E students cost about what one does (the progress text counts the seconds)
        run = sim_committee.train(N, K, M, lr, alpha_max, n_networks=n_networks, noise=noise, init_scale=1.0,
                                  record=record, n_test=500, seed=0, progress_bar=False)
        report(n_networks, n_networks)
        # the ODE from each student's own initial overlaps (orthonormal teachers: T = I, v* = 1)
        traj = th_committee_grid.CommitteeGrid(np.full(n_networks, K), M, lr, noise=noise).integrate(
            run.times, list(run.extras["Q0"]), list(run.extras["R0"]), list(run.extras["v0"]),
            rtol=COMMITTEE_RTOL, atol=COMMITTEE_ATOL)
        return {"sim": {"alpha": run.times, "eps": run.losses.mean(axis=0)},
                "sim_ode": {"alpha": run.times, "eps": traj.eps_g.mean(axis=0)}}

    return View("committee", "Committee machines: the plateau of online learning",
                "A two-layer student with K hidden units learns a teacher with M hidden units by online SGD, "
                "one new example per step. Its generalisation error follows ordinary differential equations "
                "for a few overlaps (Saad &amp; Solla 1995; Goldt et al. 2019): first a fast drop, then a long "
                "plateau where the hidden units are still interchangeable, then an escape once they specialise. "
                "The plateau lasts longer for larger N (a weaker initial asymmetry) and shorter for larger lr; "
                "noise raises the final error. The sliders recompute the ODE when released.",
                controls, sources, [p1], theory, train, info=info, n_networks=n_networks,
                throttled=tuple(controls))


# =============================================================================== 5. continual learning
CONT_N, CONT_T, CONT_LR = 3, 15.0, 0.02
SCHEDULES = ("A, then B (blocked)", "A and B interleaved")


def continual_setup(p: dict, seed: int = 0):
    """(tasks, schedule, (W1_0, W2_0)) for the controls of :func:`continual` and one initial network.

    The tasks are ``item_tasks``: task k maps one input direction v_k (one item) to s_k u_k, the angles
    between v_A and v_B and between u_A and u_B set by the sliders. Their inputs are not whitened, so
    ``Curriculum`` integrates the exact gradient flow numerically (float64, rtol 1e-10)."""
    tasks = th_continual.item_tasks(CONT_N, CONT_N, 1.0, float(p["ratio"]), np.deg2rad(p["theta_u"]),
                                    np.deg2rad(p["theta_v"]))
    if int(p["schedule"]) == 0:
        schedule = th_continual.blocked("A", "B", CONT_T, CONT_T)
    else:
        schedule = [(("A", "B"), 2 * CONT_T)]
    W = th_lambda_balanced.lambda_balanced_init(CONT_N, CONT_N, CONT_N, 0.0, 10.0 ** p["log10_scale"], seed=seed)
    return tasks, schedule, W


CONT_TIMES = np.linspace(0.0, 2 * CONT_T, 81)
CONT_KEYS = ("theta_v", "theta_u", "ratio", "log10_scale", "schedule")


@functools.lru_cache(maxsize=128)
def _continual_losses(values: tuple, seed: int):
    p = dict(zip(CONT_KEYS, values))
    tasks, schedule, (W1, W2) = continual_setup(p, seed)
    cur = th_continual.Curriculum(tasks, schedule, W1, W2)
    maps = cur.map(CONT_TIMES)  # one integration for both tasks' losses
    return cur.loss_of_map(maps, "A"), cur.loss_of_map(maps, "B")


def continual_losses(p: dict, seed: int = 0):
    """Exact losses of tasks A and B at :data:`CONT_TIMES` (``Curriculum``) from the initial network ``seed``
    (cached per parameter set)."""
    return _continual_losses(tuple(float(p[k]) for k in CONT_KEYS), seed)


def continual(n_networks: int = 3) -> View:
    """Forgetting of task A while task B is learned, against the angle between the tasks."""
    controls = {
        "theta_v": _slider("input angle between the tasks (degrees)", 0, 180, 60, 5),
        "theta_u": _slider("output angle between the tasks (degrees)", 0, 180, 90, 5),
        "ratio": _slider("s_B / s_A, strength of task B vs A", 0.25, 3.0, 1.0, 0.25),
        "log10_scale": _slider("log10 initial weight scale", -3.0, -0.5, -1.0, 0.25),
        "schedule": RadioButtonGroup(labels=list(SCHEDULES), active=0, width=320),
    }
    sources = {"theory_A": _empty("t", "loss"), "theory_B": _empty("t", "loss"), "sim_A": _empty("t", "loss"),
               "sim_B": _empty("t", "loss"), "sim_theory_A": _empty("t", "loss"),
               "sim_theory_B": _empty("t", "loss")}
    p1 = make_figure("Two tasks: learning B interferes with A", "time t / tau  (= lr x steps)", "loss of each task",
                     width=620)
    for key, col in (("A", PALETTE[0]), ("B", PALETTE[1])):
        p1.line("t", "loss", source=sources[f"theory_{key}"], color=col, line_width=3,
                legend_label=f"task {key}, theory")
        p1.line("t", "loss", source=sources[f"sim_theory_{key}"], color=col, line_width=2, line_dash="dashed",
                legend_label=f"task {key}, theory, trained starts")
        p1.scatter("t", "loss", source=sources[f"sim_{key}"], color=col, fill_color="white", size=8, line_width=2,
                   legend_label=f"task {key}, trained")
    switch = Span(location=CONT_T, dimension="height", line_color="grey", line_dash="dotted", line_width=2)
    p1.add_layout(switch)
    style_legend(p1, "right")

    def theory(p):
        LA, LB = continual_losses(p)
        switch.visible = int(p["schedule"]) == 0
        return {"theory_A": {"t": CONT_TIMES, "loss": LA}, "theory_B": {"t": CONT_TIMES, "loss": LB}}

    def info(p):
        LA, LB = continual_losses(p)
        if int(p["schedule"]) != 0:
            return (f"interleaved: both tasks trained together<br>final losses: A {LA[-1]:.3g}, B {LB[-1]:.3g}")
        k = int(np.searchsorted(CONT_TIMES, CONT_T))
        return (f"switch to B at t = {CONT_T:g} (dotted)<br>forgetting of A: <b>{LA[-1] - LA[k]:.3g}</b> "
                "(loss of A at the end minus at the switch)")

    def train(p, report):
        steps = int(round(2 * CONT_T / CONT_LR))
        record = np.unique(np.linspace(0, steps, 31).astype(int))
        setups = [continual_setup(p, seed=e) for e in range(n_networks)]
        tasks, schedule = setups[0][0], setups[0][1]
        W1 = np.stack([w[0] for _, _, w in setups])
        W2 = np.stack([w[1] for _, _, w in setups])
        report(0, n_networks)
        run = sim_continual.train_curriculum(tasks, schedule, W1, W2, lr=CONT_LR, record=record,
                                             progress_bar=False)  # one batched run of the ensemble
        report(n_networks, n_networks)
        exact = [continual_losses(p, seed=e) for e in range(n_networks)]  # from each network's own start
        t = run.times
        return {"sim_A": {"t": t, "loss": run.losses[:, :, 0].mean(axis=0)},
                "sim_B": {"t": t, "loss": run.losses[:, :, 1].mean(axis=0)},
                "sim_theory_A": {"t": CONT_TIMES, "loss": np.mean([A for A, _ in exact], axis=0)},
                "sim_theory_B": {"t": CONT_TIMES, "loss": np.mean([B for _, B in exact], axis=0)}}

    return View("continual", "Continual learning: forgetting depends on how the tasks overlap",
                "A two-layer linear network learns task A, then task B (or both interleaved). Each task maps "
                "one input pattern (an item) to one output pattern; the sliders set the angles between the two "
                "items and between the two outputs. The exact gradient-flow losses (lines) show how much "
                "learning B undoes A: nothing when the tasks agree, little when the inputs are orthogonal (not "
                "zero: the tasks share the network's readout), most when the inputs overlap and the outputs "
                "disagree. Interleaving learns both where that is possible. The button trains networks by "
                "gradient descent through the same curriculum.",
                controls, sources, [p1], theory, train, info=info, n_networks=n_networks)


#: name -> (title for the tab, builder), in the order of the tabs
VIEWS = {
    "deep_linear": ("Deep linear modes", deep_linear),
    "semantic": ("Semantic development", semantic),
    "generalization": ("Teacher-student generalisation", generalization),
    "committee": ("Committee machines", committee),
    "continual": ("Continual learning", continual),
}
