"""Batched PyTorch ensembles that check the theory (never imports matplotlib).

Every trainer is a model on one training engine (:mod:`idealnets.simulate.engine`:
``init`` / ``step`` / ``observe``) and returns the one result type :class:`Run`.
"""
from . import (
    engine,
    committee,
    continual,
    deep_linear,
    feedback_alignment,
    generalization,
    ntk,
    perturbation,
    random_features,
    recurrent,
    semantic,
)
from .continual import train_curriculum, train_sequential_regression, train_shallow_curriculum, train_two_teachers
from .feedback_alignment import train_linear as train_linear_fa
from .perturbation import PerturbationRun, train_perturbation
from .random_features import RandomFeaturesRun, train_random_features
from .recurrent import RNNRun
from .recurrent import train as train_rnn
from .engine import Run, run
from ._common import DivergenceError, DivergenceMonitor, configure_threads, resolve_device, resolve_dtype
from .committee import CommitteeRun
from .deep_linear import EnsembleRun, init_weights, pretrain_layerwise, stable_lr, train, train_from
from .generalization import (
    GeneralizationRun,
    TeacherStudentData,
    sample_data,
    train_deep_linear,
    train_linear,
    train_relu,
)
from .ntk import MLP, NTKRun, empirical_kernels, init_mlp
from .ntk import train as train_ntk
from .semantic import MLPRun, train_mlp

__all__ = [
    # the training engine and its result type
    "engine",
    "Run",
    "run",
    "continual",
    "feedback_alignment",
    "perturbation",
    "random_features",
    "recurrent",
    # continual learning (simulate.continual)
    "train_curriculum",
    "train_sequential_regression",
    "train_shallow_curriculum",
    "train_two_teachers",
    # learning rules (simulate.feedback_alignment, simulate.perturbation)
    "train_linear_fa",
    "PerturbationRun",
    "train_perturbation",
    # random features (simulate.random_features)
    "RandomFeaturesRun",
    "train_random_features",
    # recurrent networks (simulate.recurrent.train)
    "RNNRun",
    "train_rnn",
    "DivergenceError",
    "DivergenceMonitor",
    "configure_threads",
    "resolve_device",
    "resolve_dtype",
    "committee",
    "deep_linear",
    "generalization",
    "ntk",
    "semantic",
    # online SGD in committee machines (simulate.committee.train / train_from)
    "CommitteeRun",
    # deep linear networks
    "EnsembleRun",
    "init_weights",
    "pretrain_layerwise",
    "stable_lr",
    "train",
    "train_from",
    # semantic development
    "MLPRun",
    "train_mlp",
    # infinite width
    "MLP",
    "NTKRun",
    "empirical_kernels",
    "init_mlp",
    "train_ntk",
    # teacher-student generalisation
    "GeneralizationRun",
    "TeacherStudentData",
    "sample_data",
    "train_deep_linear",
    "train_linear",
    "train_relu",
]
