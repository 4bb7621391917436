"""Local learning rules in linear networks: Hebbian learning of principal components (Oja, Sanger),
linear autoencoders, equilibrium propagation and predictive coding, each against its exact dynamics.

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
