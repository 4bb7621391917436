"""Batched PyTorch ensembles that check the theory (never imports matplotlib)."""
from ._common import DivergenceError, resolve_device
from .deep_linear import EnsembleRun, train, train_from

__all__ = ["DivergenceError", "EnsembleRun", "resolve_device", "train", "train_from"]
