"""The one training engine: record steps, divergence, fused advance, the Run type and its old names."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch

from idealnets.simulate import DivergenceError, Run, engine


class Decay:
    """E scalar 'networks' w <- (1 - lr a) w, loss w^2/2: the exact solution is w0 (1 - lr a)^k."""

    name = "decay"

    def __init__(self, w0, a, lr):
        self.w0 = torch.as_tensor(w0, dtype=torch.float64)
        self.a, self.lr = torch.as_tensor(a, dtype=torch.float64), lr
        self.steps_taken = 0

    def init(self):
        return self.w0.clone()

    def step(self, w, k):
        self.steps_taken += 1
        return w - self.lr * self.a * w

    def observe(self, w):
        return {"loss": 0.5 * w * w, "w": w}


class FusedDecay(Decay):
    name = "fused decay"

    def __init__(self, *args):
        super().__init__(*args)
        self.calls = []

    def advance(self, w, start, n, tick):
        self.calls.append((start, n))
        tick(n)
        return w * (1 - self.lr * self.a) ** n


def test_run_records_exact_solution_at_record_steps():
    m = Decay([1.0, 2.0], [1.0, 0.5], 0.1)
    run = engine.run(m, steps=100, record=[0, 10, 50, 100], time_per_step=0.1, time_unit="t = lr * step")
    assert isinstance(run, Run)
    np.testing.assert_array_equal(run.steps, [0, 10, 50, 100])
    np.testing.assert_allclose(run.times, 0.1 * run.steps)
    expect = np.array([1.0, 2.0])[:, None] * (1 - 0.1 * np.array([1.0, 0.5]))[:, None] ** run.steps
    np.testing.assert_allclose(run.state["w"], expect, rtol=1e-12)
    np.testing.assert_allclose(run.losses, 0.5 * expect ** 2, rtol=1e-12)
    assert run.w is run.state["w"]  # recorded state reads as an attribute
    assert run.losses.shape == (2, 4) and run.n_networks == 2
    assert m.steps_taken == 100  # no step after the last record
    assert run.time_unit == "t = lr * step" and run.model == "decay"
    assert not run.diverged.any()


def test_advance_gets_whole_intervals_between_records():
    m = FusedDecay([1.0], [1.0], 0.01)
    run = engine.run(m, steps=1000, record=[0, 7, 300, 1000])
    assert m.calls == [(0, 7), (7, 293), (300, 700)]
    np.testing.assert_allclose(run.state["w"][0], 0.99 ** run.steps, rtol=1e-12)


def test_divergence_raises_naming_lr_and_limit():
    m = Decay([1.0, 1.0], [1.0, 1.0], 3.0)  # |1 - lr a| = 2: grows
    with pytest.raises(DivergenceError, match=r"lr=3.*stable limit is about 2"):
        engine.run(m, steps=200, record=50, lr=3.0, lr_max=2.0)


def test_divergence_flags_without_raising():
    m = Decay([1.0, 1.0], [0.5, 3.0], 1.0)  # network 1 diverges
    run = engine.run(m, steps=100, record=20, raise_on_divergence=False, lr=1.0)
    np.testing.assert_array_equal(run.diverged, [False, True])


def test_non_finite_start_is_blamed_on_inputs():
    m = Decay([np.nan], [1.0], 0.1)
    with pytest.raises(DivergenceError, match="before any update"):
        engine.run(m, steps=10, record=2)


def test_zero_steps_records_the_start():
    run = engine.run(Decay([1.0], [1.0], 0.1), steps=0, record=5)
    np.testing.assert_array_equal(run.steps, [0])
    assert run.losses.shape == (1, 1)


def test_old_names_warn_and_read_the_same_values():
    run = engine.run(Decay([1.0], [1.0], 0.1), steps=10, record=3, renamed={"alpha": "times", "eps_test": "losses"})
    with pytest.warns(DeprecationWarning, match="Run.alpha is deprecated; use Run.times"):
        assert run.alpha is run.times
    with pytest.warns(DeprecationWarning):
        assert run.eps_test is run.losses
    with pytest.raises(AttributeError, match="no field 'nonsense'.*times"):
        run.nonsense


def test_run_pickles_and_lists_its_fields():
    run = engine.run(Decay([1.0], [1.0], 0.1), steps=10, record=3, extras={"teacher": np.eye(2)})
    back = pickle.loads(pickle.dumps(run))
    np.testing.assert_array_equal(back.losses, run.losses)
    np.testing.assert_array_equal(back.teacher, np.eye(2))
    for name in ("times", "time_unit", "steps", "losses", "w", "teacher"):
        assert name in run.fields()


def test_threads_are_restored():
    before = torch.get_num_threads()
    engine.run(Decay([1.0], [1.0], 0.1), steps=10, record=3, n_threads=1)
    assert torch.get_num_threads() == before


def test_no_warning_on_a_clean_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine.run(Decay([1.0], [1.0], 0.1), steps=2000, record=10, progress_bar=False)


def test_context_resolves_device_dtype_and_seed():
    ctx = engine.context("cpu", "float32", seed=3)
    assert ctx.device.type == "cpu" and ctx.dtype == torch.float32
    a = torch.randn(3, generator=ctx.generator)
    b = torch.randn(3, generator=engine.context("cpu", "float32", seed=3).generator)
    assert torch.equal(a, b)
    assert engine.context("cpu", seed=None).generator is None
    with pytest.raises(ValueError, match="dtype"):
        engine.context("cpu", "float16")
