"""Batched PyTorch ensembles that check the theory (never imports matplotlib)."""
from . import committee, deep_linear, generalization, ntk, semantic
from ._common import DivergenceError, resolve_device
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
    "DivergenceError",
    "resolve_device",
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
