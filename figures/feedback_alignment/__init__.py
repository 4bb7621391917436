"""Feedback alignment and perturbation learning in linear networks (Lillicrap et al. 2016; Werfel, Xie
& Seung 2005).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
