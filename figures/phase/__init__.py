"""Phase diagrams: theory heat maps with simulations on a subgrid, computed with :func:`idealnets.sweeps.sweep`.

One module per diagram (``phase_committee``, ``phase_linear``, ``phase_deep_linear``), each with
``make`` (the gallery size, in one process) and ``build(size=..., scheduler=..., cache=...)``; the
point functions and grid sizes are in :mod:`idealnets.sweeps.phase`. Command line for a Dask
cluster (the figure is written as PNG + JSON, as ``python -m idealnets.figures``)::

    python -m idealnets.figures.phase NAME [--size quick|full|large] [--scheduler ADDR] [--cache DIR] [--out DIR]

See :mod:`idealnets.figures.phase.__main__`.
"""
