"""Closed-form learning dynamics (float64 NumPy/SciPy/SymPy; never imports torch)."""
from .deep_linear import DeepLinearTheory, learning_time, mode_strength

__all__ = ["DeepLinearTheory", "learning_time", "mode_strength"]
