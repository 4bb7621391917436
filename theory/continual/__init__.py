r"""Continual learning in linear networks: exact dynamics through a curriculum of tasks.

**Model.** A two-layer linear network ``yhat = W2 W1 x`` (``W1`` (N_h, N_in), ``W2``
(N_out, N_h)) or a shallow one ``yhat = W x`` is trained by gradient flow
``tau dW/dt = -dL/dW`` (docs: Conventions, "Loss and time") on a *curriculum*: a list of phases
``(task, duration)``. A task is a data set ``(X, Y)`` (columns are samples) with loss
``L_k = (1/2P_k) sum_mu ||y_mu - yhat_mu||^2``; a phase may name a tuple of tasks,
their *interleaved mixture*, trained full batch on ``L = mean_k L_k`` (equal weights
per task, whatever their sample counts). The dynamics depend on the data only through
``Sxx = mean_k X_k X_k^T/P_k`` and ``Syx = mean_k Y_k X_k^T/P_k`` of the phase:

.. math::

    \tau \dot W_1 = W_2^\top (\Sigma^{yx} - W_2 W_1 \Sigma^{xx}), \qquad
    \tau \dot W_2 = (\Sigma^{yx} - W_2 W_1 \Sigma^{xx}) W_1^\top .

**Conserved quantity across switches.** ``B = W2^T W2 - W1 W1^T`` is conserved by
gradient flow on *any* data (:func:`idealnets.theory.lambda_balanced.balancedness`), hence
through every switch of task: a lambda-balanced network stays lambda-balanced for
the whole curriculum, with the same lambda. This is what makes chaining exact.

**Where chaining the closed form is exact (ours, from the equations above).** The
closed form :class:`idealnets.theory.lambda_balanced.TwoLayerExact` (Fukumizu 1998; Braun et al.
2022; Dominé et al. 2025) needs whitened input. A phase whose input correlation is
*isotropic*, ``Sxx = c I`` with ``c > 0`` (whitened tasks, ``c = 1``; the
interleaved mixture of whitened tasks; one-hot items presented all together,
``c = 1/P``), reduces to it exactly: with ``s = c t`` the ODE above becomes the
whitened one with target ``Syx / c``. So a phase is solved in closed form when (i)
its ``Sxx`` is isotropic to ``ISOTROPY_RTOL`` and (ii) the weights are
lambda-balanced (``B = lambda I``, true for the whole curriculum if at the start).
The phase restarts :class:`TwoLayerExact` from the factor ``Q = [W1^T; W2]`` reached
at the switch (:meth:`TwoLayerExact.from_factor`); the trajectory depends on ``Q``
only through ``Q Q^T``, so the hidden-layer rotation left free by the closed form
does not matter.

**Where it is not.** A phase whose inputs are not isotropic -- a task on a subspace
of the inputs, e.g. a *single new item* (``Sxx = x x^T``), or the old items without the
new one -- has no closed form here: the weight columns outside ``range(Sxx)`` are
frozen while ``W2`` keeps moving, and the pair restricted to ``range(Sxx)`` is no
longer lambda-balanced. Such phases (and every phase when the initial weights are
not lambda-balanced) are integrated numerically in float64
(:func:`idealnets.theory.deep_linear.integrate_gradient_flow`, DOP853, rtol 1e-10). The
attribute :attr:`Curriculum.methods` says which is used for each phase. The
shallow network (:class:`ShallowCurriculum`) is linear in ``W`` and has a closed
form for every phase and every ``Sxx`` (eigendecomposition of ``Sxx``).

**Limits (tests/test_continual.py).** Identical tasks -> no forgetting; tasks on
orthogonal inputs in a shallow network -> no interference, exactly (the gradient of
task B never touches ``W v_A``), while a two-layer network interferes through its shared
readout ``W2`` unless the outputs are orthogonal too; alternating blocks of length
``tau_b`` -> the interleaved mixture as ``tau_b -> 0``, with an error ``O(tau_b)``
(Lie-Trotter splitting of the two flows: ``e^{tau_b A} e^{tau_b B} = e^{tau_b (A+B)} + O(tau_b^2)``
per cycle, ``1/tau_b`` cycles); sequential regression to convergence is a chain of
projections (Evron et al. 2022).

**Modules** (one per model; every name is also importable from this package):

* :mod:`~idealnets.theory.continual.schedules` -- tasks, schedules, interleaved mixtures, and
  :class:`CurriculumBase`, the part the curricula share;
* :mod:`~idealnets.theory.continual.curricula` -- :class:`ShallowCurriculum`, :class:`Curriculum`,
  interference measures, two-task builders;
* :mod:`~idealnets.theory.continual.sequential` -- sequential regression (:func:`sequential_regression`,
  Evron et al. 2022);
* :mod:`~idealnets.theory.continual.schemas` -- schema-consistent vs inconsistent new items in the
  living-things environment (:func:`new_item_tasks`);
* :mod:`~idealnets.theory.continual.two_teachers` -- teacher-student continual learning with two teachers
  and two heads (:class:`TwoTeacherODE`, a reduction to the committee ODE of
  :mod:`idealnets.theory.committee`);
* :mod:`~idealnets.theory.continual.many_teachers` -- any number of teachers under a
  :class:`TaskSchedule` (blocks, periodic switching, switching at an error threshold, replay as a
  mixture of the tasks' drifts), shared or per-task heads (:class:`MultiTeacherODE`);
* :mod:`~idealnets.theory.continual.gating` -- context-dependent gating (:class:`GatedCurriculum`).
"""
from __future__ import annotations

