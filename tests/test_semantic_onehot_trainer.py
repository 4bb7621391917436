"""The semantic figures' one-hot MLP trainer equals :func:`train_mlp` bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

from idealnets.figures.semantic import _shared as S
from idealnets.simulate.semantic import train_mlp
from idealnets.theory.datasets import one_hot
from idealnets.theory.semantic import living_things


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
@pytest.mark.parametrize("hidden", [(S.NH,), (S.NH, S.NH)])
def test_mlp_run_equals_train_mlp(activation, hidden):
    z = S.sizes(True)
    new = S.mlp_run.__wrapped__(activation, hidden, True, 3, 0.1, None)
    old = train_mlp(one_hot(8), living_things()[2], hidden=list(hidden), activation=activation, n_networks=z["E"],
                    init_scale=0.1, lr=z["lr"], steps=int(round(S.T_END / z["lr"])), record=z["record"], seed=3)
    assert np.array_equal(new.times, old.times) and np.array_equal(new.steps, old.steps)
    assert np.array_equal(new.losses, old.losses)
    assert new.state.keys() == old.state.keys()
    for key in old.state:
        assert np.array_equal(new.state[key], old.state[key]), key
    assert len(new.hidden) == len(old.hidden) == len(hidden)
    assert new.model == old.model and new.time_unit == old.time_unit


def test_hierarchy_train_in_span_equals_train():
    """semantic_hierarchy trains in the span of Y and W2(0): deep_linear.train's run, to rounding."""
    from idealnets.figures.semantic import semantic_hierarchy as H
    from idealnets.simulate.deep_linear import train
    from idealnets.theory.semantic import hierarchical_data

    Y = hierarchical_data((2, 2, 2), 200, 0.1, seed=1).Y
    P, nh, E, lr, steps = Y.shape[1], 16, 3, 0.02, 400
    old = train(np.eye(P), Y, 2, nh, E, "small", 0.02, lr, steps, record=30, log=False, seed=5)
    new, Q = H.train_in_span(Y, nh, E, 0.02, lr, steps, 30, None, 5)
    assert Q.shape == (E, Y.shape[0], P + nh) and new.maps.shape == (E, 30, P + nh, P)
    assert np.array_equal(new.times, old.times)
    full = np.einsum("emk,erki->ermi", Q, new.maps)
    assert np.max(np.abs(full - old.maps)) <= 1e-12 * np.max(np.abs(old.maps))
    # the loss tr(Syy)/2 - tr(M Syx^T) + tr(M M^T)/(2P) cancels to rounding of its first value
    np.testing.assert_allclose(new.losses, old.losses, rtol=0, atol=1e-12 * old.losses[:, 0].max())


def test_hierarchy_singular_values_equal_svd():
    from idealnets.figures.semantic import semantic_hierarchy as H
    from idealnets.theory.semantic import hierarchical_data

    Y = hierarchical_data((2, 2, 2, 2), 3000, 0.1, seed=2).Y / 16
    np.testing.assert_allclose(H.singular_values(Y), np.linalg.svd(Y, compute_uv=False), rtol=1e-12)
