"""Wide networks and the neural tangent kernel (Jacot, Gabriel & Hongler 2018; Lee et al. 2019).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
