"""Closed-form learning dynamics (float64 NumPy/SciPy/SymPy; never imports torch).

One module per idea:

* :mod:`idealnets.theory.tasks` -- linear regression tasks: correlations, the quadratic loss,
  whitened tasks (shared by every linear-network theory).
* :mod:`idealnets.theory.measures` -- measures of sampled learning curves (crossing times).
* :mod:`idealnets.theory.deep_linear` -- Saxe, McClelland & Ganguli (2014): mode dynamics of deep
  linear networks, depth and initialisation.
* :mod:`idealnets.theory.symbolic` -- SymPy checks of the closed forms.
* :mod:`idealnets.theory.semantic`, :mod:`idealnets.theory.datasets` -- Saxe, McClelland & Ganguli (2019):
  semantic development.
* :mod:`idealnets.theory.lambda_balanced` -- Fukumizu (1998), Braun et al. (2022), Dominé et al. (2025):
  exact two-layer dynamics from lambda-balanced initialisation, lazy vs rich.
* :mod:`idealnets.theory.generalization` -- Advani & Saxe (2017), Krogh & Hertz (1992): teacher-student
  generalisation of linear students in the high-dimensional limit.
* :mod:`idealnets.theory.committee` -- Saad & Solla (1995), Goldt et al. (2019): order-parameter ODEs of
  online SGD in two-layer committee machines.
* :mod:`idealnets.theory.ntk` -- Jacot et al. (2018), Lee et al. (2019): NNGP/NTK kernels and the
  training dynamics of infinitely wide networks.
* :mod:`idealnets.theory.feedback_alignment` -- Lillicrap et al. (2016): feedback alignment in
  two-layer linear networks (conserved quantity, exact aligned modes, reachable maps).
* :mod:`idealnets.theory.perturbation` -- Werfel, Xie & Seung (2005): node and weight perturbation
  learning curves for linear students.
* :mod:`idealnets.theory.continual` -- catastrophic interference, interleaving, schemas, sequential
  regression (Evron et al. 2022), two-teacher ODEs (Lee, Goldt & Saxe 2021), gating.
* :mod:`idealnets.theory.recurrent` -- linear RNNs: BPTT/TBPTT/RTRL gradients and the mode theory of
  their learning dynamics (Proca et al. 2025).
* :mod:`idealnets.theory.spectra` -- the Marchenko-Pastur law and its quadrature (shared by the
  teacher-student theories).
* :mod:`idealnets.theory.random_features` -- random-features students (Mei & Montanari 2019; Goldt
  et al. 2020): test and training error at every gradient-flow time.
* :mod:`idealnets.theory.committee_grid` -- a whole grid of committee ODEs in one batched integration.
* :mod:`idealnets.theory.reward` -- temporal-difference learning with linear function approximation
  (exact mean recursion; Sutton 1988; Tsitsiklis & Van Roy 1997), the conditioning trial
  (Montague, Dayan & Sejnowski 1996; Schultz, Dayan & Montague 1997) and the RL perceptron ODEs (Patel, Lee, Sarao Mannelli, Goldt & Saxe 2025).
* :mod:`idealnets.theory.hebbian` -- Oja's subspace rule and Sanger's rule (Oja 1982, 1989;
  Sanger 1989; Yan, Helmke & Moore 1994), linear autoencoders.
* :mod:`idealnets.theory.energy_rules` -- equilibrium propagation (Scellier & Bengio 2017) and
  predictive coding (Whittington & Bogacz 2017) in deep linear networks.
* :mod:`idealnets.theory.attention` -- training dynamics of in-context learning in multi-head
  linear attention (Zhang, Singh, Latham & Saxe 2025).
* :mod:`idealnets.theory.hidden_manifold` -- online SGD of committee machines on hidden-manifold
  inputs (Goldt, Mezard, Krzakala & Zdeborova 2020).
* :mod:`idealnets.theory.validation` -- the shared input checks behind every public entry point.
"""
from . import (
    attention,
    committee,
    committee_grid,
    continual,
    deep_linear,
    feedback_alignment,
    generalization,
    lambda_balanced,
    measures,
    ntk,
    perturbation,
    random_features,
    recurrent,
    semantic,
    spectra,
    symbolic,
    tasks,
    validation,
    energy_rules,
    hebbian,
    hidden_manifold,
    reward,
)
from .attention import InContextTask, MergedKQTheory, SeparateKQTheory
from .energy_rules import EnergyRuleFlow
from .hebbian import LinearAutoencoderTheory, oja_flow, principal_subspace_error, sanger_flow
from .hidden_manifold import HiddenManifoldODE
from .reward import CueRewardTrial, RLPerceptronODE, TDLinear, cue_reward_trial
from .committee_grid import CommitteeGrid, GridTrajectory
from .measures import crossing_time
from .tasks import Correlations, correlations, quadratic_loss
from .continual import (
    Curriculum,
    GatedCurriculum,
    ShallowCurriculum,
    TwoTeacherODE,
    sequential_forgetting,
    sequential_regression,
)
from .feedback_alignment import (
    FeedbackAlignmentFlow,
    aligned_mode,
    fa_fixed_point_map,
    fa_invariant,
)
from .random_features import RandomFeaturesTheory, gaussian_equivalent_coefficients
from .recurrent import LinearRNNTheory, bptt_gradient, rtrl_gradient, tbptt_gradient
from .committee import (
    CommitteeODE,
    CommitteeTrajectory,
    asymptotic_error,
    asymptotic_error_small_lr,
    erf_integrals,
    generalisation_error,
    linear_perceptron_error,
    order_parameters,
    symmetric_plateau,
)
from .deep_linear import (
    integrate_gradient_flow,
    DeepLinearTheory,
    balancedness,
    depth_learning_rate,
    depth_learning_steps,
    effective_u0_two_layer,
    learning_time,
    mode_rate,
    mode_strength,
    orthogonal_eigen_trajectory,
    orthogonal_learning_time,
    orthogonal_learning_times,
    pretrained_learning_time,
    time_integral,
    u0_through,
)
from .generalization import (
    DeepLinearStudentTheory,
    FiniteSizeErrors,
    LinearStudentTheory,
    MarchenkoPastur,
    converged_test_error,
    finite_size_errors,
    marchenko_pastur,
)
from .lambda_balanced import (
    TwoLayerExact,
    free_scale,
    is_lambda_balanced,
    lambda_balanced_init,
    lazy_map,
    representation_change,
    whitened_task,
)
from .ntk import Kernels, expected_loss, gradient_descent_mse, gradient_flow_mean, kernels, max_learning_rate
from .validation import DivergenceError
from .semantic import (
    SemanticTheory,
    category_coherence,
    category_singular_value,
    crossing_times,
    effective_u0,
    hierarchical_data,
    hierarchy_spectrum,
    living_things,
    structure,
)

