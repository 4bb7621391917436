"""Batched PyTorch ensembles that check the theory (never imports matplotlib).

Every trainer is a model on one training engine (:mod:`idealnets.simulate.engine`:
``init`` / ``step`` / ``observe``) and returns the one result type :class:`Run`.

Trainers are reached by topic, one module each (``idealnets.simulate.committee.train``,
``idealnets.simulate.recurrent.train``, ...); the deep-linear trainer is also
``idealnets.simulate.train``. Names that earlier releases exported here for the same
trainers (``train_rnn``, ``train_linear_fa``, ``train_ntk``) and the per-model result
classes (``EnsembleRun``, ``CommitteeRun``, ...; all now :class:`Run`) still work, with a
DeprecationWarning.
"""
import warnings as _warnings

from . import (
    engine,
    attention,
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
    energy_rules,
    hebbian,
    hidden_manifold,
    many_teachers,
    reward,
)
from .attention import train_linear_attention
from .energy_rules import train_energy_rule
from .hebbian import train_hebbian, train_tied_autoencoder
from .hidden_manifold import train_hidden_manifold
from .many_teachers import train_many_teachers
from .reward import train_cue_reward, train_rl_perceptron, train_td
from .continual import train_curriculum, train_sequential_regression, train_shallow_curriculum, train_two_teachers
from .perturbation import train_perturbation
from .random_features import train_random_features
from .engine import Run, run
from ._common import DivergenceError, DivergenceMonitor, configure_threads, resolve_device, resolve_dtype
from .deep_linear import init_weights, pretrain_layerwise, stable_lr, train, train_from
from .generalization import (
    TeacherStudentData,
    sample_data,
    train_deep_linear,
    train_linear,
    train_relu,
)
from .ntk import MLP, empirical_kernels, init_mlp
from .semantic import train_mlp

# old name -> (its object, the name to use now)
_DEPRECATED = {
    "train_rnn": (recurrent.train, "idealnets.simulate.recurrent.train"),
    "train_linear_fa": (feedback_alignment.train_linear, "idealnets.simulate.feedback_alignment.train_linear"),
    "train_ntk": (ntk.train, "idealnets.simulate.ntk.train"),
    **{name: (Run, "idealnets.simulate.Run") for name in (
        "EnsembleRun", "CommitteeRun", "PerturbationRun", "RandomFeaturesRun", "RNNRun", "GeneralizationRun",
        "NTKRun", "MLPRun")},
}


def __getattr__(name):
    if name in _DEPRECATED:
        obj, new = _DEPRECATED[name]
        _warnings.warn(f"idealnets.simulate.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return obj
    raise AttributeError(f"module 'idealnets.simulate' has no attribute {name!r}")


__all__ = [
    # the training engine, its result type and shared machinery
    "engine",
    "Run",
    "run",
    "DivergenceError",
    "DivergenceMonitor",
    "configure_threads",
    "resolve_device",
    "resolve_dtype",
    # one module per topic (each with its trainers: <module>.train, ...)
    "committee",
    "continual",
    "deep_linear",
    "feedback_alignment",
    "generalization",
    "ntk",
    "perturbation",
    "random_features",
    "recurrent",
    "semantic",
    "attention",
    "energy_rules",
    "hebbian",
    "hidden_manifold",
    "many_teachers",
    "reward",
    # the topics added in release 0.3 (one trainer or more each)
    "train_linear_attention",
    "train_energy_rule",
    "train_hebbian",
    "train_tied_autoencoder",
    "train_hidden_manifold",
    "train_many_teachers",
    "train_cue_reward",
    "train_rl_perceptron",
    "train_td",
    # deep linear networks (simulate.deep_linear)
    "init_weights",
    "pretrain_layerwise",
    "stable_lr",
    "train",
    "train_from",
    # continual learning (simulate.continual)
    "train_curriculum",
    "train_sequential_regression",
    "train_shallow_curriculum",
    "train_two_teachers",
    # teacher-student generalisation (simulate.generalization)
    "TeacherStudentData",
    "sample_data",
    "train_deep_linear",
    "train_linear",
    "train_relu",
    # infinite width (simulate.ntk)
    "MLP",
    "empirical_kernels",
    "init_mlp",
    # learning rules (simulate.perturbation), random features, semantic development
    "train_perturbation",
    "train_random_features",
    "train_mlp",
]
