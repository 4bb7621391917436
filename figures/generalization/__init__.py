"""Generalization dynamics of linear and deep linear students, random features (Advani, Saxe &
Sompolinsky 2020; Mei & Montanari 2019).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