__all__ = [
    "DivergenceError",
    "attention",
    "energy_rules",
    "hebbian",
    "hidden_manifold",
    "reward",
    "InContextTask",
    "MergedKQTheory",
    "SeparateKQTheory",
    "EnergyRuleFlow",
    "LinearAutoencoderTheory",
    "oja_flow",
    "principal_subspace_error",
    "sanger_flow",
    "HiddenManifoldODE",
    "CueRewardTrial",
    "RLPerceptronODE",
    "TDLinear",
    "cue_reward_trial",
    "tasks",
    "measures",
    "Correlations",
    "correlations",
    "quadratic_loss",
    "crossing_time",
    "committee_grid",
    "continual",
    "feedback_alignment",
    "perturbation",
    "random_features",
    "recurrent",
    "spectra",
    "CommitteeGrid",
    "GridTrajectory",
    "Curriculum",
    "GatedCurriculum",
    "ShallowCurriculum",
    "TwoTeacherODE",
    "sequential_forgetting",
    "sequential_regression",
    "FeedbackAlignmentFlow",
    "aligned_mode",
    "fa_fixed_point_map",
    "fa_invariant",
    "RandomFeaturesTheory",
    "gaussian_equivalent_coefficients",
    "LinearRNNTheory",
    "bptt_gradient",
    "rtrl_gradient",
    "tbptt_gradient",
    "committee",
    "deep_linear",
    "generalization",
    "lambda_balanced",
    "ntk",
    "semantic",
    "validation",
    "symbolic",
    # deep linear networks
    "DeepLinearTheory",
    "integrate_gradient_flow",
    "balancedness",
    "depth_learning_rate",
    "depth_learning_steps",
    "effective_u0_two_layer",
    "learning_time",
    "mode_rate",
    "mode_strength",
    "orthogonal_eigen_trajectory",
    "orthogonal_learning_time",
    "orthogonal_learning_times",
    "pretrained_learning_time",
    "time_integral",
    "u0_through",
    # semantic development
    "SemanticTheory",
    "category_coherence",
    "category_singular_value",
    "crossing_times",
    "effective_u0",
    "hierarchical_data",
    "hierarchy_spectrum",
    "living_things",
    "structure",
    # exact dynamics from lambda-balanced initialisation
    "TwoLayerExact",
    "free_scale",
    "is_lambda_balanced",
    "lambda_balanced_init",
    "lazy_map",
    "representation_change",
    "whitened_task",
    # online SGD in committee machines (theory.committee.stable_lr: its stable limit)
    "CommitteeODE",
    "CommitteeTrajectory",
    "asymptotic_error",
    "asymptotic_error_small_lr",
    "erf_integrals",
    "generalisation_error",
    "linear_perceptron_error",
    "order_parameters",
    "symmetric_plateau",
    # infinite width
    "Kernels",
    "expected_loss",
    "gradient_descent_mse",
    "gradient_flow_mean",
    "kernels",
    "max_learning_rate",  # deprecated name of idealnets.theory.ntk.stable_lr (one stable_lr per model module)
    # teacher-student generalisation
    "DeepLinearStudentTheory",
    "FiniteSizeErrors",
    "LinearStudentTheory",
    "MarchenkoPastur",
    "converged_test_error",
    "finite_size_errors",
    "marchenko_pastur",
]
