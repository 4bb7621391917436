"""The live explorer's logic (``python -m idealnets.explore``), without a browser or a server.

For every view: its document builds; moving a control recomputes the theory source, finite and equal
to the package's theory for those parameters (called here directly); the train button, run
synchronously at a tiny size, fills the simulation sources near the theory; a refused parameter shows
its message in the view's error text. The real-browser test is tests/browser/test_explore_browser.py
(``make test-browser``).
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("bokeh", reason="the explorer needs bokeh (the 'test' extra installs it)")

from bokeh.document import Document  # noqa: E402

from idealnets.explore import VIEWS, make_document  # noqa: E402
from idealnets.explore import views as ev  # noqa: E402
from idealnets.theory import CommitteeODE, DeepLinearTheory  # noqa: E402
from idealnets.theory.continual import Curriculum  # noqa: E402
from idealnets.theory.datasets import hierarchical_data  # noqa: E402
from idealnets.theory.generalization import LinearStudentTheory  # noqa: E402
from idealnets.theory.semantic import SemanticTheory  # noqa: E402


def _col(view, key, col):
    return np.asarray(view.sources[key].data[col], dtype=float)


def test_every_view_builds_into_one_document_with_unique_names():
    doc = Document()
    views = make_document(doc)
    assert [v.name for v in views] == list(VIEWS) and len(VIEWS) >= 4
    names = [m.name for m in doc.models if m.name]
    assert len(names) == len(set(names)), "model names must be unique across the views"
    for v in views:
        assert not v.error.text, (v.name, v.error.text)
        assert doc.get_model_by_name(f"{v.name}-train") is v.button
        theory_keys = [k for k in v.sources if not k.startswith("sim")]
        for k in theory_keys:
            cols = v.sources[k].data
            assert any(len(c) for c in cols.values()), (v.name, k)


def test_deep_linear_slider_moves_the_theory():
    v = ev.deep_linear(n_networks=1)
    before = _col(v, "theory0", "u").copy()
    v.set("depth", 3)
    v.set("s2", 1.5)
    t, u = _col(v, "theory0", "t"), _col(v, "theory0", "u")
    assert not v.error.text and np.all(np.isfinite(u)) and not np.array_equal(u, before[:u.size])
    X, Y = ev.deep_linear_task([3.0, 1.5, 1.0])
    th = DeepLinearTheory(X, Y, depth=3, u0=1e-3)
    np.testing.assert_allclose(th.s, [3.0, 1.5, 1.0], rtol=1e-12)
    np.testing.assert_allclose(u, th.mode_strengths(t)[:, 0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_col(v, "theory_loss", "loss"), th.loss(t), rtol=1e-12, atol=1e-15)
    assert u[-1] > 0.95 * 3.0  # the time axis covers learning of every mode


def test_deep_linear_button_trains_near_the_theory_and_refusals_are_shown():
    v = ev.deep_linear(n_networks=2)
    v.train_now()
    assert not v.error.text and v.progress.text.startswith("Training finished")
    assert not v.button.disabled and not v.busy
    t, u = _col(v, "sim0", "t"), _col(v, "sim0", "u")
    assert t.size > 10 and np.all(np.isfinite(u))
    th, _ = ev.deep_linear_theory(v.params())
    # gradient descent at lr = 0.01 against gradient flow: an O(lr) gap
    assert np.max(np.abs(u - th.mode_strengths(t)[:, 0])) < 0.1 * 3.0
    # a new parameter value clears the stale ensemble
    v.set("log10_u0", -2.0)
    assert len(v.sources["sim0"].data["t"]) == 0
    v.set("lr", 0.6)
    assert "above it" in v.info.text  # the stable learning rate is stated
    # a run too long for a button press is refused with the reason
    v.set("depth", 6)
    v.set("log10_u0", -6.0)
    v.set("lr", 0.005)
    v.train_now()
    assert "Training refused" in v.error.text and "steps" in v.error.text and not v.button.disabled
    # a refused theory parameter: the message, and no stale curve
    v.set("depth", 0)
    assert "depth" in v.error.text and len(v.sources["theory0"].data["u"]) == 0
    v.set("depth", 2)
    assert not v.error.text and len(v.sources["theory0"].data["u"]) > 0


def test_semantic_slider_and_button():
    v = ev.semantic(n_networks=1)
    v.set("log10_u0", -4.0)
    v.set("snapshot", 0.5)
    th = SemanticTheory(hierarchical_data((2, 2, 2), ev.N_FEATURES, 0.1, seed=0).Y, depth=2, u0=1e-4)
    d = v.sources["theory"].data
    t = np.asarray(d["xs"][0])
    np.testing.assert_allclose(np.stack(d["ys"], axis=1), th.mode_strengths(t), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(v.sources["rsa"].data["image"][0], th.similarity(0.5 * t[-1]), rtol=1e-12,
                               atol=1e-12)
    assert "level" in d["level"][1]
    v.train_now()
    sim = v.sources["sim"].data
    t_sim, u_sim = np.asarray(sim["t"]), np.asarray(sim["u"])
    R = np.unique(t_sim).size
    u_th = th.mode_strengths(np.unique(t_sim))  # the markers are (time, mode) in time-major order
    assert np.max(np.abs(u_sim.reshape(R, -1) - u_th)) < 0.05 * th.u_final[0]
    v.set("snapshot", 0.8)  # only what is shown changes: the ensemble stays
    assert len(v.sources["sim"].data["u"]) == u_sim.size
    v.set("flip_prob", 0.6)  # outside [0, 0.5]: refused by hierarchical_data
    assert "flip_prob" in v.error.text


def test_generalization_slider_and_button():
    v = ev.generalization(n_networks=2)
    v.set("alpha", 2.0)
    v.set("log2_snr", 4.0)
    th = LinearStudentTheory(2.0, sigma_w=1.0, sigma_eps=0.25)
    np.testing.assert_allclose(_col(v, "theory_test", "err"), th.test_error(ev.GEN_T), rtol=1e-12)
    np.testing.assert_allclose(_col(v, "theory_train", "err"), th.train_error(ev.GEN_T), rtol=1e-12)
    v.set("N", 100)
    v.train_now()
    t, te = _col(v, "sim_test", "t"), _col(v, "sim_test", "err")
    assert t.size > 10 and np.all(np.isfinite(te))
    # two students at N = 100 against N -> infinity: within the O(sqrt(2/N)) spread, loosely
    assert np.median(np.abs(te / th.test_error(t) - 1)) < 0.15
    v.set("alpha", 0.0)
    assert "alpha" in v.error.text


def test_committee_slider_and_button():
    v = ev.committee(n_networks=2)
    v.set("N", 100)
    v.set("alpha_max", 30)
    v.set("lr", 1.5)
    alpha, eps = _col(v, "theory", "alpha"), _col(v, "theory", "eps")
    assert not v.error.text and np.all(np.isfinite(eps))
    Q0, R0 = ev._committee_start(2, 2, 100)
    ref = CommitteeODE(2, 2, 1.5).integrate(Q0, R0, alpha_eval=alpha, rtol=1e-6, atol=1e-9).eps_g
    np.testing.assert_allclose(eps, ref, rtol=2e-3, atol=1e-5)
    v.train_now()
    sim, ode = _col(v, "sim", "eps"), _col(v, "sim_ode", "eps")
    assert sim.size > 10 and np.all(np.isfinite(sim)) and not v.error.text
    # online SGD at N = 100 against the ODE from the same starts: finite-N noise, loosely
    assert np.median(np.abs(np.log(sim[1:] / ode[1:]))) < 0.5
    v.set("K", 0)
    assert "K" in v.error.text


def test_continual_slider_and_button():
    v = ev.continual(n_networks=2)
    v.set("theta_v", 90)
    v.set("schedule", 1)
    p = v.params()
    tasks, schedule, (W1, W2) = ev.continual_setup(p)
    cur = Curriculum(tasks, schedule, W1, W2)
    np.testing.assert_allclose(_col(v, "theory_A", "loss"), cur.loss(ev.CONT_TIMES, "A"), rtol=1e-9, atol=1e-12)
    assert "interleaved" in v.info.text and "final losses" in v.info.text
    v.set("schedule", 0)
    assert "forgetting of A" in v.info.text
    v.train_now()
    t, la = _col(v, "sim_A", "t"), _col(v, "sim_A", "loss")
    exact = np.interp(t, ev.CONT_TIMES, _col(v, "sim_theory_A", "loss"))
    assert np.max(np.abs(la - exact)) < 0.05 * max(np.max(exact), 1e-3)  # GD at lr = 0.02 vs gradient flow
    v.set("ratio", -1.0)
    assert "s_b" in v.error.text
    # orthogonal inputs, same outputs: little forgetting; identical inputs, opposite outputs: the most
    v.set("ratio", 1.0)
    v.set("theta_u", 0)
    small = float(v.info.text.split("<b>")[1].split("</b>")[0])
    v.set("theta_v", 0)
    v.set("theta_u", 180)
    large = float(v.info.text.split("<b>")[1].split("</b>")[0])
    assert 0 <= small < 0.1 and large > 1.9
