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