from . import curricula, gating, many_teachers, schedules, schemas, sequential, two_teachers
from .curricula import (
    ISOTROPY_RTOL,
    Curriculum,
    ShallowCurriculum,
    forgetting,
    interference,
    item_tasks,
    shallow_item_forgetting,
    whitened_pair,
)
from .gating import GatedCurriculum, overlapping_gates
from .schedules import (
    CurriculumBase,
    alternating,
    blocked,
    check_schedule,
    check_tasks,
    mixture_correlations,
    task_key,
)
from .schemas import FEATURES_NEW_ITEM, crossing_time, new_item_tasks, out_of_span_fraction
from .sequential import (
    check_regression_tasks,
    check_task_order,
    cyclic_order,
    random_order,
    regression_loss,
    sequential_forgetting,
    sequential_regression,
)
from .two_teachers import TwoTeacherODE, TwoTeacherTrajectory, teacher_pair
from .many_teachers import MultiTeacherODE, MultiTeacherTrajectory, TaskSchedule, teacher_family

__all__ = [
    # curricula
    "Curriculum",
    "ShallowCurriculum",
    "ISOTROPY_RTOL",
    "forgetting",
    "interference",
    "item_tasks",
    "whitened_pair",
    "shallow_item_forgetting",
    # tasks and schedules
    "CurriculumBase",
    "check_tasks",
    "check_schedule",
    "task_key",
    "mixture_correlations",
    "blocked",
    "alternating",
    # sequential regression
    "check_regression_tasks",
    "check_task_order",
    "sequential_regression",
    "regression_loss",
    "sequential_forgetting",
    "cyclic_order",
    "random_order",
    # schemas
    "new_item_tasks",
    "FEATURES_NEW_ITEM",
    "crossing_time",
    "out_of_span_fraction",
    # two teachers
    "teacher_pair",
    "TwoTeacherODE",
    "TwoTeacherTrajectory",
    # many teachers, schedules and replay
    "MultiTeacherODE",
    "MultiTeacherTrajectory",
    "TaskSchedule",
    "teacher_family",
    # gating
    "GatedCurriculum",
    "overlapping_gates",
]

# Former private names, still imported by idealnets.simulate.continual; use the public ones above.
_parse_tasks = check_tasks
_parse_schedule = check_schedule
_check_regression = check_regression_tasks
_check_order = check_task_order
